import { type Cancellation, noop } from '../cancellation.js';

export type BodyGrant = 'granted' | 'timeout' | 'cancelled';

interface Waiter {
  bytes: number;
  resolve: (grant: BodyGrant) => void;
  timer: NodeJS.Timeout;
  stopFollowing: () => void;
}

/**
 * The bytes of request bodies the gateway holds at once: each body's share is taken before it is read
 * and given back when its request is answered (a run's body stays while it is queued and forwarded).
 * A body that does not fit waits, unread (TCP holds the client back), first come first served, so that
 * many large uploads at once cost a bounded amount of memory instead of one body each.
 */
export class BodyBudget {
  private held = 0;
  private readonly waiters: Waiter[] = [];

  constructor(
    readonly maxBytes: number,
    private readonly waitTimeoutMs: number,
  ) {}

  get bytes(): number {
    return this.held;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Takes `bytes` at once when they fit and no earlier body is waiting. */
  tryTake(bytes: number): boolean {
    if (this.waiters.length > 0 || this.held + bytes > this.maxBytes) return false;
    this.held += bytes;
    return true;
  }

  /** Takes `bytes`, waiting behind earlier bodies for room, until the wait timeout or a cancel. */
  take(bytes: number, cancellation: Cancellation): Promise<BodyGrant> {
    if (cancellation.cancelled) return Promise.resolve('cancelled');
    if (this.tryTake(bytes)) return Promise.resolve('granted');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        resolve,
        timer: setTimeout(() => {
          this.remove(waiter);
          resolve('timeout');
        }, this.waitTimeoutMs),
        stopFollowing: noop,
      };
      waiter.timer.unref?.();
      this.waiters.push(waiter);
      waiter.stopFollowing = cancellation.onCancel(() => {
        this.remove(waiter);
        resolve('cancelled');
      });
    });
  }

  give(bytes: number): void {
    this.held = Math.max(0, this.held - bytes);
    this.wake();
  }

  private wake(): void {
    while (this.waiters.length > 0) {
      const first = this.waiters[0]!;
      if (this.held + first.bytes > this.maxBytes) return;
      this.waiters.shift();
      clearTimeout(first.timer);
      first.stopFollowing();
      this.held += first.bytes;
      first.resolve('granted');
    }
  }

  private remove(waiter: Waiter): void {
    const at = this.waiters.indexOf(waiter);
    if (at === -1) return;
    this.waiters.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.stopFollowing();
    // The head leaving may let the bodies behind it in.
    if (at === 0) this.wake();
  }
}
