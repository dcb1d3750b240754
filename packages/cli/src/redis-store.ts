import { type AffinityStore, type Logger, RedisAffinityStore } from '@jobe-balancer/core';

export interface SharedAffinity {
  store: AffinityStore;
  close(): Promise<void>;
}

/**
 * Job-id bindings shared with the other replicas through Redis. Commands fail at once while Redis is
 * unreachable (no offline queue), and the core then falls back to its own table.
 */
export async function connectAffinityStore(redisUrl: string, logger: Logger): Promise<SharedAffinity> {
  const { Redis } = await import('ioredis');
  const client = new Redis(redisUrl, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    lazyConnect: true,
  });
  let lastWarning = 0;
  client.on('error', (error: Error) => {
    if (Date.now() - lastWarning < 10_000) return;
    lastWarning = Date.now();
    logger.warn({ event: 'redis-error', error: error.message }, 'shared affinity store unreachable');
  });
  await client.connect().catch((error: Error) => {
    logger.warn({ event: 'redis-error', error: error.message }, 'shared affinity store unreachable at start');
  });
  return {
    store: new RedisAffinityStore(client),
    async close() {
      client.disconnect();
    },
  };
}
