import type { Backend } from '../backends/backend.js';
import { type Cancellation, noop } from '../cancellation.js';
import type { FileLocations } from '../files/file-store.js';
import { rendezvousScore } from './rendezvous.js';

/** What a run asks of the scheduler. */
export interface RunTicket {
  /** Lower-cased language id; `null` when any backend will do (requests Jobe itself must judge). */
  languageId: string | null;
  fileIds: readonly string[];
  /** Rendezvous key: the job id, or something stable about the run. */
  key: string;
  /** The backend the job is bound to (job id or cookie), preferred while it can serve. */
  bound: string | undefined;
  /** Backends this run already tried. */
  exclude: ReadonlySet<string>;
  cancellation: Cancellation;
}

export type Acquired =
  | { kind: 'backend'; backend: Backend; queuedMs: number }
  /** No backend could ever take this run (language nowhere, all in maintenance or tried). */
  | { kind: 'none' }
  /** Waited too long, or the queue was full: Jobe's overload answer. */
  | { kind: 'overload'; why: 'queue-full' | 'queue-timeout'; queuedMs: number }
  | { kind: 'aborted' };

interface Waiter {
  ticket: RunTicket;
  enqueuedAt: number;
  resolve(result: Acquired): void;
  timer: NodeJS.Timeout;
  stopFollowing: () => void;
}

export interface SchedulerSettings {
  maxQueueLength: number;
  queueTimeoutMs: number;
}

/**
 * Chooses a backend for each run and never sends a backend more runs than its capacity: runs that find
 * every eligible backend full wait here, in FIFO order, instead of in Jobe's one-second poll loop.
 */
export class Scheduler {
  private readonly queue: Waiter[] = [];
  onQueueWait: ((seconds: number) => void) | undefined;
  /** Called after a slot is given back (drain detection). */
  onRelease: ((backend: Backend) => void) | undefined;

  constructor(
    private readonly backends: () => readonly Backend[],
    private readonly locations: FileLocations,
    private readonly settings: SchedulerSettings,
  ) {}

  get queueLength(): number {
    return this.queue.length;
  }

  /**
   * Backends that may take the run at all, ignoring load; ejected ones only when no backend for it is
   * healthy (panic mode). A run that already tried every healthy one (they all answered overload, say)
   * gets no ejected one: a frozen backend would hold it for the whole run timeout instead of Jobe's answer.
   */
  candidates(ticket: Pick<RunTicket, 'languageId' | 'bound' | 'exclude'>): Backend[] {
    const eligible = this.backends().filter(
      (backend) =>
        backend.adminState !== 'maint' &&
        (backend.adminState === 'ready' || backend.name === ticket.bound) &&
        backend.health !== 'unknown' &&
        (ticket.languageId === null || backend.supports(ticket.languageId)),
    );
    const untried = eligible.filter((backend) => !ticket.exclude.has(backend.name));
    const healthy = untried.filter((backend) => backend.health === 'healthy');
    if (healthy.length > 0) return healthy;
    if (eligible.some((backend) => backend.health === 'healthy')) return [];
    // Panic mode: every candidate is ejected; keep trying the least-bad one rather than failing everything.
    return untried.sort((a, b) => a.failureStreak - b.failureStreak || a.ejectedUntil - b.ejectedUntil);
  }

  /**
   * Best first: the bound backend, then (panic mode) the least bad, then those holding the run's files,
   * then the least loaded, then rendezvous order.
   */
  rank(ticket: Omit<RunTicket, 'cancellation'>, backends: Backend[], now = Date.now()): Backend[] {
    // Panic mode: keep candidates()'s least-bad-first order ahead of files, load and hash.
    const panic = backends.every((backend) => backend.health === 'ejected');
    const scored = backends.map((backend, index) => ({
      backend,
      bound: backend.name === ticket.bound ? 1 : 0,
      panicOrder: panic ? index : 0,
      files: ticket.fileIds.length === 0 ? 0 : this.locations.countHeld(ticket.fileIds, backend.name),
      load: backend.load(now),
      score: undefined as number | undefined,
    }));
    // The hash is the last tie-break: computed only for backends that tie on everything before it.
    const scoreOf = (entry: (typeof scored)[number]) =>
      (entry.score ??= rendezvousScore(ticket.key, entry.backend.name, entry.backend.weight));
    scored.sort(
      (a, b) =>
        b.bound - a.bound ||
        a.panicOrder - b.panicOrder ||
        b.files - a.files ||
        a.load - b.load ||
        scoreOf(b) - scoreOf(a),
    );
    return scored.map((entry) => entry.backend);
  }

