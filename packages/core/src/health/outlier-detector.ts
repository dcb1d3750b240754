import { createHash } from 'node:crypto';
import type { Backend } from '../backends/backend.js';
import type { OutlierOptions } from '../options.js';

/** Resolved settings (see OutlierOptions for their meaning and defaults). */
export interface OutlierSettings {
  failureOutcomes: ReadonlySet<number>;
  minRuns: number;
  minPeerRuns: number;
  significance: number;
  windowMs: number;
  maxEjectionPercent: number;
  enforce: boolean;
}

export const DEFAULT_OUTLIER_SETTINGS: OutlierSettings = {
  failureOutcomes: new Set([11, 12, 20]),
  minRuns: 5,
  minPeerRuns: 10,
  significance: 1e-3,
  windowMs: 60_000,
  maxEjectionPercent: 50,
  enforce: true,
};

/** Runs remembered per backend: enough for a verdict, a fixed cost per backend. */
const WINDOW_RUNS = 64;
/**
 * Runs sharing support files count at most this often in a backend's evidence: the scheduler sends a
 * question's runs to the backends holding its files, so one hard question can land mostly on one backend.
 */
const MAX_PER_FILE_SET = 2;
/** A backend must fail at least this much more often than its peers: a sharp difference, not drift. */
const MIN_RATE_EXCESS = 0.5;
/** Peer runs the tested stretch must overlap, or "the same minutes" would mean nothing. */
const MIN_SPAN_PEER_RUNS = 3;
/** Weight, in runs, of the peers' whole-window rate against what they answered during the stretch. */
const PRIOR_RUNS = 4;

/** Applies the options over the defaults; `false` turns detection off. */
export function outlierSettings(options: OutlierOptions | false | undefined): OutlierSettings | null {
  if (options === false) return null;
  const d = DEFAULT_OUTLIER_SETTINGS;
  return {
    failureOutcomes: options?.failureOutcomes ? new Set(options.failureOutcomes) : d.failureOutcomes,
    minRuns: options?.minRuns ?? d.minRuns,
    minPeerRuns: options?.minPeerRuns ?? d.minPeerRuns,
    significance: options?.significance ?? d.significance,
    windowMs: options?.windowMs ?? d.windowMs,
    maxEjectionPercent: options?.maxEjectionPercent ?? d.maxEjectionPercent,
    enforce: options?.enforce ?? d.enforce,
  };
}

export interface RunObservation {
  /** Lower-cased language id. */
  languageId: string;
  /** The run's first support file id, '' without files. */
  fileSet: string;
  outcome: number;
}

export interface OutlierVerdict {
  reason: string;
  /** The chance of so many failures at the peers' rate (the binomial tail). */
  chance: number;
  /** Languages of the runs that made the case. */
  languageIds: string[];
  /** False when panic protection (maxEjectionPercent) or `enforce: false` keeps the backend in. */
  enforced: boolean;
}

/**
 * Keys kept in a window are at most 64 characters: a client's longer file id (or language id) is kept as
 * its digest, so what a window holds does not depend on what clients send.
 */
function boundedKey(key: string): string {
  return key.length <= 64 ? key : createHash('sha256').update(key).digest('hex');
}

/** The last WINDOW_RUNS run outcomes of one backend, in a ring. */
class RunWindow {
  readonly at = new Float64Array(WINDOW_RUNS);
  readonly failed = new Uint8Array(WINDOW_RUNS);
  readonly languageIds: string[] = new Array<string>(WINDOW_RUNS).fill('');
  readonly fileSets: string[] = new Array<string>(WINDOW_RUNS).fill('');
  next = 0;

  push(now: number, failed: boolean, languageId: string, fileSet: string): void {
    const slot = this.next;
    this.at[slot] = now;
    this.failed[slot] = failed ? 1 : 0;
    this.languageIds[slot] = boundedKey(languageId);
    this.fileSets[slot] = boundedKey(fileSet);
    this.next = (slot + 1) % WINDOW_RUNS;
  }

