/**
 * Bounded memory: many CodeRunner test runs over many distinct support files, through a gateway whose file
 * store is capped (`fileStoreMaxBytes`, 64 MiB), in its own process whose RSS is sampled over IPC.
 *
 *   node bench/memory.mjs [--runs 100000] [--files 10000] [--fileKb 10] [--maxSeconds 170] [--json out.json]
 *
 * Processes: this one (CodeRunner-like clients: 404→PUT→POST, a new TCP connection per request), the
 * jobe-sim child (3 backends, zero-time runs; their file caches are unbounded, like Jobe's) and the gateway
 * child (`--variant cli`: the jobe-balancer command's heap settings and server; `core`: the bare core;
 * `express`, `fastify`, `koa`: an adapter; `--tuneHeap`: with tuneHeapForGateway(), as sizing.md advises). Stops after `--runs` runs or `--maxSeconds`, whichever comes first.
 */
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { runLikeCodeRunner } from './lib/coderunner.mjs';
import { startChild } from './lib/ipc.mjs';
import {
  loadLine,
  machineLine,
  mib,
  parseArgs,
  seededRandom,
  table,
  verdict,
  writeJson,
} from './lib/stats.mjs';

const options = parseArgs({
  runs: 100_000,
  files: 10_000,
  fileKb: 10,
  /** Each run has one or two support files (half of the runs each). */
  maxFilesPerRun: 2,
  concurrency: 32,
  /** Start at most this many runs per second (0: as fast as the clients go), for like-for-like comparisons. */
  rate: 0,
  backends: 3,
  workers: 16,
  storeMiB: 64,
  /** The gateway: `cli` (the jobe-balancer command, as operators run it) or `core` (bare core, V8 defaults). */
  variant: 'cli',
  /** Call tuneHeapForGateway() in the gateway first, as a host following docs/operators/sizing.md does (the command always does). */
  tuneHeap: false,
  /** Another build of heap-settings (its .cjs or .js path) for the gateway: an A/B test of heap settings. */
  heapSettingsModule: '',
  maxSeconds: 170,
  sampleMs: 2000,
  seed: 1,
  /** Extra node flags for the gateway process, e.g. "--max-semi-space-size=4" (space separated). */
  gatewayFlags: '',
  /** Extra environment for the gateway process, e.g. "MALLOC_ARENA_MAX=2" (space separated NAME=value). */
  gatewayEnv: '',
  json: '',
});

const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const MiB = 1024 * 1024;

/** File i's contents: seeded bytes, regenerated whenever a client has to upload it. */
function fileContents(index) {
  const random = seededRandom(options.seed * 1_000_003 + index);
  const bytes = Buffer.allocUnsafe(options.fileKb * 1024);
  for (let i = 0; i < bytes.length; i += 4) bytes.writeUInt32LE(Math.floor(random() * 2 ** 32), i);
  return bytes;
}

function describeGateway() {
  if (options.variant === 'cli') return 'the jobe-balancer command';
  const what = options.variant === 'core' ? 'bare core' : `the ${options.variant} adapter`;
  return `${what}, ${options.tuneHeap ? 'tuneHeapForGateway()' : 'V8 defaults'}`;
}

console.log(`# Bounded memory · ${machineLine()}`);
process.stdout.write(`hashing ${options.files} support files of ${options.fileKb} KB … `);
const fileIds = Array.from({ length: options.files }, (_, i) =>
  createHash('md5').update(fileContents(i)).digest('hex'),
);
console.log('done');

const sim = await startChild(SIM_PROCESS, {
  sims: Array.from({ length: options.backends }, (_, i) => ({
    name: `jobe${i + 1}`,
    workers: options.workers,
    defaultRunMs: 0,
  })),
});
const gateway = await startChild(
  GATEWAY_PROCESS,
  {
    variant: options.variant,
    tuneHeap: options.tuneHeap,
    ...(options.heapSettingsModule ? { heapSettingsModule: options.heapSettingsModule } : {}),
    options: {
      backends: sim.urls.map((url, i) => ({ name: sim.names[i], url, maxConcurrent: options.workers })),
      fileStoreMaxBytes: options.storeMiB * MiB,
      slowStartMs: 0,
    },
  },
  {
    execArgv: ['--expose-gc', ...options.gatewayFlags.split(' ').filter(Boolean)],
    env: Object.fromEntries(
      options.gatewayEnv
        .split(' ')
        .filter(Boolean)
        .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
    ),
  },
);

