import type { IncomingHttpHeaders } from 'node:http';
import type { AffinityCookie, JobAffinity } from './affinity/job-affinity.js';
import type { Backend, HealthChange } from './backends/backend.js';
import type { FileLocations, FileStore } from './files/file-store.js';
import type { HealthChecker } from './health/health-checker.js';
import type { OutlierDetector } from './health/outlier-detector.js';
import type { BalancerMetrics } from './metrics.js';
import type { Logger } from './options.js';
import type { Scheduler } from './scheduling/scheduler.js';

/** Resolved settings (every default applied). */
export interface CoreSettings {
  bodyLimitBytes: number;
  apiKeys: ReadonlySet<string> | null;
  maxAttempts: number;
  retriesAfterSend: number;
  requestTimeoutMs: number;
  runSlackMs: number;
  adminToken: string | null;
  publicStatus: boolean;
  publicMetrics: boolean;
  queueMaxLength: number;
  queueTimeoutMs: number;
  bodyIdleTimeoutMs: number;
  smallBodyBytes: number;
  batch: { enabled: boolean; maxRuns: number; maxShare: number };
}

/** What the request handlers share: the balancer's state, without the HTTP plumbing. */
export interface CoreContext {
  readonly settings: CoreSettings;
  readonly backends: readonly Backend[];
  backend(name: string): Backend | undefined;
  readonly scheduler: Scheduler;
  readonly files: FileStore;
  readonly locations: FileLocations;
  readonly affinity: JobAffinity;
  readonly cookie: AffinityCookie;
  readonly metrics: BalancerMetrics;
  readonly health: HealthChecker;
  /** Null when outlier detection is off. */
  readonly outliers: OutlierDetector | null;
  readonly logger: Logger;
  /** Records a health change from any source (log, metrics, events, queue wake-up). */
  reportHealth(backend: Backend, change: HealthChange, source: string): void;
  /** Headers for a request to `backend`, from the client's where they matter to Jobe. */
  upstreamHeaders(backend: Backend, client: IncomingHttpHeaders): Record<string, string>;
}

const FORWARDED_HEADERS = ['content-type', 'accept', 'accept-charset', 'user-agent', 'x-coderunner-job-id'];

export function forwardedHeaders(backend: Backend, client: IncomingHttpHeaders): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const name of FORWARDED_HEADERS) {
    const value = client[name];
    if (typeof value === 'string') headers[name] = value;
  }
  // The client's own key is for the gateway; each backend gets the key configured for it.
  if (backend.apiKey) headers['x-api-key'] = backend.apiKey;
  return headers;
}

/** The job id CodeRunner sends on every request of one execute(); anything odd is ignored. */
export function jobIdOf(headers: IncomingHttpHeaders): string | undefined {
  const value = headers['x-coderunner-job-id'];
  return typeof value === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(value) ? value : undefined;
}
