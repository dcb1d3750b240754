/**
 * Coded option problems, shared by every entry point that accepts options (createBalancer, addBackend,
 * the admin API, the `jobe-balancer` command's flags, environment and config file).
 */

export type OptionErrorCode =
  /** The key is missing. */
  | 'required'
  /** Wrong JSON type, or a string that does not have the required form. */
  | 'invalid'
  /** A number or a length outside its bounds. */
  | 'out_of_range'
  /** Not one of the allowed values. */
  | 'not_allowed'
  /** A key no option has. */
  | 'unknown_key'
  /** A backend name given twice. */
  | 'duplicate'
  /** A backend URL with a user name or password (never echoed). */
  | 'credentials';

/** One problem: `code` for programs, `path` (e.g. `backends[1].url`) and a message for people. */
export class OptionError extends Error {
  constructor(
    readonly code: OptionErrorCode,
    readonly path: string,
    /** What is wrong, without the path. */
    readonly problem: string,
    /** The whole line, when it does not read `<path>: <problem>` (unknown keys). */
    line?: string,
  ) {
    super(line ?? `${path}: ${problem}`);
    this.name = 'OptionError';
  }

  toJSON(): { code: OptionErrorCode; path: string; message: string } {
    return { code: this.code, path: this.path, message: this.message };
  }
}

/** Thrown by createBalancer and addBackend: every problem at once, so an operator fixes them in one go. */
export class InvalidOptionsError extends Error {
  constructor(readonly problems: readonly OptionError[]) {
    super(`jobe-balancer: invalid options:\n  ${problems.map((p) => p.message).join('\n  ')}`);
    this.name = 'InvalidOptionsError';
  }
}

/** How a value is shown after "got": strings quoted (and cut), containers by kind. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') {
    const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
    return JSON.stringify(shown);
  }
  return String(value);
}

export function joinPath(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = (previous[j - 1] ?? 0) + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min((previous[j] ?? 0) + 1, (current[j - 1] ?? 0) + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

const normalise = (name: string): string => name.toLowerCase().replace(/[-_]/g, '');

/** The closest candidate to a mistyped name (`backend` → `backends`, `max_concurrent` → `maxConcurrent`). */
export function suggestKey(name: string, candidates: readonly string[]): string | undefined {
  // Distances over long names cost O(n·m): a key of a megabyte must not block the event loop.
  if (name.length > 64) return undefined;
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = normalise(name) === normalise(candidate) ? 0 : editDistance(name, candidate);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** `unknown key "<path>.<key>"`, with a "did you mean" when a known key is close. */
export function unknownKeyError(path: string, key: string, known: readonly string[]): OptionError {
  const guess = suggestKey(key, known);
  const hint = guess === undefined ? '' : ` (did you mean "${joinPath(path, guess)}"?)`;
  const shown = key.length > 80 ? `${key.slice(0, 77)}...` : key;
  const keyPath = joinPath(path, shown);
  return new OptionError('unknown_key', keyPath, 'is not a known option', `unknown key "${keyPath}"${hint}`);
}
