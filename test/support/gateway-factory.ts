import type { BalancerOptions, JobeBalancer } from '@jobe-balancer/core';

/** A running gateway with the balancer mounted, as CodeRunner would reach it. */
export interface GatewayHandle {
  /** What an admin types into CodeRunner's jobe_host, e.g. `http://127.0.0.1:40123` or `http://127.0.0.1:40123/some/prefix`. */
  jobeHost: string;
  /** Base of the balancer's own routes: `<origin><mount>`, e.g. `http://127.0.0.1:40123/jobe` (admin API at `${mountUrl}/_balancer/`). */
  mountUrl: string;
  balancer: JobeBalancer;
  close(): Promise<void>;
}

/** One framework (and version, and body-parser setup) that the contract suite runs against. */
export interface GatewayFactory {
  /** e.g. `express5+json`, `fastify5`, `koa2`, `standalone`. */
  name: string;
  start(options: BalancerOptions): Promise<GatewayHandle>;
}
