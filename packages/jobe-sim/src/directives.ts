/**
 * The simulated "execution" of a run: lines of the source code that start with `#sim ` are directives, obeyed in
 * order, in any language. The outcome then follows Jobe's rules (LanguageTask::diagnoseResult, resultObject).
 */
import { isUtf8 } from 'node:buffer';
import { OUTCOME } from './bodies.js';

export interface RunContext {
  sourcecode: string;
  input: string;
  /** The run's file_list files by workspace name, as copied from the cache when the run started. */
  workspace: ReadonlyMap<string, Buffer>;
  serverName: string;
}

export interface RunResult {
  outcome: number;
  cmpinfo: string;
  stdout: string;
  stderr: string;
  /** Sum of the `#sim sleep` directives, or undefined when there were none. */
  sleepMs: number | undefined;
}

const DIRECTIVE_PREFIX = '#sim ';
const TIME_LIMIT_MESSAGE = /time ?limit exceeded/;

type Output = Array<string | Buffer>;

/**
 * ResultObject::clean: output that is not valid UTF-8 has its control characters (other than \n, \r, \t) and
 * every byte above 0x7E written as `\xhh`.
 */
function outputText(parts: Output): string {
  if (parts.every((part) => typeof part === 'string')) return parts.join('');
  const bytes = Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part)));
  if (isUtf8(bytes)) return bytes.toString('utf8');
  let text = '';
  for (const byte of bytes) {
    const keep = (byte >= 0x20 && byte <= 0x7e) || byte === 0x0a || byte === 0x0d || byte === 0x09;
    text += keep ? String.fromCharCode(byte) : `\\x${byte.toString(16).padStart(2, '0')}`;
  }
  return text;
}

export function runDirectives(run: RunContext): RunResult {
  if (!run.sourcecode.includes(DIRECTIVE_PREFIX)) {
    return { outcome: OUTCOME.success, cmpinfo: '', stdout: '', stderr: '', sleepMs: undefined };
  }
  const stdout: Output = [];
  const stderr: Output = [];
  const cmpinfo: Output = [];
  let sleepMs: number | undefined;
  let outcome: number | undefined;

  for (const rawLine of run.sourcecode.split('\n')) {
    const line = rawLine.endsWith('\r') ? rawLine.slice(0, -1) : rawLine;
    const directive = line.trimStart();
    if (!directive.startsWith(DIRECTIVE_PREFIX)) continue;
    const body = directive.slice(DIRECTIVE_PREFIX.length);
    const space = body.indexOf(' ');
    const verb = space < 0 ? body : body.slice(0, space);
    const argument = space < 0 ? '' : body.slice(space + 1);
    switch (verb) {
      case 'sleep': {
        const ms = Number(argument);
        if (argument.trim() === '' || !Number.isFinite(ms) || ms < 0) {
          stderr.push(`jobe-sim: bad directive: ${directive}\n`);
        } else {
          sleepMs = (sleepMs ?? 0) + ms;
        }
        break;
      }
      case 'print':
        stdout.push(`${argument}\n`);
        break;
      case 'echo':
        stdout.push(run.input);
        break;
      case 'cat': {
        const contents = run.workspace.get(argument);
        if (contents === undefined) stderr.push(`cat: ${argument}: No such file or directory\n`);
        else stdout.push(contents);
        break;
      }
      case 'server':
        stdout.push(`${run.serverName}\n`);
        break;
      case 'outcome': {
        const value = Number(argument);
        if (argument.trim() === '' || !Number.isInteger(value))
          stderr.push(`jobe-sim: bad directive: ${directive}\n`);
        else outcome = value;
        break;
      }
      case 'stderr':
        stderr.push(`${argument}\n`);
        break;
      case 'cmpinfo':
        cmpinfo.push(`${argument}\n`);
        break;
      default:
        stderr.push(`jobe-sim: unknown directive: ${directive}\n`);
    }
  }

  const result: RunResult = {
    outcome: OUTCOME.success,
    cmpinfo: outputText(cmpinfo),
    stdout: outputText(stdout),
    stderr: outputText(stderr),
    sleepMs,
  };
  if (outcome !== undefined) {
    result.outcome = outcome;
  } else if (result.cmpinfo !== '') {
    // A failed compilation means Jobe never executes the program.
    result.outcome = OUTCOME.compilationError;
    result.stdout = '';
    result.stderr = '';
  } else if (TIME_LIMIT_MESSAGE.test(result.stderr)) {
    result.outcome = OUTCOME.timeLimit;
    result.stderr = '';
  } else if (result.stderr !== '') {
    result.outcome = OUTCOME.runtimeError;
  }
  return result;
}
