import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict } from '../src/files/file-store.js';
import { parseRoute, parseRouteInFull } from '../src/protocol/paths.js';
import { decodeJsonLikePhp, MAX_PARSED_VALUES } from '../src/protocol/php-json.js';
import { inspectRunBody, runOutcome } from '../src/protocol/run-spec.js';

describe('parseRoute', () => {
  it.each([
    ['/index.php/restapi/runs', { kind: 'runs' }],
    ['/index.php/restapi/runs/', { kind: 'runs' }],
    ['/jobe/index.php/restapi/runs/?x=1', { kind: 'runs' }],
    ['/restapi/languages', { kind: 'languages' }],
    ['/jobe/index.php/restapi/languages/', { kind: 'languages' }],
    ['/index.php/restapi/files/abc123DEF', { kind: 'file', fileId: 'abc123DEF' }],
    ['/jobe/public/index.php/restapi/runs', { kind: 'runs' }],
  ])('%s is an API route', (path, route) => {
    expect(parseRoute(path)).toEqual(route);
  });

  it.each([
    '/index.php/restapi/files/..%2F..%2Fetc%2Fpasswd',
    '/index.php/restapi/files/abc%2Fdef',
    '/index.php/restapi/files/abc.def',
    '/index.php/restapi/files/abc-def',
    '/index.php/restapi/files/%E0%A4%A',
    '/index.php/restapi/runs/123',
    '/index.php/restapi/runresults/1',
    '/index.php/restapi//runs',
    '/jobe/restapi/runs',
    '/index.php/restapi',
    '/',
    '',
  ])('%s is a framework 404', (path) => {
    expect(parseRoute(path)).toEqual({ kind: 'not-found' });
  });

  it('answers every path as parsing it in full does', () => {
    const segment = fc.constantFrom(
      'jobe',
      'public',
      'index.php',
      'restapi',
      'runs',
      'languages',
      'files',
      '_balancer',
      'abc123',
      'a%2Fb',
      'Runs',
      '',
    );
    const path = fc
      .tuple(
        fc.array(segment, { maxLength: 6 }),
        fc.constantFrom('', '/', '//'),
        fc.constantFrom('', '/'),
        fc.constantFrom('', '?x=1'),
      )
      .map(([segments, lead, trail, query]) => `${lead}${segments.join('/')}${trail}${query}`);
    const known = ['jobe/', 'jobe/public/', '', 'public/'].flatMap((base) =>
      ['languages', 'runs'].flatMap((name) => [
        `/${base}index.php/restapi/${name}`,
        `/${base}index.php/restapi/${name}/`,
      ]),
    );
    fc.assert(
      fc.property(fc.oneof(path, fc.constantFrom(...known, '/restapi/runs', '/restapi/languages/')), (p) => {
        expect(parseRoute(p)).toEqual(parseRouteInFull(p));
      }),
      { numRuns: 2000 },
    );
  });

  it('admin routes live under _balancer, with or without the /jobe prefix', () => {
    expect(parseRoute('/_balancer/status')).toMatchObject({ kind: 'admin', segments: ['status'] });
    expect(parseRoute('/jobe/_balancer/backends/j1/drain')).toMatchObject({
      kind: 'admin',
      segments: ['backends', 'j1', 'drain'],
    });
    expect(parseRoute('/_balancer/')).toMatchObject({ kind: 'admin', segments: [] });
  });

  it('never throws, whatever the path', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (path) => {
        expect(['languages', 'runs', 'file', 'admin', 'not-found']).toContain(parseRoute(path).kind);
      }),
    );
  });

  it('only ever yields alphanumeric file ids', () => {
    fc.assert(
      fc.property(fc.string(), (id) => {
        const route = parseRoute(`/restapi/files/${id}`);
        if (route.kind === 'file') expect(route.fileId).toMatch(/^[A-Za-z0-9]+$/);
      }),
    );
  });
});

describe('decodeBase64Strict (PHP base64_decode strict)', () => {
  it('round-trips any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        const decoded = decodeBase64Strict(Buffer.from(bytes).toString('base64'));
        expect(decoded).not.toBeNull();
        expect(Buffer.compare(decoded!, Buffer.from(bytes))).toBe(0);
      }),
    );
  });

  it.each(['abc$', 'ab=c', 'a', 'abcde===', '-_-_'])('rejects %s', (text) => {
    expect(decodeBase64Strict(text)).toBeNull();
  });

  it('skips whitespace like PHP and accepts the empty string', () => {
    expect(decodeBase64Strict('aGVs\nbG8=')?.toString()).toBe('hello');
    expect(decodeBase64Strict('')?.length).toBe(0);
  });
});

