import { LRUCache } from 'lru-cache';
import { type Cancellation, noop } from '../cancellation.js';
import { MAX_FILE_ID_LENGTH } from '../protocol/file-ids.js';
import { MD5_ID_LENGTH, stringBytes, type TableUse, tableBound, tableEntryBytes } from '../table-bytes.js';
import { type Block, BlockPool } from './block-pool.js';

/** A stored file: its bytes are the first `length` bytes of its block. */
interface StoredFile {
  block: Block;
  length: number;
  /** What its index entry costs besides the block (`fileEntryBytes`). */
  entryBytes: number;
}

/**
 * A stored file's index entry besides its block: the lru-cache slot (no `max`, so not preallocated), the
 * StoredFile and its Block. Measured ~200 bytes plus the id; counted higher because the index lives in V8's
 * heap, which grows to 1.5 times its live size between major collections with the command's heap settings.
 */
const FILE_ENTRY_BYTES = 384;

export function fileEntryBytes(fileId: string): number {
  return FILE_ENTRY_BYTES + stringBytes(fileId.length);
}

/** Ids a client was just told to upload are remembered for this long, this many at most (md5 ids). */
const EXPECTED_UPLOADS = 10_000;
const EXPECTED_UPLOAD_MS = 3_000;

/**
 * The size class of an n-byte file: n rounded up to 1/8 of its power of two (at most 12.5 % unused),
 * at least 64 bytes.
 */
export function blockSize(length: number): number {
  if (length <= 64) return 64;
  const step = 2 ** Math.max(3, Math.floor(Math.log2(length)) - 3);
  return Math.ceil(length / step) * step;
}

/**
 * The gateway's copies of support files (decoded bytes), bounded in bytes, least recently used out first.
 * With them any backend can be given a file a client PUT through the gateway, without the client's help.
 * The bound covers the files' blocks and their index entries (ids included): a flood of empty files under
 * long ids costs what it holds, like a few large files.
 *
 * The files live in blocks of a `BlockPool`, whose memory is reused for the next files instead of being
 * left to the garbage collector (dead copies waiting for a major GC once added a third to the store's
 * real footprint). So the bytes are never handed out, only their base64.
 */
export class FileStore {
  private readonly files: LRUCache<string, StoredFile>;
  private readonly pool: BlockPool;
  /** Bytes of the files' index entries (`fileEntryBytes` each), counted with the blocks against `maxBytes`. */
  private indexBytes = 0;
  /** File ids a client was just told to upload (Jobe's 404 went back to it), for a few seconds. */
  private readonly expected = new LRUCache<string, true>({
    max: EXPECTED_UPLOADS,
    maxSize: tableBound(
      EXPECTED_UPLOADS,
      tableEntryBytes(MD5_ID_LENGTH),
      tableEntryBytes(MAX_FILE_ID_LENGTH),
    ),
    sizeCalculation: (_, fileId) => tableEntryBytes(fileId.length),
    ttl: EXPECTED_UPLOAD_MS,
  });
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(readonly maxBytes: number) {
    this.pool = new BlockPool(Math.max(1, maxBytes));
    this.files = new LRUCache<string, StoredFile>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (file) => file.block.size + file.entryBytes,
      dispose: (file) => {
        this.indexBytes -= file.entryBytes;
        this.pool.give(file.block);
      },
    });
  }

  /**
   * A block for `length` bytes, evicting the least recently used files until the pool has one within what
   * the index (with the new entry's `entryBytes`) leaves of `maxBytes`.
   */
  private claim(length: number, entryBytes: number): Block | undefined {
    const size = blockSize(length);
    for (;;) {
      // A free block of the class is already counted in the pool's bytes: those must leave room too.
      const room = this.maxBytes - this.indexBytes - entryBytes;
      const block = this.pool.bytes <= room ? this.pool.take(size, room) : undefined;
      if (block || this.files.size === 0) return block;
      this.files.pop();
    }
  }

  /** A client got Jobe's missing-file 404 for these ids: its PUTs are on their way. */
  expectUploads(fileIds: readonly string[]): void {
    for (const id of fileIds) this.expected.set(id, true);
  }

  isUploadExpected(fileId: string): boolean {
    return this.expected.has(fileId);
  }

  /** Resolves true once every id is held, false after `timeoutMs` or on cancel. */
  whenHeld(fileIds: readonly string[], timeoutMs: number, cancellation: Cancellation): Promise<boolean> {
    const missing = new Set(fileIds.filter((id) => !this.files.has(id)));
    if (missing.size === 0) return Promise.resolve(true);
    if (cancellation.cancelled) return Promise.resolve(false);
    return new Promise((resolve) => {
      const arrived = new Map<string, () => void>();
      const finish = (held: boolean) => {
        clearTimeout(timer);
        stopFollowing();
        for (const [id, wake] of arrived) this.waiters.get(id)?.delete(wake);
        resolve(held);
      };
      let stopFollowing = noop;
      const timer = setTimeout(() => finish(false), timeoutMs);
      stopFollowing = cancellation.onCancel(() => finish(false));
      for (const id of missing) {
        const wake = () => {
          missing.delete(id);
          if (missing.size === 0) finish(true);
        };
        arrived.set(id, wake);
        const set = this.waiters.get(id) ?? new Set();
        set.add(wake);
        this.waiters.set(id, set);
      }
    });
  }

  /** Stores a copy of `contents`. False when the file alone is larger than the whole store. */
  put(fileId: string, contents: Buffer): boolean {
    return this.store(fileId, contents.length, (block) => contents.copy(block.memory, block.offset));
  }

  /** Stores the bytes of strict, whitespace-free base64 (see `strictBase64`), decoded straight into place. */
  putBase64(fileId: string, base64: string): boolean {
    const length = base64DecodedLength(base64);
    return this.store(fileId, length, (block) => block.memory.write(base64, block.offset, length, 'base64'));
  }

  private store(fileId: string, length: number, fill: (block: Block) => void): boolean {
    this.files.delete(fileId);
    const entryBytes = fileEntryBytes(fileId);
    if (blockSize(length) + entryBytes > this.maxBytes) return false;
    const block = this.claim(length, entryBytes);
    if (!block) return false;
    fill(block);
    this.indexBytes += entryBytes;
    this.files.set(fileId, { block, length, entryBytes });
    this.expected.delete(fileId);
    const waiting = this.waiters.get(fileId);
    if (waiting) {
      this.waiters.delete(fileId);
      for (const wake of waiting) wake();
    }
    return true;
  }

  /** The file's bytes in base64, read at once (its block may hold another file later). */
  base64(fileId: string): string | undefined {
    const file = this.files.get(fileId);
    if (!file) return undefined;
    const { memory, offset } = file.block;
    return memory.toString('base64', offset, offset + file.length);
  }

  has(fileId: string): boolean {
    return this.files.has(fileId);
  }

  get entries(): number {
    return this.files.size;
  }

  /** Memory the files take, with blocks kept for reuse and the index: never more than `maxBytes`. */
  get bytes(): number {
    return this.pool.bytes + this.indexBytes;
  }

  /** The ids a client was told to upload, remembered for a few seconds (entries and bytes, with bound). */
  get expectedUploads(): TableUse {
    return {
      entries: this.expected.size,
      bytes: this.expected.calculatedSize,
      maxBytes: this.expected.maxSize,
    };
  }
}

