/**
 * A client that talks to a Jobe server the way CodeRunner 5.9 does (qtype_coderunner_jobesandbox::execute() and
 * get_languages(), protocol notes §6): same URLs, headers, body bytes, job id, per-run cookie jar, 404→PUT→POST
 * cycle, one TCP connection per request, and the same mapping of the final HTTP status to a sandbox error.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import {
  CURL_EXPECT_100_THRESHOLD,
  parseJsonOrUndefined,
  phpJsonEncode,
  sendOnNewConnection,
  type WireResponse,
} from './http.js';

/** CodeRunner's default `jobe_apikey` setting (also the key in Jobe's sample config). */
export const CODERUNNER_DEFAULT_API_KEY = '2AAA7A5415B4A9B394B54BF1D2E9D';

export interface SupportFile {
  name: string;
  contents: string | Buffer;
}

export interface CodeRunnerRunInput {
  language_id: string;
  sourcecode: string;
  input?: string;
  /** Attachments and support files, in CodeRunner's order (PUTs follow it). */
  files?: SupportFile[];
  /**
   * CodeRunner's sandbox params, sent as `run_spec.parameters`. As in CodeRunner, `sourcefilename`, `debug`,
   * `jobeserver` and `jobeapikey` in here also change the request.
   */
  parameters?: Record<string, unknown>;
  sourcefilename?: string;
  /**
   * Value of `run_spec.jobeserver`. CodeRunner 5.7+ always sends the configured host string there, so the
   * default is that string (`jobeHost`, or `parameters.jobeserver`); `null` leaves the field out (CodeRunner < 5.7).
   */
  jobeserver?: string | null;
  /** Default {@link CODERUNNER_DEFAULT_API_KEY}; null or '' sends no X-API-KEY. */
  apiKey?: string | null;
  /** Abort each request after this long (transport failure, status -1). Default: none, like Moodle. */
  timeoutMs?: number;
}

export interface JobeRunResult {
  outcome: number;
  cmpinfo: string;
  stdout: string;
  stderr: string;
  run_id: unknown;
}

export type CodeRunnerError =
  | 'SERVER_OVERLOAD'
  | 'JOBE_400_ERROR'
  | 'SUBMISSION_LIMIT_EXCEEDED'
  | 'AUTH_ERROR'
  | 'UNKNOWN_SERVER_ERROR';

/** One HTTP exchange of a run, in order. */
export interface CodeRunnerExchange {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  status: number;
  /** The Cookie header sent, if any. */
  cookie: string | undefined;
  responseHeaders: IncomingHttpHeaders;
}

export interface CodeRunnerRunResult {
  /** Final HTTP status CodeRunner saw; -1 for a transport failure, 0 if CodeRunner sent nothing. */
  httpStatus: number;
  /** Final raw body (decoded as UTF-8). */
  body: string;
  /** The Jobe result object as received, when the status is 200/203 and the body is an object with `outcome`. */
  result: JobeRunResult | null;
  /**
   * CodeRunner's sandbox error, null for OK. Like CodeRunner, a 202 or 204 on a run counts as OK although there
   * is no result (`result` is then null).
   */
  error: null | CodeRunnerError;
  /** What CodeRunner makes of an OK result: stderr forces outcome 12, Jobe run-directory paths removed. */
  graded: { outcome: number; output: string; stderr: string; cmpinfo: string } | null;
  jobId: string;
  posts: number;
  puts: number;
  exchanges: CodeRunnerExchange[];
  /** The exact POST body. */
  requestBody: string;
  latencyMs: number;
}

export function md5(contents: string | Buffer): string {
  return createHash('md5').update(contents).digest('hex');
}

/** `sprintf('%08x', mt_rand())`: mt_rand() is 0..2^31-1, so 8 lowercase hex digits, the first one 0-7. */
export function newCodeRunnerJobId(): string {
  return Math.floor(Math.random() * 0x80000000)
    .toString(16)
    .padStart(8, '0');
}

/**
 * The URL CodeRunner builds for `resource` from the host setting: a `;` list picks `servers[jobId % n]` during a
 * run (random otherwise), `http://` is prefixed unless the string starts with `http`, and the suffix is appended
 * verbatim (a trailing `/` in the setting gives `//jobe`).
 */
export function coderunnerUrl(hostSetting: string, resource: string, jobId: string | null): string {
  let host = hostSetting;
  if (host.includes(';')) {
    const servers = host
      .split(';')
      .map((server) => server.trim())
      .filter((server) => server !== '');
    const pick = jobId !== null ? Number.parseInt(jobId, 16) : Math.floor(Math.random() * 0x80000000);
    host = servers[pick % servers.length] ?? '';
  }
  host = host.trim();
  return `${host.startsWith('http') ? host : `http://${host}`}/jobe/index.php/restapi/${resource}`;
}

