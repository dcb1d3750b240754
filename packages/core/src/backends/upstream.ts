import type { IncomingHttpHeaders } from 'node:http';
import { Pool } from 'undici';

export type UpstreamResult =
  | { kind: 'response'; status: number; contentType: string | undefined; body: Buffer }
  /** `connect`: nothing reached the backend. `sent`: the request may have been processed. */
  | { kind: 'failed'; stage: 'connect' | 'sent' | 'timeout'; error: string }
  | { kind: 'aborted'; reason: AbortReason };

export type AbortReason = 'ejected' | 'client' | 'shutdown';

export interface UpstreamRequest {
  method: 'GET' | 'POST' | 'PUT' | 'HEAD';
  /** Relative to the backend's API base: `runs`, `files/<id>`, `languages`. */
  resource: string;
  headers: Record<string, string>;
  body?: Buffer | string;
  timeoutMs: number;
  signal?: AbortSignal;
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

/** One backend's keep-alive connection pool (undici) and the classification of what went wrong. */
export class Upstream {
  private readonly pool: Pool;

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

  async send(request: UpstreamRequest): Promise<UpstreamResult> {
    // undici's headersTimeout/bodyTimeout tick every ~500 ms (a 250 ms timeout fires after ~1 s): keep
    // them as a backstop and hold the configured deadline with a timer of our own.
    // One controller carries both the caller's abort and the deadline (cheaper than AbortSignal.any).
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort('timeout');
    }, request.timeoutMs);
    timer.unref();
    const onCallerAbort = () => controller.abort(request.signal?.reason);
    if (request.signal?.aborted) onCallerAbort();
    else request.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const signal = controller.signal;
    try {
      const response = await this.pool.request({
        method: request.method,
        path: `${this.apiBase}/${request.resource}`,
        headers: request.headers,
        body: request.body ?? null,
        headersTimeout: request.timeoutMs,
        bodyTimeout: request.timeoutMs,
        signal,
      });
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const chunk of response.body) {
        size += (chunk as Buffer).length;
        if (size > MAX_RESPONSE_BYTES) {
          response.body.destroy();
          return { kind: 'failed', stage: 'sent', error: `response larger than ${MAX_RESPONSE_BYTES} bytes` };
        }
        chunks.push(chunk as Buffer);
      }
      const contentType = (response.headers as IncomingHttpHeaders)['content-type'];
      return {
        kind: 'response',
        status: response.statusCode,
        contentType: Array.isArray(contentType) ? contentType[0] : contentType,
        body: Buffer.concat(chunks, size),
      };
    } catch (error) {
      if (request.signal?.aborted) {
        const reason = request.signal.reason as unknown;
        return { kind: 'aborted', reason: reason === 'ejected' || reason === 'shutdown' ? reason : 'client' };
      }
      if (timedOut)
        return { kind: 'failed', stage: 'timeout', error: `no answer within ${request.timeoutMs} ms` };
      const code = errorCode(error) ?? 'UNKNOWN';
      const message = error instanceof Error ? `${code}: ${error.message}` : code;
      if (CONNECT_ERRORS.has(code)) return { kind: 'failed', stage: 'connect', error: message };
      if (TIMEOUT_ERRORS.has(code)) return { kind: 'failed', stage: 'timeout', error: message };
      return { kind: 'failed', stage: 'sent', error: message };
    } finally {
      clearTimeout(timer);
      request.signal?.removeEventListener('abort', onCallerAbort);
    }
  }

  async close(): Promise<void> {
    await this.pool.close().catch(() => undefined);
  }

  async destroy(): Promise<void> {
    await this.pool.destroy().catch(() => undefined);
  }
}
