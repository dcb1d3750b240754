import { afterEach, describe, expect, it } from 'vitest';
import { type JobeSim, type JobeSimOptions, OVERLOAD_BODY, startJobeSim } from '../src/index.js';
import { jsonMessage, postRun, putFile, request, resultJson, timed } from './http.js';

const sims: JobeSim[] = [];

async function start(options: JobeSimOptions = {}): Promise<JobeSim> {
  const sim = await startJobeSim(options);
  sims.push(sim);
  return sim;
}

afterEach(async () => {
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
});

const python = (sourcecode: string, extra: Record<string, unknown> = {}) => ({
  language_id: 'python3',
  sourcecode,
  ...extra,
});

describe('worker table and overload', () => {
  it('answers outcome 21 after waitTimeout polls when every worker stays busy', async () => {
    const sim = await start({ workers: 1, pollMs: 20, waitTimeout: 5 });
    const t0 = performance.now();
    const holder = timed(postRun(sim.url, python('#sim sleep 500\n#sim print done')), t0);
    await new Promise((resolve) => setTimeout(resolve, 30));
    const t1 = performance.now();
    const second = await timed(postRun(sim.url, python('#sim print never')), t1);
    expect(second.value.status).toBe(200);
    expect(second.value.body).toBe(OVERLOAD_BODY);
    // 5 retries of 20 ms: about 100 ms, and well before the holder's 500 ms run ends.
    expect(second.at).toBeGreaterThanOrEqual(80);
    const first = await holder;
    expect(first.value.body).toBe(resultJson(15, 'done\n'));
    expect(first.at).toBeGreaterThan(second.at + 30);
    expect(sim.stats()).toMatchObject({ overloads: 1, runsServed: 1, peakWorkers: 1, activeWorkers: 0 });
  });

  it('tries once plus waitTimeout more times, pollMs apart', async () => {
    const sim = await start({ workers: 1, pollMs: 50, waitTimeout: 3 });
    const holder = postRun(sim.url, python('#sim sleep 1000'));
    await new Promise((resolve) => setTimeout(resolve, 30));
    const t0 = performance.now();
    const overloaded = await postRun(sim.url, python('x'));
    const elapsed = performance.now() - t0;
    expect(overloaded.body).toBe(OVERLOAD_BODY);
    // Three sleeps of 50 ms: not two (100 ms), and nowhere near the holder's 1000 ms.
    expect(elapsed).toBeGreaterThanOrEqual(140);
    expect(elapsed).toBeLessThan(600);
    expect((await holder).status).toBe(200);
  });

  it('gives a worker freed during the wait to the waiting run', async () => {
    const sim = await start({ workers: 1, pollMs: 20, waitTimeout: 10 });
    const holder = postRun(sim.url, python('#sim sleep 60\n#sim print first'));
    await new Promise((resolve) => setTimeout(resolve, 15));
    const waiter = await postRun(sim.url, python('#sim print second'));
    expect(waiter.body).toBe(resultJson(15, 'second\n'));
    expect((await holder).body).toBe(resultJson(15, 'first\n'));
  });

  it('with waitTimeout 0 answers overload at once', async () => {
    const sim = await start({ workers: 0, pollMs: 1000, waitTimeout: 0 });
    const t0 = performance.now();
    const reply = await postRun(sim.url, python('x'));
    expect(reply.body).toBe(OVERLOAD_BODY);
    expect(performance.now() - t0).toBeLessThan(900);
  });

  it('checks file_list before taking a worker: a missing file is a 404 while every worker is busy', async () => {
    const sim = await start({ workers: 1, pollMs: 1000, waitTimeout: 10 });
    const t0 = performance.now();
    const holder = timed(postRun(sim.url, python('#sim sleep 400')), t0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const missing = await timed(
      postRun(sim.url, python('x', { file_list: [['nosuchfileid', 'a.txt']] })),
      t0,
    );
    expect(missing.value.status).toBe(404);
    expect(missing.value.body).toBe(jsonMessage('One or more of the specified files is missing/unavailable'));
    const hack = await timed(postRun(sim.url, python('!** TESTING OVERLOAD EXCEPTION **!')), t0);
    expect(hack.value.body).toBe(OVERLOAD_BODY);
    const bad = await timed(postRun(sim.url, { language_id: 'cobol', sourcecode: 'x' }), t0);
    expect(bad.value.status).toBe(400);
    const first = await holder;
    expect(first.value.status).toBe(200);
    expect(Math.max(missing.at, hack.at, bad.at)).toBeLessThan(first.at);
    expect(sim.stats()).toMatchObject({ fileMisses: 1, overloads: 1, badRequests: 1, runsServed: 1 });
  });

  it('holds workers for defaultRunMs or what the runMs hook chooses, and counts concurrency', async () => {
    const seen: string[] = [];
    const sim = await start({
      workers: 3,
      pollMs: 10,
      defaultRunMs: 10,
      runMs: (spec) => {
        seen.push(spec.sourcecode);
        return spec.sourcecode === 'slow' ? 150 : undefined;
      },
    });
    const t0 = performance.now();
    const replies = await Promise.all([
      timed(postRun(sim.url, python('slow')), t0),
      timed(postRun(sim.url, python('slow')), t0),
      timed(postRun(sim.url, python('quick')), t0),
      timed(postRun(sim.url, python('#sim sleep 0')), t0),
    ]);
    for (const reply of replies) expect(reply.value.body).toBe(resultJson(15));
    expect(replies[0]!.at).toBeGreaterThanOrEqual(140);
    expect(replies[1]!.at).toBeGreaterThanOrEqual(140);
    expect(seen.sort()).toEqual(['quick', 'slow', 'slow']);
    expect(sim.stats()).toMatchObject({ runsServed: 4, activeWorkers: 0 });
    expect(sim.stats().peakWorkers).toBeGreaterThanOrEqual(2);
    expect(sim.stats().peakWorkers).toBeLessThanOrEqual(3);
  });

  it('serves many concurrent zero-length runs', async () => {
    const sim = await start({ workers: 16, pollMs: 5, waitTimeout: 1000 });
    const replies = await Promise.all(
      Array.from({ length: 200 }, (_, i) => postRun(sim.url, python(`#sim print ${i}`))),
    );
    for (const [i, reply] of replies.entries()) expect(reply.body).toBe(resultJson(15, `${i}\n`));
    expect(sim.stats().runsServed).toBe(200);
  });
});

describe('instances and statistics', () => {
  it('keeps a separate file cache per instance', async () => {
    const one = await start({ name: 'one' });
    const two = await start({ name: 'two' });
    expect((await putFile(one.url, 'sharedfile1', 'hello')).status).toBe(204);
    expect(one.hasFile('sharedfile1')).toBe(true);
    expect(two.hasFile('sharedfile1')).toBe(false);
    expect(
      (await request(`${two.url}/jobe/index.php/restapi/files/sharedfile1`, { method: 'HEAD' })).status,
    ).toBe(404);
    const spec = python('#sim server\n#sim cat f.txt', { file_list: [['sharedfile1', 'f.txt']] });
    expect((await postRun(two.url, spec)).status).toBe(404);
    expect((await postRun(one.url, spec)).body).toBe(resultJson(15, 'one\nhello'));
    expect(one.name).toBe('one');
    expect(one.url).toBe(`http://127.0.0.1:${one.port}`);
  });

  it('names an unnamed instance after its port and serves a custom language list', async () => {
    const sim = await start({
      languages: [
        ['python3', '3.12.3'],
        ['java', '21.0.4'],
      ],
    });
    expect(sim.name).toBe(`jobe-sim-${sim.port}`);
    expect((await request(`${sim.url}/jobe/index.php/restapi/languages`)).body).toBe(
      '[["python3","3.12.3"],["java","21.0.4"]]',
    );
    expect((await postRun(sim.url, { language_id: 'c', sourcecode: 'x' })).body).toBe(
      jsonMessage("Language 'c' is not known"),
    );
    expect((await postRun(sim.url, { language_id: 'java', sourcecode: '#sim server' })).body).toBe(
      resultJson(15, `${sim.name}\n`),
    );
  });

  it('uses cputimeUpperLimit in the check and in its message', async () => {
    const sim = await start({ cputimeUpperLimit: 30 });
    const reply = await postRun(sim.url, python('x', { parameters: { cputime: 31 } }));
    expect(reply.status).toBe(400);
    expect(reply.body).toBe(jsonMessage('cputime exceeds maximum allowed on this Jobe server (30 secs)'));
    expect((await postRun(sim.url, python('x', { parameters: { cputime: 30 } }))).status).toBe(200);
  });

  it('counts requests by kind and resets the counters', async () => {
    const sim = await start();
    await request(`${sim.url}/jobe/index.php/restapi/languages`);
    await putFile(sim.url, 'statsfile1', 'x');
    await request(`${sim.url}/jobe/index.php/restapi/files/statsfile1`, { method: 'HEAD' });
    await request(`${sim.url}/jobe/index.php/restapi/files/nothere123`, { method: 'HEAD' });
    await postRun(sim.url, python('x'));
    await postRun(sim.url, python('x', { file_list: [['nothere123', 'a']] }));
    await postRun(sim.url, { sourcecode: 'x' });
    await request(`${sim.url}/nowhere`);
    expect(sim.stats()).toEqual({
      requests: 8,
      runsServed: 1,
      activeWorkers: 0,
      peakWorkers: 1,
      overloads: 0,
      fileMisses: 1,
      puts: 1,
      heads: 2,
      languageRequests: 1,
      filesHeld: 1,
      badRequests: 1,
    });
    sim.resetStats();
    expect(sim.stats()).toEqual({
      requests: 0,
      runsServed: 0,
      activeWorkers: 0,
      peakWorkers: 0,
      overloads: 0,
      fileMisses: 0,
      puts: 0,
      heads: 0,
      languageRequests: 0,
      filesHeld: 1,
      badRequests: 0,
    });
  });

  it('rejects invalid options', async () => {
    await expect(startJobeSim({ workers: -1 })).rejects.toThrow(RangeError);
    await expect(startJobeSim({ waitTimeout: 1.5 })).rejects.toThrow(RangeError);
    await expect(startJobeSim({ port: 70000 })).rejects.toThrow(RangeError);
  });
});
