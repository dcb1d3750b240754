/**
 * How long the worst request bodies within the 8 MiB limit block the gateway's event loop. Each kind of
 * body is sent `--repeat` times, one at a time, to a gateway in this process (the core behind node:http)
 * over jobe-sim backends, each in a child process; the figure is the longest event-loop delay seen while the
 * body was handled (node:perf_hooks monitorEventLoopDelay, 10 ms resolution), the request's time and the
 * CPU this process (gateway and client) used meanwhile, which a busy host does not inflate as it does delays.
 * Meanwhile a light CodeRunner-like load (small runs, `--runsPerSec`) goes through the same gateway, and
 * its latency during the attack is printed beside the health events (ejections) the attack caused. A body
 * the gateway forwards unparsed (more values than it parses) still stalls the jobe-sim that parses it
 * (one thread, unlike Jobe's Apache workers), which can eject that backend: its probes really go unanswered.
 *
 *   node bench/worst-bodies.mjs [--repeat 3] [--runsPerSec 20] [--kinds deep-arrays,file-list] [--json out.json]
 */
import { once } from 'node:events';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { createBalancer, silentLogger } from '@jobe-balancer/core';
import { Pool } from 'undici';
import { startChild } from './lib/ipc.mjs';
import { loadLine, machineLine, ms, parseArgs, summarize, table, writeJson } from './lib/stats.mjs';

const options = parseArgs({ repeat: 3, runsPerSec: 20, kinds: '', json: '' });
const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const LIMIT = 8 * 1024 * 1024;
const API = '/jobe/index.php/restapi';

/** The largest n for which `build(n)` stays within the body limit (bisection on a monotone size). */
function fill(build) {
  let low = 1;
  let high = LIMIT;
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (Buffer.byteLength(build(mid)) <= LIMIT) low = mid;
    else high = mid - 1;
  }
  return Buffer.from(build(low));
}

const runSpec = (fields) => `{"run_spec":{"language_id":"python3","sourcecode":"print(1)"${fields}}}`;
const repeated = (unit, n, separator = ',') => Array.from({ length: n }, (_, i) => unit(i)).join(separator);

/** Each kind: where it goes and the body. */
const KINDS = {
  'deep-arrays': () => ({
    resource: 'runs',
    body: fill((n) => `{"run_spec":${'['.repeat(n)}${']'.repeat(n)}}`),
  }),
  'deep-objects': () => ({
    resource: 'runs',
    body: fill((n) => `{"run_spec":${'{"a":'.repeat(n)}1${'}'.repeat(n)}}`),
  }),
  'deep-put': () => ({
    resource: 'files/deepbody1',
    body: fill((n) => `{"file_contents":${'['.repeat(n)}${']'.repeat(n)}}`),
  }),
  'file-list': () => {
    const ids = (n) => repeated((i) => `["f${String(i).padStart(12, '0')}","a"]`, n);
    return { resource: 'runs', body: fill((n) => runSpec(`,"file_list":[${ids(n)}]`)) };
  },
  'wide-arrays': () => ({
    resource: 'runs',
    body: fill((n) => runSpec(`,"parameters":{"runargs":[${'[],'.repeat(n)}[]]}`)),
  }),
  'many-keys': () => ({
    resource: 'runs',
    body: fill((n) => runSpec(`,"parameters":{${repeated((i) => `"k${i}":0`, n)}}`)),
  }),
  'surrogate-escapes': () => ({
    resource: 'runs',
    body: fill((n) => runSpec(`,"input":"${'\\ud83d\\ude00'.repeat(n)}"`)),
  }),
  'nul-keys': () => ({
    resource: 'runs',
    body: fill((n) => runSpec(`,"parameters":{${repeated((i) => `"\\u0000k${i}":0`, n)}}`)),
  }),
  'long-string': () => ({
    resource: 'runs',
    body: fill((n) => runSpec(`,"input":"${'a'.repeat(n)}"`)),
  }),
  'base64-lines': () => {
    // base64 of random-looking bytes in PHP json_encode's style: "\/" escapes and a "\n" every 76 chars.
    const line = `${'QUJD\\/'.repeat(15)}QQ==`.slice(0, 76);
    return {
      resource: 'files/base64lines1',
      body: fill((n) => `{"file_contents":"${`${line}\\n`.repeat(n)}"}`),
    };
  },
};

const kinds = options.kinds ? String(options.kinds).split(',') : Object.keys(KINDS);

