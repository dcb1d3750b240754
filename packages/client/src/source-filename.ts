/**
 * The class name CodeRunner derives a Java source file name from: the first `public ... class X` at nesting
 * depth 0, after comments and string literals are removed.
 */
export function javaPublicClass(source: string): string | null {
  let flat = '';
  let i = 0;
  while (i < source.length) {
    if (source.startsWith('//', i)) {
      const newline = source.indexOf('\n', i + 2);
      if (newline < 0) break;
      i = newline;
    } else if (source.startsWith('/*', i)) {
      const end = source.indexOf('*/', i + 2);
      if (end < 0) break;
      flat += ' ';
      i = end + 2;
    } else if (source[i] === '"') {
      const literal = /^"(?:\\.|[^\\"])*"/s.exec(source.slice(i));
      if (literal === null) break;
      i += literal[0].length;
    } else {
      flat += source[i];
      i++;
    }
  }
  let depth = 0;
  let outer = '';
  for (const char of flat) {
    if (char === '{') depth++;
    if (char === '}') depth--;
    outer += char !== '\n' && depth > 0 && !(depth === 1 && char === '{') ? ' ' : char;
  }
  return /public\s(?:\w*\s)*class\s*(\w+)\W/.exec(outer)?.[1] ?? null;
}

/** CodeRunner's `sourcefilename`: `__tester__.<language>`, or `<PublicClass>.java` for Java. */
export function defaultSourceFilename(language: string, sourcecode: string): string {
  if (language !== 'java') return `__tester__.${language}`;
  const mainClass = javaPublicClass(sourcecode);
  return mainClass !== null ? `${mainClass}.java` : 'NO_PUBLIC_CLASS_FOUND.java';
}
