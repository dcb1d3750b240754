import { once } from 'node:events';
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import {
  type BalancerOptions,
  type HandleOptions,
  type JobeBalancer,
  RedisAffinityStore,
} from '@jobe-balancer/core';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig, type ResolvedConfig } from '../src/config.js';
import { type Gateway, pathUnder, startGateway } from '../src/gateway.js';
import { createJsonLogger } from '../src/logger.js';

/**
 * A stand-in for the core, so that the gateway's own job (routing under basePath, server settings,
 * graceful shutdown) is tested without depending on the balancer. It answers `{ path }`, slowly for `/slow`.
 */
class StandInBalancer {
  readonly paths: string[] = [];
  readonly inFlight = new Set<Promise<void>>();
  options: BalancerOptions | undefined;
  closedWith: number | undefined;
  rejectWith: Error | undefined;

  handle(_req: IncomingMessage, res: ServerResponse, options?: HandleOptions): Promise<void> {
    const path = options?.path ?? '';
    this.paths.push(path);
    if (this.rejectWith) return Promise.reject(this.rejectWith);
    const work = new Promise<void>((resolve) => {
      setTimeout(
        () => {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ path }));
          resolve();
        },
        path.startsWith('/slow') ? 300 : 0,
      );
    });
    this.inFlight.add(work);
    void work.then(() => this.inFlight.delete(work));
    return work;
  }

  inFlightTotal(): number {
    return this.inFlight.size;
  }

  async close(timeoutMs?: number): Promise<void> {
    this.closedWith = timeoutMs;
    await Promise.all(this.inFlight);
  }
}

const silent = createJsonLogger({ level: 'silent' });
const gateways: Gateway[] = [];

function configFor(extra: Record<string, unknown> = {}): ResolvedConfig {
  const result = parseConfig({ backends: ['http://127.0.0.1:9'], port: 0, host: '127.0.0.1', ...extra });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  return result.config;
}

async function start(
  extra: Record<string, unknown> = {},
): Promise<{ gateway: Gateway; stand: StandInBalancer }> {
  const stand = new StandInBalancer();
  const gateway = await startGateway(configFor(extra), {
    logger: silent,
    createBalancer: (options) => {
      stand.options = options;
      return stand as unknown as JobeBalancer;
    },
  });
  gateways.push(gateway);
  return { gateway, stand };
}

