import type {
  AdminOptions,
  BackendOptions,
  BalancerOptions,
  BatchOptions,
  CanaryOptions,
  HealthOptions,
  OutlierOptions,
  QueueOptions,
  RetryOptions,
  TimeoutOptions,
} from '@jobe-balancer/core';
import { checkBackend, MAX_BACKEND_CONCURRENCY } from '@jobe-balancer/core';
import { Checker, describe, isPlainObject, joinPath, type PlainObject } from './validate.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** The balancer options a config file can hold (objects such as a logger cannot be written in a file). */
export type FileBalancerOptions = Omit<BalancerOptions, 'logger' | 'metricsRegistry'>;

/** Settings of the standalone gateway itself. */
export interface GatewaySettings {
  port: number;
  host: string;
  /** Requests under this path go to the balancer; everything else gets Jobe's 404. */
  basePath: string;
  /** How long a shutdown waits for runs in flight. */
  shutdownTimeoutMs: number;
  /**
   * How long a client may take to send a whole request, headers and body (Node's `requestTimeout`;
   * 0: no limit). The run itself may take as long as it takes: this ends when the request is received.
   */
  requestReceiveTimeoutMs: number;
  logLevel: LogLevel;
  /** Shares job-id bindings with the other replicas (RedisAffinityStore). */
  redisUrl?: string;
}

export type ResolvedConfig = FileBalancerOptions & GatewaySettings;

export const GATEWAY_DEFAULTS = {
  port: 8080,
  host: '0.0.0.0',
  basePath: '/jobe',
  shutdownTimeoutMs: 30_000,
  requestReceiveTimeoutMs: 120_000,
  logLevel: 'info',
} as const satisfies Omit<GatewaySettings, 'redisUrl'>;

export type ParseConfigResult = { ok: true; config: ResolvedConfig } | { ok: false; errors: string[] };

const TOP_LEVEL_KEYS = [
  'backends',
  'maxConcurrent',
  'affinityTtlMs',
  'maxAffinityEntries',
  'fileStoreMaxBytes',
  'maxFileLocations',
  'bodyLimitBytes',
  'bodyMemoryBytes',
  'bodyIdleTimeoutMs',
  'smallBodyBytes',
  'smallBodyReserveBytes',
  'apiKeys',
  'cookieName',
  'cookieSecret',
  'slowStartMs',
  'health',
  'queue',
  'retry',
  'timeouts',
  'admin',
  'batch',
  'port',
  'host',
  'basePath',
  'shutdownTimeoutMs',
  'requestReceiveTimeoutMs',
  'logLevel',
  'redisUrl',
] as const;
const HEALTH_KEYS = [
  'intervalMs',
  'timeoutMs',
  'failureThreshold',
  'baseEjectionMs',
  'maxEjectionMs',
  'canary',
  'outliers',
] as const;
const CANARY_KEYS = ['language_id', 'sourcecode', 'input', 'expectedStdout', 'intervalMs'] as const;
const OUTLIER_KEYS = [
  'failureOutcomes',
  'minRuns',
  'minPeerRuns',
  'significance',
  'windowMs',
  'maxEjectionPercent',
  'enforce',
] as const;
const QUEUE_KEYS = ['maxLength', 'timeoutMs'] as const;
const RETRY_KEYS = ['maxAttempts', 'afterSend'] as const;
const TIMEOUT_KEYS = ['connectMs', 'runSlackMs', 'requestMs'] as const;
const ADMIN_KEYS = ['token', 'publicStatus', 'publicMetrics'] as const;
const BATCH_KEYS = ['enabled', 'maxRuns', 'maxShare'] as const;
const NOT_IN_FILES: Record<string, string> = {
  logger: 'cannot be set in a config file (use "logLevel" or --log-level)',
  metricsRegistry: 'cannot be set in a config file (the gateway uses its own registry)',
};

const MIN_TOKEN_LENGTH = 8;
const COOKIE_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const BASE_PATH = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@%-]+)+$/;
// The core's defaults, needed only to compare a configured ejection period with the other one.
const DEFAULT_BASE_EJECTION_MS = 2000;
const DEFAULT_MAX_EJECTION_MS = 60_000;

/** Copies `key` into `target` when the check accepts it; absent keys stay absent. */
function take<T extends object, K extends keyof T & string>(
  target: T,
  key: K,
  source: PlainObject,
  check: (value: unknown) => T[K] | undefined,
): void {
  if (source[key] === undefined) return;
  const value = check(source[key]);
  if (value !== undefined) target[key] = value;
}

/** `"url"` or `"name=url"`, as given to --backend and JOBE_BALANCER_BACKENDS. */
function backendFromString(text: string, index: number): PlainObject {
  const equals = text.indexOf('=');
  const scheme = text.indexOf('://');
  if (equals > 0 && (scheme === -1 || equals < scheme)) {
    return { name: text.slice(0, equals).trim(), url: text.slice(equals + 1).trim() };
  }
  return { name: `jobe${index + 1}`, url: text.trim() };
}

