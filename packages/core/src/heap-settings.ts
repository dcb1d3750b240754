import { setFlagsFromString } from 'node:v8';

/** What `tuneHeapForGateway` sets: both are V8 flags that V8 reads at every collection, not only at start. */
export const GATEWAY_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=50'] as const;

/**
 * Keeps V8's heap close to what the gateway really holds, for a process whose main job is the gateway.
 *
 * Under a steady flow of runs V8's defaults let the young generation grow to 32 MiB and the old one to up
 * to four times the live heap: about 110 MiB of heap for ~20 MiB of live objects. With these flags the
 * young generation stays at its initial 2 MiB and the old one grows at most 50 % past the live heap
 * (~40 MiB), for a few percent more CPU spent in the collector. They apply to the whole process, so the
 * standalone `jobe-balancer` calls this itself; a host gateway may call it at start-up if it wants the same.
 */
export function tuneHeapForGateway(): void {
  const given = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`.replaceAll('_', '-');
  for (const flag of GATEWAY_HEAP_FLAGS) {
    const name = flag.slice(0, flag.indexOf('='));
    // The operator's own heap flags win.
    if (
      name === '--semi-space-growth-factor' &&
      /--(max|min)-semi-space-size|--semi-space-growth/.test(given)
    )
      continue;
    if (given.includes(name)) continue;
    setFlagsFromString(flag);
  }
}
