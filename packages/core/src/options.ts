import type { Registry } from 'prom-client';
import type { AffinityStore } from './affinity/affinity-store.js';

/** HAProxy's administrative server states. */
export type AdminState = 'ready' | 'drain' | 'maint';

/** What the health checks (active and passive) concluded about a backend. */
export type HealthState = 'unknown' | 'healthy' | 'ejected';

export interface BackendOptions {
  /** Unique name used in logs, metrics, the status API and admin URLs. `[A-Za-z0-9_.-]+`. */
  name: string;
  /** The Jobe server as an admin would type it into CodeRunner's jobe_host: `jobe1`, `http://jobe1:8080`, `https://jobe1/prefix`. */
  url: string;
  /** Sent to this backend as `X-API-KEY` (Jobe 2.0-2.1 and V1 enforce keys; 2.2 ignores them). */
  apiKey?: string;
  /** Runs this backend may hold at once: its `jobe_max_users`. Defaults to `BalancerOptions.maxConcurrent`. */
  maxConcurrent?: number;
  /** Relative share of new jobs when loads are equal (default 1). */
  weight?: number;
  /** Initial administrative state (default `ready`). */
  state?: AdminState;
}

/** A tiny known program: a backend that cannot run it correctly is ejected (jobeinabox#15). */
export interface CanaryOptions {
  language_id: string;
  sourcecode: string;
  input?: string;
  expectedStdout: string;
  /** Default: `health.intervalMs * 5`. */
  intervalMs?: number;
}

export interface HealthOptions {
  /** How often each backend's `GET languages` is probed (default 2000 ms). */
  intervalMs?: number;
  /** A probe slower than this fails (default 2000 ms). */
  timeoutMs?: number;
  /** Consecutive failures (probe or passive) that eject a backend (default 2). */
  failureThreshold?: number;
  /** First ejection period; doubles while the backend keeps failing (default 2000 ms). */
  baseEjectionMs?: number;
  /** Cap of the ejection period (default 60000 ms). */
  maxEjectionMs?: number;
  /**
   * A known program run now and then on every backend. Default: a program printing 42 in python3, else c,
   * else another language the backend reports. `false` turns it off.
   */
  canary?: CanaryOptions | false;
  /** Passive outlier detection on run outcomes (on by default); `false` turns it off. */
  outliers?: OutlierOptions | false;
}

/**
 * Ejects a backend whose runs fail (sandbox-failure outcomes) far more often than its peers' runs in the
 * same languages over the same minutes: a "wedged" Jobe that answers 200 fast while its sandbox is broken.
 * A change the whole fleet sees (a question nobody can solve) ejects nobody, since peers fail alike.
 */
export interface OutlierOptions {
  /** Outcomes that count as failures (default [11, 12, 20]: compile, runtime and internal errors). */
  failureOutcomes?: number[];
  /** Recent runs of a backend, comparable with its peers', needed before it can be judged (default 5). */
  minRuns?: number;
  /** Recent runs of its healthy peers in the same languages needed as the baseline (default 10). */
  minPeerRuns?: number;
  /**
   * How unlikely the backend's failures must be, were its runs failing as often as its peers' (binomial
   * tail probability), for a verdict (default 0.001). The canary confirms a verdict where it runs in a
   * failing language; elsewhere a backend is ejected only below a hundredth of this.
   */
  significance?: number;
  /** How far back runs count (default 60000 ms). */
  windowMs?: number;
  /**
   * Most backends that may be ejected at once (any cause) for an outlier ejection to go ahead, as a
   * percentage of all backends; at least one is always allowed (default 50).
   */
  maxEjectionPercent?: number;
  /** `false`: only log and count detections (metric), eject nobody (default true). */
  enforce?: boolean;
}

export interface QueueOptions {
  /** Runs that may wait at the gateway for a free Jobe worker (default 2000). */
  maxLength?: number;
  /** How long a run may wait before it gets Jobe's overload answer (default 60000 ms). */
  timeoutMs?: number;
}

export interface RetryOptions {
  /** Attempts of one run on distinct backends, the first included (default 3). */
  maxAttempts?: number;
  /**
   * Retries on another backend after a failure that happened once the request was sent
   * (reset, timeout): the run may have executed, but a rerun of a sandboxed program is harmless.
   * Default 1; 0 turns them off.
   */
  afterSend?: number;
}

