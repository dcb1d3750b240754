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
  /** How long `app.close()` lets runs in flight finish (default: the core's own). */
  closeTimeoutMs?: number;
}

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
  const { prefix, closeTimeoutMs, ...balancerOptions } = options;
  const balancer = createBalancer({ logger: instance.log, ...balancerOptions });
  instance.decorate('jobeBalancer', balancer);
  instance.addHook('onClose', async () => {
    await balancer.close(closeTimeoutMs);
  });

  // fastify-plugin lifts encapsulation (for the decorator), so the routes and the parser override
  // live in a context of their own: the host's JSON routes keep Fastify's parsers.
  await instance.register(
    async (inner: FastifyInstance) => {
      // Bodies stay unread here: the core reads them itself, within its body limit and its budget of
      // bodies held at once (bodyMemoryBytes), and answers like Jobe when they are too large.
      inner.removeAllContentTypeParsers();
      inner.addContentTypeParser('*', (_request, _payload, done) => {
        done(null);
      });

      const mount = inner.prefix;
      const handler = async (request: FastifyRequest, reply: FastifyReply) => {
        reply.hijack();
        await balancer.handle(request.raw, reply.raw, { path: pathUnder(mount, request) });
      };
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
