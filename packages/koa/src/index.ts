import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BalancerOptions,
  createBalancer,
  type HandleOptions,
  type JobeBalancer,
} from '@jobe-balancer/core';

/**
 * The part of Koa's context the middleware uses. Typed structurally so that one build serves
 * Koa 2 and 3 (and their types) alike.
 */
export interface KoaContextLike {
  req: IncomingMessage;
  res: ServerResponse;
  /** Relative to the mount point inside koa-mount, which rewrites it. */
  url: string;
  respond?: boolean | undefined;
  request: {
    /** Set by a body parser mounted before us (koa-bodyparser, @koa/bodyparser, koa-body). */
    body?: unknown;
    /** The text koa-bodyparser and @koa/bodyparser read. */
    rawBody?: unknown;
  };
}

export type JobeBalancerKoaMiddleware = ((
  ctx: KoaContextLike,
  next: () => Promise<unknown>,
) => Promise<void>) & {
  balancer: JobeBalancer;
};

/** Hands over whatever a body parser mounted before us left; an untouched stream is read by the core. */
function bodyOf(ctx: KoaContextLike): HandleOptions {
  const { body, rawBody } = ctx.request;
  // The text as received beats the parsed object: the core forwards it unchanged.
  if (typeof rawBody === 'string') return { rawBody: Buffer.from(rawBody) };
  return ctx.req.readableEnded ? { parsedBody: body } : {};
}

/**
 * Koa middleware serving the Jobe API (and the balancer's `/_balancer/` routes):
 * `app.use(mount('/jobe', jobeBalancer({ backends: [...] })))`.
 */
export function jobeBalancer(options: BalancerOptions): JobeBalancerKoaMiddleware {
  const balancer = createBalancer(options);
  const middleware = async (ctx: KoaContextLike, _next: () => Promise<unknown>): Promise<void> => {
    // The core writes the response to ctx.res itself; Koa must not touch it afterwards.
    ctx.respond = false;
    await balancer.handle(ctx.req, ctx.res, { path: ctx.url, ...bodyOf(ctx) });
  };
  return Object.assign(middleware, { balancer });
}

export type { BalancerOptions, JobeBalancer } from '@jobe-balancer/core';
