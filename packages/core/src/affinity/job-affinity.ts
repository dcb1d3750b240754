import { createHmac } from 'node:crypto';
import { LRUCache } from 'lru-cache';

/** Job id → backend name, for the few seconds one CodeRunner execute() lasts. */
export class JobAffinity {
  private readonly bindings: LRUCache<string, string>;

  constructor(ttlMs: number, maxEntries: number) {
    this.bindings = new LRUCache<string, string>({
      max: Math.max(1, maxEntries),
      ttl: ttlMs,
      updateAgeOnGet: true,
    });
  }

  get(jobId: string): string | undefined {
    return this.bindings.get(jobId);
  }

  bind(jobId: string, backend: string): void {
    this.bindings.set(jobId, backend);
  }

  get size(): number {
    return this.bindings.size;
  }
}

/**
 * The affinity cookie's value: an HMAC of the backend name, so the cookie never names a backend in clear
 * and replicas configured with the same secret read each other's cookies.
 */
export class AffinityCookie {
  private tokens = new Map<string, string>();

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
    return `${this.name}=${this.token(backend)}; Path=/; HttpOnly; SameSite=Lax`;
  }
}
