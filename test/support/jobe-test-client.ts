/**
 * Requests as Jobe's own test script testsubmit.py (trampgeek/jobe, 2025 version) makes them: Python http.client,
 * a new connection per request, `X-API-KEY` always, no job id, no cookies, bodies from `json.dumps`, file ids
 * that are not MD5, PUT then HEAD for files, and POSTs to `runs/` with the trailing slash.
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { parseJsonOrUndefined, pythonJsonDumps, sendOnNewConnection } from './http.js';

/** testsubmit.py's API_KEY, sent on every request. */
export const TESTSUBMIT_API_KEY = '2AAA7A5415B4A9B394B54BF1D2E9D';

export interface JobeResponse {
  /** -1 for a transport failure. */
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
  /** The decoded body, or undefined if it is empty or not JSON. */
  json: unknown;
}

/** `<base>/jobe/index.php/restapi/<resource>`; base is a jobe_host-style string (scheme, host, optional prefix). */
export function restapiUrl(base: string, resource: string): string {
  return `${base.replace(/\/+$/, '')}/jobe/index.php/restapi/${resource}`;
}

/** testsubmit's do_http() headers; http_request() adds the key. */
const DO_HTTP_HEADERS = { 'Content-type': 'application/json; charset=utf-8', Accept: 'application/json' };

/**
 * One request like testsubmit's http_request(): a fresh http.client connection with `Accept-Encoding: identity`
 * (http.client's own), do_http()'s Content-type and Accept, and `X-API-KEY`. `headers` are merged over these
 * (names compared case-insensitively; the value '' removes a header). An object body is sent as Python's
 * `json.dumps` writes it, a string body as is.
 */
