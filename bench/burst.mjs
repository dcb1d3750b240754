/**
 * The exam burst: many students submit at once to a few small Jobe servers. Every contender gets the same
 * students, start times, job ids, support files and run times (seeded), on fresh simulated Jobe servers
 * that behave like Jobe (a free worker is polled for every second, outcome 21 after 10 tries).
 *
 *   node bench/burst.mjs [--students 60] [--runs 5] [--seed 1] [--arrival both|independent|chains] [--json out.json]
 *
 * Two ways the 60 × 5 test runs can arrive, both measured by default:
 *  - independent: 300 submissions, each arriving at its own moment within the start window (every
 *    student's question checked as one combined run, CodeRunner's default). The ideal bound,
 *    max(work / workers, longest run), is the right yardstick for it.
 *  - chains: each student's 5 runs back to back, the next one sent when the previous one is answered
 *    (CodeRunner runs a submission's tests one by one when they cannot be combined). No gateway can see
 *    which runs form a chain (a new job id per run), so the reference is a zero-overhead FIFO queue.
 *
 * Contenders: jobe-balancer (standalone core), CodeRunner's own `a;b;c` host list, a round-robin proxy
 * (nginx default) and job-id hashing without capacity awareness (HAProxy `balance hdr()`). Each first gets
 * the same warm-up (`--warmupRuns`, zero-time runs with files the burst does not use), so the burst meets
 * a running gateway, as in an exam, not a process whose code has never run.
 */
import * as http from 'node:http';
import { createBalancer, silentLogger } from '@jobe-balancer/core';
import { startJobeSim } from '@jobe-balancer/jobe-sim';
import { request } from 'undici';
import { md5, newJobId, phpJsonEncode, runLikeCodeRunner } from './lib/coderunner.mjs';
import { startJobIdHashProxy, startRoundRobinProxy } from './lib/proxies.mjs';
import {
  loadLine,
  logNormal,
  machineLine,
  ms,
  parseArgs,
  seconds,
  seededRandom,
  summarize,
  table,
  verdict,
  writeJson,
} from './lib/stats.mjs';

const options = parseArgs({
  students: 60,
  runs: 5,
  backends: 3,
  workers: 4,
  /** Jobe's sleep between tries for a free worker, and the number of tries (jobe_wait_timeout). */
  pollMs: 1000,
  waitTimeout: 10,
  questions: 4,
  filesPerRun: 2,
  fileKb: 20,
  medianMs: 200,
  p99Ms: 2000,
  /** Longer samples are cut here (Jobe's wall-clock limit is 2 × cputime = 10 s). */
  maxRunMs: 8000,
  /** Students (or, with independent arrivals, submissions) start uniformly within this window. */
  startWindowMs: 1000,
  /** `independent` submissions, student `chains`, or `both` (one section each). */
  arrival: 'both',
  /** Pause between a student's runs (CodeRunner runs a submission's tests back to back). */
  thinkMs: 0,
  seed: 1,
  /** Put every question's files on every backend (and into the gateway's store) before the burst: no 404s. */
  warmFiles: false,
  /**
   * Zero-time runs sent through each contender before the burst (12 at a time, with two files of their own,
   * not the burst's), so that the burst meets a running gateway rather than one whose code V8 has not yet
   * compiled and whose upstream connections are not yet open. Every contender gets the same warm-up.
   */
  warmupRuns: 48,
  /** Print busy workers and gateway queue length per `timelineMs` for each contender. */
  timeline: false,
  timelineMs: 500,
  contenders: 'jobe-balancer,coderunner-list,round-robin,job-id-hash',
  json: '',
});

// ---------------------------------------------------------------------------------------------- workload

/** Printable pseudo-random text, so files differ per question and are the same for every contender. */
function textFile(random, bytes) {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789 ,.\n';
  let text = '';
  for (let i = 0; i < bytes; i++) text += alphabet[Math.floor(random() * alphabet.length)];
  return text;
}

