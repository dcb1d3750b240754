/**
 * Long file ids: a client PUTs many distinct ids of the longest length a Jobe can store (259 characters,
 * holding an md5: Jobe's file cache turns its first 4 characters into directories and NAME_MAX is 255),
 * each with an empty file, so that each costs the gateway as much index per byte of file as possible.
 * Some PUTs carry a job id (a binding, and a PUT forwarded to a backend: a file location), and some runs
 * name ids the gateway lacks (each 404 makes it expect their upload). The gateway runs in its own process
 * (`--variant cli`: the jobe-balancer command) whose RSS is sampled over IPC.
 *
 *   node bench/file-ids.mjs [--ids 200000] [--idLength 259] [--variant cli|core|express|fastify|koa] [--tuneHeap]
 *
 * Target: RSS ≤ the documented bound (fileStoreMaxBytes + every table's bound in bytes + 100 MiB), and
 * back near where the flood left it once it stops (a full GC later), not growing with the ids sent.
 */
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import { startChild } from './lib/ipc.mjs';
import { loadLine, machineLine, mib, parseArgs, sleep, table, verdict, writeJson } from './lib/stats.mjs';

const options = parseArgs({
  ids: 200_000,
  /** 259: the longest id any Jobe stores (an md5 inside); 255 for ids without one. */
  idLength: 259,
  concurrency: 32,
  /** Every n-th PUT carries a job id of its own (0: none). */
  jobIdEvery: 4,
  /** Every n-th PUT is followed by a run naming 3 ids nobody uploaded (0: none). */
  runEvery: 20,
  backends: 3,
  storeMiB: 64,
  /** `cli` (the jobe-balancer command), `core` (bare core), or an adapter: express, fastify, koa. */
  variant: 'cli',
  /** Call tuneHeapForGateway() in the gateway first, as a host following docs/operators/sizing.md does. */
  tuneHeap: false,
  sampleMs: 2000,
  json: '',
});

const SIM_PROCESS = fileURLToPath(new URL('./lib/sim-process.mjs', import.meta.url));
const GATEWAY_PROCESS = fileURLToPath(new URL('./lib/gateway-process.mjs', import.meta.url));
const MiB = 1024 * 1024;
const API = '/jobe/index.php/restapi';

/** Distinct id n: 32 lowercase hex digits (so Jobe would store it under two directories), padded. */
const fileId = (n) => n.toString(16).padStart(32, '0').padEnd(options.idLength, 'Z');

console.log(`# Long file ids · ${machineLine()}`);
const sim = await startChild(SIM_PROCESS, {
  sims: Array.from({ length: options.backends }, (_, i) => ({ name: `jobe${i + 1}`, workers: 16 })),
});
const gateway = await startChild(
  GATEWAY_PROCESS,
  {
    variant: options.variant,
    tuneHeap: options.tuneHeap,
    options: {
      backends: sim.urls.map((url, i) => ({ name: sim.names[i], url })),
      fileStoreMaxBytes: options.storeMiB * MiB,
      slowStartMs: 0,
    },
  },
  { execArgv: ['--expose-gc'] },
);
console.log(
  `${options.ids} PUTs of distinct ${options.idLength}-character ids with empty files, ${options.concurrency} ` +
    `keep-alive connections; every ${options.jobIdEvery}th with its own job id, every ${options.runEvery}th ` +
    `followed by a run naming 3 ids never uploaded. Gateway: ${options.variant === 'cli' ? 'the jobe-balancer command' : `${options.variant}, ${options.tuneHeap ? 'tuneHeapForGateway()' : "V8's default heap"}`} ` +
    `(own process), fileStoreMaxBytes ${options.storeMiB} MiB, other bounds at their defaults, in front of ` +
    `${options.backends} jobe-sim (another process).`,
);
console.log(`Load average before: ${loadLine()}\n`);

const baseline = await gateway.ask('gc');
const pool = new Pool(gateway.url, { connections: options.concurrency, pipelining: 1 });
const statuses = {};
let sent = 0;

async function send(method, path, body, jobId) {
  const headers = { 'content-type': 'application/json; charset=utf-8' };
  if (jobId) headers['x-coderunner-job-id'] = jobId;
  const { statusCode, body: reply } = await pool.request({ method, path, headers, body });
  await reply.dump();
  const key = `${method} ${statusCode}`;
  statuses[key] = (statuses[key] ?? 0) + 1;
}

async function client() {
  while (sent < options.ids) {
    const n = sent++;
    const jobId =
      options.jobIdEvery > 0 && n % options.jobIdEvery === 0 ? (0x10000000 + n).toString(16) : undefined;
    await send('PUT', `${API}/files/${fileId(n)}`, '{"file_contents":""}', jobId);
    if (options.runEvery > 0 && n % options.runEvery === 0) {
      const fileList = [1, 2, 3].map((k) => [fileId(options.ids * 4 + n * 3 + k), `f${k}.txt`]);
      const run = { run_spec: { language_id: 'python3', sourcecode: '#sim print x', file_list: fileList } };
      await send('POST', `${API}/runs`, JSON.stringify(run), jobId);
    }
  }
}

