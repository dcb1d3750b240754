import type { Logger } from './options.js';

/** Discards everything (tests, or hosts that log elsewhere). */
export const silentLogger: Logger = { info() {}, warn() {}, error() {}, debug() {} };

/** A minimal pino-style logger: one JSON line per event on stderr. */
export function jsonLineLogger(write: (line: string) => void = (line) => process.stderr.write(line)): Logger {
  const log = (level: number) => (obj: object, msg?: string) =>
    write(`${JSON.stringify({ level, time: Date.now(), name: 'jobe-balancer', ...obj, msg })}\n`);
  return { debug: log(20), info: log(30), warn: log(40), error: log(50) };
}
