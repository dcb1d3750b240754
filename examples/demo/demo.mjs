#!/usr/bin/env node
/**
 * jobe-balancer in a minute: three simulated Jobe servers, the Express example gateway in front of them,
 * and a CodeRunner-like exam burst through it, during which one server crashes and comes back.
 *
 *   node examples/demo/demo.mjs [--once] [--port N] [--students N] [--quiet]
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { startJobeSim } from '@jobe-balancer/jobe-sim';
import { planExam, sitExam } from './lib/exam.mjs';
import { fetchMetrics, fetchStatus, portIsFree, startGateway, sumOf } from './lib/gateway.mjs';
import { clip, LiveArea, palette } from './lib/terminal.mjs';
import { frame, progressLine, summary } from './lib/view.mjs';

const USAGE = `usage: node examples/demo/demo.mjs [options]

  --once          exit after the summary instead of serving (exit code 1 if a run failed or got overload)
  --port N        gateway port (default 8080, or a free one if 8080 is taken; 0: any free port)
  --students N    students sitting the exam (default 40, 5 questions each)
  --quiet         no live display: only events and the summary
  -h, --help      this text`;

// Small Jobe servers with Jobe's worker wait (1 s between tries, 10 tries): a server sent more runs than
// its 4 workers would make students wait in whole seconds, then answer outcome 21. The gateway is told
// their jobe_max_users (JOBE_MAX_CONCURRENT) and queues the excess itself.
const SIM = { workers: 4, pollMs: 1000, waitTimeout: 10 };
const PREFERRED_PORT = 8080;
const CRASHED_BACKEND = 1;
const DOWN_FOR_MS = 5000;

let args;
try {
  ({ values: args } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      port: { type: 'string' },
      students: { type: 'string', default: '40' },
      quiet: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  }));
} catch (error) {
  console.error(`${error.message}\n\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}
const students = Number(args.students);
const requestedPort = args.port === undefined ? undefined : Number(args.port);
if (!Number.isInteger(students) || students < 1 || (requestedPort !== undefined && !(requestedPort >= 0))) {
  console.error(`--students wants a positive integer and --port a port number\n\n${USAGE}`);
  process.exit(2);
}

const out = process.stdout;
const c = palette(Boolean(out.isTTY) && !process.env.NO_COLOR);
const live = out.isTTY && !args.quiet ? new LiveArea(out) : null;
const adminToken = randomBytes(12).toString('base64url');

const state = {
  plan: planExam({ students }),
  workers: SIM.workers,
  publicUrl: '',
  startedAt: performance.now(),
  finishedAt: null,
  started: 0,
  done: 0,
  counts: { ok: 0, compile: 0, runtime: 0, overload: 0, failed: 0 },
  latencies: [],
  puts: 0,
  failures: [],
  sims: [],
  status: null,
  statusError: null,
  gateway: { failovers: 0, failoversByCause: {}, replays: 0, replaysByBackend: {}, putsAtGateway: 0 },
};

let sims = [];
let gateway = null;
let starting = null;
let stopping = false;
const timers = new Set();

function every(ms, task) {
  const timer = setInterval(task, ms);
  timers.add(timer);
  return timer;
}

function later(ms, task) {
  const timer = setTimeout(() => {
    timers.delete(timer);
    task();
  }, ms);
  timers.add(timer);
}

function print(line = '') {
  if (live) live.log(line);
  else out.write(`${line}\n`);
}

function event(icon, text) {
  const at = ((performance.now() - state.startedAt) / 1000).toFixed(1).padStart(5);
  const line = `${c.dim(`${at} s`)}  ${icon} ${text}`;
  print(live ? clip(line, (out.columns ?? 100) - 1) : line);
}

/** `languages probe: ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:4002` → `languages probe: ECONNREFUSED`. */
function shortReason(reason) {
  return /^.*?\bE[A-Z]{4,}\b/.exec(reason ?? '')?.[0] ?? reason;
}

