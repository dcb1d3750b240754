/** Why the gateway stopped waiting for something: the client left, the backend was ejected, or shutdown. */
export type CancelReason = 'client' | 'ejected' | 'shutdown';

/**
 * What AbortController/AbortSignal do for the gateway, without their cost: Node's EventTarget-based
 * signals took several percent of the CPU per run, and every run creates two of these.
 */
export class Cancellation {
  private cancelReason: CancelReason | null = null;
  private listeners: ((reason: CancelReason) => void)[] = [];

  get cancelled(): boolean {
    return this.cancelReason !== null;
  }

  cancel(reason: CancelReason): void {
    if (this.cancelReason !== null) return;
    this.cancelReason = reason;
    const listeners = this.listeners;
    this.listeners = [];
    for (const listener of listeners) listener(reason);
  }

  /** Calls `listener` once, on cancel (at once if already cancelled); returns what removes it. */
  onCancel(listener: (reason: CancelReason) => void): () => void {
    if (this.cancelReason !== null) {
      listener(this.cancelReason);
      return noop;
    }
    this.listeners.push(listener);
    return () => {
      const at = this.listeners.indexOf(listener);
      if (at !== -1) this.listeners.splice(at, 1);
    };
  }
}

/** What `onCancel` returns once there is nothing to remove; also a placeholder for it. */
export function noop(): void {}
