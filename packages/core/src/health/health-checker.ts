import type { Backend, HealthChange } from '../backends/backend.js';
import type { CanaryOptions } from '../options.js';
import { runOutcome } from '../protocol/run-spec.js';
import { LoopStalls } from './loop-stalls.js';

export interface HealthCheckSettings {
  intervalMs: number;
  timeoutMs: number;
  /** The canary this backend runs, if any (see canary.ts). */
  canaryFor(backend: Backend): CanaryOptions | undefined;
  canaryIntervalMs: number;
  headersFor(backend: Backend): Record<string, string>;
  /** Takes a worker slot for the canary from the scheduler, which owns them; false when none is free. */
  takeSlot(backend: Backend): boolean;
  /** Gives back the worker slot the canary took (wakes queued runs). */
  releaseSlot(backend: Backend): void;
}

type CanaryVerdict =
  | { kind: 'none' }
  | { kind: 'skipped' }
  | { kind: 'passed' }
  | { kind: 'failed'; reason: string };

const failed = (reason: string): CanaryVerdict => ({ kind: 'failed', reason });

/** A probe that timed out while the gateway's own loop stood still for this share of its timeout says nothing. */
const LATE_SHARE = 0.25;
/** The probe could not judge the backend: the gateway itself was late. */
const GATEWAY_LATE = Symbol('gateway late');

export type HealthReporter = (backend: Backend, change: HealthChange, source: string) => void;

const isLanguageList = (value: unknown): value is Array<[string, string]> =>
  Array.isArray(value) &&
  value.every(
    (entry) => Array.isArray(entry) && typeof entry[0] === 'string' && typeof entry[1] === 'string',
  );

/**
 * Active checks: `GET languages` on an interval (which also refreshes each backend's language list)
 * and a canary run whose stdout is known, for servers that answer 200 while every run fails.
 */
export class HealthChecker {
  private timer: NodeJS.Timeout | undefined;
  /** After stop(), probes cut off by the shutdown say nothing about the backends. */
  private stopped = false;
  private readonly lastCanary = new Map<string, number>();
  /** Checks under way, so that concurrent callers wait for the same one. */
  private readonly probing = new Map<string, Promise<void>>();
  private readonly loopStalls: LoopStalls;

  constructor(
    private readonly backends: () => readonly Backend[],
    private readonly settings: HealthCheckSettings,
    private readonly report: HealthReporter,
  ) {
    this.loopStalls = new LoopStalls(Math.min(100, Math.max(10, settings.timeoutMs / 10)));
  }

