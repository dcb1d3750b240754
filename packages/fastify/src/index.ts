import { type BalancerOptions, createBalancer, type JobeBalancer } from '@jobe-balancer/core';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyInstance {
    /** The balancer behind the plugin: status, drain, add/remove backends. */
    jobeBalancer: JobeBalancer;
  }
}

export interface JobeBalancerPluginOptions extends BalancerOptions {
  /** Mount path of the Jobe API, e.g. `/jobe` (CodeRunner's jobe_host is then `<origin>`). */
  prefix?: string;
  /**
   * Largest body Fastify buffers for the balancer's routes. Default: the core's `bodyLimitBytes`
   * (8 MiB) plus 1 MiB, so that the core, not Fastify, answers a body just over its limit.
   */
  bodyLimit?: number;
  /** How long `app.close()` lets runs in flight finish (default: the core's own). */
  closeTimeoutMs?: number;
}

const MiB = 1024 * 1024;

/**
 * The path relative to the mount point, from the raw URL: `params['*']` would do, but find-my-way
 * decodes it, and the core must see what the client sent.
 */
function pathUnder(prefix: string, request: FastifyRequest): string {
  const url = request.url;
  if (url.startsWith(prefix)) {
    const rest = url.slice(prefix.length);
    return rest.startsWith('/') ? rest : '/' + rest;
  }
  // A URL the router matched loosely (duplicate slashes, other letter case): rebuild it.
  const query = url.includes('?') ? url.slice(url.indexOf('?')) : '';
  const wildcard = (request.params as Record<string, string | undefined>)['*'] ?? '';
  return '/' + wildcard + query;
}

const plugin: FastifyPluginAsync<JobeBalancerPluginOptions> = async (instance, options) => {
  const { prefix, bodyLimit, closeTimeoutMs, ...balancerOptions } = options;
  const balancer = createBalancer({ logger: instance.log, ...balancerOptions });
  instance.decorate('jobeBalancer', balancer);
  instance.addHook('onClose', async () => {
    await balancer.close(closeTimeoutMs);
  });

  // fastify-plugin lifts encapsulation (for the decorator), so the routes and the parser override
  // live in a context of their own: the host's JSON routes keep Fastify's parsers.
  await instance.register(
    async (inner: FastifyInstance) => {
      const limit = bodyLimit ?? (balancerOptions.bodyLimitBytes ?? 8 * MiB) + MiB;
      inner.removeAllContentTypeParsers();
      inner.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: limit }, (_request, body, done) => {
        done(null, body);
      });

      const mount = inner.prefix;
      const handler = async (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        const rawBody = Buffer.isBuffer(request.body) ? request.body : undefined;
        await balancer.handle(request.raw, reply.raw, { path: pathUnder(mount, request), rawBody });
      };
      // A body over the parser's limit: the core's Jobe-style 413 rather than Fastify's error object.
      inner.setErrorHandler(async (error: { code?: string }, request, reply) => {
        if (error.code !== 'FST_ERR_CTP_BODY_TOO_LARGE') throw error;
        reply.hijack();
        await balancer.handle(request.raw, reply.raw, {
          path: pathUnder(mount, request),
          bodyTooLarge: true,
        });
      });
      // `all` lists HEAD itself, so HEAD files/<id> reaches the core rather than Fastify's GET-derived HEAD.
      const route = { exposeHeadRoute: false };
      inner.all('/', route, handler);
      inner.all('/*', route, handler);
    },
    { prefix },
  );
};

/**
 * Fastify plugin serving the Jobe API (and the balancer's `/_balancer/` routes):
 * `app.register(jobeBalancer, { prefix: '/jobe', backends: [...] })`.
 */
export const jobeBalancer = fp(plugin, { fastify: '5.x', name: '@jobe-balancer/fastify' });

export default jobeBalancer;

export type { BalancerOptions, JobeBalancer } from '@jobe-balancer/core';