// A process per backend, as real Jobe servers are: one busy parsing a body must not stall the others.
const sims = await Promise.all(
  ['jobe1', 'jobe2', 'jobe3'].map((name) =>
    startChild(SIM_PROCESS, { sims: [{ name, workers: 8, pollMs: 50, waitTimeout: 10 }] }),
  ),
);
const balancer = createBalancer({
  backends: sims.map((sim) => ({ name: sim.names[0], url: sim.urls[0], maxConcurrent: 8 })),
  slowStartMs: 0,
  logger: silentLogger,
  health: { intervalMs: 200, timeoutMs: 500, failureThreshold: 2, baseEjectionMs: 1000 },
});
const ejections = [];
balancer.on('health', (backend, state, reason) => {
  if (state === 'ejected') ejections.push({ backend, reason });
});
const server = http.createServer((req, res) => void balancer.handle(req, res));
server.listen(0, '127.0.0.1');
await once(server, 'listening');
const origin = `http://127.0.0.1:${server.address().port}`;
while (!balancer.status().backends.every((b) => b.health === 'healthy'))
  await new Promise((resolve) => setTimeout(resolve, 20));

const attacker = new Pool(origin, { connections: 1 });
const runner = new Pool(origin, { connections: 16 });
const smallRun = JSON.stringify({ run_spec: { language_id: 'python3', sourcecode: 'print("hi")' } });

/** Small runs at a steady rate until stopped: their latencies, and how many did not answer 200. */
function steadyRuns() {
  const latencies = [];
  let failed = 0;
  let stopped = false;
  const inFlight = new Set();
  const timer = setInterval(() => {
    const started = performance.now();
    const run = runner
      .request({
        method: 'POST',
        path: `${API}/runs`,
        body: smallRun,
        headers: { 'content-type': 'application/json' },
      })
      .then(async (response) => {
        const text = await response.body.text();
        if (response.statusCode !== 200 || !text.includes('"outcome":15')) failed++;
        if (!stopped) latencies.push(performance.now() - started);
      })
      .catch(() => failed++);
    inFlight.add(run);
    run.finally(() => inFlight.delete(run));
  }, 1000 / options.runsPerSec);
  return async () => {
    clearInterval(timer);
    await Promise.all(inFlight);
    stopped = true;
    return { latencies, failed };
  };
}

async function send(body, resource) {
  const method = resource === 'runs' ? 'POST' : 'PUT';
  try {
    const response = await attacker.request({
      method,
      path: `${API}/${resource}`,
      body,
      headers: { 'content-type': 'application/json; charset=utf-8' },
    });
    const text = await response.body.text();
    return { status: response.statusCode, answer: text.slice(0, 60) };
  } catch (error) {
    return { status: 'error', answer: error.code ?? String(error) };
  }
}

const baselineStop = steadyRuns();
await new Promise((resolve) => setTimeout(resolve, 2000));
const baseline = await baselineStop();

const rows = [];
for (const kind of kinds) {
  const { body, resource } = KINDS[kind]();
  const blocks = [];
  const times = [];
  const cpu = [];
  let answer = null;
  const ejectedBefore = ejections.length;
  const stop = steadyRuns();
  for (let i = 0; i < options.repeat; i++) {
    const delay = monitorEventLoopDelay({ resolution: 10 });
    delay.enable();
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    answer = await send(body, resource);
    const cpuUsed = process.cpuUsage(cpuBefore);
    cpu.push((cpuUsed.user + cpuUsed.system) / 1000);
    times.push(performance.now() - started);
    delay.disable();
    blocks.push(delay.max / 1e6);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  const during = await stop();
  const runs = summarize(during.latencies);
  rows.push({
    kind,
    bytes: body.length,
    answer: `${answer.status} ${answer.answer}`,
    maxBlockMs: Math.max(...blocks),
    requestMs: summarize(times).p50,
    cpuMs: summarize(cpu).p50,
    runs,
    runsFailed: during.failed,
    ejections: ejections.length - ejectedBefore,
  });
}

console.log(machineLine());
console.log(loadLine());
const calm = summarize(baseline.latencies);
console.log(
  `small runs without attack: p50 ${ms(calm.p50)}, p99 ${ms(calm.p99)} (${calm.count} runs, ${baseline.failed} failed)`,
);
console.log(
  table(
    [
      'body',
      'bytes',
      'answer',
      'longest loop block',
      'request (p50)',
      'CPU of this process (p50)',
      'small runs p50 / p99 / max',
      'runs failed',
      'ejections',
    ],
    rows.map((row) => [
      row.kind,
      row.bytes,
      row.answer,
      ms(row.maxBlockMs),
      ms(row.requestMs),
      ms(row.cpuMs),
      `${ms(row.runs.p50)} / ${ms(row.runs.p99)} / ${ms(row.runs.max)}`,
      row.runsFailed,
      row.ejections,
    ]),
  ),
);
if (ejections.length > 0) console.log('ejections:', ejections);
if (options.json) writeJson(options.json, { baseline, rows, ejections });

await attacker.close();
await runner.close();
server.closeAllConnections();
server.close();
await balancer.close(1000);
await Promise.all(sims.map((sim) => sim.close()));
