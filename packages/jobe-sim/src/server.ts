/**
 * The simulated Jobe server: plain node:http, one instance per backend, each with its own file cache, worker
 * table and fault switch. Request handling follows Jobe 2.2's controllers (Runs, Files, Languages) step by step.
 */
import { randomInt } from 'node:crypto';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import {
  CACHE_CONTROL,
  HTML_404_PAGE,
  HTML_500_PAGE,
  HTML_CONTENT_TYPE,
  JSON_CONTENT_TYPE,
  MESSAGES,
  OUTCOME,
  OVERLOAD_BODY,
  OVERLOAD_TEST_SOURCECODE,
  phpJsonEncode,
  resultBody,
} from './bodies.js';
import { type RunResult, runDirectives } from './directives.js';
import { FileCache } from './file-cache.js';
import { JSON_ERRORS, type PhpJsonResult, phpJsonDecode } from './php-json.js';
import { isPhpObject, issetProperty, phpBase64DecodeStrict, phpScalarToString } from './php-values.js';
import { listenBelowEphemeralRange } from './ports.js';
import { route } from './router.js';
import { JobError, parseRunSpec, type ValidRun } from './run-spec.js';
import { Timers } from './timers.js';
import type { FaultMode, JobeSim, JobeSimOptions, JobeSimStats, RunSpec } from './types.js';
import { WorkerTable } from './workers.js';

export const DEFAULT_LANGUAGES: ReadonlyArray<readonly [string, string]> = [
  ['c', '11.4.0'],
  ['cpp', '11.4.0'],
  ['java', '17.0.12'],
  ['nodejs', '18.19.1'],
  ['octave', '6.4.0'],
  ['pascal', '3.2.2'],
  ['php', '8.1.2'],
  ['python3', '3.10.12'],
];

/** PHP's default post_max_size (8M): CodeIgniter does not read a larger body at all. */
export const POST_MAX_SIZE = 8 * 1024 * 1024;
const DEFAULT_SLOW_LATENCY_MS = 500;

/** The interpreter or compiler whose start-up fails on a wedged Jobe (jobeinabox#15). */
const LANGUAGE_BINARIES: Record<string, string> = {
  c: '/usr/bin/gcc',
  cpp: '/usr/bin/g++',
  java: '/usr/bin/javac',
  nodejs: '/usr/bin/nodejs',
  octave: '/usr/bin/octave-cli',
  pascal: '/usr/bin/fpc',
  php: '/usr/bin/php',
  python2: '/usr/bin/python2',
  python3: '/usr/bin/python3',
};

/**
 * A request body as CodeIgniter sees it: null when empty, 'unread' when PHP did not read it (above
 * post_max_size, or multipart/form-data), in which case getJSON() decodes the literal text 'php://input'.
 */
type Body = Buffer | null | 'unread';

interface Exchange {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  startedAt: number;
  epoch: number;
}

interface Config {
  port: number;
  host: string;
  name: string | undefined;
  workers: number;
  pollMs: number;
  waitTimeout: number;
  languages: Array<[string, string]>;
  cputimeUpperLimit: number;
  defaultRunMs: number;
  runMs: ((runSpec: RunSpec) => number | undefined) | undefined;
}

type Counters = Omit<JobeSimStats, 'activeWorkers' | 'peakWorkers' | 'filesHeld'>;

const noop = (): void => {};

function zeroCounters(): Counters {
  return {
    requests: 0,
    runsServed: 0,
    overloads: 0,
    fileMisses: 0,
    puts: 0,
    heads: 0,
    languageRequests: 0,
    badRequests: 0,
  };
}

function checkNumber(
  name: string,
  value: number,
  integer: boolean,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`jobe-sim: ${name} must be a number from ${min} to ${max}, got ${String(value)}`);
  }
  if (integer && !Number.isInteger(value)) throw new RangeError(`jobe-sim: ${name} must be an integer`);
  return value;
}

function resolveOptions(options: JobeSimOptions): Config {
  const languages = (options.languages ?? DEFAULT_LANGUAGES).map(([id, version]) => {
    if (typeof id !== 'string' || typeof version !== 'string' || id === '') {
      throw new TypeError('jobe-sim: languages must be [language_id, version] string pairs');
    }
    return [id, version] as [string, string];
  });
  return {
    port: checkNumber('port', options.port ?? 0, true, 0, 65535),
    host: options.host ?? '127.0.0.1',
    name: options.name,
    workers: checkNumber('workers', options.workers ?? 16, true),
    pollMs: checkNumber('pollMs', options.pollMs ?? 1000, false),
    waitTimeout: checkNumber('waitTimeout', options.waitTimeout ?? 10, true),
    languages,
    cputimeUpperLimit: checkNumber('cputimeUpperLimit', options.cputimeUpperLimit ?? 120, true, -(2 ** 53)),
    defaultRunMs: checkNumber('defaultRunMs', options.defaultRunMs ?? 0, false),
    runMs: options.runMs,
  };
}

