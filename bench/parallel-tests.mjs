/**
 * Test cases in parallel (issue 18): what @jobe-balancer/client's runAll and the gateway's batch endpoint gain
 * over CodeRunner's one-after-another runs, and what a regrade costs the students running beside it.
 *
 *   node bench/parallel-tests.mjs [--backends 3] [--workers 4] [--tests 10] [--testMs 300] [--repeats 3]
 *        [--submissions 200] [--regradeMs 100] [--batchConcurrency 1,8,32] [--runsConcurrency 8,32]
 *        [--studentRate 8] [--studentMs 300] [--maxShare 0.5] [--json out.json]
 *
 * 1. One question: `tests` test cases of `testMs` (jobe-sim's `#sim sleep`) over `backends` jobe-sims ×
 *    `workers`, through the gateway (`core` in its own process, batch enabled): sequentially as CodeRunner
 *    does, with runAll (concurrency 4, the default, and `tests`), and as one batch. Wall time, speed-up.
 * 2. A regrade of `submissions` × `tests` runs of `regradeMs` while students submit single CodeRunner runs
 *    of `studentMs` (Poisson, `studentRate` per second): the students' latency p50/p99 alone, beside a
 *    regrade through the batch endpoint (one submission per batch, `batchConcurrency` batches in flight,
 *    held to `maxShare` of the fleet by the gateway), and beside the same regrade as plain runs
 *    (`runsConcurrency` runs in flight, nothing held back).
 */
import { JobeClient, undiciTransport } from '@jobe-balancer/client';
import { runLikeCodeRunner } from './lib/coderunner.mjs';
import { startChild } from './lib/ipc.mjs';
import {
  loadLine,
  machineLine,
  ms,
  parseArgs,
  seededRandom,
  summarize,
  table,
  writeJson,
} from './lib/stats.mjs';

const options = parseArgs({
  backends: 3,
  workers: 4,
  tests: 10,
  testMs: 300,
  repeats: 3,
  submissions: 200,
  regradeMs: 100,
  batchConcurrency: '1,8,32',
  runsConcurrency: '8,32',
  studentRate: 8,
  studentMs: 300,
  studentBaselineMs: 20_000,
  maxShare: 0.5,
  seed: 1,
  json: '',
});
const list = (text) => String(text).split(',').filter(Boolean).map(Number);

const SIM_PROCESS = new URL('./lib/sim-process.mjs', import.meta.url).pathname;
const GATEWAY_PROCESS = new URL('./lib/gateway-process.mjs', import.meta.url).pathname;

const sims = await startChild(SIM_PROCESS, {
  sims: Array.from({ length: options.backends }, (_, i) => ({
    name: `jobe${i + 1}`,
    workers: options.workers,
  })),
});
const gateway = await startChild(GATEWAY_PROCESS, {
  variant: 'core',
  options: {
    backends: sims.urls.map((url, i) => ({ name: sims.names[i], url })),
    maxConcurrent: options.workers,
    slowStartMs: 0,
    batch: { enabled: true, maxShare: options.maxShare, maxRuns: 100 },
  },
});
const transport = undiciTransport();
const client = new JobeClient({ host: gateway.url, transport });
const capacity = options.backends * options.workers;

console.log(`# parallel-tests · ${machineLine()}`);
console.log(
  `${options.backends} jobe-sims × ${options.workers} workers (capacity ${capacity}) behind the gateway (core, own process), ` +
    `batch.maxShare ${options.maxShare} (${Math.max(1, Math.floor(capacity * options.maxShare))} runs); load before: ${loadLine()}\n`,
);

// ------------------------------------------------------------------------------------------ one question

const question = Array.from({ length: options.tests }, (_, i) => ({
  language_id: 'python3',
  sourcecode: `# test ${i}\n#sim sleep ${options.testMs}\n#sim print test ${i}`,
}));
const expectAll = (settled, what) => {
  settled.forEach((slot, i) => {
    if (slot.status !== 'fulfilled' || slot.value.stdout !== `test ${i}\n`)
      throw new Error(`${what}: test ${i} went wrong: ${JSON.stringify(slot)}`);
  });
};
const ways = {
  'sequential (as CodeRunner)': async () => {
    for (let i = 0; i < question.length; i++) {
      const answer = await runLikeCodeRunner(gateway.url, question[i]);
      if (answer.result?.stdout !== `test ${i}\n`) throw new Error(`sequential: test ${i} went wrong`);
    }
  },
  'runAll, concurrency 4 (default)': async () => expectAll(await client.runAll(question), 'runAll 4'),
  [`runAll, concurrency ${options.tests}`]: async () =>
    expectAll(await client.runAll(question, [], { concurrency: options.tests }), 'runAll n'),
  'batch endpoint (one batch)': async () =>
    expectAll(await client.runAll(question, [], { via: 'batch' }), 'batch'),
};
const questionRows = [];
const questionResults = {};
let sequentialMs;
for (const [name, way] of Object.entries(ways)) {
  const walls = [];
  for (let r = 0; r < options.repeats; r++) {
    const started = performance.now();
    await way();
    walls.push(performance.now() - started);
  }
  const median = summarize(walls).p50;
  sequentialMs ??= median;
  questionResults[name] = { medianMs: median, walls };
  questionRows.push([
    name,
    ms(median),
    `${(sequentialMs / median).toFixed(1)}×`,
    walls.map((w) => ms(w)).join(', '),
  ]);
}
console.log(
  `## One question: ${options.tests} test cases of ${options.testMs} ms (median of ${options.repeats})\n`,
);
console.log(table(['how', 'wall time', 'speed-up', 'each repeat'], questionRows));
console.log();

