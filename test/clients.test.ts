/**
 * Self-test of the test clients against a small recording Jobe stand-in (real HTTP on 127.0.0.1): what they put
 * on the wire, request by request and connection by connection, and how they read the answers.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as zlib from 'node:zlib';
import { DEFAULT_LANGUAGES, type JobeSim, OVERLOAD_BODY, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CODERUNNER_DEFAULT_API_KEY,
  getLanguages,
  javaPublicClass,
  md5,
  runLikeCodeRunner,
} from './support/coderunner-client.js';
import { phpJsonEncode, pythonJsonDumps } from './support/http.js';
import {
  checkPassesLikeTestsubmit,
  isCorrectResultLikeTestsubmit,
  jobeRequest,
  putFileLikeTestsubmit,
  runLikeTestsubmit,
  TESTSUBMIT_API_KEY,
  TESTSUBMIT_ERROR_CHECKS,
  TESTSUBMIT_SUPPORT_FILES_TEST,
  type TestsubmitRun,
} from './support/jobe-test-client.js';

interface Recorded {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  connection: number;
}

interface FakeJobeOptions {
  prefix?: string;
  /** Every response sets `lb=<response number>`; the first one also `aff=x` with attributes. */
  setCookies?: boolean;
  gzip?: boolean;
  /** PUTs of these ids fail with Jobe's 500. */
  failPuts?: string[];
}

interface FakeJobe {
  origin: string;
  jobeHost: string;
  requests: Recorded[];
  files: Map<string, Buffer>;
  connections(): number;
  close(): Promise<void>;
}

const MISSING_FILES = 'One or more of the specified files is missing/unavailable';

/**
 * A Jobe stand-in: GET languages, PUT/HEAD files, POST runs with `#sim cat|print|echo` lines, and
 * `#reply <status> <raw body>` as the first line to script an answer.
 */
async function startFakeJobe(options: FakeJobeOptions = {}): Promise<FakeJobe> {
  const requests: Recorded[] = [];
  const files = new Map<string, Buffer>();
  const connectionIds = new WeakMap<object, number>();
  let connections = 0;
  let responses = 0;
  const base = `${options.prefix ?? ''}/jobe/index.php/restapi/`;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const path = req.url ?? '';
      requests.push({
        method: req.method ?? '',
        path,
        headers: req.headers,
        body,
        connection: connectionIds.get(req.socket) ?? -1,
      });
      const reply = (status: number, payload?: string): void => {
        responses++;
        const headers: http.OutgoingHttpHeaders = { 'Content-Type': 'application/json; charset=UTF-8' };
        if (options.setCookies) {
          headers['Set-Cookie'] = [`lb=${responses}; Path=/`];
          if (responses === 1) headers['Set-Cookie'].push('aff=x; Path=/jobe; HttpOnly; Max-Age=60');
        }
        let data = Buffer.from(payload ?? '');
        if (options.gzip && payload !== undefined && /gzip/.test(String(req.headers['accept-encoding']))) {
          data = zlib.gzipSync(data);
          headers['Content-Encoding'] = 'gzip';
        }
        res.writeHead(status, headers).end(req.method === 'HEAD' ? undefined : data);
      };

      const answer = () => {
        if (!path.startsWith(base)) return reply(404, '""');
        const resource = path.slice(base.length).replace(/\/+$/, '');
        const fileId = /^files\/([a-zA-Z0-9]+)$/.exec(resource)?.[1];
        if (req.method === 'GET' && resource === 'languages') {
          return reply(200, '[["c","11.4.0"],["python3","3.10.12"]]');
        }
        if (req.method === 'PUT' && fileId !== undefined) {
          if (options.failPuts?.includes(fileId))
            return reply(500, `"put: failed to write file ${fileId} to cache"`);
          const contents = (JSON.parse(body) as { file_contents: string }).file_contents;
          files.set(fileId, Buffer.from(contents, 'base64'));
          return reply(204);
        }
        if (req.method === 'HEAD' && fileId !== undefined) return reply(files.has(fileId) ? 204 : 404);
        if (req.method === 'POST' && resource === 'runs') {
          const spec = (JSON.parse(body) as { run_spec: Record<string, unknown> }).run_spec;
          const fileList = (spec['file_list'] ?? []) as [string, string][];
          if (fileList.some(([id]) => !files.has(id))) return reply(404, JSON.stringify(MISSING_FILES));
          const source = String(spec['sourcecode']);
          const scripted = /^#reply (\d+) ?(.*)/s.exec(source);
          if (scripted) return reply(Number(scripted[1]), scripted[2] === '' ? undefined : scripted[2]);
          let stdout = '';
          for (const line of source.split('\n')) {
            const cat = /^#sim cat (.*)$/.exec(line);
            if (cat) {
              const id = fileList.find(([, name]) => name === cat[1])?.[0];
              stdout += id === undefined ? '' : files.get(id)!.toString('utf8');
            } else if (line.startsWith('#sim print')) stdout += `${line.slice('#sim print '.length)}\n`;
            else if (line === '#sim echo') stdout += String(spec['input'] ?? '');
          }
          return reply(200, JSON.stringify({ run_id: null, outcome: 15, cmpinfo: '', stdout, stderr: '' }));
        }
        return reply(404, '""');
      };
      try {
        answer();
      } catch {
        reply(500, '"Server exception (fake)"');
      }
    });
  });
  server.on('connection', (socket) => {
    connections++;
    connectionIds.set(socket, connections);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    jobeHost: `${origin}${options.prefix ?? ''}`,
    requests,
    files,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const started: FakeJobe[] = [];
async function fakeJobe(options?: FakeJobeOptions): Promise<FakeJobe> {
  const jobe = await startFakeJobe(options);
  started.push(jobe);
  return jobe;
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((jobe) => jobe.close()));
});

