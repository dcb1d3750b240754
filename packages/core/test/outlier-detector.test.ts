import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import { canaryFor, DEFAULT_CANARIES } from '../src/health/canary.js';
import {
  binomialTail,
  DEFAULT_OUTLIER_SETTINGS,
  OutlierDetector,
  type OutlierSettings,
  type OutlierVerdict,
} from '../src/health/outlier-detector.js';
import { validateOptions } from '../src/validate-options.js';
import { destroyTestBackends, testBackend } from './backend-fixture.js';

afterEach(destroyTestBackends);

function fleet(count: number): Backend[] {
  return Array.from({ length: count }, (_, i) => {
    const backend = testBackend(`jobe${i + 1}`);
    backend.health = 'healthy';
    backend.languages = [['python3', '3.10.12']];
    return backend;
  });
}

interface Harness {
  backends: Backend[];
  verdicts: Array<{ backend: string; verdict: OutlierVerdict }>;
  run(backend: Backend, outcome: number, extra?: { languageId?: string; fileSet?: string }): void;
}

function harness(count: number, settings: Partial<OutlierSettings> = {}): Harness {
  const backends = fleet(count);
  const verdicts: Harness['verdicts'] = [];
  const detector = new OutlierDetector(
    { ...DEFAULT_OUTLIER_SETTINGS, ...settings },
    () => backends,
    (backend, verdict) => {
      verdicts.push({ backend: backend.name, verdict });
      if (verdict.enforced) backend.recordOutlier(verdict.reason);
    },
  );
  let now = 1_000_000;
  return {
    backends,
    verdicts,
    run(backend, outcome, extra = {}) {
      now += 10;
      detector.observe(
        backend,
        { languageId: extra.languageId ?? 'python3', fileSet: extra.fileSet ?? '', outcome },
        now,
      );
    },
  };
}

/** Outcome i of a mix where every `failEvery`-th run is a compile error, the others succeed. */
const mixed = (i: number, failEvery: number) => (i % failEvery === 0 ? 11 : 15);

describe('OutlierDetector', () => {
  it('ejects a backend whose every run fails while its peers mostly succeed, within a few runs', () => {
    const h = harness(3);
    const [a, b, wedged] = h.backends as [Backend, Backend, Backend];
    for (let i = 0; i < 30; i++) {
      h.run(a, mixed(i, 5));
      h.run(b, mixed(i + 2, 5));
      h.run(wedged, mixed(i + 4, 5));
    }
    expect(h.verdicts).toEqual([]);
    // Being the fastest, the wedged backend gets most of the runs (7 in 10).
    let wrong = 0;
    for (let i = 0; wedged.health === 'healthy' && i < 100; i++) {
      if (i % 10 < 7) {
        h.run(wedged, 11);
        wrong++;
      } else {
        h.run(i % 2 === 0 ? a : b, mixed(i, 5));
      }
    }
    expect(wedged.health).toBe('ejected');
    expect(wrong).toBeLessThanOrEqual(7);
    expect(h.verdicts).toHaveLength(1);
    expect(h.verdicts[0]!.verdict.reason).toMatch(/^outlier: \d+ of its last \d+ runs failed/);
  });

  it('ejects nobody when every backend returns the same mix of compile and runtime errors', () => {
    const h = harness(3);
    for (let i = 0; i < 3000; i++) {
      const backend = h.backends[i % 3]!;
      h.run(backend, i % 7 === 0 ? 12 : 11);
    }
    expect(h.verdicts).toEqual([]);
  });

  it('ejects nobody when the whole fleet turns to failures at once (a question nobody can solve)', () => {
    const h = harness(3);
    for (let i = 0; i < 300; i++) h.run(h.backends[i % 3]!, mixed(i, 4));
    for (let i = 0; i < 300; i++) h.run(h.backends[i % 3]!, 11);
    expect(h.verdicts).toEqual([]);
  });

  it('does not count one question (one set of support files) sticking to one backend as evidence', () => {
    const h = harness(3);
    const [a, b, c] = h.backends as [Backend, Backend, Backend];
    for (let i = 0; i < 200; i++) {
      // The hard question's files are on `a`: all its runs land there and fail.
      h.run(a, 11, { fileSet: 'hardquestion' });
      h.run(b, 15, { fileSet: `easy${i % 5}` });
      h.run(c, 15, { fileSet: `easy${(i + 2) % 5}` });
    }
    expect(h.verdicts).toEqual([]);
  });

  it('compares languages with the same language only', () => {
    const h = harness(2);
    const [java, python] = h.backends as [Backend, Backend];
    // Only `java` runs java, where most student code fails to compile: nothing to compare it with.
    for (let i = 0; i < 200; i++) {
      h.run(java, 11, { languageId: 'java' });
      h.run(python, 15);
    }
    expect(h.verdicts).toEqual([]);
  });

  it('panic protection: never ejects beyond maxEjectionPercent (at least one)', () => {
    const h = harness(3, { maxEjectionPercent: 10 });
    const [a, b, c] = h.backends as [Backend, Backend, Backend];
    b.health = 'ejected';
    for (let i = 0; i < 30; i++) {
      h.run(a, 15);
      h.run(c, 11);
    }
    expect(c.health).toBe('healthy');
    expect(h.verdicts.length).toBeGreaterThan(0);
    expect(h.verdicts.every((v) => v.backend === 'jobe3' && !v.verdict.enforced)).toBe(true);
  });

  it('enforce: false detects but ejects nobody', () => {
    const h = harness(2, { enforce: false });
    const [a, b] = h.backends as [Backend, Backend];
    for (let i = 0; i < 30; i++) {
      h.run(a, 15);
      h.run(b, 11);
    }
    expect(b.health).toBe('healthy');
    expect(h.verdicts.length).toBeGreaterThan(0);
    expect(h.verdicts.every((v) => !v.verdict.enforced)).toBe(true);
  });

  it('waits for enough peer runs before judging', () => {
    const h = harness(2);
    const [a, b] = h.backends as [Backend, Backend];
    for (let i = 0; i < 9; i++) {
      h.run(a, 15);
      h.run(b, 11);
    }
    expect(h.verdicts).toEqual([]);
    h.run(a, 15);
    h.run(b, 11);
    expect(h.verdicts).toHaveLength(1);
  });
});

