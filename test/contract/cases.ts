/** A request whose answer through the gateway must equal a lone Jobe's answer, byte for byte. */
export interface ProtocolCase {
  name: string;
  /**
   * A body a host parser mounted before the balancer handles itself: `malformed` bodies koa-bodyparser
   * rejects with its own 400, and bytes that are not UTF-8 reach the balancer already decoded.
   */
  hostParserSees?: 'malformed' | 'not-utf8';
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A request that must get a known answer and leave the gateway serving. */
export interface BadInputCase {
  name: string;
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  expectedStatus: number;
  /** The exact body, or a pattern where the host's parser may phrase its own limit. */
  expectedBody?: string | RegExp;
  /** koa-bodyparser mounted before the balancer answers this itself (its own size limit). */
  koaBodyParserAnswers?: boolean;
}

const RUNS = '/jobe/index.php/restapi/runs';
const run = (runSpec: unknown) => JSON.stringify({ run_spec: runSpec });
const py = (sourcecode: string, extra: Record<string, unknown> = {}) =>
  run({ language_id: 'python3', sourcecode, ...extra });

export const PROTOCOL_CASES: ProtocolCase[] = [
  { name: 'a plain run', method: 'POST', path: RUNS, body: py('#sim print hello') },
  { name: 'trailing slash', method: 'POST', path: `${RUNS}/`, body: py('#sim print hello') },
  { name: 'stdin', method: 'POST', path: RUNS, body: py('#sim echo', { input: 'abc' }) },
  {
    name: "unknown fields (CodeRunner's jobeserver) and parameters",
    method: 'POST',
    path: RUNS,
    body: py('#sim print x', {
      jobeserver: 'a;b',
      parameters: { cputime: 3, memorylimit: 200, jobeapikey: 'k' },
      extra: [1],
    }),
  },
  {
    name: 'language id in capitals',
    method: 'POST',
    path: RUNS,
    body: run({ language_id: 'PYTHON3', sourcecode: '#sim print up' }),
  },
  { name: 'compile error', method: 'POST', path: RUNS, body: py('#sim cmpinfo SyntaxError') },
  { name: 'runtime error', method: 'POST', path: RUNS, body: py('#sim stderr Traceback') },
  { name: 'malformed JSON', method: 'POST', path: RUNS, body: '{"run_spec": {', hostParserSees: 'malformed' },
  {
    name: 'a JSON string instead of an object',
    method: 'POST',
    path: RUNS,
    body: '"hello"',
    hostParserSees: 'malformed',
  },
  { name: 'an object without run_spec', method: 'POST', path: RUNS, body: '{}' },
  { name: 'run_spec not an object', method: 'POST', path: RUNS, body: '{"run_spec": 1}' },
  { name: 'missing sourcecode', method: 'POST', path: RUNS, body: run({ language_id: 'python3' }) },
  { name: 'missing language_id', method: 'POST', path: RUNS, body: run({ sourcecode: 'x' }) },
  {
    name: 'unknown language',
    method: 'POST',
    path: RUNS,
    body: run({ language_id: 'Brainfuck', sourcecode: 'x' }),
  },
  {
    name: 'cputime above the limit',
    method: 'POST',
    path: RUNS,
    body: py('x', { parameters: { cputime: 500 } }),
  },
  {
    name: 'illegal sourcefilename',
    method: 'POST',
    path: RUNS,
    body: py('x', { sourcefilename: '../x.py' }),
  },
  {
    name: 'file id too short',
    method: 'POST',
    path: RUNS,
    body: py('x', { file_list: [['short', 'a.txt']] }),
  },
  {
    name: 'file spec with one element',
    method: 'POST',
    path: RUNS,
    body: py('x', { file_list: [['abcdefgh12']] }),
  },
  {
    name: 'file name with a slash',
    method: 'POST',
    path: RUNS,
    body: py('x', { file_list: [['abcdefgh12', 'a/b']] }),
  },
  { name: 'file_list not a list', method: 'POST', path: RUNS, body: py('x', { file_list: 'abc' }) },
  {
    name: 'missing support file',
    method: 'POST',
    path: RUNS,
    body: py('x', { file_list: [['nosuchfileid', 'f']] }),
  },
  {
    name: "Jobe's overload test",
    method: 'POST',
    path: RUNS,
    body: py('!** TESTING OVERLOAD EXCEPTION **!'),
  },
  {
    name: 'deeply nested JSON',
    method: 'POST',
    path: RUNS,
    body: `{"run_spec":${'['.repeat(600)}${']'.repeat(600)}}`,
  },
  {
    name: 'bytes that are not UTF-8',
    method: 'POST',
    path: RUNS,
    body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]),
    hostParserSees: 'not-utf8',
  },
  {
    name: 'PUT without file_contents',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/abcdef123',
    body: '{}',
  },
  { name: 'PUT of a JSON list', method: 'PUT', path: '/jobe/index.php/restapi/files/abcdef123', body: '[]' },
  {
    name: 'PUT with invalid base64',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/abcdef123',
    body: '{"file_contents": "not*base64"}',
  },
  {
    name: 'PUT of malformed JSON',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/abcdef123',
    body: '{"file_',
    hostParserSees: 'malformed',
  },
  {
    name: 'PUT of a file',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/contractfile01',
    body: '{"file_contents": "aGVsbG8="}',
  },
  { name: 'HEAD of a file never PUT', method: 'HEAD', path: '/jobe/index.php/restapi/files/neverputfile99' },
  { name: 'HEAD of the file id "0" (PHP: no id)', method: 'HEAD', path: '/jobe/index.php/restapi/files/0' },
  {
    name: 'PUT of a file id longer than a file name may be',
    method: 'PUT',
    path: `/jobe/index.php/restapi/files/${'L'.repeat(256)}`,
    body: '{"file_contents": "aGVsbG8="}',
  },
  { name: 'GET languages with a trailing slash', method: 'GET', path: '/jobe/index.php/restapi/languages/' },
  { name: 'GET runs (no such route)', method: 'GET', path: RUNS },
  { name: 'DELETE runs', method: 'DELETE', path: RUNS },
  { name: 'GET of a file', method: 'GET', path: '/jobe/index.php/restapi/files/abcdef123' },
  { name: 'POST files (V1 only)', method: 'POST', path: '/jobe/index.php/restapi/files', body: '{}' },
  { name: 'GET runresults (never implemented)', method: 'GET', path: '/jobe/index.php/restapi/runresults/1' },
  { name: 'unknown resource', method: 'GET', path: '/jobe/index.php/restapi/nothing' },
  { name: 'file id with a dot', method: 'PUT', path: '/jobe/index.php/restapi/files/abc.def', body: '{}' },
  {
    name: 'OPTIONS preflight',
    method: 'OPTIONS',
    path: RUNS,
    headers: { 'Access-Control-Request-Method': 'POST' },
  },
];

