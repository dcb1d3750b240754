import type { Backend } from '../backends/backend.js';
import type { CanaryOptions } from '../options.js';

/**
 * Each program prints 42 computed at run time, so a pass proves the compiler or interpreter really ran.
 * The `#sim print 42` line sits in a comment: a real Jobe ignores it, and jobe-sim (which runs no code,
 * only such directives) answers the same, so one default serves production and the simulator.
 */
const SIM = '#sim print 42';
const STDOUT = '42\n';

/** Preferred first: python3 and c are on every stock Jobe and start fastest. */
export const DEFAULT_CANARIES: readonly CanaryOptions[] = [
  { language_id: 'python3', sourcecode: `print(6 * 7)\n${SIM}\n`, expectedStdout: STDOUT },
  {
    language_id: 'c',
    sourcecode: `#include <stdio.h>\n/*\n${SIM}\n*/\nint main(void) {\n    printf("%d\\n", 6 * 7);\n    return 0;\n}\n`,
    expectedStdout: STDOUT,
  },
  {
    language_id: 'cpp',
    sourcecode: `#include <iostream>\n/*\n${SIM}\n*/\nint main() {\n    std::cout << 6 * 7 << std::endl;\n    return 0;\n}\n`,
    expectedStdout: STDOUT,
  },
  {
    language_id: 'nodejs',
    sourcecode: `/*\n${SIM}\n*/\nconsole.log(6 * 7);\n`,
    expectedStdout: STDOUT,
  },
  {
    language_id: 'java',
    sourcecode: `/*\n${SIM}\n*/\npublic class Canary {\n    public static void main(String[] args) {\n        System.out.println(6 * 7);\n    }\n}\n`,
    expectedStdout: STDOUT,
  },
  { language_id: 'php', sourcecode: `<?php\n/*\n${SIM}\n*/\necho 6 * 7, "\\n";\n`, expectedStdout: STDOUT },
  { language_id: 'octave', sourcecode: `disp(6 * 7)\n${SIM}\n`, expectedStdout: STDOUT },
  {
    language_id: 'pascal',
    sourcecode: `{\n${SIM}\n}\nbegin\n  writeln(6 * 7);\nend.\n`,
    expectedStdout: STDOUT,
  },
];

/**
 * The canary a backend gets: the configured one when the backend has its language, otherwise (no canary
 * configured) the first default in a language the backend reports; none when the operator turned it off.
 */
export function canaryFor(
  backend: Backend,
  configured: CanaryOptions | false | undefined,
): CanaryOptions | undefined {
  if (configured === false) return undefined;
  if (configured !== undefined)
    return backend.supports(configured.language_id.toLowerCase()) ? configured : undefined;
  return DEFAULT_CANARIES.find((canary) => backend.supports(canary.language_id));
}
