import http, { type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '@jobe-balancer/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runLikeCodeRunner } from '../support/coderunner-client.js';
import type { GatewayHandle } from '../support/gateway-factory.js';
import { standalone } from '../support/gateways.js';
import { sendOnNewConnection } from '../support/http.js';

/** A Jobe stand-in that records the headers the gateway sends it. */
function recordingJobe(name: string) {
  const seen: IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    req.on('end', () => {
      res.setHeader('content-type', 'application/json; charset=UTF-8');
      if (req.url?.endsWith('/languages')) res.end('[["python3","3.11.2"]]');
      else res.end(`{"run_id":null,"outcome":15,"cmpinfo":"","stdout":"${name}\\n","stderr":""}`);
    });
  });
  return { server, seen, name };
}

describe('API keys and what the gateway never reveals', () => {
  const jobes = [recordingJobe('keyed'), recordingJobe('open')];
  let gateway: GatewayHandle;
  let host: string;

  beforeAll(async () => {
    const urls: string[] = [];
    for (const jobe of jobes) {
      await new Promise<void>((resolve) => jobe.server.listen(0, '127.0.0.1', resolve));
      urls.push(`http://127.0.0.1:${(jobe.server.address() as AddressInfo).port}`);
    }
    gateway = await standalone.start({
      backends: [
        { name: 'keyed', url: urls[0]!, apiKey: 'backend-secret-1234' },
        { name: 'open', url: urls[1]! },
      ],
      apiKeys: ['campus-key-for-moodle'],
      logger: silentLogger,
      slowStartMs: 0,
    });
    await gateway.balancer.checkNow();
    host = gateway.jobeHost;
  });

  afterAll(async () => {
    await gateway.close();
    for (const jobe of jobes) jobe.server.close();
  });

  const runSpec = { run_spec: { language_id: 'python3', sourcecode: 'print(1)' } };
  /** One request with exactly this X-API-KEY (or none). */
  const send = async (method: string, resource: string, body: unknown, key: string | undefined) => {
    const response = await sendOnNewConnection({
      url: `${host}/jobe/index.php/restapi/${resource}`,
      method,
      headers: {
        'Content-Type': 'application/json; charset=utf-8',
        ...(key === undefined ? {} : { 'X-API-KEY': key }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return { status: response.status, body: response.body.toString('utf8') };
  };

  it("answers like Jobe 2.0-2.1's key filter on POST runs and PUT files", async () => {
    expect(await send('POST', 'runs', runSpec, undefined)).toEqual({ status: 403, body: 'Missing API key' });
    expect(await send('POST', 'runs', runSpec, 'guess')).toEqual({ status: 403, body: 'Unknown API key' });
    const put = await send('PUT', 'files/abcdefgh12', { file_contents: 'eA==' }, undefined);
    expect(put).toEqual({ status: 403, body: 'Missing API key' });
    expect((await send('POST', 'runs', runSpec, 'campus-key-for-moodle')).status).toBe(200);
    expect(
      (await send('PUT', 'files/abcdefgh12', { file_contents: 'eA==' }, 'campus-key-for-moodle')).status,
    ).toBe(204);
    // GET languages and HEAD were never key-checked by Jobe.
    expect((await send('GET', 'languages', undefined, undefined)).status).toBe(200);
    expect((await send('HEAD', 'files/abcdefgh12', undefined, undefined)).status).toBe(204);
  });

  it("sends each backend its own key, never the client's", async () => {
    for (const jobe of jobes) jobe.seen.length = 0;
    for (let i = 0; i < 12; i++) {
      const run = await runLikeCodeRunner(host, {
        language_id: 'python3',
        sourcecode: 'x',
        apiKey: 'campus-key-for-moodle',
      });
      expect(run.error).toBeNull();
    }
    const [keyed, open] = jobes;
    expect(keyed!.seen.length + open!.seen.length).toBeGreaterThanOrEqual(12);
    for (const headers of keyed!.seen) expect(headers['x-api-key']).toBe('backend-secret-1234');
    for (const headers of open!.seen) expect(headers['x-api-key']).toBeUndefined();
  });

  it('never names a backend, its URL or its key in answers or cookies', async () => {
    const run = await runLikeCodeRunner(host, {
      language_id: 'python3',
      sourcecode: 'x',
      apiKey: 'campus-key-for-moodle',
    });
    const cookies = run.exchanges.flatMap((exchange) => exchange.responseHeaders['set-cookie'] ?? []);
    expect(cookies.length).toBeGreaterThan(0);
    const status = await fetch(`${host}/jobe/_balancer/status`);
    expect(status.status).toBe(404); // no admin token configured: status is off
    const secrets = ['backend-secret-1234', '127.0.0.1', 'keyed', 'open'];
    for (const cookie of cookies) for (const secret of secrets) expect(cookie).not.toContain(secret);
    // With every backend gone, the answer still names none of them.
    for (const jobe of jobes) jobe.server.closeAllConnections();
    await Promise.all(jobes.map((jobe) => new Promise((resolve) => jobe.server.close(resolve))));
    const down = await send('POST', 'runs', runSpec, 'campus-key-for-moodle');
    expect(down.status).toBe(503);
    for (const secret of secrets) expect(down.body).not.toContain(secret);
  });
});