const samples = [];
const rows = [];
async function sample(label) {
  const { memory, status } = await gateway.ask('usage');
  const point = {
    label,
    sent,
    rss: memory.rss,
    heapUsed: memory.heapUsed,
    external: memory.external,
    store: status.fileStore,
    tables: status.tables,
  };
  samples.push(point);
  return point;
}
/** A build from before the tables reported their bytes (JOBE_BALANCER_CORE_MODULE) has none to show. */
const NO_TABLE = { entries: 0, bytes: 0, maxBytes: 0 };
const tableOf = (point, name) => point.tables?.[name] ?? NO_TABLE;
const describeTable = (point, name) =>
  point.tables ? `${mib(tableOf(point, name).bytes, 2)} / ${tableOf(point, name).entries}` : 'n/a';
const describe = (point) => [
  point.label,
  point.sent,
  mib(point.rss),
  mib(point.heapUsed),
  mib(point.external),
  `${mib(point.store.bytes)} / ${point.store.entries}`,
  describeTable(point, 'fileLocations'),
  describeTable(point, 'affinityBindings'),
  describeTable(point, 'expectedUploads'),
];

const started = performance.now();
rows.push(describe(await sample('start (after GC)')));
const sampler = setInterval(async () => {
  const point = await sample(`${((performance.now() - started) / 1000).toFixed(0)} s`);
  rows.push(describe(point));
}, options.sampleMs);
await Promise.all(Array.from({ length: options.concurrency }, client));
clearInterval(sampler);
const elapsed = (performance.now() - started) / 1000;
await pool.close();
const atEnd = await sample('flood over');
rows.push(describe(atEnd));
await gateway.ask('gc');
await sleep(5000);
await gateway.ask('gc');
const settled = await sample('5 s later, after GC');
rows.push(describe(settled));
const simUsage = await sim.ask('usage');
await gateway.close();
await sim.close();
console.log(`Load average after: ${loadLine()}\n`);

console.log(
  table(
    [
      'when',
      'ids sent',
      'RSS',
      'heap used',
      'external',
      'file store bytes / entries',
      'file locations',
      'job bindings',
      'expected uploads',
    ],
    rows,
  ),
);

const tables = {
  fileLocations: tableOf(atEnd, 'fileLocations'),
  affinityBindings: tableOf(atEnd, 'affinityBindings'),
  expectedUploads: tableOf(atEnd, 'expectedUploads'),
};
const tablesBound =
  tables.fileLocations.maxBytes + tables.affinityBindings.maxBytes + tables.expectedUploads.maxBytes;
const bound = atEnd.store.maxBytes + tablesBound + 100 * MiB;
const maxRss = Math.max(...samples.map((point) => point.rss));
console.log('');
console.log(
  table(
    ['figure', 'value'],
    [
      ['requests', `${JSON.stringify(statuses)} in ${elapsed.toFixed(0)} s`],
      ['gateway RSS at start (after GC)', mib(baseline.memory.rss)],
      ['gateway max RSS (sampled every 2 s, and at the end)', mib(maxRss)],
      ['gateway RSS 5 s after the flood, after GC', mib(settled.rss)],
      [
        'bound: fileStoreMaxBytes + tables (locations + bindings + expected) + 100 MiB',
        `${mib(atEnd.store.maxBytes)} + ${mib(tablesBound)} (${mib(tables.fileLocations.maxBytes)} + ${mib(tables.affinityBindings.maxBytes)} + ${mib(tables.expectedUploads.maxBytes)}) + 100 MiB = ${mib(bound)}`,
      ],
      [
        'jobe-sim files held / PUTs received',
        simUsage.stats.map((s) => `${s.filesHeld} / ${s.puts}`).join(', '),
      ],
    ],
  ),
);

console.log('\nTargets:');
const everyTableWithin = [atEnd, settled].every(
  (point) =>
    point.store.bytes <= point.store.maxBytes &&
    Object.values(point.tables ?? {}).every((use) => use.bytes <= use.maxBytes),
);
const verdicts = [
  verdict(maxRss <= bound, `gateway RSS ≤ the bound (max ${mib(maxRss)} vs ${mib(bound)})`),
  verdict(
    settled.rss <= atEnd.rss + 16 * MiB,
    `after the flood RSS stays where it was, not growing (${mib(settled.rss)} vs ${mib(atEnd.rss)} at the end)`,
  ),
  verdict(everyTableWithin, 'the file store and every table within their bytes'),
  verdict(
    statuses['PUT 204'] === options.ids,
    `every PUT of a ${options.idLength}-character id answered 204 (${statuses['PUT 204'] ?? 0})`,
  ),
];

writeJson(options.json, {
  bench: 'file-ids',
  machine: machineLine(),
  options,
  elapsed,
  statuses,
  baselineRss: baseline.memory.rss,
  maxRss,
  settledRss: settled.rss,
  bound,
  samples,
  verdicts,
});
process.exitCode = verdicts.every((v) => v.ok) ? 0 : 1;
