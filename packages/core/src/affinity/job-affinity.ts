import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import {
  CODERUNNER_JOB_ID_LENGTH,
  stringBytes,
  type TableUse,
  tableBound,
  tableEntryBytes,
} from '../table-bytes.js';
import type { AffinityStore } from './affinity-store.js';

/** Backend names up to this long leave room for `maxEntries` bindings of CodeRunner's 8-digit job ids. */
const NAME_LENGTH_SIZED_FOR = 32;
/** The longest job id `jobIdOf()` accepts. */
const MAX_JOB_ID_LENGTH = 64;

/** A binding's memory: its entry and job id, and its backend name (a copy when read from a shared store). */
const bindingBytes = (jobId: string, backend: string) =>
  tableEntryBytes(jobId.length) + stringBytes(backend.length);

/**
 * Job id → backend name, for the few seconds one CodeRunner execute() lasts: a bounded local table,
 * and optionally a store shared with other gateway replicas (consulted on a local miss). Bounded in
 * bytes too, keys and names counted: `maxEntries` CodeRunner bindings fit, fewer with longer job ids.
 */
export class JobAffinity {
  private readonly bindings: LRUCache<string, string>;

  constructor(
    private readonly ttlMs: number,
    maxEntries: number,
    private readonly shared: AffinityStore | undefined,
  ) {
    const max = Math.max(1, maxEntries);
    this.bindings = new LRUCache<string, string>({
      max,
      maxSize: tableBound(
        max,
        tableEntryBytes(CODERUNNER_JOB_ID_LENGTH) + stringBytes(NAME_LENGTH_SIZED_FOR),
        tableEntryBytes(MAX_JOB_ID_LENGTH) + stringBytes(NAME_LENGTH_SIZED_FOR),
      ),
      sizeCalculation: (backend, jobId) => bindingBytes(jobId, backend),
      ttl: ttlMs,
      updateAgeOnGet: true,
    });
  }

  async get(jobId: string): Promise<string | undefined> {
    const local = this.bindings.get(jobId);
    if (local !== undefined || !this.shared) return local;
    const remote = await this.shared.get(jobId);
    if (remote !== undefined) this.bindings.set(jobId, remote);
    return remote;
  }

  bind(jobId: string, backend: string): void {
    if (this.bindings.get(jobId) === backend) return;
    this.bindings.set(jobId, backend);
    void this.shared?.set(jobId, backend, this.ttlMs);
  }

  get size(): number {
    return this.bindings.size;
  }

  get use(): TableUse {
    return {
      entries: this.bindings.size,
      bytes: this.bindings.calculatedSize,
      maxBytes: this.bindings.maxSize,
    };
  }

  /** lru-cache drops an expired entry only when it is read: sweep the rest so the table stays small. */
  purgeStale(): void {
    this.bindings.purgeStale();
  }
}

/**
 * The affinity cookie's value: an HMAC of the backend name, so the cookie never names a backend in clear
 * and replicas configured with the same secret read each other's cookies.
 */
export class AffinityCookie {
  /** token → backend name, and backend name → the Set-Cookie value (an HMAC per response would cost). */
  private tokens = new Map<string, string>();
  private headers = new Map<string, string>();

  constructor(
    readonly name: string,
    private readonly secret: string,
  ) {}

  token(backend: string): string {
    return createHmac('sha256', this.secret).update(backend).digest('base64url').slice(0, 22);
  }

  /** Recomputes the token table when backends come and go. */
  setBackends(names: readonly string[]): void {
    this.tokens = new Map(names.map((name) => [this.token(name), name]));
    this.headers = new Map(
      names.map((name) => [name, `${this.name}=${this.token(name)}; Path=/; HttpOnly; SameSite=Lax`]),
    );
  }

  backendFrom(cookieHeader: string | undefined): string | undefined {
    if (!cookieHeader) return undefined;
    for (const part of cookieHeader.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1 || part.slice(0, eq).trim() !== this.name) continue;
      const backend = this.tokens.get(part.slice(eq + 1).trim());
      if (backend) return backend;
    }
    return undefined;
  }

  header(backend: string): string {
    return this.headers.get(backend) ?? `${this.name}=${this.token(backend)}; Path=/; HttpOnly; SameSite=Lax`;
  }
}
