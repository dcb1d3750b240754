import { describe, expect, it } from 'vitest';
import { JSON_ERRORS, phpJsonDecode } from '../src/php-json.js';
import {
  PhpThrowable,
  phpBase64DecodeStrict,
  phpFloatToString,
  phpIntval,
  phpPrintR,
  phpScalarToString,
} from '../src/php-values.js';

describe('json_decode emulation', () => {
  const decode = (text: string | Buffer) =>
    phpJsonDecode(typeof text === 'string' ? Buffer.from(text) : text);

  it('decodes what PHP decodes', () => {
    expect(decode('{"a":[1,"x",null,true],"":{}}')).toEqual({
      ok: true,
      value: { a: [1, 'x', null, true], '': {} },
    });
    expect(decode(' "\\ud83d\\ude00 é" ')).toEqual({ ok: true, value: '😀 é' });
    expect(decode('1e400')).toEqual({ ok: true, value: Number.POSITIVE_INFINITY });
    expect(decode(`${'['.repeat(511)}${']'.repeat(511)}`).ok).toBe(true);
  });

  it('reports the json_last_error_msg PHP gives for the first error', () => {
    const cases: Array<[string | Buffer, string]> = [
      ['', JSON_ERRORS.syntax],
      ['{"a":1,}', JSON_ERRORS.syntax],
      ['[1 2]', JSON_ERRORS.syntax],
      ['01', JSON_ERRORS.syntax],
      ['-', JSON_ERRORS.syntax],
      ['nul', JSON_ERRORS.syntax],
      ['"\\x"', JSON_ERRORS.syntax],
      ['\ufeff{}', JSON_ERRORS.syntax],
      ['{"a":"b', JSON_ERRORS.ctrlChar],
      ['[1,\u000b2]', JSON_ERRORS.ctrlChar],
      ['["a\nb"]', JSON_ERRORS.ctrlChar],
      [Buffer.from([0x22, 0xc3, 0x28, 0x22]), JSON_ERRORS.utf8],
      [Buffer.from([0x22, 0xed, 0xa0, 0x80, 0x22]), JSON_ERRORS.utf8],
      ['"\\uZZZZ"', JSON_ERRORS.utf16],
      ['"\\udc00"', JSON_ERRORS.utf16],
      ['"\\ud800x"', JSON_ERRORS.utf16],
      ['{"\\u0000a":1}', JSON_ERRORS.invalidPropertyName],
      [`${'['.repeat(512)}${']'.repeat(512)}`, JSON_ERRORS.depth],
      [`{"a":${'['.repeat(511)}${']'.repeat(511)}}`, JSON_ERRORS.depth],
    ];
    for (const [text, error] of cases)
      expect(decode(text), String(text).slice(0, 30)).toEqual({ ok: false, error });
  });
});

describe('PHP value semantics', () => {
  it('intval', () => {
    expect(phpIntval(121)).toBe(121);
    expect(phpIntval(120.9)).toBe(120);
    expect(phpIntval(-5.5)).toBe(-5);
    expect(phpIntval('12abc')).toBe(12);
    expect(phpIntval('\n\t 7')).toBe(7);
    expect(phpIntval(' 1e3')).toBe(1000);
    expect(phpIntval('0x1A')).toBe(0);
    expect(phpIntval('.5')).toBe(0);
    expect(phpIntval('abc')).toBe(0);
    expect(phpIntval('1e19')).toBe(Number(2n ** 63n - 1n));
    expect(phpIntval(1e19)).toBe(Number(10n ** 19n - 2n ** 64n));
    expect(phpIntval(true)).toBe(1);
    expect(phpIntval(null)).toBe(0);
    expect(phpIntval([])).toBe(0);
    expect(phpIntval([0])).toBe(1);
    expect(() => phpIntval({})).toThrow(PhpThrowable);
  });

  it('converts floats and scalars to strings like PHP (precision 14)', () => {
    expect(phpFloatToString(1.5)).toBe('1.5');
    expect(phpFloatToString(0.1 + 0.2)).toBe('0.3');
    expect(phpFloatToString(1e20)).toBe('1.0E+20');
    expect(phpFloatToString(1e14)).toBe('1.0E+14');
    expect(phpFloatToString(12345678901234)).toBe('12345678901234');
    expect(phpFloatToString(0.0001)).toBe('0.0001');
    expect(phpFloatToString(0.00001)).toBe('1.0E-5');
    expect(phpFloatToString(-2.5e-7)).toBe('-2.5E-7');
    expect(phpScalarToString(2 ** 60)).toBe('1.1529215046068E+18');
    expect(phpScalarToString(42)).toBe('42');
    expect(phpScalarToString(true)).toBe('1');
    expect(phpScalarToString(false)).toBe('');
  });

  it('print_r', () => {
    expect(phpPrintR(['abc', 'x.py'])).toBe('Array\n(\n    [0] => abc\n    [1] => x.py\n)\n');
    expect(phpPrintR([])).toBe('Array\n(\n)\n');
    expect(phpPrintR([{ a: 1, b: [true] }, 2.5])).toBe(
      'Array\n(\n    [0] => stdClass Object\n        (\n            [a] => 1\n            [b] => Array\n' +
        '                (\n                    [0] => 1\n                )\n\n        )\n\n    [1] => 2.5\n)\n',
    );
  });

  it('strict base64_decode', () => {
    expect(phpBase64DecodeStrict('aGVsbG8=')?.toString()).toBe('hello');
    expect(phpBase64DecodeStrict('aGVsbG8')?.toString()).toBe('hello');
    expect(phpBase64DecodeStrict(' aGVs\tbG8=\r\n')?.toString()).toBe('hello');
    expect(phpBase64DecodeStrict('aGVsbG8==')).toBeUndefined();
    expect(phpBase64DecodeStrict('aGVsbG8=a')).toBeUndefined();
    expect(phpBase64DecodeStrict('aGVsb')).toBeUndefined();
    expect(phpBase64DecodeStrict('aGVs-G8=')).toBeUndefined();
    expect(phpBase64DecodeStrict('aGVs\vbG8=')).toBeUndefined();
  });
});