function coderunnerHeaders(apiKey: string | null, jobId: string | null): OutgoingHttpHeaders {
  const headers: OutgoingHttpHeaders = {
    'User-Agent': 'CodeRunner',
    'Content-Type': 'application/json; charset=utf-8',
    'Accept-Charset': 'utf-8',
    Accept: 'application/json',
    // libcurl with CURLOPT_ENCODING '' (Moodle's default) offers every encoding it can decode.
    'Accept-Encoding': 'deflate, gzip, br',
  };
  if (!phpEmpty(apiKey)) headers['X-API-KEY'] = apiKey as string;
  if (jobId !== null) headers['X-CodeRunner-Job-Id'] = jobId;
  return headers;
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

/** A curl cookie jar reduced to what matters here: name=value pairs, later ones replacing earlier ones. */
class CookieJar {
  private readonly cookies = new Map<string, string>();

  store(setCookie: string[] | undefined): void {
    for (const line of setCookie ?? []) {
      const pair = line.split(';', 1)[0] ?? '';
      const equals = pair.indexOf('=');
      if (equals <= 0) continue;
      this.cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
  }

  header(): string | undefined {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

/**
 * The class name CodeRunner derives the Java source file name from: the first `public ... class X` at nesting
 * depth 0, after comments and string literals are removed.
 */
export function javaPublicClass(source: string): string | null {
  let flat = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('//', i)) {
      const newline = source.indexOf('\n', i + 2);
      if (newline < 0) break;
      i = newline;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) break;
      flat += ' ';
      i = end + 2;
    } else if (source[i] === '"') {
      const literal = /^"(?:\\.|[^\\"])*"/s.exec(source.slice(i));
      if (literal === null) break;
      i += literal[0].length;
    } else {
      flat += source[i];
      i++;
    }
  }
  let depth = 0;
  let outer = '';
  for (const char of flat) {
    if (char === '{') depth++;
    if (char === '}') depth--;
    outer += char !== '\n' && depth > 0 && !(depth === 1 && char === '{') ? ' ' : char;
  }
  return /public\s(?:\w*\s)*class\s*(\w+)\W/.exec(outer)?.[1] ?? null;
}

function defaultSourceFilename(language: string, sourcecode: string): string {
  if (language !== 'java') return `__tester__.${language}`;
  const mainClass = javaPublicClass(sourcecode);
  return mainClass !== null ? `${mainClass}.java` : 'NO_PUBLIC_CLASS_FOUND.java';
}

/** Strips Jobe run-directory prefixes from paths, as CodeRunner's filter_file_path() does. */
function filterJobePaths(text: string): string {
  return text.replace(/\/home\/jobe\/runs\/jobe_[a-zA-Z0-9_]+\/([a-zA-Z0-9_]+)/g, '$1');
}