function parseBackend(
  check: Checker,
  path: string,
  raw: unknown,
  index: number,
  taken: ReadonlyMap<string, string>,
): BackendOptions | undefined {
  const entry = typeof raw === 'string' ? backendFromString(raw, index) : raw;
  if (!isPlainObject(entry)) {
    return check.fail(path, `must be a backend object, "url" or "name=url", got ${describe(raw)}`);
  }
  // The core's checks, the same createBalancer and the admin API make; only the default name is the command's.
  const checked = checkBackend({ ...entry, name: entry['name'] ?? `jobe${index + 1}` }, path, taken);
  for (const problem of checked.problems) check.errors.push(problem.message);
  return checked.backend;
}

function parseBackends(check: Checker, raw: unknown): BackendOptions[] {
  const hint = '(--backend, JOBE_BALANCER_BACKENDS or "backends" in the config file)';
  if (raw === undefined || (Array.isArray(raw) && raw.length === 0)) {
    check.fail('backends', `must list at least one backend ${hint}`);
    return [];
  }
  if (!Array.isArray(raw)) {
    check.fail('backends', `must be an array of backends, got ${describe(raw)}`);
    return [];
  }
  const backends: BackendOptions[] = [];
  const firstIndexOfName = new Map<string, string>();
  raw.forEach((item, index) => {
    const backend = parseBackend(check, `backends[${index}]`, item, index, firstIndexOfName);
    if (backend === undefined) return;
    firstIndexOfName.set(backend.name, `backends[${index}]`);
    backends.push(backend);
  });
  return backends;
}

function parseCanary(check: Checker, path: string, raw: unknown): CanaryOptions | false | undefined {
  if (raw === false) return false;
  const object = check.object(path, raw);
  if (object === undefined) return undefined;
  check.knownKeys(path, object, CANARY_KEYS);
  const languageId =
    object['language_id'] === undefined
      ? check.fail(`${path}.language_id`, 'is required')
      : check.nonEmptyString(`${path}.language_id`, object['language_id']);
  const sourcecode =
    object['sourcecode'] === undefined
      ? check.fail(`${path}.sourcecode`, 'is required')
      : check.nonEmptyString(`${path}.sourcecode`, object['sourcecode']);
  const expectedStdout =
    object['expectedStdout'] === undefined
      ? check.fail(`${path}.expectedStdout`, 'is required')
      : check.string(`${path}.expectedStdout`, object['expectedStdout']);
  if (languageId === undefined || sourcecode === undefined || expectedStdout === undefined) return undefined;
  const canary: CanaryOptions = { language_id: languageId, sourcecode, expectedStdout };
  take(canary, 'input', object, (v) => check.string(`${path}.input`, v));
  take(canary, 'intervalMs', object, (v) => check.millis(`${path}.intervalMs`, v, 1));
  return canary;
}

function parseOutliers(check: Checker, path: string, raw: unknown): OutlierOptions | false | undefined {
  if (raw === false) return false;
  const object = check.object(path, raw);
  if (object === undefined) return undefined;
  check.knownKeys(path, object, OUTLIER_KEYS);
  const outliers: OutlierOptions = {};
  take(outliers, 'failureOutcomes', object, (v) => {
    const ok = Array.isArray(v) && v.length > 0 && v.every((c) => Number.isInteger(c) && c !== 21);
    if (ok) return v as number[];
    return check.fail(
      `${path}.failureOutcomes`,
      'must be a non-empty list of Jobe outcome codes other than 21 (overload)',
    );
  });
  take(outliers, 'minRuns', object, (v) => check.integer(`${path}.minRuns`, v, 1));
  take(outliers, 'minPeerRuns', object, (v) => check.integer(`${path}.minPeerRuns`, v, 1));
  take(outliers, 'significance', object, (v) =>
    typeof v === 'number' && v > 0 && v < 1
      ? v
      : check.fail(
          `${path}.significance`,
          `must be a number between 0 and 1 (exclusive), got ${describe(v)}`,
        ),
  );
  take(outliers, 'windowMs', object, (v) => check.millis(`${path}.windowMs`, v, 1));
  take(outliers, 'maxEjectionPercent', object, (v) =>
    typeof v === 'number' && v >= 0 && v <= 100
      ? v
      : check.fail(`${path}.maxEjectionPercent`, `must be a number from 0 to 100, got ${describe(v)}`),
  );
  take(outliers, 'enforce', object, (v) => check.boolean(`${path}.enforce`, v));
  return outliers;
}

