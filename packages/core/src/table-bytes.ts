/**
 * What one entry of an in-memory table costs, so that tables keyed by what clients send (file ids, job ids)
 * are bounded in bytes, not only in entries: a long key counts for the memory it holds.
 *
 * Figures measured on Node 20 (x64) with `--expose-gc` and `process.memoryUsage()` over 100,000 entries,
 * then rounded up for the hash table's growth (a Map doubles its capacity).
 */

/** A V8 string of `length` ASCII characters: 16 bytes of header, the characters rounded up to 8 bytes. */
export function stringBytes(length: number): number {
  return 16 + Math.ceil(length / 8) * 8;
}

/**
 * An lru-cache entry beside its key and value, with `max` set (its slots preallocated): the Map's entry and
 * the key, value, next/prev, size and TTL slots. Measured 64 bytes, 80 with a TTL.
 */
export const LRU_ENTRY_BYTES = 128;

/** The cost of a table entry whose key has `keyLength` characters and whose value holds no memory of its own. */
export function tableEntryBytes(keyLength: number): number {
  return LRU_ENTRY_BYTES + stringBytes(keyLength);
}

/**
 * A table's bound in bytes: `entries` entries of the size it is sized for, and never less than one entry of
 * the largest size its keys may have (lru-cache drops an entry larger than the whole table).
 */
export function tableBound(entries: number, entryBytes: number, largestEntryBytes: number): number {
  return Math.max(entries * entryBytes, largestEntryBytes);
}

/** The length of a CodeRunner file id (an md5 in hex) and job id (8 hex digits): what the bounds are sized for. */
export const MD5_ID_LENGTH = 32;
export const CODERUNNER_JOB_ID_LENGTH = 8;

/** How full a bounded table is: its entries, and their bytes against its bound. */
export interface TableUse {
  entries: number;
  bytes: number;
  maxBytes: number;
}
