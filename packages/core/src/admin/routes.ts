import type { IncomingHttpHeaders } from 'node:http';
import type { JobeBalancer } from '../api.js';
import type { CoreSettings } from '../context.js';
import { InvalidOptionsError, OptionError } from '../options/option-error.js';
import type { AdminState, BackendOptions } from '../options.js';
import { type JobeResponse, jsonString, jsonValue } from '../protocol/responses.js';
import { hasAdminToken } from './auth.js';
import { DASHBOARD_ASSETS, DASHBOARD_HTML } from './dashboard.js';

const ADMIN_STATES = new Set<AdminState>(['ready', 'drain', 'maint']);
const notFound = (): JobeResponse => jsonString(404, 'Not found');
const unauthorized = (): JobeResponse => ({
  ...jsonString(401, 'Admin token required: send Authorization: Bearer <token>'),
  headers: { 'content-type': 'application/json; charset=UTF-8', 'www-authenticate': 'Bearer' },
});

/** The same coded problems createBalancer and the command report: `{ error, problems: [{ code, path, message }] }`. */
const cannotAdd = (problems: readonly OptionError[]): JobeResponse =>
  jsonValue(400, { error: 'Cannot add backend', problems });

/**
 * The dashboard loads nothing but its own files: no inline code, no framing (clickjacking of the drain
 * buttons), no other origin.
 */
const DASHBOARD_HEADERS = {
  'content-security-policy':
    "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-frame-options': 'DENY',
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/** `<mount>/_balancer/` itself, or one of its hashed script and style files. */
function dashboard(request: AdminRequest, file: string | undefined): JobeResponse | undefined {
  const { method, segments } = request;
  if (method !== 'GET' && method !== 'HEAD') return undefined;
  if (file === undefined) {
    // Without the slash the page's relative URLs (its files, status) would miss `_balancer/`.
    if (!request.trailingSlash) return { status: 308, headers: { location: '_balancer/' }, body: '' };
    return {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        ...DASHBOARD_HEADERS,
      },
      body: DASHBOARD_HTML,
    };
  }
  const asset = segments.length === 1 ? DASHBOARD_ASSETS.find((a) => a.name === file) : undefined;
  if (asset === undefined) return undefined;
  return {
    status: 200,
    headers: {
      'content-type': asset.contentType,
      // The name changes with the content.
      'cache-control': 'public, max-age=31536000, immutable',
      ...DASHBOARD_HEADERS,
    },
    body: asset.body,
  };
}

export interface AdminRequest {
  method: string;
  /** Whether the path ended in `/` (the dashboard's relative URLs need it). */
  trailingSlash: boolean;
  segments: string[];
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: () => Promise<Buffer>;
}

/**
 * `<mount>/_balancer/...`: dashboard, status, metrics and, with an admin token configured, the
 * state changes an operator needs during term (drain, ready, maint, add, remove).
 */
export async function handleAdmin(
  balancer: JobeBalancer,
  settings: CoreSettings,
  request: AdminRequest,
): Promise<JobeResponse> {
  const { method, segments, headers } = request;
  const authorized = hasAdminToken(headers, settings.adminToken);
  const [first, name, action] = segments;

  if (first === undefined || first.startsWith('dashboard.')) {
    if (settings.adminToken === null && !settings.publicStatus) return notFound();
    return dashboard(request, first) ?? notFound();
  }
  if (first === 'metrics' && segments.length === 1 && method === 'GET') {
    if (!settings.publicMetrics && !authorized) return unauthorized();
    const registry = balancer.metricsRegistry;
    return { status: 200, headers: { 'content-type': registry.contentType }, body: await registry.metrics() };
  }
  if (first === 'status' && segments.length === 1 && method === 'GET') {
    if (settings.adminToken === null && !settings.publicStatus) return notFound();
    if (!settings.publicStatus && !authorized) return unauthorized();
    return jsonValue(200, balancer.status());
  }
  if (first !== 'backends') return notFound();
  // Everything below changes state: off without a token.
  if (settings.adminToken === null) return notFound();
  if (!authorized) return unauthorized();
  return handleBackendAdmin(balancer, request, name, action);
}

async function handleBackendAdmin(
  balancer: JobeBalancer,
  request: AdminRequest,
  name: string | undefined,
  action: string | undefined,
): Promise<JobeResponse> {
  const { method, segments, query } = request;
  const find = (backendName: string) => balancer.status().backends.find((b) => b.name === backendName);
  if (name === undefined) {
    if (method === 'GET') return jsonValue(200, balancer.status().backends);
    if (method !== 'POST') return notFound();
    let options: BackendOptions;
    try {
      options = JSON.parse((await request.body()).toString('utf8')) as BackendOptions;
    } catch {
      return cannotAdd([new OptionError('invalid', '', 'the body must be a JSON backend object')]);
    }
    try {
      balancer.addBackend(options);
    } catch (error) {
      if (error instanceof InvalidOptionsError) return cannotAdd(error.problems);
      throw error;
    }
    return jsonValue(201, find(options.name));
  }
  if (!find(name)) return jsonString(404, `No backend named "${name}"`);
  if (segments.length === 2) {
    if (method === 'GET') return jsonValue(200, find(name));
    if (method !== 'DELETE') return notFound();
    await balancer.removeBackend(name);
    return jsonValue(200, { removed: name });
  }
  if (segments.length !== 3 || action === undefined) return notFound();
  if (method === 'POST' && ADMIN_STATES.has(action as AdminState)) {
    balancer.setBackendState(name, action as AdminState);
    return jsonValue(200, find(name));
  }
  if (method === 'POST' && action === 'check') {
    await balancer.checkNow();
    return jsonValue(200, find(name));
  }
  if (method === 'GET' && action === 'drained') {
    const timeoutMs = Math.min(Number(query.get('timeoutMs') ?? 60_000) || 60_000, 600_000);
    try {
      await balancer.waitForDrained(name, timeoutMs);
      return jsonValue(200, find(name));
    } catch {
      return jsonString(504, `Backend "${name}" still has runs in flight after ${timeoutMs} ms`);
    }
  }
  return notFound();
}
