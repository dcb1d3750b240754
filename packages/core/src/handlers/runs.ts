import { randomUUID } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import type { Backend } from '../backends/backend.js';
import type { UpstreamResult } from '../backends/upstream.js';
import { Cancellation } from '../cancellation.js';
import { type CoreContext, jobIdOf } from '../context.js';
import type { RetryCause } from '../metrics.js';
import { decodeJsonLikePhp } from '../protocol/php-json.js';
import {
  gatewayError,
  type JobeResponse,
  JSON_CONTENT_TYPE,
  jsonString,
  MISSING_FILES_MESSAGE,
  OUTCOME_OVERLOAD,
  overloadResponse,
  SEMAPHORE_FAILURE_MESSAGE,
  unknownLanguageResponse,
} from '../protocol/responses.js';
import { inspectRunBody, type RunInspection, runOutcome } from '../protocol/run-spec.js';

const MISSING_FILES_BODY = JSON.stringify(MISSING_FILES_MESSAGE);
const SEMAPHORE_BODY = JSON.stringify(SEMAPHORE_FAILURE_MESSAGE);
/** Jobe waits up to jobe_wait_timeout (10 s) for a worker, then compiles and runs with 2 x cputime each. */
const JOBE_WORKER_WAIT_MS = 10_000;

type Attempt =
  | { kind: 'answer'; response: JobeResponse; outcome: number | null }
  | { kind: 'overload' }
  | { kind: 'failover'; cause: RetryCause; error: string }
  | { kind: 'client-gone' }
  /** Missing files another client is uploading right now: wait for them rather than send the 404 back. */
  | { kind: 'await-uploads'; fileIds: string[] };

interface RunRequest {
  inspection: RunInspection;
  body: Buffer;
  headers: IncomingHttpHeaders;
  cancellation: Cancellation;
  /** A run waits for other clients' uploads once at most. */
  waitedForUploads?: boolean;
}

/** How long a run may wait for support files another client is uploading at that moment. */
const UPLOAD_WAIT_MS = 2_000;

/** Unknown to every backend whose list is known: Jobe's own 400, without a backend call. */
function unknownLanguage(ctx: CoreContext, inspection: RunInspection): string | null {
  if (inspection.kind !== 'run') return null;
  const known = ctx.backends.filter((backend) => backend.languagesKnown);
  if (known.length === 0 || known.some((backend) => backend.supports(inspection.languageId))) return null;
  return inspection.languageId;
}

/** POST runs: choose a backend, make its support files present, fail over when it is safe. */
/** What the client gets, which backend answered (for the affinity cookie) and the run's outcome if any. */
export interface RunAnswer {
  response: JobeResponse;
  backend: Backend | undefined;
  outcome: number | null;
}

export async function handleRun(
  ctx: CoreContext,
  body: Buffer,
  headers: IncomingHttpHeaders,
  cancellation: Cancellation,
  /** False for a batch's runs: the files another run is missing come from the same client, after it. */
  awaitUploads = true,
): Promise<RunAnswer | null> {
  // A body PHP would not decode goes to Jobe as it is, for Jobe's own answer.
  const decoded = decodeJsonLikePhp(body);
  const inspection = inspectRunBody(decoded.ok ? decoded.value : undefined);
  const unknown = unknownLanguage(ctx, inspection);
  if (unknown !== null)
    return { response: unknownLanguageResponse(unknown), backend: undefined, outcome: null };
  return dispatch(ctx, { inspection, body, headers, cancellation, waitedForUploads: !awaitUploads });
}

