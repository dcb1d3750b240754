/**
 * A small, faithful port of how CodeRunner 5.9 runs one test (qtype_coderunner_jobesandbox::execute(),
 * /work/shared/jobe-protocol.md §6), for the benchmarks (Node 20 cannot import test/support/*.ts from .mjs):
 *
 *  - the host setting may be a `;` list: the server is `servers[parseInt(jobId, 16) % n]` for the whole run;
 *  - CodeRunner's headers, `X-CodeRunner-Job-Id` (8 hex digits, first 0-7) and a per-run cookie jar;
 *  - POST runs; on 404 PUT files/<md5> for every file in order (stop at the first non-204), then POST once more;
 *  - every request on a new TCP connection (`agent: false`), as Moodle's curl does;
 *  - bodies as PHP's json_encode writes them; `Expect: 100-continue` above 1 MiB, as libcurl does.
 *
 * Left out because the benchmarks do not need them: Java's public-class file name, the grade cache,
 * CodeRunner's output filtering.
 */
import { createHash } from 'node:crypto';
import * as http from 'node:http';
import * as zlib from 'node:zlib';

export const CODERUNNER_DEFAULT_API_KEY = '2AAA7A5415B4A9B394B54BF1D2E9D';
const CURL_EXPECT_100_THRESHOLD = 1024 * 1024;
const CURL_EXPECT_100_TIMEOUT_MS = 1000;

export function md5(contents) {
  return createHash('md5').update(contents).digest('hex');
}

/** `sprintf('%08x', mt_rand())`; `random` is a [0, 1) source (seeded in the benchmarks). */
export function newJobId(random = Math.random) {
  return Math.floor(random() * 0x80000000)
    .toString(16)
    .padStart(8, '0');
}

/** The URL CodeRunner builds: a `;` list picks `servers[jobId % n]`; `http://` unless it starts with `http`. */
export function coderunnerUrl(hostSetting, resource, jobId) {
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

function coderunnerHeaders(apiKey, jobId) {
  const headers = {
    'User-Agent': 'CodeRunner',
    'Content-Type': 'application/json; charset=utf-8',
    'Accept-Charset': 'utf-8',
    Accept: 'application/json',
    'Accept-Encoding': 'deflate, gzip, br',
  };
  if (apiKey) headers['X-API-KEY'] = apiKey;
  if (jobId !== null) headers['X-CodeRunner-Job-Id'] = jobId;
  return headers;
}

const SHORT_ESCAPES = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function phpString(text) {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes control characters
  const escaped = text.replace(/["\\/\u0000-\u001f\u0080-\uffff]/g, (char) => {
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) return short;
    if (char === '/') return '\\/';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

/** PHP's json_encode() with default flags (`\/`, `\uXXXX`, an empty PHP array as `[]`). */
export function phpJsonEncode(value) {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return JSON.stringify(value);
  if (typeof value === 'string') return phpString(value);
  if (Array.isArray(value)) return `[${value.map(phpJsonEncode).join(',')}]`;
  const entries = Object.entries(value).filter(([, item]) => item !== undefined);
  if (entries.every(([key], index) => key === String(index))) {
    return `[${entries.map(([, item]) => phpJsonEncode(item)).join(',')}]`;
  }
  return `{${entries.map(([key, item]) => `${phpString(key)}:${phpJsonEncode(item)}`).join(',')}}`;
}

class CookieJar {
  cookies = new Map();

  store(setCookie) {
    for (const line of setCookie ?? []) {
      const pair = line.split(';', 1)[0] ?? '';
      const equals = pair.indexOf('=');
      if (equals > 0) this.cookies.set(pair.slice(0, equals).trim(), pair.slice(equals + 1).trim());
    }
  }

  header() {
    if (this.cookies.size === 0) return undefined;
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  }
}

function decode(body, encoding) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

/** One exchange on a fresh TCP connection; never rejects (status -1 on a transport failure). */
export function sendOnNewConnection({ url, method, headers, body, timeoutMs }) {
  return new Promise((resolve) => {
    let settled = false;
    const timers = [];
    const finish = (response) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve(response);
    };
    const fail = (error) => finish({ status: -1, headers: {}, body: Buffer.alloc(0), error });
    const payload = body === undefined ? undefined : Buffer.from(body);
    const outgoing = { ...headers };
    const awaitContinue = payload !== undefined && payload.length > CURL_EXPECT_100_THRESHOLD;
    if (awaitContinue) outgoing['Expect'] = '100-continue';
    const req = http.request(url, { method, headers: outgoing, agent: false });
    let bodySent = false;
    const sendBody = () => {
      if (bodySent) return;
      bodySent = true;
      req.end(payload);
    };
    req.on('error', fail);
    if (timeoutMs !== undefined) timers.push(setTimeout(() => req.destroy(new Error('timeout')), timeoutMs));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        let received;
        try {
          received = decode(Buffer.concat(chunks), res.headers['content-encoding']);
        } catch (error) {
          fail(error);
          return;
        }
        finish({ status: res.statusCode ?? -1, headers: res.headers, body: received });
        if (!bodySent) req.destroy();
      });
    });
    if (awaitContinue) {
      req.flushHeaders();
      req.on('continue', sendBody);
      timers.push(setTimeout(sendBody, CURL_EXPECT_100_TIMEOUT_MS));
    } else {
      sendBody();
    }
  });
}

