/**
 * The few PHP 8.1 value semantics Jobe's request handling depends on, applied to json_decode results:
 * JS objects stand for stdClass objects, JS arrays for PHP lists, numbers for int (when safe integers) or float.
 */

/** A PHP Throwable other than Jobe's JobException; Runs::post answers 500 "Server exception (<message>)". */
export class PhpThrowable extends Error {}

export function isPhpObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `isset($object->name)`: an own property whose value is not null. */
export function issetProperty(object: Record<string, unknown>, name: string): boolean {
  return Object.hasOwn(object, name) && object[name] !== null;
}

/** zend_zval_type_name: what PHP 8.1 prints in TypeErrors and warnings. */
export function phpTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isSafeInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'string';
  if (Array.isArray(value)) return 'array';
  return 'stdClass';
}

/** PHP's float to string conversion (precision 14, `%.14G`, with ".0" added to a one-digit mantissa). */
export function phpFloatToString(x: number): string {
  if (Number.isNaN(x)) return 'NAN';
  if (!Number.isFinite(x)) return x > 0 ? 'INF' : '-INF';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const sign = x < 0 ? '-' : '';
  const [mantissa = '0', exponentText = '0'] = Math.abs(x).toExponential(13).split('e');
  const digits = mantissa.replace('.', '').replace(/0+$/, '') || '0';
  const exponent = Number(exponentText);
  const decimalPoint = exponent + 1;
  if (decimalPoint < -3 || decimalPoint > 14) {
    const fraction = digits.length > 1 ? digits.slice(1) : '0';
    return `${sign}${digits[0]}.${fraction}E${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  if (decimalPoint <= 0) return `${sign}0.${'0'.repeat(-decimalPoint)}${digits}`;
  if (digits.length <= decimalPoint) return sign + digits + '0'.repeat(decimalPoint - digits.length);
  return `${sign}${digits.slice(0, decimalPoint)}.${digits.slice(decimalPoint)}`;
}

/** String conversion of a scalar, as PHP's coercive typing mode does it. */
export function phpScalarToString(value: string | number | boolean | null): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? String(value) : phpFloatToString(value);
  if (value === true) return '1';
  return '';
}

/** Assignment to a typed `string` property of Jobe\RunSpecifier in coercive mode. */
export function assignStringProperty(value: unknown, property: string): string {
  if (typeof value === 'object' && value !== null) {
    throw new PhpThrowable(
      `Cannot assign ${phpTypeName(value)} to property Jobe\\RunSpecifier::$${property} of type string`,
    );
  }
  return phpScalarToString(value as string | number | boolean | null);
}

/** Assignment to a typed `bool` property of Jobe\RunSpecifier in coercive mode. */
export function assignBoolProperty(value: unknown, property: string): boolean {
  if (typeof value === 'object' && value !== null) {
    throw new PhpThrowable(
      `Cannot assign ${phpTypeName(value)} to property Jobe\\RunSpecifier::$${property} of type bool`,
    );
  }
  return phpTruthy(value);
}

export function phpTruthy(value: unknown): boolean {
  if (
    value === null ||
    value === undefined ||
    value === false ||
    value === 0 ||
    value === '' ||
    value === '0'
  ) {
    return false;
  }
  if (Array.isArray(value)) return value.length > 0;
  return true;
}

const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);
const TWO_64 = 2n ** 64n;

/** zend_dval_to_lval: modular on 64-bit builds for out-of-range values, 0 for NaN and infinities. */
function floatToIntModular(x: number): number {
  if (!Number.isFinite(x)) return 0;
  const truncated = BigInt(Math.trunc(x));
  if (truncated >= INT64_MIN && truncated <= INT64_MAX) return Number(truncated);
  let wrapped = ((truncated % TWO_64) + TWO_64) % TWO_64;
  if (wrapped > INT64_MAX) wrapped -= TWO_64;
  return Number(wrapped);
}

/** zend_dval_to_lval_cap, used for numeric strings. */
function floatToIntCapped(x: number): number {
  if (!Number.isFinite(x)) return 0;
  if (x >= 2 ** 63) return Number(INT64_MAX);
  if (x < -(2 ** 63)) return Number(INT64_MIN);
  return Math.trunc(x);
}

const LEADING_NUMBER = /^[ \t\n\r\v\f]*([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)/;

/** PHP's intval(). Throws like PHP 8.1 for objects (a warning that CodeIgniter turns into an ErrorException). */
export function phpIntval(value: unknown): number {
  if (value === null || value === undefined || value === false) return 0;
  if (value === true) return 1;
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : floatToIntModular(value);
  if (typeof value === 'string') {
    const match = LEADING_NUMBER.exec(value);
    if (!match) return 0;
    const number = match[1]!;
    if (/^[+-]?\d+$/.test(number)) {
      const integer = BigInt(number);
      if (integer >= INT64_MIN && integer <= INT64_MAX) return Number(integer);
    }
    return floatToIntCapped(Number(number));
  }
  if (Array.isArray(value)) return value.length > 0 ? 1 : 0;
  throw new PhpThrowable('Object of class stdClass could not be converted to int');
}

/** print_r($value, true). */
export function phpPrintR(value: unknown, indent = 0): string {
  if (Array.isArray(value)) return `Array\n${printHash(value.entries(), indent)}`;
  if (isPhpObject(value)) return `stdClass Object\n${printHash(Object.entries(value), indent)}`;
  return phpScalarToString(value as string | number | boolean | null);
}

function printHash(entries: Iterable<[string | number, unknown]>, indent: number): string {
  const pad = ' '.repeat(indent);
  const itemPad = ' '.repeat(indent + 4);
  let text = `${pad}(\n`;
  for (const [key, item] of entries) text += `${itemPad}[${key}] => ${phpPrintR(item, indent + 8)}\n`;
  return `${text}${pad})\n`;
}

// base64_decode($text, true): whitespace (\t \n \r space) is skipped anywhere, other foreign characters fail,
// nothing but whitespace may follow '=', padding is optional but must be right when present, and a last
// group of a single character fails.
const BASE64_WHITESPACE = /[\t\n\r ]/g;
const BASE64_SHAPE = /^[A-Za-z0-9+/]*(=*)$/;

/** PHP's strict base64_decode: the decoded bytes, or undefined where PHP returns false. */
export function phpBase64DecodeStrict(text: string): Buffer | undefined {
  const compact = text.replace(BASE64_WHITESPACE, '');
  const shape = BASE64_SHAPE.exec(compact);
  if (!shape) return undefined;
  const padding = shape[1]!.length;
  const dataLength = compact.length - padding;
  if (dataLength % 4 === 1) return undefined;
  if (padding > 0 && (padding > 2 || (dataLength + padding) % 4 !== 0)) return undefined;
  return Buffer.from(compact.slice(0, dataLength), 'base64');
}
