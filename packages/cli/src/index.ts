export { languagesUrl, normaliseBackendUrl } from '@jobe-balancer/core';
export { type CliArgs, parseCliArgs } from './args.js';
export { type BackendCheck, checkBackend, checkBackends, formatChecks } from './check.js';
export {
  type FileBalancerOptions,
  GATEWAY_DEFAULTS,
  type GatewaySettings,
  type LogLevel,
  type ParseConfigResult,
  parseConfig,
  type ResolvedConfig,
} from './config.js';
export { ConfigError } from './errors.js';
export { type CloseOptions, type Gateway, type StartGatewayOptions, startGateway } from './gateway.js';
export { ENV, type LoadConfigInput, loadConfig } from './load.js';
export { createJsonLogger, type JsonLogger, type JsonLoggerOptions } from './logger.js';
