import type { Logger } from '../options.js';

/**
 * Where job-id bindings are shared between gateway replicas (express-rate-limit's Store idea).
 * The balancer always keeps its own in-memory table; a shared store is consulted on a local miss.
 */
export interface AffinityStore {
  get(jobId: string): Promise<string | undefined>;
  set(jobId: string, backend: string, ttlMs: number): Promise<void>;
}

/** The subset of an ioredis client the Redis store needs (structural: the core does not import ioredis). */
export interface RedisLikeClient {
  get(key: string): Promise<string | null>;
  set(key: string, value: string, px: 'PX', ttlMs: number): Promise<unknown>;
}

/** Bindings in Redis under `<prefix><jobId>`, expiring with the affinity TTL. */
export class RedisAffinityStore implements AffinityStore {
  constructor(
    private readonly redis: RedisLikeClient,
    private readonly prefix = 'jobe-balancer:job:',
  ) {}

  async get(jobId: string): Promise<string | undefined> {
    return (await this.redis.get(this.prefix + jobId)) ?? undefined;
  }

  async set(jobId: string, backend: string, ttlMs: number): Promise<void> {
    await this.redis.set(this.prefix + jobId, backend, 'PX', ttlMs);
  }
}

/** A shared store must never stall or fail a run: slow or failing look-ups count as misses. */
export function guardedStore(store: AffinityStore, timeoutMs: number, logger: Logger): AffinityStore {
  let lastWarning = 0;
  const warn = (error: unknown) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn(
      { event: 'affinity-store-error', error: error instanceof Error ? error.message : String(error) },
      'shared affinity store failed; using local bindings',
    );
  };
  return {
    async get(jobId) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => {
        timer = setTimeout(() => resolve(undefined), timeoutMs);
      });
      try {
        return await Promise.race([store.get(jobId), timeout]);
      } catch (error) {
        warn(error);
        return undefined;
      } finally {
        clearTimeout(timer);
      }
    },
    async set(jobId, backend, ttlMs) {
      try {
        await store.set(jobId, backend, ttlMs);
      } catch (error) {
        warn(error);
      }
    },
  };
}