function errorForStatus(status: number): CodeRunnerError | null {
  switch (status) {
    case 200:
    case 202:
    case 204:
      return null;
    case 400:
      return 'JOBE_400_ERROR';
    case 401:
      return 'SUBMISSION_LIMIT_EXCEEDED';
    case 403:
      return 'AUTH_ERROR';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}

/** One run exactly as CodeRunner's execute() makes it (grade cache off). Never throws for HTTP-level problems. */
export async function runLikeCodeRunner(
  jobeHost: string,
  input: CodeRunnerRunInput,
): Promise<CodeRunnerRunResult> {
  const started = performance.now();
  const language = input.language_id.toLowerCase();
  let stdin = input.input ?? '';
  if (stdin !== '' && !stdin.endsWith('\n')) stdin += '\n';
  const progname = input.sourcefilename ?? defaultSourceFilename(language, input.sourcecode);
  const files = input.files ?? [];
  const jobId = newCodeRunnerJobId();
  const exchanges: CodeRunnerExchange[] = [];

  if (files.some((file) => file.name === progname)) {
    // CodeRunner refuses locally ("errorstring-duplicate-name") and sends nothing.
    return {
      httpStatus: 0,
      body: '',
      result: null,
      error: 'JOBE_400_ERROR',
      graded: null,
      jobId,
      posts: 0,
      puts: 0,
      exchanges,
      requestBody: '',
      latencyMs: performance.now() - started,
    };
  }

  const runSpec: Record<string, unknown> = {
    language_id: language,
    sourcecode: input.sourcecode,
    sourcefilename: progname,
    input: stdin,
    file_list: files.map((file) => [md5(file.contents), file.name]),
  };
  let hostSetting = jobeHost;
  let apiKey = input.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : input.apiKey;
  const params = input.parameters;
  if (params !== undefined) {
    runSpec['parameters'] = params;
    if (phpTruthy(params['debug'])) runSpec['debug'] = 1;
    if (params['sourcefilename'] != null) runSpec['sourcefilename'] = params['sourcefilename'];
    if (params['jobeserver'] != null) hostSetting = String(params['jobeserver']);
    if (params['jobeapikey'] != null) apiKey = String(params['jobeapikey']);
  }
  if (input.jobeserver !== null) runSpec['jobeserver'] = input.jobeserver ?? hostSetting;
  const requestBody = phpJsonEncode({ run_spec: runSpec });

  const jar = new CookieJar();
  let posts = 0;
  let puts = 0;
  const send = async (method: 'POST' | 'PUT', resource: string, body: string): Promise<WireResponse> => {
    const url = coderunnerUrl(hostSetting, resource, jobId);
    const headers = coderunnerHeaders(apiKey, jobId);
    const cookie = jar.header();
    if (cookie !== undefined) headers['Cookie'] = cookie;
    const response = await sendOnNewConnection({
      url,
      method,
      headers,
      body,
      decompress: true,
      expectContinueOver: CURL_EXPECT_100_THRESHOLD,
      ...(input.timeoutMs !== undefined ? { timeoutMs: input.timeoutMs } : {}),
    });
    jar.store(response.headers['set-cookie']);
    exchanges.push({ method, url, status: response.status, cookie, responseHeaders: response.headers });
    return response;
  };

  posts++;
  let response = await send('POST', 'runs', requestBody);
  if (response.status === 404) {
    for (const file of files) {
      puts++;
      const fileBody = phpJsonEncode({ file_contents: Buffer.from(file.contents).toString('base64') });
      response = await send('PUT', `files/${md5(file.contents)}`, fileBody);
      if (response.status !== 204) break;
    }
    if (response.status === 204) {
      posts++;
      response = await send('POST', 'runs', requestBody);
    }
  }

  const httpStatus = response.status;
  const body = response.body.toString('utf8');
  const decoded = parseJsonOrUndefined(body);
  const okStatus = httpStatus === 200 || httpStatus === 203;
  const hasOutcome =
    typeof decoded === 'object' &&
    decoded !== null &&
    !Array.isArray(decoded) &&
    (decoded as Record<string, unknown>)['outcome'] != null;
  const result = okStatus && hasOutcome ? (decoded as JobeRunResult) : null;

  let error: CodeRunnerError | null;
  let graded: CodeRunnerRunResult['graded'] = null;
  if (result === null) {
    error = okStatus ? 'UNKNOWN_SERVER_ERROR' : errorForStatus(httpStatus);
  } else if (Number(result.outcome) === 21) {
    error = 'SERVER_OVERLOAD';
  } else {
    error = null;
    const stderr = filterJobePaths(String(result.stderr ?? ''));
    graded = {
      outcome: stderr.trim() !== '' ? 12 : result.outcome,
      output: filterJobePaths(String(result.stdout ?? '')),
      stderr,
      cmpinfo: result.cmpinfo,
    };
  }

  return {
    httpStatus,
    body,
    result,
    error,
    graded,
    jobId,
    posts,
    puts,
    exchanges,
    requestBody,
    latencyMs: performance.now() - started,
  };
}

export interface CodeRunnerLanguages {
  status: number;
  body: string;
  /** `[lang[0] for lang in body]` when the status is 200 and the body an array, else [] (as CodeRunner). */
  languages: string[];
  error: CodeRunnerError | null;
}

/** GET languages as CodeRunner's get_languages(): CodeRunner's headers but no job id and no cookie jar. */
export async function getLanguages(
  jobeHost: string,
  options: { apiKey?: string | null; timeoutMs?: number } = {},
): Promise<CodeRunnerLanguages> {
  const apiKey = options.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : options.apiKey;
  const response = await sendOnNewConnection({
    url: coderunnerUrl(jobeHost, 'languages', null),
    method: 'GET',
    headers: coderunnerHeaders(apiKey, null),
    decompress: true,
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
  });
  const body = response.body.toString('utf8');
  const decoded = parseJsonOrUndefined(body);
  const languages =
    response.status === 200 && Array.isArray(decoded)
      ? decoded.map((entry: unknown) => String(Array.isArray(entry) ? entry[0] : entry))
      : [];
  return { status: response.status, body, languages, error: errorForStatus(response.status) };
}
