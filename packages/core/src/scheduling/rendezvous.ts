import { createHash } from 'node:crypto';

/**
 * Weighted rendezvous (highest-random-weight) score of a backend for a key: every replica with the
 * same backend list ranks backends the same way for a job, without sharing state.
 */
export function rendezvousScore(key: string, backend: string, weight: number): number {
  const digest = createHash('sha1').update(key).update('\0').update(backend).digest();
  // 48 bits of the hash as a uniform number in (0, 1).
  const unit = (digest.readUIntBE(0, 6) + 1) / (2 ** 48 + 1);
  return -weight / Math.log(unit);
}
