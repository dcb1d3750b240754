export type {
  BackendStatus,
  BalancerEvents,
  BalancerStatus,
  HandleOptions,
  JobeBalancer,
} from './api.js';
export { createBalancer } from './balancer.js';
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
  QueueOptions,
  RetryOptions,
  TimeoutOptions,
} from './options.js';