console.log(
  `${options.runs} runs over ${options.files} distinct files (${mib(options.files * options.fileKb * 1024, 0)} in all), ` +
    `1–${options.maxFilesPerRun} per run, chosen uniformly; ${options.concurrency} concurrent CodeRunner clients` +
    `${options.rate > 0 ? ` starting at most ${options.rate} runs/s` : ''}; ` +
    `gateway (${describeGateway()}, own process) with fileStoreMaxBytes ${options.storeMiB} MiB in front of ` +
    `${options.backends} jobe-sim × ${options.workers} workers (another process). Stops after ${options.maxSeconds} s at most.` +
    (options.gatewayFlags || options.gatewayEnv
      ? ` Gateway flags: ${options.gatewayFlags} ${options.gatewayEnv}`
      : ''),
);
console.log(`Load average before: ${loadLine()}\n`);

const baseline = await gateway.ask('usage');
const samples = [];
const counters = { runs: 0, ok: 0, errors: 0, clientPuts: 0, clientPosts: 0, cycles: 0 };
const errorKinds = {};
const started = performance.now();
const deadline = started + options.maxSeconds * 1000;
const pick = seededRandom(options.seed);
let issued = 0;

async function client() {
  while (issued < options.runs && performance.now() < deadline) {
    if (options.rate > 0) {
      const due = started + (issued / options.rate) * 1000;
      const now = performance.now();
      if (due > now) {
        await new Promise((resolve) => setTimeout(resolve, due - now));
        continue;
      }
    }
    issued++;
    const count = 1 + Math.floor(pick() * options.maxFilesPerRun);
    const chosen = new Set();
    while (chosen.size < count) chosen.add(Math.floor(pick() * options.files));
    const files = [...chosen].map((index, i) => ({
      name: `data${i + 1}.bin`,
      id: fileIds[index],
      get contents() {
        return fileContents(index);
      },
    }));
    const answer = await runLikeCodeRunner(gateway.url, {
      language_id: 'python3',
      sourcecode: 'print("ok")\n',
      files,
      parameters: { cputime: 5 },
      timeoutMs: 60_000,
    });
    counters.runs++;
    counters.clientPuts += answer.puts;
    counters.clientPosts += answer.posts;
    if (answer.posts > 1) counters.cycles++;
    if (answer.error === null) counters.ok++;
    else {
      counters.errors++;
      const kind = `${answer.error} (HTTP ${answer.httpStatus})`;
      errorKinds[kind] = (errorKinds[kind] ?? 0) + 1;
    }
  }
}

async function sample() {
  const { memory, status } = await gateway.ask('usage');
  const point = {
    seconds: (performance.now() - started) / 1000,
    runs: counters.runs,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    heapTotal: memory.heapTotal,
    external: memory.external,
    arrayBuffers: memory.arrayBuffers,
    storeBytes: status.fileStore.bytes,
    storeEntries: status.fileStore.entries,
    affinityBindings: status.affinityBindings,
  };
  samples.push(point);
  return point;
}

let lastPrinted = 0;
const rows = [];
const sampler = setInterval(async () => {
  const point = await sample();
  if (point.seconds - lastPrinted >= 10) {
    lastPrinted = point.seconds;
    const row = [
      `${point.seconds.toFixed(0)} s`,
      point.runs,
      mib(point.rss),
      `${mib(point.heapUsed)} / ${mib(point.heapTotal)}`,
      mib(point.arrayBuffers),
      `${mib(point.storeBytes)} / ${point.storeEntries}`,
      point.affinityBindings,
    ];
    rows.push(row);
    console.log(row.join('  ·  '));
  }
}, options.sampleMs);

