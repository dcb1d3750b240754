export { type AffinityStore, RedisAffinityStore, type RedisLikeClient } from './affinity/affinity-store.js';
export type {
  BackendStatus,
  BalancerEvents,
  BalancerStatus,
  HandleOptions,
  JobeBalancer,
  TableUse,
} from './api.js';
export { languagesUrl, normaliseBackendUrl } from './backends/backend-url.js';
export { createBalancer } from './balancer.js';
export { GATEWAY_HEAP_FLAGS, tuneHeapForGateway } from './heap-settings.js';
export { jsonLineLogger, silentLogger } from './logger.js';
export {
  BACKEND_KEYS,
  BACKEND_SPEC,
  type CheckedBackend,
  checkBackend,
  MAX_BACKEND_CONCURRENCY,
  type OptionSpec,
} from './options/backend-spec.js';
export {
  describeValue,
  InvalidOptionsError,
  joinPath,
  OptionError,
  type OptionErrorCode,
  suggestKey,
  unknownKeyError,
} from './options/option-error.js';
export type {
  AdminOptions,
  AdminState,
  BackendOptions,
  BalancerOptions,
  BatchOptions,
  CanaryOptions,
  HealthOptions,
  HealthState,
  Logger,
  OutlierOptions,
  QueueOptions,
  RetryOptions,
  TimeoutOptions,
} from './options.js';