function readBody(req: http.IncomingMessage, done: (body: Body) => void): void {
  const contentType = req.headers['content-type'] ?? '';
  let unread =
    contentType.includes('multipart/form-data') || Number(req.headers['content-length'] ?? 0) > POST_MAX_SIZE;
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    if (unread) return;
    size += chunk.length;
    // A chunked body has no Content-Length; the simulator treats one above the limit like a declared one.
    if (size > POST_MAX_SIZE) {
      unread = true;
      chunks.length = 0;
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (unread) done('unread');
    else if (size === 0) done(null);
    else done(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
  });
}

/** IncomingRequest::getJSON(). */
function getJson(body: Body): PhpJsonResult {
  if (body === null) return { ok: true, value: null };
  if (body === 'unread') return { ok: false, error: JSON_ERRORS.syntax };
  return phpJsonDecode(body);
}

function randomRunDirectory(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let suffix = '';
  for (let i = 0; i < 6; i++) suffix += alphabet[randomInt(alphabet.length)];
  return `/home/jobe/runs/jobe_${suffix}`;
}

function wedgedResult(languageId: string): RunResult {
  const binary = LANGUAGE_BINARIES[languageId] ?? `/usr/bin/${languageId}`;
  return {
    outcome: OUTCOME.compilationError,
    cmpinfo: `${binary}: error while loading shared libraries: libc.so.6: cannot open shared object file: Permission denied\n`,
    stdout: '',
    stderr: '',
    sleepMs: 0,
  };
}

function resetSocket(socket: Socket): void {
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}

class Simulator implements JobeSim {
  private readonly server: http.Server;
  private readonly sockets = new Set<Socket>();
  /** Responses a hung server is sitting on. */
  private readonly held = new Set<http.ServerResponse>();
  private readonly timers = new Timers();
  private readonly workers: WorkerTable;
  private readonly files = new FileCache();
  private readonly languageIds: Map<string, string>;
  private readonly languagesBody: string;
  private counters = zeroCounters();
  private mode: FaultMode | undefined;
  private latencyMs = DEFAULT_SLOW_LATENCY_MS;
  /** Bumped by a crash or close(): work started before it is dropped. */
  private epoch = 0;
  private listening = false;
  private closed = false;
  private boundPort = 0;

  constructor(private readonly config: Config) {
    this.workers = new WorkerTable(config.workers, config.pollMs, config.waitTimeout, this.timers);
    this.languageIds = new Map(config.languages);
    this.languagesBody = phpJsonEncode(config.languages);
    this.server = http.createServer((req, res) => this.onRequest(req, res));
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  get port(): number {
    return this.boundPort;
  }

  get url(): string {
    const host = this.config.host.includes(':') ? `[${this.config.host}]` : this.config.host;
    return `http://${host}:${this.boundPort}`;
  }

  get name(): string {
    return this.config.name ?? `jobe-sim-${this.boundPort}`;
  }

  stats(): JobeSimStats {
    return {
      ...this.counters,
      activeWorkers: this.workers.active,
      peakWorkers: this.workers.peak,
      filesHeld: this.files.size,
    };
  }

  resetStats(): void {
    this.counters = zeroCounters();
    this.workers.peak = this.workers.active;
  }

  hasFile(id: string): boolean {
    return this.files.load(id) !== undefined;
  }

  async fault(mode: FaultMode, options: { latencyMs?: number } = {}): Promise<void> {
    if (this.closed) throw new Error('jobe-sim: fault() after close()');
    const latencyMs = checkNumber('latencyMs', options.latencyMs ?? DEFAULT_SLOW_LATENCY_MS, false);
    await this.endFault();
    this.latencyMs = latencyMs;
    this.mode = mode;
    if (mode === 'crash') await this.crash();
  }

  async recover(options: { clearFiles?: boolean } = {}): Promise<void> {
    if (this.closed) return;
    await this.endFault();
    if (options.clearFiles) this.files.clear();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.dropEverything();
    await this.stopListening();
  }

  async listen(port: number): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, this.config.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.listening = true;
    const address = this.server.address();
    if (address && typeof address === 'object') this.boundPort = address.port;
  }

  /** Like a killed Apache: in-flight exchanges are reset, the port stops accepting, worker slots come back. */
  private async crash(): Promise<void> {
    this.dropEverything();
    await this.stopListening();
  }

  private dropEverything(): void {
    this.epoch++;
    this.timers.cancelAll();
    this.workers.reset();
    this.held.clear();
    for (const socket of this.sockets) resetSocket(socket);
    this.sockets.clear();
  }

