/**
 * A run that every healthy backend answered with overload (outcome 21) gets Jobe's overload answer at once:
 * it is not sent on to a backend that was already ejected, where a frozen server would hold it for the
 * whole run timeout (55 s by default) before the student saw anything.
 */
import { OVERLOAD_BODY } from '@jobe-balancer/jobe-sim';
import { afterEach, describe, expect, it } from 'vitest';
import { runLikeCodeRunner } from '../support/coderunner-client.js';
import { type Fleet, ms, startFleet, waitFor } from '../support/fleet.js';

let fleet: Fleet | undefined;
const occupiers: AbortController[] = [];

afterEach(async () => {
  for (const controller of occupiers.splice(0)) controller.abort();
  await fleet?.close();
  fleet = undefined;
});

/** Takes a jobe-sim's only worker with a long run sent straight to it, bypassing the gateway. */
async function occupy(f: Fleet, name: string): Promise<void> {
  const controller = new AbortController();
  occupiers.push(controller);
  void fetch(`${f.sim(name).url}/jobe/index.php/restapi/runs`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ run_spec: { language_id: 'python3', sourcecode: '#sim sleep 60000' } }),
    signal: controller.signal,
  }).catch(() => undefined);
  await waitFor(() => f.sim(name).stats().activeWorkers === 1, `${name}'s worker taken`);
}

describe('every healthy backend overloaded, one ejected and frozen', () => {
  it('the run gets Jobe’s outcome-21 answer promptly, and the frozen backend is not tried', async () => {
    // One worker each: a sim whose worker is taken answers 21 after its own wait (10 polls of 50 ms).
    // No canary: the test counts the overload answers the jobe-sims give.
    fleet = await startFleet({ workers: 1, balancer: { health: { canary: false } } });
    await fleet.sim('jobe3').fault('hang');
    await waitFor(
      () => fleet!.balancer.status().backends.find((b) => b.name === 'jobe3')?.health === 'ejected',
      'jobe3 ejected',
    );
    await occupy(fleet, 'jobe1');
    await occupy(fleet, 'jobe2');

    const started = performance.now();
    const run = await runLikeCodeRunner(fleet.jobeHost, {
      language_id: 'python3',
      sourcecode: '#sim print hi',
    });
    const tookMs = performance.now() - started;

    expect(run.httpStatus).toBe(200);
    expect(run.body).toBe(OVERLOAD_BODY);
    expect(run.error).toBe('SERVER_OVERLOAD');
    expect(fleet.sims.slice(0, 2).map((sim) => sim.stats().overloads)).toEqual([1, 1]);
    expect(fleet.upstream.runsTo('jobe3'), 'runs sent to the ejected, frozen jobe3').toEqual([]);
    // Two jobe-sim waits of ~0.5 s each; before the fix the run was held by jobe3 for its 55 s timeout.
    expect(tookMs).toBeLessThan(10_000);
    console.log(`[figure] overloaded healthy backends + frozen ejected one: outcome 21 after ${ms(tookMs)}`);
  });
});
