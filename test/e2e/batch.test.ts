/**
 * The batch endpoint (`POST <mount>/_balancer/batch`) and @jobe-balancer/client's runAll through the gateway:
 * answers in order, failures in their slots, the batches' share of the fleet, cancellation freeing workers
 * at once, off unless enabled, behind the API keys.
 */
import { JobeBadRequestError, JobeClient, type JobeExchange } from '@jobe-balancer/client';
import { type BalancerOptions, createBalancer } from '@jobe-balancer/core';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fleet, startFleet, waitFor } from '../support/fleet.js';
import { sendOnNewConnection } from '../support/http.js';

/** Whatever a test opened, closed after it (clients before the fleet they talk to). */
const opened: Array<{ close(): Promise<void> }> = [];
function track<T extends { close(): Promise<void> }>(thing: T): T {
  opened.push(thing);
  return thing;
}
afterEach(async () => {
  for (const thing of opened.splice(0).reverse()) await thing.close();
});
/** A fleet without canary runs: the tests count the runs the jobe-sims serve. */
const fleet = async (options: NonNullable<Parameters<typeof startFleet>[0]>) =>
  track(
    await startFleet({
      ...options,
      balancer: { ...options.balancer, health: { canary: false, ...options.balancer?.health } },
    }),
  );
const client = (options: ConstructorParameters<typeof JobeClient>[0]) => track(new JobeClient(options));