async function dispatch(ctx: CoreContext, run: RunRequest): Promise<RunAnswer | null> {
  const { settings, scheduler, affinity, metrics, logger } = ctx;
  const jobId = jobIdOf(run.headers);
  const inspection = run.inspection;
  const fileIds = inspection.kind === 'run' ? inspection.fileIds : [];
  let bound = (jobId && (await affinity.get(jobId))) || ctx.cookie.backendFrom(run.headers.cookie);
  const key = jobId ?? fileIds[0] ?? randomUUID();
  const exclude = new Set<string>();
  let attempts = 0;
  let retriesAfterSend = 0;
  let sawOverload = false;
  let lastError = 'no backend supports this run';

  while (attempts < settings.maxAttempts) {
    const acquired = await scheduler.acquire({
      languageId: inspection.kind === 'run' ? inspection.languageId : null,
      fileIds,
      key,
      bound,
      exclude,
      cancellation: run.cancellation,
    });
    if (acquired.kind === 'aborted') return null;
    if (acquired.kind === 'overload') {
      metrics.queueOverloads.inc({ why: acquired.why });
      logger.warn(
        { event: 'queue-overload', why: acquired.why, queuedMs: acquired.queuedMs },
        'run answered 21',
      );
      return { response: overloadResponse(), backend: undefined, outcome: OUTCOME_OVERLOAD };
    }
    if (acquired.kind === 'none') break;

    const backend = acquired.backend;
    attempts++;
    exclude.add(backend.name);
    if (jobId) affinity.bind(jobId, backend.name);
    bound = backend.name;
    let attempt: Attempt;
    try {
      attempt = await attemptOn(ctx, backend, run);
    } finally {
      scheduler.release(backend);
    }
    switch (attempt.kind) {
      case 'answer':
        return { response: attempt.response, backend, outcome: attempt.outcome };
      case 'client-gone':
        return null;
      case 'await-uploads': {
        // Not a failure of the backend: give the attempt back, wait without holding a worker slot.
        attempts--;
        exclude.delete(backend.name);
        run.waitedForUploads = true;
        if (await ctx.files.whenHeld(attempt.fileIds, UPLOAD_WAIT_MS, run.cancellation)) continue;
        if (run.cancellation.cancelled) return null;
        return { response: jsonString(404, MISSING_FILES_MESSAGE), backend, outcome: null };
      }
      case 'overload':
        sawOverload = true;
        lastError = `${backend.name} answered overload`;
        break;
      case 'failover': {
        lastError = `${backend.name}: ${attempt.error}`;
        const afterSend = attempt.cause === 'reset' || attempt.cause === 'timeout';
        if (afterSend && retriesAfterSend >= settings.retriesAfterSend) {
          logger.warn(
            { event: 'run-failed', backend: backend.name, error: attempt.error },
            'no retry after send',
          );
          return {
            response: gatewayError(
              attempt.cause === 'timeout' ? 504 : 502,
              `Jobe server did not complete the run (${attempt.cause}); not retried`,
            ),
            backend,
            outcome: null,
          };
        }
        if (afterSend) retriesAfterSend++;
        break;
      }
    }
    const cause: RetryCause = attempt.kind === 'overload' ? 'overload' : attempt.cause;
    metrics.failovers.inc({ cause });
    logger.info(
      { event: 'failover', backend: backend.name, cause, attempt: attempts },
      'run sent to another backend',
    );
  }

  if (sawOverload) return { response: overloadResponse(), backend: undefined, outcome: OUTCOME_OVERLOAD };
  logger.warn({ event: 'no-backend', attempts, lastError }, 'no Jobe server could take the run');
  return {
    response: gatewayError(503, `No Jobe server is available to run this job (tried ${attempts})`),
    backend: undefined,
    outcome: null,
  };
}

function runTimeoutMs(ctx: CoreContext, inspection: RunInspection): number {
  const cputime = inspection.kind === 'run' ? inspection.cputimeSecs : 5;
  return JOBE_WORKER_WAIT_MS + 4 * cputime * 1000 + ctx.settings.runSlackMs;
}

/** One backend's try: the run, and if it lacks files the gateway holds, their upload and one more run. */
async function attemptOn(ctx: CoreContext, backend: Backend, run: RunRequest): Promise<Attempt> {
  // Its own cancellation: an ejection abandons this attempt, not the client's whole run.
  const cancellation = new Cancellation();
  const stopFollowing = run.cancellation.onCancel(() => cancellation.cancel('client'));
  const untrack = backend.track(cancellation);
  const inFlightWhenSent = backend.inFlight;
  const headers = ctx.upstreamHeaders(backend, run.headers);
  const timeoutMs = runTimeoutMs(ctx, run.inspection);
  const fileIds = run.inspection.kind === 'run' ? run.inspection.fileIds : [];
  const sendRun = () =>
    timedSend(ctx, backend, 'runs', () =>
      backend.upstream.send({
        method: 'POST',
        resource: 'runs',
        headers,
        body: run.body,
        timeoutMs,
        cancellation,
      }),
    );
  try {
    let result = await sendRun();
    if (isMissingFiles(result) && fileIds.length > 0) {
      const replayed = await replayFiles(ctx, backend, fileIds, cancellation);
      if (replayed !== null) result = replayed.kind === 'response' ? await sendRun() : replayed;
      if (isMissingFiles(result)) for (const id of fileIds) ctx.locations.forget(id, backend.name);
    }
    if (isMissingFiles(result) && fileIds.length > 0) {
      const notHeld = fileIds.filter((id) => !ctx.files.has(id));
      if (
        !run.waitedForUploads &&
        notHeld.length > 0 &&
        notHeld.every((id) => ctx.files.isUploadExpected(id))
      ) {
        return { kind: 'await-uploads', fileIds: notHeld };
      }
      // The 404 goes back: this client uploads them now, and runs needing them meanwhile may wait.
      ctx.files.expectUploads(notHeld);
    }
    return classify(ctx, backend, run, result, inFlightWhenSent);
  } finally {
    untrack();
    stopFollowing();
  }
}

