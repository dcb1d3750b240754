import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';

export type ConfigFileResult = { ok: true; raw: unknown } | { ok: false; error: string };

/** `file:line:col` from a character offset. */
function position(file: string, text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${file}:${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

function parseJson(file: string, text: string): ConfigFileResult {
  try {
    return { ok: true, raw: JSON.parse(text) };
  } catch (error) {
    const message = (error as Error).message;
    const offset = /at position (\d+)/.exec(message)?.[1];
    const where = offset === undefined ? file : position(file, text, Number(offset));
    return {
      ok: false,
      error: `${where}: invalid JSON: ${message.replace(/ in JSON at position \d+.*$/, '')}`,
    };
  }
}

function parseYaml(file: string, text: string): ConfigFileResult {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true, prettyErrors: false });
  const error = document.errors[0];
  if (error !== undefined) {
    const { line, col } = lineCounter.linePos(error.pos[0]);
    const message = error.message.split('\n')[0] ?? error.message;
    return { ok: false, error: `${file}:${line}:${col}: invalid YAML: ${message}` };
  }
  return { ok: true, raw: document.toJS() };
}

/** Reads a YAML (.yaml, .yml) or JSON (.json) config file. Messages name the file and, for syntax errors, the line. */
export async function readConfigFile(file: string): Promise<ConfigFileResult> {
  const type = extname(file).toLowerCase();
  if (type !== '.yaml' && type !== '.yml' && type !== '.json') {
    return { ok: false, error: `${file}: unsupported config file type "${type}" (use .yaml, .yml or .json)` };
  }
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    return { ok: false, error: `${file}: cannot read the config file (${(error as Error).message})` };
  }
  if (text.trim() === '') return { ok: false, error: `${file}: the config file is empty` };
  return type === '.json' ? parseJson(file, text) : parseYaml(file, text);
}
