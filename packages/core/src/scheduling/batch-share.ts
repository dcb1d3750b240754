import type { Backend } from '../backends/backend.js';
import type { Cancellation } from '../cancellation.js';

/**
 * The runs of batches in flight together, held under `maxShare` of the fleet's capacity so that a regrade
 * can never take the workers students' single runs need. One owner for all batches: ten batches at once
 * get the same share as one, not ten times it. Batch runs beyond the share wait here, FIFO, before they
 * enter the scheduler's queue; at most `maxWaiting` of them (the scheduler queue's own bound), so that
 * many small batches cannot pile up waiters without limit.
 */
export class BatchShare {
  private running = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly backends: () => readonly Backend[],
    private readonly maxShare: number,
    private readonly maxWaiting: number,
  ) {}

  get inFlight(): number {
    return this.running;
  }

  /** `maxShare` of the configured capacity of the backends taking new runs (at least one run). */
  limit(): number {
    const serving = this.backends().filter((b) => b.adminState === 'ready' && b.health !== 'ejected');
    const capacity = serving.reduce((sum, backend) => sum + backend.capacity, 0);
    return Math.max(1, Math.floor(capacity * this.maxShare));
  }

  /** `start` when the run may start; `full` when too many batch runs wait already; `cancelled`. */
  acquire(cancellation: Cancellation): Promise<'start' | 'full' | 'cancelled'> {
    if (cancellation.cancelled) return Promise.resolve('cancelled');
    if (this.waiting.length === 0 && this.running < this.limit()) {
      this.running++;
      return Promise.resolve('start');
    }
    if (this.waiting.length >= this.maxWaiting) return Promise.resolve('full');
    return new Promise((resolve) => {
      const wake = () => {
        stop();
        this.running++;
        resolve('start');
      };
      const stop = cancellation.onCancel(() => {
        const at = this.waiting.indexOf(wake);
        if (at !== -1) this.waiting.splice(at, 1);
        resolve('cancelled');
      });
      this.waiting.push(wake);
    });
  }

  release(): void {
    this.running--;
    this.pump();
  }

  /** Starts waiting runs while there is room (also after the fleet grew or recovered). */
  pump(): void {
    while (this.waiting.length > 0 && this.running < this.limit()) this.waiting.shift()!();
  }
}