  /** The backend a request that takes no worker (PUT, HEAD) would be sent to. */
  preferred(ticket: Omit<RunTicket, 'cancellation'>): Backend | undefined {
    return this.rank(ticket, this.candidates(ticket))[0];
  }

  private tryTake(ticket: RunTicket): Backend | 'none' | 'full' {
    const candidates = this.candidates(ticket);
    if (candidates.length === 0) return 'none';
    const now = Date.now();
    const free = candidates.filter((backend) => backend.hasFreeSlot(now));
    if (free.length === 0) return 'full';
    const chosen = this.rank(ticket, free, now)[0]!;
    chosen.inFlight++;
    return chosen;
  }

  /** Takes a slot on the best backend with room, waiting in the queue if every eligible one is full. */
  acquire(ticket: RunTicket): Promise<Acquired> {
    if (ticket.cancellation.cancelled) return Promise.resolve({ kind: 'aborted' });
    // Runs already waiting go first: a newcomer must not overtake them.
    const taken = this.queue.length === 0 ? this.tryTake(ticket) : this.tryTakeBehindQueue(ticket);
    if (taken === 'none') return Promise.resolve({ kind: 'none' });
    if (taken !== 'full') {
      this.onQueueWait?.(0);
      return Promise.resolve({ kind: 'backend', backend: taken, queuedMs: 0 });
    }
    if (this.queue.length >= this.settings.maxQueueLength) {
      return Promise.resolve({ kind: 'overload', why: 'queue-full', queuedMs: 0 });
    }
    return new Promise((resolve) => {
      const enqueuedAt = Date.now();
      const waiter: Waiter = {
        ticket,
        enqueuedAt,
        resolve,
        timer: setTimeout(() => {
          this.remove(waiter);
          resolve({ kind: 'overload', why: 'queue-timeout', queuedMs: Date.now() - enqueuedAt });
        }, this.settings.queueTimeoutMs),
        stopFollowing: noop,
      };
      waiter.timer.unref?.();
      this.queue.push(waiter);
      waiter.stopFollowing = ticket.cancellation.onCancel(() => {
        this.remove(waiter);
        resolve({ kind: 'aborted' });
      });
    });
  }

  /** After a pump, whatever capacity is still free is capacity no waiter can use: a newcomer may take it. */
  private tryTakeBehindQueue(ticket: RunTicket): Backend | 'none' | 'full' {
    this.pump();
    return this.tryTake(ticket);
  }

  /**
   * A slot for the gateway's own canary run. On a healthy backend only a free one: the canary must never
   * take the worker a student's run needs. An ejected backend gets student runs only
   * in panic mode, and must be checked even then.
   */
  takeCanarySlot(backend: Backend): boolean {
    if (backend.health === 'healthy' && !backend.hasFreeSlot()) return false;
    backend.inFlight++;
    return true;
  }

  release(backend: Backend): void {
    backend.inFlight = Math.max(0, backend.inFlight - 1);
    this.pump();
    this.onRelease?.(backend);
  }

  /**
   * Hands free capacity to waiting runs in FIFO order. `eligibilityChanged` (a backend ejected, drained,
   * removed) also answers runs no backend can take any more, even when no capacity is free.
   */
  pump(eligibilityChanged = false): void {
    if (this.queue.length === 0) return;
    if (!eligibilityChanged && !this.backends().some((backend) => backend.hasFreeSlot())) return;
    for (let i = 0; i < this.queue.length; ) {
      const waiter = this.queue[i]!;
      const taken = this.tryTake(waiter.ticket);
      if (taken === 'full') {
        i++;
        continue;
      }
      this.queue.splice(i, 1);
      clearTimeout(waiter.timer);
      waiter.stopFollowing();
      const queuedMs = Date.now() - waiter.enqueuedAt;
      if (taken === 'none') {
        waiter.resolve({ kind: 'none' });
      } else {
        this.onQueueWait?.(queuedMs / 1000);
        waiter.resolve({ kind: 'backend', backend: taken, queuedMs });
      }
      if (!eligibilityChanged && !this.backends().some((backend) => backend.hasFreeSlot())) return;
    }
  }

  private remove(waiter: Waiter): void {
    const at = this.queue.indexOf(waiter);
    if (at !== -1) this.queue.splice(at, 1);
    clearTimeout(waiter.timer);
    waiter.stopFollowing();
  }

  /** Answers every waiting run (shutdown). */
  rejectAll(): void {
    for (const waiter of this.queue.splice(0)) {
      clearTimeout(waiter.timer);
      waiter.stopFollowing();
      waiter.resolve({ kind: 'none' });
    }
  }
}
