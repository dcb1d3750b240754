import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { type Gateway, parseConfig, startGateway } from 'jobe-balancer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendOnNewConnection } from '../support/http.js';

const TOKEN = 'admin-token-for-tests';

/** The standalone `jobe-balancer` gateway (its own server and settings) over one jobe-sim. */
async function startCommandGateway(sim: JobeSim): Promise<Gateway> {
  const parsed = parseConfig({
    backends: [{ name: 'jobe1', url: sim.url }],
    port: 0,
    host: '127.0.0.1',
    logLevel: 'silent',
    slowStartMs: 0,
    admin: { token: TOKEN },
  });
  if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
  return startGateway(parsed.config);
}

describe('admin API of the jobe-balancer command, attacked', () => {
  let sim: JobeSim;
  let gateway: Gateway;

  beforeAll(async () => {
    sim = await startJobeSim({ name: 'jobe1' });
    gateway = await startCommandGateway(sim);
  });

  afterAll(async () => {
    await gateway.close();
    await sim.close();
  });

  const admin = (method: string, path: string, authorization: string, body?: unknown) =>
    sendOnNewConnection({
      url: `${gateway.url}/_balancer/${path}`,
      method,
      headers: {
        authorization,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  it.each([
    ['Bearer', 200],
    ['bearer', 200],
    ['BEARER', 200],
    ['bEaReR  ', 200],
    ['Basic', 401],
    ['Bearer-', 401],
  ])('reads the auth scheme %j case-insensitively (RFC 9110)', async (scheme, status) => {
    const separator = scheme.endsWith(' ') || scheme.endsWith('-') ? '' : ' ';
    const response = await admin('GET', 'backends', `${scheme}${separator}${TOKEN}`);
    expect(response.status).toBe(status);
  });

  it.each([
    [
      'credentials in the URL',
      { name: 'evil', url: 'http://root:hunter2secret@127.0.0.1:1' },
      { code: 'credentials', path: 'url' },
    ],
    ['a file: URL', { name: 'evil', url: 'file:///etc/passwd' }, { code: 'invalid', path: 'url' }],
    ['a bare file: URL', { name: 'evil', url: 'file:/etc/passwd' }, { code: 'invalid', path: 'url' }],
    [
      'maxConcurrent 1e308',
      { name: 'evil', url: '127.0.0.1:1', maxConcurrent: 1e308 },
      { code: 'out_of_range', path: 'maxConcurrent' },
    ],
    [
      'an API key that would inject a header',
      { name: 'evil', url: '127.0.0.1:1', apiKey: 'k\r\nX-Injected: 1' },
      { code: 'invalid', path: 'apiKey' },
    ],
    ['a duplicate name', { name: 'jobe1', url: '127.0.0.1:1' }, { code: 'duplicate', path: 'name' }],
    [
      'an unknown key',
      { name: 'evil', url: '127.0.0.1:1', max_concurrent: 4 },
      { code: 'unknown_key', path: 'max_concurrent' },
    ],
  ])(
    'refuses a backend with %s, as the command line does, and adds nothing',
    async (_what, body, problem) => {
      const response = await admin('POST', 'backends', `Bearer ${TOKEN}`, body);
      expect(response.status).toBe(400);
      const text = response.body.toString();
      expect(text).not.toContain('hunter2secret');
      expect(JSON.parse(text)).toMatchObject({ error: 'Cannot add backend', problems: [problem] });

      // The command refuses the same backend with the same message.
      const cli = parseConfig({ backends: [{ name: 'jobe1', url: sim.url }, body] });
      expect(cli.ok).toBe(false);
      const { message } = (JSON.parse(text) as { problems: Array<{ message: string }> }).problems[0]!;
      if (!cli.ok && !['duplicate', 'unknown_key'].includes(problem.code))
        expect(cli.errors).toContain(`backends[1].${message}`);

      const status = await admin('GET', 'status', `Bearer ${TOKEN}`);
      expect(status.body.toString()).not.toContain('hunter2secret');
      expect((JSON.parse(status.body.toString()) as { backends: unknown[] }).backends).toHaveLength(1);
    },
  );

  it('refuses a body that is not JSON with a coded error', async () => {
    const response = await sendOnNewConnection({
      url: `${gateway.url}/_balancer/backends`,
      method: 'POST',
      headers: { authorization: `bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body.toString())).toMatchObject({ problems: [{ code: 'invalid' }] });
  });

  it('still adds a valid backend, which then serves runs', async () => {
    const second = await startJobeSim({ name: 'jobe2' });
    try {
      const added = await admin('POST', 'backends', `bearer ${TOKEN}`, {
        name: 'jobe2',
        url: `${second.url}/`,
        maxConcurrent: 4,
      });
      expect(added.status).toBe(201);
      expect(JSON.parse(added.body.toString())).toMatchObject({ name: 'jobe2', capacity: 4 });
      const removed = await admin('DELETE', 'backends/jobe2', `BEARER ${TOKEN}`);
      expect(removed.status).toBe(200);
    } finally {
      await second.close();
    }
  });
});
