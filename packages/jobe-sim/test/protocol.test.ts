import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type JobeSim, OVERLOAD_BODY, startJobeSim } from '../src/index.js';
import { JSON_TYPE, jsonMessage, PREFIXES, postRun, putFile, request, resultJson } from './http.js';

const LANGUAGES_BODY =
  '[["c","11.4.0"],["cpp","11.4.0"],["java","17.0.12"],["nodejs","18.19.1"],["octave","6.4.0"],' +
  '["pascal","3.2.2"],["php","8.1.2"],["python3","3.10.12"]]';
const FILE_ID = 'f0e1d2c3b4a5968778695a4b3c2d1e0f';

let sim: JobeSim;

beforeAll(async () => {
  sim = await startJobeSim({ workers: 4, pollMs: 20, waitTimeout: 2, name: 'jobe-alpha' });
  expect((await putFile(sim.url, FILE_ID, 'line one\nline two\n')).status).toBe(204);
});

afterAll(async () => {
  await sim.close();
});

describe('routing', () => {
  it('serves GET languages under all three prefixes, with trailing slashes and query strings', async () => {
    for (const prefix of PREFIXES) {
      for (const suffix of ['languages', 'languages/', 'languages?x=1', 'languages//']) {
        const reply = await request(`${sim.url}${prefix}/${suffix}`);
        expect(reply.status, `${prefix}/${suffix}`).toBe(200);
        expect(reply.headers['content-type']).toBe(JSON_TYPE);
        expect(reply.body).toBe(LANGUAGES_BODY);
      }
    }
  });

  it('serves POST runs, PUT and HEAD files under all three prefixes, trailing slash included', async () => {
    for (const prefix of PREFIXES) {
      const run = await request(`${sim.url}${prefix}/runs/`, {
        method: 'POST',
        body: JSON.stringify({ run_spec: { language_id: 'python3', sourcecode: '#sim print ok' } }),
      });
      expect(run.status).toBe(200);
      expect(run.body).toBe(resultJson(15, 'ok\n'));
      const put = await request(`${sim.url}${prefix}/files/prefixtest1/`, {
        method: 'PUT',
        body: '{"file_contents":"eA=="}',
      });
      expect(put.status).toBe(204);
      const head = await request(`${sim.url}${prefix}/files/prefixtest1?x=y`, { method: 'HEAD' });
      expect(head.status).toBe(204);
    }
  });

  it('answers every other method or path with the framework 404 (JSON "" unless the client accepts HTML)', async () => {
    const cases: Array<[string, string]> = [
      ['GET', '/jobe/index.php/restapi/runs'],
      ['GET', '/jobe/index.php/restapi/runs/123'],
      ['GET', '/jobe/index.php/restapi/runresults/123'],
      ['GET', '/jobe/index.php/restapi/files/abcdef12'],
      ['POST', '/jobe/index.php/restapi/files'],
      ['POST', '/jobe/index.php/restapi/languages'],
      ['PUT', '/jobe/index.php/restapi/runs'],
      ['DELETE', '/jobe/index.php/restapi/files/abcdef12'],
      ['PATCH', '/jobe/index.php/restapi/runs'],
      ['PUT', '/jobe/index.php/restapi/files/bad-id'],
      ['PUT', '/jobe/index.php/restapi/files/bad_id'],
      ['HEAD', '/jobe/index.php/restapi/files/bad.id'],
      ['PUT', '/jobe/index.php/restapi/files/'],
      ['GET', '/jobe/restapi/languages'],
      ['GET', '/jobe/index.php/RESTAPI/languages'],
      ['GET', '/'],
      ['GET', '/jobe/index.php'],
    ];
    for (const [method, path] of cases) {
      const reply = await request(`${sim.url}${path}`, { method, body: method === 'GET' ? undefined : '{}' });
      expect(reply.status, `${method} ${path}`).toBe(404);
      expect(reply.headers['content-type']).toBe(JSON_TYPE);
      if (method !== 'HEAD') expect(reply.body).toBe('""');
    }
    const html = await request(`${sim.url}/jobe/index.php/restapi/runs`, {
      headers: { Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' },
    });
    expect(html.status).toBe(404);
    expect(html.headers['content-type']).toBe('text/html; charset=UTF-8');
    expect(html.body).toContain('<title>404 - Page Not Found</title>');
    expect(html.body).toContain('Sorry! Cannot seem to find the page you were looking for.');
  });

  it('answers OPTIONS on any path with 204 and Vary: Access-Control-Request-Method', async () => {
    for (const path of ['/jobe/index.php/restapi/runs', '/anything/at/all']) {
      const reply = await request(`${sim.url}${path}`, {
        method: 'OPTIONS',
        headers: { Origin: 'https://moodle.example', 'Access-Control-Request-Method': 'POST' },
      });
      expect(reply.status).toBe(204);
      expect(reply.headers['vary']).toBe('Access-Control-Request-Method');
      expect(reply.headers['access-control-allow-origin']).toBeUndefined();
      expect(reply.body).toBe('');
    }
  });

  it('answers an OPTIONS that is not a preflight like a missing route, still with Vary', async () => {
    const reply = await request(`${sim.url}/jobe/index.php/restapi/runs`, { method: 'OPTIONS' });
    expect(reply.status).toBe(404);
    expect(reply.body).toBe('""');
    expect(reply.headers['vary']).toBe('Access-Control-Request-Method');
  });

  it('sends no Content-Type with a 204, as CodeIgniter does', async () => {
    const put = await request(`${sim.url}/jobe/index.php/restapi/files/ctype0001`, {
      method: 'PUT',
      body: '{"file_contents":"eA=="}',
    });
    expect(put.status).toBe(204);
    expect(put.headers['content-type']).toBeUndefined();
    expect(put.headers['cache-control']).toBe('no-store, max-age=0, no-cache');
  });
});

describe('POST runs validation (exact bodies, in Jobe order)', () => {
  const py = (extra: Record<string, unknown>) =>
    JSON.stringify({ run_spec: { language_id: 'python3', ...extra } });
  const exception = (message: string) => jsonMessage(`Server exception (${message})`);
  const cases: Array<[string, string, number, string]> = [
    ['invalid JSON', '{"run_spec":', 500, exception('Failed to parse JSON string. Error: Syntax error')],
    ['whitespace only', '  ', 500, exception('Failed to parse JSON string. Error: Syntax error')],
    ['empty body', '', 400, jsonMessage('Non-JSON post data received')],
    ['JSON array', '[1,2]', 400, jsonMessage('Non-JSON post data received')],
    ['JSON string', '"run"', 400, jsonMessage('Non-JSON post data received')],
    ['JSON null', 'null', 400, jsonMessage('Non-JSON post data received')],
    ['object without run_spec', '{"runspec":{}}', 500, exception('Undefined property: stdClass::$run_spec')],
    ['run_spec a string', '{"run_spec":"x"}', 400, jsonMessage('No run_spec attribute found in post data')],
    ['run_spec null', '{"run_spec":null}', 400, jsonMessage('No run_spec attribute found in post data')],
    ['run_spec an array', '{"run_spec":[]}', 400, jsonMessage('No run_spec attribute found in post data')],
    [
      'no sourcecode (checked first)',
      '{"run_spec":{}}',
      400,
      jsonMessage("run_spec is missing the required attribute 'sourcecode'"),
    ],
    [
      'sourcecode null',
      py({ sourcecode: null }),
      400,
      jsonMessage("run_spec is missing the required attribute 'sourcecode'"),
    ],
    [
      'no language_id',
      '{"run_spec":{"sourcecode":"print(1)"}}',
      400,
      jsonMessage("run_spec is missing the required attribute 'language_id'"),
    ],
    [
      'unknown language, lower-cased',
      '{"run_spec":{"sourcecode":"x","language_id":"COBOL"}}',
      400,
      jsonMessage("Language 'cobol' is not known"),
    ],
    [
      'cputime above the limit',
      py({ sourcecode: 'x', parameters: { cputime: 121 } }),
      400,
      jsonMessage('cputime exceeds maximum allowed on this Jobe server (120 secs)'),
    ],
    [
      'cputime as a leading-numeric string',
      py({ sourcecode: 'x', parameters: { cputime: ' 151 secs' } }),
      400,
      jsonMessage('cputime exceeds maximum allowed on this Jobe server (120 secs)'),
    ],
    [
      'sourcefilename with a slash',
      py({ sourcecode: 'x', sourcefilename: '../etc/passwd' }),
      400,
      jsonMessage('The sourcefilename for the run_spec is illegal'),
    ],
    [
      'hidden sourcefilename',
      py({ sourcecode: 'x', sourcefilename: '.bashrc' }),
      400,
      jsonMessage('The sourcefilename for the run_spec is illegal'),
    ],
    [
      'sourcefilename a number',
      py({ sourcecode: 'x', sourcefilename: 5 }),
      400,
      jsonMessage('The sourcefilename for the run_spec is illegal'),
    ],
    [
      'file id too short',
      py({ sourcecode: 'x', file_list: [['short', 'data.txt']] }),
      400,
      jsonMessage('Invalid file specifier: Array\n(\n    [0] => short\n    [1] => data.txt\n)\n'),
    ],
    [
      'file name with a slash',
      py({ sourcecode: 'x', file_list: [['abcdefgh', 'a/b.txt', 'ignored']] }),
      400,
      jsonMessage(
        'Invalid file specifier: Array\n(\n    [0] => abcdefgh\n    [1] => a/b.txt\n    [2] => ignored\n)\n',
      ),
    ],
    [
      'file specifier with one element',
      py({ sourcecode: 'x', file_list: [['abcdefgh12']] }),
      400,
      jsonMessage('Invalid file specifier: Array\n(\n    [0] => abcdefgh12\n)\n'),
    ],
    [
      'file specifier with nested values',
      py({ sourcecode: 'x', file_list: [[['a'], 'x', true, null]] }),
      400,
      jsonMessage(
        'Invalid file specifier: Array\n(\n    [0] => Array\n        (\n            [0] => a\n        )\n\n' +
          '    [1] => x\n    [2] => 1\n    [3] => \n)\n',
      ),
    ],
    [
      'file specifier that is not an array',
      py({ sourcecode: 'x', file_list: ['abcdefgh'] }),
      500,
      exception('count(): Argument #1 ($value) must be of type Countable|array, string given'),
    ],
    [
      'file_list a string',
      py({ sourcecode: 'x', file_list: 'abcdefgh' }),
      500,
      exception('foreach() argument must be of type array|object, string given'),
    ],
    [
      'sourcecode an array',
      py({ sourcecode: ['x'] }),
      500,
      exception('Cannot assign array to property Jobe\\RunSpecifier::$sourcecode of type string'),
    ],
    [
      'input an object',
      py({ sourcecode: 'x', input: { a: 1 } }),
      500,
      exception('Cannot assign stdClass to property Jobe\\RunSpecifier::$input of type string'),
    ],
    [
      'invalid UTF-8 in a string',
      '{"run_spec":{"language_id":"python3","sourcecode":"\xff"}}',
      500,
      exception(
        'Failed to parse JSON string. Error: Malformed UTF-8 characters, possibly incorrectly encoded',
      ),
    ],
    [
      'lone surrogate escape',
      '{"run_spec":{"language_id":"python3","sourcecode":"\\ud800"}}',
      500,
      exception('Failed to parse JSON string. Error: Single unpaired UTF-16 surrogate in unicode escape'),
    ],
    [
      'raw control character in a string',
      '{"run_spec":{"language_id":"python3","sourcecode":"a\tb"}}',
      500,
      exception('Failed to parse JSON string. Error: Control character error, possibly incorrectly encoded'),
    ],
    [
      'missing file (404 before any worker)',
      py({ sourcecode: 'x', file_list: [['nosuchfileid', 'data.txt']] }),
      404,
      jsonMessage('One or more of the specified files is missing/unavailable'),
    ],
    ['overload test hack', py({ sourcecode: '!** TESTING OVERLOAD EXCEPTION **!' }), 200, OVERLOAD_BODY],
    [
      'overload test hack with a missing file (files are checked first)',
      py({ sourcecode: '!** TESTING OVERLOAD EXCEPTION **!', file_list: [['nosuchfileid', 'a']] }),
      404,
      jsonMessage('One or more of the specified files is missing/unavailable'),
    ],
  ];

  for (const [name, body, status, expected] of cases) {
    it(`${name} → ${status}`, async () => {
      const payload = name === 'invalid UTF-8 in a string' ? Buffer.from(body, 'latin1') : body;
      const reply = await postRun(sim.url, body, { body: payload });
      expect(reply.status).toBe(status);
      expect(reply.headers['content-type']).toBe(JSON_TYPE);
      expect(reply.body).toBe(expected);
    });
  }

  it('reads a body of exactly post_max_size (8 MiB) but not one byte more: 500 Syntax error', async () => {
    const limit = 8 * 1024 * 1024;
    const head = '{"run_spec":{"language_id":"python3","sourcecode":"#sim print big';
    const tail = '"}}';
    const body = head + ' '.repeat(limit - head.length - tail.length) + tail;
    const fits = await postRun(sim.url, body);
    expect(fits.status).toBe(200);
    expect(JSON.parse(fits.body).stdout).toMatch(/^big +\n$/);
    const reply = await postRun(sim.url, `${body} `);
    expect(reply.status).toBe(500);
    expect(reply.body).toBe(exception('Failed to parse JSON string. Error: Syntax error'));
  });

  it('treats a multipart/form-data body as unreadable too', async () => {
    const reply = await postRun(sim.url, py({ sourcecode: 'x' }), {
      headers: { 'Content-Type': 'multipart/form-data; boundary=x' },
    });
    expect(reply.status).toBe(500);
    expect(reply.body).toBe(exception('Failed to parse JSON string. Error: Syntax error'));
  });

  it('accepts the edge values Jobe accepts and ignores unknown fields and parameters', async () => {
    const accepted: Array<Record<string, unknown>> = [
      { sourcecode: 'x', parameters: { cputime: 120 } },
      { sourcecode: 'x', parameters: { cputime: 120.9 } },
      { sourcecode: 'x', parameters: { cputime: 'lots' } },
      { sourcecode: 'x', parameters: [121] },
      { sourcecode: 'x', sourcefilename: 'prog.java' },
      { sourcecode: 'x', sourcefilename: 'my prog.py' },
      { sourcecode: 'x', sourcefilename: '' },
      { sourcecode: 'x', file_list: [] },
      {
        sourcecode: 'x',
        jobeserver: 'jobe1;jobe2',
        parameters: { memorylimit: 'x', runargs: ['-v'], jobeapikey: 'k' },
      },
      { sourcecode: 42, input: 7, debug: 0 },
    ];
    for (const extra of accepted) {
      const reply = await postRun(sim.url, { language_id: 'Python3', ...extra });
      expect(reply.status, JSON.stringify(extra)).toBe(200);
      expect(reply.body).toBe(resultJson(15));
    }
  });
});

describe('run results and #sim directives', () => {
  const run = (sourcecode: string, extra: Record<string, unknown> = {}) =>
    postRun(sim.url, { language_id: 'c', sourcecode, ...extra });

  it('gives outcome 15 with empty output for a program without directives', async () => {
    const reply = await run('int main() { return 0; }');
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe(JSON_TYPE);
    expect(reply.body).toBe('{"run_id":null,"outcome":15,"cmpinfo":"","stdout":"","stderr":""}');
  });

  it('obeys print, echo, cat and server in order', async () => {
    const reply = await run(
      [
        '#sim print first line',
        '#sim echo',
        '#sim cat data.txt',
        '#sim server',
        '  #sim print indented',
      ].join('\n'),
      { input: 'stdin text\n', file_list: [[FILE_ID, 'data.txt']] },
    );
    expect(reply.body).toBe(
      resultJson(15, 'first line\nstdin text\nline one\nline two\njobe-alpha\nindented\n'),
    );
  });

  it('applies Jobe outcome rules: stderr → 12, time limit → 13, cmpinfo → 11, explicit outcome wins', async () => {
    expect((await run('#sim print out\n#sim stderr Traceback')).body).toBe(
      resultJson(12, 'out\n', 'Traceback\n'),
    );
    // The match is case-sensitive, like Jobe's preg_match("/time ?limit exceeded/").
    expect((await run('#sim stderr Time limit exceeded')).body).toBe(
      resultJson(12, '', 'Time limit exceeded\n'),
    );
    expect((await run('#sim stderr runguard: time limit exceeded')).body).toBe(resultJson(13));
    expect((await run('#sim print never\n#sim cmpinfo prog.c:1: error')).body).toBe(
      resultJson(11, '', '', 'prog.c:1: error\n'),
    );
    expect((await run('#sim stderr warning\n#sim outcome 15')).body).toBe(resultJson(15, '', 'warning\n'));
    expect((await run('#sim outcome 17\r\n#sim print crlf')).body).toBe(resultJson(17, 'crlf\n'));
  });

  it('reports a missing cat file and unknown directives on stderr', async () => {
    expect((await run('#sim cat nothing.txt')).body).toBe(
      resultJson(12, '', 'cat: nothing.txt: No such file or directory\n'),
    );
    expect((await run('#sim frobnicate')).body).toBe(
      resultJson(12, '', 'jobe-sim: unknown directive: #sim frobnicate\n'),
    );
  });

  it('escapes output that is not UTF-8 like ResultObject::clean', async () => {
    const binaryId = 'binaryfile01';
    expect((await putFile(sim.url, binaryId, Buffer.from([0x41, 0xff, 0x0a, 0x01, 0xc3, 0xa9]))).status).toBe(
      204,
    );
    const reply = await run('#sim cat bin', { file_list: [[binaryId, 'bin']] });
    expect(JSON.parse(reply.body).stdout).toBe('A\\xff\n\\x01\\xc3\\xa9');
  });

  it('gives run_id as a run directory path when debug is set', async () => {
    const reply = await run('#sim print x', { debug: true });
    expect(reply.body).toMatch(
      /^\{"run_id":"\/home\/jobe\/runs\/jobe_[A-Za-z0-9]{6}","outcome":15,"cmpinfo":"","stdout":"x\\n","stderr":""\}$/,
    );
  });

  it('encodes like PHP json_encode: unescaped slashes and unicode, escaped U+2028', async () => {
    const reply = await run('#sim print a/b é 😀 \u2028 "q" \\');
    expect(reply.body).toBe(
      '{"run_id":null,"outcome":15,"cmpinfo":"","stdout":"a/b é 😀 \\u2028 \\"q\\" \\\\\\n","stderr":""}',
    );
  });

  it("replaces CodeIgniter's performance placeholders in the body", async () => {
    const reply = await run('#sim print {memory_usage} {elapsed_time}');
    expect(JSON.parse(reply.body).stdout).toMatch(/^2\.000 \d+(\.\d+)?\n$/);
  });
});

describe('PUT and HEAD files', () => {
  const put = (id: string, body: string, headers: Record<string, string> = {}) =>
    request(`${sim.url}/jobe/index.php/restapi/files/${id}`, { method: 'PUT', body, headers });
  const head = (id: string) => request(`${sim.url}/jobe/index.php/restapi/files/${id}`, { method: 'HEAD' });

  it('stores a file (204, empty body), answers HEAD 204/404, and overwrites on a second PUT', async () => {
    const first = await put(
      'randomid0129798',
      JSON.stringify({ file_contents: Buffer.from('v1').toString('base64') }),
    );
    expect(first.status).toBe(204);
    expect(first.body).toBe('');
    expect(first.headers['content-type']).toBeUndefined();
    const there = await head('randomid0129798');
    expect(there.status).toBe(204);
    expect(there.body).toBe('');
    expect((await head('randomid0980128')).status).toBe(404);
    expect(sim.hasFile('randomid0129798')).toBe(true);
    expect((await put('randomid0129798', '{"file_contents":"djI="}')).status).toBe(204);
    const reply = await postRun(sim.url, {
      language_id: 'python3',
      sourcecode: '#sim cat f',
      file_list: [['randomid0129798', 'f']],
    });
    expect(reply.body).toBe(resultJson(15, 'v2'));
  });

  it('answers 400 "put: missing file_contents parameter" for empty, non-object or keyless bodies', async () => {
    for (const body of [
      '',
      '[]',
      '[1]',
      '"x"',
      '0',
      'null',
      '{}',
      '{"file_contents":null}',
      '{"contents":"eA=="}',
    ]) {
      const reply = await put('abcdef123456', body);
      expect(reply.status, body).toBe(400);
      expect(reply.headers['content-type']).toBe(JSON_TYPE);
      expect(reply.body).toBe(jsonMessage('put: missing file_contents parameter'));
    }
  });

  it('decodes base64 strictly like PHP base64_decode(..., true)', async () => {
    const bad = ['abc$', 'YQ=', 'YQ===', 'Y=Q=', 'A', 'YWJj\u00e9', '=', 'YQ==YQ=='];
    for (const contents of bad) {
      const reply = await put('abcdef123456', JSON.stringify({ file_contents: contents }));
      expect(reply.status, contents).toBe(400);
      expect(reply.body).toBe(jsonMessage('put: contents of file abcdef123456 are not valid base-64'));
    }
    const good = ['YQ', 'YQ==', 'Y Q = =', 'YW\nJj\r\n', '', 'YR=='];
    for (const contents of good) {
      expect((await put('abcdef123456', JSON.stringify({ file_contents: contents }))).status, contents).toBe(
        204,
      );
    }
    expect((await put('abcdef123456', '{"file_contents":false}')).status).toBe(204);
    expect((await put('abcdef123456', '{"file_contents":1234}')).status).toBe(204);
  });

  it('answers invalid JSON or a non-string file_contents with a framework 500', async () => {
    for (const body of ['{"file_contents":', '{"file_contents":["eA=="]}']) {
      const json = await put('abcdef123456', body);
      expect(json.status).toBe(500);
      expect(json.headers['content-type']).toBe(JSON_TYPE);
      expect(json.body).toBe('""');
      const html = await put('abcdef123456', body, { Accept: 'text/html' });
      expect(html.status).toBe(500);
      expect(html.headers['content-type']).toBe('text/html; charset=UTF-8');
      expect(html.body).toContain('Whoops!');
    }
    const huge = await request(`${sim.url}/jobe/index.php/restapi/files/abcdef123456`, {
      method: 'PUT',
      body: Buffer.alloc(8 * 1024 * 1024 + 1, 0x20),
    });
    expect(huge.status).toBe(500);
    expect(huge.body).toBe('""');
  });

  it('answers HEAD of the id "0" with 400, as PHP finds "0" falsy', async () => {
    const reply = await head('0');
    expect(reply.status).toBe(400);
    expect(reply.headers['content-type']).toBe(JSON_TYPE);
  });

  it('refuses an id longer than a file name may be (NAME_MAX 255) with 500, as Jobe 2.2 did for 300 bytes', async () => {
    const body = '{"file_contents":"eA=="}';
    const longest = 'f'.repeat(255);
    expect((await put(longest, body)).status).toBe(204);
    expect((await head(longest)).status).toBe(204);
    const tooLong = `${'F'.repeat(255)}0`;
    const refused = await put(tooLong, body);
    expect(refused.status).toBe(500);
    expect(refused.headers['content-type']).toBe(JSON_TYPE);
    expect(refused.body).toBe(jsonMessage(`put: failed to write file ${tooLong} to cache`));
    expect((await head(tooLong)).status).toBe(404);
    const threeHundred = 'x'.repeat(300);
    expect((await put(threeHundred, body)).status).toBe(500);
    // A hashed id loses its first 4 characters to two directories: 259 characters fit, 260 do not.
    const hashed = (length: number) => `cd${'0123456789abcdef'.repeat(2)}${'Z'.repeat(length - 34)}`;
    expect((await put(hashed(259), body)).status).toBe(204);
    expect((await head(hashed(259))).status).toBe(204);
    expect((await put(hashed(260), body)).status).toBe(500);
    expect((await head(hashed(260))).status).toBe(404);
    // Its directories were made before the write failed: a lone "cd" now names one.
    expect((await head('cd')).status).toBe(204);
  });

  it('keeps the cache directory layout: a 2-character id collides with an MD5 top directory', async () => {
    const md5 = 'ab0123456789abcdef0123456789abcd';
    expect((await put(md5, '{"file_contents":"eA=="}')).status).toBe(204);
    expect((await head('ab')).status).toBe(204);
    const reply = await put('ab', '{"file_contents":"eA=="}');
    expect(reply.status).toBe(500);
    expect(reply.body).toBe(jsonMessage('put: failed to write file ab to cache'));
  });
});
