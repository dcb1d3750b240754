import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Block, BlockPool } from '../src/files/block-pool.js';
import { blockSize, FileStore } from '../src/files/file-store.js';

/** True when two blocks share no byte of memory. */
function disjoint(a: Buffer, b: Buffer): boolean {
  if (a.buffer !== b.buffer) return true;
  return a.byteOffset + a.length <= b.byteOffset || b.byteOffset + b.length <= a.byteOffset;
}

describe('BlockPool', () => {
  it('sizes slabs from the store: 1 MiB for 64 MiB, never more than the store', () => {
    expect(new BlockPool(64 * 1024 * 1024).slabBytes).toBe(1024 * 1024);
    expect(new BlockPool(1024 * 1024).slabBytes).toBe(16 * 1024);
    expect(new BlockPool(1000).slabBytes).toBe(1000);
  });

  it('hands out disjoint blocks, counts exactly what it cut, and never goes over its cap', () => {
    const operation = fc.oneof(
      fc.record({ take: fc.constantFrom(64, 72, 80, 256, 1024, 4096, 20_000) }),
      fc.record({ give: fc.nat() }),
    );
    fc.assert(
      fc.property(
        fc.constantFrom(5000, 64 * 1024, 300_000),
        fc.array(operation, { maxLength: 120 }),
        (cap, ops) => {
          const pool = new BlockPool(cap);
          const held: { block: Block; mark: number }[] = [];
          let mark = 0;
          for (const op of ops) {
            if ('take' in op) {
              const block = pool.take(op.take);
              if (!block) {
                expect(pool.bytes + op.take).toBeGreaterThan(cap);
                continue;
              }
              expect(block.bytes.length).toBe(op.take);
              for (const other of held) expect(disjoint(block.bytes, other.block.bytes)).toBe(true);
              block.bytes.fill(++mark % 256);
              held.push({ block, mark: mark % 256 });
            } else if (held.length > 0) {
              const [given] = held.splice(op.give % held.length, 1);
              pool.give((given as { block: Block }).block);
            }
            expect(pool.bytes).toBeLessThanOrEqual(cap);
            expect(pool.bytes).toBeGreaterThanOrEqual(held.reduce((sum, h) => sum + h.block.bytes.length, 0));
            // Nothing another take did overwrote a held block.
            for (const h of held) expect(h.block.bytes.every((byte) => byte === h.mark)).toBe(true);
          }
          for (const h of held.splice(0)) pool.give(h.block);
          expect(pool.bytes).toBe(0);
        },
      ),
    );
  });

  it('reuses a freed block of the same class instead of cutting another', () => {
    const pool = new BlockPool(64 * 1024 * 1024);
    const first = pool.take(10_240) as Block;
    const second = pool.take(10_240) as Block;
    expect(pool.bytes).toBe(20_480);
    pool.give(first);
    const third = pool.take(10_240) as Block;
    expect(third.bytes.buffer).toBe(first.bytes.buffer);
    expect(third.bytes.byteOffset).toBe(first.bytes.byteOffset);
    expect(pool.bytes).toBe(20_480);
    pool.give(second);
    pool.give(third);
    expect(pool.bytes).toBe(0);
  });

  it('gives an emptied slab to another size class', () => {
    const pool = new BlockPool(64 * 1024 * 1024);
    const small = pool.take(64) as Block;
    pool.give(small);
    const other = pool.take(10_240) as Block;
    expect(other.bytes.buffer).toBe(small.bytes.buffer);
  });
});

describe('FileStore on its block pool', () => {
  it('keeps the store within its cap when the sizes of files change over time', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 300 }), fc.constantFrom(10, 100, 1000, 3000, 9000)), {
          maxLength: 200,
        }),
        (puts) => {
          const store = new FileStore(64 * 1024);
          const expected = new Map<string, string>();
          for (const [n, size] of puts) {
            const id = `f${n}`;
            const contents = Buffer.alloc(size, n % 256);
            expect(store.put(id, contents)).toBe(true);
            expected.set(id, contents.toString('base64'));
            expect(store.bytes).toBeLessThanOrEqual(64 * 1024);
            expect(store.bytes).toBeGreaterThanOrEqual(blockSize(size));
          }
          for (const [id, base64] of expected) if (store.has(id)) expect(store.base64(id)).toBe(base64);
        },
      ),
    );
  });
});
