/**
 * A wedged Jobe (HTTP 200 in a few ms, every run a sandbox failure) under an exam load of CodeRunner runs at a
 * fixed rate with a mix of outcomes, through the core on node:http over three jobe-sim backends (the gateway's
 * default health settings: probe every 2 s, canary every 10 s). Counts the wrong answers students get before
 * the wedged backend is ejected, with outlier detection (the default) and with the canary alone; then a
 * question nobody can solve (every backend's runs fail alike) and a healthy fleet with many failures, where
 * nobody may be ejected.
 */
import { once } from 'node:events';
import * as http from 'node:http';
import { createBalancer, silentLogger } from '@jobe-balancer/core';
import { startJobeSim } from '@jobe-balancer/jobe-sim';
import { runLikeCodeRunner } from './lib/coderunner.mjs';
import {
  loadLine,
  logNormal,
  machineLine,
  parseArgs,
  seededRandom,
  sleep,
  table,
  writeJson,
} from './lib/stats.mjs';

const options = parseArgs({
  rate: 10,
  trials: 5,
  mixes: '10,20,30',
  warmupS: 4,
  healthyS: 60,
  healthyRate: 50,
  seed: 1,
  /** Also measure the canary alone (outliers: false), for comparison. */
  compare: true,
  json: '',
});

const SANDBOX_FAILURE = 'error while loading shared libraries';

async function startGateway(health) {
  const sims = [];
  for (const name of ['jobe1', 'jobe2', 'jobe3']) sims.push(await startJobeSim({ name, workers: 8 }));
  const balancer = createBalancer({
    backends: sims.map((sim) => ({ name: sim.name, url: sim.url, maxConcurrent: 8 })),
    logger: silentLogger,
    slowStartMs: 0,
    health,
  });
  const events = [];
  balancer.on('health', (backend, state, reason) =>
    events.push({ backend, state, reason, at: performance.now() }),
  );
  const server = http.createServer((req, res) => void balancer.handle(req, res));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  await balancer.checkNow();
  return {
    sims,
    balancer,
    events,
    jobeHost: `http://127.0.0.1:${server.address().port}`,
    async metrics() {
      return balancer.metricsRegistry.metrics();
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await balancer.close(1000);
      await Promise.all(sims.map((sim) => sim.close()));
    },
  };
}

/**
 * Starts `rate` runs per second. `failPercent` of them are compile or runtime errors (3 to 1); each takes a
 * log-normal time on a healthy Jobe (median 200 ms, p99 1 s); half carry a question's two support files.
 */
function paced(jobeHost, rate, random, failPercent) {
  const runs = [];
  const pending = [];
  let index = 0;
  const questions = Array.from({ length: 10 }, (_, q) => [
    { name: 'data1.txt', contents: `wedged bench question ${q} data1 ${random()}\n` },
    { name: 'data2.txt', contents: `wedged bench question ${q} data2\n` },
  ]);
  const duration = logNormal(random, 200, 1000);
  const timer = setInterval(() => {
    const i = index++;
    const sleepMs = Math.round(duration());
    const roll = random() * 100;
    const kind = roll < failPercent() * 0.75 ? 'compile' : roll < failPercent() ? 'runtime' : 'ok';
    const body =
      kind === 'compile'
        ? '#sim cmpinfo __tester__.python3:3: SyntaxError: invalid syntax'
        : kind === 'runtime'
          ? '#sim stderr ZeroDivisionError: division by zero'
          : '#sim print ok';
    const files = i % 2 === 0 ? questions[(i / 2) % questions.length] : undefined;
    const startedAt = performance.now();
    pending.push(
      runLikeCodeRunner(jobeHost, {
        language_id: 'python3',
        sourcecode: `#sim sleep ${sleepMs}\n${body}`,
        ...(files ? { files } : {}),
      }).then((run) => {
        const cmpinfo = String(run.result?.cmpinfo ?? '');
        runs.push({
          startedAt,
          endedAt: performance.now(),
          wrong: cmpinfo.includes(SANDBOX_FAILURE),
          status: run.httpStatus,
        });
      }),
    );
  }, 1000 / rate);
  return {
    runs,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return runs;
    },
  };
}

const DEFAULT_HEALTH = {};

