/** A tiny validation toolkit: every check records a message that starts with the offending key path. */

import { describeValue as describe, unknownKeyError } from '@jobe-balancer/core';

export type PlainObject = Record<string, unknown>;

export function isPlainObject(value: unknown): value is PlainObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export { describeValue as describe, joinPath } from '@jobe-balancer/core';

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
      if (!known.includes(key)) this.errors.push(unknownKeyError(path, key, known).message);
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
