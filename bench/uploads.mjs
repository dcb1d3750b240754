/**
 * Many large uploads at once: `--clients` clients each PUT one support file of `--fileMb` MB (a body of
 * about 4/3 of it, base64 in JSON, just under the 8 MiB body limit) at the same moment, through a gateway
 * in its own process whose RSS is sampled every `--sampleMs`. With `bodyMemoryBytes` (64 MiB by default)
 * the gateway holds that much of bodies at once and lets the rest wait unread, so its peak RSS should not
 * grow with the number of clients; without such a bound it would grow by a body or more per client.
 *
 *   node bench/uploads.mjs [--clients 32,128,256] [--fileMb 5.9] [--variant cli] [--bodyMemoryMiB 64] [--json out.json]
 *
 * The PUTs carry no job id (Jobe's own test scripts' way), so the gateway keeps each file in its store
 * (64 MiB, bounded) rather than forwarding it: what is measured is the bodies, not Jobe's speed.
 * Each client builds its body just before sending it, so that this process's memory stays moderate.
 */
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startChild } from './lib/ipc.mjs';
import { loadLine, machineLine, mib, parseArgs, table, writeJson } from './lib/stats.mjs';

const options = parseArgs({
  clients: '32,128,256',
  fileMb: 5.9,
  variant: 'cli',
  /** 0: the gateway's default (64 MiB). */
  bodyMemoryMiB: 0,
  sampleMs: 50,
  json: '',
});

const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const MiB = 1024 * 1024;

async function measure(clients) {
  const sim = await startChild(SIM_PROCESS, { sims: [{ name: 'jobe1', workers: 16, defaultRunMs: 0 }] });
  const gatewayOptions = {
    backends: [{ name: 'jobe1', url: sim.urls[0], maxConcurrent: 16 }],
    slowStartMs: 0,
  };
  if (options.bodyMemoryMiB > 0) gatewayOptions.bodyMemoryBytes = options.bodyMemoryMiB * MiB;
  const gateway = await startChild(GATEWAY_PROCESS, { variant: options.variant, options: gatewayOptions });
  const pool = new Pool(gateway.url, { connections: clients });
  let peakRss = (await gateway.ask('usage')).memory.rss;
  const startRss = peakRss;
  let peakBodies = 0;
  let peakWaiting = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      const usage = await gateway.ask('usage');
      peakRss = Math.max(peakRss, usage.memory.rss);
      peakBodies = Math.max(peakBodies, usage.status?.bodies?.bytes ?? 0);
      peakWaiting = Math.max(peakWaiting, usage.status?.bodies?.waiting ?? 0);
      await new Promise((resolve) => setTimeout(resolve, options.sampleMs));
    }
  })();
  const statuses = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      const contents = randomBytes(Math.round(options.fileMb * 1_000_000));
      const id = createHash('md5').update(contents).digest('hex');
      const body = JSON.stringify({ file_contents: contents.toString('base64') });
      const response = await pool.request({
        method: 'PUT',
        path: `/jobe/index.php/restapi/files/${id}`,
        headers: { 'content-type': 'application/json; charset=utf-8' },
        body,
      });
      await response.body.text();
      statuses[response.statusCode] = (statuses[response.statusCode] ?? 0) + 1;
    }),
  );
  const elapsedMs = performance.now() - started;
  sampling = false;
  await sampler;
  await pool.close();
  await gateway.close();
  await sim.close();
  return { clients, statuses, startRss, peakRss, peakBodies, peakWaiting, elapsedMs };
}

const clientCounts = String(options.clients)
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
console.log(`# Many large uploads at once (${options.variant})\n`);
console.log(machineLine());
console.log(`load average: ${loadLine()}`);
console.log(
  `\nEach client PUTs one ${options.fileMb} MB file (a ${mib(Math.ceil((options.fileMb * 1_000_000) / 3) * 4)} body) ` +
    `at the same moment; bodyMemoryBytes ${options.bodyMemoryMiB > 0 ? `${options.bodyMemoryMiB} MiB` : 'default (64 MiB)'}; ` +
    `gateway RSS sampled every ${options.sampleMs} ms.\n`,
);
const results = [];
for (const clients of clientCounts) results.push(await measure(clients));
console.log(
  table(
    ['clients', 'answers', 'RSS at start', 'peak RSS', 'peak bodies held', 'peak bodies waiting', 'seconds'],
    results.map((r) => [
      String(r.clients),
      Object.entries(r.statuses)
        .map(([status, count]) => `${count} × ${status}`)
        .join(', '),
      mib(r.startRss),
      mib(r.peakRss),
      mib(r.peakBodies),
      String(r.peakWaiting),
      (r.elapsedMs / 1000).toFixed(1),
    ]),
  ),
);
if (options.json) writeJson(options.json, { options, results });
