import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import { handleAdmin } from './admin/routes.js';
import { guardedStore } from './affinity/affinity-store.js';
import { AffinityCookie, JobAffinity } from './affinity/job-affinity.js';
import type { BalancerStatus, HandleOptions, JobeBalancer } from './api.js';
import { Backend, type BackendSettings, type HealthChange } from './backends/backend.js';
import { Cancellation } from './cancellation.js';
import { type CoreContext, type CoreSettings, forwardedHeaders, jobIdOf } from './context.js';
import { FileLocations, FileStore } from './files/file-store.js';
import { handleBatch } from './handlers/batch.js';
import { handleHeadFile, handlePutFile } from './handlers/files.js';
import { handleLanguages } from './handlers/languages.js';
import { handleRun } from './handlers/runs.js';
import { canaryFor } from './health/canary.js';
import { HealthChecker } from './health/health-checker.js';
import { OutlierDetector, outlierSettings } from './health/outlier-detector.js';
import { OutlierEjector } from './health/outlier-ejector.js';
import { BodyIdleError, BodyTooLargeError, readBody } from './http/body.js';
import { BodyBudget, type BodyShare } from './http/body-budget.js';
import { TurnQueue } from './http/turns.js';
import { jsonLineLogger } from './logger.js';
import { BalancerMetrics, type Endpoint, ejectionCause } from './metrics.js';
import type { AdminState, BackendOptions, BalancerOptions, Logger } from './options.js';
import { parseRoute, type Route } from './protocol/paths.js';
import {
  API_CACHE_CONTROL,
  frameworkNotFound,
  gatewayError,
  type JobeResponse,
  OUTCOME_OVERLOAD,
  overloadResponse,
} from './protocol/responses.js';
import { outcomeLabel } from './protocol/run-spec.js';
import { BatchShare } from './scheduling/batch-share.js';
import { Scheduler } from './scheduling/scheduler.js';
import { checkAddedBackend, validateOptions } from './validate-options.js';

const MiB = 1024 * 1024;

export function createBalancer(options: BalancerOptions): JobeBalancer {
  return new Balancer(options);
}

interface Answer {
  response: JobeResponse;
  endpoint: Endpoint;
  /** The backend whose affinity cookie the answer carries. */
  cookieFor?: Backend | undefined;
  outcome?: number | null;
}

/** A body that waited for room under `bodyMemoryBytes` until the queue timeout. */
class BodyWaitTimeout extends Error {
  constructor(readonly maxBytes: number) {
    super(`request body waited for room under the gateway's ${maxBytes} bytes of bodies`);
  }
}

class Balancer extends EventEmitter implements JobeBalancer, CoreContext {
  readonly settings: CoreSettings;
  readonly scheduler: Scheduler;
  private readonly batchShare: BatchShare;
  readonly files: FileStore;
  readonly locations: FileLocations;
  private readonly bodyBudget: BodyBudget;
  /** Large bodies are parsed one per event-loop turn (http/turns.ts). */
  private readonly largeBodyTurns = new TurnQueue();
  readonly affinity: JobAffinity;
  readonly cookie: AffinityCookie;
  readonly metrics: BalancerMetrics;
  readonly health: HealthChecker;
  readonly outliers: OutlierDetector | null;
  readonly logger: Logger;
  readonly metricsRegistry: Registry;

  private backendList: Backend[] = [];
  private readonly backendSettings: BackendSettings;
  private readonly clientOutcomes = new Map<string, number>();
  private readonly drainWaiters = new Map<string, Set<() => void>>();
  private readonly startedAt = new Date();
  private readonly firstCheck: Promise<void>;
  private activeRequests = 0;
  private readonly housekeeping: NodeJS.Timeout;
  private closing = false;

