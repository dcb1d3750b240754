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
  if (!isUtf8(raw)) return { ok: false };
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    return { ok: false };
  }
  // Lone surrogates and NUL-led keys can only come from \u escapes; base64 bodies never have one.
  const hasEscapes = raw.includes('\\u');
  return phpRefuses(value, hasEscapes) ? { ok: false } : { ok: true, value };
}

function phpRefuses(root: unknown, hasEscapes: boolean): boolean {
  const pending: Array<{ value: unknown; depth: number }> = [{ value: root, depth: 0 }];
  while (pending.length > 0) {
    const { value, depth } = pending.pop()!;
    if (typeof value === 'string') {
      if (hasEscapes && LONE_SURROGATE.test(value)) return true;
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (depth + 1 > MAX_NESTED_CONTAINERS) return true;
    if (Array.isArray(value)) {
      for (const item of value) pending.push({ value: item, depth: depth + 1 });
      continue;
    }
    for (const [key, item] of Object.entries(value)) {
      if (hasEscapes && (key.startsWith('\u0000') || LONE_SURROGATE.test(key))) return true;
      pending.push({ value: item, depth: depth + 1 });
    }
  }
  return false;
}
