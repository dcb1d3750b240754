import { type BalancerOptions, silentLogger } from '@jobe-balancer/core';
import { type JobeSim, type JobeSimOptions, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { startFleet, waitFor } from '../support/fleet.js';
import type { GatewayHandle } from '../support/gateway-factory.js';
import { standalone } from '../support/gateways.js';
import { sendOnNewConnection, type WireResponse } from '../support/http.js';

/** Jobe's own answer when no worker frees up in time: what the gateway must send when its queue gives up. */
const JOBE_OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';

let sims: JobeSim[] = [];
let gateway: GatewayHandle | undefined;

afterEach(async () => {
  await gateway?.close();
  gateway = undefined;
  await Promise.all(sims.map((sim) => sim.close()));
  sims = [];
});

/** jobe-sims of their own sizes behind the standalone gateway, with the backend options given. */
async function startGatewayOver(
  simOptions: JobeSimOptions[],
  backends: (sims: JobeSim[]) => BalancerOptions['backends'],
  extra: Partial<BalancerOptions> = {},
): Promise<GatewayHandle> {
  sims = await Promise.all(
    simOptions.map((options, i) => startJobeSim({ name: `jobe${i + 1}`, ...options })),
  );
  gateway = await standalone.start({
    backends: backends(sims),
    logger: silentLogger,
    slowStartMs: 0,
    // These tests count every run a jobe-sim serves: no canary runs among them.
    health: { canary: false },
    ...extra,
  });
  await gateway.balancer.checkNow();
  return gateway;
}

/** One CodeRunner test run (no files), with its own job id, on a new connection. */
function run(jobeHost: string, jobId: string, sourcecode: string): Promise<WireResponse> {
  return sendOnNewConnection({
    url: `${jobeHost}/jobe/index.php/restapi/runs`,
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-CodeRunner-Job-Id': jobId },
    body: JSON.stringify({ run_spec: { language_id: 'python3', sourcecode } }),
  });
}

const outcomeOf = (response: WireResponse) =>
  response.status === 200 ? (JSON.parse(response.body.toString()) as { outcome: number }).outcome : null;

/** The outcomes of `count` runs sent at once, job ids counted up from `firstJobId`. */
async function outcomesAtOnce(jobeHost: string, count: number, firstJobId: number, sourcecode: string) {
  const answers = await Promise.all(
    Array.from({ length: count }, (_, i) =>
      run(jobeHost, (firstJobId + i).toString(16).padStart(8, '0'), sourcecode),
    ),
  );
  return answers.map(outcomeOf);
}

/** Resolves to the order in which the given requests were answered. */
function answerOrder(requests: Record<string, Promise<unknown>>): Promise<string[]> {
  const order: string[] = [];
  return Promise.all(Object.entries(requests).map(([name, p]) => p.then(() => order.push(name)))).then(
    () => order,
  );
}

describe('capacity-aware scheduling over jobe-sim backends', () => {
  it('never sends a backend more runs than its capacity; the rest wait at the gateway, none overloads', async () => {
    // These servers give up on a free worker after one try of 10 ms (Jobe: 10 tries of 1 s), so a run the
    // gateway sent to a full server shows up as an overload answer at once.
    const fast = { pollMs: 10, waitTimeout: 1 };
    const g = await startGatewayOver(
      [
        { workers: 2, ...fast },
        { workers: 3, ...fast },
      ],
      ([a, b]) => [
        { name: a!.name, url: a!.url, maxConcurrent: 2 },
        { name: b!.name, url: b!.url, maxConcurrent: 3 },
      ],
    );
    expect(await outcomesAtOnce(g.jobeHost, 20, 0x100, '#sim sleep 120')).toEqual(Array(20).fill(15));
    expect(sims.map((sim) => sim.stats().peakWorkers)).toEqual([2, 3]);
    expect(sims.map((sim) => sim.stats().overloads)).toEqual([0, 0]);
    expect(sims.reduce((sum, sim) => sum + sim.stats().runsServed, 0)).toBe(20);
  });

  it('answers a run that waited past the queue timeout, and one that found the queue full, with Jobe’s overload body', async () => {
    const g = await startGatewayOver(
      [{ workers: 1 }],
      ([a]) => [{ name: a!.name, url: a!.url, maxConcurrent: 1 }],
      {
        queue: { maxLength: 1, timeoutMs: 300 },
      },
    );
    const running = run(g.jobeHost, '00000a01', '#sim sleep 1500\n#sim print long');
    await waitFor(() => g.balancer.status().backends[0]!.inFlight === 1, 'the first run in flight');
    const queued = run(g.jobeHost, '00000a02', '#sim print queued');
    await waitFor(() => g.balancer.status().queue.length === 1, 'a run in the queue');
    const refused = run(g.jobeHost, '00000a03', '#sim print refused');

    const order = await answerOrder({ running, queued, refused });
    // The full queue answers at once, the timed-out run after 300 ms: both before the running run ends.
    expect(order).toEqual(['refused', 'queued', 'running']);
    for (const response of [await queued, await refused]) {
      expect(response.status).toBe(200);
      expect(response.body.toString()).toBe(JOBE_OVERLOAD_BODY);
      expect(response.headers['content-type']).toBe('application/json; charset=UTF-8');
    }
    expect(outcomeOf(await running)).toBe(15);
    // Neither waited inside Jobe: the backend never saw them.
    expect(sims[0]!.stats().runsServed).toBe(1);
    expect(sims[0]!.stats().overloads).toBe(0);
  });

  it('starts a queued run the moment a worker frees; GET languages, PUT and HEAD never wait behind runs', async () => {
    const g = await startGatewayOver([{ workers: 1 }], ([a]) => [
      { name: a!.name, url: a!.url, maxConcurrent: 1 },
    ]);
    const first = run(g.jobeHost, '00000b01', '#sim sleep 800\n#sim print first');
    await waitFor(() => g.balancer.status().backends[0]!.inFlight === 1, 'the first run in flight');
    const second = run(g.jobeHost, '00000b02', '#sim print second');
    await waitFor(() => g.balancer.status().queue.length === 1, 'a run in the queue');
    const api = `${g.jobeHost}/jobe/index.php/restapi`;
    const languages = sendOnNewConnection({ url: `${api}/languages`, method: 'GET', headers: {} });
    // A CodeRunner upload (job id: forwarded to the backend) and a test script's HEAD (answered by the gateway).
    const put = sendOnNewConnection({
      url: `${api}/files/${'f'.repeat(32)}`,
      method: 'PUT',
      headers: { 'Content-Type': 'application/json; charset=utf-8', 'X-CodeRunner-Job-Id': '00000b03' },
      body: JSON.stringify({ file_contents: Buffer.from('data').toString('base64') }),
    });
    const headAfterPut = put.then(() =>
      sendOnNewConnection({ url: `${api}/files/${'f'.repeat(32)}`, method: 'HEAD', headers: {} }),
    );
    const order = await answerOrder({ first, second, languages, headAfterPut });
    expect(order.slice(-2)).toEqual(['first', 'second']);
    expect((await languages).status).toBe(200);
    expect([(await put).status, (await headAfterPut).status]).toEqual([204, 204]);
    expect(sims[0]!.hasFile('f'.repeat(32))).toBe(true);
    expect([outcomeOf(await first), outcomeOf(await second)]).toEqual([15, 15]);
    expect(sims[0]!.stats().overloads).toBe(0);
  });

  it('gives a backend of weight 3 about three times the new jobs of one of weight 1', async () => {
    const g = await startGatewayOver([{ workers: 16 }, { workers: 16 }], ([a, b]) => [
      { name: a!.name, url: a!.url, weight: 1 },
      { name: b!.name, url: b!.url, weight: 3 },
    ]);
    // One at a time, so every backend is idle and the weighted rendezvous order alone decides.
    for (let i = 0; i < 200; i++) {
      expect(outcomeOf(await run(g.jobeHost, (0x1000_0000 + i * 7919).toString(16), '#sim print w'))).toBe(
        15,
      );
    }
    const served = sims.map((sim) => sim.stats().runsServed);
    expect(served[0]! + served[1]!).toBe(200);
    expect(served[1]! / 200).toBeGreaterThan(0.65);
    expect(served[1]! / 200).toBeLessThan(0.85);
  });

  it('lowers the capacity of a backend that answers overload below its configured capacity, with no run lost', async () => {
    // jobe1 really has 2 workers but is configured with 6; its 21 comes after 2 tries of 20 ms.
    const g = await startGatewayOver(
      [{ workers: 2, pollMs: 20, waitTimeout: 2 }, { workers: 8 }],
      ([a, b]) => [
        { name: a!.name, url: a!.url, maxConcurrent: 6 },
        { name: b!.name, url: b!.url, maxConcurrent: 8 },
      ],
    );
    expect(await outcomesAtOnce(g.jobeHost, 24, 0x200, '#sim sleep 200')).toEqual(Array(24).fill(15));
    expect(sims[0]!.stats().overloads).toBeGreaterThan(0);
    const jobe1 = g.balancer.status().backends.find((backend) => backend.name === 'jobe1')!;
    expect(jobe1.capacity).toBe(6);
    expect(jobe1.effectiveCapacity).toBeLessThan(6);
  });

  it('ramps a recovered backend up slowly (slow start) instead of sending it a full share at once', async () => {
    const fleet = await startFleet({ backends: 2, workers: 4, balancer: { slowStartMs: 4000 } });
    try {
      const { balancer } = fleet;
      const capacityOf = (name: string) => balancer.status().backends.find((b) => b.name === name)!;
      // A backend that has just joined starts slowly too: wait until both take their full 4.
      await waitFor(
        () => balancer.status().backends.every((b) => b.effectiveCapacity === 4),
        'both at full capacity',
      );
      const jobe2 = fleet.sim('jobe2');
      await jobe2.fault('crash');
      await waitFor(() => capacityOf('jobe2').health === 'ejected', 'jobe2 ejected');
      await jobe2.recover();
      await waitFor(() => capacityOf('jobe2').health === 'healthy', 'jobe2 healthy again');
      expect(capacityOf('jobe2').effectiveCapacity).toBeLessThan(4);
      for (const sim of fleet.sims) sim.resetStats();

      expect(await outcomesAtOnce(fleet.jobeHost, 8, 0x300, '#sim sleep 300')).toEqual(Array(8).fill(15));
      expect(jobe2.stats().peakWorkers).toBeGreaterThan(0);
      expect(jobe2.stats().peakWorkers).toBeLessThanOrEqual(2);
      expect(fleet.sim('jobe1').stats().peakWorkers).toBe(4);

      await waitFor(() => capacityOf('jobe2').effectiveCapacity === 4, 'jobe2 ramped up', 8000);
      for (const sim of fleet.sims) sim.resetStats();
      expect(await outcomesAtOnce(fleet.jobeHost, 8, 0x400, '#sim sleep 300')).toEqual(Array(8).fill(15));
      expect(fleet.sims.map((sim) => sim.stats().peakWorkers)).toEqual([4, 4]);
      expect(fleet.sims.map((sim) => sim.stats().overloads)).toEqual([0, 0]);
    } finally {
      await fleet.close();
    }
  });
});
