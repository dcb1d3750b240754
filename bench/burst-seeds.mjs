/**
 * The burst's makespan over many workloads: burst.mjs with jobe-balancer alone, once per seed, and the
 * zero-overhead FIFO queue simulated on the same workload. One seed is one draw of 300 log-normal run
 * times; this shows how the makespan ÷ ideal ratio spreads over draws, measured, not only simulated.
 *
 *   node bench/burst-seeds.mjs [--seeds 1-10] [--arrival both|independent|chains] [--json out.json]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadLine, machineLine, parseArgs, summarize, table, writeJson } from './lib/stats.mjs';

const options = parseArgs({ seeds: '1-10', arrival: 'both', json: '' });
const BURST = fileURLToPath(new URL('./burst.mjs', import.meta.url));

function parseSeeds(text) {
  return text.split(',').flatMap((part) => {
    const [from, to = from] = part.split('-').map(Number);
    if (!Number.isInteger(from) || !Number.isInteger(to) || to < from) throw new Error(`bad --seeds ${text}`);
    return Array.from({ length: to - from + 1 }, (_, i) => from + i);
  });
}

function runBurst(seed, jsonPath) {
  const args = [BURST, '--contenders', 'jobe-balancer', '--seed', String(seed), '--arrival', options.arrival];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args, '--json', jsonPath], {
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(JSON.parse(readFileSync(jsonPath, 'utf8')))
        : reject(new Error(`burst.mjs exited ${code}`)),
    );
  });
}

console.log(`# Burst makespan over seeds · ${machineLine()}`);
console.log(`Load average before: ${loadLine()}\n`);
const dir = mkdtempSync(join(tmpdir(), 'jobe-burst-seeds-'));
const rows = [];
try {
  for (const seed of parseSeeds(options.seeds)) {
    process.stdout.write(`seed ${seed} … `);
    const result = await runBurst(seed, join(dir, `${seed}.json`));
    for (const section of result.sections) {
      const measured = section.results.find((r) => r.name === 'jobe-balancer');
      rows.push({
        seed,
        arrival: section.arrival,
        ideal: section.bounds.ideal,
        fifo: section.fifoMakespan,
        makespan: measured.makespan,
        overloads: measured.overloads,
      });
    }
    console.log('done');
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
console.log(`Load average after: ${loadLine()}\n`);

console.log(
  table(
    ['seed', 'arrival', 'ideal', 'FIFO sim ÷ ideal', 'jobe-balancer ÷ ideal', '÷ FIFO sim', 'overloads'],
    rows.map((r) => [
      r.seed,
      r.arrival,
      `${(r.ideal / 1000).toFixed(2)} s`,
      (r.fifo / r.ideal).toFixed(2),
      (r.makespan / r.ideal).toFixed(2),
      (r.makespan / r.fifo).toFixed(2),
      r.overloads,
    ]),
  ),
);
const summary = [...new Set(rows.map((r) => r.arrival))].map((arrival) => {
  const of = rows.filter((r) => r.arrival === arrival);
  return {
    arrival,
    seeds: of.length,
    measuredWithin: of.filter((r) => r.makespan <= 1.15 * r.ideal).length,
    fifoWithin: of.filter((r) => r.fifo <= 1.15 * r.ideal).length,
    medianMeasured: summarize(of.map((r) => r.makespan / r.ideal)).p50,
    medianFifo: summarize(of.map((r) => r.fifo / r.ideal)).p50,
    worstVsFifo: Math.max(...of.map((r) => r.makespan / r.fifo)),
    overloads: of.reduce((sum, r) => sum + r.overloads, 0),
  };
});
console.log('');
for (const s of summary) {
  console.log(
    `${s.arrival}: makespan ≤ 1.15 × ideal on ${s.measuredWithin} of ${s.seeds} seeds (the FIFO sim: ${s.fifoWithin}); ` +
      `median ratio (nearest rank) ${s.medianMeasured.toFixed(2)} (FIFO sim ${s.medianFifo.toFixed(2)}); ` +
      `at most ${s.worstVsFifo.toFixed(2)} × the FIFO sim; overload answers ${s.overloads}.`,
  );
}
writeJson(options.json, { bench: 'burst-seeds', machine: machineLine(), options, rows, summary });
