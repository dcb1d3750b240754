const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
};

function encodeString(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON escapes control characters
  const escaped = text.replace(/["\\/\u0000-\u001f\u0080-\uffff]/g, (char) => {
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) return short;
    if (char === '/') return '\\/';
    return `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`;
  });
  return `"${escaped}"`;
}

/**
 * PHP's `json_encode($value)` with default flags, the bytes CodeRunner sends: `/` as `\/`, everything outside
 * ASCII as lowercase `\uXXXX` (UTF-16 pairs), no spaces. Plain objects stand for PHP arrays, so an empty one
 * (and one keyed 0, 1, 2, ...) encodes as a list.
 */
export function phpJsonEncode(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return encodeString(value);
  if (Array.isArray(value)) return `[${value.map(phpJsonEncode).join(',')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    if (entries.every(([key], index) => key === String(index))) {
      return `[${entries.map(([, item]) => phpJsonEncode(item)).join(',')}]`;
    }
    return `{${entries.map(([key, item]) => `${encodeString(key)}:${phpJsonEncode(item)}`).join(',')}}`;
  }
  throw new TypeError(`cannot encode a ${typeof value} as JSON`);
}