/** Backends beyond this many are not tracked (a bit each in a small integer); they just get no preference. */
const TRACKED_BACKENDS = 30;

/**
 * Which backends are known to hold which file ids (learnt from PUTs and successful runs), bounded.
 * A file's holders are a bit set of backends, so that 20,000 entries cost no object each. Bounded in
 * bytes too, ids counted: `maxFileIds` entries of md5 ids fit, fewer of longer ids.
 */
export class FileLocations {
  private readonly holders: LRUCache<string, number>;
  private readonly bits = new Map<string, number>();

  constructor(maxFileIds: number) {
    const max = Math.max(1, maxFileIds);
    this.holders = new LRUCache<string, number>({
      max,
      maxSize: tableBound(max, tableEntryBytes(MD5_ID_LENGTH), tableEntryBytes(MAX_FILE_ID_LENGTH)),
      sizeCalculation: (_, fileId) => tableEntryBytes(fileId.length),
    });
  }

  get use(): TableUse {
    return { entries: this.holders.size, bytes: this.holders.calculatedSize, maxBytes: this.holders.maxSize };
  }

  private assignBit(backend: string): number | undefined {
    const known = this.bits.get(backend);
    if (known !== undefined) return known;
    const used = new Set(this.bits.values());
    for (let index = 0; index < TRACKED_BACKENDS; index++) {
      const bit = 1 << index;
      if (!used.has(bit)) {
        this.bits.set(backend, bit);
        return bit;
      }
    }
    return undefined;
  }

  add(fileId: string, backend: string): void {
    const bit = this.assignBit(backend);
    if (bit !== undefined) this.holders.set(fileId, (this.holders.get(fileId) ?? 0) | bit);
  }

  forget(fileId: string, backend: string): void {
    const bit = this.bits.get(backend);
    const holders = this.holders.get(fileId);
    if (bit !== undefined && holders !== undefined && holders & bit) this.holders.set(fileId, holders & ~bit);
  }

  /** A removed backend: cleared from every file, and its bit free for another one. */
  forgetBackend(backend: string): void {
    const bit = this.bits.get(backend);
    if (bit === undefined) return;
    const holding: string[] = [];
    this.holders.forEach((holders, fileId) => {
      if (holders & bit) holding.push(fileId);
    });
    for (const fileId of holding) {
      const holders = this.holders.peek(fileId);
      if (holders !== undefined) this.holders.set(fileId, holders & ~bit);
    }
    this.bits.delete(backend);
  }

  holds(fileId: string, backend: string): boolean {
    const bit = this.bits.get(backend);
    return bit !== undefined && ((this.holders.peek(fileId) ?? 0) & bit) !== 0;
  }

  /** How many of `fileIds` the backend is known to hold. */
  countHeld(fileIds: readonly string[], backend: string): number {
    let held = 0;
    for (const id of fileIds) if (this.holds(id, backend)) held++;
    return held;
  }
}

/** PHP's base64_decode($s, true) as a check: the base64 without whitespace, or null when PHP refuses it. */
export function strictBase64(text: string): string | null {
  const compact = /[\t\n\r ]/.test(text) ? text.replace(/[\t\n\r ]/g, '') : text;
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  const unpadded = compact.length - padding;
  if (unpadded % 4 === 1) return null;
  if (padding > 0 && compact.length % 4 !== 0) return null;
  return compact;
}

/** The byte length of strict base64 (padded or not). */
export function base64DecodedLength(base64: string): number {
  let unpadded = base64.length;
  while (unpadded > 0 && base64.charCodeAt(unpadded - 1) === 61 /* = */) unpadded--;
  return Math.floor((unpadded * 3) / 4);
}

/** PHP's base64_decode($s, true): the standard alphabet only, whitespace skipped, padding checked. */
export function decodeBase64Strict(text: string): Buffer | null {
  const base64 = strictBase64(text);
  return base64 === null ? null : Buffer.from(base64, 'base64');
}
