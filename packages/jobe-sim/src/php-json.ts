/**
 * PHP's json_decode($body, false, 512) as CodeIgniter's getJSON() calls it: what it accepts and, when it fails,
 * which json_last_error_msg() it gives. JSON.parse does the work for well-formed input; a byte scanner that
 * follows PHP's ext/json scanner and parser finds the first error otherwise.
 */
import { isUtf8 } from 'node:buffer';

export const JSON_ERRORS = {
  depth: 'Maximum stack depth exceeded',
  ctrlChar: 'Control character error, possibly incorrectly encoded',
  syntax: 'Syntax error',
  utf8: 'Malformed UTF-8 characters, possibly incorrectly encoded',
  invalidPropertyName: 'The decoded property name is invalid',
  utf16: 'Single unpaired UTF-16 surrogate in unicode escape',
} as const;

export type PhpJsonResult = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * json_decode's default depth, 512, counts the values inside the innermost array or object as a level:
 * at most 511 arrays and objects may nest (PHP 8.2: 511 `[` decode, 512 give "Maximum stack depth exceeded").
 */
const MAX_NESTED = 511;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decodes a request body. Objects stand for PHP stdClass objects, arrays for PHP lists. */
export function phpJsonDecode(body: Buffer): PhpJsonResult {
  // PHP's parser stops at the 512th level; JSON.parse would first build all of an 8 MiB nest (seconds).
  if (nestsPast(body, MAX_NESTED)) {
    const error = firstPhpJsonError(body);
    if (error !== undefined) return { ok: false, error };
  }
  if (isUtf8(body)) {
    const text = body.toString('utf8');
    let value: unknown;
    let parsed = false;
    try {
      value = JSON.parse(text);
      parsed = true;
    } catch {
      // PHP's own error is found below.
    }
    if (parsed && !phpWouldReject(value, text.includes('\\u'))) return { ok: true, value };
  }
  const error = firstPhpJsonError(body);
  return error === undefined ? { ok: false, error: JSON_ERRORS.syntax } : { ok: false, error };
}

