/**
 * A burst against your own Jobe servers: `--runs` test runs that each sleep `--sleepS` seconds, all sent
 * at once, the way CodeRunner sends them (POST runs, a new connection each, a job id each), three ways:
 * CodeRunner's own `a;b;c` host list (job id modulo n), straight to the first server alone, and through
 * jobe-balancer (the core, in a child process) with `--maxConcurrent` per server. Prints the answers by
 * outcome (15 ok, 21 "server overload"), whether each run printed what it should, and the wall time.
 *
 *   node bench/fleet-burst.mjs --backends http://jobe1,http://jobe2 --maxConcurrent 8 [--runs 40] [--sleepS 6]
 *
 * Set `--maxConcurrent` to the servers' `jobe_max_users` (when several Jobe servers share one machine's
 * worker users, split them). Nothing here runs against jobe-sim: it is for checking a real fleet. The
 * runs are python3 programs (`--language`), so every server needs that language.
 */
import { fileURLToPath } from 'node:url';
import { runLikeCodeRunner } from './lib/coderunner.mjs';
import { startChild } from './lib/ipc.mjs';
import { loadLine, machineLine, ms, parseArgs, summarize, table, writeJson } from './lib/stats.mjs';

const options = parseArgs({
  backends: '',
  maxConcurrent: 16,
  runs: 40,
  sleepS: 6,
  language: 'python3',
  /** Which ways to send the burst (comma separated): coderunner-list, first-server, jobe-balancer. */
  contenders: 'coderunner-list,first-server,jobe-balancer',
  /** Seconds between contenders, so that the servers' workers are free again. */
  pauseS: 3,
  json: '',
});

const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const backends = options.backends
  .split(',')
  .map((url) => url.trim().replace(/\/+$/, ''))
  .filter(Boolean);
if (backends.length === 0) {
  console.error(
    '--backends wants the Jobe servers, e.g. --backends http://jobe1.example.edu,http://jobe2.example.edu',
  );
  process.exit(2);
}

function sourceFor(index) {
  if (options.language !== 'python3') throw new Error('only --language python3 is built in');
  return `import time\ntime.sleep(${options.sleepS})\nprint("run ${index} done")\n`;
}

async function burst(jobeHost) {
  const started = performance.now();
  const results = await Promise.all(
    Array.from({ length: options.runs }, async (_, index) => {
      const run = await runLikeCodeRunner(jobeHost, {
        language_id: options.language,
        sourcecode: sourceFor(index),
        timeoutMs: 600_000,
      });
      const outcome = run.result ? String(run.result.outcome) : `http ${run.httpStatus}`;
      const correct = run.result?.stdout === `run ${index} done\n`;
      return { outcome, correct, latencyMs: run.latencyMs };
    }),
  );
  return { wallMs: performance.now() - started, results };
}

async function measure(contender) {
  if (contender === 'coderunner-list') return { contender, ...(await burst(backends.join(';'))) };
  if (contender === 'first-server') return { contender, ...(await burst(backends[0])) };
  if (contender !== 'jobe-balancer') throw new Error(`unknown contender ${contender}`);
  const gateway = await startChild(GATEWAY_PROCESS, {
    variant: 'core',
    options: {
      backends: backends.map((url, i) => ({ name: `jobe${i + 1}`, url })),
      maxConcurrent: options.maxConcurrent,
      slowStartMs: 0,
    },
  });
  try {
    const measured = await burst(gateway.url);
    const status = (await gateway.ask('usage')).status;
    return { contender, ...measured, status };
  } finally {
    await gateway.close();
  }
}

console.log('# A burst against real Jobe servers\n');
console.log(machineLine());
console.log(`load average: ${loadLine()}`);
console.log(
  `\n${options.runs} ${options.language} runs of ${options.sleepS} s each, sent at once; servers: ${backends.join(', ')}; ` +
    `jobe-balancer with maxConcurrent ${options.maxConcurrent} per server.\n`,
);
const measured = [];
for (const contender of options.contenders.split(',').map((c) => c.trim())) {
  if (measured.length > 0) await new Promise((resolve) => setTimeout(resolve, options.pauseS * 1000));
  measured.push(await measure(contender));
}
console.log(
  table(
    ['sent', 'answers by outcome', 'overload (21)', 'right output', 'wall time', 'p50', 'p99'],
    measured.map((m) => {
      const byOutcome = {};
      for (const r of m.results) byOutcome[r.outcome] = (byOutcome[r.outcome] ?? 0) + 1;
      const latency = summarize(m.results.map((r) => r.latencyMs));
      return [
        m.contender,
        Object.entries(byOutcome)
          .map(([outcome, count]) => `${count} × ${outcome}`)
          .join(', '),
        String(byOutcome['21'] ?? 0),
        `${m.results.filter((r) => r.correct).length}/${m.results.length}`,
        ms(m.wallMs),
        ms(latency.p50),
        ms(latency.p99),
      ];
    }),
  ),
);
const gateway = measured.find((m) => m.status);
if (gateway) {
  console.log(
    `\njobe-balancer afterwards: ${gateway.status.backends
      .map((b) => `${b.name} effective capacity ${b.effectiveCapacity} of ${b.capacity}`)
      .join('; ')}; answers to clients by outcome ${JSON.stringify(gateway.status.outcomes)}.`,
  );
}
if (options.json) writeJson(options.json, { options, measured });