export async function jobeRequest(
  base: string,
  method: string,
  resource: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JobeResponse> {
  const outgoing: OutgoingHttpHeaders = { 'Accept-Encoding': 'identity', ...DO_HTTP_HEADERS };
  for (const [name, value] of Object.entries(headers)) {
    for (const existing of Object.keys(outgoing)) {
      if (existing.toLowerCase() === name.toLowerCase()) delete outgoing[existing];
    }
    if (value !== '') outgoing[name] = value;
  }
  outgoing['X-API-KEY'] = TESTSUBMIT_API_KEY;
  const text = body === undefined ? undefined : typeof body === 'string' ? body : pythonJsonDumps(body);
  // http.client sends Content-Length for any str body, even '' on a HEAD, and none when there is no body.
  if (text !== undefined) outgoing['Content-Length'] = String(Buffer.byteLength(text));
  const response = await sendOnNewConnection({
    url: restapiUrl(base, resource),
    method,
    headers: outgoing,
    ...(text !== undefined ? { body: text } : {}),
  });
  const bodyText = response.body.toString('utf8');
  return {
    status: response.status,
    headers: response.headers,
    body: bodyText,
    json: response.status === 204 ? undefined : parseJsonOrUndefined(bodyText),
  };
}

export interface TestsubmitFilePut {
  putStatus: number;
  putBody: string;
  headStatus: number;
  /** What testsubmit requires: the HEAD after the PUT says 204. */
  ok: boolean;
}

/** testsubmit's put_file() then check_file(): PUT `{"file_contents": b64}`, then HEAD, both with Accept text/plain. */
export async function putFileLikeTestsubmit(
  base: string,
  fileId: string,
  contents: string | Buffer,
): Promise<TestsubmitFilePut> {
  const put = await jobeRequest(
    base,
    'PUT',
    `files/${fileId}`,
    { file_contents: Buffer.from(contents).toString('base64') },
    { 'Content-type': 'application/json', Accept: 'text/plain' },
  );
  const head = await jobeRequest(base, 'HEAD', `files/${fileId}`, '', {
    'Content-type': '',
    Accept: 'text/plain',
  });
  return { putStatus: put.status, putBody: put.body, headStatus: head.status, ok: head.status === 204 };
}

export interface TestsubmitRun extends JobeResponse {
  /**
   * testsubmit's do_http() result: {} for 204 or an empty body, the decoded JSON otherwise, and a decoded string
   * turned into `"<status>: <string>"`. Undefined where testsubmit gets an exception (body not JSON).
   */
  result: unknown;
}

/** POST `{"run_spec": runSpec}` to `runs/` (trailing slash) like testsubmit's run_test()/check_bad_cputime(). */
export async function runLikeTestsubmit(base: string, runSpec: unknown): Promise<TestsubmitRun> {
  const response = await jobeRequest(base, 'POST', 'runs/', { run_spec: runSpec });
  let result: unknown = {};
  if (response.status !== 204 && response.body !== '') result = response.json;
  if (typeof result === 'string') result = `${response.status}: ${result}`;
  return { ...response, result };
}

/** testsubmit's `expect` dict: result keys to compare, or `response` + `stdout` for a string (error) result. */
export type TestsubmitExpect = Record<string, unknown>;

/** testsubmit's is_correct_result(). */
export function isCorrectResultLikeTestsubmit(expect: TestsubmitExpect, result: unknown): boolean {
  if (typeof result === 'string') {
    if (!('response' in expect)) return false;
    return (
      result.startsWith(`${String(expect['response'])}:`) &&
      result.slice(4).trim() === String(expect['stdout'] ?? '').trim()
    );
  }
  if (typeof result !== 'object' || result === null) return false;
  const got = result as Record<string, unknown>;
  return Object.entries(expect).every(([key, value]) => key in got && got[key] === value);
}

export interface TestsubmitCheck {
  name: string;
  runSpec: Record<string, unknown>;
  expectedStatus: number;
  /** Jobe's raw body; with `bodyMatch: 'prefix'` only its start is fixed. */
  expectedBody: string;
  bodyMatch: 'exact' | 'prefix';
  /**
   * How testsubmit itself judges the result: an `expect` dict for is_correct_result(), or, for the cputime check,
   * `{ startsWith }` applied to the `"<status>: <message>"` result (see {@link checkPassesLikeTestsubmit}).
   */
  expect: TestsubmitExpect;
}

const OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';

/**
 * testsubmit's ERROR_CHECKS (always run, python3), plus check_bad_cputime() (run when C is tested). Run specs keep
 * testsubmit's key order.
 */
export const TESTSUBMIT_ERROR_CHECKS: TestsubmitCheck[] = [
  {
    name: 'Check 404 response when run requires a file that was not PUT.',
    runSpec: {
      language_id: 'python3',
      sourcecode: "print(open('file1').read())\n",
      file_list: [['nosuchfileid', 'file1']],
      sourcefilename: 'test.py',
    },
    expectedStatus: 404,
    expectedBody: '"One or more of the specified files is missing/unavailable"',
    bodyMatch: 'exact',
    expect: { response: 404, stdout: 'One or more of the specified files is missing/unavailable' },
  },
  {
    name: 'Check 400 response: non-existent language',
    runSpec: {
      language_id: 'nosuchlanguage',
      sourcecode: 'print("Hello world!")\n',
      sourcefilename: 'test.py',
    },
    expectedStatus: 400,
    expectedBody: `"Language 'nosuchlanguage' is not known"`,
    bodyMatch: 'exact',
    expect: { response: 400, stdout: "Language 'nosuchlanguage' is not known" },
  },
  {
    name: 'Check 400 response: missing language_id',
    runSpec: { sourcecode: 'print("Hello world!")\n', sourcefilename: 'test.py' },
    expectedStatus: 400,
    expectedBody: `"run_spec is missing the required attribute 'language_id'"`,
    bodyMatch: 'exact',
    expect: { response: 400, stdout: "run_spec is missing the required attribute 'language_id'" },
  },
  {
    name: 'Check 400 response: missing sourcecode',
    runSpec: { language_id: 'python3', sourcefilename: 'test.py' },
    expectedStatus: 400,
    expectedBody: `"run_spec is missing the required attribute 'sourcecode'"`,
    bodyMatch: 'exact',
    expect: { response: 400, stdout: "run_spec is missing the required attribute 'sourcecode'" },
  },
  {
    name: 'Testing overload exception',
    runSpec: {
      language_id: 'python3',
      sourcecode: '!** TESTING OVERLOAD EXCEPTION **!',
      sourcefilename: 'test.py',
    },
    expectedStatus: 200,
    expectedBody: OVERLOAD_BODY,
    bodyMatch: 'exact',
    expect: { outcome: 21, stdout: '' },
  },
  {
    name: 'C program run with illegal cputime',
    runSpec: {
      language_id: 'c',
      sourcecode: '#include <stdio.h>\nint main() {\n    printf("Hello world\\nIsn\'t this fun!\\n");\n}\n',
      sourcefilename: 'test.c',
      parameters: { cputime: 151 },
    },
    expectedStatus: 400,
    // Jobe's default message ends " (120 secs)"; testsubmit only checks the start.
    expectedBody: '"cputime exceeds maximum allowed on this Jobe server',
    bodyMatch: 'prefix',
    expect: { startsWith: '400: cputime exceeds maximum allowed on this Jobe server' },
  },
];

/** Whether testsubmit would count `run` as passing `check` (is_correct_result, or check_bad_cputime's prefix test). */
export function checkPassesLikeTestsubmit(check: TestsubmitCheck, run: TestsubmitRun): boolean {
  const expect = check.expect;
  if (typeof expect['startsWith'] === 'string' && Object.keys(expect).length === 1) {
    return typeof run.result === 'string' && run.result.startsWith(expect['startsWith']);
  }
  return isCorrectResultLikeTestsubmit(expect, run.result);
}

/** testsubmit's "Python3 program with support files" test: its ids, contents and file_list. */
export const TESTSUBMIT_SUPPORT_FILES_TEST = {
  name: 'Python3 program with support files',
  files: [
    { id: 'randomid0129798', contents: 'The first file\nLine 2' },
    { id: 'randomid0980128', contents: 'Second file' },
  ],
  runSpec: {
    language_id: 'python3',
    sourcecode: "print(open('file1').read())\nprint(open('file2').read())\n",
    file_list: [
      ['randomid0129798', 'file1'],
      ['randomid0980128', 'file2'],
    ],
    sourcefilename: 'test.py',
  },
  expect: { outcome: 15, stdout: 'The first file\nLine 2\nSecond file\n' },
} as const;
