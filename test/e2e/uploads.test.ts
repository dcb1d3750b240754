import * as http from 'node:http';
import { silentLogger } from '@jobe-balancer/core';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { md5, runLikeCodeRunner } from '../support/coderunner-client.js';
import type { GatewayHandle } from '../support/gateway-factory.js';
import { standalone } from '../support/gateways.js';
import { sendOnNewConnection } from '../support/http.js';

// In an exam burst many students start the same question at once. The first gets Jobe's missing-file 404
// and uploads; the others' runs wait for those uploads at the gateway instead of uploading again.
describe('runs that need files another client is uploading', () => {
  let sims: JobeSim[];
  let gateway: GatewayHandle;
  let host: string;

  beforeEach(async () => {
    sims = await Promise.all([1, 2, 3].map((i) => startJobeSim({ name: `jobe${i}` })));
    gateway = await standalone.start({
      backends: sims.map((sim) => ({ name: sim.name, url: sim.url })),
      logger: silentLogger,
      slowStartMs: 0,
    });
    await gateway.balancer.checkNow();
    host = gateway.jobeHost;
  });

  afterEach(async () => {
    await gateway.close();
    await Promise.all(sims.map((sim) => sim.close()));
  });

  const files = [
    { name: 'one.txt', contents: 'first support file\n' },
    { name: 'two.txt', contents: 'second support file\n' },
  ];
  const sourcecode = '#sim cat one.txt\n#sim cat two.txt';
  const runSpec = {
    run_spec: {
      language_id: 'python3',
      sourcecode,
      file_list: files.map((file) => [md5(file.contents), file.name]),
    },
  };
  const asJob = (jobId: string) => ({
    'Content-Type': 'application/json; charset=utf-8',
    'X-CodeRunner-Job-Id': jobId,
  });
  const post = (jobId: string) =>
    sendOnNewConnection({
      url: `${host}/jobe/index.php/restapi/runs`,
      method: 'POST',
      headers: asJob(jobId),
      body: JSON.stringify(runSpec),
    });
  const put = (jobId: string, contents: string) =>
    sendOnNewConnection({
      url: `${host}/jobe/index.php/restapi/files/${md5(contents)}`,
      method: 'PUT',
      headers: asJob(jobId),
      body: JSON.stringify({ file_contents: Buffer.from(contents).toString('base64') }),
    });

  it('waits for the uploads under way instead of sending the student a 404', async () => {
    expect((await post('0000000a')).status).toBe(404);
    const second = runLikeCodeRunner(host, { language_id: 'python3', sourcecode, files });
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (const file of files) expect((await put('0000000a', file.contents)).status).toBe(204);
    const first = await post('0000000a');
    expect(first.status).toBe(200);
    const waited = await second;
    expect(waited.error).toBeNull();
    expect(waited.result?.stdout).toBe(files.map((file) => file.contents).join(''));
    expect([waited.posts, waited.puts]).toEqual([1, 0]);
  });

  it('sends the 404 after all when the expected uploads never come', async () => {
    expect((await post('0000000b')).status).toBe(404);
    // The first client gave up; the next one waits in vain, then uploads itself like CodeRunner.
    const run = await runLikeCodeRunner(host, { language_id: 'python3', sourcecode, files });
    expect(run.error).toBeNull();
    expect([run.posts, run.puts]).toEqual([2, 2]);
  });
});

/** A PUT whose body the client writes in many small pieces, with or without a Content-Length. */
function putInPieces(url: string, body: Buffer, withLength: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { 'Content-Type': 'application/json; charset=utf-8' };
    if (withLength) headers['Content-Length'] = body.length;
    const req = http.request(url, { method: 'PUT', headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? -1));
    });
    req.on('error', reject);
    let at = 0;
    const next = () => {
      if (at >= body.length) return req.end();
      const piece = body.subarray(at, at + 7_919);
      at += piece.length;
      req.write(piece, () => setImmediate(next));
    };
    next();
  });
}

describe('support files whose bodies arrive in pieces', () => {
  let sim: JobeSim;
  let gateway: GatewayHandle;

  beforeEach(async () => {
    sim = await startJobeSim({ name: 'jobe1' });
    gateway = await standalone.start({
      backends: [{ name: sim.name, url: sim.url }],
      logger: silentLogger,
      slowStartMs: 0,
    });
    await gateway.balancer.checkNow();
  });

  afterEach(async () => {
    await gateway.close();
    await sim.close();
  });

  for (const withLength of [true, false]) {
    it(`stores them byte for byte ${withLength ? 'with a Content-Length' : 'sent chunked'}`, async () => {
      // Printable, so that the run can print it back; distinct per case, so nothing is cached.
      const contents = Array.from({ length: 12_000 }, (_, i) => `line ${i} ${withLength}\n`).join('');
      const id = md5(contents);
      const body = Buffer.from(JSON.stringify({ file_contents: Buffer.from(contents).toString('base64') }));
      const url = `${gateway.jobeHost}/jobe/index.php/restapi/files/${id}`;
      expect(await putInPieces(url, body, withLength)).toBe(204);
      expect(gateway.balancer.status().fileStore.entries).toBe(1);
      const run = await runLikeCodeRunner(gateway.jobeHost, {
        language_id: 'python3',
        sourcecode: '#sim cat big.txt',
        files: [{ name: 'big.txt', contents }],
      });
      expect(run.error).toBeNull();
      expect([run.posts, run.puts]).toEqual([1, 0]);
      expect(md5(run.result?.stdout ?? '')).toBe(id);
    });
  }
});
