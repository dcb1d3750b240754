import type { JobeResult, RunSettlement } from './client.js';

/**
 * Runs `count` tasks with at most `concurrency` at once and settles each in its own slot. When `signal`
 * aborts, no new task starts, the running ones see the abort through their own signal, and the whole call
 * rejects with the abort reason.
 */
export async function runSettled(
  count: number,
  concurrency: number,
  task: (index: number, signal: AbortSignal | undefined) => Promise<JobeResult>,
  signal: AbortSignal | undefined,
  onSettled: ((index: number, settlement: RunSettlement, settledCount: number) => void) | undefined,
): Promise<RunSettlement[]> {
  signal?.throwIfAborted();
  const settlements = new Array<RunSettlement>(count);
  let next = 0;
  let settled = 0;
  const worker = async (): Promise<void> => {
    while (next < count && !signal?.aborted) {
      const index = next++;
      let settlement: RunSettlement;
      try {
        settlement = { status: 'fulfilled', value: await task(index, signal) };
      } catch (error) {
        if (signal?.aborted) return;
        settlement = {
          status: 'rejected',
          reason: error instanceof Error ? error : new Error(String(error)),
        };
      }
      settlements[index] = settlement;
      settled++;
      onSettled?.(index, settlement, settled);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  signal?.throwIfAborted();
  return settlements;
}
