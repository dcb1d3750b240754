import type { OutgoingHttpHeaders } from 'node:http';

/** What the core answers: small, fully buffered (Jobe's answers are). */
export interface JobeResponse {
  status: number;
  headers: OutgoingHttpHeaders;
  body: Buffer | string;
}

export const JSON_CONTENT_TYPE = 'application/json; charset=UTF-8';

/** Jobe's controllers answer PHP strings as JSON string literals, quotes included. */
export function jsonString(status: number, message: string): JobeResponse {
  return { status, headers: { 'content-type': JSON_CONTENT_TYPE }, body: JSON.stringify(message) };
}

export function jsonValue(status: number, value: unknown): JobeResponse {
  return { status, headers: { 'content-type': JSON_CONTENT_TYPE }, body: JSON.stringify(value) };
}

/** An empty answer: CodeIgniter sends no Content-Type with a 204, but does with an empty 404. */
export function noContent(status = 204): JobeResponse {
  return { status, headers: status === 204 ? {} : { 'content-type': JSON_CONTENT_TYPE }, body: '' };
}

/** CodeIgniter's default on every API answer; browsers (the Scratchpad's direct mode) must not cache runs. */
export const API_CACHE_CONTROL = 'no-store, max-age=0, no-cache';

export const MISSING_FILES_MESSAGE = 'One or more of the specified files is missing/unavailable';
export const SEMAPHORE_FAILURE_MESSAGE = 'Semaphore code failed in getFreeUser';

/** Jobe 2.x's overload answer, byte for byte (`run_id` is the string "0"). */
export const OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';
export const OUTCOME_OVERLOAD = 21;

export function overloadResponse(): JobeResponse {
  return { status: 200, headers: { 'content-type': JSON_CONTENT_TYPE }, body: OVERLOAD_BODY };
}

export function unknownLanguageResponse(languageId: string): JobeResponse {
  return jsonString(400, `Language '${languageId}' is not known`);
}

export const putMissingContents = (): JobeResponse => jsonString(400, 'put: missing file_contents parameter');
export const putBadBase64 = (fileId: string): JobeResponse =>
  jsonString(400, `put: contents of file ${fileId} are not valid base-64`);
/** Jobe's answer when its file cache cannot write the file (e.g. an id longer than a file name may be). */
export const putWriteFailed = (fileId: string): JobeResponse =>
  jsonString(500, `put: failed to write file ${fileId} to cache`);
/** Files::head when PHP takes the id for none ("0"); a HEAD answer, so only its status and type are seen. */
export const headMissingId = (): JobeResponse => jsonString(400, 'head: missing file ID parameter in URL');

const NOT_FOUND_HTML = `<!doctype html>
<html>
<head>
    <meta charset="utf-8">
    <title>404 - Page Not Found</title>
</head>
<body>
    <div class="wrap">
        <h1>404</h1>
        <p>Sorry! Cannot seem to find the page you were looking for.</p>
    </div>
</body>
</html>
`;

/**
 * CodeIgniter's answer when no route matches: never 405, never a redirect.
 * JSON `""` unless the client accepts HTML (production mode hides details).
 */
export function frameworkNotFound(accept: string | undefined): JobeResponse {
  if (accept?.includes('text/html')) {
    return { status: 404, headers: { 'content-type': 'text/html; charset=UTF-8' }, body: NOT_FOUND_HTML };
  }
  return { status: 404, headers: { 'content-type': JSON_CONTENT_TYPE }, body: '""' };
}

/** CodeIgniter's uncaught-exception answer (e.g. PUT with a body that is not JSON). */
export function frameworkServerError(accept: string | undefined): JobeResponse {
  if (accept?.includes('text/html')) {
    return {
      status: 500,
      headers: { 'content-type': 'text/html; charset=UTF-8' },
      body: '<!doctype html>\n<html>\n<head>\n    <meta charset="utf-8">\n    <title>Whoops!</title>\n</head>\n<body>\n    <h1>Whoops!</h1>\n    <p>We seem to have hit a snag. Please try again later...</p>\n</body>\n</html>\n',
    };
  }
  return { status: 500, headers: { 'content-type': JSON_CONTENT_TYPE }, body: '""' };
}

/** The gateway's own failures: a JSON string, like Jobe's messages, with a status CodeRunner reports as "sandbox server may be down". */
export const gatewayError = (status: 408 | 413 | 502 | 503 | 504, message: string): JobeResponse =>
  jsonString(status, message);
