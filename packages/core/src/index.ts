export { type AffinityStore, RedisAffinityStore, type RedisLikeClient } from './affinity/affinity-store.js';
export type {
  BackendStatus,
  BalancerEvents,
  BalancerStatus,
  HandleOptions,
  JobeBalancer,
} from './api.js';
export { createBalancer } from './balancer.js';
export { GATEWAY_HEAP_FLAGS, tuneHeapForGateway } from './heap-settings.js';
export { jsonLineLogger, silentLogger } from './logger.js';
export type {
  AdminOptions,
  AdminState,
  BackendOptions,
  BalancerOptions,
  CanaryOptions,
  HealthOptions,
  HealthState,
  Logger,
  OutlierOptions,
  QueueOptions,
  RetryOptions,
  TimeoutOptions,
} from './options.js';
