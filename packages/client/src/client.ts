import { createHash } from 'node:crypto';
import { CookieJar } from './cookie-jar.js';
import { errorForStatus, type JobeError, type JobeErrorCode, jobeError } from './errors.js';
import { jobeBase, jobeUrl, newJobId, RESTAPI_SUFFIX } from './host-list.js';
import { phpJsonEncode } from './php-json.js';
import { runSettled } from './run-all.js';
import { defaultSourceFilename } from './source-filename.js';
import { type Transport, type TransportResponse, undiciTransport } from './transport.js';

/** CodeRunner's default `jobe_apikey` setting (also the key in Jobe's sample config). */
export const CODERUNNER_DEFAULT_API_KEY = '2AAA7A5415B4A9B394B54BF1D2E9D';
/** Jobe's answer body when a run's `file_list` names a file its cache lacks. */
export const MISSING_FILES_BODY = '"One or more of the specified files is missing/unavailable"';

export interface JobeClientOptions {
  /**
   * Where Jobe is, as CodeRunner's `jobe_host` setting: `jobe1`, `jobe1:8080`, `https://jobe1/prefix`, or a
   * `;` list of those (each run goes to `servers[jobId % n]`, as CodeRunner chooses). For jobe-balancer, the
   * URL the gateway's mount is reachable at.
   */
  host: string;
  /** Sent as `X-API-KEY` (default: none). */
  apiKey?: string | null;
  /**
   * `run_spec.jobeserver`: CodeRunner 5.7+ sends its host setting there (Jobe ignores it). Default: `host`;
   * null leaves the field out.
   */
  jobeserver?: string | null;
  /** Abandon any one request after this long (a transport failure). Default: none, like Moodle. */
  timeoutMs?: number;
  /** How HTTP is sent. Default: undici with keep-alive ({@link undiciTransport}). */
  transport?: Transport;
  /** Called after every HTTP exchange, in order: for tracing, counting uploads, tests. */
  onExchange?: (exchange: JobeExchange) => void;
  /** The source of job ids (`[0, 1)`, default Math.random): seed it for reproducible runs. */
  random?: () => number;
}

/** A run as a client describes it; the client adds what CodeRunner adds (file names, file list, defaults). */
export interface RunSpec {
  language_id: string;
  sourcecode: string;
  /** stdin; CodeRunner appends a newline to non-empty input that lacks one. */
  input?: string;
  /** Default: CodeRunner's (`__tester__.<language>`, or the public class for Java). */
  sourcefilename?: string;
  /**
   * CodeRunner's sandbox params, sent as `run_spec.parameters` (`cputime`, `memorylimit`, ...). As in
   * CodeRunner, `sourcefilename`, `debug`, `jobeserver` and `jobeapikey` in here also change the request.
   */
  parameters?: Record<string, unknown>;
}

/** A support file or attachment; its Jobe file id is the md5 of the contents, as CodeRunner makes it. */
export interface SupportFile {
  name: string;
  contents: string | Uint8Array;
  /** The md5 of `contents`, when the caller has it already. */
  id?: string;
}

/** Jobe's result object, as received. */
export interface JobeResult {
  run_id: unknown;
  outcome: number;
  cmpinfo: string;
  stdout: string;
  stderr: string;
}

/** What CodeRunner makes of a result: stderr forces outcome 12, Jobe run-directory paths removed. */
export interface GradedResult {
  outcome: number;
  output: string;
  stderr: string;
  cmpinfo: string;
}

export interface JobeExchange {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** -1 for a transport failure. */
  status: number;
  /** The job id sent, null outside a run (languages, batch). */
  jobId: string | null;
  /** The Cookie header sent, if any. */
  cookie: string | undefined;
  responseHeaders: Record<string, string | string[] | undefined>;
  sentAt: number;
  answeredAt: number;
}

/** Everything about one run, as CodeRunner's execute() saw it. */
export interface RunReport {
  /** Final HTTP status; -1 for a transport failure, 0 if nothing was sent (a file named like the source). */
  httpStatus: number;
  /** Final body as text. */
  body: string;
  /** The result object, when the final status is 200/203 and the body an object with `outcome`. */
  result: JobeResult | null;
  /** CodeRunner's sandbox error, null for OK (202 and 204 count as OK without a result, as in CodeRunner). */
  error: JobeErrorCode | null;
  graded: GradedResult | null;
  jobId: string;
  posts: number;
  puts: number;
  /** The exact POST body. */
  requestBody: string;
  transportError?: Error;
  latencyMs: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** The job id to send (default: a new one, as CodeRunner makes). */
  jobId?: string;
}

