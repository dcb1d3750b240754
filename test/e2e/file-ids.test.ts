import * as http from 'node:http';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { createJsonLogger, type Gateway, parseConfig, startGateway } from 'jobe-balancer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOnNewConnection, type WireResponse } from '../support/http.js';

// File ids are chosen by clients, and every table keyed by them (the file store, the file locations, the
// ids a client was told to upload) must count them. Jobe's own file cache is a directory: an id longer
// than a file name may be cannot be stored, and Jobe 2.2 answers 500 "put: failed to write file <id> to
// cache" (measured with a 300-byte id). The attack: many distinct ids of the longest length a Jobe accepts,
// through the `jobe-balancer` command over jobe-sim.

const API = '/jobe/index.php/restapi';
const EMPTY_FILE = '{"file_contents":""}';

/** An id holding 32 lowercase hex digits (stored in two directories by Jobe), `length` characters long. */
const hashedId = (n: number, length: number) =>
  `${n.toString(16).padStart(32, '0')}${'Z'.repeat(Math.max(0, length - 32))}`.slice(0, length);
/** An id without one (stored flat). */
const flatId = (n: number, length: number) => `F${n.toString(36)}`.padEnd(length, 'Q');

function send(base: string, method: string, path: string, body?: string, jobId?: string) {
  return sendOnNewConnection({
    url: `${base}${path}`,
    method,
    headers: {
      'Content-Type': 'application/json; charset=utf-8',
      Accept: 'application/json',
      ...(jobId === undefined ? {} : { 'X-CodeRunner-Job-Id': jobId }),
    },
    ...(body === undefined ? {} : { body }),
  });
}

/** A request whose path goes on the wire as written (a URL object would resolve `.` and `..` first). */
function sendRaw(base: string, method: string, path: string, body?: string): Promise<WireResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve) => {
    const req = http.request({
      hostname,
      port,
      path,
      method,
      agent: false,
      headers: { Accept: 'application/json' },
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? -1, headers: res.headers, body: Buffer.concat(chunks) }),
      );
    });
    req.on('error', (error) => resolve({ status: -1, headers: {}, body: Buffer.alloc(0), error }));
    req.end(body);
  });
}

const answer = (response: WireResponse) => ({
  status: response.status,
  body: response.body.toString('utf8'),
  contentType: response.headers['content-type'],
});

