/**
 * Runs' latency while other clients attack the gateway's body budget (issue #15, part 2). CodeRunner-like
 * clients (`--clients` at once, each run on a new connection, questions with two small support files, runs
 * of `#sim sleep 20`) run questions through a gateway in its own process while one of these goes on:
 *
 *   baseline    nothing else;
 *   idle8       8 clients send headers with `Content-Length: 8388608` and then nothing, and reconnect as
 *               soon as they are answered (the gateway answers them 408 after bodyIdleTimeoutMs);
 *   idle64      the same with 64 clients;
 *   uploads500  500 clients PUT a `--uploadMb` MiB support file each, all at the same moment (each on its
 *               own connection, `Expect: 100-continue` like libcurl); runs go on until every upload is answered.
 *
 *   node bench/body-attacks.mjs [--scenarios baseline,idle8,idle64,uploads500] [--seconds 10] [--clients 8]
 *                               [--variant cli] [--bodyIdleTimeoutMs 0] [--bodyMemoryMiB 0]
 *                               [--queueTimeoutMs 0] [--traceSlowMs 0] [--json out.json]
 *
 * With `--variant core`, JOBE_BALANCER_CORE_MODULE=<a build's dist/index.js> measures another build of the
 * core (e.g. the one before this change; give it `--queueTimeoutMs 10000`, or its runs wait 60 s for room).
 * The attackers run in a child process of their own, as other machines' clients would.
 * Figures: p50/p99/max of the runs' latency (the whole CodeRunner cycle: POST, and on a 404 the PUTs and a
 * second POST), runs that failed (outcome 21 included), and what the attackers got.
 */

import { fork } from 'node:child_process';
import * as http from 'node:http';
import { fileURLToPath } from 'node:url';
import { md5, runLikeCodeRunner } from './lib/coderunner.mjs';
import { startChild } from './lib/ipc.mjs';
import { loadLine, machineLine, ms, parseArgs, summarize, table, writeJson } from './lib/stats.mjs';
import { sendOnNewConnection } from './lib/wire.mjs';

const attackerData = process.env.BODY_ATTACKER ? JSON.parse(process.env.BODY_ATTACKER) : undefined;
const options = !attackerData
  ? parseArgs({
      scenarios: 'baseline,idle8,idle64,uploads500',
      seconds: 10,
      clients: 8,
      questions: 8,
      uploadMb: 1,
      variant: 'cli',
      /** 0: the gateway's default. */
      bodyIdleTimeoutMs: 0,
      /** 0: the gateway's default (64 MiB). */
      bodyMemoryMiB: 0,
      /** 0: the gateway's default (60 s); a run waiting longer for room gets outcome 21. */
      queueTimeoutMs: 0,
      /** Prints the exchanges of every run slower than this (0: none). */
      traceSlowMs: 0,
      json: '',
    })
  : attackerData.options;

const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const MiB = 1024 * 1024;
const RUN_SOURCE = '#sim sleep 20\n#sim cat data1.txt\n#sim cat data2.txt';

function makeQuestions(count) {
  return Array.from({ length: count }, (_, index) => {
    const files = [
      { name: 'data1.txt', contents: `question ${index} data1 ${Math.random()}\n` },
      { name: 'data2.txt', contents: `question ${index} data2\n` },
    ].map((file) => ({ ...file, id: md5(file.contents) }));
    return { files, expected: files.map((file) => file.contents).join('') };
  });
}

