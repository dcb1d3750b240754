import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

// The README's demo, small: 8 students, no live display, exit after the summary.
const DEMO = fileURLToPath(new URL('../examples/demo/demo.mjs', import.meta.url));
const TIME_LIMIT_MS = 55_000;

interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function runDemo(args: string[], children: ChildProcess[]): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [DEMO, ...args], {
      env: { ...process.env, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
    });
    // SIGTERM lets the demo close its gateway and simulators; a hung demo still fails the test.
    const timer = setTimeout(() => child.kill('SIGTERM'), TIME_LIMIT_MS);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

describe('examples/demo', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('serves an exam burst through a crash and a recovery with no failed run', async () => {
    const { code, stdout, stderr } = await runDemo(
      ['--once', '--port', '0', '--students', '8', '--quiet'],
      children,
    );
    const report = `exit ${code}\n${stdout}\n${stderr}`;
    expect(code, report).toBe(0);

    const summary = stdout.slice(stdout.indexOf('Summary'));
    expect(summary, report).toMatch(/runs\s+40 of 40 /);
    expect(summary, report).toMatch(/failed runs\s+0\n/);
    expect(summary, report).toMatch(/overload answers\s+0\n/);
    const share = /share\s+(.*)\n/.exec(summary)?.[1] ?? '';
    for (const backend of ['jobe1', 'jobe2', 'jobe3']) {
      const served = Number(new RegExp(`${backend} (\\d+) \\(`).exec(share)?.[1] ?? 0);
      expect(served, `${backend} served no run\n${report}`).toBeGreaterThan(0);
    }

    const crash = stdout.indexOf('jobe2 crashed');
    const back = stdout.indexOf('jobe2 is back');
    expect(crash, report).toBeGreaterThan(0);
    expect(back, report).toBeGreaterThan(crash);
    expect(stdout, report).toMatch(/Dashboard\s+http:\/\/localhost:\d+\/jobe\/_balancer\/#token=\S+/);
    expect(stdout, report).toMatch(/jobe_host = localhost:\d+/);
    expect(stdout, report).toMatch(/gateway exit 0/);
  }, 60_000);
});
