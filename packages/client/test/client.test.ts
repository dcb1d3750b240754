/**
 * @jobe-balancer/client against jobe-sim, the project's Jobe oracle (real HTTP): CodeRunner's run cycle, typed
 * errors, runAll's order, concurrency, failures in place and cancellation, `a;b;c` host lists, jobe-run.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DEFAULT_LANGUAGES, type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  JobeBadRequestError,
  JobeClient,
  type JobeExchange,
  JobeOverloadError,
  JobeServerError,
  JobeTransportError,
  md5,
} from '../src/index.js';

const sims: JobeSim[] = [];
const clients: JobeClient[] = [];
async function sim(name: string, workers = 4): Promise<JobeSim> {
  const started = await startJobeSim({ name, workers, pollMs: 10, waitTimeout: 1 });
  sims.push(started);
  return started;
}
function client(options: ConstructorParameters<typeof JobeClient>[0]): JobeClient {
  const made = new JobeClient(options);
  clients.push(made);
  return made;
}
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
});
afterAll(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

const testCase = (label: string, sleepMs = 0) => ({
  language_id: 'python3',
  sourcecode: `#sim sleep ${sleepMs}\n#sim print ${label}\n#sim server`,
});

describe('JobeClient against jobe-sim', () => {
  let jobe: JobeSim;
  beforeAll(async () => {
    jobe = await sim('solo', 4);
  });

  it('runs like CodeRunner: POST, 404, PUT each file, POST once more; then straight from the cache', async () => {
    const exchanges: JobeExchange[] = [];
    const c = client({ host: jobe.url, onExchange: (x) => exchanges.push(x) });
    const files = [
      { name: 'a.txt', contents: 'alpha/é\n' },
      { name: 'b.bin', contents: new Uint8Array([0x41, 0x0a]) },
    ];
    const spec = {
      language_id: 'Python3',
      sourcecode: '#sim cat a.txt\n#sim cat b.bin\n#sim echo',
      input: 'in',
    };
    const first = await c.execute(spec, files);
    expect(exchanges.map((x) => `${x.method} ${x.status} ${x.url.split('/restapi/')[1]}`)).toEqual([
      'POST 404 runs',
      `PUT 204 files/${md5('alpha/é\n')}`,
      `PUT 204 files/${md5(new Uint8Array([0x41, 0x0a]))}`,
      'POST 200 runs',
    ]);
    expect(new Set(exchanges.map((x) => x.jobId))).toEqual(new Set([first.jobId]));
    expect(first.jobId).toMatch(/^[0-7][0-9a-f]{7}$/);
    expect([first.posts, first.puts, first.error, first.result?.stdout]).toEqual([
      2,
      2,
      null,
      'alpha/é\nA\nin\n',
    ]);
    expect(JSON.parse(first.requestBody).run_spec).toEqual({
      language_id: 'python3',
      sourcecode: spec.sourcecode,
      sourcefilename: '__tester__.python3',
      input: 'in\n',
      file_list: [
        [md5('alpha/é\n'), 'a.txt'],
        [md5(new Uint8Array([0x41, 0x0a])), 'b.bin'],
      ],
      jobeserver: jobe.url,
    });
    exchanges.length = 0;
    expect((await c.run(spec, files)).stdout).toBe('alpha/é\nA\nin\n');
    expect(exchanges.map((x) => x.method)).toEqual(['POST']);
  });

  it('lists languages and maps Jobe statuses to typed errors', async () => {
    const c = client({ host: jobe.url });
    expect(await c.languages()).toEqual(DEFAULT_LANGUAGES);
    await expect(c.run({ language_id: 'cobol', sourcecode: '' })).rejects.toSatisfy(
      (error) =>
        error instanceof JobeBadRequestError &&
        error.code === 'JOBE_400_ERROR' &&
        error.httpStatus === 400 &&
        error.body === `"Language 'cobol' is not known"`,
    );
    await expect(
      c.run({ language_id: 'c', sourcecode: '!** TESTING OVERLOAD EXCEPTION **!' }),
    ).rejects.toBeInstanceOf(JobeOverloadError);
    await expect(
      c.run({ language_id: 'c', sourcecode: '', parameters: { cputime: 121 } }),
    ).rejects.toMatchObject({
      httpStatus: 400,
      body: '"cputime exceeds maximum allowed on this Jobe server (120 secs)"',
    });
    const compileError = await c.run({ language_id: 'c', sourcecode: '#sim cmpinfo prog.c:1: error' });
    expect([compileError.outcome, compileError.cmpinfo]).toEqual([11, 'prog.c:1: error\n']);
    const closed = client({ host: 'http://127.0.0.1:1' });
    await expect(closed.run(testCase('x'))).rejects.toSatisfy(
      (error) =>
        error instanceof JobeTransportError && error instanceof JobeServerError && error.httpStatus === -1,
    );
  });

  it('runAll returns results in input order, at most `concurrency` runs at once', async () => {
    const c = client({ host: jobe.url });
    jobe.resetStats();
    // Decreasing durations: later runs finish first.
    const specs = Array.from({ length: 9 }, (_, i) => testCase(`t${i}`, (9 - i) * 20));
    const progress: number[] = [];
    const settled = await c.runAll(specs, [], { concurrency: 3, onSettled: (i) => progress.push(i) });
    expect(settled.map((s) => (s.status === 'fulfilled' ? s.value.stdout : s.reason))).toEqual(
      specs.map((_, i) => `t${i}\nsolo\n`),
    );
    expect(progress).toHaveLength(9);
    expect(progress).not.toEqual([...progress].sort((a, b) => a - b));
    expect(jobe.stats().peakWorkers).toBe(3);
  });

  it('runAll reports each failure (compile error, 400, transport) in its slot while the others succeed', async () => {
    const other = await sim('other', 4);
    const closedPort = 'http://127.0.0.1:1';
    // Job ids 0, 1, 2, ...: with `other;closed` the odd ones go to the closed port, as CodeRunner picks.
    let next = 0;
    const c = client({ host: `${other.url};${closedPort}`, random: () => next++ / 0x80000000 });
    const specs = [
      testCase('ok0'),
      testCase('lost1'),
      { language_id: 'python3', sourcecode: '#sim cmpinfo SyntaxError' },
      testCase('lost3'),
      { language_id: 'cobol', sourcecode: '' },
      testCase('lost5'),
    ];
    const settled = await c.runAll(specs, [], { concurrency: 6 });
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { stdout: 'ok0\nother\n' } });
    expect(settled[2]).toMatchObject({ status: 'fulfilled', value: { outcome: 11 } });
    for (const i of [1, 3, 5]) {
      const slot = settled[i]!;
      expect(slot.status === 'rejected' && slot.reason instanceof JobeTransportError).toBe(true);
    }
    expect(settled[4]).toMatchObject({ status: 'rejected', reason: { code: 'JOBE_400_ERROR' } });
  });

  it('cancels a runAll: no new run starts, and it rejects with the reason', async () => {
    const busy = await sim('cancel', 4);
    const exchanges: JobeExchange[] = [];
    const c = client({ host: busy.url, onExchange: (x) => exchanges.push(x) });
    const controller = new AbortController();
    const specs = Array.from({ length: 12 }, (_, i) => testCase(`slow${i}`, 3000));
    const running = c.runAll(specs, [], { concurrency: 2, signal: controller.signal });
    while (busy.stats().activeWorkers < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort(new Error('stop'));
    await expect(running).rejects.toThrow('stop');
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(exchanges).toHaveLength(0);
    await expect(c.runAll(specs, [], { signal: controller.signal })).rejects.toThrow('stop');
  });
});

describe('a CodeRunner `a;b;c` host list', () => {
  it('sends each run, uploads included, to servers[jobId % n]', async () => {
    const list = [await sim('list0', 2), await sim('list1', 2), await sim('list2', 2)];
    const exchanges: JobeExchange[] = [];
    const c = client({
      host: ` ${list[0]!.url} ;${list[1]!.url};;${list[2]!.url.replace('http://', '')}`,
      onExchange: (x) => exchanges.push(x),
    });
    const files = [{ name: 'f.txt', contents: 'list file\n' }];
    for (let i = 0; i < 9; i++) {
      exchanges.length = 0;
      const report = await c.execute(
        { language_id: 'python3', sourcecode: '#sim cat f.txt\n#sim server' },
        files,
        { jobId: (i * 7).toString(16).padStart(8, '0') },
      );
      const chosen = list[(i * 7) % 3]!;
      expect(report.result?.stdout).toBe(`list file\n${chosen.name}\n`);
      expect(exchanges.every((x) => x.url.startsWith(chosen.url))).toBe(true);
    }
    // Every server ended up with the file through its own 404 → PUT → POST.
    expect(list.every((s) => s.hasFile(md5('list file\n')))).toBe(true);
  });
});

describe('jobe-run', () => {
  it('runs a JSON file of test cases and prints one line per case, in order', async () => {
    const jobe = await sim('cli', 4);
    const dir = await mkdtemp(join(tmpdir(), 'jobe-run-'));
    await writeFile(join(dir, 'data.txt'), 'from a file\n');
    const tests = {
      files: [{ name: 'data.txt', path: 'data.txt' }],
      runs: [
        { language_id: 'python3', sourcecode: '#sim sleep 60\n#sim cat data.txt', expected: 'from a file\n' },
        { language_id: 'python3', sourcecode: '#sim print two', expected: 'two\n' },
        { language_id: 'python3', sourcecode: '#sim print three', expected: 'not three\n' },
      ],
    };
    const path = join(dir, 'tests.json');
    await writeFile(path, JSON.stringify(tests));
    const cli = new URL('../dist/cli.js', import.meta.url).pathname;
    const run = promisify(execFile);
    const failed = await run(process.execPath, [cli, '--host', jobe.url, '--concurrency', '2', path]).catch(
      (error: { code: number; stdout: string; stderr: string }) => error,
    );
    expect((failed as { code?: number }).code).toBe(1);
    const lines = failed.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(lines).toEqual([
      { index: 0, outcome: 15, stdout: 'from a file\n', stderr: '', cmpinfo: '', passed: true },
      { index: 1, outcome: 15, stdout: 'two\n', stderr: '', cmpinfo: '', passed: true },
      { index: 2, outcome: 15, stdout: 'three\n', stderr: '', cmpinfo: '', passed: false },
    ]);
    // Not a terminal: plain progress lines.
    expect(failed.stderr.trim().split('\n').at(-1)).toBe('jobe-run: 3/3 settled');
    await writeFile(path, JSON.stringify({ runs: tests.runs.slice(0, 2), files: tests.files }));
    const passed = await run(process.execPath, [cli, '--host', jobe.url, path]);
    expect(passed.stdout.trim().split('\n')).toHaveLength(2);
    const usage = await run(process.execPath, [cli, '--concurrency', '0', path]).catch((error) => error);
    expect(usage.code).toBe(2);
  });
});