  private async endFault(): Promise<void> {
    const mode = this.mode;
    this.mode = undefined;
    if (mode === 'crash') await this.listen(this.boundPort);
    if (mode === 'hang') {
      for (const res of this.held) res.socket?.destroy();
      this.held.clear();
    }
  }

  private async stopListening(): Promise<void> {
    if (!this.listening) return;
    this.listening = false;
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
    this.counters.requests++;
    req.on('error', noop);
    res.on('error', noop);
    const exchange: Exchange = { req, res, startedAt: Date.now(), epoch: this.epoch };
    if (this.mode === 'hang') {
      req.resume();
      this.hold(res);
      return;
    }
    const target = route(
      req.method ?? '',
      req.url ?? '/',
      req.headers['access-control-request-method'] !== undefined,
    );
    switch (target.kind) {
      case 'options':
        req.resume();
        this.send(exchange, 204, { Vary: 'Access-Control-Request-Method', 'Cache-Control': CACHE_CONTROL });
        return;
      case 'notFound':
        req.resume();
        if (req.method === 'OPTIONS') exchange.res.setHeader('Vary', 'Access-Control-Request-Method');
        this.frameworkError(exchange, 404);
        return;
      case 'languages':
        req.resume();
        this.counters.languageRequests++;
        this.respond(exchange, 200, this.languagesBody);
        return;
      case 'headFile':
        req.resume();
        this.headFile(exchange, target.fileId);
        return;
      case 'putFile':
        readBody(req, (body) => this.putFile(exchange, target.fileId, body));
        return;
      case 'runs':
        readBody(req, (body) => {
          this.postRun(exchange, body).catch((error: unknown) => this.runFailed(exchange, error));
        });
        return;
    }
  }

  private hold(res: http.ServerResponse): void {
    this.held.add(res);
    res.once('close', () => this.held.delete(res));
  }

  /** Writes a response, unless a fault says otherwise: a hung server holds it, a slow one sends it late. */
  private send(
    exchange: Exchange,
    status: number,
    headers: http.OutgoingHttpHeaders,
    body?: string,
    delayed = false,
  ): void {
    const { res } = exchange;
    if (exchange.epoch !== this.epoch || res.writableEnded || res.destroyed) return;
    if (this.mode === 'hang') {
      this.hold(res);
      return;
    }
    if (this.mode === 'slow' && !delayed) {
      void this.timers.wait(this.latencyMs).then((elapsed) => {
        if (elapsed) this.send(exchange, status, headers, body, true);
      });
      return;
    }
    if (body !== undefined) headers['Content-Length'] = Buffer.byteLength(body);
    res.writeHead(status, headers);
    res.end(body);
  }