export type RunSettlement =
  | { status: 'fulfilled'; value: JobeResult }
  | { status: 'rejected'; reason: JobeError | Error };

export interface RunAllOptions {
  /**
   * Runs in flight at once (default 4: a quarter of one Jobe's 16 workers). With `via: 'batch'`: batch
   * requests in flight at once (default 1); the gateway caps what all batches together hold anyway.
   */
  concurrency?: number;
  /** Cancels every run not finished: runAll then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** `runs` (default): one CodeRunner run per spec. `batch`: jobe-balancer's batch endpoint. */
  via?: 'runs' | 'batch';
  /** Runs per batch request with `via: 'batch'` (default 50). */
  batchSize?: number;
  /** Called as each run settles (progress). */
  onSettled?: (index: number, settlement: RunSettlement, settledCount: number) => void;
}

export interface LanguagesReport {
  httpStatus: number;
  body: string;
  /** `[[id, version], ...]` when the status is 200 and the body a list. */
  languages: Array<[string, string]> | null;
  error: JobeErrorCode | null;
}

export function md5(contents: string | Uint8Array): string {
  return createHash('md5').update(contents).digest('hex');
}

function phpEmpty(value: unknown): boolean {
  return (
    value === null || value === undefined || value === '' || value === '0' || value === 0 || value === false
  );
}

function phpTruthy(value: unknown): boolean {
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object' && value !== null) return Object.keys(value).length > 0;
  return !phpEmpty(value);
}

/** Strips Jobe run-directory prefixes from paths, as CodeRunner's filter_file_path() does. */
function filterJobePaths(text: string): string {
  return text.replace(/\/home\/jobe\/runs\/jobe_[a-zA-Z0-9_]+\/([a-zA-Z0-9_]+)/g, '$1');
}

function decodeJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** CodeRunner's reading of a run's final answer (jobesandbox.php l.294-332). */
export function interpretAnswer(
  httpStatus: number,
  body: string,
): Pick<RunReport, 'result' | 'error' | 'graded'> {
  const decoded = decodeJson(body);
  const okStatus = httpStatus === 200 || httpStatus === 203;
  const hasOutcome =
    typeof decoded === 'object' &&
    decoded !== null &&
    !Array.isArray(decoded) &&
    (decoded as Record<string, unknown>)['outcome'] != null;
  const result = okStatus && hasOutcome ? (decoded as JobeResult) : null;
  if (result === null) {
    return { result, error: okStatus ? 'UNKNOWN_SERVER_ERROR' : errorForStatus(httpStatus), graded: null };
  }
  if (Number(result.outcome) === 21) return { result, error: 'SERVER_OVERLOAD', graded: null };
  const stderr = filterJobePaths(String(result.stderr ?? ''));
  return {
    result,
    error: null,
    graded: {
      outcome: stderr.trim() !== '' ? 12 : result.outcome,
      output: filterJobePaths(String(result.stdout ?? '')),
      stderr,
      cmpinfo: result.cmpinfo,
    },
  };
}

/** What one run sends: its body, and where and with which key (sandbox params may change both). */
interface PreparedRun {
  runSpec: Record<string, unknown>;
  hostSetting: string;
  apiKey: string | null;
  fileIds: string[];
  /** A file named like the source: CodeRunner refuses locally and sends nothing. */
  clash: boolean;
}

/**
 * A Jobe client that speaks CodeRunner's protocol exactly (md5 file ids, a job id and a cookie jar per run,
 * POST, 404 → PUT each file → POST once more), and runs many test cases at once with {@link runAll}.
 */
export class JobeClient {
  private readonly transport: Transport & { close?: () => Promise<void> };
  private readonly random: () => number;

  constructor(private readonly options: JobeClientOptions) {
    if (typeof options.host !== 'string' || options.host.trim() === '')
      throw new TypeError('JobeClient: host must be a Jobe host such as http://jobe1:80');
    this.transport = options.transport ?? undiciTransport();
    this.random = options.random ?? Math.random;
  }

  /** Closes the default transport's connections. */
  async close(): Promise<void> {
    if (!this.options.transport) await this.transport.close?.();
  }

