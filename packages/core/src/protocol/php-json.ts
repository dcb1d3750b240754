import { isUtf8 } from 'node:buffer';

/** A request body as Jobe's `getJSON()` reads it: `ok: false` where PHP's json_decode fails. */
export type PhpJson = { ok: true; value: unknown } | { ok: false };

/**
 * json_decode's depth (512) also counts the level of the values inside the innermost array or object, so
 * 511 nested arrays/objects decode and 512 do not (checked with PHP 8.2's json_decode and with Jobe).
 */
const MAX_NESTED_CONTAINERS = 511;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parses a body the way Jobe (CodeIgniter 4, PHP 8) does, for the answers the gateway gives itself:
 * an empty body is no JSON at all (null); PHP refuses what JSON.parse accepts in four ways: bytes that are
 * not UTF-8, more than 511 nested arrays/objects, an escaped lone UTF-16 surrogate, and an object key that starts
 * with "\u0000" (objects are decoded to stdClass).
 */
export function decodeJsonLikePhp(raw: Buffer): PhpJson {
  if (raw.length === 0) return { ok: true, value: null };
  if (!isUtf8(raw)) return REFUSED;
  const text = raw.toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return REFUSED;
  }
  // Lone surrogates and NUL-led keys can only come from such escapes (PHP's json_encode writes é as
  // \u00e9, so most CodeRunner bodies have escapes, but few of these).
  const escapes: Escapes = {
    surrogate: text.includes('\\ud') || text.includes('\\uD'),
    nul: text.includes('\\u0000'),
  };
  return refused(value, 0, escapes) ? REFUSED : { ok: true, value };
}

interface Escapes {
  surrogate: boolean;
  nul: boolean;
}

const REFUSED: PhpJson = { ok: false };

/** Whether PHP refuses `value`, found inside `level` arrays/objects. */
function refused(value: unknown, level: number, escapes: Escapes): boolean {
  if (typeof value === 'string') return escapes.surrogate && LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (level + 1 > MAX_NESTED_CONTAINERS) return true;
  if (Array.isArray(value)) {
    for (const item of value) if (refused(item, level + 1, escapes)) return true;
    return false;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (escapes.nul && key.charCodeAt(0) === 0) return true;
    if (escapes.surrogate && LONE_SURROGATE.test(key)) return true;
    if (refused(object[key], level + 1, escapes)) return true;
  }
  return false;
}