function makeWorkload(arrival) {
  const fileRandom = seededRandom(options.seed * 7919 + 1);
  const timeRandom = seededRandom(options.seed * 7919 + 2);
  const startRandom = seededRandom(options.seed * 7919 + 3);
  const jobIdRandom = seededRandom(options.seed * 7919 + 4);
  const runTime = logNormal(timeRandom, options.medianMs, options.p99Ms);
  const questions = Array.from({ length: options.questions }, () =>
    Array.from({ length: options.filesPerRun }, (_, i) => {
      const contents = textFile(fileRandom, options.fileKb * 1024);
      return { name: `data${i + 1}.txt`, contents, id: md5(contents) };
    }),
  );
  const students = Array.from({ length: options.students }, (_, s) => ({
    index: s,
    question: s % options.questions,
    startMs: startRandom() * options.startWindowMs,
    runs: Array.from({ length: options.runs }, () => ({
      ms: Math.min(options.maxRunMs, Math.round(runTime())),
      jobId: newJobId(jobIdRandom),
    })),
  }));
  if (arrival === 'chains') return { questions, students };
  // The same runs (times, job ids, questions), each a submission of its own, arriving independently.
  const arrivalRandom = seededRandom(options.seed * 7919 + 5);
  const submissions = students.flatMap((student) =>
    student.runs.map((run) => ({
      index: student.index,
      question: student.question,
      startMs: arrivalRandom() * options.startWindowMs,
      runs: [run],
    })),
  );
  return { questions, students: submissions };
}

/** Lower bounds on any schedule's makespan (measured from the moment the first student may start). */
function idealBounds(workload) {
  const totalWorkers = options.backends * options.workers;
  let totalWork = 0;
  let longestRun = 0;
  let longestChain = 0;
  for (const student of workload.students) {
    let chain = student.startMs + options.thinkMs * (student.runs.length - 1);
    for (const run of student.runs) {
      totalWork += run.ms;
      chain += run.ms;
      longestRun = Math.max(longestRun, run.ms);
    }
    longestChain = Math.max(longestChain, chain);
  }
  const workBound = totalWork / totalWorkers;
  return {
    totalWork,
    totalWorkers,
    workBound,
    longestRun,
    longestChain,
    ideal: Math.max(workBound, longestRun, longestChain),
  };
}

/**
 * The makespan of a zero-overhead gateway queue: runs start in arrival order (FIFO) the moment any of the
 * workers is free, and a student's next run arrives the moment the previous one ends. It knows no run
 * times, like any real gateway, so it is what FIFO scheduling itself costs against the ideal bound.
 *
 * `firstRunCycle` models the cold start: each student's first POST takes a slot, gets a 404 (no worker
 * used), the client PUTs its files for `cycleMs`, and the re-POST then queues again, at the back (`tail`)
 * or in the place it had (`head`).
 */
function simulateFifo(workload, totalWorkers, { firstRunCycle = null, cycleMs = 100 } = {}) {
  const events = workload.students.map((student, s) => ({ at: student.startMs, student: s, kind: 'arrive' }));
  const nextRun = workload.students.map(() => 0);
  const queue = [];
  let free = totalWorkers;
  let makespan = 0;
  while (events.length > 0) {
    events.sort((a, b) => a.at - b.at || (a.kind === 'done' ? -1 : 1));
    const event = events.shift();
    const s = event.student;
    if (event.kind === 'done') {
      free++;
      nextRun[s]++;
      if (nextRun[s] < workload.students[s].runs.length) {
        events.push({ at: event.at + options.thinkMs, student: s, kind: 'arrive' });
      } else {
        makespan = Math.max(makespan, event.at);
      }
    } else if (event.kind === 'repost') {
      if (firstRunCycle === 'head') queue.unshift({ student: s, probe: false });
      else queue.push({ student: s, probe: false });
    } else {
      queue.push({ student: s, probe: firstRunCycle !== null && nextRun[s] === 0 });
    }
    while (free > 0 && queue.length > 0) {
      const item = queue.shift();
      if (item.probe) {
        events.push({ at: event.at + cycleMs, student: item.student, kind: 'repost' });
        continue;
      }
      free--;
      const run = workload.students[item.student].runs[nextRun[item.student]];
      events.push({ at: event.at + run.ms, student: item.student, kind: 'done' });
    }
  }
  return makespan;
}

// -------------------------------------------------------------------------------------------- contenders

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

