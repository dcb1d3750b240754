/**
 * Prints where a V8 CPU profile (node --cpu-prof) spent its time: self time by function and by package.
 *
 *   node bench/lib/profile-summary.mjs <file.cpuprofile> [--top 25]
 */
import { readFileSync } from 'node:fs';

const [file, ...rest] = process.argv.slice(2);
const top = Number(rest[rest.indexOf('--top') + 1]) || 25;
const profile = JSON.parse(readFileSync(file, 'utf8'));
const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
const selfMicros = new Map();
const deltas = profile.timeDeltas;
for (let i = 0; i < profile.samples.length; i++) {
  const id = profile.samples[i];
  selfMicros.set(id, (selfMicros.get(id) ?? 0) + (deltas[i] ?? 0));
}
const total = [...selfMicros.values()].reduce((a, b) => a + b, 0);

function where(url) {
  if (!url) return '(native/V8)';
  const pkg = /node_modules\/(?:\.pnpm\/[^/]+\/node_modules\/)?((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return 'node core';
  if (url.includes('/packages/core/')) return '@jobe-balancer/core';
  if (url.includes('/packages/')) return url.replace(/.*\/packages\/([^/]+)\/.*/, '@jobe-balancer/$1');
  return url.replace(/.*\//, '');
}

const byFunction = new Map();
const byPlace = new Map();
for (const [id, micros] of selfMicros) {
  const { callFrame } = nodes.get(id);
  const place = where(callFrame.url);
  const name = `${callFrame.functionName || '(anonymous)'}  [${place}${callFrame.url ? `:${callFrame.lineNumber + 1}` : ''}]`;
  byFunction.set(name, (byFunction.get(name) ?? 0) + micros);
  byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
}
// Inclusive ("total") time: every function on a sample's stack, once per sample.
const parents = new Map();
for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
const label = (node) => {
  const place = where(node.callFrame.url);
  return `${node.callFrame.functionName || '(anonymous)'}  [${place}${node.callFrame.url ? `:${node.callFrame.lineNumber + 1}` : ''}]`;
};
const inclusive = new Map();
for (const [id, micros] of selfMicros) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parents.get(at)) {
    const name = label(nodes.get(at));
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
  }
}

const pct = (micros) => `${((100 * micros) / total).toFixed(1).padStart(5)} %`;
console.log(`${file}: ${(total / 1e6).toFixed(2)} s sampled\n\nself time by place:`);
for (const [place, micros] of [...byPlace].sort((a, b) => b[1] - a[1]).slice(0, 15))
  console.log(`${pct(micros)}  ${place}`);
console.log('\nself time by function:');
for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(micros)}  ${name}`);
console.log('\ntotal (inclusive) time by function:');
for (const [name, micros] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top))
  console.log(`${pct(micros)}  ${name}`);
