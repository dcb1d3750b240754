import { afterEach, describe, expect, it } from 'vitest';
import type { Backend } from '../src/backends/backend.js';
import type { OutlierVerdict } from '../src/health/outlier-detector.js';
import { type OutlierAction, OutlierEjector } from '../src/health/outlier-ejector.js';
import { silentLogger } from '../src/logger.js';
import type { CanaryOptions } from '../src/options.js';
import { destroyTestBackends, testBackend } from './backend-fixture.js';

afterEach(destroyTestBackends);

const PYTHON_CANARY: CanaryOptions = { language_id: 'python3', sourcecode: 'x', expectedStdout: '42\n' };
const verdict = (languageIds: string[], enforced = true, chance = 1e-6): OutlierVerdict => ({
  reason: 'outlier: 6 of its last 6 runs failed',
  chance,
  languageIds,
  enforced,
});

function setUp(canary: CanaryOptions | undefined, canaryResult: string | null | undefined) {
  const backend = testBackend('jobe1');
  backend.recordSuccess(0);
  const actions: OutlierAction[] = [];
  const reports: Array<{ state: string; reason: string | null; source: string }> = [];
  let canaryRuns = 0;
  const ejector = new OutlierEjector({
    directEjectionChance: 1e-5,
    canaryFor: () => canary,
    canaryNow: async () => {
      canaryRuns++;
      return canaryResult;
    },
    reportHealth: (_b: Backend, change, source) => {
      if (change) reports.push({ ...change, source });
    },
    count: (_b, action) => actions.push(action),
    logger: silentLogger,
  });
  const settle = () => new Promise((resolve) => setImmediate(resolve));
  return { backend, ejector, actions, reports, settle, canaryRuns: () => canaryRuns };
}

describe('OutlierEjector', () => {
  it('ejects when the canary confirms, with both reasons', async () => {
    const t = setUp(PYTHON_CANARY, 'canary run: outcome 11, stdout ""');
    t.ejector.handle(t.backend, verdict(['python3']));
    await t.settle();
    expect(t.backend.health).toBe('ejected');
    expect(t.actions).toEqual(['ejected']);
    expect(t.reports).toEqual([
      {
        state: 'ejected',
        reason: 'outlier: 6 of its last 6 runs failed; canary run: outcome 11, stdout ""',
        source: 'outlier',
      },
    ]);
  });

  it('keeps the backend when its canary passes, or cannot run for want of a free worker', async () => {
    for (const [result, action] of [
      [null, 'refuted_by_canary'],
      [undefined, 'unconfirmed'],
    ] as const) {
      const t = setUp(PYTHON_CANARY, result);
      t.ejector.handle(t.backend, verdict(['python3']));
      await t.settle();
      expect(t.backend.health).toBe('healthy');
      expect(t.actions).toEqual([action]);
    }
  });

  it('ejects at once when no canary can speak for the failing languages', async () => {
    for (const canary of [undefined, PYTHON_CANARY]) {
      const t = setUp(canary, null);
      t.ejector.handle(t.backend, verdict(['java']));
      expect(t.backend.health).toBe('ejected');
      expect(t.canaryRuns()).toBe(0);
      expect(t.actions).toEqual(['ejected']);
    }
  });

  it('needs much stronger evidence to eject without a canary', async () => {
    const t = setUp(undefined, null);
    t.ejector.handle(t.backend, verdict(['java'], true, 1e-4));
    expect(t.backend.health).toBe('healthy');
    expect(t.actions).toEqual(['unconfirmed']);
    t.ejector.handle(t.backend, verdict(['java'], true, 1e-6));
    expect(t.backend.health).toBe('ejected');
  });

  it('only counts a verdict that is not enforced', async () => {
    const t = setUp(PYTHON_CANARY, 'canary run: failed');
    t.ejector.handle(t.backend, verdict(['python3'], false));
    await t.settle();
    expect(t.backend.health).toBe('healthy');
    expect(t.canaryRuns()).toBe(0);
    expect(t.actions).toEqual(['not_enforced']);
  });

  it('runs one confirmation at a time per backend', async () => {
    const t = setUp(PYTHON_CANARY, null);
    t.ejector.handle(t.backend, verdict(['python3']));
    t.ejector.handle(t.backend, verdict(['python3']));
    await t.settle();
    expect(t.canaryRuns()).toBe(1);
  });
});
