/** CodeRunner's sandbox error for a run's final answer (qtype_coderunner_sandbox constants). */
export type JobeErrorCode =
  | 'SERVER_OVERLOAD'
  | 'JOBE_400_ERROR'
  | 'SUBMISSION_LIMIT_EXCEEDED'
  | 'AUTH_ERROR'
  | 'UNKNOWN_SERVER_ERROR';

/**
 * CodeRunner's mapping of a final HTTP status: 400, 401 and 403 have their own errors, everything else that
 * is not 200/203 is an unknown server error. Like CodeRunner, 202 and 204 count as OK (with no result).
 */
export function errorForStatus(status: number): JobeErrorCode | null {
  switch (status) {
    case 200:
    case 202:
    case 203:
    case 204:
      return null;
    case 400:
      return 'JOBE_400_ERROR';
    case 401:
      return 'SUBMISSION_LIMIT_EXCEEDED';
    case 403:
      return 'AUTH_ERROR';
    default:
      return 'UNKNOWN_SERVER_ERROR';
  }
}

/** A run Jobe (or the way to it) did not complete. `httpStatus` is -1 for a transport failure. */
export class JobeError extends Error {
  override name = 'JobeError';
  constructor(
    readonly code: JobeErrorCode,
    readonly httpStatus: number,
    /** The final answer's body as text ('' for a transport failure). */
    readonly body: string,
    readonly jobId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Outcome 21: no Jobe worker was free. Nothing ran; trying again later is safe. */
export class JobeOverloadError extends JobeError {
  override name = 'JobeOverloadError';
}

/** HTTP 400: Jobe refused the run_spec (unknown language, cputime too large, bad file specifier...). */
export class JobeBadRequestError extends JobeError {
  override name = 'JobeBadRequestError';
}

/** HTTP 401: Jobe V1's per-key rate limit. */
export class JobeSubmissionLimitError extends JobeError {
  override name = 'JobeSubmissionLimitError';
}

/** HTTP 403: missing or unknown API key. */
export class JobeAuthError extends JobeError {
  override name = 'JobeAuthError';
}

/** Any other status, a 200 without a result, or a 404 left after the upload cycle. */
export class JobeServerError extends JobeError {
  override name = 'JobeServerError';
}

/** The request never got an answer: refused, reset, timed out. */
export class JobeTransportError extends JobeServerError {
  override name = 'JobeTransportError';
}

const MESSAGES: Record<JobeErrorCode, string> = {
  SERVER_OVERLOAD: 'Job could not be run due to server overload',
  JOBE_400_ERROR: 'Jobe refused the run',
  SUBMISSION_LIMIT_EXCEEDED: 'Jobe submission limit exceeded',
  AUTH_ERROR: 'Jobe refused the API key',
  UNKNOWN_SERVER_ERROR: 'Unexpected error from the Jobe server',
};

export function jobeError(
  code: JobeErrorCode,
  httpStatus: number,
  body: string,
  jobId: string,
  cause?: Error,
): JobeError {
  const detail =
    httpStatus === -1 ? `transport failure: ${cause?.message ?? 'unknown'}` : `HTTP ${httpStatus}`;
  const message = `${MESSAGES[code]} (${detail}${body !== '' ? `: ${body.slice(0, 200)}` : ''})`;
  const options = cause === undefined ? undefined : { cause };
  switch (code) {
    case 'SERVER_OVERLOAD':
      return new JobeOverloadError(code, httpStatus, body, jobId, message, options);
    case 'JOBE_400_ERROR':
      return new JobeBadRequestError(code, httpStatus, body, jobId, message, options);
    case 'SUBMISSION_LIMIT_EXCEEDED':
      return new JobeSubmissionLimitError(code, httpStatus, body, jobId, message, options);
    case 'AUTH_ERROR':
      return new JobeAuthError(code, httpStatus, body, jobId, message, options);
    case 'UNKNOWN_SERVER_ERROR':
      return httpStatus === -1
        ? new JobeTransportError(code, httpStatus, body, jobId, message, options)
        : new JobeServerError(code, httpStatus, body, jobId, message, options);
  }
}