/** The sourcecode directive `#sim cat <name>` for each file, as the simulator understands it. */
const catAll = (names: string[]): string => names.map((name) => `#sim cat ${name}`).join('\n');

describe('runLikeCodeRunner', () => {
  const files = [
    { name: 'data.txt', contents: 'alpha/β\n' },
    { name: 'more.bin', contents: Buffer.from([0x00, 0xff, 0x41, 0x0a]) },
  ];

  it('does POST→404→PUT×n→POST on an empty cache, then a single POST when the files are there', async () => {
    const jobe = await fakeJobe();
    const first = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'Python3',
      sourcecode: catAll(['data.txt']),
      files,
    });
    expect(first.exchanges.map((x) => `${x.method} ${x.status}`)).toEqual([
      'POST 404',
      'PUT 204',
      'PUT 204',
      'POST 200',
    ]);
    expect([first.posts, first.puts, first.httpStatus, first.error]).toEqual([2, 2, 200, null]);
    expect(first.result?.stdout).toBe('alpha/β\n');
    expect(first.graded).toEqual({ outcome: 15, output: 'alpha/β\n', stderr: '', cmpinfo: '' });
    expect(jobe.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /jobe/index.php/restapi/runs',
      `PUT /jobe/index.php/restapi/files/${md5(files[0]!.contents)}`,
      `PUT /jobe/index.php/restapi/files/${md5(files[1]!.contents)}`,
      'POST /jobe/index.php/restapi/runs',
    ]);
    expect(jobe.requests[1]!.body).toBe(`{"file_contents":"${Buffer.from('alpha/β\n').toString('base64')}"}`);
    expect(jobe.files.get(md5(files[1]!.contents))).toEqual(files[1]!.contents);
    expect(jobe.requests[3]!.body).toBe(jobe.requests[0]!.body);

    const second = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode: catAll(['more.bin', 'data.txt']),
      files,
    });
    expect(second.exchanges.map((x) => `${x.method} ${x.status}`)).toEqual(['POST 200']);
    expect([second.posts, second.puts]).toEqual([1, 0]);
    expect(second.result?.stdout).toBe(`${files[1]!.contents.toString('utf8')}alpha/β\n`);
  });

  it('sends one job id per run on every request, with CodeRunner headers, each on a new TCP connection', async () => {
    const jobe = await fakeJobe();
    const first = await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode: '', files });
    const second = await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode: '', files });
    await getLanguages(jobe.jobeHost);
    expect(first.jobId).toMatch(/^[0-7][0-9a-f]{7}$/);
    expect(second.jobId).toMatch(/^[0-7][0-9a-f]{7}$/);
    expect(second.jobId).not.toBe(first.jobId);
    const ids = jobe.requests.map((r) => r.headers['x-coderunner-job-id']);
    expect(ids).toEqual([first.jobId, first.jobId, first.jobId, first.jobId, second.jobId, undefined]);

    for (const request of jobe.requests) {
      expect(request.headers['user-agent']).toBe('CodeRunner');
      expect(request.headers['content-type']).toBe('application/json; charset=utf-8');
      expect(request.headers['accept-charset']).toBe('utf-8');
      expect(request.headers['accept']).toBe('application/json');
      expect(request.headers['x-api-key']).toBe(CODERUNNER_DEFAULT_API_KEY);
    }
    const connections = jobe.requests.map((r) => r.connection);
    expect(new Set(connections).size).toBe(jobe.requests.length);
    expect(jobe.connections()).toBe(jobe.requests.length);
  });

  it('keeps a cookie jar for one run only and sends no cookies for languages', async () => {
    const jobe = await fakeJobe({ setCookies: true });
    const first = await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode: '', files });
    const second = await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode: '', files });
    await getLanguages(jobe.jobeHost);
    expect(jobe.requests.map((r) => r.headers.cookie)).toEqual([
      undefined,
      'lb=1; aff=x',
      'lb=2; aff=x',
      'lb=3; aff=x',
      undefined,
      undefined,
    ]);
    expect(first.exchanges.map((x) => x.cookie)).toEqual([
      undefined,
      'lb=1; aff=x',
      'lb=2; aff=x',
      'lb=3; aff=x',
    ]);
    expect(second.exchanges[0]!.cookie).toBeUndefined();
  });

  it('encodes the run like PHP json_encode, with CodeRunner key order and defaults', async () => {
    const jobe = await fakeJobe();
    const run = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode: 'print("a/b é 😀")\n#sim echo',
      input: 'x "y"',
      parameters: {},
    });
    const expected =
      '{"run_spec":{"language_id":"python3","sourcecode":"print(\\"a\\/b \\u00e9 \\ud83d\\ude00\\")\\n#sim echo",' +
      `"sourcefilename":"__tester__.python3","input":"x \\"y\\"\\n","file_list":[],"parameters":[],` +
      `"jobeserver":"http:\\/\\/127.0.0.1:${new URL(jobe.origin).port}"}}`;
    expect(jobe.requests[0]!.body).toBe(expected);
    expect(run.requestBody).toBe(expected);
    expect(run.result?.stdout).toBe('x "y"\n');
  });

  it('applies sandbox parameters the way CodeRunner does', async () => {
    const jobe = await fakeJobe();
    await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode: '',
      parameters: { cputime: 3, debug: true, sourcefilename: 'main.py', jobeapikey: 'other' },
      jobeserver: null,
      apiKey: '',
    });
    await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode: '', apiKey: null });
    expect(jobe.requests[0]!.body).toBe(
      '{"run_spec":{"language_id":"python3","sourcecode":"","sourcefilename":"main.py","input":"","file_list":[],' +
        '"parameters":{"cputime":3,"debug":true,"sourcefilename":"main.py","jobeapikey":"other"},"debug":1}}',
    );
    expect(jobe.requests[0]!.headers['x-api-key']).toBe('other');
    expect(jobe.requests[1]!.headers['x-api-key']).toBeUndefined();
    expect(JSON.parse(jobe.requests[1]!.body).run_spec.jobeserver).toBe(jobe.jobeHost);
  });

  it('names Java sources after the public class, and sends nothing when a file clashes with the source name', async () => {
    expect(
      javaPublicClass('// public class Fake {}\n/* public class Nope */ public final class Thing {\n}'),
    ).toBe('Thing');
    expect(javaPublicClass('class A { public class Inner {} }')).toBeNull();
    expect(javaPublicClass('String s = "public class X {"; public class Y {}')).toBe('Y');
    const jobe = await fakeJobe();
    await runLikeCodeRunner(jobe.jobeHost, { language_id: 'java', sourcecode: 'public class Thing { }' });
    await runLikeCodeRunner(jobe.jobeHost, { language_id: 'java', sourcecode: 'class Hidden { }' });
    expect(jobe.requests.map((r) => JSON.parse(r.body).run_spec.sourcefilename)).toEqual([
      'Thing.java',
      'NO_PUBLIC_CLASS_FOUND.java',
    ]);
    const clash = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'c',
      sourcecode: '',
      files: [{ name: '__tester__.c', contents: 'x' }],
    });
    expect([clash.error, clash.posts, jobe.requests.length]).toEqual(['JOBE_400_ERROR', 0, 2]);
  });

  it('reaches a jobe_host with a path prefix, without a scheme, or as a ; list (one server per run)', async () => {
    const prefixed = await fakeJobe({ prefix: '/some/prefix' });
    const viaPrefix = await runLikeCodeRunner(prefixed.jobeHost, {
      language_id: 'c',
      sourcecode: '#sim print hi',
    });
    expect([viaPrefix.httpStatus, viaPrefix.result?.stdout]).toEqual([200, 'hi\n']);
    expect(prefixed.requests[0]!.path).toBe('/some/prefix/jobe/index.php/restapi/runs');

    const bare = await runLikeCodeRunner(prefixed.jobeHost.replace('http://', ''), {
      language_id: 'c',
      sourcecode: '',
    });
    expect(bare.httpStatus).toBe(200);

    const servers = [await fakeJobe(), await fakeJobe()];
    for (let i = 0; i < 4; i++) {
      const run = await runLikeCodeRunner(` ${servers[0]!.jobeHost} ;${servers[1]!.jobeHost};`, {
        language_id: 'python3',
        sourcecode: catAll([`f${i}`]),
        files: [{ name: `f${i}`, contents: `file ${i}` }],
      });
      expect([run.error, run.result?.stdout]).toEqual([null, `file ${i}`]);
      const chosen = servers[Number.parseInt(run.jobId, 16) % 2]!;
      expect(chosen.requests.filter((r) => r.headers['x-coderunner-job-id'] === run.jobId)).toHaveLength(3);
    }
    expect(servers[0]!.requests.length + servers[1]!.requests.length).toBe(12);
  });

  it('maps final statuses to CodeRunner sandbox errors', async () => {
    const jobe = await fakeJobe();
    const replies: Array<[string, number, string | null, boolean]> = [
      [
        '#reply 200 {"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}',
        200,
        'SERVER_OVERLOAD',
        true,
      ],
      ['#reply 203 {"run_id":null,"outcome":15,"cmpinfo":"","stdout":"ok","stderr":""}', 203, null, true],
      ['#reply 200 "Just a string"', 200, 'UNKNOWN_SERVER_ERROR', false],
      ['#reply 200 {"outcome":null}', 200, 'UNKNOWN_SERVER_ERROR', false],
      ['#reply 200 not json', 200, 'UNKNOWN_SERVER_ERROR', false],
      ['#reply 204', 204, null, false],
      ['#reply 202 {"outcome":15}', 202, null, false],
      [`#reply 400 "Language 'x' is not known"`, 400, 'JOBE_400_ERROR', false],
      ['#reply 401 "limit"', 401, 'SUBMISSION_LIMIT_EXCEEDED', false],
      ['#reply 403 "Unknown API key"', 403, 'AUTH_ERROR', false],
      ['#reply 429 "Max RUN rate for this server exceeded"', 429, 'UNKNOWN_SERVER_ERROR', false],
      ['#reply 500 "Server exception (x)"', 500, 'UNKNOWN_SERVER_ERROR', false],
      ['#reply 404 ""', 404, 'UNKNOWN_SERVER_ERROR', false],
    ];
    for (const [sourcecode, status, error, hasResult] of replies) {
      const run = await runLikeCodeRunner(jobe.jobeHost, { language_id: 'python3', sourcecode });
      expect([sourcecode, run.httpStatus, run.error, run.result !== null]).toEqual([
        sourcecode,
        status,
        error,
        hasResult,
      ]);
      expect(run.posts).toBe(1);
    }
    const stderr = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode:
        '#reply 200 {"run_id":null,"outcome":15,"cmpinfo":"","stdout":"","stderr":"/home/jobe/runs/jobe_Ab1/prog.py: oops"}',
    });
    expect(stderr.graded).toEqual({ outcome: 12, output: '', stderr: 'prog.py: oops', cmpinfo: '' });
  });

  it('stops at the first failed PUT and reports transport failures as status -1', async () => {
    const jobe = await fakeJobe({ failPuts: [md5('second')] });
    const run = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode: '',
      files: [
        { name: 'a', contents: 'first' },
        { name: 'b', contents: 'second' },
        { name: 'c', contents: 'third' },
      ],
    });
    expect(run.exchanges.map((x) => `${x.method} ${x.status}`)).toEqual(['POST 404', 'PUT 204', 'PUT 500']);
    expect([run.httpStatus, run.error, run.body]).toEqual([
      500,
      'UNKNOWN_SERVER_ERROR',
      `"put: failed to write file ${md5('second')} to cache"`,
    ]);

    const closed = await fakeJobe();
    await closed.close();
    const refused = await runLikeCodeRunner(closed.jobeHost, { language_id: 'python3', sourcecode: '' });
    expect([refused.httpStatus, refused.error, refused.body, refused.posts]).toEqual([
      -1,
      'UNKNOWN_SERVER_ERROR',
      '',
      1,
    ]);
  });

  it('uses Expect: 100-continue above 1 MiB and decodes gzip answers, like libcurl', async () => {
    const jobe = await fakeJobe({ gzip: true });
    const big = Buffer.alloc(900 * 1024, 'a');
    const run = await runLikeCodeRunner(jobe.jobeHost, {
      language_id: 'python3',
      sourcecode: '#sim print zipped',
      files: [{ name: 'big', contents: big }],
    });
    expect([run.error, run.result?.stdout]).toEqual([null, 'zipped\n']);
    expect(run.exchanges[2]!.responseHeaders['content-encoding']).toBe('gzip');
    expect(jobe.requests.map((r) => r.headers.expect)).toEqual([undefined, '100-continue', undefined]);
    expect(jobe.files.get(md5(big))?.equals(big)).toBe(true);
  });

  it('gets languages like CodeRunner', async () => {
    const jobe = await fakeJobe({ prefix: '/p' });
    const languages = await getLanguages(jobe.jobeHost, { apiKey: null });
    expect(languages).toMatchObject({ status: 200, languages: ['c', 'python3'], error: null });
    expect(jobe.requests[0]).toMatchObject({ method: 'GET', path: '/p/jobe/index.php/restapi/languages' });
    expect(jobe.requests[0]!.headers['x-api-key']).toBeUndefined();
    expect(jobe.requests[0]!.headers['content-type']).toBe('application/json; charset=utf-8');
  });
});