  constructor(options: BalancerOptions) {
    super();
    validateOptions(options);
    const health = options.health ?? {};
    this.logger = options.logger ?? jsonLineLogger();
    this.settings = {
      bodyLimitBytes: options.bodyLimitBytes ?? 8 * MiB,
      apiKeys: options.apiKeys ? new Set(options.apiKeys) : null,
      maxAttempts: options.retry?.maxAttempts ?? 3,
      retriesAfterSend: options.retry?.afterSend ?? 1,
      requestTimeoutMs: options.timeouts?.requestMs ?? 10_000,
      runSlackMs: options.timeouts?.runSlackMs ?? 25_000,
      adminToken: options.admin?.token ?? null,
      publicStatus: options.admin?.publicStatus ?? false,
      publicMetrics: options.admin?.publicMetrics ?? true,
      queueMaxLength: options.queue?.maxLength ?? 2000,
      queueTimeoutMs: options.queue?.timeoutMs ?? 60_000,
      bodyIdleTimeoutMs: options.bodyIdleTimeoutMs ?? 5_000,
      smallBodyBytes: options.smallBodyBytes ?? 256 * 1024,
      batch: {
        enabled: options.batch?.enabled ?? false,
        maxRuns: options.batch?.maxRuns ?? 100,
        maxShare: options.batch?.maxShare ?? 0.5,
      },
    };
    this.backendSettings = {
      defaultCapacity: options.maxConcurrent ?? 16,
      connectTimeoutMs: options.timeouts?.connectMs ?? 3_000,
      slowStartMs: options.slowStartMs ?? 10_000,
      failureThreshold: health.failureThreshold ?? 2,
      baseEjectionMs: health.baseEjectionMs ?? 2_000,
      maxEjectionMs: health.maxEjectionMs ?? 60_000,
      capacityRecoveryMs: 5_000,
    };
    this.backendList = options.backends.map((backend) => new Backend(backend, this.backendSettings, true));
    this.files = new FileStore(options.fileStoreMaxBytes ?? 64 * MiB);
    const bodyMemory = options.bodyMemoryBytes ?? 64 * MiB;
    this.bodyBudget = new BodyBudget(
      bodyMemory,
      options.smallBodyReserveBytes ?? Math.min(8 * MiB, bodyMemory - this.settings.bodyLimitBytes),
      this.settings.queueTimeoutMs,
    );
    this.locations = new FileLocations(options.maxFileLocations ?? 20_000);
    this.affinity = new JobAffinity(
      options.affinityTtlMs ?? 60_000,
      options.maxAffinityEntries ?? 20_000,
      options.affinityStore ? guardedStore(options.affinityStore, 50, this.logger) : undefined,
    );
    const secret =
      options.cookieSecret ??
      createHash('sha256')
        .update(
          options.backends
            .map((b) => `${b.name} ${b.url}`)
            .sort()
            .join('\n'),
        )
        .digest('hex');
    this.cookie = new AffinityCookie(options.cookieName ?? 'JOBEBALANCER', secret);
    this.cookie.setBackends(this.backendList.map((b) => b.name));
    this.scheduler = new Scheduler(() => this.backendList, this.locations, {
      maxQueueLength: this.settings.queueMaxLength,
      queueTimeoutMs: this.settings.queueTimeoutMs,
    });
    this.scheduler.onRelease = (backend) => this.afterRelease(backend);
    this.batchShare = new BatchShare(
      () => this.backendList,
      this.settings.batch.maxShare,
      this.settings.queueMaxLength,
    );
    this.metricsRegistry = options.metricsRegistry ?? BalancerMetrics.ownRegistry();
    this.metrics = new BalancerMetrics(this.metricsRegistry, {
      backends: () => this.backendList,
      queueLength: () => this.scheduler.queueLength,
      fileStore: () => ({ bytes: this.files.bytes, entries: this.files.entries }),
      affinityBindings: () => this.affinity.size,
      bodies: () => ({ bytes: this.bodyBudget.bytes, waiting: this.bodyBudget.waiting }),
    });
    this.scheduler.onQueueWait = (seconds) => this.metrics.queueWaitSeconds.observe(seconds);
    const intervalMs = health.intervalMs ?? 2_000;
    this.health = new HealthChecker(
      () => this.backendList,
      {
        intervalMs,
        timeoutMs: health.timeoutMs ?? 2_000,
        canaryFor: (backend) => canaryFor(backend, health.canary),
        canaryIntervalMs: (health.canary || undefined)?.intervalMs ?? intervalMs * 5,
        headersFor: (backend) => forwardedHeaders(backend, {}),
        takeSlot: (backend) => this.scheduler.takeCanarySlot(backend),
        releaseSlot: (backend) => this.scheduler.release(backend),
      },
      (backend, change, source) => this.reportHealth(backend, change, source),
    );
    const outliers = outlierSettings(health.outliers);
    const ejector = new OutlierEjector({
      directEjectionChance: (outliers?.significance ?? 0) / 100,
      canaryFor: (backend) => canaryFor(backend, health.canary),
      canaryNow: (backend) => this.health.canaryNow(backend),
      reportHealth: (backend, change, source) => this.reportHealth(backend, change, source),
      count: (backend, action) => this.metrics.outlierDetections.inc({ backend: backend.name, action }),
      logger: this.logger,
    });
    this.outliers = outliers
      ? new OutlierDetector(
          outliers,
          () => this.backendList,
          (backend, verdict) => ejector.handle(backend, verdict),
        )
      : null;
    this.firstCheck = this.health.checkAll();
    this.health.start();
    this.housekeeping = setInterval(() => this.affinity.purgeStale(), 5_000);
    this.housekeeping.unref();
  }

