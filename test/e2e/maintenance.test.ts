/**
 * Zero-downtime maintenance, end to end, under a CodeRunner-faithful load through a standalone gateway over
 * jobe-sim backends: drain (API and admin HTTP), maintenance, restart of a crashed server with an empty file
 * cache, adding and removing backends at run time, and the admin endpoints' access rules.
 */
import type { BackendStatus, JobeBalancer } from '@jobe-balancer/core';
import { afterEach, describe, expect, it } from 'vitest';
import {
  brief,
  expectAllCorrect,
  type Fleet,
  healthEventAfter,
  makeQuestions,
  ms,
  startFleet,
  startLoad,
  summarize,
  waitFor,
} from '../support/fleet.js';

const TOKEN = 'admin-token-for-tests';

let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

function backendStatus(balancer: JobeBalancer, name: string): BackendStatus | undefined {
  return balancer.status().backends.find((b) => b.name === name);
}

/** Resolves with the time the balancer next emits `drained` for `name`. */
function nextDrained(balancer: JobeBalancer, name: string, timeoutMs = 10_000): Promise<number> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      balancer.off('drained', listener);
      reject(new Error(`${name} did not drain within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (drained: string) => {
      if (drained !== name) return;
      clearTimeout(timer);
      balancer.off('drained', listener);
      resolve(performance.now());
    };
    balancer.on('drained', listener);
  });
}

interface AdminAnswer {
  status: number;
  text: string;
  json: unknown;
}

async function admin(
  f: Fleet,
  method: string,
  path: string,
  options: { token?: string | null; body?: unknown } = {},
): Promise<AdminAnswer> {
  const token = options.token === undefined ? TOKEN : options.token;
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${f.adminUrl}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
  });
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json };
}

/** Waits until the backend is running at least one student run. */
function whileBusy(f: Fleet, backend: string): Promise<void> {
  return waitFor(() => f.sim(backend).stats().activeWorkers > 0, `a run in flight on ${backend}`);
}

describe('zero-downtime maintenance under a CodeRunner load over 3 jobe-sim backends', () => {
  it('drain (API): in-flight runs finish, then no new job; ready again takes work', async () => {
    fleet = await startFleet();
    const { balancer } = fleet;
    const questions = makeQuestions(15, 'drain-api');
    const load = startLoad(fleet.jobeHost, { runs: 180, concurrency: 12, questions });
    // By then the gateway holds every question's files: no client is mid-way through a 404 → PUT cycle.
    await load.untilCompleted(60);
    await whileBusy(fleet, 'jobe2');
    const drained = nextDrained(balancer, 'jobe2');
    const drainAt = performance.now();
    balancer.setBackendState('jobe2', 'drain');
    expect(backendStatus(balancer, 'jobe2')!.inFlight).toBeGreaterThan(0);
    const drainedAt = await drained;
    expect(backendStatus(balancer, 'jobe2')!.inFlight).toBe(0);
    const servedWhenDrained = fleet.sim('jobe2').stats().runsServed;
    const records = await load.done;
    // Runs that all start once the backend is drained (how many of the first load's did depends on the
    // machine's speed).
    const afterDrained = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;

    expectAllCorrect(records);
    expectAllCorrect(afterDrained);
    expect(afterDrained).toHaveLength(60);
    expect(afterDrained.filter((r) => r.server === 'jobe2')).toEqual([]);
    expect(fleet.sim('jobe2').stats().runsServed).toBe(servedWhenDrained);
    expect(
      fleet.upstream.runsTo('jobe2').filter((r) => r.startedAt > drainedAt),
      'runs to jobe2 once drained',
    ).toEqual([]);
    expect(records.filter((r) => r.startedAt > drainedAt && r.server === 'jobe2')).toEqual([]);

    balancer.setBackendState('jobe2', 'ready');
    const again = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;
    expectAllCorrect(again);
    expect(summarize(again).byServer['jobe2']).toBeGreaterThan(0);
    expect(fleet.sim('jobe2').stats().runsServed).toBeGreaterThan(servedWhenDrained);
    console.log(
      `[figure] drain (API): jobe2 drained ${ms(drainedAt - drainAt)} after drain was set; ` +
        `${records.length} runs, 0 failed; 0 runs sent to it after that; after ready it served ` +
        `${summarize(again).byServer['jobe2']} of ${again.length}`,
    );
  });

  it('drain (admin HTTP): POST drain, GET drained, then no new job; POST ready takes work again', async () => {
    fleet = await startFleet({ balancer: { admin: { token: TOKEN } } });
    const questions = makeQuestions(15, 'drain-http');
    const load = startLoad(fleet.jobeHost, { runs: 180, concurrency: 12, questions });
    await load.untilCompleted(60);
    await whileBusy(fleet, 'jobe2');
    const drainEvent = nextDrained(fleet.balancer, 'jobe2');
    const drain = await admin(fleet, 'POST', '/backends/jobe2/drain');
    expect(drain.status).toBe(200);
    expect(drain.json).toMatchObject({ name: 'jobe2', adminState: 'drain' });
    const drained = await admin(fleet, 'GET', '/backends/jobe2/drained?timeoutMs=10000');
    const drainedAt = performance.now();
    expect(drained.status).toBe(200);
    expect(drained.json).toMatchObject({ name: 'jobe2', adminState: 'drain', inFlight: 0 });
    await drainEvent;
    const servedWhenDrained = fleet.sim('jobe2').stats().runsServed;
    const records = await load.done;

    expectAllCorrect(records);
    expect(fleet.sim('jobe2').stats().runsServed).toBe(servedWhenDrained);
    expect(
      fleet.upstream.runsTo('jobe2').filter((r) => r.startedAt > drainedAt),
      'runs to jobe2 once drained',
    ).toEqual([]);

    const ready = await admin(fleet, 'POST', '/backends/jobe2/ready');
    expect(ready.status).toBe(200);
    expect(ready.json).toMatchObject({ name: 'jobe2', adminState: 'ready' });
    const again = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;
    expectAllCorrect(again);
    expect(summarize(again).byServer['jobe2']).toBeGreaterThan(0);
  });

  it('maint: no traffic at all reaches the backend, not even health probes', async () => {
    fleet = await startFleet();
    const { balancer } = fleet;
    const questions = makeQuestions(15, 'maint');
    const load = startLoad(fleet.jobeHost, { runs: 180, concurrency: 12, questions });
    await load.untilCompleted(60);
    balancer.setBackendState('jobe2', 'maint');
    // Runs already there finish; a probe already sent may still be answered.
    await balancer.waitForDrained('jobe2', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const quietFrom = performance.now();
    const requestsThen = fleet.sim('jobe2').stats().requests;
    const records = await load.done;
    // Runs that all start after the backend went quiet (how many of the first load's did depends on the
    // machine's speed), over several probe intervals (100 ms).
    const afterQuiet = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;
    await new Promise((resolve) => setTimeout(resolve, 300));

    expectAllCorrect(records);
    expectAllCorrect(afterQuiet);
    expect(afterQuiet).toHaveLength(60);
    expect(fleet.sim('jobe2').stats().requests).toBe(requestsThen);
    expect(fleet.upstream.records.filter((r) => r.backend === 'jobe2' && r.startedAt > quietFrom)).toEqual(
      [],
    );

    // Leaving maintenance, the gateway looks again (a probe) before it sends work.
    balancer.setBackendState('jobe2', 'ready');
    const again = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;
    expectAllCorrect(again);
    expect(summarize(again).byServer['jobe2']).toBeGreaterThan(0);
  });

  it('a crashed backend, restarted with an empty file cache, is used again and refilled by the gateway', async () => {
    fleet = await startFleet();
    const questions = makeQuestions(10, 'restart');
    const jobe2 = fleet.sim('jobe2');
    const load = startLoad(fleet.jobeHost, { runs: 120, concurrency: 12, questions });
    await load.untilCompleted(40);
    await whileBusy(fleet, 'jobe2');
    const crashedAt = performance.now();
    await jobe2.fault('crash');
    const records = await load.done;
    expectAllCorrect(records);
    expect(healthEventAfter(fleet, 'jobe2', 'ejected', crashedAt)).toBeDefined();
    expect(backendStatus(fleet.balancer, 'jobe2')!.health).toBe('ejected');

    const restartedAt = performance.now();
    await jobe2.recover({ clearFiles: true });
    const fileIds = questions.flatMap((q) => q.fileIds);
    expect(fileIds.filter((id) => jobe2.hasFile(id))).toEqual([]);
    await waitFor(
      () => healthEventAfter(fleet!, 'jobe2', 'healthy', restartedAt) !== undefined,
      'jobe2 healthy',
    );
    const healthyAt = healthEventAfter(fleet, 'jobe2', 'healthy', restartedAt)!.at;
    const putsBefore = jobe2.stats().puts;

    const again = await startLoad(fleet.jobeHost, { runs: 120, concurrency: 12, questions }).done;
    expectAllCorrect(again);
    // The gateway already holds every file: no client uploads anything.
    expect(again.filter((r) => r.puts !== 0).map(brief)).toEqual([]);
    const onJobe2 = again.filter((r) => r.server === 'jobe2');
    expect(onJobe2.length).toBeGreaterThan(0);
    const refilled = questions.filter((q) => onJobe2.some((r) => r.question === q.index));
    for (const question of refilled) for (const id of question.fileIds) expect(jobe2.hasFile(id)).toBe(true);
    const gatewayPuts = jobe2.stats().puts - putsBefore;
    expect(gatewayPuts).toBeGreaterThanOrEqual(2 * refilled.length);
    console.log(
      `[figure] restart: jobe2 healthy again ${ms(healthyAt - restartedAt)} after its restart ` +
        `(ejection 300 ms doubling, probe every 100 ms); it then ran ${onJobe2.length} of ${again.length} runs, ` +
        `its empty cache refilled by ${gatewayPuts} gateway PUTs for ${refilled.length} questions, 0 client PUTs`,
    );
  });

  it('adds and removes backends at run time (API) without a failed run', async () => {
    fleet = await startFleet();
    const { balancer } = fleet;
    const jobe4 = await fleet.startSim('jobe4');
    const questions = makeQuestions(15, 'add-remove');
    const load = startLoad(fleet.jobeHost, { runs: 300, concurrency: 12, questions });
    await load.untilCompleted(60);
    const addedAt = performance.now();
    balancer.addBackend({ name: 'jobe4', url: jobe4.url, maxConcurrent: 8 });
    await waitFor(() => healthEventAfter(fleet!, 'jobe4', 'healthy', addedAt) !== undefined, 'jobe4 healthy');
    await load.untilCompleted(150);
    await balancer.removeBackend('jobe3');
    const removedAt = performance.now();
    const jobe3Requests = fleet.sim('jobe3').stats().requests;
    const records = await load.done;

    expectAllCorrect(records);
    expect(summarize(records).byServer['jobe4']).toBeGreaterThan(0);
    expect(fleet.upstream.records.filter((r) => r.backend === 'jobe3' && r.startedAt > removedAt)).toEqual(
      [],
    );
    expect(fleet.sim('jobe3').stats().requests).toBe(jobe3Requests);
    expect(records.filter((r) => r.startedAt > removedAt && r.server === 'jobe3')).toEqual([]);
    expect(balancer.status().backends.map((b) => b.name)).toEqual(['jobe1', 'jobe2', 'jobe4']);
  });

  it('adds and removes backends through the admin HTTP endpoints', async () => {
    fleet = await startFleet({ balancer: { admin: { token: TOKEN } } });
    const jobe4 = await fleet.startSim('jobe4');
    const questions = makeQuestions(10, 'admin-add');

    const added = await admin(fleet, 'POST', '/backends', {
      body: { name: 'jobe4', url: jobe4.url, apiKey: 'jobe4-secret-api-key', maxConcurrent: 8 },
    });
    expect(added.status).toBe(201);
    expect(added.json).toMatchObject({ name: 'jobe4', adminState: 'ready' });
    expect(added.text).not.toContain('jobe4-secret-api-key');
    const duplicate = await admin(fleet, 'POST', '/backends', { body: { name: 'jobe4', url: jobe4.url } });
    expect(duplicate.status).toBe(400);
    await waitFor(() => backendStatus(fleet!.balancer, 'jobe4')?.health === 'healthy', 'jobe4 healthy');

    const records = await startLoad(fleet.jobeHost, { runs: 120, concurrency: 12, questions }).done;
    expectAllCorrect(records);
    expect(summarize(records).byServer['jobe4']).toBeGreaterThan(0);

    const removed = await admin(fleet, 'DELETE', '/backends/jobe4');
    expect(removed.status).toBe(200);
    expect(removed.json).toEqual({ removed: 'jobe4' });
    const removedAt = performance.now();
    const listed = await admin(fleet, 'GET', '/backends');
    expect((listed.json as BackendStatus[]).map((b) => b.name)).toEqual(['jobe1', 'jobe2', 'jobe3']);
    expect((await admin(fleet, 'DELETE', '/backends/jobe4')).status).toBe(404);

    const after = await startLoad(fleet.jobeHost, { runs: 60, concurrency: 12, questions }).done;
    expectAllCorrect(after);
    expect(after.filter((r) => r.server === 'jobe4')).toEqual([]);
    expect(fleet.upstream.records.filter((r) => r.backend === 'jobe4' && r.startedAt > removedAt)).toEqual(
      [],
    );
  });
});

describe('admin endpoints', () => {
  it('are 404 without a configured token', async () => {
    fleet = await startFleet();
    for (const [method, path] of [
      ['POST', '/backends/jobe2/drain'],
      ['POST', '/backends/jobe2/maint'],
      ['GET', '/backends/jobe2/drained'],
      ['GET', '/backends'],
      ['POST', '/backends'],
      ['DELETE', '/backends/jobe2'],
      ['GET', '/status'],
    ] as const) {
      const answer = await admin(fleet, method, path, {
        token: 'anything',
        ...(method === 'POST' && path === '/backends'
          ? { body: { name: 'x', url: 'http://127.0.0.1:1' } }
          : {}),
      });
      expect([method, path, answer.status]).toEqual([method, path, 404]);
    }
    expect(fleet.balancer.status().backends.map((b) => [b.name, b.adminState])).toEqual([
      ['jobe1', 'ready'],
      ['jobe2', 'ready'],
      ['jobe3', 'ready'],
    ]);
  });

  it('are 401 with a wrong or missing token, and change nothing', async () => {
    fleet = await startFleet({ balancer: { admin: { token: TOKEN } } });
    for (const token of ['wrong-token', `${TOKEN}x`, '', null]) {
      for (const [method, path] of [
        ['POST', '/backends/jobe2/drain'],
        ['POST', '/backends/jobe2/maint'],
        ['GET', '/backends/jobe2/drained'],
        ['GET', '/backends'],
        ['DELETE', '/backends/jobe2'],
        ['GET', '/status'],
      ] as const) {
        const answer = await admin(fleet, method, path, { token });
        expect([token, method, path, answer.status]).toEqual([token, method, path, 401]);
      }
    }
    expect(fleet.balancer.status().backends.map((b) => [b.name, b.adminState])).toEqual([
      ['jobe1', 'ready'],
      ['jobe2', 'ready'],
      ['jobe3', 'ready'],
    ]);
  });

  it('never show a backend’s apiKey in status, backend lists or metrics', async () => {
    const keys = { jobe1: 'key-one-0123456789', jobe2: 'key-two-0123456789', jobe3: 'key-three-0123456789' };
    fleet = await startFleet({
      balancer: { admin: { token: TOKEN } },
      backendOptions: {
        jobe1: { apiKey: keys.jobe1 },
        jobe2: { apiKey: keys.jobe2 },
        jobe3: { apiKey: keys.jobe3 },
      },
    });
    const records = await startLoad(fleet.jobeHost, {
      runs: 12,
      concurrency: 4,
      questions: makeQuestions(3, 'keys'),
    }).done;
    expectAllCorrect(records);
    const answers = [
      await admin(fleet, 'GET', '/status'),
      await admin(fleet, 'GET', '/backends'),
      await admin(fleet, 'GET', '/backends/jobe2'),
      await admin(fleet, 'POST', '/backends/jobe2/check'),
      await admin(fleet, 'GET', '/metrics'),
    ];
    for (const answer of answers) {
      expect(answer.status).toBe(200);
      for (const key of Object.values(keys)) expect(answer.text).not.toContain(key);
      expect(answer.text).not.toMatch(/api_?key/i);
    }
    expect(JSON.stringify(fleet.balancer.status())).not.toMatch(/key-(one|two|three)/);
  });
});
