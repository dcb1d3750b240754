import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type BalancerOptions,
  createBalancer as createCoreBalancer,
  type JobeBalancer,
  type Logger,
} from '@jobe-balancer/core';
import type { ResolvedConfig } from './config.js';
import { formatHost } from './host.js';
import { createJsonLogger } from './logger.js';
import { connectAffinityStore } from './redis-store.js';

export interface StartGatewayOptions {
  /** Default: JSON lines on stderr at `config.logLevel`. */
  logger?: Logger;
  metricsRegistry?: BalancerOptions['metricsRegistry'];
  /** Default: the core's `createBalancer`. */
  createBalancer?: (options: BalancerOptions) => JobeBalancer;
}

export interface CloseOptions {
  /** Called with a human-readable line for each shutdown step. */
  onStep?: (line: string) => void;
}

export interface Gateway {
  /** Base URL of the balancer's routes, e.g. `http://127.0.0.1:8080/jobe` (loopback when listening on all addresses). */
  url: string;
  server: Server;
  balancer: JobeBalancer;
  /** Graceful shutdown: stop accepting, let runs in flight finish (up to `shutdownTimeoutMs`), close. Idempotent. */
  close(options?: CloseOptions): Promise<void>;
}

// Keep-alive outlives common front proxies' idle timeouts (60 s), and the header timeout must exceed
// keep-alive. Node's requestTimeout (requestReceiveTimeoutMs) ends once the request is received, so it
// bounds a client that trickles its body (and the share of bodyMemoryBytes it holds), never a long run.
const KEEP_ALIVE_TIMEOUT_MS = 65_000;
const HEADERS_TIMEOUT_MS = 66_000;

/** Node's server timeouts; its check runs every connectionsCheckingInterval (30 s by default). */
function serverTimeouts(requestTimeout: number) {
  return {
    keepAliveTimeout: KEEP_ALIVE_TIMEOUT_MS,
    requestTimeout,
    // Node refuses a header timeout above a (non-zero) request timeout.
    headersTimeout: requestTimeout > 0 ? Math.min(HEADERS_TIMEOUT_MS, requestTimeout) : HEADERS_TIMEOUT_MS,
    // A quarter of the limit, so that a short one is enforced near its value; Node's 30 s at most.
    connectionsCheckingInterval:
      requestTimeout > 0 ? Math.min(30_000, Math.max(100, Math.floor(requestTimeout / 4))) : 30_000,
  };
}
/** How long finished responses get to flush before the remaining connections are cut. */
const FLUSH_GRACE_MS = 2_000;

/** The path the balancer sees (relative to `basePath`, with the query string), or `undefined` outside it. */
export function pathUnder(basePath: string, url: string): string | undefined {
  if (basePath === '/') return url;
  const query = url.indexOf('?');
  const pathname = query === -1 ? url : url.slice(0, query);
  const search = query === -1 ? '' : url.slice(query);
  if (pathname === basePath) return `/${search}`;
  if (pathname.startsWith(`${basePath}/`)) return pathname.slice(basePath.length) + search;
  return undefined;
}

/** Jobe's framework 404 for clients that do not ask for HTML: the JSON string `""`. */
function notFound(res: ServerResponse): void {
  res.writeHead(404, { 'content-type': 'application/json; charset=UTF-8', 'content-length': '2' });
  res.end('""');
}

function isWildcard(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]';
}

function toBalancerOptions(
  config: ResolvedConfig,
  options: StartGatewayOptions,
  logger: Logger,
): BalancerOptions {
  const {
    port,
    host,
    basePath,
    shutdownTimeoutMs,
    requestReceiveTimeoutMs,
    logLevel,
    redisUrl,
    ...balancerOptions
  } = config;
  return {
    ...balancerOptions,
    logger,
    ...(options.metricsRegistry === undefined ? {} : { metricsRegistry: options.metricsRegistry }),
  };
}

function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Starts the balancer behind a node:http server. */
export async function startGateway(
  config: ResolvedConfig,
  options: StartGatewayOptions = {},
): Promise<Gateway> {
  const logger = options.logger ?? createJsonLogger({ level: config.logLevel });
  const shared =
    config.redisUrl === undefined ? undefined : await connectAffinityStore(config.redisUrl, logger);
  const balancerOptions = toBalancerOptions(config, options, logger);
  if (shared) balancerOptions.affinityStore = shared.store;
  const balancer = (options.createBalancer ?? createCoreBalancer)(balancerOptions);
  const pending = new Set<ServerResponse>();
  let closing = false;

  const server = createServer(
    serverTimeouts(config.requestReceiveTimeoutMs),
    (req: IncomingMessage, res: ServerResponse) => {
      const path = pathUnder(config.basePath, req.url ?? '/');
      if (closing) res.setHeader('connection', 'close');
      if (path === undefined) {
        notFound(res);
        return;
      }
      pending.add(res);
      res.once('close', () => pending.delete(res));
      balancer.handle(req, res, { path }).catch((error: unknown) => {
        // `handle` never rejects by contract; this is the last line of defence.
        logger.error({ err: error, url: req.url }, 'balancer.handle rejected');
        if (res.headersSent) {
          res.end();
          return;
        }
        // Jobe's framework 500 for API clients: the JSON string "".
        res.writeHead(500, { 'content-type': 'application/json; charset=UTF-8' });
        res.end('""');
      });
    },
  );

  try {
    await listen(server, config.port, config.host);
  } catch (error) {
    await balancer.close(0);
    await shared?.close();
    const reason = error instanceof Error ? error.message : String(error);
    throw new Error(`cannot listen on ${formatHost(config.host)}:${config.port}: ${reason}`, {
      cause: error,
    });
  }
  const { port } = server.address() as AddressInfo;
  const urlHost = isWildcard(config.host) ? '127.0.0.1' : formatHost(config.host);
  const url = `http://${urlHost}:${port}${config.basePath === '/' ? '' : config.basePath}`;

  let closed: Promise<void> | undefined;
  const close = (closeOptions: CloseOptions = {}): Promise<void> => {
    closed ??= (async () => {
      const step = closeOptions.onStep ?? (() => {});
      closing = true;
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Connections that stay open for runs in flight close after their response.
      for (const res of pending) if (!res.headersSent) res.setHeader('connection', 'close');
      server.closeIdleConnections();
      step('stopped accepting new connections');
      step(
        `waiting for ${balancer.inFlightTotal()} run(s) in flight to finish (up to ${config.shutdownTimeoutMs} ms)`,
      );
      // A core that fails to honour its own timeout must not keep the process up forever.
      let giveUp: NodeJS.Timeout | undefined;
      const gaveUp = new Promise<'timeout'>((resolve) => {
        giveUp = setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs + FLUSH_GRACE_MS);
      });
      const outcome = await Promise.race([balancer.close(config.shutdownTimeoutMs), gaveUp]);
      clearTimeout(giveUp);
      step(
        outcome === 'timeout'
          ? 'the balancer did not close in time; cutting the remaining connections'
          : 'runs in flight finished; balancer closed',
      );
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), FLUSH_GRACE_MS);
      await serverClosed;
      clearTimeout(cut);
      await shared?.close();
      step('server closed');
    })();
    return closed;
  };

  return { url, server, balancer, close };
}
