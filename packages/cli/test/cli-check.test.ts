import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, cleanEnv, runCli } from './support/cli-process.js';
import { startTinyJobe, type TinyJobe } from './support/tiny-jobe.js';

let jobe: TinyJobe;
let notJson: TinyJobe;
let closedPort: number;
let dir: string;

beforeAll(async () => {
  assertBuilt();
  jobe = await startTinyJobe();
  notJson = await startTinyJobe({ languagesBody: '{"error":"not a list"}' });
  // A port that was just free: nothing listens there any more.
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  closedPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  dir = await mkdtemp(join(tmpdir(), 'jobe-balancer-check-'));
});

afterAll(async () => {
  await Promise.all([jobe?.close(), notJson?.close()]);
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('jobe-balancer --check', () => {
  it('exits 0 when every backend answers its languages', async () => {
    const port = new URL(jobe.url).port;
    const result = await runCli(['--check', '--backend', jobe.url, '--backend', `short=127.0.0.1:${port}`]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines).toEqual([
      `jobe1  ${jobe.url}  OK (2 languages)`,
      `short  127.0.0.1:${port}         OK (2 languages)`,
      'check passed: configuration valid, 2 of 2 backends answered',
    ]);
  });

  it('exits non-zero and names a backend that does not answer', async () => {
    const dead = `http://127.0.0.1:${closedPort}`;
    const result = await runCli(['--check', '--backend', `alive=${jobe.url}`, '--backend', `dead=${dead}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`alive  ${jobe.url}  OK (2 languages)`);
    expect(result.stdout).toContain(`dead   ${dead}  FAILED: connect ECONNREFUSED 127.0.0.1:${closedPort}`);
    expect(result.stderr).toBe('jobe-balancer: check failed: backend "dead" did not answer\n');
  });

  it('fails a backend that answers something other than a JSON array', async () => {
    const result = await runCli(['--check', '--backend', `odd=${notJson.url}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(
      `odd  ${notJson.url}  FAILED: ${notJson.url}/jobe/index.php/restapi/languages did not answer a JSON array of languages`,
    );
    expect(result.stderr).toContain('backend "odd" did not answer');
  });

  it('exits 2 and names the key of an invalid config, without probing', async () => {
    const result = await runCli(['--check', '--backend', jobe.url, '--backend', 'ftp://x']);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'jobe-balancer: invalid configuration:\n' +
        '  - backends[1].url: must be an http(s) URL or host[:port], got "ftp://x" (from --backend)\n',
    );
  });

  it('names the config file and the key in it', async () => {
    const path = join(dir, 'bad.yaml');
    await writeFile(path, `backends:\n  - url: ${jobe.url}\n    state: down\nqueue:\n  timeoutMs: -5\n`);
    const result = await runCli(['--check', '--config', path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      `jobe-balancer: invalid configuration (config file ${path}):\n` +
        '  - backends[0].state: must be one of "ready", "drain", "maint", got "down"\n' +
        '  - queue.timeoutMs: must be a positive integer, got -5\n',
    );
  });

  it('reads backends from JOBE_BALANCER_BACKENDS and accepts --redis', async () => {
    const result = await runCli(
      ['--check', '--redis', 'redis://127.0.0.1:6379'],
      cleanEnv({ JOBE_BALANCER_BACKENDS: jobe.url }),
    );
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`jobe1  ${jobe.url}  OK (2 languages)`);
    expect(result.stderr).toBe('');
  });
});

describe('jobe-balancer --help, --version and usage errors', () => {
  it('prints the help with every flag', async () => {
    const result = await runCli(['--help']);
    expect(result.code).toBe(0);
    for (const flag of [
      '--backend',
      '--port',
      '--host',
      '--config',
      '--max-concurrent',
      '--admin-token',
      '--redis',
      '--log-level',
      '--check',
      '--help',
      '--version',
      'JOBE_BALANCER_PORT',
      'JOBE_BALANCER_BACKENDS',
      'JOBE_BALANCER_ADMIN_TOKEN',
      'JOBE_BALANCER_CONFIG',
    ]) {
      expect(result.stdout).toContain(flag);
    }
  });

  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    const result = await runCli(['--version']);
    expect(result).toMatchObject({ code: 0, stdout: `${version}\n` });
  });

  it('exits 2 on an unknown flag, with a suggestion', async () => {
    const result = await runCli(['--backends', 'http://a']);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'jobe-balancer: invalid configuration (command line):\n  - unknown option "--backends" (did you mean "--backend"?)\n',
    );
  });

  it('exits 2 without any backend', async () => {
    const result = await runCli(['--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('backends: must list at least one backend');
  });
});