function parseHealth(check: Checker, raw: unknown): HealthOptions | undefined {
  const object = check.object('health', raw);
  if (object === undefined) return undefined;
  check.knownKeys('health', object, HEALTH_KEYS);
  const health: HealthOptions = {};
  take(health, 'intervalMs', object, (v) => check.millis('health.intervalMs', v, 1));
  take(health, 'timeoutMs', object, (v) => check.millis('health.timeoutMs', v, 1));
  take(health, 'failureThreshold', object, (v) => check.integer('health.failureThreshold', v, 1));
  take(health, 'baseEjectionMs', object, (v) => check.millis('health.baseEjectionMs', v, 1));
  take(health, 'maxEjectionMs', object, (v) => check.millis('health.maxEjectionMs', v, 1));
  take(health, 'canary', object, (v) => parseCanary(check, 'health.canary', v));
  take(health, 'outliers', object, (v) => parseOutliers(check, 'health.outliers', v));
  const base = health.baseEjectionMs ?? DEFAULT_BASE_EJECTION_MS;
  const max = health.maxEjectionMs ?? DEFAULT_MAX_EJECTION_MS;
  if (max < base && health.maxEjectionMs !== undefined) {
    const baseShown = health.baseEjectionMs === undefined ? `${base}, the default` : `${base}`;
    check.fail(
      'health.maxEjectionMs',
      `must not be less than health.baseEjectionMs (${baseShown}), got ${max}`,
    );
  } else if (max < base) {
    check.fail(
      'health.baseEjectionMs',
      `must not exceed health.maxEjectionMs (${max}, the default), got ${base}`,
    );
  }
  return health;
}

function parseSection<T extends object>(
  check: Checker,
  path: string,
  raw: unknown,
  keys: readonly string[],
  fill: (object: PlainObject, section: T) => void,
): T | undefined {
  const object = check.object(path, raw);
  if (object === undefined) return undefined;
  check.knownKeys(path, object, keys);
  const section = {} as T;
  fill(object, section);
  return section;
}

function parseApiKeys(check: Checker, raw: unknown): string[] | undefined {
  if (!Array.isArray(raw)) return check.fail('apiKeys', `must be an array of strings, got ${describe(raw)}`);
  if (raw.length === 0) return check.fail('apiKeys', 'must list at least one key (or be left out)');
  const keys = raw.map((key, index) => check.nonEmptyString(`apiKeys[${index}]`, key));
  return keys.every((key) => key !== undefined) ? (keys as string[]) : undefined;
}

function parsePort(check: Checker, raw: unknown): number | undefined {
  if (typeof raw === 'number' && Number.isInteger(raw) && raw >= 0 && raw <= 65535) return raw;
  return check.fail('port', `must be an integer from 0 to 65535, got ${describe(raw)}`);
}

function parseBasePath(check: Checker, raw: unknown): string | undefined {
  if (typeof raw === 'string' && (raw === '/' || BASE_PATH.test(raw))) return raw;
  return check.fail(
    'basePath',
    `must be "/" or a path such as "/jobe" (no trailing "/"), got ${describe(raw)}`,
  );
}

function parseRedisUrl(check: Checker, raw: unknown): string | undefined {
  if (typeof raw === 'string') {
    try {
      const url = new URL(raw);
      if ((url.protocol === 'redis:' || url.protocol === 'rediss:') && url.hostname !== '') return raw;
    } catch {
      // reported below
    }
  }
  return check.fail('redisUrl', `must be a redis:// or rediss:// URL, got ${describe(raw)}`);
}

/**
 * Validates a whole configuration (the content of a config file, with flags and environment merged in)
 * and applies the gateway's defaults. Every message names the offending key path.
 */
