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
    for (let i = 0; i < 2e6; i++) { kept.push({ i, s: 'x' + i }); if (kept.length > 20000) kept.splice(0, 10000); }
    const space = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    process.stdout.write(String(space.space_size / 1048576));
  `;
  return Number(execFileSync(process.execPath, [...nodeFlags, '--input-type=module', '-e', script]));
}

describe('tuneHeapForGateway', () => {
  it('keeps the young generation at its initial size under load', () => {
    expect(newSpaceAfterLoad([], false)).toBeGreaterThan(4);
    expect(newSpaceAfterLoad([], true)).toBeLessThanOrEqual(4);
  });

  it("leaves the operator's own semi-space setting alone", () => {
    expect(newSpaceAfterLoad(['--max-semi-space-size=8'], true)).toBeGreaterThan(4);
  });
});
