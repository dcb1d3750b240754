import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import {
  type BackendOptions,
  createBalancer,
  type JobeBalancer,
  RedisAffinityStore,
  silentLogger,
} from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobeRequest } from '../support/jobe-test-client.js';

// Replicas share job-id bindings through Redis: what keeps an old CodeRunner's (no cookie jar, < 5.4.1)
// POST → 404 → PUT → POST together when consecutive requests reach different gateway replicas.
const hasRedis = spawnSync('redis-server', ['--version']).status === 0;
if (!hasRedis && process.env.CI)
  throw new Error('redis-server is required in CI (apt-get install redis-server)');

interface Replica {
  host: string;
  balancer: JobeBalancer;
  server: http.Server;
}

async function startReplica(backends: BackendOptions[], redis: Redis | undefined): Promise<Replica> {
  const balancer = createBalancer({
    backends,
    logger: silentLogger,
    slowStartMs: 0,
    ...(redis ? { affinityStore: new RedisAffinityStore(redis, `test:${process.pid}:`) } : {}),
  });
  const server = http.createServer((req, res) => balancer.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, balancer, server };
}

/** A port on 127.0.0.1 that was free a moment ago (the OS picks it). */
async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** True once something accepts connections on the port; false if `gaveUp()` or after `timeoutMs`. */
async function waitForPort(port: number, gaveUp: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline && !gaveUp()) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.end();
        resolve(true);
      });
      socket.on('error', () => resolve(false));
    });
    if (open) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

/**
 * redis-server on a free port. Another process may take the port between the probe and redis's bind
 * (redis then exits at once), so a failed start is tried again on another port.
 */
async function startRedisServer(): Promise<{ child: ChildProcess; port: number }> {
  let output = '';
  for (let attempt = 1; attempt <= 3; attempt++) {
    const port = await freePort();
    const child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let exited = false;
    child.once('exit', () => {
      exited = true;
    });
    const keep = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-2000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    if (await waitForPort(port, () => exited)) return { child, port };
    child.kill();
  }
  throw new Error(`redis-server did not start in 3 attempts; its last output:\n${output}`);
}

const jobHeaders = (jobId: string) => ({
  'Content-Type': 'application/json; charset=utf-8',
  Accept: 'application/json',
  'X-CodeRunner-Job-Id': jobId,
});

describe.skipIf(!hasRedis)('shared affinity through Redis', () => {
  let redisProcess: ChildProcess;
  let redis: Redis;
  let sims: JobeSim[];
  const replicas: Replica[] = [];

  beforeAll(async () => {
    const started = await startRedisServer();
    redisProcess = started.child;
    const port = started.port;
    redis = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 });
    sims = await Promise.all([1, 2, 3].map((i) => startJobeSim({ name: `jobe${i}` })));
    const all = sims.map((sim) => ({ name: sim.name, url: sim.url }));
    // Replica A may only start new jobs on jobe1; replica B on any backend. Without a shared table,
    // B would send a job's PUTs wherever its own ranking says.
    replicas.push(
      await startReplica(
        all.map((b) => (b.name === 'jobe1' ? b : { ...b, state: 'maint' as const })),
        redis,
      ),
    );
    replicas.push(await startReplica(all, redis));
  });

  afterAll(async () => {
    for (const replica of replicas) {
      replica.server.close();
      await replica.balancer.close(100);
    }
    await Promise.all((sims ?? []).map((sim) => sim.close()));
    redis?.disconnect();
    redisProcess?.kill();
  });

  it('keeps each job on one backend across replicas', async () => {
    const [a, b] = replicas as [Replica, Replica];
    for (let job = 0; job < 10; job++) {
      const jobId = (0x10000000 + job * 7919).toString(16);
      const files = [`first file of job ${job}\n`, `second file of job ${job}\n`];
      const ids = files.map((contents) => createHash('md5').update(contents).digest('hex'));
      const runSpec = {
        run_spec: {
          language_id: 'python3',
          sourcecode: '#sim cat one.txt\n#sim cat two.txt\n#sim server',
          file_list: [
            [ids[0], 'one.txt'],
            [ids[1], 'two.txt'],
          ],
        },
      };
      const first = await jobeRequest(a.host, 'POST', 'runs', runSpec, jobHeaders(jobId));
      expect(first.status).toBe(404);
      for (const [i, contents] of files.entries()) {
        const put = await jobeRequest(
          b.host,
          'PUT',
          `files/${ids[i]}`,
          { file_contents: Buffer.from(contents).toString('base64') },
          jobHeaders(jobId),
        );
        expect(put.status).toBe(204);
        expect(sims[0]!.hasFile(ids[i]!)).toBe(true);
      }
      const second = await jobeRequest(b.host, 'POST', 'runs', runSpec, jobHeaders(jobId));
      expect(second.status).toBe(200);
      expect((second.json as { stdout: string }).stdout).toBe(`${files[0]}${files[1]}jobe1\n`);
    }
  });

  it('never stalls a run when Redis is unreachable', async () => {
    const deadRedis = new Redis({
      port: 1,
      host: '127.0.0.1',
      lazyConnect: true,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
    });
    deadRedis.on('error', () => undefined);
    const replica = await startReplica([{ name: sims[1]!.name, url: sims[1]!.url }], deadRedis);
    try {
      const run = await jobeRequest(
        replica.host,
        'POST',
        'runs',
        { run_spec: { language_id: 'python3', sourcecode: '#sim print hello' } },
        jobHeaders('7abcdef1'),
      );
      expect(run.status).toBe(200);
      expect((run.json as { stdout: string }).stdout).toBe('hello\n');
    } finally {
      replica.server.close();
      await replica.balancer.close(100);
      deadRedis.disconnect();
    }
  });
});