const CONTENDERS = {
  'jobe-balancer': {
    describe: 'jobe-balancer (standalone core, maxConcurrent = workers, gateway queue)',
    async start(sims) {
      const balancer = createBalancer({
        backends: sims.map((sim) => ({ name: sim.name, url: sim.url, maxConcurrent: options.workers })),
        logger: silentLogger,
        slowStartMs: 0,
      });
      const server = http.createServer((req, res) => balancer.handle(req, res));
      const host = await listen(server);
      await balancer.checkNow();
      let maxQueue = 0;
      const sampler = setInterval(() => {
        maxQueue = Math.max(maxQueue, balancer.status().queue.length);
      }, 20);
      return {
        host,
        queueLength: () => balancer.status().queue.length,
        warm: async (files) => {
          // Without a job id the gateway keeps the file and answers 204 itself.
          for (const file of files) await putFile(host, file);
        },
        extra: () => {
          const status = balancer.status();
          return { maxQueue, gatewayOutcomes: status.outcomes, fileStoreEntries: status.fileStore.entries };
        },
        close: async () => {
          clearInterval(sampler);
          server.closeAllConnections();
          await new Promise((resolve) => server.close(resolve));
          await balancer.close(1000);
        },
      };
    },
  },
  'coderunner-list': {
    describe: "CodeRunner's own `a;b;c` host list (servers[jobId % n], no proxy)",
    async start(sims) {
      return { host: sims.map((sim) => sim.url).join(';'), extra: () => ({}), close: async () => {} };
    },
  },
  'round-robin': {
    describe: 'round-robin proxy (nginx default: next backend per request, no stickiness)',
    async start(sims) {
      const proxy = await startRoundRobinProxy(sims.map((sim) => sim.url));
      return { host: proxy.url, extra: () => ({ proxied: proxy.counts }), close: proxy.close };
    },
  },
  'job-id-hash': {
    describe: 'job-id hashing proxy (HAProxy balance hdr(X-CodeRunner-Job-Id), no capacity awareness)',
    async start(sims) {
      const proxy = await startJobIdHashProxy(
        sims.map((sim) => sim.url),
        seededRandom(options.seed),
      );
      return { host: proxy.url, extra: () => ({ proxied: proxy.counts }), close: proxy.close };
    },
  },
};

// ----------------------------------------------------------------------------------------------- running