const ejected = new Set();
/** The gateway's own log lines (pino JSON) that tell the story; failovers and replays are counted instead. */
function onGatewayLog(entry) {
  switch (entry.event) {
    case 'ejected':
      if (ejected.has(entry.backend)) {
        event(
          c.red('▼'),
          `gateway keeps ${c.bold(entry.backend)} out, its trial failed: ${shortReason(entry.reason)}`,
        );
      } else {
        ejected.add(entry.backend);
        event(c.red('▼'), `gateway ejected ${c.bold(entry.backend)}: ${shortReason(entry.reason)}`);
      }
      break;
    case 'recovered':
      if (ejected.delete(entry.backend))
        event(c.green('▲'), `gateway: ${c.bold(entry.backend)} passed its health check, back in rotation`);
      break;
    case 'run-failed':
    case 'no-backend':
    case 'queue-overload':
    case 'internal-error':
      event(
        c.red('!'),
        `gateway: ${entry.msg} ${c.dim(JSON.stringify({ ...entry, level: undefined, time: undefined, pid: undefined, hostname: undefined, msg: undefined }))}`,
      );
      break;
  }
}

async function refreshStatus() {
  if (!gateway) return;
  try {
    state.status = await fetchStatus(`http://127.0.0.1:${gateway.port}`, adminToken);
    state.statusError = null;
  } catch (error) {
    state.statusError = error.message;
  }
}

async function refreshMetrics() {
  if (!gateway) return;
  try {
    const samples = await fetchMetrics(`http://127.0.0.1:${gateway.port}`);
    const labelled = (name, label) => {
      const record = {};
      for (const sample of samples.filter((s) => s.name === name && s.value > 0))
        record[sample.labels[label]] = (record[sample.labels[label]] ?? 0) + sample.value;
      return record;
    };
    state.gateway = {
      failovers: sumOf(samples, 'jobe_balancer_failovers_total'),
      failoversByCause: labelled('jobe_balancer_failovers_total', 'cause'),
      replays: sumOf(samples, 'jobe_balancer_file_replays_total'),
      replaysByBackend: labelled('jobe_balancer_file_replays_total', 'backend'),
      putsAtGateway: sumOf(samples, 'jobe_balancer_requests_total', { endpoint: 'files_put' }),
    };
  } catch {
    // the next poll will do
  }
}

function draw() {
  if (live) live.render(frame(state, c, out.columns ?? 100));
}

async function until(condition, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (!condition() && performance.now() < deadline && !stopping) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    await refreshStatus();
  }
  return condition();
}

const allHealthy = () => state.status?.backends.every((backend) => backend.health === 'healthy') ?? false;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  for (const timer of timers) clearInterval(timer);
  live?.close();
  out.write(`${c.dim('stopping: the gateway lets runs in flight finish, then the Jobe servers close')}\n`);
  if (!gateway) starting?.kill('SIGTERM');
  const result = gateway ? await gateway.stop() : null;
  await Promise.all(sims.map((sim) => sim.close()));
  out.write(`${c.dim(`stopped${result ? ` (gateway exit ${result.signal ?? result.code})` : ''}`)}\n`);
  process.exit(code);
}
process.on('SIGINT', () => void shutdown(0));
process.on('SIGTERM', () => void shutdown(0));
// Output piped into a program that quit (`| head`): stop as on Ctrl-C rather than die on EPIPE.
process.stdout.on('error', () => void shutdown(0));
// However this process ends, the gateway child must not outlive it on its port.
process.on('exit', () => {
  starting?.kill('SIGTERM');
});

async function choosePort() {
  if (requestedPort !== undefined) return requestedPort;
  return (await portIsFree(PREFERRED_PORT)) ? PREFERRED_PORT : 0;
}

