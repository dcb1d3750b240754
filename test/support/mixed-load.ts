/**
 * A CodeRunner load paced like an exam (a fixed number of runs per second, whatever the answers' latency),
 * with a mix of outcomes as students produce them: correct programs, compile errors and runtime errors.
 * Every answer is checked against what a healthy Jobe would answer for that run.
 */
import { runLikeCodeRunner } from './coderunner-client.js';
import { makeQuestions, type Question } from './fleet.js';

export type RunKind = 'ok' | 'compile' | 'runtime';

export const COMPILE_ERROR = '__tester__.python3:3: SyntaxError: invalid syntax';
export const RUNTIME_ERROR = 'ZeroDivisionError: division by zero';
/** What a wedged Jobe says about every run (jobeinabox#15). */
export const SANDBOX_FAILURE = 'error while loading shared libraries';

export interface MixedRun {
  index: number;
  kind: RunKind;
  startedAt: number;
  endedAt: number;
  httpStatus: number;
  outcome: number | null;
  /** The answer a healthy Jobe gives this run. */
  correct: boolean;
  /** The answer came from a broken sandbox. */
  sandboxFailure: boolean;
}

export interface MixedLoadOptions {
  runsPerSecond: number;
  /** The kind of run `index`. */
  kindOf(index: number): RunKind;
  /** How long run `index` takes on a healthy Jobe (`#sim sleep`). */
  durationMs(index: number): number;
}

export interface MixedLoad {
  readonly runs: readonly MixedRun[];
  /** Stops starting runs; resolves with every run once all have answered. */
  stop(): Promise<MixedRun[]>;
}

function source(kind: RunKind, index: number, sleepMs: number, question: Question | undefined): string {
  const sleep = `#sim sleep ${sleepMs}\n`;
  if (kind === 'compile') return `${sleep}#sim cmpinfo ${COMPILE_ERROR}`;
  if (kind === 'runtime') return `${sleep}#sim print partial ${index}\n#sim stderr ${RUNTIME_ERROR}`;
  return question ? `${sleep}#sim cat data1.txt\n#sim cat data2.txt` : `${sleep}#sim print ok ${index}`;
}

function isCorrect(
  kind: RunKind,
  index: number,
  question: Question | undefined,
  result: Record<string, unknown>,
) {
  const { outcome, stdout, cmpinfo, stderr } = result;
  if (kind === 'compile') return outcome === 11 && cmpinfo === `${COMPILE_ERROR}\n`;
  if (kind === 'runtime')
    return outcome === 12 && stderr === `${RUNTIME_ERROR}\n` && stdout === `partial ${index}\n`;
  return outcome === 15 && stdout === (question ? question.expectedFiles : `ok ${index}\n`);
}

/** Half the runs carry a question's support files (10 questions), half carry none. */
export function startMixedLoad(jobeHost: string, options: MixedLoadOptions): MixedLoad {
  const questions = makeQuestions(10, 'mixed');
  const runs: MixedRun[] = [];
  const pending: Array<Promise<void>> = [];
  let index = 0;
  const startOne = () => {
    const i = index++;
    const kind = options.kindOf(i);
    const question = i % 2 === 0 ? questions[(i / 2) % questions.length] : undefined;
    const startedAt = performance.now();
    pending.push(
      runLikeCodeRunner(jobeHost, {
        language_id: 'python3',
        sourcecode: source(kind, i, options.durationMs(i), question),
        ...(question ? { files: question.files } : {}),
      }).then((run) => {
        const result = (run.result ?? {}) as unknown as Record<string, unknown>;
        runs.push({
          index: i,
          kind,
          startedAt,
          endedAt: performance.now(),
          httpStatus: run.httpStatus,
          outcome: run.result ? Number(run.result.outcome) : null,
          correct: run.httpStatus === 200 && run.result !== null && isCorrect(kind, i, question, result),
          sandboxFailure: String(result['cmpinfo'] ?? '').includes(SANDBOX_FAILURE),
        });
      }),
    );
  };
  const timer = setInterval(startOne, 1000 / options.runsPerSecond);
  return {
    runs,
    async stop() {
      clearInterval(timer);
      await Promise.all(pending);
      return [...runs].sort((a, b) => a.index - b.index);
    },
  };
}
