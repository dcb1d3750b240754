import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  type BalancerOptions,
  createBalancer,
  type HandleOptions,
  type JobeBalancer,
} from '@jobe-balancer/core';

/**
 * The part of Express's request the adapter reads. Typed structurally so that one build serves
 * Express 4 and 5 (and their types) alike.
 */
export interface ExpressRequestLike extends IncomingMessage {
  /** Left by body-parser (`express.json()` and friends) when it consumed the stream. */
  body?: unknown;
  /** Set by body-parser 1.x (Express 4) once it has parsed the request. */
  _body?: boolean;
}

export type NextFunctionLike = (err?: unknown) => void;

export type JobeRequestHandler = (
  req: ExpressRequestLike,
  res: ServerResponse,
  next: NextFunctionLike,
) => void;

export type JobeErrorHandler = (
  err: unknown,
  req: ExpressRequestLike,
  res: ServerResponse,
  next: NextFunctionLike,
) => void;

/** `app.use('/jobe', middleware)` takes the array as is; `middleware.balancer` is for draining and status. */
export type JobeBalancerMiddleware = [JobeRequestHandler, JobeErrorHandler] & { balancer: JobeBalancer };

/** What body-parser errors carry (http-errors objects). */
interface BodyParserError {
  type?: unknown;
  body?: unknown;
  limit?: unknown;
}

/**
 * Hands over whatever a body parser mounted before us left. body-parser 1.x marks `req._body`;
 * 2.x marks nothing, but then the stream has ended. An untouched stream is read by the core itself.
 */
function bodyOf(req: ExpressRequestLike): HandleOptions {
  if (req._body !== true && !req.readableEnded) return {};
  // express.json() turns an empty body into `{}`; Jobe tells those two apart.
  if (req.headers['content-length'] === '0') return { rawBody: Buffer.alloc(0) };
  return { parsedBody: req.body };
}

/**
 * The body was read and thrown away by the host's parser, so nothing is left to forward: answer in
 * Jobe's style (a JSON string) instead of Express's HTML error page.
 */
function answerTooLarge(res: ServerResponse, limit: unknown): void {
  const message =
    `Request body larger than the host's body-parser limit (${String(limit)} bytes): ` +
    'mount jobeBalancer() before express.json() or raise its limit';
  const body = JSON.stringify(message);
  res.writeHead(413, {
    // Node reads no more of the body once a response that closes the connection is flushed.
    connection: 'close',
    'content-type': 'application/json; charset=UTF-8',
    'content-length': Buffer.byteLength(body),
  });
  res.end(body);
}

/**
 * Express middleware serving the Jobe API (and the balancer's `/_balancer/` routes) under its mount path:
 * `app.use('/jobe', jobeBalancer({ backends: [...] }))`.
 */
export function jobeBalancer(options: BalancerOptions): JobeBalancerMiddleware {
  const balancer = createBalancer(options);

  const serve = (
    req: ExpressRequestLike,
    res: ServerResponse,
    next: NextFunctionLike,
    body: HandleOptions,
  ) => {
    // Inside app.use('/jobe', ...) Express has already cut the mount path off req.url.
    balancer.handle(req, res, { path: req.url ?? '/', ...body }).catch(next);
  };

  const handler: JobeRequestHandler = (req, res, next) => serve(req, res, next, bodyOf(req));

  // Express recognises error handlers by their four parameters: keep them all.
  const parserErrorHandler: JobeErrorHandler = (err, req, res, next) => {
    const error = (typeof err === 'object' && err !== null ? err : {}) as BodyParserError;
    if (res.headersSent) return next(err);
    if (error.type === 'entity.parse.failed' && typeof error.body === 'string') {
      // Jobe's own answer to malformed JSON comes from the core, given the raw text.
      return serve(req, res, next, { rawBody: Buffer.from(error.body) });
    }
    if (error.type === 'entity.too.large') return answerTooLarge(res, error.limit);
    next(err);
  };

  return Object.assign([handler, parserErrorHandler] as [JobeRequestHandler, JobeErrorHandler], { balancer });
}

export type { BalancerOptions, JobeBalancer } from '@jobe-balancer/core';