describe('JSON encoders', () => {
  it('write what PHP json_encode and Python json.dumps write', () => {
    const value = { a: 'x/y', b: ['é😀', 1, true, null], c: {}, d: { k: '\u0001\u007f\t' } };
    expect(phpJsonEncode(value)).toBe(
      '{"a":"x\\/y","b":["\\u00e9\\ud83d\\ude00",1,true,null],"c":[],"d":{"k":"\\u0001\u007f\\t"}}',
    );
    expect(pythonJsonDumps(value)).toBe(
      '{"a": "x/y", "b": ["\\u00e9\\ud83d\\ude00", 1, true, null], "c": {}, "d": {"k": "\\u0001\\u007f\\t"}}',
    );
    expect(phpJsonEncode({ 0: 'a', 1: 'b' })).toBe('["a","b"]');
    expect(JSON.parse(phpJsonEncode(value).replace('"c":[]', '"c":{}'))).toEqual(value);
  });
});

describe('testsubmit-style client', () => {
  let jobe: FakeJobe;
  beforeAll(async () => {
    jobe = await startFakeJobe({ setCookies: true });
  });
  afterAll(async () => {
    await jobe.close();
  });

  it('PUTs then HEADs files under non-MD5 ids and runs with them, without job id or cookies', async () => {
    const test = TESTSUBMIT_SUPPORT_FILES_TEST;
    for (const file of test.files) {
      expect(await putFileLikeTestsubmit(jobe.jobeHost, file.id, file.contents)).toEqual({
        putStatus: 204,
        putBody: '',
        headStatus: 204,
        ok: true,
      });
    }
    const run = await runLikeTestsubmit(jobe.jobeHost, {
      ...test.runSpec,
      sourcecode: '#sim cat file1\n#sim print \n#sim cat file2\n#sim print ',
    });
    expect(run.status).toBe(200);
    expect(isCorrectResultLikeTestsubmit(test.expect, run.result)).toBe(true);

    const requests = jobe.requests.slice(-5);
    expect(requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'PUT /jobe/index.php/restapi/files/randomid0129798',
      'HEAD /jobe/index.php/restapi/files/randomid0129798',
      'PUT /jobe/index.php/restapi/files/randomid0980128',
      'HEAD /jobe/index.php/restapi/files/randomid0980128',
      'POST /jobe/index.php/restapi/runs/',
    ]);
    expect(requests[0]!.body).toBe(
      `{"file_contents": "${Buffer.from('The first file\nLine 2').toString('base64')}"}`,
    );
    expect(requests[0]!.headers).toMatchObject({
      'content-type': 'application/json',
      accept: 'text/plain',
      'x-api-key': TESTSUBMIT_API_KEY,
    });
    expect(requests[1]!.headers).toMatchObject({ accept: 'text/plain', 'content-length': '0' });
    expect(requests[1]!.headers['content-type']).toBeUndefined();
    expect(requests[4]!.headers).toMatchObject({
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'accept-encoding': 'identity',
    });
    expect(
      requests[4]!.body.startsWith('{"run_spec": {"language_id": "python3", "sourcecode": "#sim cat'),
    ).toBe(true);
    for (const request of requests) {
      expect(request.headers['x-coderunner-job-id']).toBeUndefined();
      expect(request.headers.cookie).toBeUndefined();
    }
    expect(new Set(requests.map((r) => r.connection)).size).toBe(5);
    expect((await putFileLikeTestsubmit(jobe.jobeHost, 'randomid0129798', 'again')).ok).toBe(true);
    expect((await jobeRequest(jobe.jobeHost, 'HEAD', 'files/neverputid', '')).status).toBe(404);
    const extra = await jobeRequest(jobe.jobeHost, 'GET', 'languages', undefined, {
      'content-type': 'text/plain',
      'X-Extra': '1',
    });
    expect(extra.status).toBe(200);
    expect(jobe.requests.at(-1)!.headers).toMatchObject({
      'content-type': 'text/plain',
      accept: 'application/json',
      'x-extra': '1',
      'x-api-key': TESTSUBMIT_API_KEY,
    });
  });

  it('turns string answers into "<status>: <message>" and judges them as testsubmit does', async () => {
    const run = await runLikeTestsubmit(jobe.jobeHost, TESTSUBMIT_ERROR_CHECKS[0]!.runSpec);
    expect([run.status, run.body, run.result]).toEqual([404, `"${MISSING_FILES}"`, `404: ${MISSING_FILES}`]);
    expect(checkPassesLikeTestsubmit(TESTSUBMIT_ERROR_CHECKS[0]!, run)).toBe(true);
    const languages = await jobeRequest(jobe.jobeHost, 'GET', 'languages');
    expect(languages.json).toEqual([
      ['c', '11.4.0'],
      ['python3', '3.10.12'],
    ]);
    expect(jobe.requests.at(-1)!.headers['content-length']).toBeUndefined();
  });

  it('has error checks whose raw bodies pass, and other answers fail, testsubmit’s own judgement', () => {
    const answer = (status: number, body: string): TestsubmitRun => {
      const json = JSON.parse(body) as unknown;
      return {
        status,
        headers: {},
        body,
        json,
        result: typeof json === 'string' ? `${status}: ${json}` : json,
      };
    };
    expect(TESTSUBMIT_ERROR_CHECKS.map((check) => check.expectedStatus)).toEqual([
      404, 400, 400, 400, 200, 400,
    ]);
    for (const check of TESTSUBMIT_ERROR_CHECKS) {
      const body = check.bodyMatch === 'prefix' ? `${check.expectedBody} (120 secs)"` : check.expectedBody;
      expect(checkPassesLikeTestsubmit(check, answer(check.expectedStatus, body))).toBe(true);
      expect(checkPassesLikeTestsubmit(check, answer(500, '"Server exception (x)"'))).toBe(false);
    }
    const overload = TESTSUBMIT_ERROR_CHECKS.find((check) => check.expectedStatus === 200)!;
    expect(checkPassesLikeTestsubmit(overload, answer(200, '{"outcome":21,"stdout":"x"}'))).toBe(false);
    expect(TESTSUBMIT_ERROR_CHECKS[0]!.runSpec['file_list']).toEqual([['nosuchfileid', 'file1']]);
  });
});