  /** The slot of the `age`-th newest run (0: the newest). */
  slotAt(age: number): number {
    return (this.next - 1 - age + 2 * WINDOW_RUNS) % WINDOW_RUNS;
  }

  /** Slots of runs newer than `since`, newest first. */
  *recent(since: number): Generator<number> {
    for (let age = 0; age < WINDOW_RUNS; age++) {
      const slot = this.slotAt(age);
      if (this.at[slot]! <= since) return;
      yield slot;
    }
  }
}

interface Counts {
  runs: number;
  failures: number;
}

function add(counts: Map<string, Counts>, languageId: string, failed: number): void {
  const entry = counts.get(languageId);
  if (entry === undefined) counts.set(languageId, { runs: 1, failures: failed });
  else {
    entry.runs++;
    entry.failures += failed;
  }
}

/**
 * The peers' failure rate in one language over a stretch: what they answered in that stretch, pulled
 * towards their rate over the whole window (Laplace's rule there: a few runs never make a failure look
 * impossible) by PRIOR_RUNS pseudo-runs.
 */
function peerRate(total: Counts, span: Counts | undefined): number {
  const overall = (total.failures + 1) / (total.runs + 2);
  return ((span?.failures ?? 0) + PRIOR_RUNS * overall) / ((span?.runs ?? 0) + PRIOR_RUNS);
}

/**
 * P(X >= k) for X ~ Binomial(n, p): the chance of k failures in n runs at the peers' rate. (With rates
 * that differ by language the exact law is Poisson-binomial, whose upper tail is smaller: this errs on
 * the side of keeping the backend.)
 */
export function binomialTail(n: number, k: number, p: number): number {
  if (k <= 0) return 1;
  if (p <= 0) return 0;
  if (p >= 1) return 1;
  let term = p ** n; // P(X = n)
  let tail = term;
  for (let j = n; j > k; j--) {
    term *= (j / (n - j + 1)) * ((1 - p) / p); // P(X = j - 1) from P(X = j)
    tail += term;
  }
  return Math.min(1, tail);
}

/**
 * Passive outlier detection in the style of Envoy's, for failures that arrive as HTTP 200: each healthy
 * backend's recent run outcomes are compared with its healthy peers' in the same languages. A backend whose
 * failures would be very unlikely at its peers' failure rate, and far above it, is an outlier.
 */
export class OutlierDetector {
  private readonly windows = new WeakMap<Backend, RunWindow>();

  constructor(
    private readonly settings: OutlierSettings,
    private readonly backends: () => readonly Backend[],
    /** Acts on a verdict (ejects the backend when `enforced`). */
    private readonly onOutlier: (backend: Backend, verdict: OutlierVerdict) => void,
  ) {}

  /** Records the outcome of a run a backend answered (not an overload) and acts if it makes an outlier. */
  observe(backend: Backend, run: RunObservation, now = Date.now()): void {
    const verdict = this.record(backend, run, now);
    if (verdict === null) return;
    // Fresh evidence is needed for the next verdict, ejected or not.
    this.reset(backend);
    this.onOutlier(backend, verdict);
  }

  private record(backend: Backend, run: RunObservation, now: number): OutlierVerdict | null {
    // Runs sent to an ejected backend (panic mode) say nothing a canary will not say better.
    if (backend.health !== 'healthy') return null;
    let window = this.windows.get(backend);
    if (window === undefined) {
      window = new RunWindow();
      this.windows.set(backend, window);
    }
    const failed = this.settings.failureOutcomes.has(run.outcome);
    window.push(now, failed, run.languageId, run.fileSet);
    return failed ? this.judge(backend, window, now) : null;
  }

  /** Forgets a backend's runs (after its ejection: it starts afresh once readmitted). */
  reset(backend: Backend): void {
    this.windows.delete(backend);
  }

