import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JobeClient, type RunSettlement, type RunSpec, type SupportFile } from './client.js';
import { JobeError } from './errors.js';
import { Progress } from './progress.js';

const USAGE = `Usage: jobe-run [options] <tests.json>

Runs the test cases of a JSON file on Jobe (or jobe-balancer) in parallel and prints one JSON line
per test case, in the file's order, on stdout. Progress goes to stderr.

tests.json: { "host"?, "files"?: [{ "name", "contents" | "path" }], "runs": [run_spec, ...] }
  or just [run_spec, ...]. A run_spec may carry "expected": the stdout it should print.

Options:
  --host <jobe_host>     Jobe as CodeRunner's jobe_host setting (a;b;c lists too); or "host" in the file
  --api-key <key>        sent as X-API-KEY
  --concurrency <n>      runs in flight at once (with --batch: batch requests; default 4)
  --batch                use jobe-balancer's batch endpoint (<mount>/_balancer/batch)
  --timeout-ms <n>       abandon a request after this long
  -h, --help             this text

Exit status: 0 when every run got a result (and matched "expected"), 1 otherwise, 2 for usage errors.`;

interface TestFile {
  host?: string;
  files?: Array<{ name: string; contents?: string; path?: string }>;
  runs: Array<RunSpec & { expected?: string }>;
}

function readTests(path: string): TestFile {
  const parsed = JSON.parse(readFileSync(path, 'utf8')) as unknown;
  const tests = (Array.isArray(parsed) ? { runs: parsed } : parsed) as TestFile;
  if (!Array.isArray(tests?.runs)) throw new Error(`${path}: expected "runs": [run_spec, ...]`);
  tests.runs.forEach((run, i) => {
    if (typeof run?.language_id !== 'string' || typeof run.sourcecode !== 'string')
      throw new Error(`${path}: runs[${i}] needs string language_id and sourcecode`);
  });
  return tests;
}

function supportFiles(tests: TestFile, base: string): SupportFile[] {
  return (tests.files ?? []).map((file, i) => {
    if (typeof file?.name !== 'string') throw new Error(`files[${i}]: needs a name`);
    if (typeof file.contents === 'string') return { name: file.name, contents: file.contents };
    if (typeof file.path === 'string')
      return { name: file.name, contents: readFileSync(resolve(base, file.path)) };
    throw new Error(`files[${i}]: needs contents or path`);
  });
}

function line(
  index: number,
  settlement: RunSettlement,
  expected: string | undefined,
): Record<string, unknown> {
  if (settlement.status === 'fulfilled') {
    const { outcome, cmpinfo, stdout, stderr } = settlement.value;
    const passed = expected === undefined ? undefined : stdout === expected && outcome === 15;
    return { index, outcome, stdout, stderr, cmpinfo, ...(passed === undefined ? {} : { passed }) };
  }
  const reason = settlement.reason;
  if (reason instanceof JobeError)
    return { index, error: reason.code, httpStatus: reason.httpStatus, message: reason.message };
  return { index, error: 'CLIENT_ERROR', message: reason.message };
}

async function main(argv: string[]): Promise<number> {
  let args: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  const OPTIONS = {
    host: { type: 'string' },
    'api-key': { type: 'string' },
    concurrency: { type: 'string' },
    batch: { type: 'boolean' },
    'timeout-ms': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  } as const;
  try {
    args = parseArgs({ args: argv, options: OPTIONS, allowPositionals: true });
  } catch (error) {
    process.stderr.write(`jobe-run: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const [path] = args.positionals;
  const concurrency = Number(args.values.concurrency ?? 4);
  const timeoutMs = args.values['timeout-ms'] === undefined ? undefined : Number(args.values['timeout-ms']);
  if (
    path === undefined ||
    args.positionals.length > 1 ||
    !Number.isInteger(concurrency) ||
    concurrency < 1
  ) {
    process.stderr.write(`${USAGE}\n`);
    return 2;
  }
  if (timeoutMs !== undefined && !(Number.isFinite(timeoutMs) && timeoutMs > 0)) {
    process.stderr.write('jobe-run: --timeout-ms must be a positive number\n');
    return 2;
  }
  let tests: TestFile;
  let files: SupportFile[];
  try {
    tests = readTests(path);
    files = supportFiles(tests, dirname(resolve(path)));
  } catch (error) {
    process.stderr.write(`jobe-run: ${(error as Error).message}\n`);
    return 2;
  }
  const host = args.values.host ?? tests.host;
  if (host === undefined) {
    process.stderr.write('jobe-run: no Jobe host: give --host or "host" in the file\n');
    return 2;
  }
  const client = new JobeClient({
    host,
    ...(args.values['api-key'] !== undefined ? { apiKey: args.values['api-key'] } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort(new Error('interrupted')));
  const progress = new Progress(tests.runs.length);
  try {
    const settlements = await client.runAll(tests.runs, files, {
      concurrency,
      signal: controller.signal,
      via: args.values.batch ? 'batch' : 'runs',
      onSettled: (_index, settlement, settled) => progress.step(settled, settlement.status === 'fulfilled'),
    });
    let allGood = true;
    settlements.forEach((settlement, index) => {
      const output = line(index, settlement, tests.runs[index]!.expected);
      if (settlement.status === 'rejected' || output['passed'] === false) allGood = false;
      process.stdout.write(`${JSON.stringify(output)}\n`);
    });
    return allGood ? 0 : 1;
  } catch (error) {
    process.stderr.write(`jobe-run: ${(error as Error).message}\n`);
    return 1;
  } finally {
    await client.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`jobe-run: ${error instanceof Error ? error.stack : String(error)}\n`);
    process.exitCode = 1;
  },
);
