/**
 * Health and failover, end to end: a CodeRunner-faithful load (POST → 404 → PUT → POST, a new connection per
 * request, support files) through a standalone gateway over three jobe-sim backends, while one of them fails in
 * each of the ways a real Jobe server does. Every run's stdout names the server that ran it and repeats its
 * support files, so a correct answer proves the right files reached the right server.
 */
import { OVERLOAD_BODY, OVERLOAD_TEST_SOURCECODE } from '@jobe-balancer/jobe-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { runLikeCodeRunner } from '../support/coderunner-client.js';
import {
  brief,
  expectAllCorrect,
  expectNoFailedRun,
  type Fleet,
  healthEventAfter,
  makeQuestions,
  ms,
  percentile,
  type RunRecord,
  startFleet,
  startLoad,
  summarize,
  type UpstreamRecord,
  waitFor,
} from '../support/fleet.js';

let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

/** POST runs of student jobs to `backend` that never got an answer from it and failed after `since`. */
function unanswered(f: Fleet, backend: string, since: number): UpstreamRecord[] {
  return f.upstream
    .runsTo(backend)
    .filter((r) => r.answeredAt === undefined && (r.failedAt ?? Number.POSITIVE_INFINITY) >= since);
}

/** The client's records of the runs with these job ids. */
function runsOfJobs(records: readonly RunRecord[], upstream: readonly UpstreamRecord[]): RunRecord[] {
  const jobIds = new Set(upstream.map((r) => r.jobId));
  return records.filter((r) => jobIds.has(r.jobId));
}

/** Waits until the backend is running at least one student run, so that the fault catches some in flight. */
function whileBusy(f: Fleet, backend: string): Promise<void> {
  return waitFor(() => f.sim(backend).stats().activeWorkers > 0, `a run in flight on ${backend}`);
}

