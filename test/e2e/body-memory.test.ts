import { type BalancerOptions, silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { md5 } from '../support/coderunner-client.js';
import { waitFor } from '../support/fleet.js';
import type { GatewayFactory, GatewayHandle } from '../support/gateway-factory.js';
import { gatewayFactories } from '../support/gateways.js';
import { sendOnNewConnection, startRequest } from '../support/http.js';

const KiB = 1024;
const BODY_LIMIT = 1024 * KiB;
const QUEUE_TIMEOUT_MS = 600;
const IDLE_MS = 1500;
const OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';

/** A PUT files/<id> body of about `bytes` bytes, and the file's id. */
function fileBody(bytes: number, tag: string): { id: string; body: Buffer } {
  const contents = `${tag}\n${'x'.repeat(Math.floor((bytes * 3) / 4) - tag.length - 1)}`;
  const body = Buffer.from(JSON.stringify({ file_contents: Buffer.from(contents).toString('base64') }));
  return { id: md5(contents), body };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// The adapters that leave the body to the core (a host body parser in front holds it in memory already).
const readByTheCore = gatewayFactories.filter((factory: GatewayFactory) =>
  ['standalone', 'express5', 'fastify5', 'koa3'].includes(factory.name),
);

describe.each(readByTheCore.map((factory) => [factory.name, factory] as const))(
  'request bodies held at once (bodyMemoryBytes), %s',
  (_name, factory) => {
    let sim: JobeSim;
    let gateway: GatewayHandle;
    const fileUrl = (id: string) => `${gateway.jobeHost}/jobe/index.php/restapi/files/${id}`;
    const bodies = () => gateway.balancer.status().bodies;
    const putWhole = (file: { id: string; body: Buffer }) =>
      sendOnNewConnection({
        url: fileUrl(file.id),
        method: 'PUT',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: file.body,
      });

    const startGateway = async (options: Partial<BalancerOptions> = {}) => {
      gateway = await factory.start({
        backends: [{ name: sim.name, url: sim.url }],
        logger: silentLogger,
        slowStartMs: 0,
        bodyLimitBytes: BODY_LIMIT,
        bodyMemoryBytes: BODY_LIMIT,
        queue: { timeoutMs: QUEUE_TIMEOUT_MS },
        // A test counts the runs the jobe-sim serves: no canary runs among them.
        health: { canary: false },
        ...options,
      });
      await gateway.balancer.checkNow();
    };
    /** A gateway whose stalled bodies are cut after IDLE_MS, long before a body waiting for room gives up. */
    const restartWithIdleTimeout = async () => {
      await gateway.close();
      await startGateway({ bodyIdleTimeoutMs: IDLE_MS, queue: { timeoutMs: 10_000 } });
    };

    beforeEach(async () => {
      sim = await startJobeSim({ name: 'jobe1' });
      await startGateway();
    });

    afterEach(async () => {
      await gateway.close();
      await sim.close();
    });

    it('lets a body that does not fit wait, unread, and stores both once room frees', async () => {
      const first = fileBody(700 * KiB, 'first');
      const second = fileBody(700 * KiB, 'second');
      const slow = startRequest(fileUrl(first.id), 'PUT', first.body, 300 * KiB);
      await waitFor(() => bodies().bytes === first.body.length, 'the first body to take its share');
      const waiting = startRequest(fileUrl(second.id), 'PUT', second.body, 0);
      waiting.finish();
      await waitFor(() => bodies().waiting === 1, 'the second body to wait');
      await sleep(300);
      expect(waiting.answered()).toBe(false);
      expect(gateway.balancer.status().fileStore.entries).toBe(0);

      slow.finish();
      expect(await slow.status).toBe(204);
      expect(await waiting.status).toBe(204);
      expect(gateway.balancer.status().fileStore.entries).toBe(2);
      for (const id of [first.id, second.id]) {
        const head = await sendOnNewConnection({ url: fileUrl(id), method: 'HEAD', headers: {} });
        expect(head.status).toBe(204);
      }
      expect(bodies()).toEqual({ bytes: 0, maxBytes: BODY_LIMIT, waiting: 0 });
    });

    it("answers a run whose body waited past the queue timeout with Jobe's overload body, a PUT with 503", async () => {
      const first = fileBody(700 * KiB, 'holder');
      const slow = startRequest(fileUrl(first.id), 'PUT', first.body, 100 * KiB);
      await waitFor(() => bodies().bytes > 0, 'the first body to take its share');

      const runBody = Buffer.from(
        JSON.stringify({
          run_spec: { language_id: 'python3', sourcecode: `#sim print hello\n#${'y'.repeat(600 * KiB)}` },
        }),
      );
      const late = fileBody(600 * KiB, 'late');
      const started = Date.now();
      const [run, put] = await Promise.all([
        sendOnNewConnection({
          url: `${gateway.jobeHost}/jobe/index.php/restapi/runs`,
          method: 'POST',
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body: runBody,
        }),
        putWhole(late),
      ]);
      expect(Date.now() - started).toBeGreaterThanOrEqual(QUEUE_TIMEOUT_MS - 50);
      expect([run.status, run.body.toString()]).toEqual([200, OVERLOAD_BODY]);
      expect(put.status).toBe(503);
      expect(JSON.parse(put.body.toString())).toBe(
        `The Jobe gateway already holds its limit of ${BODY_LIMIT} bytes of request bodies; try again`,
      );
      expect(sim.stats().runsServed + sim.stats().puts).toBe(0);

      slow.finish();
      expect(await slow.status).toBe(204);
      expect(bodies().bytes).toBe(0);
    });

    it('gives up the place of a client that leaves while its body waits', async () => {
      const first = fileBody(700 * KiB, 'stays');
      const slow = startRequest(fileUrl(first.id), 'PUT', first.body, 100 * KiB);
      await waitFor(() => bodies().bytes > 0, 'the first body to take its share');
      const leaver = fileBody(700 * KiB, 'leaves');
      const leaving = startRequest(fileUrl(leaver.id), 'PUT', leaver.body, 10 * KiB);
      await waitFor(() => bodies().waiting === 1, 'the second body to wait');
      leaving.abort();
      await waitFor(() => bodies().waiting === 0, 'the leaver to give its place up');

      slow.finish();
      expect(await slow.status).toBe(204);
      const next = fileBody(700 * KiB, 'next');
      const put = await putWhole(next);
      expect(put.status).toBe(204);
      expect(bodies().bytes).toBe(0);
    });

    it('holds no share for a client that sends nothing, and answers it 408 after bodyIdleTimeoutMs, closed', async () => {
      await restartWithIdleTimeout();
      const started = performance.now();
      const idle = startRequest(fileUrl('idleclient1'), 'PUT', Buffer.alloc(0), 0, {
        declaredLength: BODY_LIMIT,
        keepAlive: true,
      });
      await waitFor(() => gateway.balancer.inFlightTotal() === 1, 'the gateway to see the idle request');
      expect(bodies().bytes).toBe(0);

      // The whole budget is still there for a client that sends.
      const sender = fileBody(700 * KiB, 'sender');
      const put = await putWhole(sender);
      expect(put.status).toBe(204);

      const answer = await idle.response;
      expect(performance.now() - started).toBeGreaterThanOrEqual(IDLE_MS - 50);
      expect(answer.status).toBe(408);
      expect(answer.headers.connection).toBe('close');
      expect(JSON.parse(answer.body.toString())).toBe(
        `Request body sent nothing for ${IDLE_MS} ms; the Jobe gateway closed the connection`,
      );
      await idle.closed;
      expect(bodies()).toEqual({ bytes: 0, maxBytes: BODY_LIMIT, waiting: 0 });
      expect(sim.stats().puts).toBe(0);
    });

    it('answers a body that stalls halfway 408 and gives its share at once to the body waiting for it', async () => {
      await restartWithIdleTimeout();
      const stalling = fileBody(700 * KiB, 'stalls');
      const stalled = startRequest(fileUrl(stalling.id), 'PUT', stalling.body, 300 * KiB, {
        keepAlive: true,
      });
      await waitFor(() => bodies().bytes === stalling.body.length, 'the stalling body to take its share');
      const next = fileBody(700 * KiB, 'waits');
      const waiting = startRequest(fileUrl(next.id), 'PUT', next.body, 0);
      waiting.finish();
      await waitFor(() => bodies().waiting === 1, 'the second body to wait');

      const answer = await stalled.response;
      expect(answer.status).toBe(408);
      expect(answer.headers.connection).toBe('close');
      await stalled.closed;
      expect(await waiting.status).toBe(204);
      const stored = async (id: string) =>
        (await sendOnNewConnection({ url: fileUrl(id), method: 'HEAD', headers: {} })).status;
      expect([await stored(stalling.id), await stored(next.id)]).toEqual([404, 204]);
      expect(bodies()).toEqual({ bytes: 0, maxBytes: BODY_LIMIT, waiting: 0 });
    });

    it('holds a chunked body to the body limit while it arrives, then only to its size', async () => {
      const chunked = fileBody(40 * KiB, 'chunked');
      const slow = startRequest(fileUrl(chunked.id), 'PUT', chunked.body, 20 * KiB, { chunked: true });
      await waitFor(() => bodies().bytes === BODY_LIMIT, 'the chunked body to hold the limit');
      const small = fileBody(8 * KiB, 'small');
      const waiting = startRequest(fileUrl(small.id), 'PUT', small.body, 0);
      waiting.finish();
      await waitFor(() => bodies().waiting === 1, 'the small body to wait behind it');

      slow.finish();
      expect(await slow.status).toBe(204);
      expect(await waiting.status).toBe(204);
      expect(bodies()).toEqual({ bytes: 0, maxBytes: BODY_LIMIT, waiting: 0 });
    });
  },
);