async function main() {
  sims = await Promise.all([1, 2, 3].map((i) => startJobeSim({ name: `jobe${i}`, ...SIM })));
  state.sims = sims.map((sim) => ({ name: sim.name, crashed: false }));
  const launch = (port) =>
    startGateway({
      port,
      backends: sims,
      maxConcurrent: SIM.workers,
      adminToken,
      onLog: onGatewayLog,
      onSpawn: (child) => {
        starting = child;
      },
    });
  const port = await choosePort();
  try {
    gateway = await launch(port);
  } catch (error) {
    // Someone took 8080 between the probe and the listen: any free port will do.
    if (requestedPort !== undefined || port === 0) throw error;
    gateway = await launch(0);
  }
  state.publicUrl = `http://localhost:${gateway.port}`;
  print(
    `${c.bold('jobe-balancer demo')}: 3 jobe-sim servers (${SIM.workers} workers each) behind the Express example gateway`,
  );
  for (const sim of sims) print(c.dim(`  ${sim.name}  ${sim.url}`));
  print(
    c.dim(`  gateway ${state.publicUrl}/jobe  (examples/express-gateway/server.mjs, pid ${gateway.pid})`),
  );
  if (!(await until(allHealthy, 10_000))) throw new Error('the gateway did not see its Jobe servers healthy');

  const { plan } = state;
  print(
    `${plan.students} students × ${plan.questions.length} questions (2 support files each): ${plan.total} runs of 100-800 ms`,
  );
  print(
    `${sims[CRASHED_BACKEND].name} will crash half way through and come back ${DOWN_FOR_MS / 1000} s later.`,
  );
  print();
  state.startedAt = performance.now();
  every(250, refreshStatus);
  every(1000, refreshMetrics);
  if (live) every(200, draw);
  else if (!args.quiet) every(1000, () => out.write(`${progressLine(state)}\n`));

  let crashed = false;
  const crashHalfWay = () => {
    if (crashed || state.done < plan.total / 2) return;
    crashed = true;
    const sim = sims[CRASHED_BACKEND];
    state.sims[CRASHED_BACKEND].crashed = true;
    void sim
      .fault('crash')
      .then(() =>
        event(
          c.magenta('✖'),
          `${c.bold(sim.name)} crashed (fault 'crash'): its runs in flight are reset, new connections refused`,
        ),
      );
    later(DOWN_FOR_MS, () => {
      void sim.recover({ clearFiles: true }).then(() => {
        state.sims[CRASHED_BACKEND].crashed = false;
        state.sims[CRASHED_BACKEND].recovered = true;
        event(c.green('✔'), `${c.bold(sim.name)} is back on its port, rebuilt with an empty file cache`);
      });
    });
  };

  await sitExam(`127.0.0.1:${gateway.port}`, plan, {
    shouldStop: () => stopping,
    onStart: () => {
      state.started++;
    },
    onResult: (submission, verdict) => {
      state.done++;
      state.counts[verdict.kind]++;
      state.latencies.push(verdict.latencyMs);
      state.puts += verdict.puts;
      if (verdict.kind === 'failed' || verdict.kind === 'overload') {
        const failure = `student ${submission.student}, question ${submission.question.number}: ${verdict.detail}`;
        state.failures.push(failure);
        event(c.red('✖'), failure);
      }
      crashHalfWay();
    },
  });
  if (stopping) return;
  state.finishedAt = performance.now();
  event(c.cyan('■'), `exam over: ${state.done} runs answered`);
  // Let the gateway take the crashed server back before the summary, so that the display shows it.
  await until(allHealthy, 15_000);
  for (const timer of timers) clearInterval(timer);
  timers.clear();
  await Promise.all([refreshStatus(), refreshMetrics()]);
  draw();
  live?.close();
  if (!args.quiet && !live) out.write(`${progressLine(state)}\n`);

  out.write('\n');
  for (const line of summary(state, c)) out.write(`${line}\n`);
  const host = `localhost:${gateway.port}`;
  out.write(`
${c.bold('Dashboard')}   ${c.cyan(`${state.publicUrl}/jobe/_balancer/#token=${adminToken}`)}
${c.bold('CodeRunner')}  jobe_host = ${c.bold(host)}  ${c.dim('(Site administration › Plugins › Question types › CodeRunner)')}
            ${c.dim("Moodle's cURL security blocks localhost and ports other than 80 and 443 by default:")}
            ${c.dim('see docs/operators/coderunner-setup.md')}
`);
  if (args.once) return shutdown(state.counts.failed + state.counts.overload > 0 ? 1 : 0);
  out.write(`
Serving until Ctrl-C. Open the dashboard, drain a server from it, or send runs to ${host}.
`);
}

main().catch((error) => {
  live?.close();
  console.error(c.red(`demo failed: ${error instanceof Error ? error.message : error}`));
  void shutdown(1);
});