describe('failover during a CodeRunner load over 3 jobe-sim backends', () => {
  it('a backend that crashes mid-load costs no run: every output is still correct', async () => {
    fleet = await startFleet();
    const load = startLoad(fleet.jobeHost, {
      runs: 300,
      concurrency: 12,
      questions: makeQuestions(20, 'crash'),
    });
    await load.untilCompleted(100);
    await whileBusy(fleet, 'jobe2');
    const crashedAt = performance.now();
    await fleet.sim('jobe2').fault('crash');
    const records = await load.done;

    expectAllCorrect(records);
    const summary = summarize(records);
    expect(summary.byServer['jobe2']).toBeGreaterThan(0);
    const ejected = healthEventAfter(fleet, 'jobe2', 'ejected', crashedAt);
    expect(ejected).toBeDefined();
    // Runs that were executing on jobe2 when it died were re-run elsewhere (a reset after send: one retry).
    const caught = runsOfJobs(records, unanswered(fleet, 'jobe2', crashedAt));
    expect(caught.length).toBeGreaterThan(0);
    for (const run of caught) expect(run.server).not.toBe('jobe2');
    const afterEjection = records.filter((r) => r.startedAt > ejected!.at && r.server === 'jobe2');
    expect(afterEjection.map(brief), 'runs served by jobe2 after its ejection').toEqual([]);
    expect(fleet.upstream.newJobsTo('jobe2', ejected!.at), 'jobs sent to jobe2 after its ejection').toEqual(
      [],
    );

    const baseline = percentile(
      records.filter((r) => r.endedAt < crashedAt).map((r) => r.latencyMs),
      50,
    );
    console.log(
      `[figure] crash: ${summary.runs} runs, ${summary.failed} failed, ${summary.wrong} wrong; ` +
        `jobe2 ejected ${ms(ejected!.at - crashedAt)} after the crash; ${caught.length} runs caught on it were ` +
        `re-run elsewhere, latency max ${ms(Math.max(...caught.map((r) => r.latencyMs)))} ` +
        `(baseline p50 ${ms(baseline)}); served ${JSON.stringify(summary.byServer)}`,
    );
  });

  it('a backend that hangs is ejected and the runs caught on it are re-dispatched at once', async () => {
    fleet = await startFleet();
    const load = startLoad(fleet.jobeHost, {
      runs: 240,
      concurrency: 12,
      questions: makeQuestions(20, 'hang'),
    });
    await load.untilCompleted(80);
    await whileBusy(fleet, 'jobe2');
    const hungAt = performance.now();
    await fleet.sim('jobe2').fault('hang');
    const records = await load.done;

    expectAllCorrect(records);
    const ejected = healthEventAfter(fleet, 'jobe2', 'ejected', hungAt);
    expect(ejected?.reason).toMatch(/no answer within 250 ms/);
    const detectionMs = ejected!.at - hungAt;
    // 2 probes of 250 ms, 100 ms apart: well under the bound even on a busy 2-core machine.
    expect(detectionMs).toBeLessThan(5000);

    const stuck = unanswered(fleet, 'jobe2', hungAt);
    const inFlightWhenHung = runsOfJobs(
      records,
      stuck.filter((r) => r.startedAt <= hungAt),
    );
    const sentBeforeEjection = runsOfJobs(
      records,
      stuck.filter((r) => r.startedAt > hungAt),
    );
    expect(inFlightWhenHung.length).toBeGreaterThan(0);
    // Abandoned by the ejection itself, not by their 55 s run timeout, and then answered by another backend.
    for (const request of stuck) expect(request.failedAt! - ejected!.at).toBeLessThan(500);
    for (const run of [...inFlightWhenHung, ...sentBeforeEjection]) {
      expect(run.server).not.toBe('jobe2');
      expect(run.endedAt - ejected!.at).toBeLessThan(10_000);
    }
    expect(fleet.upstream.newJobsTo('jobe2', ejected!.at), 'jobs sent to jobe2 after its ejection').toEqual(
      [],
    );

    const baseline = percentile(
      records.filter((r) => r.endedAt < hungAt).map((r) => r.latencyMs),
      50,
    );
    const added = (runs: RunRecord[]) => {
      const extra = runs.map((r) => r.latencyMs - baseline);
      return `p50 ${ms(percentile(extra, 50))}, max ${ms(Math.max(...extra))}`;
    };
    console.log(
      `[figure] hang: jobe2 ejected ${ms(detectionMs)} after it hung (intervalMs 100, timeoutMs 250, ` +
        `failureThreshold 2); the ${inFlightWhenHung.length} run(s) in flight on it when it hung were ` +
        `re-dispatched at the ejection with added latency ${added(inFlightWhenHung)}; with the ` +
        `${sentBeforeEjection.length} runs sent to it before the ejection (its capacity is 8): added latency ` +
        `${added([...inFlightWhenHung, ...sentBeforeEjection])} (baseline run p50 ${ms(baseline)}); ` +
        `${records.length} runs, 0 failed`,
    );
  });

  it('a wedged backend (200, every run fails) is caught by the canary and ejected', async () => {
    fleet = await startFleet({
      balancer: {
        health: {
          // A roomy probe timeout: on a loaded machine a slow probe must not eject the healthy backends
          // too (panic mode would then send runs to the wedged one). The canary is what is tested here.
          timeoutMs: 1000,
          // Outlier detection would usually catch it first (test/e2e/wedged.test.ts).
          outliers: false,
          canary: {
            language_id: 'python3',
            sourcecode: '#sim print ok',
            expectedStdout: 'ok\n',
            intervalMs: 200,
          },
        },
      },
    });
    const load = startLoad(fleet.jobeHost, {
      runs: 240,
      concurrency: 12,
      questions: makeQuestions(20, 'wedged'),
    });
    await load.untilCompleted(80);
    const wedgedAt = performance.now();
    await fleet.sim('jobe2').fault('wedged');
    const records = await load.done;

    // Jobe answers 200 either way: CodeRunner sees no sandbox error, only wrong answers (compile errors).
    expectNoFailedRun(records);
    // The remaining zero-time runs may all be answered before the first canary after the fault (every
    // 200 ms) has run: the ejection is then still to come, and detection is timed from the fault below.
    const { healthEvents } = fleet;
    await waitFor(
      () => healthEvents.some((e) => e.backend === 'jobe2' && e.state === 'ejected' && e.at >= wedgedAt),
      'jobe2 ejected after it wedged',
      5000,
    );
    // On a busy machine a probe may time out first, and the backend may even come back once before the
    // canary catches it: what counts is that it ends ejected by the canary and stays out.
    const events = fleet.healthEvents.filter((e) => e.backend === 'jobe2' && e.at >= wedgedAt);
    const firstEjection = events.find((e) => e.state === 'ejected');
    const lastEjection = [...events].reverse().find((e) => e.state === 'ejected');
    expect(lastEjection, 'jobe2 ejected after it wedged').toBeDefined();
    expect(events.filter((e) => e.state === 'healthy' && e.at > lastEjection!.at)).toEqual([]);
    const status = fleet.balancer.status().backends.find((b) => b.name === 'jobe2')!;
    expect(status.health).toBe('ejected');
    const caughtByCanary =
      events.some((e) => e.state === 'ejected' && e.reason?.startsWith('canary run: outcome 11')) ||
      /^canary run/.test(status.lastError ?? '');
    expect(caughtByCanary, `ejections: ${JSON.stringify(events)}`).toBe(true);
    const detectionMs = firstEjection!.at - wedgedAt;
    // Canary every 200 ms, confirmed at the next 100 ms probe.
    expect(detectionMs).toBeLessThan(5000);

    const wrong = records.filter((r) => !r.correct);
    for (const run of wrong) {
      expect(run.outcome).toBe(11);
      expect(run.startedAt).toBeLessThan(lastEjection!.at);
    }
    // After the ejection no student run goes there, although jobe2 still answers every probe.
    expect(
      fleet.upstream.newJobsTo('jobe2', lastEjection!.at),
      'jobs sent to jobe2 after its ejection',
    ).toEqual([]);
    const wrongAfter = records.filter((r) => r.startedAt > lastEjection!.at && !r.correct);
    expect(wrongAfter.map(brief), 'wrong answers after the ejection').toEqual([]);

    const afterFault = records.filter((r) => r.startedAt >= wedgedAt).length;
    console.log(
      `[figure] wedged: jobe2 ejected by the canary ${ms(detectionMs)} after it wedged (canary every 200 ms, ` +
        `probe every 100 ms, threshold 2); ${wrong.length} of ${afterFault} student runs started after ` +
        `the fault got a wrong answer (outcome 11) before that, none after`,
    );
  });

  it('semaphore 500s fail over: zero failed runs', async () => {
    fleet = await startFleet();
    const load = startLoad(fleet.jobeHost, {
      runs: 240,
      concurrency: 12,
      questions: makeQuestions(20, 'error500'),
    });
    await load.untilCompleted(80);
    await fleet.sim('jobe2').fault('error500');
    const records = await load.done;

    expectAllCorrect(records);
    const semaphoreAnswers = fleet.upstream.runsTo('jobe2').filter((r) => r.status === 500);
    expect(semaphoreAnswers.length).toBeGreaterThanOrEqual(2);
    for (const run of runsOfJobs(records, semaphoreAnswers)) expect(run.server).not.toBe('jobe2');
    console.log(
      `[figure] error500: ${semaphoreAnswers.length} semaphore 500s from jobe2 re-run elsewhere; ` +
        `${records.length} runs, 0 failed`,
    );
  });

  it('when every backend answers overload, the client gets Jobe’s exact outcome-21 body', async () => {
    fleet = await startFleet();
    const run = await runLikeCodeRunner(fleet.jobeHost, {
      language_id: 'python3',
      sourcecode: OVERLOAD_TEST_SOURCECODE,
    });
    expect(run.httpStatus).toBe(200);
    expect(run.body).toBe('{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}');
    expect(run.body).toBe(OVERLOAD_BODY);
    expect(run.error).toBe('SERVER_OVERLOAD');
    // Each backend was asked once (retry.maxAttempts 3 over 3 backends).
    expect(fleet.sims.map((sim) => sim.stats().overloads)).toEqual([1, 1, 1]);
  });

  it('a 400 (cputime 151 above the limit) is passed through and never retried', async () => {
    fleet = await startFleet();
    const run = await runLikeCodeRunner(fleet.jobeHost, {
      language_id: 'python3',
      sourcecode: '#sim print hi',
      parameters: { cputime: 151 },
    });
    expect(run.httpStatus).toBe(400);
    expect(run.error).toBe('JOBE_400_ERROR');
    expect(JSON.parse(run.body)).toBe('cputime exceeds maximum allowed on this Jobe server (120 secs)');
    const badRequests = fleet.sims.map((sim) => sim.stats().badRequests);
    expect(badRequests.reduce((a, b) => a + b, 0)).toBe(1);
    expect(fleet.upstream.records.filter((r) => r.jobId === run.jobId)).toHaveLength(1);
  });

  it('panic mode: with every backend ejected, runs still go to the least bad one', async () => {
    // Two servers are down and the third is so overloaded that its probes time out (400 ms > 250 ms),
    // although it still runs jobs: all three are ejected, and the gateway keeps using the third.
    fleet = await startFleet();
    const questions = makeQuestions(10, 'panic');
    const warmUp = startLoad(fleet.jobeHost, { runs: 20, concurrency: 6, questions });
    await warmUp.done;
    await fleet.sim('jobe1').fault('crash');
    await fleet.sim('jobe2').fault('crash');
    await fleet.sim('jobe3').fault('slow', { latencyMs: 400 });
    const faultAt = performance.now();
    await waitFor(
      () => fleet!.balancer.status().backends.every((b) => b.health === 'ejected'),
      'every backend ejected',
    );
    const panicAt = performance.now();
    const records = await startLoad(fleet.jobeHost, { runs: 36, concurrency: 6, questions }).done;

    expectAllCorrect(records);
    expect(records.every((r) => r.server === 'jobe3')).toBe(true);
    // Runs were sent while all three were ejected (jobe3 may come back for a while once a slow run succeeds).
    const jobe3Back = healthEventAfter(fleet, 'jobe3', 'healthy', panicAt)?.at ?? Number.POSITIVE_INFINITY;
    const panicRuns = fleet.upstream
      .runsTo('jobe3')
      .filter((r) => r.startedAt > panicAt && r.startedAt < jobe3Back);
    expect(panicRuns.length).toBeGreaterThan(0);
    const stillEjected = fleet.healthEvents.some(
      (e) => e.backend === 'jobe3' && e.state === 'ejected' && e.at > panicAt,
    );
    const deadTries = ['jobe1', 'jobe2'].flatMap((name) =>
      fleet!.upstream.runsTo(name).filter((r) => r.startedAt > panicAt),
    );
    console.log(
      `[figure] panic: all 3 backends ejected ${ms(panicAt - faultAt)} after the faults; ${records.length} runs, ` +
        `0 failed, all on jobe3 (slow, ejected again during the load: ${stillEjected}); ` +
        `${deadTries.length} attempts on the 2 dead backends`,
    );
  });
});