// ------------------------------------------------------------------------------------ regrade vs students

/** Students' single runs, Poisson arrivals, until stop() is called; resolves with their latencies. */
function studentLoad(seed) {
  const random = seededRandom(seed);
  let stopped = false;
  const latencies = [];
  let overloads = 0;
  let failures = 0;
  const running = new Set();
  const arrive = async () => {
    while (!stopped) {
      await new Promise((resolve) =>
        setTimeout(resolve, (-Math.log(1 - random()) * 1000) / options.studentRate),
      );
      if (stopped) break;
      const started = performance.now();
      const run = runLikeCodeRunner(gateway.url, {
        language_id: 'python3',
        sourcecode: `#sim sleep ${options.studentMs}\n#sim print student`,
        timeoutMs: 120_000,
      }).then((answer) => {
        if (answer.error === 'SERVER_OVERLOAD') overloads++;
        else if (answer.result?.stdout !== 'student\n') failures++;
        else latencies.push(performance.now() - started);
      });
      running.add(run);
      run.finally(() => running.delete(run));
    }
  };
  const loop = arrive();
  return {
    async stop() {
      stopped = true;
      await loop;
      await Promise.all(running);
      return { ...summarize(latencies), overloads, failures };
    },
  };
}

const submission = (s) =>
  Array.from({ length: options.tests }, (_, t) => ({
    language_id: 'python3',
    sourcecode: `# submission ${s} test ${t}\n#sim sleep ${options.regradeMs}\n#sim print ${s}.${t}`,
  }));
const regradeSpecs = Array.from({ length: options.submissions }, (_, s) => submission(s)).flat();

async function peakInFlight(during) {
  let peak = 0;
  let stop = false;
  const sampler = (async () => {
    while (!stop) {
      const { status } = await gateway.ask('usage');
      peak = Math.max(
        peak,
        status.backends.reduce((sum, b) => sum + b.inFlight, 0),
      );
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  const result = await during();
  stop = true;
  await sampler;
  return { ...result, peakInFlight: peak };
}

const regradeRows = [];
const regradeResults = [];
const scenario = async (name, regrade, { baseline = false } = {}) => {
  const students = studentLoad(options.seed + regradeResults.length);
  const started = performance.now();
  const { failed, peakInFlight: peak } = await peakInFlight(async () => ({ failed: await regrade() }));
  const regradeMs = performance.now() - started;
  const s = await students.stop();
  const row = { name, regradeMs, failed, students: s, peakInFlight: peak };
  regradeResults.push(row);
  regradeRows.push([
    name,
    baseline ? '–' : ms(regradeMs),
    String(peak),
    String(s.count),
    ms(s.p50),
    ms(s.p99),
    ms(s.max),
    String(s.overloads + s.failures),
    String(failed ?? 0),
  ]);
  console.error(`  done: ${name} (${ms(regradeMs)}, students p99 ${ms(s.p99)})`);
};

const settledFailures = (settled) => settled.filter((slot) => slot.status !== 'fulfilled').length;
await scenario(
  'students alone',
  async () => {
    await new Promise((resolve) => setTimeout(resolve, options.studentBaselineMs));
    return 0;
  },
  { baseline: true },
);
for (const c of list(options.batchConcurrency)) {
  await scenario(`regrade via batch, ${c} batch${c === 1 ? '' : 'es'} in flight`, async () =>
    settledFailures(
      await client.runAll(regradeSpecs, [], { via: 'batch', batchSize: options.tests, concurrency: c }),
    ),
  );
}
for (const c of list(options.runsConcurrency)) {
  await scenario(`regrade via runs, concurrency ${c} (no cap)`, async () =>
    settledFailures(await client.runAll(regradeSpecs, [], { concurrency: c })),
  );
}
console.log(
  `## A regrade of ${options.submissions} submissions × ${options.tests} tests (${options.regradeMs} ms each) ` +
    `while students send single runs of ${options.studentMs} ms (${options.studentRate}/s)\n`,
);
console.log(
  table(
    [
      'scenario',
      'regrade wall',
      'peak in flight',
      'student runs',
      'students p50',
      'students p99',
      'max',
      'student errors',
      'regrade errors',
    ],
    regradeRows,
  ),
);
console.log(`\nload after: ${loadLine()}\n`);

const wall = (name) => questionResults[name].medianMs;
const alone = regradeResults[0].students.p99;
const verdicts = [
  verdict(
    sequentialMs / wall(`runAll, concurrency ${options.tests}`) >= 5,
    `runAll (concurrency ${options.tests}) at least 5× faster than sequential runs (${(sequentialMs / wall(`runAll, concurrency ${options.tests}`)).toFixed(1)}×)`,
  ),
  verdict(
    sequentialMs / wall('batch endpoint (one batch)') >= 3,
    `one batch at least 3× faster than sequential runs, held to maxShare (${(sequentialMs / wall('batch endpoint (one batch)')).toFixed(1)}×)`,
  ),
  ...regradeResults
    .filter((row) => row.name.includes('via batch'))
    .map((row) =>
      verdict(
        row.students.p99 <= 1.5 * alone && row.failed === 0,
        `${row.name}: students' p99 within 1.5 × their p99 alone (${ms(row.students.p99)} vs ${ms(alone)}), no failed regrade run`,
      ),
    ),
];

writeJson(options.json, { options, question: questionResults, regrade: regradeResults, verdicts });
await client.close();
await gateway.close();
await sims.close();