  start(): void {
    this.loopStalls.start();
    this.timer = setInterval(() => void this.checkAll(), this.settings.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    this.loopStalls.stop();
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** `includeMaintenance`: an admin asked; the periodic checks leave backends in maintenance alone. */
  async checkAll(includeMaintenance = false): Promise<void> {
    await Promise.all(this.backends().map((backend) => this.check(backend, includeMaintenance)));
  }

  check(backend: Backend, includeMaintenance = false): Promise<void> {
    if (backend.adminState === 'maint' && !includeMaintenance) return Promise.resolve();
    const running = this.probing.get(backend.name);
    if (running) return running;
    const check = this.runCheck(backend).finally(() => this.probing.delete(backend.name));
    this.probing.set(backend.name, check);
    return check;
  }

  private async runCheck(backend: Backend): Promise<void> {
    const probeFailure = await this.probeLanguages(backend);
    if (this.stopped || probeFailure === GATEWAY_LATE) return;
    if (probeFailure !== null) {
      this.report(backend, backend.recordFailure(probeFailure), probeFailure);
      return;
    }
    const canary = await this.maybeCanary(backend);
    if (canary.kind === 'skipped') {
      this.report(backend, backend.recordSuccess(), 'probe');
      return;
    }
    const failure = canary.kind === 'failed' ? canary.reason : null;
    // A failed canary is confirmed at the next probe rather than a whole canary interval later.
    if (failure !== null) this.lastCanary.delete(backend.name);
    this.report(backend, backend.recordCanary(failure), failure ?? 'probe');
  }

  /**
   * Runs the backend's canary at once, to confirm what outlier detection suspects: why it failed, null if
   * it passed, undefined if it could not run now (another canary under way, no free worker, busy).
   */
  async canaryNow(backend: Backend): Promise<string | null | undefined> {
    this.lastCanary.delete(backend.name);
    const verdict = await this.maybeCanary(backend);
    if (verdict.kind === 'passed') return null;
    if (verdict.kind !== 'failed') return undefined;
    // Checked again at the next probe, as any failed canary (see runCheck).
    this.lastCanary.delete(backend.name);
    return verdict.reason;
  }

  /** Null when the backend answered a language list; GATEWAY_LATE when it timed out while the gateway stalled. */
  private async probeLanguages(backend: Backend): Promise<string | null | typeof GATEWAY_LATE> {
    const { timeoutMs } = this.settings;
    const sentAt = performance.now();
    const result = await backend.upstream.send({
      method: 'GET',
      resource: 'languages',
      headers: this.settings.headersFor(backend),
      timeoutMs,
    });
    const timedOut =
      result.kind === 'failed' &&
      (result.stage === 'timeout' || result.error.startsWith('UND_ERR_CONNECT_TIMEOUT'));
    if (timedOut && this.loopStalls.stalledMs(sentAt) >= LATE_SHARE * timeoutMs) return GATEWAY_LATE;
    backend.recent.record(result.kind !== 'response' || result.status !== 200);
    if (result.kind === 'failed') return `languages probe: ${result.error}`;
    if (result.kind === 'aborted') return 'languages probe aborted';
    if (result.status !== 200) return `languages probe: HTTP ${result.status}`;
    let parsed: unknown;
    try {
      parsed = JSON.parse(result.body.toString('utf8'));
    } catch {
      return 'languages probe: answer is not JSON';
    }
    if (!isLanguageList(parsed)) return 'languages probe: answer is not a list of [id, version]';
    backend.languages = parsed.map(([id, version]) => [id.toLowerCase(), version]);
    backend.languagesKnown = true;
    return null;
  }

  /**
   * Runs the canary when it is due and a worker is free. `none`: no canary applies to this backend;
   * `skipped`: not run now (not due, no free worker, the server was busy).
   */
  private async maybeCanary(backend: Backend): Promise<CanaryVerdict> {
    const { canaryIntervalMs, timeoutMs } = this.settings;
    const canary = this.settings.canaryFor(backend);
    if (!canary) return { kind: 'none' };
    // A backend out of rotation needs no canary, and its runs would disturb drain detection.
    if (backend.adminState !== 'ready') return { kind: 'skipped' };
    const now = Date.now();
    if (now - (this.lastCanary.get(backend.name) ?? 0) < canaryIntervalMs) return { kind: 'skipped' };
    // The canary must never take the worker a student's run needs.
    if (!this.settings.takeSlot(backend)) return { kind: 'skipped' };
    this.lastCanary.set(backend.name, now);
    try {
      const runSpec = {
        language_id: canary.language_id,
        sourcecode: canary.sourcecode,
        input: canary.input ?? '',
      };
      const result = await backend.upstream.send({
        method: 'POST',
        resource: 'runs',
        headers: { ...this.settings.headersFor(backend), 'content-type': 'application/json; charset=utf-8' },
        body: JSON.stringify({ run_spec: runSpec }),
        timeoutMs: timeoutMs + 20_000,
      });
      if (result.kind !== 'response')
        return failed(`canary run: ${result.kind === 'failed' ? result.error : 'aborted'}`);
      if (result.status !== 200) return failed(`canary run: HTTP ${result.status}`);
      const outcome = runOutcome(result.body);
      if (outcome === 21) return { kind: 'skipped' }; // busy, not broken
      const parsed = JSON.parse(result.body.toString('utf8')) as { stdout?: unknown };
      if (outcome !== 15 || parsed.stdout !== canary.expectedStdout) {
        return failed(`canary run: outcome ${outcome}, stdout ${JSON.stringify(parsed.stdout).slice(0, 80)}`);
      }
      return { kind: 'passed' };
    } catch (error) {
      return failed(`canary run: ${error instanceof Error ? error.message : String(error)}`);
    } finally {
      this.settings.releaseSlot(backend);
    }
  }
}
