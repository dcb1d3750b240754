import { Backend, type BackendSettings } from '../src/backends/backend.js';

/** Backend settings for unit tests: small numbers, no slow start. */
export const TEST_BACKEND_SETTINGS: BackendSettings = {
  defaultCapacity: 4,
  connectTimeoutMs: 1000,
  slowStartMs: 0,
  failureThreshold: 2,
  baseEjectionMs: 1000,
  maxEjectionMs: 8000,
  capacityRecoveryMs: 5000,
};

/** Backends made by a test file, each with a pool to destroy after each test (see destroyTestBackends). */
const made: Backend[] = [];

export function testBackend(name = 'b1', extra: Partial<BackendSettings> = {}): Backend {
  const backend = new Backend({ name, url: '127.0.0.1:9' }, { ...TEST_BACKEND_SETTINGS, ...extra }, true);
  made.push(backend);
  return backend;
}

export async function destroyTestBackends(): Promise<void> {
  await Promise.all(made.splice(0).map((backend) => backend.upstream.destroy()));
}
