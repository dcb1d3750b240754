import { BACKEND_SPEC, checkBackend, checkValue } from './options/backend-spec.js';
import { InvalidOptionsError, OptionError } from './options/option-error.js';
import type { BackendOptions, BalancerOptions, OutlierOptions } from './options.js';

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

/** Checks a backend added at run time (addBackend, the admin API) against the running ones. */
export function checkAddedBackend(backend: BackendOptions, running: readonly string[]): BackendOptions {
  const taken = new Map(running.map((name) => [name, `the running backend ${name}`]));
  const checked = checkBackend(backend, '', taken);
  if (checked.backend === undefined) throw new InvalidOptionsError(checked.problems);
  return checked.backend;
}

/** `path: message` lines, as the checks below write them, turned into coded errors. */
function coded(lines: readonly string[]): OptionError[] {
  return lines.map((line) => {
    const colon = line.indexOf(': ');
    return colon === -1
      ? new OptionError('invalid', '', line)
      : new OptionError('invalid', line.slice(0, colon), line.slice(colon + 2));
  });
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

/** Throws an InvalidOptionsError listing every problem, so an operator fixes them in one go. */
export function validateOptions(options: BalancerOptions): void {
  const errors: string[] = [];
  if (!Array.isArray(options?.backends)) {
    throw new InvalidOptionsError([
      new OptionError('invalid', 'backends', 'must be an array of { name, url }'),
    ]);
  }
  const problems: OptionError[] = [];
  const names = new Map<string, string>();
  options.backends.forEach((backend, i) => {
    problems.push(...checkBackend(backend, `backends[${i}]`, names).problems);
    if (typeof backend?.name === 'string' && !names.has(backend.name))
      names.set(backend.name, `backends[${i}]`);
  });
  const capacity = BACKEND_SPEC.find((spec) => spec.key === 'maxConcurrent');
  if (capacity && options.maxConcurrent !== undefined) {
    const problem = checkValue(capacity, 'maxConcurrent', options.maxConcurrent);
    if (problem) problems.push(problem);
  }
  for (const key of [
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
  positive(errors, 'bodyIdleTimeoutMs', options.bodyIdleTimeoutMs);
  positive(errors, 'smallBodyBytes', options.smallBodyBytes);
  positive(errors, 'smallBodyReserveBytes', options.smallBodyReserveBytes, { zeroOk: true });
  const bodyMemory = options.bodyMemoryBytes ?? 64 * 1024 * 1024;
  if (
    typeof options.smallBodyReserveBytes === 'number' &&
    options.smallBodyReserveBytes > bodyMemory - bodyLimit
  ) {
    errors.push(
      `smallBodyReserveBytes: must be at most bodyMemoryBytes - bodyLimitBytes (${bodyMemory - bodyLimit}), or a body of the largest size could never be read`,
    );
  }
  if (typeof options.smallBodyBytes === 'number' && options.smallBodyBytes > bodyLimit) {
    errors.push(`smallBodyBytes: must be at most bodyLimitBytes (${bodyLimit})`);
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
  const batch = options.batch;
  if (batch !== undefined) {
    if (batch.enabled !== undefined && typeof batch.enabled !== 'boolean')
      errors.push(`batch.enabled: must be true or false, got ${JSON.stringify(batch.enabled)}`);
    positive(errors, 'batch.maxRuns', batch.maxRuns);
    const share = batch.maxShare;
    if (share !== undefined && !(typeof share === 'number' && share > 0 && share <= 1))
      errors.push(`batch.maxShare: must be a number above 0 and at most 1, got ${JSON.stringify(share)}`);
  }
  problems.push(...coded(errors));
  if (problems.length > 0) throw new InvalidOptionsError(problems);
}
