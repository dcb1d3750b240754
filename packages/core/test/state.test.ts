import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { JobAffinity } from '../src/affinity/job-affinity.js';
import { Backend, type BackendSettings } from '../src/backends/backend.js';
import { FileLocations, FileStore } from '../src/files/file-store.js';
import { rendezvousScore } from '../src/scheduling/rendezvous.js';

const settings: BackendSettings = {
  defaultCapacity: 4,
  connectTimeoutMs: 1000,
  slowStartMs: 0,
  failureThreshold: 2,
  baseEjectionMs: 1000,
  maxEjectionMs: 8000,
  capacityRecoveryMs: 5000,
};
const made: Backend[] = [];
const backend = (extra: Partial<BackendSettings> = {}) => {
  const b = new Backend({ name: 'b1', url: '127.0.0.1:9' }, { ...settings, ...extra }, true);
  made.push(b);
  return b;
};
afterEach(async () => {
  await Promise.all(made.splice(0).map((b) => b.upstream.destroy()));
});

describe('FileStore', () => {
  it('never holds more bytes than its cap, whatever is put', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.integer({ min: 0, max: 400 })), {
          maxLength: 60,
        }),
        (puts) => {
          const store = new FileStore(1000);
          for (const [id, size] of puts) store.put(id, Buffer.alloc(size));
          expect(store.bytes).toBeLessThanOrEqual(1000);
        },
      ),
    );
  });

  it('gives small files memory of their own instead of a slice of a shared slab', () => {
    const store = new FileStore(1000);
    const pooled = Buffer.from('aGVsbG8=', 'base64');
    expect(pooled.buffer.byteLength).toBeGreaterThan(pooled.length);
    store.put('small', pooled);
    const kept = store.get('small')!;
    expect(kept.toString()).toBe('hello');
    expect(kept.buffer.byteLength).toBe(kept.length);
  });

  it('refuses a file larger than the store', () => {
    const store = new FileStore(10);
    expect(store.put('big', Buffer.alloc(11))).toBe(false);
    expect(store.has('big')).toBe(false);
  });
});

describe('FileLocations', () => {
  it('forgets a backend everywhere', () => {
    const locations = new FileLocations(10);
    locations.add('f1', 'a');
    locations.add('f2', 'a');
    locations.add('f2', 'b');
    locations.forgetBackend('a');
    expect(locations.countHeld(['f1', 'f2'], 'a')).toBe(0);
    expect(locations.countHeld(['f1', 'f2'], 'b')).toBe(1);
  });
});

describe('rendezvous hashing', () => {
  it('is deterministic and moves only the keys of a removed backend', () => {
    const pick = (key: string, names: string[]) =>
      names.reduce((best, name) =>
        rendezvousScore(key, name, 1) > rendezvousScore(key, best, 1) ? name : best,
      );
    const keys = Array.from({ length: 500 }, (_, i) => `job${i}`);
    const before = keys.map((key) => pick(key, ['a', 'b', 'c']));
    const after = keys.map((key) => pick(key, ['a', 'c']));
    keys.forEach((_, i) => {
      if (before[i] !== 'b') expect(after[i]).toBe(before[i]);
    });
    const share = before.filter((name) => name === 'a').length / keys.length;
    expect(share).toBeGreaterThan(0.25);
    expect(share).toBeLessThan(0.42);
  });
});

describe('Backend health state', () => {
  it('is ejected after the failure threshold, and recovers only after the ejection period', () => {
    const b = backend();
    b.recordSuccess(0);
    expect(b.health).toBe('healthy');
    expect(b.recordFailure('x', 10)).toBeNull();
    expect(b.recordFailure('x', 20)).toEqual({ state: 'ejected', reason: 'x' });
    expect(b.recordSuccess(500)).toBeNull();
    expect(b.health).toBe('ejected');
    expect(b.recordSuccess(1020)).toEqual({ state: 'healthy', reason: null });
  });

  it('doubles the ejection period while the half-open trial keeps failing', () => {
    const b = backend();
    b.recordFailure('x', 0); // unknown → ejected at once
    expect(b.ejectedUntil).toBe(1000);
    b.recordFailure('x', 1000);
    expect(b.ejectedUntil).toBe(3000);
    b.recordFailure('x', 3000);
    expect(b.ejectedUntil).toBe(7000);
    b.recordFailure('x', 7000);
    expect(b.ejectedUntil).toBe(15000);
  });

  it('lowers its effective capacity after an overload answer and regains it slowly', () => {
    const b = backend();
    expect(b.effectiveCapacity(0)).toBe(4);
    b.noteOverload(3, 1000);
    expect(b.effectiveCapacity(1000)).toBe(2);
    expect(b.effectiveCapacity(6000)).toBe(3);
    expect(b.effectiveCapacity(11000)).toBe(4);
  });

  it('ramps capacity up during slow start after a recovery', () => {
    const b = backend({ slowStartMs: 1000 });
    b.recordFailure('x', 0);
    b.recordSuccess(1000);
    expect(b.effectiveCapacity(1000)).toBe(1);
    expect(b.effectiveCapacity(1500)).toBe(2);
    expect(b.effectiveCapacity(2000)).toBe(4);
  });
});

describe('JobAffinity', () => {
  it('forgets expired bindings when swept, not only when read', async () => {
    const affinity = new JobAffinity(30, 1000, undefined);
    for (let i = 0; i < 50; i++) affinity.bind(`job${i}`, 'b1');
    expect(affinity.size).toBe(50);
    await new Promise((resolve) => setTimeout(resolve, 60));
    affinity.purgeStale();
    expect(affinity.size).toBe(0);
  });

  it('stays within its bound however many jobs pass', () => {
    const affinity = new JobAffinity(60_000, 100, undefined);
    for (let i = 0; i < 1000; i++) affinity.bind(`job${i}`, 'b1');
    expect(affinity.size).toBe(100);
  });
});
