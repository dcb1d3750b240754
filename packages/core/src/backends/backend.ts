import type { BackendStatus } from '../api.js';
import type { Cancellation, CancelReason } from '../cancellation.js';
import type { AdminState, BackendOptions, HealthState } from '../options.js';
import { outcomeLabel } from '../protocol/run-spec.js';
import { parseBackendUrl } from './backend-url.js';
import { RecentWindow } from './recent-window.js';
import { Upstream } from './upstream.js';

export interface BackendSettings {
  defaultCapacity: number;
  connectTimeoutMs: number;
  slowStartMs: number;
  failureThreshold: number;
  baseEjectionMs: number;
  maxEjectionMs: number;
  /** How often an adaptively lowered capacity grows back by one. */
  capacityRecoveryMs: number;
}

export type HealthChange = { state: HealthState; reason: string | null } | null;

/** One Jobe server as the balancer sees it: configuration, state, load and its connection pool. */
export class Backend {
  readonly name: string;
  readonly url: string;
  readonly apiKey: string | undefined;
  readonly capacity: number;
  readonly weight: number;
  readonly upstream: Upstream;

  adminState: AdminState;
  health: HealthState = 'unknown';
  lastError: string | null = null;
  inFlight = 0;
  languages: Array<[string, string]> = [];
  languagesKnown = false;
  ejections = 0;
  ejectedUntil = 0;
  /** Runs answered, by outcomeLabel. */
  readonly outcomes = new Map<string, number>();
  readonly recent = new RecentWindow();

  private consecutiveFailures = 0;
  /**
   * Canary runs failed in a row (or an outlier ejection): only a passing canary clears them (a student
   * run's 200 says nothing of the sandbox).
   */
  private canaryFailures = 0;
  private ejectionsInARow = 0;
  /** ejectionsInARow as of the last outlier ejection, which a readmission does not forget. */
  private outlierEjectionsInARow = 0;
  /** When the backend last became usable; slow start ramps up from here. */
  private usableSince = 0;
  private adaptiveCapacity: number;
  private adaptiveLoweredAt = 0;
  private readonly inFlightCancellations = new Set<Cancellation>();

  constructor(
    options: BackendOptions,
    private readonly settings: BackendSettings,
    /** Backends configured at start-up take full load at once; those added or recovered later ramp up. */
    startsWarm: boolean,
  ) {
    const { origin, apiBase } = parseBackendUrl(options.url);
    this.name = options.name;
    this.url = options.url;
    this.apiKey = options.apiKey;
    this.capacity = options.maxConcurrent ?? settings.defaultCapacity;
    this.weight = options.weight ?? 1;
    this.adminState = options.state ?? 'ready';
    this.adaptiveCapacity = this.capacity;
    this.usableSince = startsWarm ? 0 : Date.now();
    this.upstream = new Upstream(origin, apiBase, settings.connectTimeoutMs);
  }

  /** Capacity in force now: lowered after overload answers, ramped during slow start, never below 1. */
  effectiveCapacity(now = Date.now()): number {
    if (this.adaptiveCapacity < this.capacity && this.adaptiveLoweredAt > 0) {
      const regained = Math.floor((now - this.adaptiveLoweredAt) / this.settings.capacityRecoveryMs);
      if (regained > 0) {
        this.adaptiveCapacity = Math.min(this.capacity, this.adaptiveCapacity + regained);
        this.adaptiveLoweredAt = this.adaptiveCapacity < this.capacity ? now : 0;
      }
    }
    let cap = this.adaptiveCapacity;
    const { slowStartMs } = this.settings;
    if (slowStartMs > 0 && this.usableSince > 0) {
      const elapsed = now - this.usableSince;
      if (elapsed < slowStartMs) cap = Math.min(cap, Math.ceil((this.capacity * elapsed) / slowStartMs));
    }
    return Math.max(1, cap);
  }

  hasFreeSlot(now = Date.now()): boolean {
    return this.inFlight < this.effectiveCapacity(now);
  }

  load(now = Date.now()): number {
    return this.inFlight / (this.effectiveCapacity(now) * this.weight);
  }

  supports(languageId: string): boolean {
    return this.languages.some(([id]) => id === languageId);
  }

