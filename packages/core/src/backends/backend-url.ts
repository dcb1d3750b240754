/**
 * Backend URLs are written the way an admin writes CodeRunner's jobe_host: `jobe1`, `jobe1:8080`,
 * `http://jobe1:8080`, `https://jobe1/prefix`. CodeRunner adds `http://` when there is no scheme and
 * appends `/jobe/index.php/restapi` to whatever path there is.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;
/** `file:/etc/passwd`, `data:...`: a scheme without `//`, which `http://` must not turn into a host name. */
const BARE_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:(?![0-9]+(\/|$))/;
/** Longer than any real host name and path; the URL is kept and shown in status. */
export const MAX_BACKEND_URL_LENGTH = 2048;

export type BackendUrlProblem = 'invalid' | 'credentials';

/** Why the URL cannot be a backend, or its normal form (scheme added, trailing slashes removed). */
export function checkBackendUrl(url: string): { url: string } | { problem: BackendUrlProblem } {
  const text = url.trim();
  if (text === '' || text.length > MAX_BACKEND_URL_LENGTH) return { problem: 'invalid' };
  const scheme = SCHEME.exec(text)?.[1];
  if (scheme !== undefined && !/^https?$/i.test(scheme)) return { problem: 'invalid' };
  if (scheme === undefined && BARE_SCHEME.test(text)) return { problem: 'invalid' };
  const full = scheme === undefined ? `http://${text}` : text;
  let parsed: URL;
  try {
    parsed = new URL(full);
  } catch {
    return { problem: 'invalid' };
  }
  if (parsed.username !== '' || parsed.password !== '') return { problem: 'credentials' };
  if (parsed.hostname === '' || parsed.search !== '' || parsed.hash !== '') return { problem: 'invalid' };
  return { url: full.replace(/\/+$/, '') };
}

/** The backend URL with a scheme and without trailing slashes, or `undefined` when it is not usable. */
export function normaliseBackendUrl(url: string): string | undefined {
  const checked = checkBackendUrl(url);
  return 'url' in checked ? checked.url : undefined;
}

/** Where the gateway sends a backend's requests: its origin, and the path CodeRunner would use. */
export function parseBackendUrl(url: string): { origin: string; apiBase: string } {
  const normal = normaliseBackendUrl(url);
  if (normal === undefined) throw new Error('backend url is not an http(s) URL or host[:port]');
  const parsed = new URL(normal);
  const prefix = parsed.pathname.replace(/\/+$/, '');
  return { origin: parsed.origin, apiBase: `${prefix}/jobe/index.php/restapi` };
}

/** Where CodeRunner would ask this backend for its languages. */
export function languagesUrl(url: string): string {
  const base = normaliseBackendUrl(url) ?? url;
  return `${base}/jobe/index.php/restapi/languages`;
}
