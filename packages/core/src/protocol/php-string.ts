/**
 * The string PHP 8 makes of a JSON scalar in coercive mode, which is what Jobe's
 * `base64_decode($file_contents, true)` receives when a client sends a number or a boolean: true is "1",
 * false is "", integers are written out, and floats get PHP's default `precision` of 14 significant
 * digits in %G style ("0.1", "1.0E+25", "-0"). JSON has no NaN or infinities.
 */
export function phpStringOfScalar(value: string | number | boolean): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean') return value ? '1' : '';
  if (Number.isSafeInteger(value)) return String(value);
  return phpFloatString(value);
}

function phpFloatString(x: number): string {
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  const [mantissa = '', exponentText = '0'] = x.toExponential(13).split('e');
  const exponent = Number(exponentText);
  const sign = mantissa.startsWith('-') ? '-' : '';
  const significant = mantissa.replace('-', '').replace('.', '').replace(/0+$/, '');
  if (exponent < -4 || exponent >= 14) {
    const fraction = significant.slice(1) || '0';
    return `${sign}${significant[0]}.${fraction}E${exponent < 0 ? '-' : '+'}${Math.abs(exponent)}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${significant}`;
  const whole = exponent + 1;
  if (significant.length <= whole) return sign + significant.padEnd(whole, '0');
  return `${sign}${significant.slice(0, whole)}.${significant.slice(whole)}`;
}

/** PHP 8.2's strtolower (Jobe lowercases `language_id` with it): A to Z only, whatever the locale. */
export function phpStrtolower(text: string): string {
  return text.replace(/[A-Z]+/g, (letters) => letters.toLowerCase());
}
