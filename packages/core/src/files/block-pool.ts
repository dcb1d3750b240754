/** Slabs are this size at most (and 1/64 of the store, at least 4 KiB, never more than the store). */
const MAX_SLAB_BYTES = 1024 * 1024;
const MIN_SLAB_BYTES = 4096;
/** Emptied slabs and freed large blocks kept for reuse: at most this share of the store, at most 4 MiB. */
const SPARE_SHARE = 16;
const MAX_SPARE_BYTES = 4 * 1024 * 1024;

/** A slab: one allocation cut into blocks of one size class, from the start, as they are needed. */
class Slab {
  cut = 0;
  inUse = 0;
  /** Offsets of the blocks given back (numbers, not views: a view costs ~100 bytes of V8 heap). */
  readonly free: number[] = [];

  constructor(
    readonly memory: Buffer,
    readonly blockSize: number,
  ) {}

  get hasRoom(): boolean {
    return this.cut + this.blockSize <= this.memory.length;
  }
}

/** The slabs of one size class: those with freed blocks, and the one being cut. */
interface SizeClass {
  withFree: Set<Slab>;
  cutting: Slab | undefined;
}

/**
 * A block of memory: `size` bytes at `offset` of a slab's memory, or a large block of its own (offset 0).
 * It keeps no Buffer view of its own: a store of tiny files holds one Block per file in V8's heap.
 */
export class Block {
  constructor(
    readonly memory: Buffer,
    readonly offset: number,
    readonly size: number,
    readonly slab: Slab | undefined,
  ) {}

  /** A view of the block's bytes, made on each call: to be used at once, not kept. */
  get bytes(): Buffer {
    return this.memory.subarray(this.offset, this.offset + this.size);
  }
}

/**
 * The file store's memory: blocks of size classes, bounded in bytes. Small blocks are cut from slabs
 * (one allocation holds many), so the store's long-lived memory is a few large allocations instead of
 * thousands of small ones interleaved in malloc's heap with each request's short-lived buffers; measured,
 * that kept ~13 MiB of malloc heap from fragmenting (decision 0010). Blocks larger than a quarter slab
 * are allocations of their own.
 *
 * `bytes` counts every block cut (held or free for reuse) and every large block in use; it never exceeds
 * `maxBytes`: `take` answers undefined instead, and the caller frees something. A slab whose blocks are
 * all free again is emptied and may serve any size class.
 */
export class BlockPool {
  readonly slabBytes: number;
  private usedBytes = 0;
  private readonly classes = new Map<number, SizeClass>();
  private readonly spare = new Map<number, Buffer[]>();
  private spareBytes = 0;
  private readonly maxSpareBytes: number;

  constructor(readonly maxBytes: number) {
    this.slabBytes = Math.min(
      maxBytes,
      Math.max(MIN_SLAB_BYTES, Math.min(MAX_SLAB_BYTES, Math.floor(maxBytes / 64))),
    );
    this.maxSpareBytes = Math.min(MAX_SPARE_BYTES, Math.floor(maxBytes / SPARE_SHARE));
  }

  /** Memory the blocks take: cut from slabs (held or free for reuse) and large ones in use. */
  get bytes(): number {
    return this.usedBytes;
  }

  /**
   * A block of exactly `size` bytes, or undefined when it would take the pool over `limit` (the owner's share
   * of `maxBytes` left for blocks; never above `maxBytes`).
   */
  take(size: number, limit = this.maxBytes): Block | undefined {
    const cap = Math.min(limit, this.maxBytes);
    if (size > this.slabBytes / 4) return this.takeLarge(size, cap);
    const sizeClass = this.sizeClass(size);
    const withFree: Slab | undefined = sizeClass.withFree.values().next().value;
    if (withFree) {
      const offset = withFree.free.pop() as number;
      if (withFree.free.length === 0) sizeClass.withFree.delete(withFree);
      withFree.inUse++;
      return new Block(withFree.memory, offset, size, withFree);
    }
    if (this.usedBytes + size > cap) return undefined;
    let slab = sizeClass.cutting;
    if (!slab?.hasRoom) {
      slab = new Slab(this.allocate(this.slabBytes), size);
      sizeClass.cutting = slab;
    }
    const block = new Block(slab.memory, slab.cut, size, slab);
    slab.cut += size;
    slab.inUse++;
    this.usedBytes += size;
    return block;
  }

  /** Gives a block back. The bytes must not be used afterwards: they will hold another file. */
  give(block: Block): void {
    const slab = block.slab;
    if (!slab) {
      this.usedBytes -= block.size;
      this.keepSpare(block.memory);
      return;
    }
    const sizeClass = this.sizeClass(slab.blockSize);
    slab.inUse--;
    if (slab.inUse > 0) {
      slab.free.push(block.offset);
      sizeClass.withFree.add(slab);
      return;
    }
    sizeClass.withFree.delete(slab);
    if (sizeClass.cutting === slab) sizeClass.cutting = undefined;
    this.usedBytes -= slab.cut;
    this.keepSpare(slab.memory);
  }

  private takeLarge(size: number, cap: number): Block | undefined {
    if (this.usedBytes + size > cap) return undefined;
    this.usedBytes += size;
    return new Block(this.allocate(size), 0, size, undefined);
  }

  private sizeClass(size: number): SizeClass {
    let sizeClass = this.classes.get(size);
    if (!sizeClass) {
      sizeClass = { withFree: new Set(), cutting: undefined };
      this.classes.set(size, sizeClass);
    }
    return sizeClass;
  }

  /** A spare buffer of this length when one is kept, else a new one. */
  private allocate(length: number): Buffer {
    const spare = this.spare.get(length)?.pop();
    if (!spare) return Buffer.allocUnsafeSlow(length);
    this.spareBytes -= length;
    return spare;
  }

  /** Kept for the next block or slab of its length while there is room; otherwise left to the GC. */
  private keepSpare(buffer: Buffer): void {
    if (this.spareBytes + buffer.length > this.maxSpareBytes) return;
    const list = this.spare.get(buffer.length);
    if (list) list.push(buffer);
    else this.spare.set(buffer.length, [buffer]);
    this.spareBytes += buffer.length;
  }
}
