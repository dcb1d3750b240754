import { type BackendOptions, languagesUrl } from '@jobe-balancer/core';
import type { ResolvedConfig } from './config.js';

export interface BackendCheck {
  name: string;
  url: string;
  ok: boolean;
  /** Languages the backend reported (when `ok`). */
  languages?: number;
  /** Why the backend failed the check. */
  error?: string;
}

const DEFAULT_TIMEOUT_MS = 10_000;

function describeFailure(error: unknown, timeoutMs: number): string {
  if (error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError')) {
    return `no answer within ${timeoutMs} ms`;
  }
  // fetch wraps the socket error ("connect ECONNREFUSED 127.0.0.1:1") in a generic "fetch failed".
  const cause =
    error instanceof Error ? (error.cause as { message?: string; code?: string } | undefined) : undefined;
  if (cause?.message) return cause.message;
  if (cause?.code) return cause.code;
  return error instanceof Error ? error.message : String(error);
}

/** `GET languages` on one backend, as CodeRunner would ask it; ok when it answers a JSON array. */
export async function checkBackend(
  backend: BackendOptions,
  timeoutMs = DEFAULT_TIMEOUT_MS,
): Promise<BackendCheck> {
  const url = languagesUrl(backend.url);
  const result = { name: backend.name, url: backend.url };
  try {
    const response = await fetch(url, {
      headers: { accept: 'application/json', ...(backend.apiKey ? { 'x-api-key': backend.apiKey } : {}) },
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = await response.text();
    if (response.status !== 200)
      return { ...result, ok: false, error: `HTTP ${response.status} from ${url}` };
    let languages: unknown;
    try {
      languages = JSON.parse(body);
    } catch {
      return { ...result, ok: false, error: `${url} did not answer JSON` };
    }
    if (!Array.isArray(languages)) {
      return { ...result, ok: false, error: `${url} did not answer a JSON array of languages` };
    }
    return { ...result, ok: true, languages: languages.length };
  } catch (error) {
    return { ...result, ok: false, error: describeFailure(error, timeoutMs) };
  }
}

/** Checks every backend at once. */
export function checkBackends(config: ResolvedConfig): Promise<BackendCheck[]> {
  const timeoutMs = config.timeouts?.requestMs ?? DEFAULT_TIMEOUT_MS;
  return Promise.all(config.backends.map((backend) => checkBackend(backend, timeoutMs)));
}

/** One line per backend, names and URLs aligned. */
export function formatChecks(checks: readonly BackendCheck[]): string[] {
  const nameWidth = Math.max(...checks.map((check) => check.name.length));
  const urlWidth = Math.max(...checks.map((check) => check.url.length));
  return checks.map((check) => {
    const outcome = check.ok ? `OK (${check.languages} languages)` : `FAILED: ${check.error}`;
    return `${check.name.padEnd(nameWidth)}  ${check.url.padEnd(urlWidth)}  ${outcome}`;
  });
}
