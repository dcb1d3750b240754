/** The resource a request path names, after the mount point. */
export type Route =
  | { kind: 'languages' }
  | { kind: 'runs' }
  | { kind: 'file'; fileId: string }
  | { kind: 'admin'; segments: string[]; query: URLSearchParams }
  | { kind: 'not-found' };

const API_PREFIXES = [
  ['jobe', 'index.php', 'restapi'],
  ['jobe', 'public', 'index.php', 'restapi'],
  ['index.php', 'restapi'],
  ['public', 'index.php', 'restapi'],
  ['restapi'],
];
const FILE_ID = /^[A-Za-z0-9]+$/;

function decodeSegment(segment: string): string | null {
  try {
    return decodeURIComponent(segment);
  } catch {
    return null;
  }
}

/** The exact paths CodeRunner's runs and language lists use, answered without parsing (every run hits one). */
const EXACT_ROUTES = new Map<string, Route>();
for (const prefix of API_PREFIXES) {
  for (const kind of ['languages', 'runs'] as const) {
    const route: Route = Object.freeze({ kind });
    const path = `/${[...prefix, kind].join('/')}`;
    EXACT_ROUTES.set(path, route);
    EXACT_ROUTES.set(`${path}/`, route);
  }
}

/**
 * Maps `/index.php/restapi/runs/`, `/jobe/index.php/restapi/files/<id>`, `/restapi/languages`
 * (what CodeRunner sends under any mount) and `/_balancer/...` to a route.
 * CodeIgniter trims one leading and trailing slash before matching; everything else is a framework 404.
 */
export function parseRoute(rawPath: string): Route {
  return EXACT_ROUTES.get(rawPath) ?? parseRouteInFull(rawPath);
}

/** `parseRoute` without its table of exact paths (exported for the test that compares the two). */
export function parseRouteInFull(rawPath: string): Route {
  const queryAt = rawPath.indexOf('?');
  const pathOnly = queryAt === -1 ? rawPath : rawPath.slice(0, queryAt);
  const query = new URLSearchParams(queryAt === -1 ? '' : rawPath.slice(queryAt + 1));
  const trimmed = pathOnly.replace(/^\/+/, '').replace(/\/+$/, '');
  const rawSegments = trimmed === '' ? [] : trimmed.split('/');
  const segments: string[] = [];
  for (const raw of rawSegments) {
    const decoded = decodeSegment(raw);
    // An encoded slash or an empty segment (`a//b`) would let one segment pose as two.
    if (decoded === null || decoded === '' || decoded.includes('/')) return { kind: 'not-found' };
    segments.push(decoded);
  }

  const adminAt = segments[0] === 'jobe' && segments[1] === '_balancer' ? 1 : 0;
  if (segments[adminAt] === '_balancer')
    return { kind: 'admin', segments: segments.slice(adminAt + 1), query };

  for (const prefix of API_PREFIXES) {
    if (!prefix.every((part, i) => segments[i] === part)) continue;
    const rest = segments.slice(prefix.length);
    if (rest.length === 1 && rest[0] === 'languages') return { kind: 'languages' };
    if (rest.length === 1 && rest[0] === 'runs') return { kind: 'runs' };
    if (rest.length === 2 && rest[0] === 'files' && FILE_ID.test(rest[1]!)) {
      return { kind: 'file', fileId: rest[1]! };
    }
    return { kind: 'not-found' };
  }
  return { kind: 'not-found' };
}
