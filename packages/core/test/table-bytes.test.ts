import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { JobAffinity } from '../src/affinity/job-affinity.js';
import { blockSize, FileLocations, FileStore, fileEntryBytes } from '../src/files/file-store.js';
import { MAX_FILE_ID_LENGTH } from '../src/protocol/file-ids.js';
import { stringBytes, tableEntryBytes } from '../src/table-bytes.js';

/**
 * Distinct alphanumeric ids of exactly `length` characters, as a client flooding the gateway sends them:
 * flat strings, as the HTTP parser and JSON.parse make them (not the rope a padEnd() leaves).
 */
const ids = (count: number, length: number) =>
  Array.from({ length: count }, (_, i) =>
    Buffer.from(`${i.toString(36)}z`.padEnd(length, 'q'), 'latin1').toString('latin1'),
  );

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Heap and external memory the objects `build` keeps, per entry, after full collections. */
function measuredBytesPerEntry(count: number, build: () => unknown): number {
  gc();
  gc();
  const before = process.memoryUsage();
  const kept = build();
  gc();
  gc();
  const after = process.memoryUsage();
  expect(kept).toBeDefined();
  return (after.heapUsed - before.heapUsed + after.arrayBuffers - before.arrayBuffers) / count;
}

describe('what a table entry is counted for is at least what it costs', () => {
  const count = 50_000;

  const longest = 'x'.repeat(MAX_FILE_ID_LENGTH);

  it('a file store entry: its block, its id and its index objects', () => {
    const counted = blockSize(0) + fileEntryBytes(longest);
    let store: FileStore | undefined;
    const measured = measuredBytesPerEntry(count, () => {
      store = new FileStore(count * counted);
      for (const id of ids(count, MAX_FILE_ID_LENGTH)) store.putBase64(id, '');
      return store;
    });
    expect(store!.entries).toBe(count);
    expect(store!.bytes).toBe(count * counted);
    // Measured: the slabs cut for the blocks, the ids and every object of the index.
    expect(measured).toBeLessThanOrEqual(counted);
  });

  // Tables with `max` preallocate their slots: measured full, with the keys CodeRunner sends (the cost of a
  // longer key is its string, measured with the file store above).
  it('a file-location entry (md5 id) and a job binding (8-digit id), their tables full', () => {
    const perLocation = measuredBytesPerEntry(count, () => {
      const locations = new FileLocations(count);
      for (const id of ids(count, 32)) locations.add(id, 'jobe1');
      expect(locations.use.entries).toBe(count);
      return locations;
    });
    expect(perLocation).toBeLessThanOrEqual(tableEntryBytes(32));
    const perBinding = measuredBytesPerEntry(count, () => {
      const affinity = new JobAffinity(60_000, count, undefined);
      for (const id of ids(count, 8)) affinity.bind(id, 'jobe1');
      expect(affinity.use.entries).toBe(count);
      return affinity;
    });
    expect(perBinding).toBeLessThanOrEqual(tableEntryBytes(8) + stringBytes('jobe1'.length));
  });
});

describe('tables keyed by what clients send are bounded in bytes, keys counted', () => {
  it('the file store: empty files under the longest ids stay within the cap, index included', () => {
    const store = new FileStore(1024 * 1024);
    for (const id of ids(20_000, MAX_FILE_ID_LENGTH)) store.putBase64(id, '');
    expect(store.bytes).toBeLessThanOrEqual(1024 * 1024);
    expect(store.entries).toBeLessThanOrEqual(
      Math.floor((1024 * 1024) / (blockSize(0) + fileEntryBytes('x'.repeat(MAX_FILE_ID_LENGTH)))),
    );
    expect(store.entries).toBeGreaterThan(1000);
  });

  it('file locations: every md5 id of the bound fits; longer ids take their share of the bytes', () => {
    const md5s = new FileLocations(1000);
    for (const id of ids(5000, 32)) md5s.add(id, 'jobe1');
    expect(md5s.use.entries).toBe(1000);
    expect(md5s.use.bytes).toBeLessThanOrEqual(md5s.use.maxBytes);
    expect(md5s.use.maxBytes).toBe(1000 * tableEntryBytes(32));

    const long = new FileLocations(1000);
    for (const id of ids(5000, MAX_FILE_ID_LENGTH)) long.add(id, 'jobe1');
    expect(long.use.bytes).toBeLessThanOrEqual(long.use.maxBytes);
    expect(long.use.entries).toBe(Math.floor(long.use.maxBytes / tableEntryBytes(MAX_FILE_ID_LENGTH)));
  });

  it('a table of one entry still takes one entry of the longest key', () => {
    const locations = new FileLocations(1);
    locations.add('x'.repeat(MAX_FILE_ID_LENGTH), 'jobe1');
    expect(locations.holds('x'.repeat(MAX_FILE_ID_LENGTH), 'jobe1')).toBe(true);
    const affinity = new JobAffinity(60_000, 1, undefined);
    affinity.bind('j'.repeat(64), 'jobe1');
    expect(affinity.use.entries).toBe(1);
  });

  it("job bindings: CodeRunner's 8-digit ids fill the bound; 64-character ids take their share", () => {
    const coderunner = new JobAffinity(60_000, 1000, undefined);
    for (const id of ids(5000, 8)) coderunner.bind(id, 'jobe-server-with-a-long-name-01');
    expect(coderunner.use.entries).toBe(1000);
    const long = new JobAffinity(60_000, 1000, undefined);
    for (const id of ids(5000, 64)) long.bind(id, 'jobe1');
    expect(long.use.bytes).toBeLessThanOrEqual(long.use.maxBytes);
    expect(long.use.entries).toBeLessThan(1000);
    expect(long.use.maxBytes).toBe(coderunner.use.maxBytes);
  });
});
