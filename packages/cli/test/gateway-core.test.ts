import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config.js';
import { type Gateway, startGateway } from '../src/gateway.js';
import { createJsonLogger } from '../src/logger.js';
import { LANGUAGES, startTinyJobe, type TinyJobe } from './support/tiny-jobe.js';

// startGateway with the real core, in this process.

let jobe: TinyJobe | undefined;
let gateway: Gateway | undefined;

afterEach(async () => {
  await gateway?.close();
  await jobe?.close();
  gateway = undefined;
  jobe = undefined;
});

async function start(extra: Record<string, unknown> = {}): Promise<Gateway> {
  jobe = await startTinyJobe();
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
});
