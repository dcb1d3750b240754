/**
 * A broken backend that answers runs with outcome numbers Jobe never sends must not grow the gateway's
 * outcome counts (status, per backend, and the metric's label set) by one key per number.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { runLikeCodeRunner } from '../support/coderunner-client.js';
import { type Fleet, startFleet } from '../support/fleet.js';

let fleet: Fleet | undefined;

afterEach(async () => {
  await fleet?.close();
  fleet = undefined;
});

const JOBE_OUTCOMES = ['0', '11', '12', '13', '15', '17', '19', '20', '21', '30', '31'];

describe('outcome counts', () => {
  it('count outcomes Jobe never sends as "other", however many distinct numbers arrive', async () => {
    fleet = await startFleet({ backends: 2, balancer: { health: { canary: false, outliers: false } } });
    const DISTINCT = 300;
    for (let start = 0; start < DISTINCT; start += 50) {
      const runs = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          runLikeCodeRunner(fleet!.jobeHost, {
            language_id: 'python3',
            sourcecode: `#sim outcome ${1000 + start + i}`,
          }),
        ),
      );
      // Passed through to the client as the backend sent it.
      expect(runs.map((run) => run.result?.outcome)).toEqual(runs.map((_, i) => 1000 + start + i));
    }
    const ok = await runLikeCodeRunner(fleet.jobeHost, {
      language_id: 'python3',
      sourcecode: '#sim print hi',
    });
    expect(ok.result?.outcome).toBe(15);

    const status = fleet.balancer.status();
    expect(status.outcomes).toEqual({ other: DISTINCT, '15': 1 });
    const perBackend = status.backends.flatMap((backend) => Object.keys(backend.outcomes));
    expect(perBackend.every((key) => key === 'other' || JOBE_OUTCOMES.includes(key))).toBe(true);
    const metrics = await (await fetch(`${fleet.adminUrl}/metrics`)).text();
    const labels = [...metrics.matchAll(/^jobe_balancer_run_outcomes_total\{outcome="([^"]+)"\}/gm)].map(
      (match) => match[1],
    );
    expect(labels.sort()).toEqual(['15', 'other']);
  });
});