  /** A controller's response (ResourceController::respond with format json); null data means no body. */
  private respond(exchange: Exchange, status: number, json: string | null): void {
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': JSON_CONTENT_TYPE,
      'Cache-Control': CACHE_CONTROL,
    };
    if (json === null) {
      // CodeIgniter sends no Content-Type with a 204 (checked against a real Jobe 2.2).
      if (status === 204) delete headers['Content-Type'];
      this.send(exchange, status, headers, status === 204 ? undefined : '');
      return;
    }
    this.send(exchange, status, headers, this.performanceMetrics(exchange, json));
  }

  private respondMessage(exchange: Exchange, status: number, message: string): void {
    if (status === 400) this.counters.badRequests++;
    this.respond(exchange, status, phpJsonEncode(message));
  }

  /** CodeIgniter 4.6's required `performance` after-filter rewrites these two strings in every body. */
  private performanceMetrics(exchange: Exchange, body: string): string {
    if (!body.includes('{elapsed_time}') && !body.includes('{memory_usage}')) return body;
    const elapsed = Number(((Date.now() - exchange.startedAt) / 1000).toFixed(4));
    return body.replaceAll('{elapsed_time}', String(elapsed)).replaceAll('{memory_usage}', '2.000');
  }

  /** An uncaught exception or a missing route: JSON `""` unless the client accepts text/html. */
  private frameworkError(exchange: Exchange, status: 404 | 500): void {
    const html = (exchange.req.headers.accept ?? '').includes('text/html');
    this.send(
      exchange,
      status,
      { 'Content-Type': html ? HTML_CONTENT_TYPE : JSON_CONTENT_TYPE, 'Cache-Control': CACHE_CONTROL },
      html ? (status === 404 ? HTML_404_PAGE : HTML_500_PAGE) : '""',
    );
  }

  /** Files::head. */
  private headFile(exchange: Exchange, fileId: string): void {
    this.counters.heads++;
    // `if (!$fileId)`: the id "0" is falsy in PHP.
    if (fileId === '0') {
      this.respondMessage(exchange, 400, MESSAGES.headMissingId);
      return;
    }
    this.respond(exchange, this.files.exists(fileId) ? 204 : 404, null);
  }

  /** Files::put. getJSON() and base64_decode() run outside any try, so their failures are framework 500s. */
  private putFile(exchange: Exchange, fileId: string, body: Body): void {
    this.counters.puts++;
    const decoded = getJson(body);
    if (!decoded.ok) {
      this.frameworkError(exchange, 500);
      return;
    }
    const json = decoded.value;
    if (!isPhpObject(json) || !issetProperty(json, 'file_contents')) {
      this.respondMessage(exchange, 400, MESSAGES.putMissingContents);
      return;
    }
    const raw = json['file_contents'];
    if (typeof raw === 'object') {
      this.frameworkError(exchange, 500); // TypeError: base64_decode() wants a string
      return;
    }
    const contents = phpBase64DecodeStrict(phpScalarToString(raw as string | number | boolean));
    if (contents === undefined) {
      this.respondMessage(exchange, 400, MESSAGES.putNotBase64(fileId));
      return;
    }
    if (!this.files.put(fileId, contents)) {
      this.respondMessage(exchange, 500, MESSAGES.putWriteFailed(fileId));
      return;
    }
    this.respond(exchange, 204, null);
  }

  /** Runs::post with LanguageTask's order: validate, copy files (404), overload hack, worker, compile+run. */
  private async postRun(exchange: Exchange, body: Body): Promise<void> {
    const decoded = getJson(body);
    if (!decoded.ok) {
      this.respondMessage(exchange, 500, MESSAGES.serverException(MESSAGES.invalidJson(decoded.error)));
      return;
    }
    const run = parseRunSpec(decoded.value, this.languageIds, this.config.cputimeUpperLimit);

    const workspace = new Map<string, Buffer>();
    for (const [fileId, fileName] of run.files) {
      const contents = this.files.load(fileId);
      if (contents === undefined) {
        this.counters.fileMisses++;
        this.respondMessage(exchange, 404, MESSAGES.missingFiles);
        return;
      }
      workspace.set(fileName, contents);
    }

    if (run.sourcecode === OVERLOAD_TEST_SOURCECODE) {
      this.counters.overloads++;
      this.respond(exchange, 200, OVERLOAD_BODY);
      return;
    }
    if (this.mode === 'error500') {
      this.respondMessage(exchange, 500, MESSAGES.semaphoreFailed);
      return;
    }

    const epoch = this.epoch;
    const acquired = await this.workers.acquire();
    if (acquired === 'cancelled' || epoch !== this.epoch) return;
    if (acquired === 'overload') {
      this.counters.overloads++;
      this.respond(exchange, 200, OVERLOAD_BODY);
      return;
    }
    let result: RunResult;
    try {
      result = this.execute(run, workspace);
      const ms = result.sleepMs ?? this.chooseRunMs(run.runSpec);
      if (ms > 0 && !(await this.timers.wait(ms))) return;
    } finally {
      if (epoch === this.epoch) this.workers.release();
    }
    if (epoch !== this.epoch) return;
    this.counters.runsServed++;
    if (result.outcome === OUTCOME.serverOverload) this.counters.overloads++;
    const runId = run.debug ? randomRunDirectory() : null;
    this.respond(
      exchange,
      200,
      resultBody(runId, result.outcome, result.cmpinfo, result.stdout, result.stderr),
    );
  }

  private execute(run: ValidRun, workspace: Map<string, Buffer>): RunResult {
    if (this.mode === 'wedged') return wedgedResult(run.languageId);
    return runDirectives({ sourcecode: run.sourcecode, input: run.input, workspace, serverName: this.name });
  }

  private chooseRunMs(runSpec: RunSpec): number {
    if (this.config.runMs) {
      try {
        const ms = this.config.runMs(runSpec);
        if (typeof ms === 'number' && Number.isFinite(ms)) return Math.max(0, ms);
      } catch {
        // A failing hook falls back to defaultRunMs.
      }
    }
    return this.config.defaultRunMs;
  }

  /** Runs::post's catch blocks: JobException keeps its status, any other Throwable is a 500. */
  private runFailed(exchange: Exchange, error: unknown): void {
    if (error instanceof JobError) {
      this.respondMessage(exchange, error.status, error.message);
      return;
    }
    const message = error instanceof Error ? error.message : String(error);
    this.respondMessage(exchange, 500, MESSAGES.serverException(message));
  }
}

/** Starts a simulated Jobe server and resolves once it listens. */
export async function startJobeSim(options: JobeSimOptions = {}): Promise<JobeSim> {
  const config = resolveOptions(options);
  const simulator = new Simulator(config);
  if (config.port === 0) await listenBelowEphemeralRange((port) => simulator.listen(port));
  else await simulator.listen(config.port);
  return simulator;
}
