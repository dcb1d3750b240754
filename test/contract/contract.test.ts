import net from 'node:net';
import { type BalancerOptions, silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { md5, runLikeCodeRunner } from '../support/coderunner-client.js';
import type { GatewayHandle } from '../support/gateway-factory.js';
import { gatewayFactories } from '../support/gateways.js';
import { sendOnNewConnection } from '../support/http.js';
import {
  checkPassesLikeTestsubmit,
  jobeRequest,
  putFileLikeTestsubmit,
  runLikeTestsubmit,
  TESTSUBMIT_ERROR_CHECKS,
} from '../support/jobe-test-client.js';
import { BAD_INPUTS, PROTOCOL_CASES, type ProtocolCase } from './cases.js';

/**
 * One contract, run unchanged against every adapter and framework version (bull-board style): what
 * CodeRunner and Jobe's own test scripts see through the gateway must be what a single Jobe would show.
 */
describe.each(gatewayFactories.map((factory) => [factory.name, factory] as const))('%s', (_name, factory) => {
  let sims: JobeSim[];
  /** A lone backend, asked the same questions directly: the oracle for "passes through unchanged". */
  let reference: JobeSim;
  let gateway: GatewayHandle;

  beforeAll(async () => {
    sims = await Promise.all([1, 2, 3].map((i) => startJobeSim({ name: `jobe${i}` })));
    reference = await startJobeSim({ name: 'reference' });
    const options: BalancerOptions = {
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      logger: silentLogger,
      slowStartMs: 0,
      health: { intervalMs: 500, timeoutMs: 1000 },
    };
    gateway = await factory.start(options);
    await gateway.balancer.checkNow();
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([...(sims ?? []), reference].filter(Boolean).map((sim) => sim.close()));
  });

  it('keeps the host framework own routes working', async () => {
    const response = await fetch(`${gateway.jobeHost}/hello`);
    expect(await response.text()).toBe('hello');
  });

  it('runs 200 CodeRunner test runs of 20 questions with 3 support files, uploading each file once', async () => {
    const questions = Array.from({ length: 20 }, (_, q) => ({
      files: [1, 2, 3].map((f) => ({
        name: `data${f}.txt`,
        contents: `question ${q} file ${f} ${'x'.repeat(q * 10)}\n`,
      })),
      puts: 0,
    }));
    const servedBy = new Map<string, number>();
    // Ten rounds of one run per question: runs of a question never overlap in time.
    for (let round = 0; round < 10; round++) {
      await Promise.all(
        questions.map(async (question, q) => {
          const run = await runLikeCodeRunner(gateway.jobeHost, {
            language_id: 'python3',
            sourcecode: '#sim cat data1.txt\n#sim cat data2.txt\n#sim cat data3.txt\n#sim server',
            input: `round ${round}`,
            files: question.files,
          });
          expect(run.error, `question ${q} round ${round}: ${run.httpStatus} ${run.body}`).toBeNull();
          const expected = question.files.map((file) => file.contents).join('');
          expect(run.result?.stdout.startsWith(expected)).toBe(true);
          const server = run.result!.stdout.slice(expected.length).trim();
          expect(sims.map((sim) => sim.name)).toContain(server);
          servedBy.set(server, (servedBy.get(server) ?? 0) + 1);
          question.puts += run.puts;
        }),
      );
    }
    for (const question of questions) expect(question.puts).toBeLessThanOrEqual(3);
    expect(questions.reduce((sum, question) => sum + question.puts, 0)).toBe(60);
    expect([...servedBy.values()].reduce((a, b) => a + b, 0)).toBe(200);
    expect(servedBy.size).toBe(3);
  });

  it('serves Jobe test scripts (no job id: PUT, HEAD, POST) 50 times in a row', async () => {
    for (let i = 0; i < 50; i++) {
      const id = `randomid${factory.name.replace(/\W/g, '')}${i}`;
      const contents = `support file ${i}\nline 2`;
      const put = await putFileLikeTestsubmit(gateway.jobeHost, id, contents);
      expect(put.putStatus).toBe(204);
      expect(put.headStatus).toBe(204);
      const run = await runLikeTestsubmit(gateway.jobeHost, {
        language_id: 'python3',
        sourcecode: '#sim cat file1',
        sourcefilename: 'test.py',
        file_list: [[id, 'file1']],
      });
      expect(run.status, run.body).toBe(200);
      expect((run.json as { stdout: string }).stdout).toBe(contents);
    }
  });

  it("passes testsubmit's error checks", async () => {
    for (const check of TESTSUBMIT_ERROR_CHECKS) {
      const run = await runLikeTestsubmit(gateway.jobeHost, check.runSpec);
      expect(run.status, check.name).toBe(check.expectedStatus);
      expect(checkPassesLikeTestsubmit(check, run), `${check.name}: ${run.body}`).toBe(true);
    }
  });

  it.each(PROTOCOL_CASES.map((c) => [c.name, c] as const))(
    'answers like Jobe: %s',
    async (_caseName, testCase) => {
      const viaGateway = await send(gateway.jobeHost, testCase);
      if (hostParserAnswers(factory.name, testCase)) {
        // Documented limit: the host's own parser, mounted before the balancer, judged this body.
        expect(viaGateway.status).toBeGreaterThanOrEqual(400);
        await expectStillServing(gateway);
        return;
      }
      const direct = await send(reference.url, testCase);
      expect(viaGateway.status).toBe(direct.status);
      expect(viaGateway.body).toBe(direct.body);
      if (direct.status !== 204) expect(viaGateway.contentType).toBe(direct.contentType);
    },
  );

  it.each(BAD_INPUTS.map((c) => [c.name, c] as const))(
    'survives bad input: %s',
    async (_caseName, testCase) => {
      const response = await sendOnNewConnection({
        url: `${gateway.jobeHost}${testCase.path}`,
        method: testCase.method,
        headers: testCase.headers ?? { 'Content-Type': 'application/json' },
        ...(testCase.body !== undefined ? { body: testCase.body } : {}),
      });
      expect(response.status).toBe(testCase.expectedStatus);
      const body = response.body.toString('utf8');
      if (typeof testCase.expectedBody === 'string') expect(body).toBe(testCase.expectedBody);
      else if (
        testCase.expectedBody &&
        !(testCase.koaBodyParserAnswers && factory.name.endsWith('+bodyparser'))
      ) {
        expect(body).toMatch(testCase.expectedBody);
      }
      await expectStillServing(gateway);
    },
  );

  it('survives clients that vanish mid-body and mid-run', async () => {
    const { port } = new URL(gateway.jobeHost);
    const body = JSON.stringify({ run_spec: { language_id: 'python3', sourcecode: '#sim sleep 300' } });
    for (const cutAfter of [body.length / 2, body.length]) {
      const socket = net.connect(Number(port), '127.0.0.1');
      await new Promise((resolve) => socket.once('connect', resolve));
      socket.write(
        `POST /jobe/index.php/restapi/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n`,
      );
      socket.write(body.slice(0, cutAfter));
      await new Promise((resolve) => setTimeout(resolve, 50));
      socket.destroy();
    }
    await expectStillServing(gateway);
  });

  it('fails over when a backend resets connections mid-run', async () => {
    const victim = sims[0]!;
    const runs = Array.from({ length: 12 }, (_, i) =>
      runLikeCodeRunner(gateway.jobeHost, {
        language_id: 'python3',
        sourcecode: `#sim sleep 200\n#sim print run ${i}`,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 80));
    await victim.fault('crash');
    const results = await Promise.all(runs);
    await victim.recover();
    results.forEach((run, i) => {
      expect(run.error, run.body).toBeNull();
      expect(run.result?.stdout).toBe(`run ${i}\n`);
    });
  });

  it('answers GET languages from the backends', async () => {
    const response = await jobeRequest(gateway.jobeHost, 'GET', 'languages');
    const direct = await jobeRequest(reference.url, 'GET', 'languages');
    expect(response.status).toBe(200);
    expect(response.json).toEqual(direct.json);
  });
});

/** express.json() before the balancer hands over what it parsed; koa-bodyparser rejects malformed bodies itself. */
function hostParserAnswers(factoryName: string, testCase: ProtocolCase): boolean {
  if (testCase.hostParserSees === undefined) return false;
  if (factoryName.endsWith('+bodyparser')) return true;
  return factoryName.endsWith('+json') && testCase.hostParserSees === 'not-utf8';
}

async function send(base: string, testCase: ProtocolCase) {
  const response = await sendOnNewConnection({
    url: `${base}${testCase.path}`,
    method: testCase.method,
    headers: testCase.headers ?? {
      'Content-Type': 'application/json; charset=utf-8',
      Accept: 'application/json',
    },
    ...(testCase.body !== undefined ? { body: testCase.body } : {}),
  });
  return {
    status: response.status,
    body: response.body.toString('utf8'),
    contentType: response.headers['content-type'],
    cacheControl: response.headers['cache-control'],
    vary: response.headers['vary'],
  };
}

async function expectStillServing(gateway: GatewayHandle): Promise<void> {
  const run = await runLikeCodeRunner(gateway.jobeHost, {
    language_id: 'python3',
    sourcecode: '#sim print alive',
    files: [{ name: 'alive.txt', contents: `alive ${md5(String(Math.random()))}` }],
  });
  expect(run.error, run.body).toBeNull();
  expect(run.result?.stdout).toBe('alive\n');
}
