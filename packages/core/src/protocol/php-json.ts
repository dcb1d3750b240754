import { isUtf8 } from 'node:buffer';

/**
 * A request body as Jobe's `getJSON()` reads it: `refused` where PHP's json_decode fails, `too-many-values`
 * where the gateway did not parse it (only Jobe can answer it).
 */
export type PhpJson = { ok: true; value: unknown } | { ok: false; why: 'refused' | 'too-many-values' };

/**
 * json_decode's depth (512) also counts the level of the values inside the innermost array or object, so
 * 511 nested arrays/objects decode and 512 do not (checked with PHP 8.2's json_decode and with Jobe).
 */
const MAX_NESTED_CONTAINERS = 511;
/**
 * Values (roughly: commas and brackets outside strings) in a body the gateway parses itself. A CodeRunner
 * body has a few dozen; 8 MiB of empty arrays or distinct keys took JSON.parse 1 to 7 s of blocked loop.
 */
export const MAX_PARSED_VALUES = 10_000;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Parses a body the way Jobe (CodeIgniter 4, PHP 8) does, for the answers the gateway gives itself:
 * an empty body is no JSON at all (null); PHP refuses what JSON.parse accepts in four ways: bytes that are
 * not UTF-8, more than 511 nested arrays/objects, an escaped lone UTF-16 surrogate, and an object key that starts
 * with "\u0000" (objects are decoded to stdClass).
 *
 * The shape is checked before JSON.parse, in one linear pass that stops at the 512th level or the
 * 10,001st value: 8 MiB of `[` took JSON.parse seconds of blocked event loop.
 */
export function decodeJsonLikePhp(raw: Buffer): PhpJson {
  if (raw.length === 0) return { ok: true, value: null };
  if (!isUtf8(raw)) return REFUSED;
  const shape = scanShape(raw);
  if (shape === 'too-deep') return REFUSED;
  if (shape === 'too-many-values') return TOO_MANY_VALUES;
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
  return refused(value, escapes) ? REFUSED : { ok: true, value };
}

interface Escapes {
  surrogate: boolean;
  nul: boolean;
}

const REFUSED: PhpJson = { ok: false, why: 'refused' };
const TOO_MANY_VALUES: PhpJson = { ok: false, why: 'too-many-values' };
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * Whether arrays/objects nest deeper than PHP allows or the body has more values than the gateway parses,
 * whichever comes first, counting brackets and commas outside strings. Exact for valid JSON; for invalid
 * JSON any answer will do (JSON.parse refuses it). Linear: strings are skipped with indexOf, and each
 * backslash before a quote is looked at once.
 */
function scanShape(raw: Buffer): 'too-deep' | 'too-many-values' | 'small' {
  let depth = 0;
  let values = 1;
  for (let at = 0; at < raw.length; at++) {
    const byte = raw[at];
    if (byte === 0x5b || byte === 0x7b) {
      if (++depth > MAX_NESTED_CONTAINERS) return 'too-deep';
      if (++values > MAX_PARSED_VALUES) return 'too-many-values';
    } else if (byte === 0x2c) {
      if (++values > MAX_PARSED_VALUES) return 'too-many-values';
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    } else if (byte === QUOTE) {
      const end = closingQuote(raw, at + 1);
      if (end === -1) return 'small';
      at = end;
    }
  }
  return 'small';
}

/** The index of the quote that ends the string whose contents start at `from`, or -1. */
function closingQuote(raw: Buffer, from: number): number {
  for (let search = from; ; ) {
    const quote = raw.indexOf(QUOTE, search);
    if (quote === -1) return -1;
    let backslashes = 0;
    while (quote - backslashes - 1 >= search && raw[quote - backslashes - 1] === BACKSLASH) backslashes++;
    if (backslashes % 2 === 0) return quote;
    search = quote + 1;
  }
}

/** Whether PHP refuses `value` (its nesting is already known to be within PHP's depth). */
function refused(value: unknown, escapes: Escapes): boolean {
  if (typeof value === 'string') return escapes.surrogate && LONE_SURROGATE.test(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (refused(item, escapes)) return true;
    return false;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    if (escapes.nul && key.charCodeAt(0) === 0) return true;
    if (escapes.surrogate && LONE_SURROGATE.test(key)) return true;
    if (refused(object[key], escapes)) return true;
  }
  return false;
}
