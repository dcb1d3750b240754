/**
 * Jobe's routes (app/Config/Routes.php) under the three prefixes a Jobe can be reached at:
 * `/jobe/index.php` (Apache install, CodeRunner), `/index.php` and none (nginx sample config).
 * CodeIgniter trims slashes around the route path; auto-routing is off, so anything else is a framework 404.
 */
export type Route =
  | { kind: 'languages' }
  | { kind: 'runs' }
  | { kind: 'putFile'; fileId: string }
  | { kind: 'headFile'; fileId: string }
  | { kind: 'options' }
  | { kind: 'notFound' };

const PREFIXES = ['/jobe/index.php', '/index.php'];
const FILES_ROUTE = /^restapi\/files\/([a-zA-Z0-9]+)$/;
const NOT_FOUND: Route = { kind: 'notFound' };

const ABSOLUTE_FORM = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/?#]*/;

export function routePath(url: string): string {
  // A request line may carry an absolute URL (RFC 9112 absolute-form); only its path matters.
  let path = url.startsWith('/') ? url : url.replace(ABSOLUTE_FORM, '');
  const query = path.search(/[?#]/);
  if (query >= 0) path = path.slice(0, query);
  if (path.includes('%')) {
    try {
      path = decodeURIComponent(path);
    } catch {
      // Keep the raw path: it will not match a route.
    }
  }
  for (const prefix of PREFIXES) {
    if (path === prefix || path.startsWith(`${prefix}/`)) {
      path = path.slice(prefix.length);
      break;
    }
  }
  let start = 0;
  let end = path.length;
  while (start < end && path[start] === '/') start++;
  while (end > start && path[end - 1] === '/') end--;
  return path.slice(start, end);
}

/** `preflight`: the request carries Access-Control-Request-Method (CodeIgniter's CORS filter answers it). */
export function route(method: string, url: string, preflight = false): Route {
  if (method === 'OPTIONS') return preflight ? { kind: 'options' } : NOT_FOUND;
  const path = routePath(url);
  switch (method) {
    case 'GET':
      return path === 'restapi/languages' ? { kind: 'languages' } : NOT_FOUND;
    case 'POST':
      return path === 'restapi/runs' ? { kind: 'runs' } : NOT_FOUND;
    case 'PUT':
    case 'HEAD': {
      const match = FILES_ROUTE.exec(path);
      if (!match) return NOT_FOUND;
      return method === 'PUT'
        ? { kind: 'putFile', fileId: match[1]! }
        : { kind: 'headFile', fileId: match[1]! };
    }
    default:
      return NOT_FOUND;
  }
}