await Promise.all(Array.from({ length: options.concurrency }, client));
clearInterval(sampler);
const elapsed = (performance.now() - started) / 1000;
const final = await sample();
const afterGc = await gateway.ask('gc');
const simUsage = await sim.ask('usage');
await gateway.close();
await sim.close();
console.log(`Load average after: ${loadLine()}\n`);

const maxRss = Math.max(...samples.map((s) => s.rss));
const atMaxRss = samples.find((s) => s.rss === maxRss);
const maxHeap = Math.max(...samples.map((s) => s.heapUsed));
const maxArrayBuffers = Math.max(...samples.map((s) => s.arrayBuffers));
console.log(
  table(
    [
      'elapsed',
      'runs',
      'RSS',
      'heap used / total',
      'array buffers',
      'file store bytes / entries',
      'affinity bindings',
    ],
    rows,
  ),
);
console.log('');
console.log(
  table(
    ['figure', 'value'],
    [
      [
        'runs done (of asked)',
        `${counters.runs} (of ${options.runs}) in ${elapsed.toFixed(0)} s = ${(counters.runs / elapsed).toFixed(0)} runs/s`,
      ],
      ['runs OK / errors', `${counters.ok} / ${counters.errors}`],
      [
        'client POSTs / PUTs / 404→PUT→POST cycles',
        `${counters.clientPosts} / ${counters.clientPuts} / ${counters.cycles}`,
      ],
      ['gateway RSS at start', mib(baseline.memory.rss)],
      ['gateway max RSS (sampled every 2 s)', mib(maxRss)],
      [
        '… made of: V8 heap (total) / external incl. buffers / the rest (code, stacks, malloc)',
        `${mib(atMaxRss.heapTotal)} / ${mib(atMaxRss.external)} / ${mib(atMaxRss.rss - atMaxRss.heapTotal - atMaxRss.external)}`,
      ],
      ['gateway max heap used / max array buffers', `${mib(maxHeap)} / ${mib(maxArrayBuffers)}`],
      [
        'gateway RSS / heap used / heap total / external after a full GC at the end',
        `${mib(afterGc.memory.rss)} / ${mib(afterGc.memory.heapUsed)} / ${mib(afterGc.memory.heapTotal)} / ${mib(afterGc.memory.external)}`,
      ],
      [
        'final file store bytes / entries',
        `${mib(final.storeBytes)} (${final.storeBytes} B) / ${final.storeEntries}`,
      ],
      ['final affinity bindings', final.affinityBindings],
      ['jobe-sim process RSS (3 unbounded file caches)', mib(simUsage.memory.rss)],
      [
        'jobe-sim files held / PUTs received',
        simUsage.stats.map((s) => `${s.filesHeld} / ${s.puts}`).join(', '),
      ],
    ],
  ),
);
if (Object.keys(errorKinds).length > 0) console.log(`\nerrors: ${JSON.stringify(errorKinds)}`);

console.log('\nTargets:');
const limit = options.storeMiB * MiB + 100 * MiB;
const verdicts = [
  verdict(
    maxRss < limit,
    `gateway RSS < ${options.storeMiB} MiB + 100 MiB (max ${mib(maxRss)} vs ${mib(limit)})`,
  ),
  verdict(
    final.storeBytes <= options.storeMiB * MiB,
    `file store within fileStoreMaxBytes (${mib(final.storeBytes)} ≤ ${options.storeMiB} MiB)`,
  ),
];
if (counters.runs < options.runs) {
  console.log(`NOTE  stopped at ${options.maxSeconds} s: ${counters.runs} of ${options.runs} runs measured`);
}

writeJson(options.json, {
  bench: 'memory',
  machine: machineLine(),
  options,
  elapsed,
  counters,
  errorKinds,
  maxRss,
  maxHeap,
  maxArrayBuffers,
  afterGc: afterGc.memory,
  final,
  samples,
  verdicts,
});
