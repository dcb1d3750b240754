import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BalancerOptions, createBalancer, type JobeBalancer } from '@jobe-balancer/core';
import { jobeBalancer as expressJobe } from '@jobe-balancer/express';
import { jobeBalancer as fastifyJobe } from '@jobe-balancer/fastify';
import { jobeBalancer as koaJobe } from '@jobe-balancer/koa';
import Router from '@koa/router';
import express5 from 'express';
import express4 from 'express-v4';
import Fastify from 'fastify';
import Koa3 from 'koa';
import bodyParser from 'koa-bodyparser';
import mount from 'koa-mount';
import Koa2 from 'koa-v2';
import type { GatewayFactory, GatewayHandle } from './gateway-factory.js';

const MOUNT = '/jobe';

/** Listens on a loopback port of the OS's choosing and wraps the server into a handle. */
async function serve(server: http.Server, balancer: JobeBalancer): Promise<GatewayHandle> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    jobeHost: origin,
    mountUrl: origin + MOUNT,
    balancer,
    async close() {
      const closed = new Promise<void>((resolve, reject) =>
        server.close((err) => (err ? reject(err) : resolve())),
      );
      server.closeAllConnections?.();
      await closed;
      await balancer.close(1000);
    },
  };
}

function express5Gateway(json: boolean): GatewayFactory {
  return {
    name: json ? 'express5+json' : 'express5',
    async start(options) {
      const app = express5();
      app.get('/hello', (_req, res) => {
        res.send('hello');
      });
      if (json) app.use(express5.json({ limit: '10mb' }));
      const jobe = expressJobe(options);
      app.use(MOUNT, jobe);
      return serve(http.createServer(app), jobe.balancer);
    },
  };
}

function express4Gateway(json: boolean): GatewayFactory {
  return {
    name: json ? 'express4+json' : 'express4',
    async start(options) {
      const app = express4();
      app.get('/hello', (_req, res) => {
        res.send('hello');
      });
      if (json) app.use(express4.json({ limit: '10mb' }));
      const jobe = expressJobe(options);
      app.use(MOUNT, jobe);
      return serve(http.createServer(app), jobe.balancer);
    },
  };
}

const fastify5: GatewayFactory = {
  name: 'fastify5',
  async start(options) {
    const app = Fastify({ forceCloseConnections: true });
    app.get('/hello', async () => 'hello');
    // The host's own JSON route: proves the plugin's parser override stays in its own context.
    app.post('/echo', async (request) => ({ received: request.body }));
    await app.register(fastifyJobe, { prefix: MOUNT, ...options });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const origin = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    return {
      jobeHost: origin,
      mountUrl: origin + MOUNT,
      balancer: app.jobeBalancer,
      // The plugin's onClose hook closes the balancer.
      close: () => app.close(),
    };
  },
};

function koa3Gateway(withBodyParser: boolean): GatewayFactory {
  return {
    name: withBodyParser ? 'koa3+bodyparser' : 'koa3',
    async start(options) {
      const app = new Koa3();
      app.use(async (ctx, next) => {
        if (ctx.path === '/hello') ctx.body = 'hello';
        else await next();
      });
      if (withBodyParser) app.use(bodyParser({ jsonLimit: '10mb' }));
      const jobe = koaJobe(options);
      app.use(mount(MOUNT, jobe));
      return serve(http.createServer(app.callback()), jobe.balancer);
    },
  };
}

const koa2: GatewayFactory = {
  name: 'koa2',
  async start(options) {
    const app = new Koa2();
    app.use(async (ctx, next) => {
      if (ctx.path === '/hello') ctx.body = 'hello';
      else await next();
    });
    const jobe = koaJobe(options);
    app.use(mount(MOUNT, jobe));
    return serve(http.createServer(app.callback()), jobe.balancer);
  },
};

const koa2Router: GatewayFactory = {
  name: 'koa2+router',
  async start(options) {
    const app = new Koa2();
    const router = new Router();
    router.get('/hello', (ctx) => {
      ctx.body = 'hello';
    });
    const jobe = koaJobe(options);
    // The router does not cut `/jobe` off the URL; the core understands `/jobe/...` itself.
    router.all(`${MOUNT}{/*path}`, jobe);
    app.use(router.routes());
    return serve(http.createServer(app.callback()), jobe.balancer);
  },
};

export const standalone: GatewayFactory = {
  name: 'standalone',
  async start(options: BalancerOptions) {
    const balancer = createBalancer(options);
    const server = http.createServer((req, res) => {
      if (req.url === '/hello') res.end('hello');
      else void balancer.handle(req, res);
    });
    return serve(server, balancer);
  },
};

export const gatewayFactories: GatewayFactory[] = [
  express5Gateway(false),
  express5Gateway(true),
  express4Gateway(false),
  express4Gateway(true),
  fastify5,
  koa3Gateway(false),
  koa3Gateway(true),
  koa2,
  koa2Router,
  standalone,
];
