import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export const LANGUAGES: Array<[string, string]> = [
  ['c', '11.4.0'],
  ['python3', '3.10.12'],
];

export interface TinyJobeOptions {
  /** How long a run takes (default 0). */
  runMs?: number;
  /** Runs wait for `release()` instead of a timer. */
  holdRuns?: boolean;
  /** Body of `GET languages` (default: LANGUAGES). */
  languagesBody?: string;
  languagesStatus?: number;
}

/** A minimal Jobe 2.x: languages, runs that echo their stdin, 204 file PUTs. Enough for the gateway's tests. */
export interface TinyJobe {
  url: string;
  server: Server;
  /** Runs received and not yet answered. */
  inFlight(): number;
  runsReceived(): number;
  /** Resolves once `count` runs are in flight at the same time; rejects after `timeoutMs` (default 10 s). */
  waitForInFlight(count: number, timeoutMs?: number): Promise<void>;
  /** Answers every held run. */
  release(): void;
  close(): Promise<void>;
}

export async function startTinyJobe(options: TinyJobeOptions = {}): Promise<TinyJobe> {
  let inFlight = 0;
  let received = 0;
  const held: Array<() => void> = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  const notify = (): void => {
    for (const waiter of [...waiters]) {
      if (inFlight >= waiter.count) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    }
  };

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const path = (req.url ?? '').replace(/\/+$/, '');
      const json = (status: number, body: string): void => {
        res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' });
        res.end(body);
      };
      if (req.method === 'GET' && path === '/jobe/index.php/restapi/languages') {
        json(options.languagesStatus ?? 200, options.languagesBody ?? JSON.stringify(LANGUAGES));
        return;
      }
      if (req.method === 'PUT' && path.startsWith('/jobe/index.php/restapi/files/')) {
        res.writeHead(204).end();
        return;
      }
      if (req.method === 'POST' && path === '/jobe/index.php/restapi/runs') {
        const { run_spec: runSpec } = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          run_spec: { input?: string };
        };
        received++;
        inFlight++;
        notify();
        const answer = (): void => {
          inFlight--;
          const result = { run_id: null, outcome: 15, cmpinfo: '', stdout: runSpec.input ?? '', stderr: '' };
          json(200, JSON.stringify(result));
        };
        if (options.holdRuns) held.push(answer);
        else setTimeout(answer, options.runMs ?? 0);
        return;
      }
      json(404, '""');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    server,
    inFlight: () => inFlight,
    runsReceived: () => received,
    waitForInFlight: (count, timeoutMs = 10_000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(
            new Error(`only ${inFlight} of ${count} runs in flight at the backend after ${timeoutMs} ms`),
          );
        }, timeoutMs);
        const waiter = {
          count,
          resolve: () => {
            clearTimeout(timer);
            resolve();
          },
        };
        waiters.push(waiter);
        notify();
      }),
    release: () => {
      for (const answer of held.splice(0)) answer();
    },
    close: async () => {
      for (const answer of held.splice(0)) answer();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
