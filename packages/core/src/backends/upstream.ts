import type { Dispatcher, Pool as UndiciPool } from 'undici';
import { type Cancellation, type CancelReason, noop } from '../cancellation.js';
import { Pool } from '../deps.js';

export type UpstreamResult =
  | { kind: 'response'; status: number; contentType: string | undefined; body: Buffer }
  /** `connect`: nothing reached the backend. `sent`: the request may have been processed. */
  | { kind: 'failed'; stage: 'connect' | 'sent' | 'timeout'; error: string }
  | { kind: 'aborted'; reason: CancelReason };

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'HEAD';
  /** Relative to the backend's API base: `runs`, `files/<id>`, `languages`. */
  resource: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  timeoutMs: number;
  cancellation?: Cancellation;
}

const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);
const TIMEOUT_ERRORS = new Set(['UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);
/** Jobe's answers are small; this only stops a broken backend from filling the gateway's memory. */
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined;
  const { code, cause } = error as { code?: unknown; cause?: unknown };
  if (typeof code === 'string') return code;
  return errorCode(cause);
}

/** Marks an abort the gateway itself asked for (deadline, client gone, ejection). */
class CancelledError extends Error {
  override readonly name = 'CancelledError';
}

function classifyError(error: unknown): UpstreamResult {
  const code = errorCode(error) ?? 'UNKNOWN';
  const message = error instanceof Error ? `${code}: ${error.message}` : code;
  if (CONNECT_ERRORS.has(code)) return { kind: 'failed', stage: 'connect', error: message };
  if (TIMEOUT_ERRORS.has(code)) return { kind: 'failed', stage: 'timeout', error: message };
  return { kind: 'failed', stage: 'sent', error: message };
}

/** One backend's keep-alive connection pool (undici) and the classification of what went wrong. */
export class Upstream {
  private readonly pool: UndiciPool;

  constructor(
    origin: string,
    private readonly apiBase: string,
    connectTimeoutMs: number,
  ) {
    // Apache's default KeepAliveTimeout is 5 s: give idle sockets up before Jobe does.
    this.pool = new Pool(origin, {
      connectTimeout: connectTimeoutMs,
      keepAliveTimeout: 4_000,
      pipelining: 1,
    });
  }

  /**
   * One request through undici's dispatch API: the response body is collected straight from the
   * handler's chunks, without the Readable stream and AbortSignal plumbing of `pool.request`, which
   * cost more CPU per run than the rest of the upstream path.
   */
  send(request: UpstreamRequest): Promise<UpstreamResult> {
    return new Promise<UpstreamResult>((resolve) => {
      const cancellation = request.cancellation;
      let undiciController: Dispatcher.DispatchController | null = null;
      let settled = false;
      const chunks: Buffer[] = [];
      let size = 0;
      let status = 0;
      let contentType: string | undefined;

      const settle = (result: UpstreamResult, cancelReason?: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        stopFollowing();
        resolve(result);
        if (cancelReason !== undefined) undiciController?.abort(new CancelledError(cancelReason));
      };
      const onCancel = (reason: CancelReason) => {
        settle({ kind: 'aborted', reason }, 'cancelled by the gateway');
      };
      // undici's headersTimeout/bodyTimeout tick every ~500 ms (a 250 ms timeout fires after ~1 s): keep
      // them as a backstop and hold the configured deadline with a timer of our own.
      const timer = setTimeout(() => {
        settle(
          { kind: 'failed', stage: 'timeout', error: `no answer within ${request.timeoutMs} ms` },
          'deadline',
        );
      }, request.timeoutMs);
      timer.unref();
      let stopFollowing = noop;
      if (cancellation) stopFollowing = cancellation.onCancel(onCancel);
      if (settled) return;

      const handler: Dispatcher.DispatchHandler = {
        onRequestStart(controller) {
          undiciController = controller;
          // Settled while the request waited for a connection: it must not reach the backend now.
          if (settled) controller.abort(new CancelledError('settled before it was sent'));
        },
        onResponseStart(_controller, statusCode, headers) {
          status = statusCode;
          const type = headers['content-type'];
          contentType = Array.isArray(type) ? type[0] : type;
        },
        onResponseData(controller, chunk) {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            settle({
              kind: 'failed',
              stage: 'sent',
              error: `response larger than ${MAX_RESPONSE_BYTES} bytes`,
            });
            controller.abort(new CancelledError('response too large'));
            return;
          }
          chunks.push(chunk);
        },
        onResponseEnd() {
          settle({
            kind: 'response',
            status,
            contentType,
            body: chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size),
          });
        },
        onResponseError(_controller, error) {
          settle(classifyError(error));
        },
      };
      this.pool.dispatch(
        {
          method: request.method,
          path: `${this.apiBase}/${request.resource}`,
          headers: request.headers,
          body: request.body ?? null,
          headersTimeout: request.timeoutMs,
          bodyTimeout: request.timeoutMs,
        },
        handler,
      );
    });
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}
