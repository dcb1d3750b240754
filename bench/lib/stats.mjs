/**
 * Small helpers shared by the benchmarks: a seeded PRNG (so every contender sees the same workload),
 * percentiles, argument parsing and Markdown tables (printed as is and pasted into bench/README.md).
 */
import { writeFileSync } from 'node:fs';
import * as os from 'node:os';

/** mulberry32: a tiny seeded 32-bit PRNG; returns floats in [0, 1). */
export function seededRandom(seed) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal sample (Box-Muller) from a uniform source. */
export function normal(random) {
  let u = 0;
  while (u === 0) u = random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** z of the 99th percentile of the standard normal distribution. */
export const Z99 = 2.3263478740408408;

/** A log-normal sampler with the given median and 99th percentile. */
export function logNormal(random, median, p99) {
  const mu = Math.log(median);
  const sigma = Math.log(p99 / median) / Z99;
  return () => Math.exp(mu + sigma * normal(random));
}

/** Nearest-rank percentile of an ascending array (p in 0..100). */
export function percentile(sorted, p) {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function summarize(values) {
  const sorted = Float64Array.from(values).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : sorted[sorted.length - 1],
  };
}

export function ms(value, digits = 0) {
  if (value === Number.POSITIVE_INFINITY) return '∞';
  return Number.isFinite(value) ? `${value.toFixed(digits)} ms` : 'n/a';
}

export function seconds(valueMs, digits = 2) {
  return Number.isFinite(valueMs) ? `${(valueMs / 1000).toFixed(digits)} s` : 'n/a';
}

export function mib(bytes, digits = 1) {
  return `${(bytes / 1024 / 1024).toFixed(digits)} MiB`;
}

/** A Markdown table with columns padded to equal width. */
export function table(headers, rows) {
  const cells = [headers, ...rows].map((row) => row.map((cell) => String(cell)));
  const widths = headers.map((_, column) => Math.max(...cells.map((row) => row[column].length), 3));
  const line = (row) => `| ${row.map((cell, column) => cell.padEnd(widths[column])).join(' | ')} |`;
  return [
    line(cells[0]),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...cells.slice(1).map(line),
  ].join('\n');
}

/**
 * `--name value` and `--flag` arguments over a table of defaults; numbers stay numbers. Unknown names are an
 * error, so a typo does not silently run the default benchmark.
 */
export function parseArgs(defaults, argv = process.argv.slice(2)) {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(
        `options (defaults):\n${Object.entries(defaults)
          .map(([key, value]) => `  --${key} ${JSON.stringify(value)}`)
          .join('\n')}`,
      );
      process.exit(0);
    }
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const [name, inline] = arg.slice(2).split('=', 2);
    if (!(name in defaults)) throw new Error(`unknown option --${name} (try --help)`);
    const fallback = defaults[name];
    let value = inline;
    if (value === undefined) {
      if (typeof fallback === 'boolean') value = 'true';
      else value = argv[++i];
    }
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (typeof fallback === 'number') options[name] = Number(value);
    else if (typeof fallback === 'boolean') options[name] = value !== 'false';
    else options[name] = value;
  }
  return options;
}

/** What the README's tables are tagged with. */
export function machineLine() {
  const cpus = os.cpus();
  return `${new Date().toISOString()} · Node ${process.version} · ${os.platform()} ${os.arch()} · ${cpus.length} × ${cpus[0]?.model ?? 'cpu'} · ${Math.round(os.totalmem() / 1024 ** 3)} GiB RAM`;
}

/** Writes the machine-readable result when `--json <file>` was given (bench/run-all.mjs reads it). */
export function writeJson(path, value) {
  if (path) writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
}

export function loadLine() {
  return os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' / ');
}

export function verdict(ok, text) {
  const line = `${ok ? 'PASS' : 'FAIL'}  ${text}`;
  console.log(line);
  return { ok, text };
}

export const sleep = (delayMs) => new Promise((resolve) => setTimeout(resolve, delayMs));
