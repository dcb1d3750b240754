import * as http from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { type Gateway, startGateway } from '../src/gateway.js';
import { createJsonLogger } from '../src/logger.js';
import { LANGUAGES, startTinyJobe, type TinyJobe, type TinyJobeOptions } from './support/tiny-jobe.js';

// startGateway with the real core, in this process.

let jobe: TinyJobe | undefined;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  await jobe?.close();
  gateway = undefined;
  jobe = undefined;
});

async function start(
  extra: Record<string, unknown> = {},
  jobeOptions: TinyJobeOptions = {},
): Promise<Gateway> {
  jobe = await startTinyJobe(jobeOptions);
  const result = parseConfig({
    backends: [jobe.url],
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    ...extra,
  });
  if (!result.ok) throw new Error(result.errors.join('\n'));
  gateway = await startGateway(result.config, { logger: createJsonLogger({ level: 'silent' }) });
  return gateway;
}

describe('startGateway with the core', () => {
  it('serves GET languages under /jobe/index.php/restapi', async () => {
    const { url, balancer } = await start();
    await balancer.checkNow();
    const response = await fetch(`${url}/index.php/restapi/languages`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual(LANGUAGES);
  });

  it('serves a run', async () => {
    const { url } = await start();
    const response = await fetch(`${url}/index.php/restapi/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({
        run_spec: { language_id: 'python3', sourcecode: 'print(input())', input: 'hi\n' },
      }),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ outcome: 15, stdout: 'hi\n' });
  });

  it('serves the admin routes under /jobe/_balancer', async () => {
    const { url } = await start({ admin: { token: 'secret-token' } });
    const response = await fetch(`${url}/_balancer/metrics`);
    expect(response.status).toBe(200);
  });

  it('closes cleanly with nothing in flight', async () => {
    const started = await start();
    await started.close();
    expect(started.server.listening).toBe(false);
  });
  it('gives a client requestReceiveTimeoutMs to send its request, and a run all the time it takes', async () => {
    const { url, balancer } = await start({ requestReceiveTimeoutMs: 1000 }, { runMs: 2500 });
    const run = await fetch(`${url}/index.php/restapi/runs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ run_spec: { language_id: 'python3', sourcecode: 'x', input: 'slow\n' } }),
    });
    expect(run.status).toBe(200);
    expect(await run.json()).toMatchObject({ outcome: 15, stdout: 'slow\n' });

    // Headers and half the body, then nothing: the share of bodyMemoryBytes must not be held for ever.
    const started = Date.now();
    const stalled = await new Promise<number>((resolve) => {
      const req = http.request(`${url}/index.php/restapi/files/stalledfile1`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json', 'content-length': 1000 },
        agent: false,
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? -1);
      });
      req.on('error', () => resolve(-1));
      req.write('{"file_contents": "');
    });
    expect(stalled).toBe(408);
    expect(Date.now() - started).toBeLessThan(5000);
    await expect.poll(() => balancer.status().bodies.bytes).toBe(0);
  });
});
