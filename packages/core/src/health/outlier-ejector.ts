import type { Backend, HealthChange } from '../backends/backend.js';
import type { CanaryOptions, Logger } from '../options.js';
import type { OutlierVerdict } from './outlier-detector.js';

export type OutlierAction = 'ejected' | 'refuted_by_canary' | 'unconfirmed' | 'not_enforced';

export interface OutlierEjectorDeps {
  /** A verdict no canary can check ejects only when its chance is below this (stricter). */
  directEjectionChance: number;
  canaryFor(backend: Backend): CanaryOptions | undefined;
  /** See HealthChecker.canaryNow. */
  canaryNow(backend: Backend): Promise<string | null | undefined>;
  reportHealth(backend: Backend, change: HealthChange, source: string): void;
  count(backend: Backend, action: OutlierAction): void;
  logger: Logger;
}

/**
 * Acts on outlier detection's verdicts. Where the backend's canary runs in a language of the failing runs,
 * it must confirm first: a false suspicion then costs one canary run instead of an ejection. Otherwise (no
 * canary, or one that cannot speak for those languages) the backend is ejected at once, as Envoy does, but
 * only on much stronger evidence (`directEjectionChance`).
 */
export class OutlierEjector {
  private readonly confirming = new Set<Backend>();

  constructor(private readonly deps: OutlierEjectorDeps) {}

  handle(backend: Backend, verdict: OutlierVerdict): void {
    if (!verdict.enforced) {
      this.deps.count(backend, 'not_enforced');
      this.deps.logger.warn(
        { event: 'outlier', backend: backend.name, reason: verdict.reason, action: 'not_enforced' },
        `backend ${backend.name} is an outlier (kept: enforce false or maxEjectionPercent reached)`,
      );
      return;
    }
    if (this.confirming.has(backend)) return;
    const canary = this.deps.canaryFor(backend);
    if (canary === undefined || !verdict.languageIds.includes(canary.language_id.toLowerCase())) {
      if (verdict.chance < this.deps.directEjectionChance) this.eject(backend, verdict.reason);
      else
        this.keep(
          backend,
          verdict,
          'unconfirmed',
          'no canary can check it and the evidence is not strong enough',
        );
      return;
    }
    this.confirming.add(backend);
    void this.deps
      .canaryNow(backend)
      .then((failure) => {
        if (typeof failure === 'string') {
          this.eject(backend, `${verdict.reason}; ${failure}`);
          return;
        }
        // Passed; or could not run because every worker was busy or Jobe said overload, which a wedged
        // server, answering at once, never is.
        if (failure === null) this.keep(backend, verdict, 'refuted_by_canary', 'passed its canary');
        else this.keep(backend, verdict, 'unconfirmed', 'was too busy for a canary');
      })
      .finally(() => this.confirming.delete(backend));
  }

  private keep(backend: Backend, verdict: OutlierVerdict, action: OutlierAction, why: string): void {
    this.deps.count(backend, action);
    this.deps.logger.info(
      { event: 'outlier', backend: backend.name, reason: verdict.reason, action },
      `backend ${backend.name} looked like an outlier but ${why}`,
    );
  }

  private eject(backend: Backend, reason: string): void {
    const change = backend.recordOutlier(reason);
    if (change !== null) this.deps.count(backend, 'ejected');
    this.deps.reportHealth(backend, change, 'outlier');
  }
}