  private headers(apiKey: string | null, jobId: string | null, cookie?: string): Record<string, string> {
    const headers: Record<string, string> = {
      'User-Agent': 'CodeRunner',
      'Content-Type': 'application/json; charset=utf-8',
      'Accept-Charset': 'utf-8',
      Accept: 'application/json',
    };
    if (!phpEmpty(apiKey)) headers['X-API-KEY'] = apiKey as string;
    if (jobId !== null) headers['X-CodeRunner-Job-Id'] = jobId;
    if (cookie !== undefined) headers['Cookie'] = cookie;
    return headers;
  }

  private async send(
    method: 'GET' | 'POST' | 'PUT',
    url: string,
    headers: Record<string, string>,
    jobId: string | null,
    body: string | undefined,
    signal: AbortSignal | undefined,
  ): Promise<TransportResponse> {
    signal?.throwIfAborted();
    const sentAt = performance.now();
    const response = await this.transport({
      url,
      method,
      headers,
      ...(body !== undefined ? { body } : {}),
      ...(signal ? { signal } : {}),
      ...(this.options.timeoutMs !== undefined ? { timeoutMs: this.options.timeoutMs } : {}),
    });
    signal?.throwIfAborted();
    this.options.onExchange?.({
      method,
      url,
      status: response.status,
      jobId,
      cookie: headers['Cookie'],
      responseHeaders: response.headers,
      sentAt,
      answeredAt: performance.now(),
    });
    return response;
  }

  private prepare(spec: RunSpec, files: readonly SupportFile[]): PreparedRun {
    const language = spec.language_id.toLowerCase();
    let stdin = spec.input ?? '';
    if (stdin !== '' && !stdin.endsWith('\n')) stdin += '\n';
    const progname = spec.sourcefilename ?? defaultSourceFilename(language, spec.sourcecode);
    const fileIds = files.map((file) => file.id ?? md5(file.contents));
    const runSpec: Record<string, unknown> = {
      language_id: language,
      sourcecode: spec.sourcecode,
      sourcefilename: progname,
      input: stdin,
      file_list: files.map((file, i) => [fileIds[i], file.name]),
    };
    let hostSetting = this.options.host;
    let apiKey = this.options.apiKey ?? null;
    const params = spec.parameters;
    if (params !== undefined) {
      runSpec['parameters'] = params;
      if (phpTruthy(params['debug'])) runSpec['debug'] = 1;
      if (params['sourcefilename'] != null) runSpec['sourcefilename'] = params['sourcefilename'];
      if (params['jobeserver'] != null) hostSetting = String(params['jobeserver']);
      if (params['jobeapikey'] != null) apiKey = String(params['jobeapikey']);
    }
    const jobeserver = this.options.jobeserver;
    if (jobeserver !== null) runSpec['jobeserver'] = jobeserver ?? hostSetting;
    const clash = files.some((file) => file.name === progname);
    return { runSpec, hostSetting, apiKey, fileIds, clash };
  }

  /**
   * One run exactly as CodeRunner's execute() makes it (grade cache off), reported in full. Never throws for
   * HTTP-level problems; rejects only when `signal` aborts.
   */
  async execute(
    spec: RunSpec,
    files: readonly SupportFile[] = [],
    options: RunOptions = {},
  ): Promise<RunReport> {
    const started = performance.now();
    const { signal } = options;
    signal?.throwIfAborted();
    const jobId = options.jobId ?? newJobId(this.random);
    const prepared = this.prepare(spec, files);
    const report = (
      response: TransportResponse,
      posts: number,
      puts: number,
      requestBody: string,
    ): RunReport => ({
      httpStatus: response.status,
      body: response.body,
      ...interpretAnswer(response.status, response.body),
      jobId,
      posts,
      puts,
      requestBody,
      ...(response.error ? { transportError: response.error } : {}),
      latencyMs: performance.now() - started,
    });
    if (prepared.clash) {
      const nothing = { status: 0, headers: {}, body: '' };
      return { ...report(nothing, 0, 0, ''), error: 'JOBE_400_ERROR' };
    }
    const requestBody = phpJsonEncode({ run_spec: prepared.runSpec });
    const jar = new CookieJar();
    const exchange = async (method: 'POST' | 'PUT', resource: string, body: string) => {
      const headers = this.headers(prepared.apiKey, jobId, jar.header());
      const url = jobeUrl(prepared.hostSetting, resource, jobId);
      const response = await this.send(method, url, headers, jobId, body, signal);
      jar.store(response.headers['set-cookie']);
      return response;
    };

    let posts = 1;
    let puts = 0;
    let response = await exchange('POST', 'runs', requestBody);
    if (response.status === 404) {
      for (let i = 0; i < files.length; i++) {
        puts++;
        const fileBody = phpJsonEncode({ file_contents: Buffer.from(files[i]!.contents).toString('base64') });
        response = await exchange('PUT', `files/${prepared.fileIds[i]}`, fileBody);
        if (response.status !== 204) break;
      }
      if (response.status === 204) {
        posts++;
        response = await exchange('POST', 'runs', requestBody);
      }
    }
    return report(response, posts, puts, requestBody);
  }

