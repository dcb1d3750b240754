import { resolve } from 'node:path';
import { parseCliArgs } from './args.js';
import { parseConfig, type ResolvedConfig } from './config.js';
import { readConfigFile } from './config-file.js';
import { ConfigError } from './errors.js';
import { isPlainObject, type PlainObject } from './validate.js';

export interface LoadConfigInput {
  /** Command-line arguments without `node` and the script (default `process.argv.slice(2)`). */
  argv?: readonly string[];
  /** Default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /** Base of a relative config file path (default `process.cwd()`). */
  cwd?: string;
}

export const ENV = {
  port: 'JOBE_BALANCER_PORT',
  backends: 'JOBE_BALANCER_BACKENDS',
  adminToken: 'JOBE_BALANCER_ADMIN_TOKEN',
  config: 'JOBE_BALANCER_CONFIG',
} as const;

/** Flags and environment variables are text; whole numbers become numbers, anything else stays for the validator to name. */
function numberOrText(text: string): number | string {
  return /^\d+$/.test(text.trim()) ? Number(text.trim()) : text;
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** Where a key's value came from, appended to the messages about it. */
type Sources = Map<string, string>;

function set(merged: PlainObject, sources: Sources, key: string, value: unknown, source: string): void {
  merged[key] = value;
  sources.set(key, source);
}

function setAdminToken(merged: PlainObject, sources: Sources, token: string, source: string): void {
  const admin = merged['admin'];
  // A malformed `admin` section stays as it is so that the validator reports it.
  if (admin !== undefined && !isPlainObject(admin)) return;
  merged['admin'] = { ...admin, token };
  sources.set('admin.token', source);
}

function annotate(error: string, sources: Sources): string {
  const colon = error.indexOf(':');
  if (colon < 0) return error;
  const path = error.slice(0, colon);
  for (const [key, source] of sources) {
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`))
      return `${error} (from ${source})`;
  }
  return error;
}

/**
 * Resolves the configuration from the command line, the environment and the config file
 * (flags > environment > file > defaults). Throws a ConfigError whose message lists every problem.
 */
export async function loadConfig(input: LoadConfigInput = {}): Promise<ResolvedConfig> {
  const argv = input.argv ?? process.argv.slice(2);
  const env = input.env ?? process.env;
  const args = parseCliArgs(argv);
  const envValue = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value;
  };

  const configPath = args.config ?? envValue(ENV.config);
  let merged: PlainObject = {};
  let context = '';
  if (configPath !== undefined) {
    const file = resolve(input.cwd ?? process.cwd(), configPath);
    context = ` (config file ${file})`;
    const result = await readConfigFile(file);
    if (!result.ok) throw new ConfigError([result.error], context);
    if (!isPlainObject(result.raw)) {
      const kind = Array.isArray(result.raw) ? 'an array' : JSON.stringify(result.raw);
      throw new ConfigError([`configuration: must be an object of settings, got ${kind}`], context);
    }
    merged = { ...result.raw };
  }

  const sources: Sources = new Map();
  const envPort = envValue(ENV.port);
  if (envPort !== undefined) set(merged, sources, 'port', numberOrText(envPort), ENV.port);
  const envBackends = envValue(ENV.backends);
  if (envBackends !== undefined) set(merged, sources, 'backends', splitList(envBackends), ENV.backends);
  const envToken = envValue(ENV.adminToken);
  if (envToken !== undefined) setAdminToken(merged, sources, envToken, ENV.adminToken);

  if (args.port !== undefined) set(merged, sources, 'port', numberOrText(args.port), '--port');
  if (args.host !== undefined) set(merged, sources, 'host', args.host, '--host');
  if (args.backend !== undefined) set(merged, sources, 'backends', args.backend, '--backend');
  if (args.maxConcurrent !== undefined) {
    set(merged, sources, 'maxConcurrent', numberOrText(args.maxConcurrent), '--max-concurrent');
  }
  if (args.adminToken !== undefined) setAdminToken(merged, sources, args.adminToken, '--admin-token');
  if (args.redis !== undefined) set(merged, sources, 'redisUrl', args.redis, '--redis');
  if (args.logLevel !== undefined) set(merged, sources, 'logLevel', args.logLevel, '--log-level');
  if (args.enableBatch) {
    const batch = merged['batch'];
    // A malformed `batch` section stays as it is so that the validator reports it.
    if (batch === undefined || isPlainObject(batch)) {
      merged['batch'] = { ...batch, enabled: true };
      sources.set('batch.enabled', '--enable-batch');
    }
  }

  const result = parseConfig(merged);
  if (!result.ok) {
    throw new ConfigError(
      result.errors.map((error) => annotate(error, sources)),
      context,
    );
  }
  return result.config;
}
