/** Gaps between ticks longer than this many ticks count as a stall of the gateway's own event loop. */
const STALL_TICKS = 2;
/** Stalls remembered; older ones are only needed by probes that have long since settled. */
const REMEMBERED = 64;

interface Stall {
  from: number;
  to: number;
}

/**
 * When the gateway's own event loop was stalled (a long synchronous task, a major GC, a starved CPU),
 * learnt from the lateness of a ticker. A health probe that timed out while the loop stood still says
 * nothing about the backend: its answer may have sat unread in the socket, or the request left late.
 */
export class LoopStalls {
  private timer: NodeJS.Timeout | undefined;
  private lastTick = performance.now();
  private readonly stalls: Stall[] = [];

  constructor(private readonly tickMs: number) {}

  start(): void {
    this.lastTick = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      const stall = this.ongoing(now);
      if (stall) {
        this.stalls.push(stall);
        if (this.stalls.length > REMEMBERED) this.stalls.shift();
      }
      this.lastTick = now;
    }, this.tickMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The stall still under way at `now` (the ticker has not run since), if the gap is already long. */
  private ongoing(now: number): Stall | undefined {
    if (this.timer === undefined || now - this.lastTick <= STALL_TICKS * this.tickMs) return undefined;
    return { from: this.lastTick + this.tickMs, to: now };
  }

  /** Milliseconds of stall between `from` and `to` (performance.now() times), the one under way included. */
  stalledMs(from: number, to = performance.now()): number {
    let total = 0;
    const current = this.ongoing(to);
    for (const stall of current ? [...this.stalls, current] : this.stalls)
      total += Math.max(0, Math.min(to, stall.to) - Math.max(from, stall.from));
    return total;
  }
}
