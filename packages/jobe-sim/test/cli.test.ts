import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { parseCliOptions } from '../src/cli-args.js';
import { request } from './http.js';

const CLI = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('jobe-sim command line', () => {
  it('parses every option', () => {
    expect(
      parseCliOptions([
        '--port',
        '4001',
        '--workers',
        '4',
        '--poll-ms',
        '1000',
        '--wait-timeout',
        '10',
        '--name',
        'jobe1',
        '--run-ms',
        '25',
        '--cputime-limit',
        '60',
        '--host',
        '127.0.0.1',
        '--languages',
        'python3:3.10.12, c:11.4.0',
      ]),
    ).toEqual({
      port: 4001,
      workers: 4,
      pollMs: 1000,
      waitTimeout: 10,
      name: 'jobe1',
      defaultRunMs: 25,
      cputimeUpperLimit: 60,
      host: '127.0.0.1',
      languages: [
        ['python3', '3.10.12'],
        ['c', '11.4.0'],
      ],
    });
    expect(parseCliOptions([])).toEqual({});
    expect(parseCliOptions(['-h'])).toBe('help');
  });

  it('rejects bad values and unknown options', () => {
    expect(() => parseCliOptions(['--workers', 'many'])).toThrow(/--workers must be a number/);
    expect(() => parseCliOptions(['--languages', 'python3'])).toThrow(/id:version/);
    expect(() => parseCliOptions(['--verbose'])).toThrow();
  });
});

// The built bin; the workspace's test script builds before running vitest.
describe.skipIf(!existsSync(CLI))('jobe-sim bin (dist/cli.js)', () => {
  let child: ChildProcess | undefined;

  afterEach(() => {
    if (child && child.exitCode === null) child.kill('SIGKILL');
  });

  it('prints where it listens, serves the API and stops on SIGTERM', async () => {
    const proc = spawn(process.execPath, [
      CLI,
      '--port',
      '0',
      '--name',
      'jobe-cli',
      '--languages',
      'python3:3.12.3',
    ]);
    child = proc;
    const line = await new Promise<string>((resolve, reject) => {
      let output = '';
      proc.stdout?.on('data', (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('\n')) resolve(output.trim());
      });
      proc.once('exit', (code) => reject(new Error(`exited with ${code}: ${output}`)));
    });
    const match = /^jobe-sim jobe-cli listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line);
    expect(match).not.toBeNull();
    const reply = await request(`${match![1]}/jobe/index.php/restapi/languages`);
    expect(reply.body).toBe('[["python3","3.12.3"]]');
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    proc.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
