/**
 * A child process running jobe-balancer behind one front end, so that its CPU time and memory can be
 * measured on their own: `cli` (what the `jobe-balancer` command runs: its heap settings and server), `core`
 * (the core behind a bare node:http server, V8's default heap), `express` (5), `fastify` (5) or `koa` (3);
 * or `plain-proxy`, the minimal Node reverse proxy of bench/lib/proxies.mjs (no balancer), as the floor of
 * what any Node HTTP proxy costs on the machine; or `express-proxy` (Express 5 + http-proxy-middleware, no
 * balancer), the floor of an Express gateway.
 * argv[2]: JSON `{ variant, options, tuneHeap?, heapSettingsModule? }` where options are createBalancer()'s (the logger is silent)
 * and tuneHeap calls tuneHeapForGateway() first (the `cli` variant always does, as the command does).
 * Every variant serves the Jobe API at `<url>/jobe/index.php/restapi/...`.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { serveParent, usage } from './ipc.mjs';

const { variant, options: given, tuneHeap = false, heapSettingsModule } = JSON.parse(process.argv[2] ?? '{}');
if (variant === 'cli' || tuneHeap || heapSettingsModule) {
  // Like the command (and a host following docs/operators/sizing.md), before anything else is loaded.
  // heapSettingsModule: the path of another build of it, for an A/B test in the same run.
  const { tuneHeapForGateway } = await import(
    heapSettingsModule ? pathToFileURL(heapSettingsModule).href : '@jobe-balancer/core/heap-settings'
  );
  tuneHeapForGateway();
}

// JOBE_BALANCER_CORE_MODULE: the path of another build of the core to measure (the `core` variant only),
// e.g. a candidate fix, without touching packages/.
const { createBalancer, silentLogger } = await import(
  process.env.JOBE_BALANCER_CORE_MODULE
    ? pathToFileURL(process.env.JOBE_BALANCER_CORE_MODULE).href
    : '@jobe-balancer/core'
);
const options = { ...given, logger: silentLogger };

async function listen(server) {
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${server.address().port}`;
}

async function start() {
  switch (variant) {
    case 'core': {
      const balancer = createBalancer(options);
      const server = http.createServer((req, res) => balancer.handle(req, res));
      const url = await listen(server);
      return { url, balancer, close: () => closeServer(server, balancer) };
    }
    case 'cli': {
      // What the `jobe-balancer` command runs (packages/cli/src/cli.ts): its heap settings (above), its server.
      const { loadConfig, startGateway } = await import('jobe-balancer');
      const dir = mkdtempSync(join(tmpdir(), 'jobe-bench-'));
      const file = join(dir, 'config.json');
      writeFileSync(file, JSON.stringify({ ...given, logLevel: 'silent' }));
      const config = await loadConfig({
        argv: ['--config', file, '--port', '0', '--host', '127.0.0.1'],
        env: {},
      }).finally(() => rmSync(dir, { recursive: true, force: true }));
      const gateway = await startGateway(config);
      const url = gateway.url.replace(/\/jobe$/, '');
      return { url, balancer: gateway.balancer, close: () => gateway.close() };
    }
    case 'express': {
      const { default: express } = await import('express');
      const { jobeBalancer } = await import('@jobe-balancer/express');
      const app = express();
      const middleware = jobeBalancer(options);
      app.use('/jobe', middleware);
      const server = http.createServer(app);
      const url = await listen(server);
      return { url, balancer: middleware.balancer, close: () => closeServer(server, middleware.balancer) };
    }
    case 'fastify': {
      const { default: Fastify } = await import('fastify');
      const { jobeBalancer } = await import('@jobe-balancer/fastify');
      const app = Fastify({ logger: false });
      await app.register(jobeBalancer, { prefix: '/jobe', ...options });
      await app.listen({ port: 0, host: '127.0.0.1' });
      const url = `http://127.0.0.1:${app.server.address().port}`;
      return { url, balancer: app.jobeBalancer, close: () => app.close() };
    }
    case 'koa': {
      const { default: Koa } = await import('koa');
      const { default: mount } = await import('koa-mount');
      const { jobeBalancer } = await import('@jobe-balancer/koa');
      const app = new Koa();
      const middleware = jobeBalancer(options);
      app.use(mount('/jobe', middleware));
      const server = http.createServer(app.callback());
      const url = await listen(server);
      return { url, balancer: middleware.balancer, close: () => closeServer(server, middleware.balancer) };
    }
    case 'express-proxy': {
      // Express 5 + http-proxy-middleware, no balancing: what any Express gateway costs on the machine.
      const { default: express } = await import('express');
      const { createProxyMiddleware } = await import('http-proxy-middleware');
      const app = express();
      // Keep-alive, as the balancer's own upstream pool has: http-proxy opens a connection per request without.
      const agent = new http.Agent({ keepAlive: true });
      app.use('/jobe', createProxyMiddleware({ target: `${options.backends[0].url}/jobe`, agent }));
      const server = http.createServer(app);
      const url = await listen(server);
      return { url, balancer: null, close: () => closeServer(server, null) };
    }
    case 'plain-proxy': {
      const { startRoundRobinProxy } = await import('./proxies.mjs');
      const proxy = await startRoundRobinProxy(options.backends.map((backend) => backend.url));
      return { url: proxy.url, balancer: null, close: () => proxy.close() };
    }
    default:
      throw new Error(`unknown variant ${variant}`);
  }
}

async function closeServer(server, balancer) {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await balancer?.close(1000);
}

const gateway = await start();
let profiler;
await gateway.balancer?.checkNow();

serveParent(
  {
    usage: () => ({ ...usage(), status: gateway.balancer?.status() }),
    gc: () => {
      globalThis.gc?.();
      return usage();
    },
    /** A V8 CPU profile of the measured part only (node --cpu-prof would include start-up and JIT warm-up). */
    'profile-start': async () => {
      profiler = new Session();
      profiler.connect();
      await profiler.post('Profiler.enable');
      await profiler.post('Profiler.setSamplingInterval', { interval: 100 });
      await profiler.post('Profiler.start');
      return {};
    },
    'profile-stop': async ({ path }) => {
      const { profile } = await profiler.post('Profiler.stop');
      writeFileSync(path, JSON.stringify(profile));
      profiler.disconnect();
      return { path };
    },
  },
  () => gateway.close(),
);
process.send({ type: 'ready', url: gateway.url, variant });