export function parseConfig(raw: unknown): ParseConfigResult {
  if (!isPlainObject(raw)) {
    return { ok: false, errors: [`configuration: must be an object of settings, got ${describe(raw)}`] };
  }
  const check = new Checker();
  for (const [key, message] of Object.entries(NOT_IN_FILES)) {
    if (key in raw) check.fail(key, message);
  }
  check.knownKeys(
    '',
    Object.fromEntries(Object.entries(raw).filter(([key]) => !(key in NOT_IN_FILES))),
    TOP_LEVEL_KEYS,
  );

  const config: ResolvedConfig = {
    backends: parseBackends(check, raw['backends']),
    port: GATEWAY_DEFAULTS.port,
    host: GATEWAY_DEFAULTS.host,
    basePath: GATEWAY_DEFAULTS.basePath,
    shutdownTimeoutMs: GATEWAY_DEFAULTS.shutdownTimeoutMs,
    requestReceiveTimeoutMs: GATEWAY_DEFAULTS.requestReceiveTimeoutMs,
    logLevel: GATEWAY_DEFAULTS.logLevel,
  };
  take(config, 'port', raw, (v) => parsePort(check, v));
  take(config, 'host', raw, (v) => check.nonEmptyString('host', v));
  take(config, 'basePath', raw, (v) => parseBasePath(check, v));
  take(config, 'shutdownTimeoutMs', raw, (v) => check.millis('shutdownTimeoutMs', v, 0));
  take(config, 'requestReceiveTimeoutMs', raw, (v) => check.millis('requestReceiveTimeoutMs', v, 0));
  take(config, 'logLevel', raw, (v) => check.oneOf('logLevel', v, LOG_LEVELS));
  take(config, 'redisUrl', raw, (v) => parseRedisUrl(check, v));

  take(config, 'maxConcurrent', raw, (v) => check.integer('maxConcurrent', v, 1, MAX_BACKEND_CONCURRENCY));
  take(config, 'affinityTtlMs', raw, (v) => check.millis('affinityTtlMs', v, 1));
  take(config, 'maxAffinityEntries', raw, (v) => check.integer('maxAffinityEntries', v, 1));
  take(config, 'fileStoreMaxBytes', raw, (v) => check.integer('fileStoreMaxBytes', v, 0));
  take(config, 'maxFileLocations', raw, (v) => check.integer('maxFileLocations', v, 1));
  take(config, 'bodyLimitBytes', raw, (v) => check.integer('bodyLimitBytes', v, 1));
  take(config, 'bodyMemoryBytes', raw, (v) => check.integer('bodyMemoryBytes', v, 1));
  take(config, 'bodyIdleTimeoutMs', raw, (v) => check.millis('bodyIdleTimeoutMs', v, 1));
  take(config, 'smallBodyBytes', raw, (v) => check.integer('smallBodyBytes', v, 1));
  take(config, 'smallBodyReserveBytes', raw, (v) => check.integer('smallBodyReserveBytes', v, 0));
  take(config, 'apiKeys', raw, (v) => parseApiKeys(check, v));
  take(config, 'cookieName', raw, (v) =>
    typeof v === 'string' && COOKIE_NAME.test(v)
      ? v
      : check.fail(
          'cookieName',
          `must be a cookie name (letters, digits and !#$%&'*+-.^_\`|~), got ${describe(v)}`,
        ),
  );
  take(config, 'cookieSecret', raw, (v) => check.nonEmptyString('cookieSecret', v));
  take(config, 'slowStartMs', raw, (v) => check.millis('slowStartMs', v, 0));
  take(config, 'health', raw, (v) => parseHealth(check, v));
  take(config, 'queue', raw, (v) =>
    parseSection<QueueOptions>(check, 'queue', v, QUEUE_KEYS, (object, queue) => {
      take(queue, 'maxLength', object, (x) => check.integer('queue.maxLength', x, 0));
      take(queue, 'timeoutMs', object, (x) => check.millis('queue.timeoutMs', x, 1));
    }),
  );
  take(config, 'retry', raw, (v) =>
    parseSection<RetryOptions>(check, 'retry', v, RETRY_KEYS, (object, retry) => {
      take(retry, 'maxAttempts', object, (x) => check.integer('retry.maxAttempts', x, 1));
      take(retry, 'afterSend', object, (x) => check.integer('retry.afterSend', x, 0));
    }),
  );
  take(config, 'timeouts', raw, (v) =>
    parseSection<TimeoutOptions>(check, 'timeouts', v, TIMEOUT_KEYS, (object, timeouts) => {
      for (const key of TIMEOUT_KEYS) {
        take(timeouts, key, object, (x) => check.millis(joinPath('timeouts', key), x, 1));
      }
    }),
  );
  take(config, 'admin', raw, (v) =>
    parseSection<AdminOptions>(check, 'admin', v, ADMIN_KEYS, (object, admin) => {
      // The token is a secret: the message does not repeat it.
      take(admin, 'token', object, (x) =>
        typeof x === 'string' && x.length >= MIN_TOKEN_LENGTH
          ? x
          : check.fail('admin.token', `must be a string of at least ${MIN_TOKEN_LENGTH} characters`),
      );
      take(admin, 'publicStatus', object, (x) => check.boolean('admin.publicStatus', x));
      take(admin, 'publicMetrics', object, (x) => check.boolean('admin.publicMetrics', x));
    }),
  );
  take(config, 'batch', raw, (v) =>
    parseSection<BatchOptions>(check, 'batch', v, BATCH_KEYS, (object, batch) => {
      take(batch, 'enabled', object, (x) => check.boolean('batch.enabled', x));
      take(batch, 'maxRuns', object, (x) => check.integer('batch.maxRuns', x, 1));
      take(batch, 'maxShare', object, (x) =>
        typeof x === 'number' && x > 0 && x <= 1
          ? x
          : check.fail('batch.maxShare', `must be a number above 0 and at most 1, got ${describe(x)}`),
      );
    }),
  );

  return check.errors.length > 0 ? { ok: false, errors: check.errors } : { ok: true, config };
}
