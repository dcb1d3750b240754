import { type Cancellation, noop } from '../cancellation.js';

export type BodyGrant = 'granted' | 'timeout' | 'cancelled';

/** Where a body's share was taken from: the part only small bodies may hold, or the part all share. */
export type BodyRegion = 'reserve' | 'shared';

/** A body's share of the budget, given back whole (or in part) with `give`. */
export interface BodyShare {
  bytes: number;
  region: BodyRegion;
}

interface Waiter {
  bytes: number;
  small: boolean;
  /** Arrival order across both queues: the shared part is first come first served. */
  seq: number;
  resolve: (grant: BodyGrant) => void;
  share: BodyShare;
  timer: NodeJS.Timeout;
  stopFollowing: () => void;
}

/**
 * The bytes of request bodies the gateway holds at once: a body's share is taken once its first bytes have
 * arrived and given back when its request is answered (a run's body stays while it is queued and forwarded).
 *
 * `reserveBytes` of the budget are held for small bodies (every run): a small body takes its share from
 * there first, so it never waits behind large uploads unless small bodies already fill the reserve. The
 * rest is shared by all bodies, first come first served (a large body is not starved by small ones). A
 * body that does not fit waits, unread (TCP holds the client back).
 */
export class BodyBudget {
  private reserveHeld = 0;
  private sharedHeld = 0;
  private readonly small: Waiter[] = [];
  private readonly large: Waiter[] = [];
  private arrivals = 0;

  constructor(
    readonly maxBytes: number,
    readonly reserveBytes: number,
    private readonly waitTimeoutMs: number,
  ) {}

  get bytes(): number {
    return this.reserveHeld + this.sharedHeld;
  }

  get waiting(): number {
    return this.small.length + this.large.length;
  }

  private get sharedBytes(): number {
    return this.maxBytes - this.reserveBytes;
  }

  /** Takes `bytes` at once into `share` when they fit and no earlier body is waiting for them. */
  tryTake(bytes: number, small: boolean, share: BodyShare): boolean {
    if (small && this.small.length === 0 && this.reserveHeld + bytes <= this.reserveBytes) {
      this.reserveHeld += bytes;
      share.bytes = bytes;
      share.region = 'reserve';
      return true;
    }
    if (this.waiting > 0 || this.sharedHeld + bytes > this.sharedBytes) return false;
    this.sharedHeld += bytes;
    share.bytes = bytes;
    share.region = 'shared';
    return true;
  }

  /** Takes `bytes` into `share`, waiting behind earlier bodies for room, until the wait timeout or a cancel. */
  take(bytes: number, small: boolean, share: BodyShare, cancellation: Cancellation): Promise<BodyGrant> {
    if (cancellation.cancelled) return Promise.resolve('cancelled');
    if (this.tryTake(bytes, small, share)) return Promise.resolve('granted');
    return new Promise((resolve) => {
      const waiter: Waiter = {
        bytes,
        small,
        seq: this.arrivals++,
        resolve,
        share,
        timer: setTimeout(() => {
          this.remove(waiter);
          resolve('timeout');
        }, this.waitTimeoutMs),
        stopFollowing: noop,
      };
      waiter.timer.unref?.();
      (small ? this.small : this.large).push(waiter);
      waiter.stopFollowing = cancellation.onCancel(() => {
        this.remove(waiter);
        resolve('cancelled');
      });
    });
  }

  /** Gives back `bytes` of `share` (all of it by default). */
  give(share: BodyShare, bytes = share.bytes): void {
    const given = Math.min(bytes, share.bytes);
    if (given <= 0) return;
    share.bytes -= given;
    if (share.region === 'reserve') this.reserveHeld = Math.max(0, this.reserveHeld - given);
    else this.sharedHeld = Math.max(0, this.sharedHeld - given);
    this.wake();
  }

  private wake(): void {
    for (;;) {
      const smallHead = this.small[0];
      if (smallHead && this.reserveHeld + smallHead.bytes <= this.reserveBytes) {
        this.small.shift();
        this.reserveHeld += smallHead.bytes;
        this.grant(smallHead, 'reserve');
        continue;
      }
      const largeHead = this.large[0];
      const first =
        smallHead && (!largeHead || smallHead.seq < largeHead.seq) ? smallHead : (largeHead ?? null);
      if (first === null || this.sharedHeld + first.bytes > this.sharedBytes) return;
      (first.small ? this.small : this.large).shift();
      this.sharedHeld += first.bytes;
      this.grant(first, 'shared');
    }
  }

  private grant(waiter: Waiter, region: BodyRegion): void {
    clearTimeout(waiter.timer);
    waiter.stopFollowing();
    waiter.share.bytes = waiter.bytes;
    waiter.share.region = region;
    waiter.resolve('granted');
  }

  private remove(waiter: Waiter): void {
    const queue = waiter.small ? this.small : this.large;
    const at = queue.indexOf(waiter);
    if (at === -1) return;
    queue.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.stopFollowing();
    // A head leaving may let the bodies behind it in.
    if (at === 0) this.wake();
  }
}