describe('binomialTail', () => {
  it('is the binomial upper tail', () => {
    expect(binomialTail(3, 3, 0.5)).toBeCloseTo(0.125, 12);
    expect(binomialTail(3, 2, 0.5)).toBeCloseTo(0.5, 12);
    expect(binomialTail(2, 0, 0.2)).toBe(1);
    expect(binomialTail(10, 3, 0.2)).toBeCloseTo(0.32220047, 7);
    expect(binomialTail(64, 64, 0.3)).toBeCloseTo(0.3 ** 64, 80);
  });
});

describe('canaryFor', () => {
  const one = (languages: string[]) => {
    const [backend] = fleet(1) as [Backend];
    backend.languages = languages.map((id) => [id, '1']);
    return backend;
  };
  it('prefers python3, then c, else another language the backend reports', () => {
    expect(canaryFor(one(['c', 'python3']), undefined)?.language_id).toBe('python3');
    expect(canaryFor(one(['java', 'c']), undefined)?.language_id).toBe('c');
    expect(canaryFor(one(['java']), undefined)?.language_id).toBe('java');
    expect(canaryFor(one(['matlab']), undefined)).toBeUndefined();
  });
  it('uses the configured canary where its language is, and none when turned off', () => {
    const configured = { language_id: 'C', sourcecode: 'x', expectedStdout: '' };
    expect(canaryFor(one(['c']), configured)).toBe(configured);
    expect(canaryFor(one(['python3']), configured)).toBeUndefined();
    expect(canaryFor(one(['python3']), false)).toBeUndefined();
  });
  it('every default prints 42 and carries the same answer for jobe-sim in a comment', () => {
    for (const canary of DEFAULT_CANARIES) {
      expect(canary.expectedStdout).toBe('42\n');
      expect(canary.sourcecode.split('\n')).toContain('#sim print 42');
      expect(canary.sourcecode).toContain('6 * 7');
    }
  });
});

describe('Backend.recordOutlier', () => {
  it('ejects at once; only a passing canary readmits; ejected again soon after, the period doubles', () => {
    const b = testBackend();
    b.recordSuccess(0);
    expect(b.recordOutlier('o', 100)).toEqual({ state: 'ejected', reason: 'o' });
    expect(b.ejectedUntil).toBe(1100);
    expect(b.recordSuccess(1200)).toBeNull();
    expect(b.recordCanary(null, 1200)).toEqual({ state: 'healthy', reason: null });
    // Its canary passes (another language), yet its runs fail again: 2 s, then 4 s.
    b.recordOutlier('o', 1500);
    expect(b.ejectedUntil).toBe(3500);
    b.recordCanary(null, 3600);
    b.recordOutlier('o', 3700);
    expect(b.ejectedUntil).toBe(7700);
    // Well after its last readmission (more than maxEjectionMs), a new outlier starts over.
    b.recordCanary(null, 7800);
    b.recordOutlier('o', 7800 + 9000);
    expect(b.ejectedUntil).toBe(7800 + 9000 + 1000);
  });
});

describe('validateOptions: health.canary and health.outliers', () => {
  const backends = [{ name: 'jobe1', url: 'http://jobe1' }];
  it('accepts false for both, and sound settings', () => {
    expect(() => validateOptions({ backends, health: { canary: false, outliers: false } })).not.toThrow();
    expect(() =>
      validateOptions({ backends, health: { outliers: { minRuns: 8, significance: 1e-5, enforce: false } } }),
    ).not.toThrow();
  });
  it('names every bad outlier setting', () => {
    expect(() =>
      validateOptions({
        backends,
        health: {
          outliers: {
            failureOutcomes: [21],
            minRuns: 0,
            significance: 0,
            maxEjectionPercent: 101,
            windowMs: -1,
          },
        },
      }),
    ).toThrow(
      /failureOutcomes: must be a non-empty list[\s\S]*minRuns: must be a positive integer[\s\S]*windowMs[\s\S]*significance: must be a number between 0 and 1[\s\S]*maxEjectionPercent: must be a number from 0 to 100/,
    );
  });
});

describe('OutlierDetector keys', () => {
  it('keeps long file ids as digests: distinct questions stay distinct, one question stays one', () => {
    const h = harness(3);
    const [a, b, wedged] = h.backends as [Backend, Backend, Backend];
    const longId = (question: number) => `${'f'.repeat(100_000)}${question}`;
    for (let i = 0; i < 200; i++) {
      // One hard question with a long file id piles on `a`: capped as one question, no verdict.
      h.run(a, 11, { fileSet: longId(0) });
      h.run(b, 15, { fileSet: longId(1 + (i % 5)) });
      h.run(wedged, 15, { fileSet: longId(1 + ((i + 2) % 5)) });
    }
    expect(h.verdicts).toEqual([]);
    // Distinct questions (ids alike in their first 100,000 characters) on a wedged backend: a verdict.
    for (let i = 0; i < 40 && wedged.health === 'healthy'; i++) {
      h.run(wedged, 11, { fileSet: longId(100 + i) });
      h.run(b, 15, { fileSet: longId(1 + (i % 5)) });
    }
    expect(wedged.health).toBe('ejected');
  });
});
