import { checkBackendUrl, MAX_BACKEND_URL_LENGTH } from '../backends/backend-url.js';
import type { AdminState, BackendOptions } from '../options.js';
import { describeValue, joinPath, OptionError, unknownKeyError } from './option-error.js';

/**
 * One option: its name, type, bounds, default and documentation, from which every entry point (createBalancer,
 * addBackend, the admin API, the command's flags, environment and config file) checks it the same way.
 */
export type OptionSpec =
  | {
      key: string;
      type: 'string';
      pattern?: RegExp;
      patternText?: string;
      maxLength: number;
      secret?: boolean;
      required?: boolean;
      default?: string;
      doc: string;
    }
  | { key: string; type: 'url'; required: true; doc: string }
  | { key: string; type: 'integer'; min: number; max: number; default?: number | string; doc: string }
  | { key: string; type: 'number'; min: number; max: number; default?: number; doc: string }
  | { key: string; type: 'enum'; values: readonly string[]; default?: string; doc: string };

/** Runs one backend may hold at once; far above any Jobe's worker table, far below what breaks arithmetic. */
export const MAX_BACKEND_CONCURRENCY = 10_000;

export const BACKEND_SPEC = [
  {
    key: 'name',
    type: 'string',
    pattern: /^[A-Za-z0-9_.-]+$/,
    patternText: '[A-Za-z0-9_.-]+',
    maxLength: 64,
    required: true,
    doc: 'Unique name used in logs, metrics, the status API and admin URLs',
  },
  {
    key: 'url',
    type: 'url',
    required: true,
    doc: "The Jobe server as written in CodeRunner's jobe_host: `jobe1`, `http://jobe1:8080`, `https://jobe1/prefix`; no user or password",
  },
  {
    key: 'apiKey',
    type: 'string',
    // Sent as a header: a line break or control character would make every request to the backend fail.
    pattern: /^[\x20-\x7e]+$/,
    patternText: 'printable ASCII without line breaks',
    maxLength: 1024,
    secret: true,
    doc: 'Sent to this backend as X-API-KEY (Jobe 2.0-2.1 and V1 enforce keys; 2.2 ignores them)',
  },
  {
    key: 'maxConcurrent',
    type: 'integer',
    min: 1,
    max: MAX_BACKEND_CONCURRENCY,
    default: 'the top-level maxConcurrent (16)',
    doc: 'Runs this backend may hold at once: its jobe_max_users',
  },
  {
    key: 'weight',
    type: 'number',
    min: 0.001,
    max: 1000,
    default: 1,
    doc: 'Relative share of new jobs when loads are equal',
  },
  {
    key: 'state',
    type: 'enum',
    values: ['ready', 'drain', 'maint'] satisfies AdminState[],
    default: 'ready',
    doc: 'Initial administrative state',
  },
] as const satisfies readonly OptionSpec[];

export const BACKEND_KEYS: readonly string[] = BACKEND_SPEC.map((spec) => spec.key);

/** Problems of one value against its spec, each naming `path`. */
export function checkValue(spec: OptionSpec, path: string, value: unknown): OptionError | undefined {
  switch (spec.type) {
    case 'string': {
      if (typeof value !== 'string' || value.trim() === '') {
        const got = spec.secret && typeof value === 'string' ? '' : `, got ${describeValue(value)}`;
        return new OptionError('invalid', path, `must be a non-empty string${got}`);
      }
      if (value.length > spec.maxLength)
        return new OptionError('out_of_range', path, `must be at most ${spec.maxLength} characters long`);
      if (spec.pattern !== undefined && !spec.pattern.test(value)) {
        const got = spec.secret ? '' : `, got ${describeValue(value)}`;
        return new OptionError('invalid', path, `must match ${spec.patternText}${got}`);
      }
      return undefined;
    }
    case 'url': {
      if (typeof value !== 'string')
        return new OptionError(
          'invalid',
          path,
          `must be an http(s) URL or host[:port], got ${describeValue(value)}`,
        );
      const checked = checkBackendUrl(value);
      if (!('problem' in checked)) return undefined;
      // The URL itself is not shown: it holds a password.
      if (checked.problem === 'credentials')
        return new OptionError(
          'credentials',
          path,
          'must not hold a user name or password (give the key as apiKey; the URL is shown in status and logs)',
        );
      const shown =
        value.length > MAX_BACKEND_URL_LENGTH
          ? `a URL over ${MAX_BACKEND_URL_LENGTH} characters`
          : describeValue(value);
      return new OptionError('invalid', path, `must be an http(s) URL or host[:port], got ${shown}`);
    }
    case 'integer': {
      if (typeof value !== 'number' || !Number.isInteger(value) || value < spec.min) {
        const kind = spec.min === 1 ? 'a positive integer' : 'a non-negative integer';
        return new OptionError('invalid', path, `must be ${kind}, got ${describeValue(value)}`);
      }
      if (value > spec.max)
        return new OptionError('out_of_range', path, `must be at most ${spec.max}, got ${value}`);
      return undefined;
    }
    case 'number': {
      if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
        return new OptionError('invalid', path, `must be a positive number, got ${describeValue(value)}`);
      if (value < spec.min || value > spec.max)
        return new OptionError('out_of_range', path, `must be from ${spec.min} to ${spec.max}, got ${value}`);
      return undefined;
    }
    case 'enum': {
      if (typeof value === 'string' && spec.values.includes(value)) return undefined;
      const list = spec.values.map((item) => `"${item}"`).join(', ');
      return new OptionError('not_allowed', path, `must be one of ${list}, got ${describeValue(value)}`);
    }
  }
}

export type CheckedBackend =
  | { backend: BackendOptions; problems: [] }
  | { backend: undefined; problems: OptionError[] };

/**
 * Checks one backend against BACKEND_SPEC. `taken` maps the names already in use to where (for the
 * duplicate message). The URL comes back trimmed.
 */
export function checkBackend(
  raw: unknown,
  path: string,
  taken: ReadonlyMap<string, string> = new Map(),
): CheckedBackend {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      backend: undefined,
      problems: [
        new OptionError(
          'invalid',
          path,
          `must be a backend object with name and url, got ${describeValue(raw)}`,
        ),
      ],
    };
  }
  const entry = raw as Record<string, unknown>;
  const problems: OptionError[] = [];
  for (const key of Object.keys(entry)) {
    if (!BACKEND_KEYS.includes(key)) problems.push(unknownKeyError(path, key, BACKEND_KEYS));
  }
  for (const spec of BACKEND_SPEC) {
    const keyPath = joinPath(path, spec.key);
    const value = entry[spec.key];
    if (value === undefined) {
      if ('required' in spec && spec.required)
        problems.push(new OptionError('required', keyPath, 'is required'));
      continue;
    }
    const problem = checkValue(spec, keyPath, value);
    if (problem !== undefined) problems.push(problem);
  }
  const name = entry['name'];
  if (typeof name === 'string' && taken.has(name)) {
    problems.push(
      new OptionError(
        'duplicate',
        joinPath(path, 'name'),
        `duplicate backend name "${name}" (also ${taken.get(name)})`,
      ),
    );
  }
  if (problems.length > 0) return { backend: undefined, problems };
  const backend = { ...entry, url: (entry['url'] as string).trim() } as unknown as BackendOptions;
  return { backend, problems: [] };
}
