/**
 * A small fleet for end-to-end tests: N jobe-sim backends behind a standalone gateway (the core's own
 * `handle()` on plain node:http), a record of what the gateway sent to each backend, and a CodeRunner-faithful
 * load whose every run proves, through its stdout, that the right support files reached the server that ran it.
 */

import diagnosticsChannel from 'node:diagnostics_channel';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BalancerOptions,
  createBalancer,
  type HealthState,
  type JobeBalancer,
  silentLogger,
} from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { expect } from 'vitest';
import { md5, runLikeCodeRunner, type SupportFile } from './coderunner-client.js';

/** Health settings small enough that a fault is seen in a few hundred milliseconds. */
export const FAST_HEALTH = { intervalMs: 100, timeoutMs: 250, failureThreshold: 2, baseEjectionMs: 300 };

export interface FleetOptions {
  /** Number of backends, named jobe1..jobeN (the jobe-sim names match, so `#sim server` prints them). */
  backends?: number;
  /** Workers of each jobe-sim (jobe_max_users), also the gateway's maxConcurrent. Default 8. */
  workers?: number;
  /** Merged over the fleet's defaults (FAST_HEALTH, slowStartMs 0, silentLogger). */
  balancer?: Partial<BalancerOptions>;
  /** Per backend (by name): extra backend options such as apiKey. */
  backendOptions?: Record<string, { apiKey?: string }>;
}

export interface HealthEvent {
  backend: string;
  state: HealthState;
  reason: string | null;
  at: number;
}

export interface Fleet {
  sims: JobeSim[];
  sim(name: string): JobeSim;
  balancer: JobeBalancer;
  /** CodeRunner's jobe_host for the gateway. */
  jobeHost: string;
  /** `<jobeHost>/jobe/_balancer`. */
  adminUrl: string;
  /** Every request the gateway sent to a backend of this fleet. */
  upstream: UpstreamLog;
  /** Every `health` event of the balancer, timestamped with performance.now(). */
  healthEvents: HealthEvent[];
  /** Starts one more jobe-sim (not yet known to the balancer), closed with the fleet. */
  startSim(name: string): Promise<JobeSim>;
  close(): Promise<void>;
}

export function simOptions(name: string, workers: number) {
  // A short poll keeps Jobe's own worker wait small should the gateway ever overfill a server.
  return { name, workers, pollMs: 50, waitTimeout: 10 };
}

export async function startFleet(options: FleetOptions = {}): Promise<Fleet> {
  const count = options.backends ?? 3;
  const workers = options.workers ?? 8;
  const sims: JobeSim[] = [];
  for (let i = 1; i <= count; i++) sims.push(await startJobeSim(simOptions(`jobe${i}`, workers)));
  const overrides = options.balancer ?? {};
  const balancer = createBalancer({
    backends: sims.map((sim) => ({
      name: sim.name,
      url: sim.url,
      maxConcurrent: workers,
      ...options.backendOptions?.[sim.name],
    })),
    slowStartMs: 0,
    logger: silentLogger,
    ...overrides,
    health: { ...FAST_HEALTH, ...overrides.health },
  });
  const { jobeHost, healthEvents, closeServer } = await serveGateway(balancer);
  const upstream = observeUpstream((origin) => sims.find((sim) => sim.url === origin)?.name);
  // Start from a healthy fleet (a first probe that timed out on a busy machine ejects a backend at once).
  await waitFor(() => balancer.status().backends.every((b) => b.health === 'healthy'), 'a healthy fleet');
  return {
    sims,
    sim(name) {
      const sim = sims.find((candidate) => candidate.name === name);
      if (!sim) throw new Error(`no jobe-sim named ${name}`);
      return sim;
    },
    balancer,
    jobeHost,
    adminUrl: `${jobeHost}/jobe/_balancer`,
    upstream,
    healthEvents,
    async startSim(name) {
      const sim = await startJobeSim(simOptions(name, workers));
      sims.push(sim);
      return sim;
    },
    async close() {
      upstream.stop();
      await closeServer();
      await balancer.close(1000);
      await Promise.all(sims.map((sim) => sim.close()));
    },
  };
}