  /** One run; resolves to Jobe's result object, rejects with a typed {@link JobeError} (or the abort reason). */
  async run(
    spec: RunSpec,
    files: readonly SupportFile[] = [],
    options: RunOptions = {},
  ): Promise<JobeResult> {
    const report = await this.execute(spec, files, options);
    if (report.error !== null || report.result === null) {
      throw jobeError(
        report.error ?? 'UNKNOWN_SERVER_ERROR',
        report.httpStatus,
        report.body,
        report.jobId,
        report.transportError,
      );
    }
    return report.result;
  }

  /**
   * Runs every spec (each with `files`) and returns their settlements in input order: a failed run is
   * reported in its slot, the others still run. Rejects only when `signal` aborts.
   */
  async runAll(
    specs: readonly RunSpec[],
    files: readonly SupportFile[] = [],
    options: RunAllOptions = {},
  ): Promise<RunSettlement[]> {
    if (options.via === 'batch') return this.runAllInBatches(specs, files, options);
    const concurrency = options.concurrency ?? 4;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`runAll: concurrency must be a positive integer, got ${concurrency}`);
    return runSettled(
      specs.length,
      concurrency,
      (index, signal) => this.run(specs[index]!, files, { signal }),
      options.signal,
      options.onSettled,
    );
  }

  private async runAllInBatches(
    specs: readonly RunSpec[],
    files: readonly SupportFile[],
    options: RunAllOptions,
  ): Promise<RunSettlement[]> {
    const size = options.batchSize ?? 50;
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`runAll: batchSize must be a positive integer, got ${size}`);
    const concurrency = options.concurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1)
      throw new RangeError(`runAll: concurrency must be a positive integer, got ${concurrency}`);
    const { signal } = options;
    signal?.throwIfAborted();
    const settlements = new Array<RunSettlement>(specs.length);
    let settled = 0;
    let nextFrom = 0;
    const worker = async (): Promise<void> => {
      while (nextFrom < specs.length && !signal?.aborted) {
        const from = nextFrom;
        nextFrom += size;
        const chunk = await this.runBatch(specs.slice(from, from + size), files, signal);
        chunk.forEach((settlement, i) => {
          settlements[from + i] = settlement;
          options.onSettled?.(from + i, settlement, ++settled);
        });
      }
    };
    const batches = Math.ceil(specs.length / size);
    await Promise.all(Array.from({ length: Math.min(concurrency, batches) }, worker));
    signal?.throwIfAborted();
    return settlements;
  }

  /**
   * jobe-balancer's `POST <mount>/_balancer/batch`: the runs in one request, their answers in order. Runs
   * whose files the gateway lacks come back as Jobe's 404; the files are then PUT once and those runs sent
   * in one more batch, as CodeRunner does for one run.
   */
  async runBatch(
    specs: readonly RunSpec[],
    files: readonly SupportFile[] = [],
    signal?: AbortSignal,
  ): Promise<RunSettlement[]> {
    signal?.throwIfAborted();
    const prepared = specs.map((spec) => this.prepare(spec, files));
    const answers: Array<{ status: number; body: string; error?: Error }> = prepared.map(() => ({
      status: 0,
      body: '',
    }));
    const sendable = prepared.flatMap((run, i) => (run.clash ? [] : [i]));
    let pending = await this.postBatch(sendable, prepared, answers, signal);
    if (pending.length > 0 && files.length > 0) {
      const put = await this.putFiles(files, prepared[pending[0]!]!.fileIds, signal);
      if (put.status === 204) pending = await this.postBatch(pending, prepared, answers, signal);
      else for (const i of pending) answers[i] = put;
    }
    return answers.map((answer, i) => {
      const interpreted =
        prepared[i]!.clash || answer.status === 0
          ? { result: null, error: 'JOBE_400_ERROR' as const }
          : interpretAnswer(answer.status, answer.body);
      if (interpreted.error === null && interpreted.result !== null)
        return { status: 'fulfilled', value: interpreted.result };
      return {
        status: 'rejected',
        reason: jobeError(
          interpreted.error ?? 'UNKNOWN_SERVER_ERROR',
          answer.status,
          answer.body,
          '',
          answer.error,
        ),
      };
    });
  }

  /** Posts the runs at `indexes`, fills their answers; returns those that came back missing files. */
  private async postBatch(
    indexes: number[],
    prepared: PreparedRun[],
    answers: Array<{ status: number; body: string; error?: Error }>,
    signal: AbortSignal | undefined,
  ): Promise<number[]> {
    if (indexes.length === 0) return [];
    const first = prepared[indexes[0]!]!;
    const url = `${jobeBase(first.hostSetting, null, this.random)}/jobe/_balancer/batch`;
    const body = phpJsonEncode({ runs: indexes.map((i) => prepared[i]!.runSpec) });
    const response = await this.send('POST', url, this.headers(first.apiKey, null), null, body, signal);
    const decoded = response.status === 200 ? decodeJson(response.body) : undefined;
    const results = (decoded as { results?: unknown } | undefined)?.results;
    if (!Array.isArray(results) || results.length !== indexes.length) {
      // The whole batch failed (disabled, refused key, transport): every run gets that answer.
      const failed = response.status === 200 ? { status: 502, body: response.body } : response;
      for (const i of indexes) answers[i] = failed;
      return [];
    }
    const missing: number[] = [];
    indexes.forEach((runIndex, slot) => {
      // A slot is `{status, body}` with Jobe's body as JSON, or `{status, text}` when it was not JSON.
      const entry = results[slot] as { status?: unknown; body?: unknown; text?: unknown } | null;
      const status = typeof entry?.status === 'number' ? entry.status : 502;
      const text =
        typeof entry?.text === 'string'
          ? entry.text
          : entry?.body === undefined
            ? ''
            : JSON.stringify(entry.body);
      answers[runIndex] = { status, body: text };
      if (status === 404 && text === MISSING_FILES_BODY) missing.push(runIndex);
    });
    return missing;
  }

  /** PUTs each file in order (no job id: the gateway keeps them for every backend); the first failure stops. */
  private async putFiles(
    files: readonly SupportFile[],
    ids: readonly string[],
    signal: AbortSignal | undefined,
  ): Promise<TransportResponse> {
    let response: TransportResponse = { status: 204, headers: {}, body: '' };
    for (let i = 0; i < files.length; i++) {
      const url = jobeUrl(this.options.host, `files/${ids[i]}`, newJobId(this.random));
      const body = phpJsonEncode({ file_contents: Buffer.from(files[i]!.contents).toString('base64') });
      response = await this.send(
        'PUT',
        url,
        this.headers(this.options.apiKey ?? null, null),
        null,
        body,
        signal,
      );
      if (response.status !== 204) break;
    }
    return response;
  }

  /** GET languages as CodeRunner's get_languages(): its headers, no job id, no cookie jar. */
  async languagesReport(signal?: AbortSignal): Promise<LanguagesReport> {
    const url = `${jobeBase(this.options.host, null, this.random)}${RESTAPI_SUFFIX}languages`;
    const response = await this.send(
      'GET',
      url,
      this.headers(this.options.apiKey ?? null, null),
      null,
      undefined,
      signal,
    );
    const decoded = response.status === 200 ? decodeJson(response.body) : undefined;
    const languages = Array.isArray(decoded)
      ? decoded.map((entry: unknown): [string, string] =>
          Array.isArray(entry) ? [String(entry[0]), String(entry[1])] : [String(entry), ''],
        )
      : null;
    return {
      httpStatus: response.status,
      body: response.body,
      languages,
      error: errorForStatus(response.status),
    };
  }

  /** The languages Jobe offers, `[[id, version], ...]`; rejects with a {@link JobeError} otherwise. */
  async languages(signal?: AbortSignal): Promise<Array<[string, string]>> {
    const report = await this.languagesReport(signal);
    if (report.languages === null)
      throw jobeError(report.error ?? 'UNKNOWN_SERVER_ERROR', report.httpStatus, report.body, '');
    return report.languages;
  }
}
