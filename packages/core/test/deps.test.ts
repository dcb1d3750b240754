import { createRequire } from 'node:module';
import * as promClient from 'prom-client';
import * as undici from 'undici';
import { describe, expect, it } from 'vitest';
import * as deps from '../src/deps.js';

const require = createRequire(import.meta.url);

describe('classes loaded from their own modules (src/deps.ts)', () => {
  it.each([
    ['undici/lib/dispatcher/pool.js', () => undici.Pool, () => deps.Pool],
    ['prom-client/lib/registry.js', () => promClient.Registry, () => deps.Registry],
    ['prom-client/lib/counter.js', () => promClient.Counter, () => deps.Counter],
    ['prom-client/lib/gauge.js', () => promClient.Gauge, () => deps.Gauge],
    ['prom-client/lib/histogram.js', () => promClient.Histogram, () => deps.Histogram],
  ])('%s still exists and is the class the package exports', (path, fromIndex, loaded) => {
    // Without the path the core falls back to the package index and only loses memory: this says so.
    expect(require(path)).toBe(fromIndex());
    expect(loaded()).toBe(fromIndex());
  });
});
