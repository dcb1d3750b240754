import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import { type AddressInfo, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobeClient } from '@jobe-balancer/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, CliProcess } from './support/cli-process.js';
import { startTinyJobe, type TinyJobe } from './support/tiny-jobe.js';

// These tests run `node dist/cli.js`, with the real core, as a child process.
const LISTENING =
  /jobe-balancer listening on http:\/\/127\.0\.0\.1:(\d+)\/jobe \(1 backend\)\nSet CodeRunner's jobe_host to 127\.0\.0\.1:\1\n/;

let jobe: TinyJobe | undefined;
let cli: CliProcess | undefined;
let dir: string | undefined;
let configFile: string;

beforeAll(async () => {
  assertBuilt();
  // Without slow start every run goes to the backend at once, so "20 runs in flight" is reached reliably.
  dir = await mkdtemp(join(tmpdir(), 'jobe-balancer-serve-'));
  configFile = join(dir, 'config.yaml');
  await writeFile(configFile, 'slowStartMs: 0\n');
});

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

afterEach(async () => {
  await cli?.kill();
  await jobe?.close();
  cli = undefined;
  jobe = undefined;
});

interface RunAnswer {
  status: number;
  body: string;
}

/** POST runs on a connection of its own, as CodeRunner's curl does. */
function postRun(port: number, input: string): Promise<RunAnswer> {
  const body = JSON.stringify({
    run_spec: { language_id: 'python3', sourcecode: 'print(input())', input, file_list: [] },
  });
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/jobe/index.php/restapi/runs',
        agent: false,
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (chunk: string) => {
          text += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? 'error'));
  });
}

async function startCli(extraArgs: string[] = []): Promise<number> {
  if (jobe === undefined) throw new Error('start the backend first');
  cli = new CliProcess([
    '--port',
    '0',
    '--host',
    '127.0.0.1',
    '--backend',
    jobe.url,
    '--max-concurrent',
    '32',
    '--log-level',
    'warn',
    '--config',
    configFile,
    ...extraArgs,
  ]);
  const [, port] = await cli.waitForOutput(LISTENING);
  return Number(port);
}

describe('jobe-balancer serving', () => {
  it('serves runs once it has printed where it listens and what to put into CodeRunner', async () => {
    jobe = await startTinyJobe();
    const port = await startCli();
    const answer = await postRun(port, 'hello\n');
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body)).toMatchObject({ outcome: 15, stdout: 'hello\n' });
  });

  it('serves the batch endpoint with --enable-batch, and answers 404 for it without', async () => {
    jobe = await startTinyJobe();
    const specs = ['one', 'two', 'three'].map((input) => ({ language_id: 'python3', sourcecode: '', input }));
    const stdouts = async (port: number) => {
      const client = new JobeClient({ host: `127.0.0.1:${port}` });
      const settled = await client.runAll(specs, [], { via: 'batch' });
      await client.close();
      return settled.map((slot) => (slot.status === 'fulfilled' ? slot.value.stdout : slot.reason.message));
    };
    const port = await startCli(['--enable-batch']);
    expect(await stdouts(port)).toEqual(['one\n', 'two\n', 'three\n']);
    await cli?.kill();
    const without = await startCli();
    expect(await stdouts(without)).toEqual(
      specs.map(() => 'Unexpected error from the Jobe server (HTTP 404: "")'),
    );
  });

  it('on SIGTERM during load: finishes every run, refuses new connections, exits 0', async () => {
    jobe = await startTinyJobe({ runMs: 500 });
    const port = await startCli();
    const inputs = Array.from({ length: 20 }, (_, i) => `run ${i}\n`);
    const runs = inputs.map((input) => postRun(port, input));
    await jobe.waitForInFlight(20);

    cli?.child.kill('SIGTERM');
    await cli?.waitForOutput(/stopped accepting new connections\n/);
    expect(await tryConnect(port)).toBe('ECONNREFUSED');

    const answers = await Promise.all(runs);
    expect(answers.map((answer) => answer.status)).toEqual(inputs.map(() => 200));
    expect(answers.map((answer) => (JSON.parse(answer.body) as { stdout: string }).stdout)).toEqual(inputs);
    const result = await cli?.exited;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result?.stdout).toMatch(
      /SIGTERM received: shutting down gracefully[^\n]*\nstopped accepting new connections\nwaiting for \d+ run\(s\) in flight[^\n]*\nruns in flight finished; balancer closed\nserver closed\nshutdown complete\n$/,
    );
  });

  it('exits at once with code 1 on a second signal', async () => {
    jobe = await startTinyJobe({ holdRuns: true });
    const port = await startCli();
    const run = postRun(port, 'held\n').catch((error: Error) => error);
    await jobe.waitForInFlight(1);

    cli?.child.kill('SIGINT');
    await cli?.waitForOutput(/SIGINT received: shutting down gracefully/);
    cli?.child.kill('SIGTERM');
    const result = await cli?.exited;
    expect(result).toMatchObject({ code: 1, signal: null });
    expect(result?.stdout).toContain('SIGTERM received again: exiting at once\n');
    jobe.release();
    expect(await run).toBeInstanceOf(Error);
  });

  it('exits 0 on SIGTERM when idle', async () => {
    jobe = await startTinyJobe();
    await startCli();
    cli?.child.kill('SIGTERM');
    const result = await cli?.exited;
    expect(result).toMatchObject({ code: 0, signal: null });
    expect(result?.stdout).toContain('shutdown complete\n');
  });

  it('exits 1 and says why when the port is taken', async () => {
    jobe = await startTinyJobe();
    const blocker = createServer().listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      cli = new CliProcess(['--port', String(port), '--host', '127.0.0.1', '--backend', jobe.url]);
      const result = await cli.exited;
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        `jobe-balancer: cannot start: cannot listen on 127.0.0.1:${port}: listen EADDRINUSE`,
      );
    } finally {
      blocker.close();
    }
  });
});