  private judge(backend: Backend, window: RunWindow, now: number): OutlierVerdict | null {
    const { minRuns, minPeerRuns, significance, windowMs } = this.settings;
    const since = now - windowMs;
    const peers: RunWindow[] = [];
    const peerTotals = new Map<string, Counts>();
    for (const peer of this.backends()) {
      const peerWindow = peer !== backend && peer.health === 'healthy' ? this.windows.get(peer) : undefined;
      if (peerWindow === undefined) continue;
      peers.push(peerWindow);
      for (const slot of peerWindow.recent(since))
        add(peerTotals, peerWindow.languageIds[slot]!, peerWindow.failed[slot]!);
    }
    // The backend's runs that can be compared: in languages its peers ran, each set of support files
    // at most MAX_PER_FILE_SET times. Newest first.
    const comparable: number[] = [];
    const perFileSet = new Map<string, number>();
    let failures = 0;
    let promising = false;
    for (const slot of window.recent(since)) {
      if (!peerTotals.has(window.languageIds[slot]!)) continue;
      const fileSet = window.fileSets[slot]!;
      if (fileSet !== '') {
        const seen = perFileSet.get(fileSet) ?? 0;
        if (seen >= MAX_PER_FILE_SET) continue;
        perFileSet.set(fileSet, seen + 1);
      }
      comparable.push(slot);
      failures += window.failed[slot]!;
      // No stretch with most of its runs failing: nothing below can find an outlier (the common case).
      if (failures >= minRuns && failures * 2 > comparable.length) promising = true;
    }
    if (!promising) return null;

    // Every stretch of the backend's latest runs is tested, newest first, so that older good runs do not
    // hide that it just turned bad. Each stretch is compared with what its peers answered over the same
    // minutes, in the same languages: a change the whole fleet sees shows there too.
    const own = new Map<string, Counts>();
    const span = new Map<string, Counts>();
    const taken = peers.map(() => 0);
    let runs = 0;
    let failed = 0;
    let spanPeerRuns = 0;
    for (const slot of comparable) {
      const languageId = window.languageIds[slot]!;
      runs++;
      failed += window.failed[slot]!;
      add(own, languageId, window.failed[slot]!);
      const spanStart = window.at[slot]!;
      peers.forEach((peer, p) => {
        for (; taken[p]! < WINDOW_RUNS; taken[p]!++) {
          const peerSlot = peer.slotAt(taken[p]!);
          if (peer.at[peerSlot]! < spanStart || peer.at[peerSlot]! <= since) break;
          add(span, peer.languageIds[peerSlot]!, peer.failed[peerSlot]!);
          spanPeerRuns++;
        }
      });
      if (runs < minRuns || failed < minRuns || spanPeerRuns < MIN_SPAN_PEER_RUNS) continue;
      let baselineRuns = 0;
      let expected = 0;
      for (const [id, counts] of own) {
        const total = peerTotals.get(id)!;
        baselineRuns += total.runs;
        expected += counts.runs * peerRate(total, span.get(id));
      }
      if (baselineRuns < minPeerRuns) continue;
      const rate = expected / runs;
      if (failed / runs - rate < MIN_RATE_EXCESS) continue;
      const p = binomialTail(runs, failed, rate);
      if (p >= significance) continue;
      const reason =
        `outlier: ${failed} of its last ${runs} runs failed (outcomes ` +
        `${[...this.settings.failureOutcomes].join('/')}) against ${Math.round(rate * 100)}% on its ` +
        `peers (chance ${p.toExponential(1)})`;
      return {
        reason,
        chance: p,
        languageIds: [...own.keys()],
        enforced: this.settings.enforce && this.mayEject(),
      };
    }
    return null;
  }

  /** Envoy's max_ejection_percent: never eject so many that the rest cannot carry the load. */
  private mayEject(): boolean {
    const all = this.backends();
    const ejected = all.filter((backend) => backend.health === 'ejected').length;
    const allowed = Math.max(1, Math.floor((all.length * this.settings.maxEjectionPercent) / 100));
    return ejected + 1 <= allowed;
  }
}
