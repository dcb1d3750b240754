import type { Logger } from '@jobe-balancer/core';
import type { LogLevel } from './config.js';

const RANK: Record<LogLevel, number> = { debug: 20, info: 30, warn: 40, error: 50, silent: 100 };

export interface JsonLogger extends Logger {
  debug(obj: object, msg?: string): void;
  readonly level: LogLevel;
}

export interface JsonLoggerOptions {
  level?: LogLevel;
  /** Default `process.stderr`. */
  stream?: { write(line: string): unknown };
}

/** Errors do not survive JSON.stringify: keep their type, message, code and stack. */
function serialise(value: unknown): unknown {
  if (value instanceof Error) {
    const { code } = value as { code?: unknown };
    return {
      type: value.name,
      message: value.message,
      ...(code === undefined ? {} : { code }),
      stack: value.stack,
    };
  }
  return value;
}

/**
 * A tiny JSON-lines logger with pino's call signature (`logger.info({ backend }, 'ejected')`) and pino's
 * line format (numeric `level`, `time` in epoch ms, `name`, `msg`), so `pino-pretty` and log shippers read it.
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): JsonLogger {
  const level = options.level ?? 'info';
  const stream = options.stream ?? process.stderr;
  const write = (lineLevel: Exclude<LogLevel, 'silent'>, obj: unknown, msg?: string): void => {
    if (RANK[lineLevel] < RANK[level]) return;
    const fields: Record<string, unknown> = {
      level: RANK[lineLevel],
      time: Date.now(),
      name: 'jobe-balancer',
    };
    if (typeof obj === 'string') {
      fields['msg'] = obj;
    } else {
      if (obj instanceof Error) fields['err'] = serialise(obj);
      else if (typeof obj === 'object' && obj !== null) {
        for (const [key, value] of Object.entries(obj)) fields[key] = serialise(value);
      }
      if (msg !== undefined) fields['msg'] = msg;
    }
    let line: string;
    try {
      line = JSON.stringify(fields);
    } catch {
      line = JSON.stringify({ level: RANK[lineLevel], time: fields['time'], name: 'jobe-balancer', msg });
    }
    stream.write(`${line}\n`);
  };
  return {
    level,
    debug: (obj, msg) => write('debug', obj, msg),
    info: (obj, msg) => write('info', obj, msg),
    warn: (obj, msg) => write('warn', obj, msg),
    error: (obj, msg) => write('error', obj, msg),
  };
}