  /**
   * Jobe said overload although the gateway sent fewer runs than the configured capacity:
   * the server is shared or its jobe_max_users is smaller. Trust what it showed.
   */
  noteOverload(inFlightWhenSent: number, now = Date.now()): void {
    const shown = Math.max(1, inFlightWhenSent - 1);
    if (shown < this.adaptiveCapacity) {
      this.adaptiveCapacity = shown;
      this.adaptiveLoweredAt = now;
    }
  }

  recordOutcome(outcome: number): void {
    const label = outcomeLabel(outcome);
    this.outcomes.set(label, (this.outcomes.get(label) ?? 0) + 1);
  }

  /** Registers a request in flight so that an ejection can abandon it at once (see Balancer.reportHealth). */
  track(cancellation: Cancellation): () => void {
    this.inFlightCancellations.add(cancellation);
    return () => this.inFlightCancellations.delete(cancellation);
  }

  abandonInFlight(reason: CancelReason): void {
    for (const cancellation of this.inFlightCancellations) cancellation.cancel(reason);
  }

  recordSuccess(now = Date.now()): HealthChange {
    this.consecutiveFailures = this.canaryFailures;
    if (this.health === 'healthy') return null;
    // An ejected backend proves itself only once its ejection period is over (the half-open trial),
    // and after a failed canary only by passing the canary.
    if (this.health === 'ejected' && (now < this.ejectedUntil || this.canaryFailures > 0)) return null;
    const wasEjected = this.health === 'ejected';
    this.health = 'healthy';
    this.ejectionsInARow = 0;
    this.lastError = null;
    if (wasEjected) this.usableSince = now;
    return { state: 'healthy', reason: null };
  }

  recordFailure(reason: string, now = Date.now()): HealthChange {
    this.consecutiveFailures++;
    this.lastError = reason;
    const trialFailed = this.health === 'ejected' && now >= this.ejectedUntil;
    const thresholdReached =
      this.health === 'unknown' ||
      (this.health === 'healthy' && this.consecutiveFailures >= this.settings.failureThreshold);
    if (!trialFailed && !thresholdReached) return null;
    return this.eject(reason, now);
  }

  /**
   * Outlier detection found its runs failing far more than its peers': ejected at once, and (as after a
   * failed canary) readmitted only by a passing canary where one applies.
   */
  recordOutlier(reason: string, now = Date.now()): HealthChange {
    if (this.health !== 'healthy') return null;
    this.canaryFailures++;
    this.consecutiveFailures++;
    this.lastError = reason;
    // Back within the maximum ejection period and an outlier again (a canary in another language let it
    // back in): the period keeps doubling instead of starting over.
    if (this.usableSince > 0 && now - this.usableSince < this.settings.maxEjectionMs)
      this.ejectionsInARow = this.outlierEjectionsInARow;
    const change = this.eject(reason, now);
    this.outlierEjectionsInARow = this.ejectionsInARow;
    return change;
  }

  private eject(reason: string, now: number): HealthChange {
    this.health = 'ejected';
    this.ejections++;
    this.ejectionsInARow++;
    const { baseEjectionMs, maxEjectionMs } = this.settings;
    this.ejectedUntil = now + Math.min(maxEjectionMs, baseEjectionMs * 2 ** (this.ejectionsInARow - 1));
    return { state: 'ejected', reason };
  }

  /** The canary's verdict: `null` when it passed (or none applies to this backend), else why it failed. */
  recordCanary(failure: string | null, now = Date.now()): HealthChange {
    if (failure === null) {
      this.canaryFailures = 0;
      return this.recordSuccess(now);
    }
    this.canaryFailures++;
    return this.recordFailure(failure, now);
  }

  /** Failures since the last success: ranks ejected backends when all are (panic mode). */
  get failureStreak(): number {
    return this.consecutiveFailures;
  }

  status(now = Date.now()): BackendStatus {
    return {
      name: this.name,
      url: this.url,
      adminState: this.adminState,
      health: this.health,
      lastError: this.health === 'ejected' ? this.lastError : null,
      inFlight: this.inFlight,
      capacity: this.capacity,
      effectiveCapacity: this.effectiveCapacity(now),
      weight: this.weight,
      languages: this.languages.map(([id, version]) => [id, version]),
      outcomes: Object.fromEntries(this.outcomes),
      recent: this.recent.totals(now),
      ejections: this.ejections,
      ejectedUntil: this.health === 'ejected' ? new Date(this.ejectedUntil).toISOString() : null,
    };
  }
}
