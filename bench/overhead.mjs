/**
 * Gateway overhead: zero-time runs against one jobe-sim backend with ample workers, sent (a) directly,
 * (b) through the core behind a bare node:http server, (c) the `jobe-balancer` command (cli: the same plus
 * its heap settings), (d) Express 5, (e) Fastify 5 and (f) Koa 3 front ends; and, as floors, through a
 * minimal Node reverse proxy (plain-proxy) and Express 5 + http-proxy-middleware (express-proxy), neither
 * balancing.
 *
 *   node bench/overhead.mjs [--seconds 4] [--rounds 3] [--connections 64] [--rates 1000,2000,3000] [--json out.json]
 *
 * Processes: this one (load generator, undici keep-alive Pool), one jobe-sim child and one child per gateway
 * target; all share the machine's cores. Every gateway child is first warmed up under load (V8 compiles the
 * hot code on its worker threads for several seconds: measured cold, the gateway looks 4× more expensive).
 * Then, in interleaved rounds:
 *  - unloaded: one request at a time on one keep-alive connection: the latency the gateway adds;
 *  - paced: `--connections` clients offering each of `--rates` runs/s together (the issue's 64 clients,
 *    below saturation): the latency the gateway adds under load, counted from when each run was due;
 *  - saturated: `--connections` concurrent clients for `--seconds`: throughput and latency under load, and
 *    the gateway's CPU time per run (process.cpuUsage of its own process), which does not depend on how
 *    many cores the machine has or who else uses them.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { newJobId, phpJsonEncode } from './lib/coderunner.mjs';
import { startChild } from './lib/ipc.mjs';
import {
  loadLine,
  machineLine,
  ms,
  parseArgs,
  sleep,
  summarize,
  table,
  verdict,
  writeJson,
} from './lib/stats.mjs';

const options = parseArgs({
  seconds: 4,
  /** Load before each saturated measurement (connections ramp up). */
  rampSeconds: 1,
  /** Saturating load on each gateway child before the first round (JIT warm-up). */
  warmupSeconds: 6,
  connections: 64,
  /** Offered loads (runs/s, all connections together) of the paced measurement. */
  rates: '1000,2000,3000',
  pacedSeconds: 3,
  sequential: 1000,
  workers: 256,
  /** Each target is measured this many times, interleaved; the tables show the median of each figure. */
  rounds: 3,
  targets: 'direct,plain-proxy,express-proxy,core,cli,express,fastify,koa',
  /**
   * Extra node flags for every gateway child (space separated), e.g. "--max-semi-space-size=2". A single
   * target can have its own after a colon: `--targets core,cli,cli:--max-semi-space-size=8` (an A/B test).
   */
  gatewayFlags: '',
  /** Write a V8 CPU profile of each gateway child, rounds only, into this directory (<target>.cpuprofile). */
  profileDir: '',
  json: '',
});

const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const PATH = '/jobe/index.php/restapi/runs';
const BODY = phpJsonEncode({
  run_spec: {
    language_id: 'python3',
    sourcecode: 'print("hello")\n',
    sourcefilename: '__tester__.python3',
    input: '',
    file_list: [],
    parameters: { cputime: 5 },
  },
});

function cpuMicros(before, after) {
  return after.cpu.user - before.cpu.user + (after.cpu.system - before.cpu.system);
}

