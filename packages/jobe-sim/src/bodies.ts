/**
 * Jobe's exact messages and bodies (trampgeek/jobe app/Libraries/RunSpecifier.php, app/Controllers/Runs.php,
 * app/Controllers/Files.php, app/Libraries/LanguageTask.php), and the JSON encoding CodeIgniter applies to them.
 */

export const JSON_CONTENT_TYPE = 'application/json; charset=UTF-8';
export const HTML_CONTENT_TYPE = 'text/html; charset=UTF-8';
/** CodeIgniter's Response sets this on every response. */
export const CACHE_CONTROL = 'no-store, max-age=0, no-cache';

/** The overload result: the integer 0 run_id becomes "0" through ResultObject's ?string property. */
export const OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';
/** Source code that makes Jobe report overload at once, after the file_list check. */
export const OVERLOAD_TEST_SOURCECODE = '!** TESTING OVERLOAD EXCEPTION **!';

export const OUTCOME = {
  compilationError: 11,
  runtimeError: 12,
  timeLimit: 13,
  success: 15,
  memoryLimit: 17,
  illegalSyscall: 19,
  internalError: 20,
  serverOverload: 21,
} as const;

export const MESSAGES = {
  nonJsonPostData: 'Non-JSON post data received',
  noRunSpec: 'No run_spec attribute found in post data',
  missingAttribute: (attr: 'sourcecode' | 'language_id') =>
    `run_spec is missing the required attribute '${attr}'`,
  unknownLanguage: (languageId: string) => `Language '${languageId}' is not known`,
  cputimeTooLarge: (limit: number) => `cputime exceeds maximum allowed on this Jobe server (${limit} secs)`,
  illegalSourceFilename: 'The sourcefilename for the run_spec is illegal',
  invalidFileSpecifier: (printR: string) => `Invalid file specifier: ${printR}`,
  missingFiles: 'One or more of the specified files is missing/unavailable',
  serverException: (phpMessage: string) => `Server exception (${phpMessage})`,
  invalidJson: (jsonError: string) => `Failed to parse JSON string. Error: ${jsonError}`,
  semaphoreFailed: 'Semaphore code failed in getFreeUser',
  putMissingContents: 'put: missing file_contents parameter',
  putNotBase64: (fileId: string) => `put: contents of file ${fileId} are not valid base-64`,
  putWriteFailed: (fileId: string) => `put: failed to write file ${fileId} to cache`,
  headMissingId: 'head: missing file ID parameter in URL',
} as const;

const HAS_LINE_TERMINATOR = /[\u2028\u2029]/;
const LINE_TERMINATORS = /[\u2028\u2029]/g;

/**
 * PHP json_encode with JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES. JSON.stringify agrees on well-formed
 * strings except that PHP still escapes U+2028 and U+2029 (there is no JSON_UNESCAPED_LINE_TERMINATORS).
 */
export function phpJsonEncode(value: unknown): string {
  const json = JSON.stringify(value);
  return HAS_LINE_TERMINATOR.test(json)
    ? json.replace(LINE_TERMINATORS, (c) => (c === '\u2028' ? '\\u2028' : '\\u2029'))
    : json;
}

/** The body of a ResultObject response, keys in Jobe's order. */
export function resultBody(
  runId: string | null,
  outcome: number,
  cmpinfo: string,
  stdout: string,
  stderr: string,
): string {
  return (
    `{"run_id":${runId === null ? 'null' : phpJsonEncode(runId)},"outcome":${outcome}` +
    `,"cmpinfo":${phpJsonEncode(cmpinfo)},"stdout":${phpJsonEncode(stdout)},"stderr":${phpJsonEncode(stderr)}}`
  );
}

/** CodeIgniter's production 404 page (app/Views/errors/html/error_404.php), in short. */
export const HTML_404_PAGE = `<!DOCTYPE html>
<html lang="en">
<head>
    <meta charset="utf-8">
    <title>404 - Page Not Found</title>
</head>
<body>
    <div class="wrap">
        <h1>404</h1>
        <p>
            Sorry! Cannot seem to find the page you were looking for.
        </p>
    </div>
</body>
</html>
`;

/** CodeIgniter's production error page (app/Views/errors/html/production.php), in short. */
export const HTML_500_PAGE = `<!doctype html>
<html>
<head>
    <meta charset="UTF-8">
    <meta name="robots" content="noindex">
    <title>Whoops!</title>
</head>
<body>
    <div class="container text-center">
        <h1 class="headline">Whoops!</h1>
        <p class="lead">We seem to have hit a snag. Please try again later...</p>
    </div>
</body>
</html>
`;