const inFlight = (f: Fleet) => f.balancer.status().backends.reduce((sum, b) => sum + b.inFlight, 0);
const postBatch = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  sendOnNewConnection({
    url,
    method: 'POST',
    headers: { 'content-type': 'application/json', accept: 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  }).then((r) => ({ status: r.status, body: r.body.toString('utf8'), type: r.headers['content-type'] }));

/** A test case whose run takes `sleepMs` and prints `label`. */
const testCase = (label: string, sleepMs = 0) => ({
  language_id: 'python3',
  sourcecode: `#sim sleep ${sleepMs}\n#sim print ${label}`,
});

describe('batch endpoint', () => {
  it('answers every run in input order, with failed runs in their slots', async () => {
    const f = await fleet({ backends: 3, workers: 4, balancer: { batch: { enabled: true } } });
    const jobe = client({ host: f.jobeHost });
    // Later runs are shorter, so they finish first: the order must come from the slots, not the finish.
    const specs = Array.from({ length: 10 }, (_, i) => testCase(`case${i}`, (10 - i) * 15));
    specs[3] = { language_id: 'python3', sourcecode: '#sim cmpinfo SyntaxError: bad' };
    specs[6] = { language_id: 'cobol', sourcecode: 'DISPLAY 1' };
    const settled = await jobe.runAll(specs, [], { via: 'batch' });
    settled.forEach((slot, i) => {
      if (i === 3) expect(slot).toMatchObject({ status: 'fulfilled', value: { outcome: 11 } });
      else if (i === 6) {
        expect(slot.status).toBe('rejected');
        const reason = (slot as { reason: unknown }).reason;
        expect(reason).toBeInstanceOf(JobeBadRequestError);
        expect(reason).toMatchObject({ httpStatus: 400, body: `"Language 'cobol' is not known"` });
      } else
        expect(slot).toMatchObject({ status: 'fulfilled', value: { outcome: 15, stdout: `case${i}\n` } });
    });
    // Split into batches of 3, two in flight at once: the same slots in the same order.
    const split = await jobe.runAll(specs, [], { via: 'batch', batchSize: 3, concurrency: 2 });
    expect(split.map((slot) => slot.status)).toEqual(settled.map((slot) => slot.status));
    expect(split.map((slot) => (slot.status === 'fulfilled' ? slot.value.stdout : null))).toEqual(
      settled.map((slot) => (slot.status === 'fulfilled' ? slot.value.stdout : null)),
    );
    // The raw answer: Jobe's status and body per slot.
    const raw = await postBatch(`${f.adminUrl}/batch`, {
      runs: [testCase('a'), { language_id: 'cobol', sourcecode: '' }],
    });
    expect(raw.status).toBe(200);
    expect(JSON.parse(raw.body)).toEqual({
      results: [
        { status: 200, body: { run_id: null, outcome: 15, cmpinfo: '', stdout: 'a\n', stderr: '' } },
        { status: 400, body: "Language 'cobol' is not known" },
      ],
    });
  });

  it('reports missing files as 404 slots; the client PUTs them once and resends only those runs', async () => {
    const f = await fleet({ backends: 2, workers: 4, balancer: { batch: { enabled: true } } });
    const exchanges: JobeExchange[] = [];
    const jobe = client({ host: f.jobeHost, onExchange: (x) => exchanges.push(x) });
    const files = [
      { name: 'data1.txt', contents: 'one/é\n' },
      { name: 'data2.txt', contents: 'two\n' },
    ];
    const specs = Array.from({ length: 6 }, (_, i) => ({
      language_id: 'python3',
      sourcecode: `#sim cat data1.txt\n#sim cat data2.txt\n#sim print ${i}`,
    }));
    const settled = await jobe.runAll(specs, files, { via: 'batch' });
    expect(settled.map((slot) => (slot.status === 'fulfilled' ? slot.value.stdout : slot.reason))).toEqual(
      specs.map((_, i) => `one/é\ntwo\n${i}\n`),
    );
    expect(exchanges.map((x) => `${x.method} ${x.status}`)).toEqual([
      'POST 200',
      'PUT 204',
      'PUT 204',
      'POST 200',
    ]);
    // Held by the gateway now: the next batch needs no upload.
    exchanges.length = 0;
    await jobe.runAll(specs, files, { via: 'batch' });
    expect(exchanges.map((x) => `${x.method} ${x.status}`)).toEqual(['POST 200']);
  });

  it('never holds more than maxShare of the fleet: students still find free workers', async () => {
    // One backend of 8 workers: its own peak count of busy workers is an exact witness.
    const f = await fleet({ backends: 1, workers: 8, balancer: { batch: { enabled: true, maxShare: 0.5 } } });
    const sim = f.sims[0]!;
    const jobe = client({ host: f.jobeHost });
    const regrade = jobe.runAll(
      Array.from({ length: 24 }, (_, i) => testCase(`r${i}`, 150)),
      [],
      { via: 'batch' },
    );
    await waitFor(() => sim.stats().activeWorkers >= 4, 'the batch at its share');
    // A student's single run meanwhile goes straight to a free worker.
    const student = await jobe.run(testCase('student', 0));
    expect(student.stdout).toBe('student\n');
    const settled = await regrade;
    expect(settled.every((slot) => slot.status === 'fulfilled')).toBe(true);
    expect(sim.stats().peakWorkers).toBeLessThanOrEqual(5);
    // Two batches at once share the same half, not half each.
    sim.resetStats();
    const both = await Promise.all([
      jobe.runAll(
        Array.from({ length: 8 }, (_, i) => testCase(`x${i}`, 100)),
        [],
        { via: 'batch' },
      ),
      jobe.runAll(
        Array.from({ length: 8 }, (_, i) => testCase(`y${i}`, 100)),
        [],
        { via: 'batch' },
      ),
    ]);
    expect(both.flat().every((slot) => slot.status === 'fulfilled')).toBe(true);
    expect(sim.stats().peakWorkers).toBe(4);
  });

  it("bounds the batch runs waiting for their share by the queue's length: the rest get Jobe's overload", async () => {
    const f = await fleet({
      backends: 1,
      workers: 2,
      balancer: { batch: { enabled: true, maxShare: 0.5 }, queue: { maxLength: 2 } },
    });
    const settled = await client({ host: f.jobeHost }).runAll(
      Array.from({ length: 6 }, (_, i) => testCase(`w${i}`, 100)),
      [],
      { via: 'batch' },
    );
    // One runs (half of two workers), two wait their turn, three find the waiting line full.
    expect(
      settled.map((slot) => (slot.status === 'fulfilled' ? slot.value.stdout : slot.reason.name)),
    ).toEqual(['w0\n', 'w1\n', 'w2\n', 'JobeOverloadError', 'JobeOverloadError', 'JobeOverloadError']);
    expect(f.balancer.status().outcomes).toMatchObject({ '15': 3, '21': 3 });
  });

  it('frees the gateway capacity at once when a batch or a runAll is cancelled', async () => {
    const f = await fleet({ backends: 2, workers: 4, balancer: { batch: { enabled: true, maxShare: 1 } } });
    const jobe = client({ host: f.jobeHost });
    const long = Array.from({ length: 20 }, (_, i) => testCase(`c${i}`, 5000));
    for (const via of ['batch', 'runs'] as const) {
      const controller = new AbortController();
      const running = jobe.runAll(long, [], { via, concurrency: 6, signal: controller.signal });
      await waitFor(() => inFlight(f) >= 6, `${via}: six runs in flight`);
      const abortedAt = performance.now();
      controller.abort(new Error('regrade cancelled'));
      await expect(running).rejects.toThrow('regrade cancelled');
      // Well before any 5 s run could have ended by itself.
      await waitFor(() => inFlight(f) === 0, `${via}: in-flight count back to 0`, 2000);
      expect(performance.now() - abortedAt).toBeLessThan(2000);
    }
    const metrics = await (await fetch(`${f.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/jobe_balancer_backend_in_flight_runs\{backend="jobe1"\} 0/);
    expect(metrics).toMatch(/jobe_balancer_backend_in_flight_runs\{backend="jobe2"\} 0/);
  });

  it('is off unless enabled: a 404 exactly like Jobe answers an unknown path', async () => {
    const f = await fleet({ backends: 1, workers: 2 });
    const sim = f.sims[0]!;
    const body = { runs: [testCase('x')] };
    const accept = { accept: 'application/json' };
    const gateway = await postBatch(`${f.adminUrl}/batch`, body, accept);
    expect(gateway).toEqual(await postBatch(`${sim.url}/jobe/_balancer/batch`, body, accept));
    expect([gateway.status, gateway.body]).toEqual([404, '""']);
    // A browser gets the gateway's framework 404 page, the same as for any other unknown path.
    const html = { accept: 'text/html' };
    expect(await postBatch(`${f.adminUrl}/batch`, body, html)).toEqual(
      await postBatch(`${f.jobeHost}/jobe/index.php/restapi/nothing`, body, html),
    );
    expect(sim.stats().runsServed).toBe(0);
  });

  it('refuses bodies that are not a batch, and batches above maxRuns, in Jobe style', async () => {
    const f = await fleet({ backends: 1, workers: 2, balancer: { batch: { enabled: true, maxRuns: 3 } } });
    const url = `${f.adminUrl}/batch`;
    expect(await postBatch(url, '[1]')).toMatchObject({
      status: 400,
      body: '"batch: expected a JSON object {\\"runs\\": [run_spec, ...]}"',
    });
    expect(await postBatch(url, { runs: [] })).toMatchObject({ status: 400, body: '"batch: runs is empty"' });
    expect(await postBatch(url, { runs: [1] })).toMatchObject({
      status: 400,
      body: '"batch: runs[0] is not a run_spec object"',
    });
    const four = { runs: Array.from({ length: 4 }, () => testCase('x')) };
    expect(await postBatch(url, four)).toMatchObject({
      status: 400,
      body: '"batch: at most 3 runs per batch, got 4"',
    });
    // GET on the path is no route at all.
    const get = await sendOnNewConnection({ url, method: 'GET', headers: { accept: 'application/json' } });
    expect([get.status, get.body.toString()]).toEqual([404, '""']);
  });

  it('sits behind the inbound API keys', async () => {
    const f = await fleet({
      backends: 1,
      workers: 2,
      balancer: { batch: { enabled: true }, apiKeys: ['campus-key-for-moodle'] },
    });
    const body = { runs: [testCase('k')] };
    expect(await postBatch(`${f.adminUrl}/batch`, body)).toMatchObject({
      status: 403,
      body: 'Missing API key',
    });
    expect(await postBatch(`${f.adminUrl}/batch`, body, { 'x-api-key': 'guess' })).toMatchObject({
      status: 403,
      body: 'Unknown API key',
    });
    const keyed = client({ host: f.jobeHost, apiKey: 'campus-key-for-moodle' });
    const [slot] = await keyed.runAll([testCase('k')], [], { via: 'batch' });
    expect(slot).toMatchObject({ status: 'fulfilled', value: { stdout: 'k\n' } });
    const [refused] = await client({ host: f.jobeHost }).runAll([testCase('k')], [], { via: 'batch' });
    expect(refused).toMatchObject({ status: 'rejected', reason: { code: 'AUTH_ERROR', httpStatus: 403 } });
  });

  it('answers 503 while the gateway shuts down, as a single run does', async () => {
    const f = await fleet({ backends: 1, workers: 2, balancer: { batch: { enabled: true } } });
    await f.balancer.close(0);
    const batch = await postBatch(`${f.adminUrl}/batch`, { runs: [testCase('late')] });
    const run = await postBatch(`${f.jobeHost}/jobe/index.php/restapi/runs`, { run_spec: testCase('late') });
    expect(batch).toEqual(run);
    expect(batch.status).toBe(503);
    expect(f.sims[0]!.stats().runsServed).toBe(0);
  });

  it('validates its options like the others', () => {
    const batch = { enabled: 'yes', maxRuns: 1.5, maxShare: 0 } as unknown as BalancerOptions['batch'];
    expect(() => createBalancer({ backends: [{ name: 'a', url: 'http://127.0.0.1:1' }], batch })).toThrow(
      [
        'jobe-balancer: invalid options:',
        '  batch.enabled: must be true or false, got "yes"',
        '  batch.maxRuns: must be a positive integer, got 1.5',
        '  batch.maxShare: must be a number above 0 and at most 1, got 0',
      ].join('\n'),
    );
  });
});
