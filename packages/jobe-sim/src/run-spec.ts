/**
 * Validation of a decoded `POST runs` body in the order of Jobe's RunSpecifier constructor
 * (app/Libraries/RunSpecifier.php), including the PHP errors that its code raises on odd input.
 */
import { MESSAGES } from './bodies.js';
import {
  assignBoolProperty,
  assignStringProperty,
  isPhpObject,
  issetProperty,
  PhpThrowable,
  phpIntval,
  phpPrintR,
  phpTypeName,
} from './php-values.js';
import type { RunSpec } from './types.js';

/** Jobe's JobException: answered with its own status and message. */
export class JobError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export interface ValidRun {
  sourcecode: string;
  languageId: string;
  input: string;
  debug: boolean;
  /** '' means the language default. */
  sourcefilename: string;
  /** `[file id, file name]` pairs in file_list order. */
  files: Array<[string, string]>;
  runSpec: RunSpec;
}

const MIN_FILE_IDENTIFIER_SIZE = 8;
const ALNUM = /^[A-Za-z0-9]+$/;
// Bytes RunSpecifier::isValidSourceFilename replaces: reserved, control, DEL, NBSP/soft-hyphen bytes (the regex
// has no /u flag, so 0xA0 and 0xAD match inside multi-byte characters too), URI-reserved and URL-unsafe. Its
// `\\|` is an escaped '|', so a backslash is allowed.
const FILENAME_BAD_BYTES = new Set<number>([
  ...Array.from({ length: 0x20 }, (_, i) => i),
  0x7f,
  0xa0,
  0xad,
  ...Array.from('<>:"/|?*#[]@!$&\'()+,;={}^~`', (c) => c.charCodeAt(0)),
]);

function isValidSourceFilename(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('-')) return false;
  for (const byte of Buffer.from(name, 'utf8')) if (FILENAME_BAD_BYTES.has(byte)) return false;
  return true;
}

/** The sourcefilename check applied to a value of any JSON type, with the errors PHP would raise. */
function checkSourceFilename(value: unknown): string {
  if (typeof value === 'string') {
    if (!isValidSourceFilename(value)) throw new JobError(MESSAGES.illegalSourceFilename, 400);
    return value;
  }
  if (Array.isArray(value)) {
    // preg_replace converts each element to a string, then ltrim() refuses the array it returns.
    for (const item of value) {
      if (Array.isArray(item)) throw new PhpThrowable('Array to string conversion');
      if (isPhpObject(item))
        throw new PhpThrowable('Object of class stdClass could not be converted to string');
    }
    throw new PhpThrowable('ltrim(): Argument #1 ($string) must be of type string, array given');
  }
  if (isPhpObject(value)) {
    throw new PhpThrowable(
      'preg_replace(): Argument #3 ($subject) must be of type array|string, stdClass given',
    );
  }
  // A number or boolean is converted for preg_replace, but then differs from the original under `===`.
  throw new JobError(MESSAGES.illegalSourceFilename, 400);
}

function isValidFilespec(file: unknown): file is [string, string] | [string, string, unknown] {
  if (!Array.isArray(file)) {
    throw new PhpThrowable(
      `count(): Argument #1 ($value) must be of type Countable|array, ${phpTypeName(file)} given`,
    );
  }
  if (file.length !== 2 && file.length !== 3) return false;
  const [fileId, fileName] = file as unknown[];
  return (
    typeof fileId === 'string' &&
    typeof fileName === 'string' &&
    fileId.length >= MIN_FILE_IDENTIFIER_SIZE &&
    ALNUM.test(fileId) &&
    fileName.length > 0 &&
    ALNUM.test(fileName.replace(/[-_.]/g, ''))
  );
}

/** The elements `foreach` visits: an array's items or an object's property values. */
function foreachValues(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (isPhpObject(value)) return Object.values(value);
  throw new PhpThrowable(`foreach() argument must be of type array|object, ${phpTypeName(value)} given`);
}

/**
 * new RunSpecifier($json). Throws JobError (400) or PhpThrowable (500) exactly where Jobe would.
 * `languages` maps the (lower-case) language ids this server knows.
 */
export function parseRunSpec(
  json: unknown,
  languages: ReadonlyMap<string, string>,
  cputimeLimit: number,
): ValidRun {
  if (!isPhpObject(json)) throw new JobError(MESSAGES.nonJsonPostData, 400);
  if (!Object.hasOwn(json, 'run_spec')) throw new PhpThrowable('Undefined property: stdClass::$run_spec');
  const run = json['run_spec'];
  if (!isPhpObject(run)) throw new JobError(MESSAGES.noRunSpec, 400);

  if (!issetProperty(run, 'sourcecode')) throw new JobError(MESSAGES.missingAttribute('sourcecode'), 400);
  const sourcecode = assignStringProperty(run['sourcecode'], 'sourcecode');
  if (!issetProperty(run, 'language_id')) throw new JobError(MESSAGES.missingAttribute('language_id'), 400);
  // strtolower is ASCII-only.
  const languageId = assignStringProperty(run['language_id'], 'language_id').replace(/[A-Z]+/g, (s) =>
    s.toLowerCase(),
  );
  if (!languages.has(languageId)) throw new JobError(MESSAGES.unknownLanguage(languageId), 400);

  const input = issetProperty(run, 'input') ? assignStringProperty(run['input'], 'input') : '';
  const debug = issetProperty(run, 'debug') ? assignBoolProperty(run['debug'], 'debug') : false;

  const parameters = run['parameters'];
  if (isPhpObject(parameters) && issetProperty(parameters, 'cputime')) {
    if (phpIntval(parameters['cputime']) > cputimeLimit)
      throw new JobError(MESSAGES.cputimeTooLarge(cputimeLimit), 400);
  }

  let sourcefilename = '';
  if (issetProperty(run, 'sourcefilename')) {
    const name = checkSourceFilename(run['sourcefilename']);
    // Jobe ignores 'prog.java', a legacy CodeRunner default that is almost always wrong.
    if (name !== 'prog.java') sourcefilename = name;
  }

  const files: Array<[string, string]> = [];
  if (issetProperty(run, 'file_list')) {
    for (const file of foreachValues(run['file_list'])) {
      if (!isValidFilespec(file)) throw new JobError(MESSAGES.invalidFileSpecifier(phpPrintR(file)), 400);
      files.push([file[0], file[1]]);
    }
  }

  return { sourcecode, languageId, input, debug, sourcefilename, files, runSpec: run as RunSpec };
}