/** `clients` loops of CodeRunner runs until `until()` says stop; latencies of runs started meanwhile. */
async function runLoad(jobeHost, questions, until) {
  const records = [];
  let next = 0;
  const client = async () => {
    while (!until()) {
      const question = questions[next++ % questions.length];
      const trace = [];
      const run = await runLikeCodeRunner(jobeHost, {
        trace,
        language_id: 'python3',
        sourcecode: RUN_SOURCE,
        files: question.files,
      });
      const correct =
        run.error === null && run.result?.outcome === 15 && run.result.stdout === question.expected;
      records.push({ latencyMs: run.latencyMs, correct, outcome: run.result?.outcome ?? null });
      if (options.traceSlowMs > 0 && run.latencyMs > options.traceSlowMs) {
        const at = trace[0]?.sentAt ?? 0;
        const steps = trace.map(
          (t) => `${t.method} ${t.status} +${ms(t.sentAt - at)}..${ms(t.answeredAt - at)}`,
        );
        console.log(`slow run (${ms(run.latencyMs)}): ${steps.join(', ')} ${run.transportError ?? ''}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return records;
}

/** `count` clients that send headers and nothing, reconnecting once answered, until stop(). */
function idleAttack(jobeHost, count) {
  const answers = {};
  const heldMs = [];
  let stopped = false;
  const requests = new Set();
  const open = (i) => {
    if (stopped) return;
    const url = `${jobeHost}/jobe/index.php/restapi/${i % 2 === 0 ? 'runs' : `files/idle${i}x${Date.now()}`}`;
    const req = http.request(url, {
      method: i % 2 === 0 ? 'POST' : 'PUT',
      headers: { 'content-type': 'application/json', 'content-length': 8 * MiB, connection: 'keep-alive' },
      agent: false,
    });
    const openedAt = performance.now();
    let reopened = false;
    const again = () => {
      requests.delete(req);
      if (reopened) return;
      reopened = true;
      open(i);
    };
    req.on('response', (res) => {
      answers[res.statusCode] = (answers[res.statusCode] ?? 0) + 1;
      heldMs.push(performance.now() - openedAt);
      res.resume();
      res.on('end', () => {
        req.destroy();
        again();
      });
    });
    req.on('error', () => {
      if (!stopped) answers.error = (answers.error ?? 0) + 1;
      again();
    });
    req.flushHeaders();
    requests.add(req);
  };
  for (let i = 0; i < count; i++) open(i);
  return {
    stop() {
      stopped = true;
      for (const req of requests) req.destroy();
      const held = summarize(heldMs);
      const counts = Object.entries(answers).map(([status, n]) => `${n} × ${status}`);
      return `${counts.join(', ') || 'none answered'}; held ${ms(held.p50)} (p50) before the answer`;
    },
  };
}

/** `count` PUTs of an `uploadMb` MiB file at once; resolves with a summary once all are answered. */
async function uploadFlood(jobeHost, count) {
  const contents = Buffer.alloc(Math.round(options.uploadMb * MiB), 'upload ');
  const body = Buffer.from(JSON.stringify({ file_contents: contents.toString('base64') }));
  const statuses = {};
  const started = performance.now();
  await Promise.all(
    Array.from({ length: count }, async (_, i) => {
      const response = await sendOnNewConnection({
        url: `${jobeHost}/jobe/index.php/restapi/files/upload${i}x${Date.now()}`,
        method: 'PUT',
        // With its length, as libcurl sends it (Node would send a body after `Expect: 100-continue` chunked).
        headers: { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': body.length },
        body,
      });
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  const counts = Object.entries(statuses).map(([status, n]) => `${n} × ${status}`);
  return `${counts.join(', ')} in ${seconds.toFixed(1)} s (${(body.length / MiB).toFixed(2)} MiB bodies)`;
}

async function measure(scenario) {
  const sim = await startChild(SIM_PROCESS, {
    sims: [1, 2].map((i) => ({ name: `jobe${i}`, workers: 16, defaultRunMs: 0 })),
  });
  const gatewayOptions = {
    backends: sim.urls.map((url, i) => ({ name: `jobe${i + 1}`, url, maxConcurrent: 16 })),
    slowStartMs: 0,
  };
  if (options.bodyIdleTimeoutMs > 0) gatewayOptions.bodyIdleTimeoutMs = options.bodyIdleTimeoutMs;
  if (options.bodyMemoryMiB > 0) gatewayOptions.bodyMemoryBytes = options.bodyMemoryMiB * MiB;
  if (options.queueTimeoutMs > 0) gatewayOptions.queue = { timeoutMs: options.queueTimeoutMs };
  const gateway = await startChild(GATEWAY_PROCESS, { variant: options.variant, options: gatewayOptions });
  const jobeHost = gateway.url;
  const questions = makeQuestions(options.questions);
  // Warm up: every question's files uploaded once, the JIT warm.
  await runLoad(
    jobeHost,
    questions,
    (() => {
      let left = questions.length * 4;
      return () => left-- <= 0;
    })(),
  );

  let attack = 'none';
  let records;
  const deadline = performance.now() + options.seconds * 1000;
  const timeUp = () => performance.now() > deadline;
  if (scenario === 'baseline') {
    records = await runLoad(jobeHost, questions, timeUp);
  } else {
    // Its own process, as other machines' clients would be: a worker thread's sends stalled this
    // process's runs for the whole flood (its sockets' writes are this process's too).
    const attacker = fork(fileURLToPath(import.meta.url), [], {
      env: { ...process.env, BODY_ATTACKER: JSON.stringify({ options, scenario, jobeHost }) },
    });
    const summary = new Promise((resolve) => attacker.once('message', resolve));
    if (scenario.startsWith('idle')) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      records = await runLoad(jobeHost, questions, timeUp);
      attacker.send('stop');
    } else {
      let attacking = true;
      summary.then(() => {
        attacking = false;
      });
      records = await runLoad(jobeHost, questions, () => !attacking && timeUp());
    }
    attack = await summary;
    attacker.kill();
  }
  await gateway.close();
  await sim.close();
  const latency = summarize(records.map((record) => record.latencyMs));
  const failed = records.filter((record) => !record.correct);
  return {
    scenario,
    runs: records.length,
    failed: failed.length,
    overloads: failed.filter((record) => record.outcome === 21).length,
    latency,
    attack,
  };
}

if (attackerData) {
  const { scenario, jobeHost } = attackerData;
  if (scenario.startsWith('idle')) {
    const idle = idleAttack(jobeHost, Number(scenario.slice(4)));
    process.once('message', () => process.send(idle.stop()));
  } else if (scenario.startsWith('uploads')) {
    process.send(await uploadFlood(jobeHost, Number(scenario.slice(7))));
  } else {
    throw new Error(`unknown scenario ${scenario}`);
  }
} else {
  console.log(`# Runs while clients attack the body budget (${options.variant})\n`);
  console.log(machineLine());
  console.log(`load average: ${loadLine()}`);
  console.log(
    `\n${options.clients} CodeRunner clients run questions (${options.questions} questions, 2 support files each, ` +
      `#sim sleep 20) for ${options.seconds} s per scenario; 2 jobe-sim backends of 16 workers; bodyIdleTimeoutMs ` +
      `${options.bodyIdleTimeoutMs > 0 ? options.bodyIdleTimeoutMs : 'default (5000)'}.\n`,
  );
  const results = [];
  for (const scenario of options.scenarios.split(',').filter(Boolean)) results.push(await measure(scenario));
  console.log(
    table(
      ['scenario', 'runs', 'failed (outcome 21)', 'p50', 'p99', 'max', 'the attackers got'],
      results.map((r) => [
        r.scenario,
        String(r.runs),
        `${r.failed} (${r.overloads})`,
        ms(r.latency.p50),
        ms(r.latency.p99),
        ms(r.latency.max),
        r.attack,
      ]),
    ),
  );
  writeJson(options.json, { options, results });
}