/** Runs `task` for 0..count-1, `concurrency` at a time. */
async function inParallel(count: number, concurrency: number, task: (i: number) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

describe('file ids: what Jobe cannot store is refused as Jobe refuses it, and tables count their keys', () => {
  let sims: JobeSim[];
  let reference: JobeSim;
  let gateway: Gateway;
  let host: string;
  const STORE_BYTES = 512 * 1024;
  const MAX_LOCATIONS = 500;
  const MAX_BINDINGS = 500;

  beforeAll(async () => {
    sims = await Promise.all([1, 2].map((i) => startJobeSim({ name: `jobe${i}` })));
    reference = await startJobeSim({ name: 'reference' });
    const parsed = parseConfig({
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      port: 0,
      host: '127.0.0.1',
      slowStartMs: 0,
      fileStoreMaxBytes: STORE_BYTES,
      maxFileLocations: MAX_LOCATIONS,
      maxAffinityEntries: MAX_BINDINGS,
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    gateway = await startGateway(parsed.config, { logger: createJsonLogger({ level: 'silent' }) });
    await gateway.balancer.checkNow();
    host = gateway.url.replace(/\/jobe$/, '');
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([...(sims ?? []), reference].filter(Boolean).map((sim) => sim.close()));
  });

  /** The gateway's answer and a lone Jobe's to the same request, required equal; Jobe's is returned. */
  async function sameAsJobe(method: string, path: string, body?: string, jobId?: string) {
    const [viaGateway, direct] = await Promise.all([
      send(host, method, path, body, jobId),
      send(reference.url, method, path, body, jobId),
    ]);
    expect(answer(viaGateway), `${method} ${path.slice(0, 60)}…`).toEqual(answer(direct));
    return answer(direct);
  }

  const cases: Array<[string, string, number]> = [
    ['a flat id of 255 characters (NAME_MAX)', flatId(1, 255), 204],
    ['a flat id of 256 characters', flatId(2, 256), 500],
    ['an id of 300 characters (what Jobe 2.2 was measured with)', flatId(3, 300), 500],
    ['a hashed id of 259 characters (its name loses 4 to directories)', hashedId(4, 259), 204],
    ['a hashed id of 260 characters', hashedId(5, 260), 500],
    ['an id of 8000 characters', flatId(6, 8000), 500],
  ];

  it.each(cases)(
    'PUT then HEAD %s: as Jobe answers, with and without a job id',
    async (_name, id, status) => {
      const puts = () => sims.reduce((sum, sim) => sum + sim.stats().puts, 0);
      for (const jobId of [undefined, 'abc12345']) {
        const before = puts();
        const put = await sameAsJobe('PUT', `${API}/files/${id}`, EMPTY_FILE, jobId);
        expect(put.status).toBe(status);
        if (status === 500) {
          expect(put.body).toBe(JSON.stringify(`put: failed to write file ${id} to cache`));
          // Jobe's answer comes from the gateway itself: no backend is asked to store what none can.
          expect(puts()).toBe(before);
        }
        const head = await sameAsJobe('HEAD', `${API}/files/${id}`, undefined, jobId);
        expect(head.status).toBe(status === 204 ? 204 : 404);
      }
    },
  );

  it('checks the body before the id, as Jobe does: bad base64 under a long id is a 400', async () => {
    const id = flatId(7, 300);
    const bad = await sameAsJobe('PUT', `${API}/files/${id}`, '{"file_contents":"!!"}');
    expect(bad.status).toBe(400);
    expect(bad.body).toBe(JSON.stringify(`put: contents of file ${id} are not valid base-64`));
    const missing = await sameAsJobe('PUT', `${API}/files/${id}`, '{}');
    expect(missing.status).toBe(400);
  });

  it('answers a run whose file_list names an id no Jobe can hold with the missing-file 404', async () => {
    const run = JSON.stringify({
      run_spec: {
        language_id: 'python3',
        sourcecode: '#sim print x',
        file_list: [[flatId(8, 300), 'a.txt']],
      },
    });
    const reply = await sameAsJobe('POST', `${API}/runs`, run, 'abc12399');
    expect(reply.status).toBe(404);
    expect(reply.body).toBe('"One or more of the specified files is missing/unavailable"');
  });

  it('performs the attack: thousands of distinct longest ids keep every table within its bytes', async () => {
    const count = 3000;
    const statuses = new Map<number, number>();
    const tally = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    await inParallel(count, 16, async (i) => {
      // Half of them with a job id each (a binding each, and a forwarded PUT: a file location each).
      const jobId = i % 2 === 0 ? `${(0x10000000 + i).toString(16)}` : undefined;
      const put = await send(host, 'PUT', `${API}/files/${hashedId(i, 259)}`, EMPTY_FILE, jobId);
      tally(put.status);
      // Runs naming long ids the gateway lacks: each 404 makes it expect their upload.
      if (i % 10 === 0) {
        const run = JSON.stringify({
          run_spec: {
            language_id: 'python3',
            sourcecode: '#sim print x',
            file_list: [0, 1, 2].map((k) => [hashedId(1_000_000 + i * 3 + k, 259), `f${k}.txt`]),
          },
        });
        tally((await send(host, 'POST', `${API}/runs`, run, jobId)).status);
      }
    });
    expect(Object.fromEntries(statuses)).toEqual({ 204: count, 404: count / 10 });

    const status = gateway.balancer.status();
    expect(status.fileStore.maxBytes).toBe(STORE_BYTES);
    expect(status.fileStore.bytes).toBeLessThanOrEqual(STORE_BYTES);
    // Each empty file costs its 64-byte block and its index entry, a 259-character id included: ~1 KB.
    expect(status.fileStore.entries).toBeGreaterThan(100);
    expect(status.fileStore.entries).toBeLessThan(STORE_BYTES / (64 + 259));
    const { fileLocations, affinityBindings, expectedUploads } = status.tables;
    for (const table of [fileLocations, affinityBindings, expectedUploads]) {
      expect(table.bytes).toBeGreaterThan(0);
      expect(table.bytes).toBeLessThanOrEqual(table.maxBytes);
    }
    // Sized for md5 ids and CodeRunner's job ids: ids eight times longer fit in far fewer entries.
    expect(fileLocations.entries).toBeLessThan(MAX_LOCATIONS / 2);
    expect(fileLocations.maxBytes).toBeLessThan(MAX_LOCATIONS * 200);
    expect(affinityBindings.entries).toBeLessThanOrEqual(MAX_BINDINGS);
    expect(affinityBindings.maxBytes).toBeLessThan(MAX_BINDINGS * 250);

    // The newest file is held and served: the store still does its job under the flood.
    const newest = await send(host, 'HEAD', `${API}/files/${hashedId(count - 1, 259)}`);
    expect(newest.status).toBe(204);
  }, 120_000);

  it('answers HEAD files/0 with 400 as PHP takes "0" for no id, while PUT files/0 stores it', async () => {
    const head = await sameAsJobe('HEAD', `${API}/files/0`);
    expect(head.status).toBe(400);
    expect((await sameAsJobe('PUT', `${API}/files/0`, EMPTY_FILE)).status).toBe(204);
    expect((await sameAsJobe('HEAD', `${API}/files/0`)).status).toBe(400);
    // "000" is no empty id for PHP (and, unlike "00", names no directory the hashed ids above made).
    expect((await sameAsJobe('HEAD', `${API}/files/000`)).status).toBe(404);
  });

  // Sent as written: an HTTP client library would resolve the dot segments itself.
  it.each([
    ['empty', `${API}/files/`],
    ['empty, no slash', `${API}/files`],
    ['"."', `${API}/files/.`],
    ['".."', `${API}/files/..`],
    ['"%2e%2e"', `${API}/files/%2e%2e`],
    ['"a%00b" (NUL)', `${API}/files/a%00b`],
    ['"a.b"', `${API}/files/a.b`],
  ])('answers the file id %s as Jobe does (its framework 404), for HEAD and PUT', async (_name, path) => {
    for (const method of ['HEAD', 'PUT']) {
      const body = method === 'PUT' ? EMPTY_FILE : undefined;
      const [viaGateway, direct] = await Promise.all([
        sendRaw(host, method, path, body),
        sendRaw(reference.url, method, path, body),
      ]);
      expect(answer(viaGateway), `${method} ${path}`).toEqual(answer(direct));
      expect(direct.status).toBe(404);
    }
  });
});
