import { LRUCache } from 'lru-cache';
import type { Cancellation } from '../cancellation.js';

/**
 * The gateway's copies of support files (decoded bytes), bounded in bytes, least recently used out first.
 * With them any backend can be given a file a client PUT through the gateway, without the client's help.
 */
export class FileStore {
  private readonly files: LRUCache<string, Buffer>;
  /** File ids a client was just told to upload (Jobe's 404 went back to it), for a few seconds. */
  private readonly expected = new LRUCache<string, true>({ max: 10_000, ttl: 3_000 });
  private readonly waiters = new Map<string, Set<() => void>>();

  constructor(readonly maxBytes: number) {
    this.files = new LRUCache<string, Buffer>({
      maxSize: Math.max(1, maxBytes),
      sizeCalculation: (contents) => Math.max(1, contents.length),
    });
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
    return new Promise((resolve) => {
      const arrived = new Map<string, () => void>();
      const finish = (held: boolean) => {
        clearTimeout(timer);
        stopFollowing();
        for (const [id, wake] of arrived) this.waiters.get(id)?.delete(wake);
        resolve(held);
      };
      let stopFollowing = (): void => {};
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

  /** False when the file alone is larger than the whole store. */
  put(fileId: string, contents: Buffer): boolean {
    if (contents.length > this.maxBytes) {
      this.files.delete(fileId);
      return false;
    }
    this.files.set(fileId, ownMemory(contents));
    this.expected.delete(fileId);
    const waiting = this.waiters.get(fileId);
    if (waiting) {
      this.waiters.delete(fileId);
      for (const wake of waiting) wake();
    }
    return true;
  }

  get(fileId: string): Buffer | undefined {
    return this.files.get(fileId);
  }

  has(fileId: string): boolean {
    return this.files.has(fileId);
  }

  get entries(): number {
    return this.files.size;
  }

  get bytes(): number {
    return this.files.calculatedSize;
  }
}

/** Which backends are known to hold which file ids (learnt from PUTs and successful runs), bounded. */
export class FileLocations {
  private readonly holders: LRUCache<string, Set<string>>;

  constructor(maxFileIds: number) {
    this.holders = new LRUCache<string, Set<string>>({ max: Math.max(1, maxFileIds) });
  }

  add(fileId: string, backend: string): void {
    const set = this.holders.get(fileId);
    if (set) set.add(backend);
    else this.holders.set(fileId, new Set([backend]));
  }

  forget(fileId: string, backend: string): void {
    this.holders.get(fileId)?.delete(backend);
  }

  forgetBackend(backend: string): void {
    for (const set of this.holders.values()) set.delete(backend);
  }

  holds(fileId: string, backend: string): boolean {
    return this.holders.peek(fileId)?.has(backend) ?? false;
  }

  /** How many of `fileIds` the backend is known to hold. */
  countHeld(fileIds: readonly string[], backend: string): number {
    let held = 0;
    for (const id of fileIds) if (this.holds(id, backend)) held++;
    return held;
  }
}

/**
 * Node decodes small buffers into slices of a shared 8 KiB slab; keeping one alive keeps the whole slab.
 * A stored file gets memory of its own, so the store's byte count is what it really holds.
 */
function ownMemory(contents: Buffer): Buffer {
  if (contents.byteLength === contents.buffer.byteLength) return contents;
  const owned = Buffer.allocUnsafeSlow(contents.length);
  contents.copy(owned);
  return owned;
}

/** PHP's base64_decode($s, true): the standard alphabet only, whitespace skipped, padding checked. */
export function decodeBase64Strict(text: string): Buffer | null {
  const compact = text.replace(/[\t\n\r ]/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact)) return null;
  const unpadded = compact.replace(/=+$/, '');
  if (unpadded.length % 4 === 1) return null;
  if (compact.length !== unpadded.length && compact.length % 4 !== 0) return null;
  return Buffer.from(unpadded, 'base64');
}