/** The balancer as a standalone gateway (its own `handle()` on plain node:http), and its health events. */
export async function serveGateway(balancer: JobeBalancer): Promise<{
  jobeHost: string;
  healthEvents: HealthEvent[];
  closeServer(): Promise<void>;
}> {
  const healthEvents: HealthEvent[] = [];
  balancer.on('health', (backend, state, reason) =>
    healthEvents.push({ backend, state, reason, at: performance.now() }),
  );
  const server = http.createServer((req, res) => void balancer.handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    jobeHost: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    healthEvents,
    async closeServer() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

// --- What the gateway sent upstream ------------------------------------------------------------------

export interface UpstreamRecord {
  backend: string;
  method: string;
  path: string;
  /** X-CodeRunner-Job-Id as forwarded; undefined for the gateway's own probes and canary runs. */
  jobId: string | undefined;
  startedAt: number;
  /** When the response headers arrived; undefined if none ever did. */
  answeredAt?: number;
  status?: number;
  /** Transport error or abort, and when it happened. */
  error?: string;
  failedAt?: number;
}

export interface UpstreamLog {
  records: UpstreamRecord[];
  /** POST runs of student jobs (a job id) to one backend. */
  runsTo(backend: string): UpstreamRecord[];
  /**
   * POST runs of jobs that first reached `backend` after `after`. (A job already there may still send its
   * re-POST after a file replay; if the backend was ejected meanwhile, that request is aborted before it
   * is written, but undici still reports it as created.)
   */
  newJobsTo(backend: string, after: number): UpstreamRecord[];
  stop(): void;
}

interface UndiciRequestLike {
  origin?: unknown;
  method?: unknown;
  path?: unknown;
  headers?: unknown;
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (Array.isArray(headers)) {
    for (let i = 0; i + 1 < headers.length; i += 2)
      if (String(headers[i]).toLowerCase() === name) return String(headers[i + 1]);
    return undefined;
  }
  if (typeof headers === 'string') {
    for (const line of headers.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === name)
        return line.slice(colon + 1).trim();
    }
  }
  return undefined;
}

/**
 * Watches the gateway's upstream requests through undici's diagnostics channels (process-wide, read-only):
 * which backend got which job, when, and whether it ever answered.
 */
export function observeUpstream(nameOf: (origin: string) => string | undefined): UpstreamLog {
  const records: UpstreamRecord[] = [];
  const byRequest = new WeakMap<object, UpstreamRecord>();
  const originOf = (request: UndiciRequestLike) => {
    try {
      return new URL(String(request.origin)).origin;
    } catch {
      return '';
    }
  };
  const onCreate = (message: unknown) => {
    const { request } = message as { request: UndiciRequestLike };
    const backend = nameOf(originOf(request));
    if (backend === undefined) return;
    const record: UpstreamRecord = {
      backend,
      method: String(request.method),
      path: String(request.path),
      jobId: headerValue(request.headers, 'x-coderunner-job-id'),
      startedAt: performance.now(),
    };
    records.push(record);
    byRequest.set(request as object, record);
  };
  const onHeaders = (message: unknown) => {
    const { request, response } = message as { request: object; response: { statusCode: number } };
    const record = byRequest.get(request);
    if (record && record.answeredAt === undefined) {
      record.answeredAt = performance.now();
      record.status = response.statusCode;
    }
  };
  const onError = (message: unknown) => {
    const { request, error } = message as { request: object; error: unknown };
    const record = byRequest.get(request);
    if (record && record.error === undefined) {
      record.error = error instanceof Error ? error.message : String(error);
      record.failedAt = performance.now();
    }
  };
  diagnosticsChannel.subscribe('undici:request:create', onCreate);
  diagnosticsChannel.subscribe('undici:request:headers', onHeaders);
  diagnosticsChannel.subscribe('undici:request:error', onError);
  const runsTo = (backend: string) =>
    records.filter(
      (r) => r.backend === backend && r.method === 'POST' && r.path.endsWith('/runs') && r.jobId,
    );
  return {
    records,
    runsTo,
    newJobsTo(backend, after) {
      const earlier = new Set(runsTo(backend).flatMap((r) => (r.startedAt <= after ? [r.jobId] : [])));
      return runsTo(backend).filter((r) => r.startedAt > after && !earlier.has(r.jobId));
    },
    stop() {
      diagnosticsChannel.unsubscribe('undici:request:create', onCreate);
      diagnosticsChannel.unsubscribe('undici:request:headers', onHeaders);
      diagnosticsChannel.unsubscribe('undici:request:error', onError);
    },
  };
}

// --- CodeRunner-faithful load ------------------------------------------------------------------------

export interface Question {
  index: number;
  files: SupportFile[];
  /** What `#sim cat data1.txt` and `#sim cat data2.txt` print. */
  expectedFiles: string;
  fileIds: string[];
}

/** Q questions, each with two support files whose contents are unique to the question (and to `tag`). */
export function makeQuestions(count: number, tag = 'load'): Question[] {
  return Array.from({ length: count }, (_, index) => {
    const data1 = `${tag} question ${index} data1 ${Math.random().toString(36).slice(2)}\n`;
    const data2 = `${tag} question ${index} data2 ${'x'.repeat(index % 7)}\n`;
    return {
      index,
      files: [
        { name: 'data1.txt', contents: data1 },
        { name: 'data2.txt', contents: data2 },
      ],
      expectedFiles: data1 + data2,
      fileIds: [md5(data1), md5(data2)],
    };
  });
}

export interface RunRecord {
  index: number;
  question: number;
  jobId: string;
  httpStatus: number;
  error: string | null;
  outcome: number | null;
  stdout: string;
  /** The backend that ran it (from `#sim server`), null when the output does not have the expected shape. */
  server: string | null;
  /** Status 200, outcome 15, and stdout is exactly the question's two files followed by a server name. */
  correct: boolean;
  posts: number;
  puts: number;
  startedAt: number;
  endedAt: number;
  latencyMs: number;
}

export interface LoadOptions {
  runs: number;
  concurrency: number;
  questions: Question[];
  /** `#sim sleep` of every run (default 20 ms). */
  sleepMs?: number;
  language?: string;
}

export interface LoadHandle {
  /** Runs finished so far (in finishing order). */
  readonly records: readonly RunRecord[];
  /** Resolves once `n` runs have finished. */
  untilCompleted(n: number): Promise<void>;
  /** All records, by run index. */
  done: Promise<RunRecord[]>;
}

export function runSource(sleepMs: number): string {
  return `#sim sleep ${sleepMs}\n#sim cat data1.txt\n#sim cat data2.txt\n#sim server`;
}

/** One CodeRunner test run of `question` through the gateway. */
export async function runQuestion(
  jobeHost: string,
  question: Question,
  index = 0,
  sleepMs = 20,
  language = 'python3',
): Promise<RunRecord> {
  const startedAt = performance.now();
  const run = await runLikeCodeRunner(jobeHost, {
    language_id: language,
    sourcecode: runSource(sleepMs),
    files: question.files,
  });
  const endedAt = performance.now();
  const stdout = run.result ? String(run.result.stdout) : '';
  const outcome = run.result ? Number(run.result.outcome) : null;
  const tail = stdout.startsWith(question.expectedFiles) ? stdout.slice(question.expectedFiles.length) : '';
  const server = /^[\w.-]+\n$/.test(tail) ? tail.slice(0, -1) : null;
  return {
    index,
    question: question.index,
    jobId: run.jobId,
    httpStatus: run.httpStatus,
    error: run.error,
    outcome,
    stdout,
    server,
    correct: run.httpStatus === 200 && run.error === null && outcome === 15 && server !== null,
    posts: run.posts,
    puts: run.puts,
    startedAt,
    endedAt,
    latencyMs: endedAt - startedAt,
  };
}

/** K runs by C concurrent clients over the questions (run i asks question i mod Q). */
export function startLoad(jobeHost: string, options: LoadOptions): LoadHandle {
  const finished: RunRecord[] = [];
  const byIndex: RunRecord[] = new Array(options.runs);
  const watchers: Array<{ n: number; wake: () => void }> = [];
  let next = 0;
  const client = async () => {
    while (next < options.runs) {
      const index = next++;
      const question = options.questions[index % options.questions.length]!;
      const record = await runQuestion(jobeHost, question, index, options.sleepMs ?? 20, options.language);
      byIndex[index] = record;
      finished.push(record);
      for (const watcher of watchers.splice(0)) {
        if (finished.length >= watcher.n) watcher.wake();
        else watchers.push(watcher);
      }
    }
  };
  const clients = Array.from({ length: Math.min(options.concurrency, options.runs) }, client);
  return {
    records: finished,
    untilCompleted(n) {
      if (finished.length >= n) return Promise.resolve();
      return new Promise((wake) => watchers.push({ n, wake }));
    },
    done: Promise.all(clients).then(() => byIndex),
  };
}

export function load(jobeHost: string, options: LoadOptions): Promise<RunRecord[]> {
  return startLoad(jobeHost, options).done;
}

// --- Small helpers -----------------------------------------------------------------------------------

export interface LoadSummary {
  runs: number;
  failed: number;
  wrong: number;
  byServer: Record<string, number>;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export function summarize(records: readonly RunRecord[]): LoadSummary {
  const byServer: Record<string, number> = {};
  for (const record of records)
    if (record.server) byServer[record.server] = (byServer[record.server] ?? 0) + 1;
  const latencies = records.map((record) => record.latencyMs);
  return {
    runs: records.length,
    failed: records.filter((record) => record.error !== null || record.httpStatus !== 200).length,
    wrong: records.filter((record) => !record.correct).length,
    byServer,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    maxMs: Math.max(...latencies),
  };
}

/** Polls until `predicate` holds; throws with `what` after `timeoutMs`. */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The first health event of `backend` into `state` after `since`. */
export function healthEventAfter(
  fleet: Fleet,
  backend: string,
  state: HealthState,
  since: number,
): HealthEvent | undefined {
  return fleet.healthEvents.find((e) => e.backend === backend && e.state === state && e.at >= since);
}

export const ms = (value: number) => `${Math.round(value)} ms`;

/** The fields of a run worth printing when an assertion about it fails. */
export const brief = (r: RunRecord) => ({
  index: r.index,
  httpStatus: r.httpStatus,
  error: r.error,
  outcome: r.outcome,
  stdout: r.stdout.slice(0, 80),
});

/** Every run got HTTP 200 and no CodeRunner error. */
export function expectNoFailedRun(records: readonly RunRecord[]): void {
  expect(records.filter((r) => r.error !== null || r.httpStatus !== 200).map(brief), 'failed runs').toEqual(
    [],
  );
}

/** …and every output proves the right files reached the server that ran it. */
export function expectAllCorrect(records: readonly RunRecord[]): void {
  expectNoFailedRun(records);
  expect(records.filter((r) => !r.correct).map(brief), 'wrong answers').toEqual([]);
}