async function wedgedTrial(failPercent, seed, health) {
  const gateway = await startGateway(health);
  const random = seededRandom(seed);
  const load = paced(gateway.jobeHost, options.rate, random, () => failPercent);
  await sleep(options.warmupS * 1000);
  const wedgedAt = performance.now();
  await gateway.sims[1].fault('wedged');
  const ejection = () =>
    gateway.events.find((e) => e.backend === 'jobe2' && e.state === 'ejected' && e.at >= wedgedAt);
  const deadline = wedgedAt + 30_000;
  while (!ejection() && performance.now() < deadline) await sleep(20);
  await sleep(1000);
  const runs = await load.stop();
  await gateway.close();
  const ejected = ejection();
  const wrong = runs.filter((r) => r.wrong).length;
  return {
    ejectedAfterMs: ejected ? ejected.at - wedgedAt : null,
    cause: ejected ? (ejected.reason.startsWith('outlier') ? 'outlier' : 'canary') : 'none in 30 s',
    wrong,
    runsMeanwhile: runs.filter((r) => r.startedAt >= wedgedAt && (!ejected || r.startedAt <= ejected.at))
      .length,
  };
}

function summarizeTrials(label, failPercent, trials) {
  const wrong = trials.map((t) => t.wrong).sort((a, b) => a - b);
  const times = trials.map((t) => t.ejectedAfterMs).filter((t) => t !== null);
  return [
    label,
    `${failPercent} %`,
    String(trials.length),
    `${wrong[0]} / ${wrong[Math.floor(wrong.length / 2)]} / ${wrong[wrong.length - 1]}`,
    times.length ? `${Math.round(Math.min(...times))} / ${Math.round(Math.max(...times))} ms` : '–',
    [...new Set(trials.map((t) => t.cause))].join(', '),
  ];
}

async function fleetWide() {
  const gateway = await startGateway(DEFAULT_HEALTH);
  let failPercent = 20;
  const load = paced(gateway.jobeHost, options.rate, seededRandom(options.seed + 100), () => failPercent);
  await sleep(options.warmupS * 1000);
  failPercent = 100;
  await sleep(20_000);
  const runs = await load.stop();
  const metrics = await gateway.metrics();
  await gateway.close();
  return {
    runs: runs.length,
    ejections: gateway.events.filter((e) => e.state === 'ejected').length,
    suspicions: metrics.split('\n').filter((l) => l.startsWith('jobe_balancer_outlier_detections_total{')),
  };
}

async function healthyFleet(failPercent) {
  const gateway = await startGateway(DEFAULT_HEALTH);
  const load = paced(
    gateway.jobeHost,
    options.healthyRate,
    seededRandom(options.seed + 200),
    () => failPercent,
  );
  await sleep(options.healthyS * 1000);
  const runs = await load.stop();
  const metrics = await gateway.metrics();
  await gateway.close();
  return {
    failPercent,
    runs: runs.length,
    ejections: gateway.events.filter((e) => e.state === 'ejected').length,
    suspicions: metrics.split('\n').filter((l) => l.startsWith('jobe_balancer_outlier_detections_total{')),
  };
}

console.log(`# wedged backend · ${machineLine()} · load ${loadLine()}`);
const mixes = options.mixes.split(',').map(Number);
const rows = [];
const results = { wedged: [], fleetWide: null, healthy: [] };
const detections = [['outlier detection + default canary (defaults)', DEFAULT_HEALTH]];
if (options.compare) detections.push(['default canary alone (outliers: false)', { outliers: false }]);
for (const [label, health] of detections) {
  for (const failPercent of mixes) {
    const trials = [];
    for (let t = 0; t < options.trials; t++)
      trials.push(await wedgedTrial(failPercent, options.seed + t, health));
    results.wedged.push({ label, failPercent, trials });
    rows.push(summarizeTrials(label, failPercent, trials));
    console.log(rows.at(-1).join(' · '));
  }
}
console.log(
  `\nWrong answers before the wedged backend (1 of 3) is ejected, ${options.rate} runs/s\n\n` +
    table(
      [
        'detection',
        'failing runs in the mix',
        'trials',
        'wrong answers min / median / max',
        'ejected after (min / max)',
        'caught by',
      ],
      rows,
    ),
);

results.fleetWide = await fleetWide();
console.log(
  `\nA question nobody can solve: ${results.fleetWide.runs} runs, the mix going from 20 % to 100 % failures ` +
    `on every backend at once: ${results.fleetWide.ejections} ejections; outlier verdicts: ` +
    `${results.fleetWide.suspicions.join(', ') || 'none'}`,
);
for (const failPercent of [20, 50]) {
  const healthy = await healthyFleet(failPercent);
  results.healthy.push(healthy);
  console.log(
    `Healthy fleet, ${options.healthyRate} runs/s for ${options.healthyS} s with ${failPercent} % failing runs: ` +
      `${healthy.runs} runs, ${healthy.ejections} ejections; outlier verdicts: ${healthy.suspicions.join(', ') || 'none'}`,
  );
}
writeJson(options.json, results);