async function putFile(host, file) {
  const response = await request(`${host}/jobe/index.php/restapi/files/${file.id}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: phpJsonEncode({ file_contents: Buffer.from(file.contents).toString('base64') }),
  });
  await response.body.dump();
  if (response.statusCode !== 204) throw new Error(`warm-up PUT answered ${response.statusCode}`);
}

/** `warmupRuns` zero-time runs, 12 at a time, with two small files that the burst never uses. */
async function warmUp(host) {
  const random = seededRandom(options.seed * 7919 + 6);
  const files = [0, 1].map((i) => {
    const contents = `warm-up file ${i}\n${textFile(random, 2048)}`;
    return { name: `warmup${i}.txt`, contents, id: md5(contents) };
  });
  const jobIds = Array.from({ length: options.warmupRuns }, () => newJobId(random));
  const worker = async () => {
    for (let jobId = jobIds.pop(); jobId !== undefined; jobId = jobIds.pop()) {
      const answer = await runLikeCodeRunner(host, {
        language_id: 'python3',
        sourcecode: 'print("warm-up")\n#sim print warm-up\n',
        files,
        jobId,
      });
      if (answer.error !== null) throw new Error(`warm-up run failed: ${answer.error}`);
    }
  };
  await Promise.all(Array.from({ length: 12 }, worker));
}

/** Mean busy workers, mean queue length and runs finished, per `timelineMs`. */
function printTimeline(name, timeline, records) {
  const buckets = new Map();
  for (const point of timeline) {
    const key = Math.floor(point.t / options.timelineMs);
    const bucket = buckets.get(key) ?? { busy: 0, queued: 0, n: 0, done: 0, cycles: 0 };
    bucket.busy += point.busy;
    bucket.queued += point.queued;
    bucket.n++;
    buckets.set(key, bucket);
  }
  for (const record of records) {
    const bucket = buckets.get(Math.floor(record.ended / options.timelineMs));
    if (bucket) bucket.done++;
  }
  console.log(
    `\ntimeline of ${name} (per ${options.timelineMs} ms: mean busy workers · mean queue · runs finished):`,
  );
  console.log(
    [...buckets]
      .map(
        ([key, b]) =>
          `${((key * options.timelineMs) / 1000).toFixed(2)}s ${(b.busy / b.n).toFixed(1)}·${(b.queued / b.n).toFixed(0)}·${b.done}`,
      )
      .join('  '),
  );
}

/** p99 of the time to a usable result: a run that ended in an error never gave one (Infinity). */
function timeToResultP99(records) {
  const values = records.map((record) =>
    record.error === null ? record.latencyMs : Number.POSITIVE_INFINITY,
  );
  return summarize(values).p99;
}

async function runContender(name, workload) {
  const sims = await Promise.all(
    Array.from({ length: options.backends }, (_, i) =>
      startJobeSim({
        name: `jobe${i + 1}`,
        workers: options.workers,
        pollMs: options.pollMs,
        waitTimeout: options.waitTimeout,
      }),
    ),
  );
  const contender = await CONTENDERS[name].start(sims);
  await warmUp(contender.host);
  for (const sim of sims) sim.resetStats();
  if (options.warmFiles) {
    const files = workload.questions.flat();
    for (const sim of sims) for (const file of files) await putFile(sim.url, file);
    await contender.warm?.(files);
    for (const sim of sims) sim.resetStats();
  }
  const t0 = performance.now();
  let busySamples = 0;
  let busySum = 0;
  let queuedSamples = 0;
  let busyWhileQueued = 0;
  const timeline = [];
  const busySampler = setInterval(() => {
    let busy = 0;
    for (const sim of sims) busy += sim.stats().activeWorkers;
    busySamples++;
    busySum += busy;
    const queued = contender.queueLength ? contender.queueLength() : 0;
    if (queued > 0) {
      queuedSamples++;
      busyWhileQueued += busy;
    }
    if (options.timeline) timeline.push({ t: performance.now() - t0, busy, queued });
  }, 10);

  const records = [];
  // A "student" here is a chain of runs sent back to back; with independent arrivals, one run each.
  const student = async ({ index, question, startMs, runs }) => {
    const wait = startMs - (performance.now() - t0);
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    for (let r = 0; r < runs.length; r++) {
      if (r > 0 && options.thinkMs > 0) await new Promise((resolve) => setTimeout(resolve, options.thinkMs));
      const run = runs[r];
      const started = performance.now() - t0;
      const answer = await runLikeCodeRunner(contender.host, {
        language_id: 'python3',
        sourcecode: `# student ${index}, job ${run.jobId}\nprint("ok")\n#sim sleep ${run.ms}\n#sim print ok\n`,
        files: workload.questions[question],
        parameters: { cputime: 5, memorylimit: 1000 },
        jobId: run.jobId,
        timeoutMs: 120_000,
      });
      records.push({ ...answer, runMs: run.ms, started, ended: performance.now() - t0 });
    }
  };
  await Promise.all(workload.students.map(student));
  const makespan = Math.max(...records.map((record) => record.ended));
  clearInterval(busySampler);

  const simStats = sims.map((sim) => sim.stats());
  if (options.timeline) printTimeline(name, timeline, records);
  const extra = contender.extra();
  await contender.close();
  await Promise.all(sims.map((sim) => sim.close()));

  const latency = summarize(records.map((record) => record.latencyMs));
  const overloads = records.filter((record) => record.error === 'SERVER_OVERLOAD').length;
  const otherErrors = records.filter((record) => record.error !== null && record.error !== 'SERVER_OVERLOAD');
  const errorKinds = {};
  for (const record of otherErrors) {
    const key = `${record.error} (HTTP ${record.httpStatus})`;
    errorKinds[key] = (errorKinds[key] ?? 0) + 1;
  }
  const executedWork = records.filter((record) => record.error === null).reduce((sum, r) => sum + r.runMs, 0);
  return {
    name,
    makespan,
    latency,
    runs: records.length,
    ok: records.filter((record) => record.error === null).length,
    overloads,
    otherErrors: otherErrors.length,
    errorKinds,
    clientPuts: records.reduce((sum, record) => sum + record.puts, 0),
    clientPosts: records.reduce((sum, record) => sum + record.posts, 0),
    meanBusyWorkers: busySamples === 0 ? 0 : busySum / busySamples,
    busyWhileQueued: queuedSamples === 0 ? null : busyWhileQueued / queuedSamples,
    timeQueued: queuedSamples * 10,
    resultP99: timeToResultP99(records),
    clientFacing404Cycles: records.filter((record) => record.posts > 1).length,
    executedWork,
    sims: {
      overloads: simStats.reduce((sum, s) => sum + s.overloads, 0),
      runsServed: simStats.reduce((sum, s) => sum + s.runsServed, 0),
      fileMisses: simStats.reduce((sum, s) => sum + s.fileMisses, 0),
      puts: simStats.reduce((sum, s) => sum + s.puts, 0),
      peakWorkers: simStats.map((s) => s.peakWorkers),
    },
    extra,
  };
}

