import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Registry } from 'prom-client';
import type { AdminState, BackendOptions, HealthState } from './options.js';
import type { TableUse } from './table-bytes.js';

export type { TableUse } from './table-bytes.js';

/** Where the host framework is: what it already did to the request. */
export interface HandleOptions {
  /**
   * The request path relative to the mount point, with its query string
   * (Express's `req.url` inside `app.use('/jobe', ...)`). Default: `req.url`.
   */
  path?: string;
  /**
   * The body when a parser of the host (express.json(), koa-bodyparser) already consumed the stream.
   * `undefined` means the core reads the raw stream itself.
   */
  parsedBody?: unknown;
  /** The raw body when the host buffered it (Fastify's content-type parser). */
  rawBody?: Buffer;
  /** The host refused to buffer the body for its size: the core answers its own 413. */
  bodyTooLarge?: boolean;
}

export interface BackendStatus {
  name: string;
  url: string;
  adminState: AdminState;
  health: HealthState;
  /** Why the backend was last ejected, if it is. */
  lastError: string | null;
  inFlight: number;
  /** Configured capacity (jobe_max_users). */
  capacity: number;
  /** Capacity in force now: lowered after overload answers and during slow start. */
  effectiveCapacity: number;
  weight: number;
  languages: Array<[string, string]>;
  /** Runs answered by this backend, by outcome code (`"other"` for numbers Jobe never sends). */
  outcomes: Record<string, number>;
  /** Requests to this backend in the last minute, and how many of them failed (transport, 5xx, 21). */
  recent: { requests: number; errors: number };
  ejections: number;
  ejectedUntil: string | null;
}

export interface BalancerStatus {
  backends: BackendStatus[];
  queue: { length: number; maxLength: number; timeoutMs: number };
  /** Runs answered to clients, by outcome code (`"other"` for numbers Jobe never sends; `"http_503"` etc. for answers without a result). */
  outcomes: Record<string, number>;
  /** Support files held: `bytes` counts their blocks and index entries (ids included) against `maxBytes`. */
  fileStore: { entries: number; bytes: number; maxBytes: number };
  /** Request bodies held (bytes) and waiting for room, against `bodyMemoryBytes`. */
  bodies: { bytes: number; maxBytes: number; waiting: number };
  affinityBindings: number;
  /** The tables keyed by what clients send, each bounded in bytes (keys and per-entry overhead counted). */
  tables: {
    /** Which backends hold which file ids (`maxFileLocations` md5 ids). */
    fileLocations: TableUse;
    /** Job id → backend (`maxAffinityEntries` CodeRunner job ids). */
    affinityBindings: TableUse;
    /** File ids a client was just told to upload, for 3 s (10,000 md5 ids). */
    expectedUploads: TableUse;
  };
  /** Whether the admin endpoints are on (a token is configured). */
  adminEnabled: boolean;
  startedAt: string;
}

export interface BalancerEvents {
  /** A backend in `drain` has no run in flight any more: it can be patched. */
  drained: [name: string];
  /** Admin state changed. */
  'admin-state': [name: string, state: AdminState];
  /** Health state changed. */
  health: [name: string, state: HealthState, reason: string | null];
}

export interface JobeBalancer {
  /** Serves one request of the Jobe API (or `/_balancer/...`). Never rejects. */
  handle(req: IncomingMessage, res: ServerResponse, options?: HandleOptions): Promise<void>;
  status(): BalancerStatus;
  setBackendState(name: string, state: AdminState): void;
  addBackend(backend: BackendOptions): void;
  removeBackend(name: string): Promise<void>;
  /** Resolves when the backend has no run in flight (at once if it has none). */
  waitForDrained(name: string, timeoutMs?: number): Promise<void>;
  /** Runs the health checks of every backend now, those in maintenance included. */
  checkNow(): Promise<void>;
  readonly metricsRegistry: Registry;
  on<E extends keyof BalancerEvents>(event: E, listener: (...args: BalancerEvents[E]) => void): this;
  off<E extends keyof BalancerEvents>(event: E, listener: (...args: BalancerEvents[E]) => void): this;
  once<E extends keyof BalancerEvents>(event: E, listener: (...args: BalancerEvents[E]) => void): this;
  /** Runs in flight anywhere, queued ones included. */
  inFlightTotal(): number;
  /** Stops health checks and closes upstream pools; in-flight runs finish first, up to `timeoutMs`. */
  close(timeoutMs?: number): Promise<void>;
}