const NINE_MIB = 9 * 1024 * 1024;

export const BAD_INPUTS: BadInputCase[] = [
  {
    name: 'a file id climbing out of the cache (encoded slashes)',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/..%2F..%2Fetc%2Fpasswd',
    body: '{"file_contents": "aGVsbG8="}',
    expectedStatus: 404,
    expectedBody: '""',
  },
  {
    name: 'a file id with a NUL byte',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/abc%00def',
    body: '{"file_contents": "aGVsbG8="}',
    expectedStatus: 404,
    expectedBody: '""',
  },
  {
    name: 'invalid base64',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/badbase64file',
    body: '{"file_contents": "####"}',
    expectedStatus: 400,
    expectedBody: '"put: contents of file badbase64file are not valid base-64"',
  },
  {
    name: 'a run body above 8 MiB',
    method: 'POST',
    path: RUNS,
    body: py('x'.repeat(NINE_MIB)),
    expectedStatus: 413,
    expectedBody:
      /^"Request body larger than the (Jobe gateway's limit of 8388608 bytes|host's body-parser limit)/,
    koaBodyParserAnswers: true,
  },
  {
    name: 'a support file above 8 MiB',
    method: 'PUT',
    path: '/jobe/index.php/restapi/files/hugefile0001',
    body: JSON.stringify({ file_contents: Buffer.alloc(NINE_MIB, 1).toString('base64') }),
    expectedStatus: 413,
    expectedBody:
      /^"Request body larger than the (Jobe gateway's limit of 8388608 bytes|host's body-parser limit)/,
    koaBodyParserAnswers: true,
  },
  {
    name: 'a run sent as text/plain (Jobe ignores the content type)',
    method: 'POST',
    path: RUNS,
    headers: { 'Content-Type': 'text/plain' },
    body: py('#sim print plain'),
    expectedStatus: 200,
    expectedBody: '{"run_id":null,"outcome":15,"cmpinfo":"","stdout":"plain\\n","stderr":""}',
  },
  {
    name: 'a run with no content type',
    method: 'POST',
    path: RUNS,
    headers: {},
    body: py('#sim print none'),
    expectedStatus: 200,
    expectedBody: '{"run_id":null,"outcome":15,"cmpinfo":"","stdout":"none\\n","stderr":""}',
  },
  {
    name: 'headers far larger than any client sends',
    method: 'GET',
    path: '/jobe/index.php/restapi/languages',
    headers: { Cookie: `x=${'y'.repeat(40 * 1024)}` },
    expectedStatus: 431,
  },
  {
    name: 'a job id header full of junk',
    method: 'POST',
    path: RUNS,
    headers: { 'Content-Type': 'application/json', 'X-CodeRunner-Job-Id': '../../<script>'.repeat(20) },
    body: py('#sim print junk'),
    expectedStatus: 200,
  },
  {
    name: 'an affinity cookie that names nothing',
    method: 'POST',
    path: RUNS,
    headers: { 'Content-Type': 'application/json', Cookie: 'JOBEBALANCER=forged; other=1' },
    body: py('#sim print forged'),
    expectedStatus: 200,
  },
];
