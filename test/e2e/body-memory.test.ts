import * as http from 'node:http';
import { silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { md5 } from '../support/coderunner-client.js';
import { waitFor } from '../support/fleet.js';
import type { GatewayFactory, GatewayHandle } from '../support/gateway-factory.js';
import { gatewayFactories } from '../support/gateways.js';
import { sendOnNewConnection } from '../support/http.js';

const KiB = 1024;
const BODY_LIMIT = 1024 * KiB;
const QUEUE_TIMEOUT_MS = 600;
const OVERLOAD_BODY = '{"run_id":"0","outcome":21,"cmpinfo":"","stdout":"","stderr":""}';

interface PartialRequest {
  /** Writes the rest of the body and ends the request. */
  finish(): void;
  /** Drops the connection mid-body. */
  abort(): void;
  /** Status once answered (-1 if the connection closed first). */
  status: Promise<number>;
  answered(): boolean;
}

/** A request whose headers and first `sentBytes` of body go out now, the rest only on `finish()`. */
function startRequest(
  url: string,
  method: 'PUT' | 'POST',
  body: Buffer,
  sentBytes: number,
  chunked = false,
): PartialRequest {
  const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8' };
  if (!chunked) headers['Content-Length'] = body.length;
  const req = http.request(url, { method, headers, agent: false });
  let done = false;
  const status = new Promise<number>((resolve) => {
    req.on('response', (res) => {
      res.resume();
      res.on('end', () => {
        done = true;
        resolve(res.statusCode ?? -1);
      });
    });
    req.on('error', () => {
      done = true;
      resolve(-1);
    });
  });
  req.flushHeaders();
  if (sentBytes > 0) req.write(body.subarray(0, sentBytes));
  return {
    finish: () => req.end(body.subarray(sentBytes)),
    abort: () => req.destroy(),
    status,
    answered: () => done,
  };
}

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

    beforeEach(async () => {
      sim = await startJobeSim({ name: 'jobe1' });
      gateway = await factory.start({
        backends: [{ name: sim.name, url: sim.url }],
        logger: silentLogger,
        slowStartMs: 0,
        bodyLimitBytes: BODY_LIMIT,
        bodyMemoryBytes: BODY_LIMIT,
        queue: { timeoutMs: QUEUE_TIMEOUT_MS },
        // A test counts the runs the jobe-sim serves: no canary runs among them.
        health: { canary: false },
      });
      await gateway.balancer.checkNow();
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
        sendOnNewConnection({
          url: fileUrl(late.id),
          method: 'PUT',
          headers: { 'Content-Type': 'application/json; charset=utf-8' },
          body: late.body,
        }),
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
      const put = await sendOnNewConnection({
        url: fileUrl(next.id),
        method: 'PUT',
        headers: { 'Content-Type': 'application/json; charset=utf-8' },
        body: next.body,
      });
      expect(put.status).toBe(204);
      expect(bodies().bytes).toBe(0);
    });

    it('holds a chunked body to the body limit while it arrives, then only to its size', async () => {
      const chunked = fileBody(40 * KiB, 'chunked');
      const slow = startRequest(fileUrl(chunked.id), 'PUT', chunked.body, 20 * KiB, true);
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
