/**
 * Wire-level helpers shared by the test clients: one HTTP exchange per new TCP connection (as Moodle's curl and
 * Python's http.client do), and the two JSON encoders whose exact bytes the real clients send.
 */

import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import * as http from 'node:http';
import * as https from 'node:https';
import * as zlib from 'node:zlib';

export interface WireRequest {
  url: string;
  method: string;
  /** Sent with the given spelling and order. */
  headers: OutgoingHttpHeaders;
  body?: string | Buffer;
  /** Whole exchange; on expiry the result is a transport failure. Default: none (Moodle sets no total timeout). */
  timeoutMs?: number;
  /** Default 30 s, Moodle's CURLOPT_CONNECTTIMEOUT. */
  connectTimeoutMs?: number;
  /**
   * Like libcurl: bodies larger than this get `Expect: 100-continue` and are sent on `100 Continue` or after 1 s
   * without an answer. Default: never.
   */
  expectContinueOver?: number;
  /** Undo a gzip/deflate/br Content-Encoding, as libcurl does with CURLOPT_ENCODING ''. */
  decompress?: boolean;
}

export interface WireResponse {
  /** -1 when the exchange failed at transport level (refused, reset, timeout, undecodable body). */
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
  error?: Error;
}

/** libcurl's EXPECT_100_THRESHOLD (1 MiB) and its default expect_100_timeout_ms. */
export const CURL_EXPECT_100_THRESHOLD = 1024 * 1024;
const CURL_EXPECT_100_TIMEOUT_MS = 1000;

export interface PartialRequest {
  /** Writes the rest of the body and ends the request. */
  finish(): void;
  /** Drops the connection mid-body. */
  abort(): void;
  /** Status once answered (-1 if the connection closed first). */
  status: Promise<number>;
  /** The whole answer, once answered (status -1 if the connection closed first). */
  response: Promise<WireResponse>;
  /** Resolves when the gateway (or the client) has closed the connection. */
  closed: Promise<void>;
  answered(): boolean;
}

/**
 * A request on a fresh TCP connection whose headers and first `sentBytes` of body go out now, the rest only
 * on `finish()`: a slow or idle client. `declaredLength` (default the body's length) is the Content-Length
 * sent; with `chunked` none is. With `keepAlive` the client asks to keep the connection, so that a close
 * is the server's doing.
 */
export function startRequest(
  url: string,
  method: 'PUT' | 'POST',
  body: Buffer,
  sentBytes: number,
  {
    chunked = false,
    declaredLength = body.length,
    keepAlive = false,
  }: { chunked?: boolean; declaredLength?: number; keepAlive?: boolean } = {},
): PartialRequest {
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (!chunked) headers['Content-Length'] = declaredLength;
  if (keepAlive) headers['Connection'] = 'keep-alive';
  const req = http.request(url, { method, headers, agent: false });
  let done = false;
  const response = new Promise<WireResponse>((resolve) => {
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => {
        done = true;
        resolve({ status: res.statusCode ?? -1, headers: res.headers, body: Buffer.concat(chunks) });
      });
    });
    req.on('error', (error) => {
      done = true;
      resolve({ status: -1, headers: {}, body: Buffer.alloc(0), error });
    });
  });
  const closed = new Promise<void>((resolve) => {
    req.on('socket', (socket) => socket.once('close', () => resolve()));
  });
  req.flushHeaders();
  if (sentBytes > 0) req.write(body.subarray(0, sentBytes));
  return {
    finish: () => req.end(body.subarray(sentBytes)),
    abort: () => req.destroy(),
    status: response.then((answer) => answer.status),
    response,
    closed,
    answered: () => done,
  };
}

/** One request on a fresh TCP connection (`agent: false`, so `Connection: close`); never rejects. */
export function sendOnNewConnection(request: WireRequest): Promise<WireResponse> {
  return new Promise((resolve) => {
    let settled = false;
    const timers: NodeJS.Timeout[] = [];
    const finish = (response: WireResponse): void => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve(response);
    };
    const fail = (error: Error): void => finish({ status: -1, headers: {}, body: Buffer.alloc(0), error });

    let url: URL;
    try {
      url = new URL(request.url);
    } catch (error) {
      fail(error as Error);
      return;
    }
    const body = request.body === undefined ? undefined : Buffer.from(request.body);
    const headers: OutgoingHttpHeaders = { ...request.headers };
    const awaitContinue =
      body !== undefined && body.length > (request.expectContinueOver ?? Number.POSITIVE_INFINITY);
    if (awaitContinue) headers['Expect'] = '100-continue';

    const transport = url.protocol === 'https:' ? https : http;
    const req = transport.request(url, {
      method: request.method,
      headers,
      agent: false,
      // Moodle's curl does not verify certificates (CURLOPT_SSL_VERIFYPEER = 0).
      ...(url.protocol === 'https:' ? { rejectUnauthorized: false } : {}),
    });

    let bodySent = false;
    const sendBody = (): void => {
      if (bodySent) return;
      bodySent = true;
      req.end(body);
    };

    req.on('error', fail);
    req.on('socket', (socket) => {
      const connectTimer = setTimeout(
        () => req.destroy(new Error('connect timeout')),
        request.connectTimeoutMs ?? 30_000,
      );
      timers.push(connectTimer);
      socket.once('connect', () => clearTimeout(connectTimer));
      socket.once('secureConnect', () => clearTimeout(connectTimer));
    });
    if (request.timeoutMs !== undefined) {
      timers.push(setTimeout(() => req.destroy(new Error('request timeout')), request.timeoutMs));
    }
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        let received: Buffer = Buffer.concat(chunks);
        try {
          if (request.decompress) received = decode(received, res.headers['content-encoding']);
        } catch (error) {
          fail(error as Error);
          return;
        }
        finish({ status: res.statusCode ?? -1, headers: res.headers, body: received });
        // A final answer before `100 Continue` means the body will never be wanted.
        if (!bodySent) req.destroy();
      });
    });

    if (awaitContinue) {
      req.flushHeaders();
      req.on('continue', sendBody);
      timers.push(setTimeout(sendBody, CURL_EXPECT_100_TIMEOUT_MS));
    } else {
      sendBody();
    }
  });
}

function decode(body: Buffer, encoding: string | undefined): Buffer {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

/** JSON text if the body parses, otherwise undefined. */
export function parseJsonOrUndefined(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** PHP's `json_encode($value)` with default flags: what CodeRunner sends, as the client writes it. */
export { phpJsonEncode } from '@jobe-balancer/client';

/** JSON.stringify escapes as Python does below 0x7f; `ensure_ascii` also escapes DEL and everything above. */
function pythonString(text: string): string {
  return JSON.stringify(text).replace(
    /[\u007f-\uffff]/g,
    (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Python's `json.dumps(value)` with default arguments (`ensure_ascii`, `', '` and `': '` separators). */
export function pythonJsonDumps(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError(`cannot encode ${value} as JSON`);
    return JSON.stringify(value);
  }
  if (typeof value === 'string') return pythonString(value);
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value).filter(([, item]) => item !== undefined);
    return `{${entries.map(([key, item]) => `${pythonString(key)}: ${pythonJsonDumps(item)}`).join(', ')}}`;
  }
  throw new TypeError(`cannot encode a ${typeof value} as JSON`);
}
