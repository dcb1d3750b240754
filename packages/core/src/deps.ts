import { createRequire } from 'node:module';
import type * as PromClient from 'prom-client';
import type * as Undici from 'undici';

/**
 * The few classes the core uses, loaded from their own modules. The package indexes also load what a
 * gateway never uses (undici: fetch, WebSocket, caches, mocks; prom-client: the default-metrics collectors
 * and Pushgateway), ~6 MiB of RSS in every process (docs/decisions/0010). Neither package has an `exports`
 * map, so the paths are public to Node; should a release move them, the index is used instead (only memory
 * is lost), and test/deps.test.ts notices.
 */
const load = createRequire(import.meta.url);

function fromModule<T>(path: string, fromIndex: () => T): T {
  try {
    return load(path) as T;
  } catch {
    return fromIndex();
  }
}

const undici = () => load('undici') as typeof Undici;
const promClient = () => load('prom-client') as typeof PromClient;

export const Pool = fromModule<typeof Undici.Pool>('undici/lib/dispatcher/pool.js', () => undici().Pool);
export const Registry = fromModule<typeof PromClient.Registry>(
  'prom-client/lib/registry.js',
  () => promClient().Registry,
);
export const Counter = fromModule<typeof PromClient.Counter>(
  'prom-client/lib/counter.js',
  () => promClient().Counter,
);
export const Gauge = fromModule<typeof PromClient.Gauge>(
  'prom-client/lib/gauge.js',
  () => promClient().Gauge,
);
export const Histogram = fromModule<typeof PromClient.Histogram>(
  'prom-client/lib/histogram.js',
  () => promClient().Histogram,
);