// ------------------------------------------------------------------------------------------------- main

const names = options.contenders
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of names) if (!CONTENDERS[name]) throw new Error(`unknown contender ${name}`);
const arrivals = options.arrival === 'both' ? ['independent', 'chains'] : [options.arrival];
for (const arrival of arrivals)
  if (arrival !== 'independent' && arrival !== 'chains') throw new Error(`unknown --arrival ${arrival}`);

async function measure(arrival) {
  const workload = makeWorkload(arrival);
  const bounds = idealBounds(workload);
  const fifoMakespan = simulateFifo(workload, bounds.totalWorkers);
  const coldTail = simulateFifo(workload, bounds.totalWorkers, { firstRunCycle: 'tail' });
  const coldHead = simulateFifo(workload, bounds.totalWorkers, { firstRunCycle: 'head' });
  console.log(`\n## ${arrival === 'chains' ? 'Student chains' : 'Independent submissions'}\n`);
  console.log(
    `${options.students} students × ${options.runs} ${arrival === 'chains' ? 'sequential test runs' : 'test runs, each submitted on its own,'} (${options.students * options.runs} runs), ` +
      `start window ${options.startWindowMs} ms, ${options.questions} questions × ${options.filesPerRun} files of ${options.fileKb} KB` +
      `${options.warmFiles ? ' (pre-loaded everywhere)' : ''}; ` +
      `${options.backends} jobe-sim × ${options.workers} workers (poll ${options.pollMs} ms × ${options.waitTimeout}); ` +
      `run times log-normal median ${options.medianMs} ms, p99 ${options.p99Ms} ms (seed ${options.seed}).`,
  );
  console.log(
    `Lower bounds: work ${seconds(bounds.totalWork)} / ${bounds.totalWorkers} workers = ${seconds(bounds.workBound)}; ` +
      `${arrival === 'chains' ? 'longest student chain (start offset + its runs)' : 'latest arrival + its run'} ${seconds(bounds.longestChain)}; longest run ${seconds(bounds.longestRun)}; ` +
      `ideal = max = ${seconds(bounds.ideal)}.`,
  );
  console.log(
    `Reference: a zero-overhead FIFO gateway queue (simulated, no knowledge of run times) needs ${seconds(fifoMakespan)} ` +
      `= ${(fifoMakespan / bounds.ideal).toFixed(2)} × ideal.` +
      (arrival === 'chains'
        ? ` If every student's first run goes through a 404→PUT (100 ms)→POST cycle and the re-POST queues again ` +
          `at the back: ${seconds(coldTail)}; if it keeps its place in the queue: ${seconds(coldHead)}.`
        : ''),
  );
  console.log(`Load average before: ${loadLine()}\n`);

  const results = [];
  for (const name of names) {
    process.stdout.write(`running ${name}: ${CONTENDERS[name].describe} … `);
    const result = await runContender(name, workload);
    console.log(`done in ${seconds(result.makespan)}`);
    results.push(result);
  }
  console.log(`Load average after: ${loadLine()}`);

  console.log('');
  console.log(
    table(
      [
        'contender',
        'makespan',
        '÷ ideal',
        '÷ FIFO sim',
        'p50',
        'p95',
        'p99',
        'p99 to result',
        'overload (21)',
        'other errors',
        'client PUTs',
        'runs OK',
        'busy workers',
      ],
      results.map((r) => [
        r.name,
        seconds(r.makespan),
        (r.makespan / bounds.ideal).toFixed(2),
        (r.makespan / fifoMakespan).toFixed(2),
        ms(r.latency.p50),
        ms(r.latency.p95),
        ms(r.latency.p99),
        ms(r.resultP99),
        r.overloads,
        r.otherErrors,
        r.clientPuts,
        `${r.ok}/${r.runs}`,
        `${r.meanBusyWorkers.toFixed(1)}/${bounds.totalWorkers}`,
      ]),
    ),
  );
  console.log(
    `\nideal = ${seconds(bounds.ideal)}, FIFO sim = ${seconds(fifoMakespan)}. Latency = one test run as CodeRunner sees it ` +
      '(first POST to final answer, 404→PUT→POST included); "p99 to result" counts a run that ended in an error ' +
      'as never answered; "busy workers" = mean Jobe workers in use over the makespan.',
  );

  const reference = results.find((r) => r.name === 'jobe-balancer');
  if (reference) {
    console.log('\nRelative to jobe-balancer (baseline ÷ jobe-balancer):\n');
    console.log(
      table(
        ['contender', 'makespan', 'p50', 'p99', 'overload answers', 'runs OK'],
        results
          .filter((r) => r !== reference)
          .map((r) => [
            r.name,
            `${(r.makespan / reference.makespan).toFixed(2)}×`,
            `${(r.latency.p50 / reference.latency.p50).toFixed(2)}×`,
            `${(r.latency.p99 / reference.latency.p99).toFixed(2)}×`,
            `${r.overloads} vs ${reference.overloads}`,
            `${r.ok} vs ${reference.ok}`,
          ]),
      ),
    );
  }

  console.log('\nDetails:');
  for (const r of results) {
    const errors = Object.entries(r.errorKinds)
      .map(([kind, count]) => `${kind} × ${count}`)
      .join(', ');
    const queued =
      r.busyWhileQueued === null
        ? ''
        : `; runs waited at the gateway for ${seconds(r.timeQueued, 1)}, with ${r.busyWhileQueued.toFixed(1)} workers busy on average meanwhile`;
    console.log(
      `- ${r.name}: sims answered ${r.sims.overloads} overloads and ${r.sims.fileMisses} file 404s, ` +
        `served ${r.sims.runsServed} runs, got ${r.sims.puts} PUTs, peak workers ${r.sims.peakWorkers.join('/')}; ` +
        `client POSTs ${r.clientPosts}, runs that went through a client 404→PUT→POST cycle ${r.clientFacing404Cycles}; ` +
        `executed work ${seconds(r.executedWork)}${queued}` +
        (errors ? `; errors: ${errors}` : '') +
        (Object.keys(r.extra).length ? `; ${JSON.stringify(r.extra)}` : ''),
    );
  }

  const verdicts = [];
  if (reference) {
    console.log(`\nTargets (${arrival}):`);
    verdicts.push(
      verdict(reference.overloads === 0, `jobe-balancer: zero overload answers (${reference.overloads})`),
    );
    verdicts.push(
      verdict(
        reference.makespan <= 1.15 * bounds.ideal,
        `jobe-balancer: makespan ≤ 1.15 × ideal (${seconds(reference.makespan)} vs ${seconds(1.15 * bounds.ideal)}, ` +
          `ratio ${(reference.makespan / bounds.ideal).toFixed(3)}; zero-overhead FIFO sim: ${(fifoMakespan / bounds.ideal).toFixed(3)})`,
      ),
    );
    verdicts.push(
      verdict(
        reference.makespan <= 1.05 * fifoMakespan,
        `jobe-balancer: makespan ≤ 1.05 × the zero-overhead FIFO queue (ratio ${(reference.makespan / fifoMakespan).toFixed(3)})`,
      ),
    );
    for (const r of results) {
      if (r === reference) continue;
      verdicts.push(
        verdict(
          reference.latency.p99 < r.latency.p99,
          `jobe-balancer: p99 below ${r.name}'s (${ms(reference.latency.p99)} vs ${ms(r.latency.p99)}; ` +
            `to a usable result: ${ms(reference.resultP99)} vs ${ms(r.resultP99)})`,
        ),
      );
    }
  }
  return { arrival, bounds, fifoMakespan, coldFifo: { tail: coldTail, head: coldHead }, results, verdicts };
}

console.log(`# Exam burst · ${machineLine()}`);
const sections = [];
for (const arrival of arrivals) sections.push(await measure(arrival));
writeJson(options.json, {
  bench: 'burst',
  machine: machineLine(),
  options,
  sections,
  verdicts: sections.flatMap((section) =>
    section.verdicts.map((v) => ({ ...v, text: `${section.arrival}: ${v.text}` })),
  ),
});