/** Whether arrays/objects outside strings nest more than `limit` deep (a state machine over the bytes). */
function nestsPast(body: Buffer, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < body.length; i++) {
    const c = body[i];
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

/** What JSON.parse accepts and PHP does not: nesting deeper than 511, lone surrogates, "\u0000..." keys. */
function phpWouldReject(root: unknown, hasUnicodeEscapes: boolean): boolean {
  const stack: Array<[unknown, number]> = [[root, 0]];
  while (stack.length > 0) {
    const [value, depth] = stack.pop()!;
    if (typeof value === 'string') {
      if (hasUnicodeEscapes && LONE_SURROGATE.test(value)) return true;
    } else if (Array.isArray(value)) {
      if (depth >= MAX_NESTED) return true;
      for (const item of value)
        if (typeof item === 'object' || typeof item === 'string') stack.push([item, depth + 1]);
    } else if (value !== null && typeof value === 'object') {
      if (depth >= MAX_NESTED) return true;
      for (const [key, item] of Object.entries(value)) {
        if (hasUnicodeEscapes && (key.startsWith('\0') || LONE_SURROGATE.test(key))) return true;
        if (typeof item === 'object' || typeof item === 'string') stack.push([item, depth + 1]);
      }
    }
  }
  return false;
}

class JsonError {
  constructor(readonly message: string) {}
}

type Token =
  | { kind: '{' | '}' | '[' | ']' | ':' | ',' | 'literal' | 'number' | 'eoi' }
  | { kind: 'string'; nulFirst: boolean };

const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const NUMBER_CHARS = new Set(Array.from('0123456789+-.eE', (c) => c.charCodeAt(0)));
const NUMBER = /^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/;
const SIMPLE_ESCAPES = new Set([0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74]);

/** Length of the valid UTF-8 sequence at `at` (the ranges PHP's scanner accepts), or 0. */
function utf8SequenceLength(b: Buffer, at: number): number {
  const c = b[at]!;
  const cont = (i: number, lo = 0x80, hi = 0xbf): boolean => {
    const x = b[at + i];
    return x !== undefined && x >= lo && x <= hi;
  };
  if (c < 0x80) return 1;
  if (c >= 0xc2 && c <= 0xdf) return cont(1) ? 2 : 0;
  if (c === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((c >= 0xe1 && c <= 0xec) || c === 0xee || c === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (c === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (c === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (c >= 0xf1 && c <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (c === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

function hex4(b: Buffer, at: number): number | undefined {
  if (at + 4 > b.length) return undefined;
  const text = b.toString('latin1', at, at + 4);
  return /^[0-9a-fA-F]{4}$/.test(text) ? Number.parseInt(text, 16) : undefined;
}

class Scanner {
  private pos = 0;
  constructor(private readonly b: Buffer) {}

  next(): Token {
    const b = this.b;
    while (this.pos < b.length && WHITESPACE.has(b[this.pos]!)) this.pos++;
    if (this.pos >= b.length) return { kind: 'eoi' };
    const c = b[this.pos]!;
    switch (c) {
      case 0x7b:
      case 0x7d:
      case 0x5b:
      case 0x5d:
      case 0x3a:
      case 0x2c:
        this.pos++;
        return { kind: String.fromCharCode(c) as '{' };
      case 0x22:
        return this.string();
    }
    for (const literal of ['true', 'false', 'null']) {
      if (b.toString('latin1', this.pos, this.pos + literal.length) === literal) {
        this.pos += literal.length;
        return { kind: 'literal' };
      }
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      let end = this.pos;
      while (end < b.length && NUMBER_CHARS.has(b[end]!)) end++;
      const number = NUMBER.exec(b.toString('latin1', this.pos, end));
      if (number) {
        this.pos += number[0].length;
        return { kind: 'number' };
      }
    }
    if (c < 0x20) throw new JsonError(JSON_ERRORS.ctrlChar);
    if (c >= 0x80 && utf8SequenceLength(b, this.pos) === 0) throw new JsonError(JSON_ERRORS.utf8);
    throw new JsonError(JSON_ERRORS.syntax);
  }

  private string(): Token {
    const b = this.b;
    this.pos++;
    const nulFirst = b.toString('latin1', this.pos, this.pos + 6) === '\\u0000';
    for (;;) {
      // PHP's buffer ends with a NUL that its scanner sees as a control character.
      if (this.pos >= b.length) throw new JsonError(JSON_ERRORS.ctrlChar);
      const c = b[this.pos]!;
      if (c === 0x22) {
        this.pos++;
        return { kind: 'string', nulFirst };
      }
      if (c < 0x20) throw new JsonError(JSON_ERRORS.ctrlChar);
      if (c === 0x5c) {
        const e = b[this.pos + 1];
        if (e !== undefined && SIMPLE_ESCAPES.has(e)) {
          this.pos += 2;
        } else if (e === 0x75) {
          this.pos += this.unicodeEscapeLength();
        } else {
          throw new JsonError(JSON_ERRORS.syntax);
        }
      } else if (c >= 0x80) {
        const length = utf8SequenceLength(b, this.pos);
        if (length === 0) throw new JsonError(JSON_ERRORS.utf8);
        this.pos += length;
      } else {
        this.pos++;
      }
    }
  }

  /** A `\uXXXX` escape, or a surrogate pair of them; anything else is PHP's UTF-16 error. */
  private unicodeEscapeLength(): number {
    const unit = hex4(this.b, this.pos + 2);
    if (unit === undefined || (unit >= 0xdc00 && unit <= 0xdfff)) throw new JsonError(JSON_ERRORS.utf16);
    if (unit < 0xd800 || unit > 0xdbff) return 6;
    const low =
      this.b[this.pos + 6] === 0x5c && this.b[this.pos + 7] === 0x75 ? hex4(this.b, this.pos + 8) : undefined;
    if (low === undefined || low < 0xdc00 || low > 0xdfff) throw new JsonError(JSON_ERRORS.utf16);
    return 12;
  }
}

class Parser {
  private depth = 0;
  constructor(private readonly scanner: Scanner) {}

  document(): void {
    this.value(this.scanner.next());
    if (this.scanner.next().kind !== 'eoi') throw new JsonError(JSON_ERRORS.syntax);
  }

  private value(token: Token): void {
    switch (token.kind) {
      case 'string':
      case 'number':
      case 'literal':
        return;
      case '{':
        this.object();
        return;
      case '[':
        this.array();
        return;
      default:
        throw new JsonError(JSON_ERRORS.syntax);
    }
  }

  private enter(): void {
    if (this.depth++ >= MAX_NESTED) throw new JsonError(JSON_ERRORS.depth);
  }

  private object(): void {
    this.enter();
    let token = this.scanner.next();
    if (token.kind !== '}') {
      for (;;) {
        if (token.kind !== 'string') throw new JsonError(JSON_ERRORS.syntax);
        const key = token;
        if (this.scanner.next().kind !== ':') throw new JsonError(JSON_ERRORS.syntax);
        this.value(this.scanner.next());
        if (key.nulFirst) throw new JsonError(JSON_ERRORS.invalidPropertyName);
        token = this.scanner.next();
        if (token.kind === '}') break;
        if (token.kind !== ',') throw new JsonError(JSON_ERRORS.syntax);
        token = this.scanner.next();
      }
    }
    this.depth--;
  }

  private array(): void {
    this.enter();
    let token = this.scanner.next();
    if (token.kind !== ']') {
      for (;;) {
        this.value(token);
        token = this.scanner.next();
        if (token.kind === ']') break;
        if (token.kind !== ',') throw new JsonError(JSON_ERRORS.syntax);
        token = this.scanner.next();
      }
    }
    this.depth--;
  }
}

/** The json_last_error_msg() PHP would report for these bytes, or undefined if PHP accepts them. */
export function firstPhpJsonError(body: Buffer): string | undefined {
  try {
    new Parser(new Scanner(body)).document();
    return undefined;
  } catch (error) {
    if (error instanceof JsonError) return error.message;
    // Nesting is capped at 512, so a stack overflow cannot happen; anything else is a syntax error to PHP.
    return JSON_ERRORS.syntax;
  }
}
