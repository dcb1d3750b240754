/**
 * Reads a backend URL the way CodeRunner reads jobe_host: `http://` is added when the string
 * does not start with `http`, and `/jobe/index.php/restapi` is appended to whatever path it has.
 */
export function parseBackendUrl(url: string): { origin: string; apiBase: string } {
  const trimmed = url.trim();
  const withScheme = /^http/i.test(trimmed) ? trimmed : `http://${trimmed}`;
  let parsed: URL;
  try {
    parsed = new URL(withScheme);
  } catch {
    throw new Error(`backend url "${url}" is not a URL or host[:port]`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`backend url "${url}" must use http or https`);
  }
  const prefix = parsed.pathname.replace(/\/+$/, '');
  return { origin: parsed.origin, apiBase: `${prefix}/jobe/index.php/restapi` };
}
