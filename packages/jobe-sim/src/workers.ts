/**
 * Jobe's worker table (the jobe00..jobeNN accounts in shared memory) and LanguageTask::getFreeUser: try, and if
 * every worker is busy sleep and try again, up to `waitTimeout` retries, then give up (overload). There is no
 * queue: whichever request tries first after a worker is freed gets it.
 */
import type { Timers } from './timers.js';

export type Acquired = 'worker' | 'overload' | 'cancelled';

export class WorkerTable {
  active = 0;
  peak = 0;

  constructor(
    readonly size: number,
    private readonly pollMs: number,
    private readonly waitTimeout: number,
    private readonly timers: Timers,
  ) {}

  private tryTake(): boolean {
    if (this.active >= this.size) return false;
    this.active++;
    if (this.active > this.peak) this.peak = this.active;
    return true;
  }

  async acquire(): Promise<Acquired> {
    if (this.tryTake()) return 'worker';
    for (let retries = 1; retries <= this.waitTimeout; retries++) {
      if (!(await this.timers.wait(this.pollMs))) return 'cancelled';
      if (this.tryTake()) return 'worker';
    }
    return 'overload';
  }

  release(): void {
    if (this.active > 0) this.active--;
  }

  /** Every worker free again (a restarted server). */
  reset(): void {
    this.active = 0;
  }
}
