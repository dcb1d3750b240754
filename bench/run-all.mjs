/**
 * Runs every benchmark in sequence (each in its own Node process), shows their output as it comes, and
 * writes bench/results/<name>.json and a summary, bench/results/summary.md.
 *
 *   npx -y pnpm@10.34.9 build && node bench/run-all.mjs [--only burst,overhead,memory] [--quick]
 *
 * --quick runs small versions (seconds each) to check that everything works; its figures mean nothing.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { loadLine, machineLine, parseArgs } from './lib/stats.mjs';

const options = parseArgs({
  only: 'burst,burst-seeds,overhead,memory,memory-unit,memory-express,uploads,file-ids,parallel-tests',
  quick: false,
});
const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const resultsDir = here('./results/');
mkdirSync(resultsDir, { recursive: true });

const BENCHES = {
  burst: { file: 'burst.mjs', quick: ['--students', '12', '--runs', '2'] },
  // The burst's makespan over ten workloads (jobe-balancer alone, about 5 minutes).
  'burst-seeds': { file: 'burst-seeds.mjs', quick: ['--seeds', '1-2', '--arrival', 'independent'] },
  overhead: {
    file: 'overhead.mjs',
    quick: [
      '--rounds',
      '1',
      '--seconds',
      '1',
      '--warmupSeconds',
      '1',
      '--sequential',
      '200',
      '--pacedSeconds',
      '1',
    ],
  },
  memory: { file: 'memory.mjs', quick: ['--runs', '2000', '--files', '500', '--storeMiB', '2'] },
  // The command as docs/operators/jobe-balancer.service starts it (its Environment=).
  'memory-unit': {
    file: 'memory.mjs',
    args: ['--gatewayEnv', 'MALLOC_ARENA_MAX=1'],
    quick: ['--runs', '2000', '--files', '500', '--storeMiB', '2'],
  },
  // A host gateway as examples/express-gateway runs it (Express 5, tuneHeapForGateway()).
  'memory-express': {
    file: 'memory.mjs',
    args: ['--variant', 'express', '--tuneHeap'],
    quick: ['--runs', '2000', '--files', '500', '--storeMiB', '2'],
  },
  // Many large uploads at once: bodies held within bodyMemoryBytes (about 90 s).
  uploads: { file: 'uploads.mjs', quick: ['--clients', '4,8', '--fileMb', '1'] },
  // 200,000 PUTs of distinct 259-character file ids: every table within its bytes (about 80 s).
  'file-ids': { file: 'file-ids.mjs', quick: ['--ids', '5000'] },
  // Test cases in parallel: runAll and the batch endpoint, and a regrade beside students (about 4 min).
  'parallel-tests': {
    file: 'parallel-tests.mjs',
    quick: [
      '--repeats',
      '1',
      '--submissions',
      '10',
      '--studentBaselineMs',
      '2000',
      '--batchConcurrency',
      '1,8',
    ],
  },
};

function run(name) {
  const bench = BENCHES[name];
  if (!bench) throw new Error(`unknown benchmark ${name}`);
  const jsonPath = `${resultsDir}${name}.json`;
  const extra = [...(bench.args ?? []), ...(options.quick ? bench.quick : [])];
  const args = [here(`./${bench.file}`), '--json', jsonPath, ...extra];
  const command = `node bench/${bench.file}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}`;
  console.log(`\n$ ${command}\n`);
  const started = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    child.stdout.on('data', (chunk) => {
      process.stdout.write(chunk);
      output += chunk;
    });
    child.on('close', (code) => {
      let json = null;
      try {
        json = JSON.parse(readFileSync(jsonPath, 'utf8'));
      } catch {
        json = null;
      }
      resolve({ name, command, code, seconds: (performance.now() - started) / 1000, output, json });
    });
  });
}

const runs = [];
const names = options.only
  .split(',')
  .map((name) => name.trim())
  .filter(Boolean);
for (const name of names) runs.push(await run(name));

const lines = [
  `# jobe-balancer benchmarks${options.quick ? ' (quick check, figures not meaningful)' : ''}`,
  '',
  `${machineLine()} · load average at the end ${loadLine()}`,
  '',
  '| benchmark | command | exit | time | targets |',
  '| --- | --- | --- | --- | --- |',
  ...runs.map((r) => {
    const verdicts = r.json?.verdicts ?? [];
    const passed = verdicts.filter((v) => v.ok).length;
    return `| ${r.name} | \`${r.command}\` | ${r.code} | ${r.seconds.toFixed(0)} s | ${passed}/${verdicts.length} PASS |`;
  }),
  '',
];
for (const r of runs) {
  lines.push(`## ${r.name}`, '', `\`${r.command}\``, '');
  for (const v of r.json?.verdicts ?? []) lines.push(`- ${v.ok ? 'PASS' : 'FAIL'} ${v.text}`);
  lines.push('', '<details><summary>full output</summary>', '', r.output.trim(), '', '</details>', '');
}
writeFileSync(`${resultsDir}summary.md`, `${lines.join('\n')}\n`);
console.log(`\nsummary: ${resultsDir}summary.md`);
process.exitCode = runs.some((r) => r.code !== 0) ? 1 : 0;