export interface TimeoutOptions {
  /** TCP connect timeout to a backend (default 3000 ms). */
  connectMs?: number;
  /** Added to `4 x cputime` for a run: Jobe's worker wait plus slack (default 25000 ms). */
  runSlackMs?: number;
  /** For PUT, HEAD and GET languages (default 10000 ms). */
  requestMs?: number;
}

/** pino-compatible: the host's pino logger can be passed as is. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
  debug?(obj: object, msg?: string): void;
}

export interface AdminOptions {
  /** Enables the admin endpoints; sent as `Authorization: Bearer <token>`. */
  token?: string;
  /** Serve status and dashboard without the token (default false). */
  publicStatus?: boolean;
  /** Serve `/_balancer/metrics` without the token (default true). */
  publicMetrics?: boolean;
}

/** `POST <mount>/_balancer/batch`: many runs in one request, for regrade and question-check scripts. */
export interface BatchOptions {
  /** Serve the batch endpoint (default false: it answers 404 like any unknown path). */
  enabled?: boolean;
  /** Runs one batch may hold (default 100). */
  maxRuns?: number;
  /**
   * Share of the fleet's capacity (backends ready and not ejected) that batch runs may hold at once, all
   * batches together, so that students' single runs always find workers (default 0.5; 0 < maxShare <= 1).
   */
  maxShare?: number;
}

export interface BalancerOptions {
  backends: BackendOptions[];
  /** Default capacity of every backend (default 16, Jobe's `jobe_max_users`). */
  maxConcurrent?: number;
  /** How long a job id stays bound to its backend (default 60000 ms). */
  affinityTtlMs?: number;
  /** Bound of the job-id table (default 20000: a minute of runs at over 300 per second). */
  maxAffinityEntries?: number;
  /** Bytes of support files the gateway keeps to replay them onto any backend (default 64 MiB). */
  fileStoreMaxBytes?: number;
  /** File ids whose backend locations are remembered (default 20000). */
  maxFileLocations?: number;
  /** Largest request body accepted (default 8 MiB, PHP's post_max_size). */
  bodyLimitBytes?: number;
  /**
   * Bytes of request bodies the gateway holds at once, counted from before a body is read until its
   * request is answered (default 64 MiB; at least bodyLimitBytes). A body that does not fit waits
   * unread, first come first served, up to `queue.timeoutMs`; then a run gets Jobe's overload answer
   * and a PUT a 503.
   */
  bodyMemoryBytes?: number;
  /**
   * A body that sends no byte for this long (before its first byte, or between two) is answered 408 and
   * its connection closed, giving its share of bodyMemoryBytes back (default 5000 ms). A body holds no
   * share until its first bytes arrive.
   */
  bodyIdleTimeoutMs?: number;
  /** Bodies whose Content-Length is at most this count as small: every run (default 256 KiB). */
  smallBodyBytes?: number;
  /**
   * Part of bodyMemoryBytes only small bodies may hold, so that runs never wait behind large uploads
   * (default the smaller of 8 MiB and bodyMemoryBytes - bodyLimitBytes; at most that difference).
   */
  smallBodyReserveBytes?: number;
  /** When set, POST runs and PUT files need one of these as `X-API-KEY` (Jobe's 403 texts otherwise). */
  apiKeys?: string[];
  /** Name of the affinity cookie (default `JOBEBALANCER`). */
  cookieName?: string;
  /** Key of the cookie's HMAC; give every replica the same. Default: derived from the backend list. */
  cookieSecret?: string;
  /** Ramp-up of a new or recovered backend's capacity (default 10000 ms; 0 off). */
  slowStartMs?: number;
  health?: HealthOptions;
  queue?: QueueOptions;
  retry?: RetryOptions;
  timeouts?: TimeoutOptions;
  admin?: AdminOptions;
  batch?: BatchOptions;
  /**
   * Shares job-id bindings between gateway replicas (e.g. `new RedisAffinityStore(ioredisClient)`), for
   * CodeRunner versions without a cookie jar (< 5.4.1). Look-ups slower than 50 ms count as misses.
   */
  affinityStore?: AffinityStore;
  /** prom-client registry to register on (default: one of the balancer's own). */
  metricsRegistry?: Registry;
  logger?: Logger;
}
