import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { JobAffinity } from '../src/affinity/job-affinity.js';
import type { BackendSettings } from '../src/backends/backend.js';
import { blockSize, FileLocations, FileStore } from '../src/files/file-store.js';
import { rendezvousScore } from '../src/scheduling/rendezvous.js';
import { destroyTestBackends, testBackend } from './backend-fixture.js';

const backend = (extra: Partial<BackendSettings> = {}) => testBackend('b1', extra);
afterEach(destroyTestBackends);

describe('FileStore', () => {
  it('never holds more bytes than its cap, whatever is put', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.stringMatching(/^[a-z0-9]{1,6}$/), fc.integer({ min: 0, max: 400 })), {
          maxLength: 60,
        }),
        (puts) => {
          const store = new FileStore(4000);
          for (const [id, size] of puts) store.put(id, Buffer.alloc(size));
          expect(store.bytes).toBeLessThanOrEqual(4000);
        },
      ),
    );
  });

  it('gives back exactly the bytes last stored under an id, while evicted memory is reused', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f'),
            fc.uint8Array({ maxLength: 300 }),
            fc.boolean(),
          ),
          { maxLength: 80 },
        ),
        (puts) => {
          const store = new FileStore(4000);
          const lastPut = new Map<string, string>();
          for (const [id, bytes, asBase64] of puts) {
            const base64 = Buffer.from(bytes).toString('base64');
            if (asBase64) store.putBase64(id, base64);
            else store.put(id, Buffer.from(bytes));
            lastPut.set(id, base64);
            for (const [known, expected] of lastPut) {
              if (store.has(known)) expect(store.base64(known)).toBe(expected);
            }
            expect(store.has(id)).toBe(true);
            expect(store.bytes).toBeLessThanOrEqual(4000);
          }
        },
      ),
    );
  });

  it('sizes blocks within 12.5 % of the file', () => {
    for (const length of [0, 1, 64, 65, 1000, 10_240, 20_480, 20_481, 1_000_000]) {
      const size = blockSize(length);
      expect(size).toBeGreaterThanOrEqual(length);
      expect(size).toBeLessThanOrEqual(Math.max(64, length * 1.125 + 1));
    }
  });

  it('refuses a file larger than the store', () => {
    const store = new FileStore(10);
    expect(store.put('big', Buffer.alloc(11))).toBe(false);
    expect(store.has('big')).toBe(false);
  });
});

describe('FileLocations', () => {
  it('agrees with a plain map of sets, whatever is added, forgotten and removed', () => {
    const backend = fc.constantFrom('a', 'b', 'c', 'd');
    const file = fc.constantFrom('f1', 'f2', 'f3');
    const operation = fc.oneof(
      fc.tuple(fc.constant('add' as const), file, backend),
      fc.tuple(fc.constant('forget' as const), file, backend),
      fc.tuple(fc.constant('remove' as const), fc.constant(''), backend),
    );
    fc.assert(
      fc.property(fc.array(operation, { maxLength: 60 }), (operations) => {
        const locations = new FileLocations(10);
        const model = new Map<string, Set<string>>();
        for (const [kind, fileId, name] of operations) {
          if (kind === 'add') {
            locations.add(fileId, name);
            model.set(fileId, (model.get(fileId) ?? new Set()).add(name));
          } else if (kind === 'forget') {
            locations.forget(fileId, name);
            model.get(fileId)?.delete(name);
          } else {
            locations.forgetBackend(name);
            for (const holders of model.values()) holders.delete(name);
          }
          for (const id of ['f1', 'f2', 'f3'])
            for (const b of ['a', 'b', 'c', 'd'])
              expect(locations.holds(id, b)).toBe(model.get(id)?.has(b) ?? false);
        }
      }),
    );
  });

  it('tracks 30 backends, and the bit of a removed one serves the next', () => {
    const locations = new FileLocations(10);
    for (let i = 0; i < 31; i++) locations.add('f', `jobe${i}`);
    expect(locations.holds('f', 'jobe29')).toBe(true);
    expect(locations.holds('f', 'jobe30')).toBe(false);
    locations.forgetBackend('jobe3');
    locations.add('f', 'jobe30');
    expect(locations.holds('f', 'jobe30')).toBe(true);
    expect(locations.holds('f', 'jobe3')).toBe(false);
  });

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
