import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const heapSettings = fileURLToPath(new URL('../dist/heap-settings.js', import.meta.url));

/** The young generation's size after allocating plenty of short- and medium-lived objects, in MiB. */
function newSpaceAfterLoad(nodeFlags: string[], tune: boolean): number {
  const script = `
    const { tuneHeapForGateway } = await import(${JSON.stringify(heapSettings)});
    if (${tune}) tuneHeapForGateway();
    const { getHeapSpaceStatistics } = await import('node:v8');
    const kept = [];
    // In slices, as a server's work comes: the settings look at the young generation between them.
    for (let slice = 0; slice < 200; slice++) {
      for (let i = 0; i < 10000; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 20000) kept.splice(0, 10000); }
      await new Promise((resolve) => setImmediate(resolve));
    }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size / 1048576));
  `;
  return Number(execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script]));
}

describe('tuneHeapForGateway', () => {
  it('lets the young generation grow to 4 MiB under load, and no further', () => {
    expect(newSpaceAfterLoad([], false)).toBeGreaterThan(8);
    const tuned = newSpaceAfterLoad([], true);
    expect(tuned).toBeGreaterThan(2);
    expect(tuned).toBeLessThanOrEqual(4);
  });

  it("leaves the operator's own semi-space setting alone", () => {
    expect(newSpaceAfterLoad(['--max-semi-space-size=8'], true)).toBeGreaterThan(8);
  });
});
