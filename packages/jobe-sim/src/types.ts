/** The `run_spec` object of a `POST runs` body, as the client sent it (after JSON decoding). */
export type RunSpec = {
  language_id: string;
  sourcecode: string;
  input?: string;
  file_list?: Array<[string, string] | [string, string, unknown]>;
  parameters?: Record<string, unknown>;
  [k: string]: unknown;
};

export type FaultMode = 'crash' | 'hang' | 'slow' | 'error500' | 'wedged';

export interface JobeSimOptions {
  /**
   * Default 0: a free port below the kernel's ephemeral range (Linux: 10000-32767), so that after a
   * `crash` fault no other program can have been given it when the server listens there again.
   */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Default `jobe-sim-<port>`; printed by the `#sim server` directive. */
  name?: string;
  /** Jobe's jobe_max_users. Default 16. */
  workers?: number;
  /** Wait between tries for a free worker (Jobe sleeps 1 s). Default 1000. */
  pollMs?: number;
  /** Number of retries for a free worker (Jobe's jobe_wait_timeout). Default 10. */
  waitTimeout?: number;
  /** `[language_id, version]` pairs served by GET languages and accepted by POST runs. */
  languages?: Array<[string, string]>;
  /** Jobe's cputime_upper_limit_secs. Default 120. */
  cputimeUpperLimit?: number;
  /** How long a run without a `#sim sleep` directive holds its worker. Default 0. */
  defaultRunMs?: number;
  /** Chooses run durations (e.g. log-normal times for benchmarks); overrides defaultRunMs when it returns a number. */
  runMs?: (runSpec: RunSpec) => number | undefined;
}

export interface JobeSimStats {
  requests: number;
  /** Runs that got a worker and produced a result. */
  runsServed: number;
  activeWorkers: number;
  peakWorkers: number;
  /** Outcome 21 answers. */
  overloads: number;
  /** 404 missing-file answers to POST runs. */
  fileMisses: number;
  puts: number;
  heads: number;
  languageRequests: number;
  filesHeld: number;
  /** 400 answers. */
  badRequests: number;
}

export interface JobeSim {
  /** 'http://127.0.0.1:<port>': what an admin types as jobe_host. */
  readonly url: string;
  readonly port: number;
  readonly name: string;
  /** A snapshot of the counters, taken now. */
  stats(): JobeSimStats;
  resetStats(): void;
  fault(mode: FaultMode, options?: { latencyMs?: number }): Promise<void>;
  /** Ends any fault; after 'crash' it listens again on the same port. clearFiles empties the file cache. */
  recover(options?: { clearFiles?: boolean }): Promise<void>;
  hasFile(id: string): boolean;
  close(): Promise<void>;
}
