import { parseArgs } from 'node:util';
import { suggestKey as suggest } from '@jobe-balancer/core';
import { ConfigError } from './errors.js';

/** Command-line flags. These names are stable: operators and scripts rely on them. */
const OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  backend: { type: 'string', multiple: true },
  config: { type: 'string' },
  'max-concurrent': { type: 'string' },
  'admin-token': { type: 'string' },
  redis: { type: 'string' },
  'log-level': { type: 'string' },
  'enable-batch': { type: 'boolean' },
  check: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'v' },
} as const;

export interface CliArgs {
  port?: string;
  host?: string;
  backend?: string[];
  config?: string;
  maxConcurrent?: string;
  adminToken?: string;
  redis?: string;
  logLevel?: string;
  enableBatch: boolean;
  check: boolean;
  help: boolean;
  version: boolean;
}

function usageError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const code = (error as { code?: string }).code;
  const flag = /'(-[^' ]+)/.exec(message)?.[1] ?? '';
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const known = Object.keys(OPTIONS);
    const guess = suggest(flag.replace(/^-+/, '').split('=')[0] ?? '', known);
    return `unknown option "${flag}"${guess === undefined ? '' : ` (did you mean "--${guess}"?)`}`;
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const argument = /argument '([^']*)'/.exec(message)?.[1] ?? '';
    return `unexpected argument "${argument}" (every setting is a --flag; see --help)`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    if (message.includes('does not take an argument')) return `${flag}: takes no value`;
    return `${flag}: needs a value (e.g. ${flag}=VALUE)`;
  }
  return message;
}

/** Parses the command line; throws a ConfigError for unknown flags, stray arguments and missing values. */
export function parseCliArgs(argv: readonly string[]): CliArgs {
  let values: ReturnType<typeof parseArgs<{ options: typeof OPTIONS }>>['values'];
  try {
    ({ values } = parseArgs({ args: [...argv], options: OPTIONS, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new ConfigError([usageError(error)], ' (command line)');
  }
  return {
    port: values.port,
    host: values.host,
    backend: values.backend,
    config: values.config,
    maxConcurrent: values['max-concurrent'],
    adminToken: values['admin-token'],
    redis: values.redis,
    logLevel: values['log-level'],
    enableBatch: values['enable-batch'] ?? false,
    check: values.check ?? false,
    help: values.help ?? false,
    version: values.version ?? false,
  };
}

export const USAGE = `Usage: jobe-balancer --backend URL [--backend URL ...] [options]

A load balancer for Moodle CodeRunner's Jobe servers: CodeRunner talks to it as to one Jobe server.

Options:
  --backend [NAME=]URL   A Jobe server, as you would type it into CodeRunner's jobe_host
                         (jobe1, jobe1:8080, http://jobe1, https://jobe1/prefix). Repeatable;
                         names default to jobe1, jobe2, ... in order.
  --port N               Port to listen on (default 8080; 0 picks a free port).
  --host ADDRESS         Address to listen on (default 0.0.0.0).
  --config FILE          YAML (.yaml, .yml) or JSON (.json) config file with any setting.
  --max-concurrent N     Runs each backend may hold at once: its jobe_max_users (default 16).
  --admin-token TOKEN    Enables the admin API under <basePath>/_balancer/ (Bearer token).
  --redis URL            redis:// URL: share job-id bindings with other replicas.
  --enable-batch         Serve POST <basePath>/_balancer/batch (many runs in one request, for regrades).
  --log-level LEVEL      debug, info, warn, error or silent (default info). Logs are JSON lines on stderr.
  --check                Validate the configuration, ask every backend for its languages, and exit.
  -h, --help             Show this help.
  -v, --version          Show the version.

Environment (flags win over environment, environment over the config file):
  JOBE_BALANCER_PORT, JOBE_BALANCER_BACKENDS (comma-separated [NAME=]URL list),
  JOBE_BALANCER_ADMIN_TOKEN, JOBE_BALANCER_CONFIG (path of the config file).

Exit codes: 0 success, 1 runtime failure or a backend failed --check, 2 invalid configuration.
`;
