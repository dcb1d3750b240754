import type { IncomingHttpHeaders } from 'node:http';
import type { Cancellation } from '../cancellation.js';
import type { CoreContext } from '../context.js';
import { decodeJsonLikePhp } from '../protocol/php-json.js';
import {
  type JobeResponse,
  jsonString,
  jsonValue,
  OUTCOME_OVERLOAD,
  overloadResponse,
} from '../protocol/responses.js';
import type { BatchShare } from '../scheduling/batch-share.js';
import { handleRun } from './runs.js';

/** One run's answer in a batch: Jobe's status and body (as JSON, or as text when it was not JSON). */
export type BatchSlot = { status: number; body: unknown } | { status: number; text: string };

/** Headers each run of a batch is sent with: the batch's own, minus what binds a run to one backend. */
function runHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const { 'x-coderunner-job-id': _jobId, cookie: _cookie, ...rest } = headers;
  return rest;
}

function slotOf(response: JobeResponse): BatchSlot {
  const text = Buffer.isBuffer(response.body) ? response.body.toString('utf8') : response.body;
  try {
    return { status: response.status, body: text === '' ? '' : (JSON.parse(text) as unknown) };
  } catch {
    return { status: response.status, text };
  }
}

/** Why a batch body is refused (Jobe-style message), or its run_specs. */
function batchRuns(body: Buffer, maxRuns: number): { runs: unknown[] } | { refusal: string } {
  const decoded = decodeJsonLikePhp(body);
  const value = decoded.ok ? decoded.value : undefined;
  const runs =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)['runs']
      : undefined;
  if (!Array.isArray(runs)) return { refusal: 'batch: expected a JSON object {"runs": [run_spec, ...]}' };
  if (runs.length === 0) return { refusal: 'batch: runs is empty' };
  if (runs.length > maxRuns)
    return { refusal: `batch: at most ${maxRuns} runs per batch, got ${runs.length}` };
  const bad = runs.findIndex((run) => typeof run !== 'object' || run === null || Array.isArray(run));
  if (bad !== -1) return { refusal: `batch: runs[${bad}] is not a run_spec object` };
  return { runs };
}

/**
 * `POST <mount>/_balancer/batch`: every run goes through the same path as a single `POST runs` (queue,
 * capacity, failover, file replay), under the batches' share of the fleet; the answers come back in order.
 * Null when the client left (its runs are abandoned at once).
 */
export async function handleBatch(
  ctx: CoreContext,
  share: BatchShare,
  maxRuns: number,
  body: Buffer,
  headers: IncomingHttpHeaders,
  cancellation: Cancellation,
  onRunAnswered: (status: number, outcome: number | null) => void,
): Promise<JobeResponse | null> {
  const parsed = batchRuns(body, maxRuns);
  if ('refusal' in parsed) return jsonString(400, parsed.refusal);
  const { runs } = parsed;
  const forwarded = runHeaders(headers);
  const slots = new Array<BatchSlot>(runs.length);

  const runOne = async (index: number): Promise<boolean> => {
    const turn = await share.acquire(cancellation);
    if (turn === 'cancelled') return false;
    if (turn === 'full') {
      // Like a single run that finds the gateway's queue full: Jobe's overload answer, nothing ran.
      ctx.metrics.queueOverloads.inc({ why: 'queue-full' });
      onRunAnswered(200, OUTCOME_OVERLOAD);
      slots[index] = slotOf(overloadResponse());
      return true;
    }
    try {
      const runBody = Buffer.from(JSON.stringify({ run_spec: runs[index] }));
      const answer = await handleRun(ctx, runBody, forwarded, cancellation, false);
      if (answer === null) return false;
      onRunAnswered(answer.response.status, answer.outcome);
      slots[index] = slotOf(answer.response);
      return true;
    } finally {
      share.release();
    }
  };
  const answered = await Promise.all(runs.map((_run, index) => runOne(index)));
  if (cancellation.cancelled || answered.includes(false)) return null;
  return jsonValue(200, { results: slots });
}
