/**
 * A child process holding jobe-sim backends, so that their CPU time is not the gateway's.
 * argv[2]: JSON `{ sims: [{ name, workers, pollMs?, waitTimeout?, defaultRunMs? }] }`.
 */
import { startJobeSim } from '@jobe-balancer/jobe-sim';
import { serveParent, usage } from './ipc.mjs';

const config = JSON.parse(process.argv[2] ?? '{}');
const sims = await Promise.all(config.sims.map((options) => startJobeSim(options)));

serveParent(
  {
    usage: () => ({ ...usage(), stats: sims.map((sim) => sim.stats()) }),
  },
  async () => {
    await Promise.all(sims.map((sim) => sim.close()));
  },
);
process.send({ type: 'ready', urls: sims.map((sim) => sim.url), names: sims.map((sim) => sim.name) });