describe('both clients against jobe-sim', () => {
  let sim: JobeSim;
  beforeAll(async () => {
    sim = await startJobeSim({ name: 'sim-a', workers: 1, pollMs: 10, waitTimeout: 2 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it('runs the CodeRunner file cycle once, then straight from the cache', async () => {
    const files = [
      { name: 'one.txt', contents: 'first/é\n' },
      { name: 'two.txt', contents: 'second\n' },
    ];
    const sourcecode = `${catAll(['two.txt', 'one.txt'])}\n#sim server\n#sim echo`;
    const first = await runLikeCodeRunner(sim.url, {
      language_id: 'python3',
      sourcecode,
      input: 'in',
      files,
    });
    expect(first.exchanges.map((x) => `${x.method} ${x.status}`)).toEqual([
      'POST 404',
      'PUT 204',
      'PUT 204',
      'POST 200',
    ]);
    expect([first.error, first.result?.outcome, first.result?.stdout]).toEqual([
      null,
      15,
      'second\nfirst/é\nsim-a\nin\n',
    ]);
    expect(sim.hasFile(md5(files[0]!.contents)) && sim.hasFile(md5(files[1]!.contents))).toBe(true);
    const second = await runLikeCodeRunner(sim.url, {
      language_id: 'python3',
      sourcecode,
      input: 'in',
      files,
    });
    expect([second.posts, second.puts, second.result?.stdout]).toEqual([1, 0, first.result?.stdout]);
    expect((await getLanguages(sim.url)).languages).toEqual(DEFAULT_LANGUAGES.map(([id]) => id));
  });

  it('reports a real overload as SERVER_OVERLOAD', async () => {
    const busy = runLikeCodeRunner(sim.url, { language_id: 'c', sourcecode: '#sim sleep 400' });
    while (sim.stats().activeWorkers === 0) await new Promise((resolve) => setTimeout(resolve, 5));
    const overloaded = await runLikeCodeRunner(sim.url, { language_id: 'c', sourcecode: '#sim print late' });
    expect([overloaded.httpStatus, overloaded.error, overloaded.body]).toEqual([
      200,
      'SERVER_OVERLOAD',
      OVERLOAD_BODY,
    ]);
    expect((await busy).error).toBeNull();
  });

  it('passes testsubmit’s file test and every error check', async () => {
    const test = TESTSUBMIT_SUPPORT_FILES_TEST;
    for (const file of test.files)
      expect((await putFileLikeTestsubmit(sim.url, file.id, file.contents)).ok).toBe(true);
    const run = await runLikeTestsubmit(sim.url, {
      ...test.runSpec,
      sourcecode: '#sim cat file1\n#sim print \n#sim cat file2\n#sim print ',
    });
    expect(isCorrectResultLikeTestsubmit(test.expect, run.result)).toBe(true);

    for (const check of TESTSUBMIT_ERROR_CHECKS) {
      const answer = await runLikeTestsubmit(sim.url, check.runSpec);
      expect([check.name, answer.status]).toEqual([check.name, check.expectedStatus]);
      if (check.bodyMatch === 'exact') expect(answer.body).toBe(check.expectedBody);
      else expect(answer.body.startsWith(check.expectedBody)).toBe(true);
      expect(checkPassesLikeTestsubmit(check, answer)).toBe(true);
    }
  });
});
