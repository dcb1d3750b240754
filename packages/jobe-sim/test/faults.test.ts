import { afterEach, describe, expect, it } from 'vitest';
import { type JobeSim, OVERLOAD_BODY, startJobeSim } from '../src/index.js';
import { errorCode, JSON_TYPE, jsonMessage, postRun, putFile, request, resultJson, timed } from './http.js';

const LANGUAGES = '/jobe/index.php/restapi/languages';
let sim: JobeSim;

afterEach(async () => {
  await sim.close();
});

const python = (sourcecode: string, extra: Record<string, unknown> = {}) => ({
  language_id: 'python3',
  sourcecode,
  ...extra,
});

async function failure(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
  } catch (error) {
    return errorCode(error);
  }
  throw new Error('expected the request to fail');
}

describe('fault injection', () => {
  it('crash resets in-flight runs, refuses connections, and recover() listens again on the same port', async () => {
    sim = await startJobeSim({ workers: 2 });
    const { port, url } = sim;
    expect((await putFile(url, 'keptfile01', 'kept')).status).toBe(204);
    const inFlight = postRun(url, python('#sim sleep 5000'));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.stats().activeWorkers).toBe(1);

    await sim.fault('crash');
    expect(await failure(inFlight)).toBe('ECONNRESET');
    expect(await failure(request(`${url}${LANGUAGES}`))).toBe('ECONNREFUSED');
    expect(sim.stats().activeWorkers).toBe(0);

    await sim.recover();
    expect(sim.port).toBe(port);
    expect(sim.url).toBe(url);
    expect((await request(`${url}${LANGUAGES}`)).status).toBe(200);
    const reply = await postRun(url, python('#sim cat k', { file_list: [['keptfile01', 'k']] }));
    expect(reply.body).toBe(resultJson(15, 'kept'));

    await sim.fault('crash');
    await sim.recover({ clearFiles: true });
    expect(sim.hasFile('keptfile01')).toBe(false);
    expect((await postRun(url, python('x', { file_list: [['keptfile01', 'k']] }))).status).toBe(404);
  });

  it('hang accepts requests but never answers; recover() drops the held connections and answers again', async () => {
    sim = await startJobeSim();
    await sim.fault('hang');
    expect(await failure(request(`${sim.url}${LANGUAGES}`, { timeoutMs: 150 }))).toBe('CLIENT_TIMEOUT');
    expect(await failure(postRun(sim.url, python('x'), { timeoutMs: 150 }))).toBe('CLIENT_TIMEOUT');
    const held = request(`${sim.url}${LANGUAGES}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sim.stats().requests).toBe(3);
    await sim.recover();
    expect(await failure(held)).toBe('ECONNRESET');
    expect((await request(`${sim.url}${LANGUAGES}`)).status).toBe(200);
  });

  it('hang also holds the answer of a run that was in flight when it began', async () => {
    sim = await startJobeSim();
    const inFlight = postRun(sim.url, python('#sim sleep 100'), { timeoutMs: 400 });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await sim.fault('hang');
    expect(await failure(inFlight)).toBe('CLIENT_TIMEOUT');
    expect(sim.stats().runsServed).toBe(1);
  });

  it('slow adds latencyMs before every answer', async () => {
    sim = await startJobeSim();
    await sim.fault('slow', { latencyMs: 150 });
    const t0 = performance.now();
    const languages = await timed(request(`${sim.url}${LANGUAGES}`), t0);
    const run = await timed(postRun(sim.url, python('#sim print late')), t0);
    const notFound = await timed(request(`${sim.url}/nowhere`), t0);
    expect(languages.value.status).toBe(200);
    expect(languages.at).toBeGreaterThanOrEqual(140);
    expect(run.value.body).toBe(resultJson(15, 'late\n'));
    expect(run.at - languages.at).toBeGreaterThanOrEqual(140);
    expect(notFound.value.status).toBe(404);
    expect(notFound.at - run.at).toBeGreaterThanOrEqual(140);
    await sim.recover();
    expect((await request(`${sim.url}${LANGUAGES}`)).status).toBe(200);
  });

  it('error500 fails every run that gets as far as a worker, and nothing else', async () => {
    sim = await startJobeSim();
    expect((await putFile(sim.url, 'presentfile', 'x')).status).toBe(204);
    await sim.fault('error500');
    const reply = await postRun(sim.url, python('x', { file_list: [['presentfile', 'x']] }));
    expect(reply.status).toBe(500);
    expect(reply.headers['content-type']).toBe(JSON_TYPE);
    expect(reply.body).toBe(jsonMessage('Semaphore code failed in getFreeUser'));
    expect((await request(`${sim.url}${LANGUAGES}`)).status).toBe(200);
    expect((await postRun(sim.url, { sourcecode: 'x' })).status).toBe(400);
    expect((await postRun(sim.url, python('x', { file_list: [['absentfile', 'x']] }))).status).toBe(404);
    expect((await postRun(sim.url, python('!** TESTING OVERLOAD EXCEPTION **!'))).body).toBe(OVERLOAD_BODY);
    await sim.recover();
    expect((await postRun(sim.url, python('x'))).body).toBe(resultJson(15));
  });

  it('wedged keeps GET languages healthy while every run fails to start (HTTP 200, outcome 11)', async () => {
    sim = await startJobeSim();
    await sim.fault('wedged');
    expect((await request(`${sim.url}${LANGUAGES}`)).status).toBe(200);
    const reply = await postRun(sim.url, python('#sim print hello'));
    expect(reply.status).toBe(200);
    const result = JSON.parse(reply.body);
    expect(result).toMatchObject({ run_id: null, outcome: 11, stdout: '', stderr: '' });
    expect(result.cmpinfo).toMatch(/^\/usr\/bin\/python3: error while loading shared libraries/);
    const c = JSON.parse((await postRun(sim.url, { language_id: 'c', sourcecode: 'x' })).body);
    expect(c.cmpinfo).toMatch(/^\/usr\/bin\/gcc: error while loading shared libraries/);
    await sim.recover();
    expect((await postRun(sim.url, python('#sim print hello'))).body).toBe(resultJson(15, 'hello\n'));
  });

  it('switches straight from one fault to another', async () => {
    sim = await startJobeSim();
    await sim.fault('crash');
    await sim.fault('error500');
    expect((await postRun(sim.url, python('x'))).status).toBe(500);
    await sim.fault('crash');
    await sim.fault('crash');
    expect(await failure(request(`${sim.url}${LANGUAGES}`))).toBe('ECONNREFUSED');
    await sim.recover();
    await sim.recover();
    expect((await request(`${sim.url}${LANGUAGES}`)).status).toBe(200);
  });

  it('closes cleanly while crashed or hung', async () => {
    const crashed = await startJobeSim();
    await crashed.fault('crash');
    await crashed.close();
    sim = await startJobeSim();
    await sim.fault('hang');
    const held = request(`${sim.url}${LANGUAGES}`);
    await new Promise((resolve) => setTimeout(resolve, 30));
    await sim.close();
    expect(await failure(held)).toBe('ECONNRESET');
    await sim.close();
  });
});