function origin(gateway: Gateway): string {
  return `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
}

interface Answer {
  status: number;
  headers: IncomingMessage['headers'];
  body: string;
}

/** One request on its own connection. */
function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, { agent: false, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gateway) => gateway.close()));
});

describe('pathUnder', () => {
  it.each([
    ['/jobe', '/jobe/index.php/restapi/languages', '/index.php/restapi/languages'],
    ['/jobe', '/jobe/index.php/restapi/runs/?x=1', '/index.php/restapi/runs/?x=1'],
    ['/jobe', '/jobe', '/'],
    ['/jobe', '/jobe?x', '/?x'],
    ['/jobe', '/jobe/_balancer/status', '/_balancer/status'],
    ['/jobe', '/jobex/index.php', undefined],
    ['/jobe', '/other/jobe/index.php', undefined],
    ['/jobe', '/', undefined],
    ['/moodle/jobe', '/moodle/jobe/index.php/restapi/runs', '/index.php/restapi/runs'],
    ['/', '/jobe/index.php/restapi/runs', '/jobe/index.php/restapi/runs'],
  ])('basePath %s, url %s → %s', (basePath, url, expected) => {
    expect(pathUnder(basePath, url)).toBe(expected);
  });
});

describe('startGateway (with a stand-in balancer)', () => {
  it('passes requests under basePath with the path relative to it', async () => {
    const { gateway, stand } = await start();
    expect(gateway.url).toBe(`${origin(gateway)}/jobe`);
    const answer = await get(`${gateway.url}/index.php/restapi/languages?probe=1`);
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ path: '/index.php/restapi/languages?probe=1' });
    await get(`${gateway.url}/_balancer/status`);
    expect(stand.paths).toEqual(['/index.php/restapi/languages?probe=1', '/_balancer/status']);
  });

  it('answers Jobe\'s 404 (JSON "") outside basePath without calling the balancer', async () => {
    const { gateway, stand } = await start();
    for (const path of ['/', '/jobex/index.php/restapi/languages', '/restapi/languages']) {
      const answer = await get(`${origin(gateway)}${path}`);
      expect(answer.status).toBe(404);
      expect(answer.headers['content-type']).toBe('application/json; charset=UTF-8');
      expect(answer.body).toBe('""');
    }
    expect(stand.paths).toEqual([]);
  });

  it('strips a longer basePath, and passes everything through with basePath "/"', async () => {
    const { gateway: nested, stand: nestedStand } = await start({ basePath: '/moodle/jobe' });
    await get(`${origin(nested)}/moodle/jobe/index.php/restapi/runs`);
    expect(nestedStand.paths).toEqual(['/index.php/restapi/runs']);
    expect((await get(`${origin(nested)}/jobe/index.php/restapi/runs`)).status).toBe(404);

    const { gateway: root, stand: rootStand } = await start({ basePath: '/' });
    expect(root.url).toBe(origin(root));
    await get(`${origin(root)}/jobe/index.php/restapi/runs`);
    expect(rootStand.paths).toEqual(['/jobe/index.php/restapi/runs']);
  });

  it('hands the balancer options without the gateway settings, plus the logger', async () => {
    const { stand } = await start({ maxConcurrent: 4, queue: { timeoutMs: 1000 } });
    expect(stand.options).toEqual({
      backends: [{ name: 'jobe1', url: 'http://127.0.0.1:9' }],
      maxConcurrent: 4,
      queue: { timeoutMs: 1000 },
      logger: silent,
    });
  });

  it('turns redisUrl into a shared affinity store, even while Redis is unreachable', async () => {
    const { stand } = await start({ redisUrl: 'redis://127.0.0.1:9' });
    const { affinityStore, ...rest } = stand.options as BalancerOptions;
    expect(rest).toEqual({ backends: [{ name: 'jobe1', url: 'http://127.0.0.1:9' }], logger: silent });
    expect(affinityStore).toBeInstanceOf(RedisAffinityStore);
    await expect(affinityStore!.get('1234abcd')).rejects.toThrow();
  });

  it('sets the server timeouts: long runs, and a bound on receiving each request', async () => {
    const { gateway } = await start();
    expect(gateway.server.requestTimeout).toBe(120_000);
    expect(gateway.server.keepAliveTimeout).toBe(65_000);
    expect(gateway.server.headersTimeout).toBeGreaterThan(gateway.server.keepAliveTimeout);
  });

  it('answers 500 if the balancer ever rejects', async () => {
    const { gateway, stand } = await start();
    stand.rejectWith = new Error('boom');
    const answer = await get(`${gateway.url}/index.php/restapi/languages`);
    expect(answer).toMatchObject({ status: 500, body: '""' });
  });

  it('reports a port in use and closes the balancer', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    const stand = new StandInBalancer();
    try {
      await expect(
        startGateway(configFor({ port }), {
          logger: silent,
          createBalancer: () => stand as unknown as JobeBalancer,
        }),
      ).rejects.toThrow(`cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`);
      expect(stand.closedWith).toBe(0);
    } finally {
      blocker.close();
    }
  });

  it('closes gracefully: refuses new connections, finishes runs in flight, then resolves', async () => {
    const { gateway, stand } = await start({ shutdownTimeoutMs: 5000 });
    const port = (gateway.server.address() as AddressInfo).port;
    const slow = Array.from({ length: 5 }, (_, i) => get(`${gateway.url}/slow/${i}`));
    while (stand.inFlight.size < 5) await new Promise((resolve) => setTimeout(resolve, 5));

    const steps: string[] = [];
    const closed = gateway.close({ onStep: (line) => steps.push(line) });
    const refused = await new Promise<string>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
    });
    expect(refused).toBe('ECONNREFUSED');

    const answers = await Promise.all(slow);
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 200, 200]);
    expect(answers.every((answer) => answer.headers.connection === 'close')).toBe(true);
    await closed;
    expect(stand.closedWith).toBe(5000);
    expect(steps).toEqual([
      'stopped accepting new connections',
      'waiting for 5 run(s) in flight to finish (up to 5000 ms)',
      'runs in flight finished; balancer closed',
      'server closed',
    ]);
    expect(gateway.server.listening).toBe(false);
    // close() is idempotent.
    await gateway.close();
  });
});

describe('createJsonLogger', () => {
  it('writes JSON lines at or above its level', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: 'info', stream: { write: (line: string) => lines.push(line) } });
    logger.debug({ hidden: true }, 'not shown');
    logger.info({ backend: 'jobe1' }, 'ejected');
    logger.error({ err: Object.assign(new Error('down'), { code: 'ECONNREFUSED' }) });
    expect(lines).toHaveLength(2);
    expect(lines.every((line) => line.endsWith('\n'))).toBe(true);
    const [info, error] = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    // pino's line format: numeric levels, epoch-ms time, the logger's name.
    expect(info).toMatchObject({ level: 30, name: 'jobe-balancer', msg: 'ejected', backend: 'jobe1' });
    expect(typeof info?.['time']).toBe('number');
    expect(error).toMatchObject({ level: 50, err: { type: 'Error', message: 'down', code: 'ECONNREFUSED' } });
  });

  it('writes nothing when silent', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({
      level: 'silent',
      stream: { write: (line: string) => lines.push(line) },
    });
    logger.error({}, 'x');
    expect(lines).toEqual([]);
  });
});