describe('decodeJsonLikePhp: the shape scan before JSON.parse', () => {
  const decode = (text: string) => decodeJsonLikePhp(Buffer.from(text));
  const nest = (n: number, inner = '') => `${'['.repeat(n)}${inner}${']'.repeat(n)}`;

  it('511 nested arrays/objects decode, 512 are refused, however many brackets strings hold', () => {
    const strings = String.raw`"[[[{{{\\\"[[[", "\\", "\"{"`;
    expect(decode(nest(511, strings)).ok).toBe(true);
    expect(decode(`{"a":${nest(510, '"x"')}}`).ok).toBe(true);
    expect(decode(nest(512, strings))).toEqual({ ok: false, why: 'refused' });
    expect(decode(`{"s":"${'['.repeat(600)}","t":${nest(512)}}`)).toEqual({ ok: false, why: 'refused' });
    // An 8 MiB nest is refused at its 512th level.
    expect(decode(nest(4_000_000))).toEqual({ ok: false, why: 'refused' });
  });

  it('decodes every JSON value within the limits exactly as JSON.parse does', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 6 }), (value) => {
        const text = JSON.stringify(value);
        const decoded = decode(text);
        // Lone surrogates and NUL-led keys are refused as PHP refuses them; everything else decodes.
        if (decoded.ok) expect(decoded.value).toEqual(JSON.parse(text));
        else expect(decoded.why).toBe('refused');
      }),
    );
  });

  it(`a body with more than ${MAX_PARSED_VALUES} values is left to Jobe, not parsed`, () => {
    const list = (n: number) => `{"run_spec":{"parameters":{"runargs":[${Array(n).fill('1').join(',')}]}}}`;
    expect(decode(list(MAX_PARSED_VALUES - 4)).ok).toBe(true);
    expect(decode(list(MAX_PARSED_VALUES))).toEqual({ ok: false, why: 'too-many-values' });
    // Commas inside strings are not values.
    expect(decode(`{"sourcecode":"${','.repeat(50_000)}"}`).ok).toBe(true);
  });
});

describe('inspectRunBody', () => {
  it('reads what routing needs and lower-cases the language like Jobe', () => {
    const inspection = inspectRunBody({
      run_spec: {
        language_id: 'Python3',
        sourcecode: 'print(1)',
        file_list: [
          ['0123456789abcdef', 'a.txt'],
          ['short', 'b.txt'],
          ['0123456789abcdef', 'c.txt'],
        ],
        parameters: { cputime: '7' },
        jobeserver: 'x',
      },
    });
    expect(inspection).toEqual({
      kind: 'run',
      languageId: 'python3',
      fileIds: ['0123456789abcdef'],
      cputimeSecs: 7,
      isOverloadTest: false,
    });
  });

  it('leaves what Jobe must judge to a backend', () => {
    for (const body of [undefined, null, 'x', [], {}, { run_spec: 1 }, { run_spec: { sourcecode: 'x' } }]) {
      expect(inspectRunBody(body)).toEqual({ kind: 'for-any-backend' });
    }
  });

  it('caps cputime at Jobe maximum for the timeout and defaults it to 5', () => {
    const cputime = (value: unknown) =>
      inspectRunBody({ run_spec: { language_id: 'c', sourcecode: '', parameters: { cputime: value } } });
    expect(cputime(500)).toMatchObject({ cputimeSecs: 120 });
    expect(cputime('abc')).toMatchObject({ cputimeSecs: 5 });
    expect(cputime(undefined)).toMatchObject({ cputimeSecs: 5 });
  });
});

describe('runOutcome', () => {
  it('reads the outcome of any Jobe result object, whatever its output', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.constant(null), fc.string()),
        fc.integer({ min: 0, max: 99 }),
        fc.string(),
        fc.string({ unit: 'binary' }),
        (runId, outcome, cmpinfo, stdout) => {
          const body = Buffer.from(JSON.stringify({ run_id: runId, outcome, cmpinfo, stdout, stderr: '' }));
          expect(runOutcome(body)).toBe(outcome);
        },
      ),
    );
  });

  it('falls back to parsing for other layouts and says null for non-results', () => {
    expect(runOutcome(Buffer.from('{ "outcome": 21, "run_id": "0" }'))).toBe(21);
    expect(runOutcome(Buffer.from('"One or more of the specified files is missing/unavailable"'))).toBeNull();
    expect(runOutcome(Buffer.from('{"run_id":null}'))).toBeNull();
    expect(runOutcome(Buffer.from('not json'))).toBeNull();
  });
});
