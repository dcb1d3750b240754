import { parseBackendUrl } from './backends/backend-url.js';
import type { BackendOptions, BalancerOptions, OutlierOptions } from './options.js';

const NAME = /^[A-Za-z0-9_.-]+$/;

function positive(
  errors: string[],
  path: string,
  value: unknown,
  { integer = true, zeroOk = false } = {},
): void {
  if (value === undefined) return;
  const ok =
    typeof value === 'number' &&
    Number.isFinite(value) &&
    (zeroOk ? value >= 0 : value > 0) &&
    (!integer || Number.isInteger(value));
  if (!ok)
    errors.push(
      `${path}: must be a ${zeroOk ? 'non-negative' : 'positive'} ${integer ? 'integer' : 'number'}, got ${JSON.stringify(value)}`,
    );
}

/** Problems with one backend's options, each naming the key. */
export function backendProblems(backend: BackendOptions, path: string, taken: ReadonlySet<string>): string[] {
  const errors: string[] = [];
  if (typeof backend !== 'object' || backend === null)
    return [`${path}: must be an object with name and url`];
  if (typeof backend.name !== 'string' || !NAME.test(backend.name)) {
    errors.push(`${path}.name: must match [A-Za-z0-9_.-]+, got ${JSON.stringify(backend.name)}`);
  } else if (taken.has(backend.name)) {
    errors.push(`${path}.name: "${backend.name}" is used by another backend`);
  }
  if (typeof backend.url !== 'string') {
    errors.push(`${path}.url: must be a string such as http://jobe1:80`);
  } else {
    try {
      parseBackendUrl(backend.url);
    } catch (error) {
      errors.push(`${path}.url: ${(error as Error).message}`);
    }
  }
  if (backend.apiKey !== undefined && typeof backend.apiKey !== 'string')
    errors.push(`${path}.apiKey: must be a string`);
  positive(errors, `${path}.maxConcurrent`, backend.maxConcurrent);
  positive(errors, `${path}.weight`, backend.weight, { integer: false });
  if (backend.state !== undefined && !['ready', 'drain', 'maint'].includes(backend.state)) {
    errors.push(`${path}.state: must be ready, drain or maint, got ${JSON.stringify(backend.state)}`);
  }
  return errors;
}

function outlierProblems(outliers: OutlierOptions | false | undefined): string[] {
  if (outliers === undefined || outliers === false) return [];
  const errors: string[] = [];
  if (typeof outliers !== 'object' || outliers === null)
    return ['health.outliers: must be false or an object'];
  const path = 'health.outliers';
  const codes = outliers.failureOutcomes;
  if (
    codes !== undefined &&
    !(Array.isArray(codes) && codes.length > 0 && codes.every((c) => Number.isInteger(c) && c !== 21))
  ) {
    errors.push(
      `${path}.failureOutcomes: must be a non-empty list of Jobe outcome codes other than 21 (overload)`,
    );
  }
  positive(errors, `${path}.minRuns`, outliers.minRuns);
  positive(errors, `${path}.minPeerRuns`, outliers.minPeerRuns);
  positive(errors, `${path}.windowMs`, outliers.windowMs);
  const { significance, maxEjectionPercent, enforce } = outliers;
  if (
    significance !== undefined &&
    !(typeof significance === 'number' && significance > 0 && significance < 1)
  )
    errors.push(
      `${path}.significance: must be a number between 0 and 1 (exclusive), got ${JSON.stringify(significance)}`,
    );
  if (
    maxEjectionPercent !== undefined &&
    !(typeof maxEjectionPercent === 'number' && maxEjectionPercent >= 0 && maxEjectionPercent <= 100)
  )
    errors.push(
      `${path}.maxEjectionPercent: must be a number from 0 to 100, got ${JSON.stringify(maxEjectionPercent)}`,
    );
  if (enforce !== undefined && typeof enforce !== 'boolean')
    errors.push(`${path}.enforce: must be true or false`);
  return errors;
}

/** Throws one Error listing every problem, so an operator fixes them in one go. */
export function validateOptions(options: BalancerOptions): void {
  const errors: string[] = [];
  if (!Array.isArray(options?.backends)) {
    throw new Error('jobe-balancer: options.backends must be an array of { name, url }');
  }
  const names = new Set<string>();
  options.backends.forEach((backend, i) => {
    errors.push(...backendProblems(backend, `backends[${i}]`, names));
    if (typeof backend?.name === 'string') names.add(backend.name);
  });
  for (const key of [
    'maxConcurrent',
    'affinityTtlMs',
    'maxAffinityEntries',
    'bodyLimitBytes',
    'bodyMemoryBytes',
    'maxFileLocations',
  ] as const) {
    positive(errors, key, options[key]);
  }
  const bodyLimit = options.bodyLimitBytes ?? 8 * 1024 * 1024;
  if (typeof options.bodyMemoryBytes === 'number' && options.bodyMemoryBytes < bodyLimit) {
    errors.push(
      `bodyMemoryBytes: must be at least bodyLimitBytes (${bodyLimit}), or a body of the largest size could never be read`,
    );
  }
  positive(errors, 'fileStoreMaxBytes', options.fileStoreMaxBytes, { zeroOk: true });
  positive(errors, 'slowStartMs', options.slowStartMs, { zeroOk: true });
  for (const key of [
    'intervalMs',
    'timeoutMs',
    'failureThreshold',
    'baseEjectionMs',
    'maxEjectionMs',
  ] as const) {
    positive(errors, `health.${key}`, options.health?.[key]);
  }
  positive(errors, 'queue.maxLength', options.queue?.maxLength, { zeroOk: true });
  positive(errors, 'queue.timeoutMs', options.queue?.timeoutMs);
  positive(errors, 'retry.maxAttempts', options.retry?.maxAttempts);
  positive(errors, 'retry.afterSend', options.retry?.afterSend, { zeroOk: true });
  for (const key of ['connectMs', 'runSlackMs', 'requestMs'] as const)
    positive(errors, `timeouts.${key}`, options.timeouts?.[key]);
  const canary = options.health?.canary;
  if (canary !== undefined && canary !== false) {
    if (typeof canary.language_id !== 'string') errors.push('health.canary.language_id: must be a string');
    if (typeof canary.sourcecode !== 'string') errors.push('health.canary.sourcecode: must be a string');
    if (typeof canary.expectedStdout !== 'string')
      errors.push('health.canary.expectedStdout: must be a string');
  }
  errors.push(...outlierProblems(options.health?.outliers));
  if (
    options.apiKeys !== undefined &&
    !(Array.isArray(options.apiKeys) && options.apiKeys.every((k) => typeof k === 'string'))
  ) {
    errors.push('apiKeys: must be a list of strings');
  }
  if (
    options.admin?.token !== undefined &&
    (typeof options.admin.token !== 'string' || options.admin.token.length < 8)
  ) {
    errors.push('admin.token: must be a string of at least 8 characters');
  }
  if (errors.length > 0) throw new Error(`jobe-balancer: invalid options:\n  ${errors.join('\n  ')}`);
}
