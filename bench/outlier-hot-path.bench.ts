/**
 * What outlier detection adds to each run's answer on the gateway's hot path: reading the outcome (the
 * head of the body, not a JSON.parse of megabytes of output) and recording it (a failure also judges the
 * backend against its peers). Run: npx vitest bench --run bench/outlier-hot-path.bench.ts
 */
import { bench, describe } from 'vitest';
import { Backend } from '../packages/core/src/backends/backend.js';
import { DEFAULT_OUTLIER_SETTINGS, OutlierDetector } from '../packages/core/src/health/outlier-detector.js';
import { runOutcome } from '../packages/core/src/protocol/run-spec.js';

const answer = (stdout: string) =>
  Buffer.from(JSON.stringify({ run_id: null, outcome: 15, cmpinfo: '', stdout, stderr: '' }));
const small = answer('x'.repeat(4 * 1024));
const large = answer('x'.repeat(2 * 1024 * 1024));

describe('reading the outcome of a 2 MiB answer', () => {
  bench('runOutcome (the head only)', () => {
    runOutcome(large);
  });
  bench('JSON.parse of the whole answer', () => {
    (JSON.parse(large.toString('utf8')) as { outcome: number }).outcome;
  });
});

describe('reading the outcome of a 4 KiB answer', () => {
  bench('runOutcome (the head only)', () => {
    runOutcome(small);
  });
  bench('JSON.parse of the whole answer', () => {
    (JSON.parse(small.toString('utf8')) as { outcome: number }).outcome;
  });
});

const settings = {
  defaultCapacity: 16,
  connectTimeoutMs: 1000,
  slowStartMs: 0,
  failureThreshold: 2,
  baseEjectionMs: 2000,
  maxEjectionMs: 60_000,
  capacityRecoveryMs: 5000,
};
const backends = [1, 2, 3].map((i) => {
  const backend = new Backend({ name: `jobe${i}`, url: '127.0.0.1:9' }, settings, true);
  backend.health = 'healthy';
  return backend;
});
const detector = new OutlierDetector(
  DEFAULT_OUTLIER_SETTINGS,
  () => backends,
  () => undefined,
);
// Full windows: every backend's last 64 runs, 25 % of them failures, in two languages.
let i = 0;
const observe = (outcome: number) => {
  i++;
  detector.observe(backends[i % 3]!, { languageId: i % 5 === 0 ? 'c' : 'python3', fileSet: '', outcome }, i);
};
for (let n = 0; n < 300; n++) observe(n % 4 === 0 ? 11 : 15);

describe('recording one outcome (3 backends, full windows)', () => {
  bench('a success (recorded only)', () => {
    observe(15);
  });
  bench('a failure (recorded, then the backend judged against its peers)', () => {
    observe(i % 4 === 0 ? 11 : 12);
    observe(15);
    observe(15);
    observe(15);
  });
});
