import type { IncomingHttpHeaders } from 'node:http';
import type { Backend } from '../backends/backend.js';
import type { UpstreamResult } from '../backends/upstream.js';
import { type CoreContext, jobIdOf } from '../context.js';
import { strictBase64 } from '../files/file-store.js';
import { isPhpEmptyFileId, isStorableFileId } from '../protocol/file-ids.js';
import { decodeJsonLikePhp } from '../protocol/php-json.js';
import { phpStringOfScalar } from '../protocol/php-string.js';
import {
  frameworkServerError,
  gatewayError,
  headMissingId,
  type JobeResponse,
  noContent,
  putBadBase64,
  putMissingContents,
  putWriteFailed,
} from '../protocol/responses.js';

export interface FileAnswer {
  response: JobeResponse;
  backend: Backend | undefined;
}

/** The backend a job's requests go to: its binding, its cookie, or (bound now) the scheduler's choice. */
async function jobBackend(
  ctx: CoreContext,
  headers: IncomingHttpHeaders,
  fileId: string,
): Promise<Backend | undefined> {
  const jobId = jobIdOf(headers);
  const named = (jobId && (await ctx.affinity.get(jobId))) || ctx.cookie.backendFrom(headers.cookie);
  let backend = named ? ctx.backend(named) : undefined;
  // A backend out of service gets no PUT (a hung one would hold the client): the run goes elsewhere
  // and the gateway's copy follows it.
  if (backend?.adminState === 'maint' || backend?.health === 'ejected') backend = undefined;
  if (!backend && jobId) {
    backend = ctx.scheduler.preferred({
      languageId: null,
      fileIds: [fileId],
      key: jobId,
      bound: undefined,
      exclude: new Set(),
    });
  }
  if (backend && jobId) ctx.affinity.bind(jobId, backend.name);
  return backend;
}

async function putOn(
  ctx: CoreContext,
  backend: Backend,
  fileId: string,
  body: Buffer | string,
  headers: IncomingHttpHeaders,
) {
  const started = performance.now();
  const result = await backend.upstream.send({
    method: 'PUT',
    resource: `files/${fileId}`,
    headers: { ...ctx.upstreamHeaders(backend, headers), 'content-type': 'application/json; charset=utf-8' },
    body,
    timeoutMs: ctx.settings.requestTimeoutMs,
  });
  ctx.metrics.upstreamSeconds.observe(
    { backend: backend.name, endpoint: 'files_put' },
    (performance.now() - started) / 1000,
  );
  if (result.kind === 'response' && result.status === 204) ctx.locations.add(fileId, backend.name);
  return result;
}

/**
 * PUT files/<id>: validated like Jobe, kept by the gateway (so any backend can be given it later) and
 * forwarded to the job's backend. Without a job id the gateway's copy is enough; a file too large to
 * keep is copied to every backend instead.
 */
export async function handlePutFile(
  ctx: CoreContext,
  fileId: string,
  raw: Buffer,
  headers: IncomingHttpHeaders,
): Promise<FileAnswer> {
  // Jobe's getJSON() failing is a framework 500; an empty body is no JSON, so "missing".
  const decoded = decodeJsonLikePhp(raw);
  if (!decoded.ok && decoded.why === 'too-many-values') return forwardUnread(ctx, fileId, raw, headers);
  if (!decoded.ok) return { response: frameworkServerError(headers.accept), backend: undefined };
  const parsed = decoded.value;
  const fileContents =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)['file_contents']
      : undefined;
  if (fileContents === undefined || fileContents === null)
    return { response: putMissingContents(), backend: undefined };
  // PHP 8: base64_decode() of an array or object is a TypeError, i.e. the framework's 500.
  if (typeof fileContents === 'object')
    return { response: frameworkServerError(headers.accept), backend: undefined };
  const base64 = phpStringOfScalar(fileContents as string | number | boolean);
  const compact = strictBase64(base64);
  if (compact === null) return { response: putBadBase64(fileId), backend: undefined };
  // No Jobe can write it, so no backend is asked and nothing is kept: Jobe's own answer, from here.
  if (!isStorableFileId(fileId)) return { response: putWriteFailed(fileId), backend: undefined };

  const kept = ctx.files.putBase64(fileId, compact);
  // The client's own bytes, when they are Jobe's plain form, spare a copy of the whole file as a string.
  const forwardBody = typeof fileContents === 'string' ? raw : JSON.stringify({ file_contents: base64 });
  const backend = await jobBackend(ctx, headers, fileId);
  if (backend) {
    const result = await putOn(ctx, backend, fileId, forwardBody, headers);
    if (result.kind === 'response' && result.status !== 204)
      return { response: passedThrough(result), backend };
    if (result.kind === 'response' || kept) return { response: noContent(), backend };
    return { response: gatewayError(503, `Could not store file ${fileId} on a Jobe server`), backend };
  }
  if (kept) return { response: noContent(), backend: undefined };

  const everywhere = ctx.scheduler.candidates({ languageId: null, bound: undefined, exclude: new Set() });
  const results = await Promise.all(
    everywhere.map((target) => putOn(ctx, target, fileId, forwardBody, headers)),
  );
  const allStored = results.length > 0 && results.every((r) => r.kind === 'response' && r.status === 204);
  if (allStored) return { response: noContent(), backend: undefined };
  return {
    response: gatewayError(503, `Could not store file ${fileId} on every Jobe server`),
    backend: undefined,
  };
}

function passedThrough(result: UpstreamResult & { kind: 'response' }): JobeResponse {
  return { status: result.status, headers: { 'content-type': result.contentType ?? '' }, body: result.body };
}

/**
 * A body with more values than the gateway parses (no CodeRunner upload has them): Jobe judges it, on the
 * job's backend or the preferred one, and the gateway keeps no copy.
 */
async function forwardUnread(
  ctx: CoreContext,
  fileId: string,
  raw: Buffer,
  headers: IncomingHttpHeaders,
): Promise<FileAnswer> {
  const noBinding = {
    languageId: null,
    fileIds: [fileId],
    key: fileId,
    bound: undefined,
    exclude: new Set<string>(),
  };
  const backend = (await jobBackend(ctx, headers, fileId)) ?? ctx.scheduler.preferred(noBinding);
  if (!backend) return { response: gatewayError(503, 'No Jobe server is available'), backend: undefined };
  const result = await putOn(ctx, backend, fileId, raw, headers);
  if (result.kind === 'response') return { response: passedThrough(result), backend };
  return { response: gatewayError(503, `Could not store file ${fileId} on a Jobe server`), backend };
}

/** HEAD files/<id>: 204 only when the gateway can give the file to whichever backend a run lands on. */
export function handleHeadFile(ctx: CoreContext, fileId: string): JobeResponse {
  if (isPhpEmptyFileId(fileId)) return headMissingId();
  return ctx.files.has(fileId) ? noContent(204) : noContent(404);
}
