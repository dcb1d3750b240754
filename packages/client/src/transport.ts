import { Agent, type Dispatcher, request } from 'undici';

export interface TransportRequest {
  url: string;
  method: 'GET' | 'POST' | 'PUT';
  /** Sent with this spelling and order. */
  headers: Record<string, string>;
  body?: string;
  /** Abandon the exchange (the run was cancelled). */
  signal?: AbortSignal;
  /** The whole exchange; on expiry the result is a transport failure. */
  timeoutMs?: number;
}

export interface TransportResponse {
  /** -1 when the exchange failed at transport level (refused, reset, timeout). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  error?: Error;
}

/** Sends one HTTP exchange. Never rejects: failures come back as status -1. */
export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

export interface UndiciTransportOptions {
  /** Default 30 s, Moodle's CURLOPT_CONNECTTIMEOUT. */
  connectTimeoutMs?: number;
  /** Reuse connections (default). `false`: a new TCP connection per request, as Moodle's curl makes. */
  keepAlive?: boolean;
  /** A dispatcher of the caller's own (proxy, mock, shared pool); `connectTimeoutMs` is then ignored. */
  dispatcher?: Dispatcher;
}

/** The default transport: undici, without undici's 300 s header/body timeouts (a Jobe run may take longer). */
export function undiciTransport(
  options: UndiciTransportOptions = {},
): Transport & { close(): Promise<void> } {
  const dispatcher =
    options.dispatcher ??
    new Agent({
      connect: { timeout: options.connectTimeoutMs ?? 30_000 },
      headersTimeout: 0,
      bodyTimeout: 0,
    });
  const reset = options.keepAlive === false;
  const send: Transport = async (exchange) => {
    const signals: AbortSignal[] = [];
    if (exchange.signal) signals.push(exchange.signal);
    if (exchange.timeoutMs !== undefined) signals.push(AbortSignal.timeout(exchange.timeoutMs));
    try {
      const response = await request(exchange.url, {
        method: exchange.method,
        headers: exchange.headers,
        ...(exchange.body !== undefined ? { body: exchange.body } : {}),
        dispatcher,
        reset,
        ...(signals.length > 0 ? { signal: AbortSignal.any(signals) } : {}),
      });
      const body = await response.body.text();
      return { status: response.statusCode, headers: response.headers, body };
    } catch (error) {
      return {
        status: -1,
        headers: {},
        body: '',
        error: error instanceof Error ? error : new Error(String(error)),
      };
    }
  };
  return Object.assign(send, {
    close: async () => {
      if (!options.dispatcher) await dispatcher.close();
    },
  });
}