  get backends(): readonly Backend[] {
    return this.backendList;
  }

  backend(name: string): Backend | undefined {
    return this.backendList.find((backend) => backend.name === name);
  }

  upstreamHeaders(backend: Backend, client: IncomingHttpHeaders): Record<string, string> {
    return forwardedHeaders(backend, client);
  }

  /** A run answered to a client, by outcome (or HTTP status when there is no result), in status and metrics. */
  private countRunAnswer(status: number, outcome: number | null): void {
    let key: string;
    if (outcome !== null) {
      key = outcomeLabel(outcome);
      this.metrics.outcomes.inc({ outcome: key });
    } else if (status !== 404) {
      key = `http_${status}`;
    } else {
      // A missing-file 404 is a step of CodeRunner's upload cycle, not an answer to a run.
      return;
    }
    this.clientOutcomes.set(key, (this.clientOutcomes.get(key) ?? 0) + 1);
  }

  reportHealth(backend: Backend, change: HealthChange, source: string): void {
    if (change === null) return;
    if (change.state === 'ejected') {
      // Its runs in flight are re-dispatched at once, unless no healthy backend could take them (panic
      // mode): then they may still finish where they are.
      const elsewhere = this.backendList.some(
        (other) => other !== backend && other.health === 'healthy' && other.adminState === 'ready',
      );
      if (elsewhere) backend.abandonInFlight('ejected');
      this.metrics.ejections.inc({ backend: backend.name, cause: ejectionCause(source) });
      this.logger.warn(
        {
          event: 'ejected',
          backend: backend.name,
          reason: change.reason,
          source,
          until: backend.status().ejectedUntil,
        },
        `backend ${backend.name} ejected`,
      );
    } else {
      this.logger.info(
        { event: 'recovered', backend: backend.name, source },
        `backend ${backend.name} is healthy`,
      );
    }
    this.emit('health', backend.name, change.state, change.reason);
    this.scheduler.pump(true);
    this.batchShare.pump();
  }

  private afterRelease(backend: Backend): void {
    if (backend.inFlight > 0) return;
    if (backend.adminState === 'drain') {
      this.logger.info({ event: 'drained', backend: backend.name }, `backend ${backend.name} drained`);
      this.emit('drained', backend.name);
    }
    const waiters = this.drainWaiters.get(backend.name);
    if (waiters) {
      this.drainWaiters.delete(backend.name);
      for (const wake of waiters) wake();
    }
  }

