import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { type JobeSim, startJobeSim } from '../src/index.js';
import { listenBelowEphemeralRange } from '../src/ports.js';

function ephemeralStart(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  } catch {
    return 32_768;
  }
}

const sims: JobeSim[] = [];
const blockers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((sim) => sim.close()));
  await Promise.all(blockers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

// A crashed simulator listens again on its port: no program asking for port 0 may have been given it.
describe('the port of a simulator started without one', () => {
  it('lies below the ephemeral range, for every one of many simulators', async () => {
    for (let i = 0; i < 40; i++) sims.push(await startJobeSim());
    const ports = sims.map((sim) => sim.port);
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(10_000);
      expect(port).toBeLessThan(ephemeralStart());
    }
  });

  it('is got back after a crash although many servers asked for port 0 meanwhile', async () => {
    const sim = await startJobeSim({ name: 'crashes' });
    sims.push(sim);
    const { port } = sim;
    await sim.fault('crash');
    for (let i = 0; i < 200; i++) {
      const server = net.createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      blockers.push(server);
      expect((server.address() as net.AddressInfo).port).not.toBe(port);
    }
    await sim.recover();
    expect(sim.port).toBe(port);
    expect((await fetch(`${sim.url}/jobe/index.php/restapi/languages`)).status).toBe(200);
  });

  it('tries other ports while the ones it picks are taken, and gives up on other errors', async () => {
    const tried: number[] = [];
    await listenBelowEphemeralRange(async (port) => {
      tried.push(port);
      if (tried.length < 3) throw Object.assign(new Error('taken'), { code: 'EADDRINUSE' });
    });
    expect(tried).toHaveLength(3);
    for (const port of tried) expect(port).toBeLessThan(ephemeralStart());

    const failing = listenBelowEphemeralRange(async () => {
      throw Object.assign(new Error('bad host'), { code: 'EADDRNOTAVAIL' });
    });
    await expect(failing).rejects.toThrow('bad host');

    const fallback: number[] = [];
    await listenBelowEphemeralRange(async (port) => {
      fallback.push(port);
      if (port !== 0) throw Object.assign(new Error('taken'), { code: 'EADDRINUSE' });
    }, 5);
    expect(fallback.at(-1)).toBe(0);
    expect(fallback).toHaveLength(6);
  });
});
