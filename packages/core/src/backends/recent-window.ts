/** Counts of requests and errors over the last minute, in one-second buckets. */
export class RecentWindow {
  private readonly requests = new Uint32Array(60);
  private readonly errors = new Uint32Array(60);
  private readonly stamps = new Float64Array(60);

  record(isError: boolean, now = Date.now()): void {
    const second = Math.floor(now / 1000);
    const slot = second % 60;
    if (this.stamps[slot] !== second) {
      this.stamps[slot] = second;
      this.requests[slot] = 0;
      this.errors[slot] = 0;
    }
    this.requests[slot]!++;
    if (isError) this.errors[slot]!++;
  }

  totals(now = Date.now()): { requests: number; errors: number } {
    const second = Math.floor(now / 1000);
    let requests = 0;
    let errors = 0;
    for (let slot = 0; slot < 60; slot++) {
      if (second - this.stamps[slot]! < 60) {
        requests += this.requests[slot]!;
        errors += this.errors[slot]!;
      }
    }
    return { requests, errors };
  }
}