function median(values) {
  const sorted = values.filter((value) => value !== null).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

/** One CodeRunner-like POST runs on a keep-alive connection; throws unless Jobe's success answer came back. */
async function postRun(pool) {
  const { statusCode, body } = await pool.request({
    method: 'POST',
    path: PATH,
    headers: {
      'user-agent': 'CodeRunner',
      'content-type': 'application/json; charset=utf-8',
      accept: 'application/json',
      'x-coderunner-job-id': newJobId(),
    },
    body: BODY,
  });
  const text = await body.text();
  if (statusCode !== 200 || !text.includes('"outcome":15'))
    throw new Error(`unexpected answer ${statusCode} ${text}`);
}

async function unloaded(origin) {
  const pool = new Pool(origin, { connections: 1, pipelining: 1 });
  for (let i = 0; i < 200; i++) await postRun(pool);
  const latencies = [];
  for (let i = 0; i < options.sequential; i++) {
    const started = performance.now();
    await postRun(pool);
    latencies.push(performance.now() - started);
  }
  await pool.close();
  return summarize(latencies);
}

/**
 * `--connections` clients offering `rate` runs/s together, each on its own schedule. A run's latency counts
 * from when it was due, so a gateway that falls behind shows it (no coordinated omission); timer lateness
 * on this side is not counted.
 */
async function paced(origin, rate, seconds) {
  const connections = options.connections;
  const pool = new Pool(origin, { connections, pipelining: 1 });
  const rampMs = 500;
  const startedAt = performance.now() + 50;
  const endsAt = startedAt + rampMs + seconds * 1000;
  const latencies = [];
  let errors = 0;
  const client = async (index) => {
    for (let k = 0; ; k++) {
      const due = startedAt + ((k * connections + index) / rate) * 1000;
      if (due >= endsAt) return;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const from = wait > 0 ? performance.now() : due;
      try {
        await postRun(pool);
        if (due >= startedAt + rampMs) latencies.push(performance.now() - from);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(Array.from({ length: connections }, (_, index) => client(index)));
  await pool.close();
  return { rate, errors, latency: summarize(latencies) };
}

/** `--connections` closed-loop clients; measures for `measureSeconds` after `rampSeconds`. */
async function saturated(origin, children, rampSeconds, measureSeconds) {
  const pool = new Pool(origin, { connections: options.connections, pipelining: 1 });
  let measuring = false;
  let stop = false;
  let errors = 0;
  const latencies = [];
  const client = async () => {
    while (!stop) {
      const started = performance.now();
      try {
        await postRun(pool);
        if (measuring) latencies.push(performance.now() - started);
      } catch {
        if (measuring) errors++;
      }
    }
  };
  const clients = Array.from({ length: options.connections }, client);
  await sleep(rampSeconds * 1000);
  const before = await Promise.all(children.map((child) => child.ask('usage')));
  const ownBefore = process.cpuUsage();
  const startedAt = performance.now();
  measuring = true;
  await sleep(measureSeconds * 1000);
  measuring = false;
  const elapsed = (performance.now() - startedAt) / 1000;
  const ownCpu = process.cpuUsage(ownBefore);
  const after = await Promise.all(children.map((child) => child.ask('usage')));
  stop = true;
  await Promise.all(clients);
  await pool.close();
  const requests = latencies.length;
  return {
    requests,
    errors,
    rps: requests / elapsed,
    latency: summarize(latencies),
    cpuPerRequest: children.map((_, i) => cpuMicros(before[i], after[i]) / requests),
    /** Young-generation collections per 1000 runs, and the main thread's pause in them per run (µs). */
    scavengesPerKRuns: children.map((_, i) => ((after[i].gc.minor - before[i].gc.minor) * 1000) / requests),
    gcPausePerRequest: children.map(
      (_, i) =>
        ((after[i].gc.minorMs - before[i].gc.minorMs + after[i].gc.majorMs - before[i].gc.majorMs) * 1000) /
        requests,
    ),
    systemPerRequest: children.map((_, i) => (after[i].cpu.system - before[i].cpu.system) / requests),
    cpuShare: children.map((_, i) => cpuMicros(before[i], after[i]) / 1e6 / elapsed),
    loadGeneratorCpuShare: (ownCpu.user + ownCpu.system) / 1e6 / elapsed,
  };
}

console.log(`# Gateway overhead · ${machineLine()}`);
console.log(
  `Zero-time POST runs (CodeRunner body, a new job id each, no files) to one jobe-sim with ${options.workers} workers. ` +
    'Separate processes share the cores: this load generator (undici Pool, keep-alive), the jobe-sim child and ' +
    'one child per gateway target (core or adapter, maxConcurrent = workers).',
);
console.log(
  `Each gateway child warmed up under load for ${options.warmupSeconds} s. Unloaded: ${options.sequential} sequential ` +
    `requests on one connection. Saturated: ${options.connections} concurrent keep-alive clients, ${options.rampSeconds} s ` +
    `ramp then ${options.seconds} s measured. ${options.rounds} interleaved rounds, medians shown.`,
);
console.log(`Load average before: ${loadLine()}\n`);

if (options.profileDir) mkdirSync(options.profileDir, { recursive: true });
const sim = await startChild(SIM_PROCESS, {
  sims: [{ name: 'jobe1', workers: options.workers, defaultRunMs: 0 }],
});
const backendUrl = sim.urls[0];
const targets = options.targets.split(',').map((name) => name.trim());
/**
 * `cli@/path/heap-settings.js:--flag --other`: the variant, another build of heap-settings for the `cli`
 * variant (an A/B test of the command's heap settings in the same run), and the node flags of this child.
 */
const variantOf = (target) => target.split(':')[0].split('@')[0];
const heapSettingsOf = (target) => target.split(':')[0].split('@')[1];
const flagsOf = (target) => [options.gatewayFlags, target.split(':').slice(1).join(':')].join(' ').split(' ');
const rates = String(options.rates)
  .split(',')
  .map(Number)
  .filter((rate) => rate > 0);
const gateways = new Map();
for (const target of targets) {
  if (target === 'direct') continue;
  const gateway = await startChild(
    GATEWAY_PROCESS,
    {
      variant: variantOf(target),
      heapSettingsModule: heapSettingsOf(target),
      options: {
        backends: [{ name: 'jobe1', url: backendUrl, maxConcurrent: options.workers }],
        slowStartMs: 0,
      },
    },
    { execArgv: flagsOf(target).filter(Boolean) },
  );
  gateways.set(target, gateway);
  const warm = await saturated(gateway.url, [gateway], 0, options.warmupSeconds);
  console.log(
    `warm-up ${target}: ${warm.rps.toFixed(0)} runs/s, gateway CPU ${warm.cpuPerRequest[0].toFixed(0)} µs/run`,
  );
  if (options.profileDir) await gateway.ask('profile-start');
}

const rounds = [];
for (let round = 1; round <= options.rounds; round++) {
  for (const target of targets) {
    const gateway = gateways.get(target);
    const origin = gateway ? gateway.url : backendUrl;
    process.stdout.write(`round ${round}, ${target}: `);
    const quiet = await unloaded(origin);
    process.stdout.write(`unloaded p50 ${ms(quiet.p50, 2)}; `);
    const pacedRuns = [];
    for (const rate of rates) {
      const measured = await paced(origin, rate, options.pacedSeconds);
      pacedRuns.push(measured);
      process.stdout.write(`${rate}/s p50 ${ms(measured.latency.p50, 2)}; `);
    }
    const children = gateway ? [gateway, sim] : [sim];
    const busy = await saturated(origin, children, options.rampSeconds, options.seconds);
    const last = children.length - 1;
    console.log(
      `saturated ${busy.rps.toFixed(0)} runs/s` +
        (gateway
          ? `, gateway CPU ${busy.cpuPerRequest[0].toFixed(0)} µs/run, GC pauses ${busy.gcPausePerRequest[0].toFixed(0)} µs/run`
          : '') +
        ` (load average ${loadLine()})`,
    );
    rounds.push({
      target,
      round,
      unloadedP50: quiet.p50,
      unloadedP99: quiet.p99,
      paced: pacedRuns.map((run) => ({
        rate: run.rate,
        p50: run.latency.p50,
        p99: run.latency.p99,
        errors: run.errors,
      })),
      rps: busy.rps,
      saturatedP50: busy.latency.p50,
      saturatedP99: busy.latency.p99,
      gatewayCpu: gateway ? busy.cpuPerRequest[0] : null,
      gatewayScavenges: gateway ? busy.scavengesPerKRuns[0] : null,
      gatewayGcPause: gateway ? busy.gcPausePerRequest[0] : null,
      gatewaySystem: gateway ? busy.systemPerRequest[0] : null,
      gatewayShare: gateway ? busy.cpuShare[0] : null,
      simCpu: busy.cpuPerRequest[last],
      simShare: busy.cpuShare[last],
      loadGeneratorShare: busy.loadGeneratorCpuShare,
      errors: busy.errors,
    });
  }
}
const memory = {};
for (const [target, gateway] of gateways) {
  memory[target] = (await gateway.ask('usage')).memory.rss;
  if (options.profileDir) {
    const { path } = await gateway.ask('profile-stop', {
      path: join(resolve(options.profileDir), `${target.replace(/[^A-Za-z0-9=-]+/g, '_')}.cpuprofile`),
    });
    console.log(`CPU profile of ${target}: ${path}`);
  }
}
for (const gateway of gateways.values()) await gateway.close();
await sim.close();
console.log(`Load average after: ${loadLine()}\n`);

/** Per target, the median of every figure over the rounds (errors summed). */
const results = targets.map((target) => {
  const mine = rounds.filter((r) => r.target === target);
  const figure = (key) => median(mine.map((r) => r[key]));
  return {
    target,
    unloadedP50: figure('unloadedP50'),
    unloadedP99: figure('unloadedP99'),
    paced: rates.map((rate, i) => ({
      rate,
      p50: median(mine.map((r) => r.paced[i].p50)),
      p99: median(mine.map((r) => r.paced[i].p99)),
      errors: mine.reduce((sum, r) => sum + r.paced[i].errors, 0),
    })),
    rps: figure('rps'),
    rpsRange: [Math.min(...mine.map((r) => r.rps)), Math.max(...mine.map((r) => r.rps))],
    saturatedP50: figure('saturatedP50'),
    saturatedP99: figure('saturatedP99'),
    gatewayCpu: figure('gatewayCpu'),
    gatewayScavenges: figure('gatewayScavenges'),
    gatewayGcPause: figure('gatewayGcPause'),
    gatewaySystem: figure('gatewaySystem'),
    gatewayShare: figure('gatewayShare'),
    simCpu: figure('simCpu'),
    simShare: figure('simShare'),
    loadGeneratorShare: figure('loadGeneratorShare'),
    rss: memory[target] ?? null,
    errors: mine.reduce((sum, r) => sum + r.errors, 0),
  };
});

const direct = results.find((r) => r.target === 'direct');
const added = (value, base) =>
  direct ? `${value - base >= 0 ? '+' : ''}${(value - base).toFixed(2)} ms` : 'n/a';
const micros = (value) => (value === null ? '' : `${value.toFixed(0)} µs`);

console.log('Unloaded (one request at a time, keep-alive):\n');
console.log(
  table(
    ['target', 'p50', 'p99', 'added p50', 'added p99'],
    results.map((r) => [
      r.target,
      ms(r.unloadedP50, 2),
      ms(r.unloadedP99, 2),
      r === direct ? '' : added(r.unloadedP50, direct?.unloadedP50 ?? 0),
      r === direct ? '' : added(r.unloadedP99, direct?.unloadedP99 ?? 0),
    ]),
  ),
);
for (const [i, rate] of rates.entries()) {
  console.log(
    `\nPaced: ${options.connections} concurrent keep-alive clients offering ${rate} runs/s together:\n`,
  );
  console.log(
    table(
      ['target', 'p50', 'p99', 'added p50', 'added p99', 'errors'],
      results.map((r) => [
        r.target,
        ms(r.paced[i].p50, 2),
        ms(r.paced[i].p99, 2),
        r === direct ? '' : added(r.paced[i].p50, direct?.paced[i].p50 ?? 0),
        r === direct ? '' : added(r.paced[i].p99, direct?.paced[i].p99 ?? 0),
        r.paced[i].errors,
      ]),
    ),
  );
}
console.log(`\nSaturated (${options.connections} concurrent keep-alive clients):\n`);
console.log(
  table(
    [
      'target',
      'runs/s (min–max)',
      'p50',
      'p99',
      'added p50',
      'added p99',
      'gateway CPU/run (of it system)',
      'GC pause/run · scavenges per 1000 runs',
      'runs/s per gateway core',
      'cores used: gateway / sim / load gen',
      'gateway RSS',
      'errors',
    ],
    results.map((r) => [
      r.target,
      `${r.rps.toFixed(0)} (${r.rpsRange[0].toFixed(0)}–${r.rpsRange[1].toFixed(0)})`,
      ms(r.saturatedP50, 2),
      ms(r.saturatedP99, 2),
      r === direct ? '' : added(r.saturatedP50, direct?.saturatedP50 ?? 0),
      r === direct ? '' : added(r.saturatedP99, direct?.saturatedP99 ?? 0),
      r.gatewayCpu === null ? '' : `${micros(r.gatewayCpu)} (${micros(r.gatewaySystem)})`,
      r.gatewayCpu === null ? '' : `${micros(r.gatewayGcPause)} · ${r.gatewayScavenges.toFixed(0)}`,
      r.gatewayCpu === null ? '' : (1e6 / r.gatewayCpu).toFixed(0),
      `${r.gatewayShare === null ? '-' : r.gatewayShare.toFixed(2)} / ${r.simShare.toFixed(2)} / ${r.loadGeneratorShare.toFixed(2)}`,
      r.rss === null ? '' : `${(r.rss / 1024 / 1024).toFixed(0)} MiB`,
      r.errors,
    ]),
  ),
);
console.log(
  `\njobe-sim CPU per run: ${results.map((r) => `${r.target} ${micros(r.simCpu)}`).join(', ')}.` +
    '\n"runs/s per gateway core" = 1 s ÷ the gateway process\'s CPU time (user + system, all threads) per run: ' +
    'the rate at which the gateway alone would fill one core. Under saturation the processes (and anything else ' +
    'on the machine) compete for the 2 cores, so latency there is mostly waiting for CPU ' +
    '(Little: latency ≈ connections ÷ runs/s). plain-proxy: a minimal Node reverse proxy (http.request, ' +
    'keep-alive agent, no balancing), the floor of any Node proxy here; express-proxy: Express 5 + ' +
    'http-proxy-middleware, no balancing, the floor of any Express gateway here.',
);

const verdicts = [];
console.log('\nTargets:');
for (const r of results) {
  if (r === direct || !direct || r.target.endsWith('-proxy')) continue;
  for (const [i, rate] of rates.entries()) {
    verdicts.push(
      verdict(
        r.paced[i].p50 - direct.paced[i].p50 <= 0.5,
        `${r.target}: ≤ 0.5 ms added p50 on loopback at ${rate} runs/s from ${options.connections} clients ` +
          `(${added(r.paced[i].p50, direct.paced[i].p50)})`,
      ),
    );
  }
  verdicts.push(
    verdict(
      r.unloadedP50 - direct.unloadedP50 <= 0.5,
      `${r.target}: ≤ 0.5 ms added p50 on loopback, one request at a time (${added(r.unloadedP50, direct.unloadedP50)})`,
    ),
  );
  verdicts.push(
    verdict(
      1e6 / r.gatewayCpu >= 3000,
      `${r.target}: not the bottleneck below 3000 runs/s on one core ` +
        `(${micros(r.gatewayCpu)} CPU per run → ${(1e6 / r.gatewayCpu).toFixed(0)} runs/s per core)`,
    ),
  );
}

writeJson(options.json, { bench: 'overhead', machine: machineLine(), options, rounds, results, verdicts });
