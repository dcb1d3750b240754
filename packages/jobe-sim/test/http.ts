/** Plain node:http client for the simulator tests: one request per new connection, raw body kept. */
import * as http from 'node:http';

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body as UTF-8 text, byte for byte what the server sent. */
  body: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string | number>;
  body?: string | Buffer;
  /** Give up after this long; the promise then rejects with code 'CLIENT_TIMEOUT'. */
  timeoutMs?: number;
}

export const JSON_TYPE = 'application/json; charset=UTF-8';
export const PREFIXES = ['/jobe/index.php/restapi', '/index.php/restapi', '/restapi'] as const;

export function request(url: string, options: RequestOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (options.timeoutMs !== undefined) {
      req.setTimeout(options.timeoutMs, () => {
        req.destroy(Object.assign(new Error('client timeout'), { code: 'CLIENT_TIMEOUT' }));
      });
    }
    req.end(options.body);
  });
}

/** POST runs with `{"run_spec": runSpec}` (or a raw body when given a string). */
export function postRun(
  baseUrl: string,
  runSpec: Record<string, unknown> | string,
  extra: RequestOptions = {},
): Promise<Reply> {
  const body = typeof runSpec === 'string' ? runSpec : JSON.stringify({ run_spec: runSpec });
  return request(`${baseUrl}/jobe/index.php/restapi/runs`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' },
    body,
    ...extra,
  });
}

export function putFile(baseUrl: string, fileId: string, contents: string | Buffer): Promise<Reply> {
  return request(`${baseUrl}/jobe/index.php/restapi/files/${fileId}`, {
    method: 'PUT',
    headers: { 'Content-Type': 'application/json; charset=utf-8' },
    body: JSON.stringify({ file_contents: Buffer.from(contents).toString('base64') }),
  });
}

/** The JSON string literal Jobe sends for a message. */
export function jsonMessage(message: string): string {
  return JSON.stringify(message);
}

export function resultJson(outcome: number, stdout = '', stderr = '', cmpinfo = ''): string {
  return JSON.stringify({ run_id: null, outcome, cmpinfo, stdout, stderr });
}

/** Resolves with the time (ms since `start`) at which the promise settled, and its outcome. */
export async function timed<T>(promise: Promise<T>, start: number): Promise<{ at: number; value: T }> {
  const value = await promise;
  return { at: performance.now() - start, value };
}

export function errorCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}
