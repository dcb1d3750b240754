import type { Counter, Histogram, Registry } from 'prom-client';
import type { Backend } from './backends/backend.js';
import * as prom from './deps.js';

export type Endpoint = 'runs' | 'files_put' | 'files_head' | 'languages' | 'admin' | 'batch' | 'not_found';
export type RetryCause =
  | 'connect'
  | 'reset'
  | 'timeout'
  | 'overload'
  | 'bad_gateway'
  | 'semaphore'
  | 'ejected';

export type EjectionCause = 'probe' | 'canary' | 'run' | 'outlier';

/** The cause label of an ejection, from the source the health change was reported with. */
export function ejectionCause(source: string): EjectionCause {
  if (source === 'run' || source === 'outlier') return source;
  return source.startsWith('canary') ? 'canary' : 'probe';
}

export interface MetricsSources {
  backends(): readonly Backend[];
  queueLength(): number;
  fileStore(): { bytes: number; entries: number };
  affinityBindings(): number;
  bodies(): { bytes: number; waiting: number };
}

/** The balancer's Prometheus metrics (prom-client), on the host's registry or one of its own. */
export class BalancerMetrics {
  readonly requests: Counter<'endpoint' | 'status'>;
  readonly outcomes: Counter<'outcome'>;
  readonly failovers: Counter<'cause'>;
  readonly fileReplays: Counter<'backend'>;
  readonly ejections: Counter<'backend' | 'cause'>;
  readonly outlierDetections: Counter<'backend' | 'action'>;
  readonly upstreamSeconds: Histogram<'backend' | 'endpoint'>;
  readonly queueWaitSeconds: Histogram;
  readonly queueOverloads: Counter<'why'>;

  constructor(
    readonly registry: Registry,
    sources: MetricsSources,
  ) {
    const registers = [registry];
    const perBackend = (name: string, help: string, value: (backend: Backend) => number) =>
      new prom.Gauge({
        name,
        help,
        labelNames: ['backend'],
        registers,
        collect() {
          this.reset();
          for (const backend of sources.backends()) this.set({ backend: backend.name }, value(backend));
        },
      });
    perBackend('jobe_balancer_backend_up', '1 when the backend passes its health checks', (b) =>
      b.health === 'healthy' ? 1 : 0,
    );
    perBackend('jobe_balancer_backend_in_flight_runs', 'Runs in flight on the backend', (b) => b.inFlight);
    perBackend('jobe_balancer_backend_capacity', 'Configured capacity (jobe_max_users)', (b) => b.capacity);
    perBackend(
      'jobe_balancer_backend_effective_capacity',
      'Capacity in force: lowered after overload answers and during slow start',
      (b) => b.effectiveCapacity(),
    );
    new prom.Gauge({
      name: 'jobe_balancer_backend_state',
      help: 'Administrative (ready, drain, maint) and health (unknown, healthy, ejected) state: 1 for the current one',
      labelNames: ['backend', 'kind', 'state'],
      registers,
      collect() {
        this.reset();
        for (const backend of sources.backends()) {
          for (const state of ['ready', 'drain', 'maint'] as const) {
            this.set({ backend: backend.name, kind: 'admin', state }, backend.adminState === state ? 1 : 0);
          }
          for (const state of ['unknown', 'healthy', 'ejected'] as const) {
            this.set({ backend: backend.name, kind: 'health', state }, backend.health === state ? 1 : 0);
          }
        }
      },
    });
    const gauge = (name: string, help: string, value: () => number) =>
      new prom.Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(value());
        },
      });
    gauge(
      'jobe_balancer_queue_length',
      'Runs waiting at the gateway for a free Jobe worker',
      sources.queueLength,
    );
    gauge(
      'jobe_balancer_file_store_bytes',
      'Memory the support files held by the gateway take, with freed blocks kept for reuse (each file in a block of its size class, at most 12.5 % over its size) and their index entries, ids included; never more than fileStoreMaxBytes',
      () => sources.fileStore().bytes,
    );
    gauge(
      'jobe_balancer_file_store_entries',
      'Support files held by the gateway',
      () => sources.fileStore().entries,
    );
    gauge('jobe_balancer_affinity_bindings', 'Job ids bound to a backend', sources.affinityBindings);
    gauge(
      'jobe_balancer_body_bytes',
      'Bytes of request bodies held by the gateway (being received, queued or forwarded); never more than bodyMemoryBytes',
      () => sources.bodies().bytes,
    );
    gauge(
      'jobe_balancer_bodies_waiting',
      'Requests whose bodies wait, unread, for room under bodyMemoryBytes',
      () => sources.bodies().waiting,
    );

    this.requests = new prom.Counter({
      name: 'jobe_balancer_requests_total',
      help: 'Requests answered, by endpoint and HTTP status',
      labelNames: ['endpoint', 'status'],
      registers,
    });
    this.outcomes = new prom.Counter({
      name: 'jobe_balancer_run_outcomes_total',
      help: 'Runs answered to clients, by Jobe outcome (15 ok, 11 compile error, 12 runtime error, 13 time limit, 21 overload)',
      labelNames: ['outcome'],
      registers,
    });
    this.failovers = new prom.Counter({
      name: 'jobe_balancer_failovers_total',
      help: 'Runs sent again to another backend, by cause',
      labelNames: ['cause'],
      registers,
    });
    this.fileReplays = new prom.Counter({
      name: 'jobe_balancer_file_replays_total',
      help: 'Support files the gateway uploaded to a backend on its own (no client PUT needed)',
      labelNames: ['backend'],
      registers,
    });
    this.ejections = new prom.Counter({
      name: 'jobe_balancer_backend_ejections_total',
      help: "Times a backend was ejected, by cause: probe (GET languages), canary, run (failed requests), outlier (its runs failed far more than its peers')",
      labelNames: ['backend', 'cause'],
      registers,
    });
    this.outlierDetections = new prom.Counter({
      name: 'jobe_balancer_outlier_detections_total',
      help: "Times outlier detection found a backend's runs failing far more than its peers', by action: ejected, refuted_by_canary (its canary passed), unconfirmed (too busy for a canary: kept), not_enforced (enforce: false, or maxEjectionPercent reached)",
      labelNames: ['backend', 'action'],
      registers,
    });
    this.upstreamSeconds = new prom.Histogram({
      name: 'jobe_balancer_upstream_request_duration_seconds',
      help: 'Duration of requests to backends',
      labelNames: ['backend', 'endpoint'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueWaitSeconds = new prom.Histogram({
      name: 'jobe_balancer_queue_wait_seconds',
      help: 'Time each run waited at the gateway for a free Jobe worker (0 when one was free at once)',
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.queueOverloads = new prom.Counter({
      name: 'jobe_balancer_queue_overloads_total',
      help: 'Runs answered with outcome 21 by the gateway because its queue was full, the wait timed out, or its body waited too long for room (body-memory)',
      labelNames: ['why'],
      registers,
    });
  }

  static ownRegistry(): Registry {
    return new prom.Registry();
  }
}
