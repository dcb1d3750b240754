import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/** What `tuneHeapForGateway` sets: V8 flags that V8 reads at every collection, not only at start. */
export const GATEWAY_HEAP_FLAGS = ['--semi-space-growth-factor=1', '--heap-growing-percent=50'] as const;

/**
 * The young generation the gateway keeps (both semi-spaces together). V8 starts at 1 MiB and, under load,
 * grows it up to 32 MiB. At 1 MiB a scavenge ran every ~25 runs and copied every run in flight each time:
 * ~90 µs more CPU per run than the bare core; at 4 MiB ~20 µs, for ~3 MiB of RSS; 8 MiB cost no less CPU
 * on the shared host but 9 MiB more RSS (bench/overhead.mjs, bench/memory.mjs; decision 20).
 */
export const GATEWAY_YOUNG_GENERATION_BYTES = 4 * 1024 * 1024;

const newSpaceBytes = (): number =>
  getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.space_size ?? 0;

/**
 * Lets V8 grow the young generation (its default growth factor) until it reaches `targetBytes`, then stops
 * it there (growth factor 1). V8 reads `max-semi-space-size` only at start-up, which the command cannot
 * choose for the operator; the growth factor it reads at every scavenge. V8 grows the young generation at
 * most once per few scavenges (when as many bytes survived as it holds), and this looks after each
 * collection as soon as the event loop turns, so it stops at the target unless one long synchronous task
 * lets it double twice (V8's own cap, 32 MiB, still holds).
 */
function holdYoungGeneration(targetBytes: number): void {
  let growing: boolean | undefined;
  const steer = (): void => {
    const grow = newSpaceBytes() < targetBytes;
    if (grow === growing) return;
    growing = grow;
    setFlagsFromString(grow ? '--semi-space-growth-factor=2' : GATEWAY_HEAP_FLAGS[0]);
  };
  steer();
  new PerformanceObserver(steer).observe({ entryTypes: ['gc'] });
}

/**
 * Keeps V8's heap close to what the gateway really holds, for a process whose main job is the gateway.
 *
 * Under a steady flow of runs V8's defaults let the young generation grow to 32 MiB and the old one to up
 * to four times the live heap: about 110 MiB of heap for ~20 MiB of live objects. With these settings the
 * young generation stays at 4 MiB and the old one grows at most 50 % past the live heap. They apply to
 * the whole process, so the standalone `jobe-balancer` calls this itself; a host gateway may call it at
 * start-up if it wants the same.
 */
export function tuneHeapForGateway(): void {
  const given = `${process.execArgv.join(' ')} ${process.env['NODE_OPTIONS'] ?? ''}`.replaceAll('_', '-');
  // The operator's own heap flags win.
  if (!/--(max|min)-semi-space-size|--semi-space-growth/.test(given))
    holdYoungGeneration(GATEWAY_YOUNG_GENERATION_BYTES);
  if (!given.includes('--heap-growing-percent')) setFlagsFromString(GATEWAY_HEAP_FLAGS[1]);
}