function isMissingFiles(result: UpstreamResult): boolean {
  return (
    result.kind === 'response' &&
    result.status === 404 &&
    result.body.toString('utf8').trim() === MISSING_FILES_BODY
  );
}

/**
 * PUTs to `backend` every file of the run the gateway holds. Null when it holds none (the client must
 * upload them: Jobe's 404 goes back); otherwise the last PUT's result (a failure stops the replay).
 */
async function replayFiles(
  ctx: CoreContext,
  backend: Backend,
  fileIds: readonly string[],
  cancellation: Cancellation,
): Promise<UpstreamResult | null> {
  const held = fileIds.flatMap((id) => {
    const base64 = ctx.files.base64(id);
    return base64 === undefined ? [] : [{ id, base64 }];
  });
  if (held.length === 0) return null;
  const headers = { ...ctx.upstreamHeaders(backend, {}), 'content-type': 'application/json; charset=utf-8' };
  let last: UpstreamResult | null = null;
  for (const { id, base64 } of held) {
    last = await timedSend(ctx, backend, 'files_put', () =>
      backend.upstream.send({
        method: 'PUT',
        resource: `files/${id}`,
        headers,
        body: JSON.stringify({ file_contents: base64 }),
        timeoutMs: ctx.settings.requestTimeoutMs,
        cancellation,
      }),
    );
    if (last.kind !== 'response' || last.status !== 204) return last;
    ctx.locations.add(id, backend.name);
    ctx.metrics.fileReplays.inc({ backend: backend.name });
  }
  ctx.logger.info(
    { event: 'file-replay', backend: backend.name, files: held.length },
    'support files uploaded by the gateway',
  );
  return last;
}

async function timedSend(
  ctx: CoreContext,
  backend: Backend,
  endpoint: string,
  send: () => Promise<UpstreamResult>,
): Promise<UpstreamResult> {
  const started = performance.now();
  const result = await send();
  ctx.metrics.upstreamSeconds.observe(
    { backend: backend.name, endpoint },
    (performance.now() - started) / 1000,
  );
  return result;
}

/** Decides what a backend's answer means: pass it through, or try elsewhere because nothing useful ran. */
function classify(
  ctx: CoreContext,
  backend: Backend,
  run: RunRequest,
  result: UpstreamResult,
  inFlightWhenSent: number,
): Attempt {
  if (result.kind === 'aborted') {
    if (result.reason === 'client') return { kind: 'client-gone' };
    return { kind: 'failover', cause: 'ejected', error: `abandoned: backend ${result.reason}` };
  }
  if (result.kind === 'failed') {
    backend.recent.record(true);
    ctx.reportHealth(backend, backend.recordFailure(`run: ${result.error}`), 'run');
    const cause: RetryCause =
      result.stage === 'connect' ? 'connect' : result.stage === 'timeout' ? 'timeout' : 'reset';
    return { kind: 'failover', cause, error: result.error };
  }
  const { status, body } = result;
  if (status === 502 || status === 503 || status === 504) {
    backend.recent.record(true);
    ctx.reportHealth(backend, backend.recordFailure(`run: HTTP ${status} from a front proxy`), 'run');
    return { kind: 'failover', cause: 'bad_gateway', error: `HTTP ${status}` };
  }
  if (status === 500 && body.toString('utf8').trim() === SEMAPHORE_BODY) {
    backend.recent.record(true);
    ctx.reportHealth(backend, backend.recordFailure(`run: ${SEMAPHORE_FAILURE_MESSAGE}`), 'run');
    return { kind: 'failover', cause: 'semaphore', error: SEMAPHORE_FAILURE_MESSAGE };
  }
  const outcome = status === 200 || status === 203 ? runOutcome(body) : null;
  backend.recent.record(outcome === OUTCOME_OVERLOAD);
  ctx.reportHealth(backend, backend.recordSuccess(), 'run');
  if (outcome === OUTCOME_OVERLOAD) {
    const isTestHook = run.inspection.kind === 'run' && run.inspection.isOverloadTest;
    if (!isTestHook) backend.noteOverload(inFlightWhenSent);
    backend.recordOutcome(OUTCOME_OVERLOAD);
    return { kind: 'overload' };
  }
  if (outcome !== null) {
    backend.recordOutcome(outcome);
    if (run.inspection.kind === 'run') {
      for (const id of run.inspection.fileIds) ctx.locations.add(id, backend.name);
      const { languageId, fileIds } = run.inspection;
      ctx.outliers?.observe(backend, { languageId, fileSet: fileIds[0] ?? '', outcome });
    }
  }
  return {
    kind: 'answer',
    response: { status, headers: { 'content-type': result.contentType ?? JSON_CONTENT_TYPE }, body },
    outcome,
  };
}
