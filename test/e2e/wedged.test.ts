/**
 * A "wedged" Jobe (HTTP 200 in a few ms, every run a sandbox failure) under an exam-like CodeRunner load of
 * 10 runs/s with a mix of outcomes. Being the fastest, it draws most of the runs; outlier detection (its
 * failures against its peers' on the same minutes) must eject it within a handful of wrong answers, while a
 * question nobody can solve (every backend's runs fail alike) must eject nobody.
 */
import { createBalancer, silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { type Fleet, ms, percentile, simOptions, startFleet, waitFor } from '../support/fleet.js';
import { type RunKind, startMixedLoad } from '../support/mixed-load.js';

let fleet: Fleet | undefined;
const cleanups: Array<() => Promise<void>> = [];

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** The default health settings (probe every 2 s, canary every 10 s): what catches the wedge is the point. */
const PRODUCTION_HEALTH = { intervalMs: 2000, timeoutMs: 2000, failureThreshold: 2, baseEjectionMs: 2000 };

/** 80 % correct programs, 15 % compile errors, 5 % runtime errors, in a fixed pseudo-random order. */
const studentMix = (index: number): RunKind => {
  const r = (index * 37) % 100;
  return r < 80 ? 'ok' : r < 95 ? 'compile' : 'runtime';
};
/** 80 to 400 ms on a healthy Jobe, as a short Python test run. */
const runDuration = (index: number) => 80 + ((index * 53) % 321);
const sleep = (msToWait: number) => new Promise((resolve) => setTimeout(resolve, msToWait));

function outlierMetric(text: string): string[] {
  return text.split('\n').filter((line) => line.startsWith('jobe_balancer_outlier_detections_total{'));
}

describe('a wedged backend under an exam load of 10 runs/s', () => {
  it('is ejected by outlier detection after fewer than 10 wrong answers', async () => {
    fleet = await startFleet({ balancer: { health: PRODUCTION_HEALTH } });
    const load = startMixedLoad(fleet.jobeHost, {
      runsPerSecond: 10,
      kindOf: studentMix,
      durationMs: runDuration,
    });
    await sleep(4000);
    const wedgedAt = performance.now();
    await fleet.sim('jobe2').fault('wedged');
    const ejected = () =>
      fleet!.healthEvents.find((e) => e.backend === 'jobe2' && e.state === 'ejected' && e.at >= wedgedAt);
    await waitFor(() => ejected() !== undefined, 'jobe2 ejected after it wedged', 15_000);
    await sleep(3000);
    const runs = await load.stop();

    const ejection = ejected()!;
    expect(ejection.reason).toMatch(/^outlier: /);
    const wrong = runs.filter((r) => !r.correct);
    // Every wrong answer is the wedged backend's, and none started after its ejection.
    expect(wrong.filter((r) => !r.sandboxFailure)).toEqual([]);
    expect(wrong.filter((r) => r.startedAt > ejection.at)).toEqual([]);
    expect(wrong.length).toBeLessThan(10);
    expect(runs.filter((r) => r.httpStatus !== 200)).toEqual([]);
    // It stays out: its canary fails at every check.
    expect(fleet.balancer.status().backends.find((b) => b.name === 'jobe2')!.health).toBe('ejected');
    const metrics = await (await fetch(`${fleet.adminUrl}/metrics`)).text();
    expect(metrics).toMatch(/jobe_balancer_backend_ejections_total\{backend="jobe2",cause="outlier"\} 1/);

    const afterFault = runs.filter((r) => r.startedAt >= wedgedAt && r.startedAt <= ejection.at);
    console.log(
      `[figure] wedged at 10 runs/s (80% ok, 15% compile errors, 5% runtime errors): jobe2 ejected by ` +
        `outlier detection ${ms(ejection.at - wedgedAt)} after it wedged, ${wrong.length} wrong answers ` +
        `(of ${afterFault.length} runs started meanwhile); reason: ${ejection.reason}`,
    );
  });

  it('ejects nobody when every backend returns the same compile errors (a question nobody can solve)', async () => {
    fleet = await startFleet({ balancer: { health: PRODUCTION_HEALTH } });
    let nobodyCanSolve = false;
    const load = startMixedLoad(fleet.jobeHost, {
      runsPerSecond: 10,
      // First the usual mix, then the whole fleet at once: 85 % compile errors, 15 % runtime errors.
      kindOf: (index) => (nobodyCanSolve ? (index % 7 === 0 ? 'runtime' : 'compile') : studentMix(index)),
      durationMs: runDuration,
    });
    await sleep(3000);
    nobodyCanSolve = true;
    await sleep(7000);
    const runs = await load.stop();

    expect(fleet.healthEvents.filter((e) => e.state === 'ejected')).toEqual([]);
    expect(runs.filter((r) => !r.correct)).toEqual([]);
    const failing = runs.filter((r) => r.kind !== 'ok').length;
    const metrics = outlierMetric(await (await fetch(`${fleet.adminUrl}/metrics`)).text());
    expect(metrics.filter((line) => line.includes('action="ejected"'))).toEqual([]);
    const latencies = runs.map((r) => r.endedAt - r.startedAt);
    console.log(
      `[figure] a question nobody can solve at 10 runs/s: ${runs.length} runs (${failing} compile/runtime ` +
        `errors on every backend), 0 ejections; outlier suspicions refuted by the canary: ` +
        `${metrics.length === 0 ? 'none' : metrics.join(', ')}; run p50 ${ms(percentile(latencies, 50))}, ` +
        `p99 ${ms(percentile(latencies, 99))}`,
    );
  });
});

describe('the default canary', () => {
  it('keeps a backend wedged before the gateway started out of rotation before any run reaches it', async () => {
    const sims: JobeSim[] = [];
    for (const name of ['jobe1', 'jobe2']) sims.push(await startJobeSim(simOptions(name, 4)));
    cleanups.push(async () => void (await Promise.all(sims.map((sim) => sim.close()))));
    await sims[1]!.fault('wedged');
    // No canary configured: the default one (python3, printing 42) applies.
    const balancer = createBalancer({
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      logger: silentLogger,
      slowStartMs: 0,
    });
    cleanups.unshift(() => balancer.close(1000));
    await balancer.checkNow();
    const wedged = balancer.status().backends.find((b) => b.name === 'jobe2')!;
    expect(wedged.health).toBe('ejected');
    expect(wedged.lastError).toMatch(/^canary run: outcome 11/);
    expect(balancer.status().backends.find((b) => b.name === 'jobe1')!.health).toBe('healthy');
  });

  it('passes on a healthy jobe-sim, which answers the program the way a real Jobe does', async () => {
    const sim = await startJobeSim(simOptions('jobe1', 1));
    cleanups.push(() => sim.close());
    const balancer = createBalancer({
      backends: [{ name: 'jobe1', url: sim.url }],
      logger: silentLogger,
      slowStartMs: 0,
    });
    cleanups.unshift(() => balancer.close(1000));
    await balancer.checkNow();
    expect(balancer.status().backends[0]!.health).toBe('healthy');
    expect(sim.stats().runsServed).toBe(1);
  });
});