function errorForStatus(status) {
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

/**
 * One test run as CodeRunner's execute() makes it. `files`: `[{ name, contents, id? }]` in CodeRunner's order
 * (`id` may carry a precomputed md5 of the contents, to spare the load generator's CPU). `jobId` may be given
 * so that every contender of a benchmark sees the same ids; `trace`, an array, receives one entry per exchange.
 * Never throws for HTTP-level problems.
 */
export async function runLikeCodeRunner(jobeHost, input) {
  const started = performance.now();
  const language = input.language_id.toLowerCase();
  let stdin = input.input ?? '';
  if (stdin !== '' && !stdin.endsWith('\n')) stdin += '\n';
  const files = input.files ?? [];
  const ids = files.map((file) => file.id ?? md5(file.contents));
  const jobId = input.jobId ?? newJobId();
  const apiKey = input.apiKey === undefined ? CODERUNNER_DEFAULT_API_KEY : input.apiKey;
  const runSpec = {
    language_id: language,
    sourcecode: input.sourcecode,
    sourcefilename: input.sourcefilename ?? `__tester__.${language}`,
    input: stdin,
    file_list: files.map((file, i) => [ids[i], file.name]),
    parameters: input.parameters ?? {},
    jobeserver: jobeHost,
  };
  const requestBody = phpJsonEncode({ run_spec: runSpec });
  const jar = new CookieJar();
  let posts = 0;
  let puts = 0;
  const send = async (method, resource, body) => {
    const headers = coderunnerHeaders(apiKey, jobId);
    const cookie = jar.header();
    if (cookie !== undefined) headers['Cookie'] = cookie;
    const url = coderunnerUrl(jobeHost, resource, jobId);
    const sentAt = performance.now();
    const response = await sendOnNewConnection({ url, method, headers, body, timeoutMs: input.timeoutMs });
    input.trace?.push({ method, resource, status: response.status, sentAt, answeredAt: performance.now() });
    jar.store(response.headers['set-cookie']);
    return response;
  };

  posts++;
  let response = await send('POST', 'runs', requestBody);
  if (response.status === 404) {
    for (let i = 0; i < files.length; i++) {
      puts++;
      const fileBody = phpJsonEncode({ file_contents: Buffer.from(files[i].contents).toString('base64') });
      response = await send('PUT', `files/${ids[i]}`, fileBody);
      if (response.status !== 204) break;
    }
    if (response.status === 204) {
      posts++;
      response = await send('POST', 'runs', requestBody);
    }
  }

  const httpStatus = response.status;
  const body = response.body.toString('utf8');
  let decoded;
  try {
    decoded = body === '' ? undefined : JSON.parse(body);
  } catch {
    decoded = undefined;
  }
  const okStatus = httpStatus === 200 || httpStatus === 203;
  const result =
    okStatus &&
    typeof decoded === 'object' &&
    decoded !== null &&
    !Array.isArray(decoded) &&
    decoded.outcome != null
      ? decoded
      : null;
  let error;
  if (result === null) error = okStatus ? 'UNKNOWN_SERVER_ERROR' : errorForStatus(httpStatus);
  else error = Number(result.outcome) === 21 ? 'SERVER_OVERLOAD' : null;
  return {
    httpStatus,
    body,
    result,
    error,
    transportError: response.error?.message,
    jobId,
    posts,
    puts,
    latencyMs: performance.now() - started,
  };
}
