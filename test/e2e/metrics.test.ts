import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { type BalancerOptions, createBalancer, type JobeBalancer, type Logger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { jobeRequest } from '../support/jobe-test-client.js';

const TOKEN = 'metrics-test-token';

interface Gateway {
  host: string;
  balancer: JobeBalancer;
  sims: JobeSim[];
  logs: Array<{ level: string; obj: Record<string, unknown> }>;
  close(): Promise<void>;
}

const running: Gateway[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((gateway) => gateway.close()));
});

async function start(extra: Partial<BalancerOptions> = {}): Promise<Gateway> {
  const sims = await Promise.all([1, 2, 3].map((i) => startJobeSim({ name: `jobe${i}` })));
  const logs: Gateway['logs'] = [];
  const record = (level: string) => (obj: object) =>
    logs.push({ level, obj: obj as Record<string, unknown> });
  const logger: Logger = {
    info: record('info'),
    warn: record('warn'),
    error: record('error'),
    debug: record('debug'),
  };
  const balancer = createBalancer({
    backends: sims.map((sim) => ({ name: sim.name, url: sim.url, apiKey: `secret-key-of-${sim.name}` })),
    admin: { token: TOKEN },
    health: { intervalMs: 60_000 },
    slowStartMs: 0,
    logger,
    ...extra,
  });
  await balancer.checkNow();
  const server = http.createServer((req, res) => balancer.handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const gateway: Gateway = {
    host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    balancer,
    sims,
    logs,
    async close() {
      server.close();
      server.closeAllConnections();
      await balancer.close(100);
      await Promise.all(sims.map((sim) => sim.close()));
    },
  };
  running.push(gateway);
  return gateway;
}

/** The value of one sample in Prometheus text format, 0 when absent. */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const labelText = line.slice(name.length).match(/^\{([^}]*)\}/)?.[1] ?? '';
    const present = Object.fromEntries([...labelText.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    if (Object.entries(labels).every(([key, value]) => present[key] === value))
      return Number(line.split(' ').pop());
  }
  return 0;
}

async function scrape(
  gateway: Gateway,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const response = await fetch(`${gateway.host}/jobe/_balancer/metrics`, { headers });
  return { status: response.status, body: await response.text() };
}

const run = (gateway: Gateway, sourcecode: string, jobId: string) =>
  jobeRequest(
    gateway.host,
    'POST',
    'runs',
    { run_spec: { language_id: 'python3', sourcecode } },
    {
      'Content-Type': 'application/json; charset=utf-8',
      Accept: 'application/json',
      'X-CodeRunner-Job-Id': jobId,
    },
  );

describe('metrics', () => {
  it('counts requests and outcomes, failovers and admin states while runs go through', async () => {
    const gateway = await start();
    const before = await scrape(gateway);
    expect(before.status).toBe(200);
    expect(sample(before.body, 'jobe_balancer_backend_up', { backend: 'jobe1' })).toBe(1);
    expect(sample(before.body, 'jobe_balancer_failovers_total', { cause: 'semaphore' })).toBe(0);

    for (let i = 0; i < 6; i++) expect((await run(gateway, '#sim print ok', `1000000${i}`)).status).toBe(200);
    expect((await run(gateway, '#sim cmpinfo syntax error', '20000000')).status).toBe(200);
    const afterRuns = (await scrape(gateway)).body;
    expect(sample(afterRuns, 'jobe_balancer_requests_total', { endpoint: 'runs', status: '200' })).toBe(7);
    expect(sample(afterRuns, 'jobe_balancer_run_outcomes_total', { outcome: '15' })).toBe(6);
    expect(sample(afterRuns, 'jobe_balancer_run_outcomes_total', { outcome: '11' })).toBe(1);

    // A job bound to a backend that then fails with Jobe's semaphore 500 moves to another backend.
    const first = await run(gateway, '#sim server', '3000000a');
    const servedBy = (first.json as { stdout: string }).stdout.trim();
    await gateway.sims.find((sim) => sim.name === servedBy)!.fault('error500');
    const second = await run(gateway, '#sim server', '3000000a');
    expect(second.status).toBe(200);
    expect((second.json as { stdout: string }).stdout.trim()).not.toBe(servedBy);
    const afterFailover = (await scrape(gateway)).body;
    expect(sample(afterFailover, 'jobe_balancer_failovers_total', { cause: 'semaphore' })).toBe(1);

    const drain = await fetch(`${gateway.host}/jobe/_balancer/backends/jobe2/drain`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(drain.status).toBe(200);
    const afterDrain = (await scrape(gateway)).body;
    expect(
      sample(afterDrain, 'jobe_balancer_backend_state', { backend: 'jobe2', kind: 'admin', state: 'drain' }),
    ).toBe(1);
    expect(
      sample(afterDrain, 'jobe_balancer_backend_state', { backend: 'jobe2', kind: 'admin', state: 'ready' }),
    ).toBe(0);
    expect(afterDrain).toContain('jobe_balancer_queue_length 0');
    expect(afterDrain).toMatch(
      /jobe_balancer_upstream_request_duration_seconds_count\{backend="jobe\d",endpoint="runs"\} \d+/,
    );
    expect(afterDrain).not.toContain('secret-key-of');

    // One log line per failover and state change, none per successful run.
    const events = gateway.logs.map((entry) => entry.obj['event']);
    expect(events.filter((event) => event === 'failover')).toHaveLength(1);
    expect(events.filter((event) => event === 'admin-state')).toHaveLength(1);
    expect(gateway.logs.length).toBeLessThan(6);
  });

  it('counts support files the gateway re-uploads itself', async () => {
    const gateway = await start();
    const headers = { 'Content-Type': 'application/json; charset=utf-8', Accept: 'application/json' };
    const put = await jobeRequest(
      gateway.host,
      'PUT',
      'files/randomid0129798',
      { file_contents: Buffer.from('data\n').toString('base64') },
      headers,
    );
    expect(put.status).toBe(204);
    const runSpec = {
      run_spec: {
        language_id: 'python3',
        sourcecode: '#sim cat data.txt',
        file_list: [['randomid0129798', 'data.txt']],
      },
    };
    const result = await jobeRequest(gateway.host, 'POST', 'runs/', runSpec, headers);
    expect((result.json as { stdout: string }).stdout).toBe('data\n');
    const body = (await scrape(gateway)).body;
    const replays = ['jobe1', 'jobe2', 'jobe3'].reduce(
      (sum, backend) => sum + sample(body, 'jobe_balancer_file_replays_total', { backend }),
      0,
    );
    expect(replays).toBe(1);
    expect(sample(body, 'jobe_balancer_file_store_entries')).toBe(1);
    // A 5-byte file takes the smallest block (64 bytes), and its index entry 384 bytes plus its 15-character id (32).
    expect(sample(body, 'jobe_balancer_file_store_bytes')).toBe(64 + 384 + 32);
  });

  it("registers on the host's registry and can require the admin token", async () => {
    const registry = new Registry();
    const gateway = await start({ metricsRegistry: registry, admin: { token: TOKEN, publicMetrics: false } });
    expect((await scrape(gateway)).status).toBe(401);
    const authorized = await scrape(gateway, { authorization: `Bearer ${TOKEN}` });
    expect(authorized.status).toBe(200);
    expect(authorized.body).toContain('jobe_balancer_backend_in_flight_runs');
    expect(await registry.metrics()).toContain('jobe_balancer_backend_capacity{backend="jobe3"} 16');
  });
});
