/** A tiny validation toolkit: every check records a message that starts with the offending key path. */

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** How a value is shown after "got": strings quoted, containers by kind. */
export function describe(value: unknown): string {
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
export function suggest(name: string, candidates: readonly string[]): string | undefined {
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

/** Collects messages; the check methods return the value when it is valid, `undefined` otherwise. */
export class Checker {
  readonly errors: string[] = [];

  fail(path: string, message: string): undefined {
    this.errors.push(`${path}: ${message}`);
    return undefined;
  }

  /** Reports keys outside `known`, with a "did you mean" when one is close. */
  knownKeys(path: string, object: PlainObject, known: readonly string[]): void {
    for (const key of Object.keys(object)) {
      if (known.includes(key)) continue;
      const guess = suggest(key, known);
      const hint = guess === undefined ? '' : ` (did you mean "${joinPath(path, guess)}"?)`;
      this.errors.push(`unknown key "${joinPath(path, key)}"${hint}`);
    }
  }

  object(path: string, value: unknown): PlainObject | undefined {
    if (isPlainObject(value)) return value;
    return this.fail(path, `must be an object, got ${describe(value)}`);
  }

  integer(path: string, value: unknown, min: 0 | 1, max = Number.MAX_SAFE_INTEGER): number | undefined {
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min) {
      const kind = min === 1 ? 'a positive integer' : 'a non-negative integer';
      return this.fail(path, `must be ${kind}, got ${describe(value)}`);
    }
    if (value > max) return this.fail(path, `must be at most ${max}, got ${value}`);
    return value;
  }

  /** A duration in milliseconds: Node's timers cannot wait longer than 2^31-1 ms. */
  millis(path: string, value: unknown, min: 0 | 1): number | undefined {
    return this.integer(path, value, min, 2_147_483_647);
  }

  positiveNumber(path: string, value: unknown): number | undefined {
    if (typeof value === 'number' && Number.isFinite(value) && value > 0) return value;
    return this.fail(path, `must be a positive number, got ${describe(value)}`);
  }

  boolean(path: string, value: unknown): boolean | undefined {
    if (typeof value === 'boolean') return value;
    return this.fail(path, `must be true or false, got ${describe(value)}`);
  }

  string(path: string, value: unknown): string | undefined {
    if (typeof value === 'string') return value;
    return this.fail(path, `must be a string, got ${describe(value)}`);
  }

  nonEmptyString(path: string, value: unknown): string | undefined {
    if (typeof value === 'string' && value.trim() !== '') return value;
    return this.fail(path, `must be a non-empty string, got ${describe(value)}`);
  }

  oneOf<T extends string>(path: string, value: unknown, allowed: readonly T[]): T | undefined {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    const list = allowed.map((item) => `"${item}"`).join(', ');
    return this.fail(path, `must be one of ${list}, got ${describe(value)}`);
  }
}