  async handle(req: IncomingMessage, res: ServerResponse, options: HandleOptions = {}): Promise<void> {
    this.activeRequests++;
    const clientGone = new Cancellation();
    const onClose = () => {
      if (!res.writableFinished) clientGone.cancel('client');
    };
    res.once('close', onClose);
    const hold: BodyShare = { bytes: 0, region: 'shared' };
    try {
      const route = parseRoute(options.path ?? req.url ?? '/');
      const answer = await this.answer(route, req, options, clientGone, hold);
      if (answer !== null) this.write(req, res, answer);
    } catch (error) {
      this.logger.error(
        { event: 'internal-error', error: error instanceof Error ? error.stack : String(error) },
        'request failed',
      );
      if (!res.headersSent && !res.destroyed) {
        this.write(req, res, {
          response: gatewayError(502, 'The Jobe gateway failed to handle this request'),
          endpoint: 'not_found',
        });
      } else {
        res.destroy();
      }
    } finally {
      if (hold.bytes > 0) this.bodyBudget.give(hold);
      res.off('close', onClose);
      this.activeRequests--;
    }
  }

  private async body(
    req: IncomingMessage,
    options: HandleOptions,
    hold: BodyShare,
    clientGone: Cancellation,
  ): Promise<Buffer> {
    const limit = this.settings.bodyLimitBytes;
    if (options.bodyTooLarge) throw new BodyTooLargeError(limit);
    let body: Buffer;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.parsedBody === undefined) return this.readBodyWithinBudget(req, limit, hold, clientGone);
    else if (Buffer.isBuffer(options.parsedBody)) body = options.parsedBody;
    else if (typeof options.parsedBody === 'string') body = Buffer.from(options.parsedBody);
    else body = Buffer.from(JSON.stringify(options.parsedBody));
    if (body.length > limit) throw new BodyTooLargeError(limit);
    return body;
  }

  /**
   * Takes the body's share of `bodyMemoryBytes` once its first bytes have arrived: its Content-Length, or
   * the body limit for a chunked body (the rest given back once it is read). A client that sends nothing
   * holds nothing, and is answered after `bodyIdleTimeoutMs`; reserving the whole share at once, rather
   * than as bytes arrive, means bodies half read can never hold the budget between them and wait for each
   * other (docs/decisions/0015-idle-bodies-and-small-bodies-first.md).
   */
  private async readBodyWithinBudget(
    req: IncomingMessage,
    limit: number,
    hold: BodyShare,
    clientGone: Cancellation,
  ): Promise<Buffer> {
    const declared = Number(req.headers['content-length']);
    const sized = Number.isSafeInteger(declared) && declared >= 0;
    const share = sized ? declared : limit;
    const small = sized && declared <= this.settings.smallBodyBytes;
    const budget = this.bodyBudget;
    const admit =
      share > 0 && share <= limit
        ? () => {
            if (budget.tryTake(share, small, hold)) return true as const;
            return budget.take(share, small, hold, clientGone).then((grant) => {
              if (grant === 'timeout') throw new BodyWaitTimeout(budget.maxBytes);
              if (grant === 'cancelled') throw new Error('client left while its body waited for room');
            });
          }
        : undefined;
    const body = await readBody(req, { limit, idleTimeoutMs: this.settings.bodyIdleTimeoutMs, admit });
    if (hold.bytes > body.length) budget.give(hold, hold.bytes - body.length);
    if (body.length > this.settings.smallBodyBytes) await this.largeBodyTurns.next();
    return body;
  }

  /** Jobe 2.0-2.1's API-key filter, when the gateway is given keys to enforce. */
  private keyRefusal(headers: IncomingHttpHeaders): JobeResponse | null {
    const keys = this.settings.apiKeys;
    if (keys === null) return null;
    const key = headers['x-api-key'];
    const text = (body: string): JobeResponse => ({
      status: 403,
      headers: { 'content-type': 'text/plain; charset=UTF-8' },
      body,
    });
    if (typeof key !== 'string' || key === '') return text('Missing API key');
    return keys.has(key) ? null : text('Unknown API key');
  }

  private async answer(
    route: Route,
    req: IncomingMessage,
    options: HandleOptions,
    clientGone: Cancellation,
    hold: BodyShare,
  ): Promise<Answer | null> {
    const method = req.method ?? 'GET';
    const notFound = (): Answer => ({
      response: frameworkNotFound(req.headers.accept),
      endpoint: 'not_found',
    });
    if (method === 'OPTIONS' && route.kind !== 'admin') {
      // Jobe 2.2: CodeIgniter's CORS filter answers a preflight (no CORS headers configured); any other
      // OPTIONS finds no route.
      const vary = { vary: 'Access-Control-Request-Method' };
      if (req.headers['access-control-request-method'] === undefined) {
        const notFoundAnswer = frameworkNotFound(req.headers.accept);
        return {
          response: { ...notFoundAnswer, headers: { ...notFoundAnswer.headers, ...vary } },
          endpoint: 'not_found',
        };
      }
      return { response: { status: 204, headers: vary, body: '' }, endpoint: 'not_found' };
    }
    if (this.closing && route.kind !== 'admin') {
      return { response: gatewayError(503, 'The Jobe gateway is shutting down'), endpoint: 'not_found' };
    }
    try {
      switch (route.kind) {
        case 'languages':
          if (method !== 'GET') return notFound();
          await this.firstCheck;
          return { response: await handleLanguages(this), endpoint: 'languages' };
        case 'runs': {
          if (method !== 'POST') return notFound();
          const refusal = this.keyRefusal(req.headers);
          if (refusal) return { response: refusal, endpoint: 'runs' };
          const body = await this.body(req, options, hold, clientGone);
          await this.firstCheck;
          const answer = await handleRun(this, body, req.headers, clientGone);
          if (answer === null) return null;
          return {
            response: answer.response,
            endpoint: 'runs',
            cookieFor: answer.backend,
            outcome: answer.outcome,
          };
        }
        case 'file':
          if (method === 'HEAD')
            return { response: handleHeadFile(this, route.fileId), endpoint: 'files_head' };
          if (method === 'PUT') {
            const refusal = this.keyRefusal(req.headers);
            if (refusal) return { response: refusal, endpoint: 'files_put' };
            const body = await this.body(req, options, hold, clientGone);
            await this.firstCheck;
            const answer = await handlePutFile(this, route.fileId, body, req.headers);
            return { response: answer.response, endpoint: 'files_put', cookieFor: answer.backend };
          }
          return notFound();
        case 'admin': {
          if (route.segments.length === 1 && route.segments[0] === 'batch')
            return this.batch(method, req, options, clientGone, hold);
          const path = options.path ?? req.url ?? '/';
          const response = await handleAdmin(this, this.settings, {
            method,
            trailingSlash: (path.split('?', 1)[0] ?? '').endsWith('/'),
            segments: route.segments,
            query: route.query,
            headers: req.headers,
            body: () => this.body(req, options, hold, clientGone),
          });
          return { response, endpoint: 'admin' };
        }
        case 'not-found':
          return notFound();
      }
    } catch (error) {
      if (error instanceof BodyWaitTimeout) {
        if (route.kind === 'runs') {
          this.metrics.queueOverloads.inc({ why: 'body-memory' });
          this.logger.warn({ event: 'queue-overload', why: 'body-memory' }, 'run answered 21');
          return { response: overloadResponse(), endpoint: 'runs', outcome: OUTCOME_OVERLOAD };
        }
        this.logger.warn({ event: 'body-wait-timeout', maxBytes: error.maxBytes }, error.message);
        return {
          response: gatewayError(
            503,
            `The Jobe gateway already holds its limit of ${error.maxBytes} bytes of request bodies; try again`,
          ),
          endpoint: route.kind === 'file' ? 'files_put' : 'admin',
        };
      }
      if (error instanceof BodyIdleError) {
        // Apache's mod_reqtimeout answers a stalled body with 408 (so would the Apache in front of a
        // real Jobe); CodeRunner shows it as an unexpected sandbox error and does not grade the attempt.
        this.logger.warn({ event: 'body-idle-timeout', idleMs: error.idleMs }, error.message);
        const timedOut = gatewayError(
          408,
          `Request body sent nothing for ${error.idleMs} ms; the Jobe gateway closed the connection`,
        );
        return {
          response: { ...timedOut, headers: { ...timedOut.headers, connection: 'close' } },
          endpoint: route.kind === 'runs' ? 'runs' : route.kind === 'file' ? 'files_put' : 'admin',
        };
      }
      if (error instanceof BodyTooLargeError) {
        const message = `Request body larger than the Jobe gateway's limit of ${error.limit} bytes`;
        return {
          response: gatewayError(413, message),
          endpoint: route.kind === 'runs' ? 'runs' : 'files_put',
        };
      }
      if (clientGone.cancelled) return null;
      throw error;
    }
  }

  /** `POST <mount>/_balancer/batch`, when enabled; otherwise the path does not exist, as in Jobe. */
  private async batch(
    method: string,
    req: IncomingMessage,
    options: HandleOptions,
    clientGone: Cancellation,
    hold: BodyShare,
  ): Promise<Answer | null> {
    if (!this.settings.batch.enabled || method !== 'POST')
      return { response: frameworkNotFound(req.headers.accept), endpoint: 'not_found' };
    if (this.closing) {
      return { response: gatewayError(503, 'The Jobe gateway is shutting down'), endpoint: 'batch' };
    }
    const refusal = this.keyRefusal(req.headers);
    if (refusal) return { response: refusal, endpoint: 'batch' };
    const body = await this.body(req, options, hold, clientGone);
    await this.firstCheck;
    const response = await handleBatch(
      this,
      this.batchShare,
      this.settings.batch.maxRuns,
      body,
      req.headers,
      clientGone,
      (status, outcome) => this.countRunAnswer(status, outcome),
    );
    return response === null ? null : { response, endpoint: 'batch' };
  }

  private write(req: IncomingMessage, res: ServerResponse, answer: Answer): void {
    const { response, endpoint } = answer;
    this.metrics.requests.inc({ endpoint, status: String(response.status) });
    if (endpoint === 'runs') this.countRunAnswer(response.status, answer.outcome ?? null);
    if (res.headersSent || res.destroyed) return;
    // One writeHead with a flat list: Node then writes the head from the list instead of filling and
    // reading back its header map (headers a host set before us are still merged, ours winning).
    const head: string[] = [];
    if (endpoint !== 'admin') head.push('cache-control', API_CACHE_CONTROL);
    for (const [name, value] of Object.entries(response.headers)) {
      if (value === undefined || value === '') continue;
      if (Array.isArray(value)) for (const item of value) head.push(name, item);
      else head.push(name, String(value));
    }
    const usesAffinity =
      jobIdOf(req.headers) !== undefined || this.cookie.backendFrom(req.headers.cookie) !== undefined;
    if (answer.cookieFor && usesAffinity) head.push('set-cookie', this.cookie.header(answer.cookieFor.name));
    // The rest of a body too large is never read: the connection ends with the answer, instead of
    // reading (up to gigabytes) to keep it alive.
    if (response.status === 413) head.push('connection', 'close');
    const bodyless = req.method === 'HEAD' || response.status === 204 || response.status === 304;
    if (!bodyless) head.push('content-length', String(Buffer.byteLength(response.body)));
    res.writeHead(response.status, head);
    if (bodyless) res.end();
    else res.end(response.body);
  }

  status(): BalancerStatus {
    const now = Date.now();
    return {
      backends: this.backendList.map((backend) => backend.status(now)),
      queue: {
        length: this.scheduler.queueLength,
        maxLength: this.settings.queueMaxLength,
        timeoutMs: this.settings.queueTimeoutMs,
      },
      outcomes: Object.fromEntries(this.clientOutcomes),
      fileStore: { entries: this.files.entries, bytes: this.files.bytes, maxBytes: this.files.maxBytes },
      bodies: {
        bytes: this.bodyBudget.bytes,
        maxBytes: this.bodyBudget.maxBytes,
        waiting: this.bodyBudget.waiting,
      },
      affinityBindings: this.affinity.size,
      tables: {
        fileLocations: this.locations.use,
        affinityBindings: this.affinity.use,
        expectedUploads: this.files.expectedUploads,
      },
      adminEnabled: this.settings.adminToken !== null,
      startedAt: this.startedAt.toISOString(),
    };
  }

  private require(name: string): Backend {
    const backend = this.backend(name);
    if (!backend) throw new Error(`jobe-balancer: no backend named "${name}"`);
    return backend;
  }

  setBackendState(name: string, state: AdminState): void {
    const backend = this.require(name);
    if (!['ready', 'drain', 'maint'].includes(state))
      throw new Error(`jobe-balancer: unknown state "${state}"`);
    if (backend.adminState === state) return;
    const leavingMaintenance = backend.adminState === 'maint';
    backend.adminState = state;
    // Maintenance pauses health checks (as in HAProxy): look again before sending it work.
    if (leavingMaintenance) void this.health.check(backend, true);
    this.logger.info({ event: 'admin-state', backend: name, state }, `backend ${name} set to ${state}`);
    this.emit('admin-state', name, state);
    if (state === 'drain' && backend.inFlight === 0) this.emit('drained', name);
    this.scheduler.pump(true);
    this.batchShare.pump();
  }

  addBackend(options: BackendOptions): void {
    const checked = checkAddedBackend(
      options,
      this.backendList.map((b) => b.name),
    );
    const backend = new Backend(checked, this.backendSettings, false);
    this.backendList = [...this.backendList, backend];
    this.cookie.setBackends(this.backendList.map((b) => b.name));
    this.logger.info({ event: 'backend-added', backend: backend.name }, `backend ${backend.name} added`);
    void this.health.check(backend);
  }

  async removeBackend(name: string): Promise<void> {
    const backend = this.require(name);
    backend.adminState = 'maint';
    this.backendList = this.backendList.filter((b) => b !== backend);
    this.cookie.setBackends(this.backendList.map((b) => b.name));
    this.locations.forgetBackend(name);
    this.logger.info({ event: 'backend-removed', backend: name }, `backend ${name} removed`);
    this.scheduler.pump(true);
    await this.waitForInFlight(backend, 60_000).catch(() => undefined);
    await backend.upstream.close();
  }

  private waitForInFlight(backend: Backend, timeoutMs: number): Promise<void> {
    if (backend.inFlight === 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const waiters = this.drainWaiters.get(backend.name) ?? new Set();
      this.drainWaiters.set(backend.name, waiters);
      const timer = setTimeout(() => {
        waiters.delete(wake);
        reject(
          new Error(
            `backend ${backend.name} still has ${backend.inFlight} runs in flight after ${timeoutMs} ms`,
          ),
        );
      }, timeoutMs);
      const wake = () => {
        clearTimeout(timer);
        resolve();
      };
      waiters.add(wake);
    });
  }

  waitForDrained(name: string, timeoutMs = 600_000): Promise<void> {
    return this.waitForInFlight(this.require(name), timeoutMs);
  }

  checkNow(): Promise<void> {
    return this.health.checkAll(true);
  }

  inFlightTotal(): number {
    return this.activeRequests;
  }

  async close(timeoutMs = 30_000): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.health.stop();
    clearInterval(this.housekeeping);
    const deadline = Date.now() + timeoutMs;
    while (this.activeRequests > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    this.scheduler.rejectAll();
    for (const backend of this.backendList) backend.abandonInFlight('shutdown');
    await Promise.all(this.backendList.map((backend) => backend.upstream.destroy()));
  }
}
