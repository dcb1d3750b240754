/**
 * Backend URLs are written the way an admin writes CodeRunner's jobe_host: `jobe1`, `jobe1:8080`,
 * `http://jobe1:8080`, `https://jobe1/prefix`. CodeRunner adds `http://` when there is no scheme.
 */

const SCHEME = /^([A-Za-z][A-Za-z0-9+.-]*):\/\//;

/** The backend URL with a scheme and without trailing slashes, or `undefined` when it is not usable. */
export function normaliseBackendUrl(url: string): string | undefined {
  const text = url.trim();
  if (text === '') return undefined;
  const scheme = SCHEME.exec(text)?.[1];
  if (scheme !== undefined && !/^https?$/i.test(scheme)) return undefined;
  const full = scheme === undefined ? `http://${text}` : text;
  let parsed: URL;
  try {
    parsed = new URL(full);
  } catch {
    return undefined;
  }
  if (parsed.hostname === '' || parsed.search !== '' || parsed.hash !== '') return undefined;
  if (parsed.username !== '' || parsed.password !== '') return undefined;
  return full.replace(/\/+$/, '');
}

/** Where CodeRunner would ask this backend for its languages. */
export function languagesUrl(url: string): string {
  const base = normaliseBackendUrl(url) ?? url;
  return `${base}/jobe/index.php/restapi/languages`;
}
