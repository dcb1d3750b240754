import { type BalancerOptions, silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { md5 } from '../support/coderunner-client.js';
import { expectAllCorrect, load, makeQuestions, percentile, summarize, waitFor } from '../support/fleet.js';
import type { GatewayHandle } from '../support/gateway-factory.js';
import { standalone } from '../support/gateways.js';
import { type PartialRequest, startRequest } from '../support/http.js';

const MiB = 1024 * 1024;
/** Short, so that a run that had to wait for the bodies' room would end in outcome 21, not hang the test. */
const QUEUE_TIMEOUT_MS = 2_000;

// Issue #15, part 2: clients who send nothing, or many large uploads, must not make other clients' runs
// wait. Attacks against the standalone gateway (default body limits: 8 MiB each, 64 MiB at once) over
// jobe-sim, while CodeRunner-like clients run questions with support files.
describe('request bodies under attack (standalone gateway over jobe-sim)', () => {
  let sims: JobeSim[] = [];
  let gateway: GatewayHandle | undefined;
  let open: PartialRequest[] = [];

  const start = async (options: Partial<BalancerOptions>) => {
    sims = await Promise.all([1, 2].map((i) => startJobeSim({ name: `jobe${i}` })));
    gateway = await standalone.start({
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      logger: silentLogger,
      slowStartMs: 0,
      queue: { timeoutMs: QUEUE_TIMEOUT_MS },
      // The tests count the runs the jobe-sims serve: no canary runs among them.
      health: { canary: false },
      ...options,
    });
    await gateway.balancer.checkNow();
    return gateway;
  };

  afterEach(async () => {
    for (const request of open) request.abort();
    open = [];
    await gateway?.close();
    gateway = undefined;
    await Promise.all(sims.map((sim) => sim.close()));
  });

  it.each([8, 64])(
    'keeps answering runs while %i clients send headers with Content-Length: 8388608 and then nothing',
    async (idleClients) => {
      const idleMs = 3_000;
      const { jobeHost, balancer } = await start({ bodyIdleTimeoutMs: idleMs });
      const started = performance.now();
      open = Array.from({ length: idleClients }, (_, i) =>
        startRequest(
          i % 2 === 0
            ? `${jobeHost}/jobe/index.php/restapi/runs`
            : `${jobeHost}/jobe/index.php/restapi/files/idle${i}file`,
          i % 2 === 0 ? 'POST' : 'PUT',
          Buffer.alloc(0),
          0,
          { declaredLength: 8 * MiB, keepAlive: true },
        ),
      );
      await waitFor(() => balancer.inFlightTotal() === idleClients, 'the gateway to see every idle request');
      expect(balancer.status().bodies.bytes).toBe(0);

      const records = await load(jobeHost, { runs: 24, concurrency: 4, questions: makeQuestions(4, 'idle') });
      expectAllCorrect(records);
      const latencies = records.map((record) => record.latencyMs);
      console.log(
        `${idleClients} idle clients: runs p50 ${percentile(latencies, 50).toFixed(0)} ms, ` +
          `p99 ${percentile(latencies, 99).toFixed(0)} ms (${summarize(records).runs} runs)`,
      );

      const answers = await Promise.all(open.map((request) => request.response));
      expect(performance.now() - started).toBeGreaterThanOrEqual(idleMs - 50);
      expect(answers.map((answer) => [answer.status, answer.headers.connection])).toEqual(
        answers.map(() => [408, 'close']),
      );
      await Promise.all(open.map((request) => request.closed));
      expect(balancer.status().bodies).toMatchObject({ bytes: 0, waiting: 0 });
      expect(sims.reduce((sum, sim) => sum + sim.stats().runsServed, 0)).toBe(records.length);
    },
  );

  const UPLOADS = 60;
  /** A PUT of a 1 MiB support file: base64 in JSON. */
  const UPLOAD_BYTES = JSON.stringify({ file_contents: Buffer.alloc(MiB).toString('base64') }).length;
  /** Uploads of a 1 MiB support file that send their first 64 KiB now and the rest on finish(). */
  const startUploads = (jobeHost: string) =>
    Array.from({ length: UPLOADS }, (_, i) => {
      const contents = Buffer.alloc(MiB, `upload ${i} `);
      const body = Buffer.from(JSON.stringify({ file_contents: contents.toString('base64') }));
      return startRequest(
        `${jobeHost}/jobe/index.php/restapi/files/${md5(contents)}`,
        'PUT',
        body,
        64 * 1024,
      );
    });
  /** Uploads left waiting once those that fit in `room` hold it. */
  const waitingFor = (room: number) => UPLOADS - Math.floor(room / UPLOAD_BYTES);

  it('answers runs at once while large uploads fill the shared room and more wait for it', async () => {
    const { jobeHost, balancer } = await start({ bodyIdleTimeoutMs: 60_000, queue: { timeoutMs: 60_000 } });
    open = startUploads(jobeHost);
    // 64 MiB - 8 MiB reserved for small bodies: 41 bodies of 1.33 MiB hold the shared part, 19 wait.
    const waiting = waitingFor(56 * MiB);
    await waitFor(() => balancer.status().bodies.waiting === waiting, 'the uploads that do not fit to wait');

    const records = await load(jobeHost, {
      runs: 24,
      concurrency: 4,
      questions: makeQuestions(4, 'uploads'),
    });
    expectAllCorrect(records);
    expect(balancer.status().bodies.waiting).toBe(waiting);

    for (const upload of open) upload.finish();
    const statuses = await Promise.all(open.map((upload) => upload.status));
    expect(statuses).toEqual(statuses.map(() => 204));
    expect(balancer.status().bodies).toMatchObject({ bytes: 0, waiting: 0 });
  });

  it('makes a run wait behind the uploads when no room is reserved for small bodies', async () => {
    const { jobeHost, balancer } = await start({
      bodyIdleTimeoutMs: 60_000,
      queue: { timeoutMs: 60_000 },
      smallBodyReserveBytes: 0,
    });
    open = startUploads(jobeHost);
    const waiting = waitingFor(64 * MiB);
    await waitFor(() => balancer.status().bodies.waiting === waiting, 'the uploads that do not fit to wait');
    const run = load(jobeHost, { runs: 1, concurrency: 1, questions: makeQuestions(1, 'behind') });
    await waitFor(() => balancer.status().bodies.waiting === waiting + 1, 'the run to wait behind them');

    for (const upload of open) upload.finish();
    expectAllCorrect(await run);
    await Promise.all(open.map((upload) => upload.status));
  });
});
