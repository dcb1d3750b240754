/**
 * Lets its waiters go one per event-loop turn, in arrival order. Large bodies pass through it before they
 * are parsed: parsing a 1.33 MB upload takes ~7 ms, and when hundreds finish arriving together, their
 * parses would otherwise all run in the same turn, holding every small request (a run's next step, a
 * health probe) for seconds. One per turn lets the I/O of that turn in between.
 */
export class TurnQueue {
  private readonly waiting: (() => void)[] = [];
  private scheduled = false;

  get length(): number {
    return this.waiting.length;
  }

  /** Resolves in a later turn of the event loop than any waiter before it. */
  next(): Promise<void> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(this.release);
      }
    });
  }

  private readonly release = (): void => {
    this.waiting.shift()?.();
    if (this.waiting.length > 0) setImmediate(this.release);
    else this.scheduled = false;
  };
}
