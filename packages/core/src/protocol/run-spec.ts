import { isStorableFileId } from './file-ids.js';
import { phpStrtolower } from './php-string.js';

/** Jobe's cputime default (seconds) and `cputime_upper_limit_secs`. */
export const DEFAULT_CPUTIME_SECS = 5;
export const MAX_CPUTIME_SECS = 120;
export const OVERLOAD_TEST_SOURCE = '!** TESTING OVERLOAD EXCEPTION **!';
/**
 * File ids of one run the gateway routes by and replays (a question's support files and attachments are
 * a handful). Each costs a look-up per candidate backend at every scheduling pass and a file-location
 * entry after the run, so a file_list of 8 MiB must not count whole. Further files still reach Jobe in
 * the body; if they are missing, Jobe's 404 makes CodeRunner upload them.
 */
export const MAX_ROUTED_FILE_IDS = 256;

/** What the gateway needs to know about a POST runs body to route it. */
export type RunInspection =
  /** Jobe itself must judge it (bad JSON, missing attributes...): forward to any backend, pass the answer through. */
  | { kind: 'for-any-backend' }
  | {
      kind: 'run';
      /** Lower-cased, as Jobe normalises it. */
      languageId: string;
      /**
       * Valid file ids of file_list a Jobe could hold, in order, without duplicates, at most MAX_ROUTED_FILE_IDS. An id too long for
       * any Jobe's file cache is left out: every backend answers Jobe's missing-file 404 for it anyway,
       * and the gateway keeps no state for a file that cannot exist.
       */
      fileIds: string[];
      cputimeSecs: number;
      /** Jobe's test hook: every backend answers it with outcome 21 at once. */
      isOverloadTest: boolean;
    };

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** PHP intval() of a JSON value, as Jobe applies it to `parameters.cputime`. */
function phpIntval(value: unknown): number {
  if (typeof value === 'number') return Number.isFinite(value) ? Math.trunc(value) : 0;
  if (typeof value === 'string') {
    const match = /^\s*[+-]?\d+/.exec(value);
    return match ? Number.parseInt(match[0], 10) : 0;
  }
  if (typeof value === 'boolean') return value ? 1 : 0;
  return 0;
}

export function inspectRunBody(parsed: unknown): RunInspection {
  if (!isObject(parsed)) return { kind: 'for-any-backend' };
  const runSpec = parsed['run_spec'];
  if (!isObject(runSpec)) return { kind: 'for-any-backend' };
  const { sourcecode, language_id: languageId } = runSpec;
  if (typeof sourcecode !== 'string' || typeof languageId !== 'string') return { kind: 'for-any-backend' };

  // A Set, not an array's includes(): 380,000 distinct ids in 8 MiB made that quadratic.
  const fileIds = new Set<string>();
  const fileList = runSpec['file_list'];
  if (Array.isArray(fileList)) {
    for (const entry of fileList) {
      if (fileIds.size === MAX_ROUTED_FILE_IDS) break;
      const id: unknown = Array.isArray(entry) ? entry[0] : undefined;
      if (typeof id === 'string' && /^[A-Za-z0-9]{8,}$/.test(id) && isStorableFileId(id)) fileIds.add(id);
    }
  }
  const parameters = runSpec['parameters'];
  const requested = isObject(parameters) ? phpIntval(parameters['cputime']) : 0;
  const cputimeSecs = requested > 0 ? Math.min(requested, MAX_CPUTIME_SECS) : DEFAULT_CPUTIME_SECS;
  return {
    kind: 'run',
    languageId: phpStrtolower(languageId),
    fileIds: [...fileIds],
    cputimeSecs,
    isOverloadTest: sourcecode === OVERLOAD_TEST_SOURCE,
  };
}

/** The outcomes Jobe and CodeRunner define (jobe-protocol.md §3.1). */
const KNOWN_OUTCOMES = new Set([0, 11, 12, 13, 15, 17, 19, 20, 21, 30, 31]);

/**
 * An outcome as counted in status and metrics: Jobe's own codes by number, anything else a backend sends
 * as "other", so that a broken backend answering 10,000 different numbers adds one key, not 10,000.
 */
export const outcomeLabel = (outcome: number): string =>
  KNOWN_OUTCOMES.has(outcome) ? String(outcome) : 'other';

/** Jobe's result objects start this way (ResultObject's property order); output can be megabytes. */
const RESULT_HEAD = /^\{"run_id":(?:null|"(?:[^"\\]|\\.)*"),"outcome":(\d+),/;

/** The outcome of a Jobe result, or null when the body is not one; reads only the head when it can. */
export function runOutcome(body: Buffer): number | null {
  const head = RESULT_HEAD.exec(body.toString('latin1', 0, Math.min(body.length, 512)));
  if (head) return Number(head[1]);
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    if (isObject(parsed) && typeof parsed['outcome'] === 'number') return parsed['outcome'];
  } catch {
    // Not a result object: the caller passes it through.
  }
  return null;
}
