import * as net from 'node:net';
import { type JobeSim, startJobeSim } from '@jobe-balancer/jobe-sim';
import { type Gateway, parseConfig, startGateway } from 'jobe-balancer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayFactory } from '../support/gateway-factory.js';
import { gatewayFactories } from '../support/gateways.js';

const MiB = 1024 * 1024;
const BODY_LIMIT = MiB;
/** What the attacker declares, and would send if the gateway kept reading. */
const DECLARED = 512 * MiB;

interface Attack {
  /** The head of the answer, as received. */
  head: string;
  /** Bytes of body the client managed to hand to the kernel before the gateway closed the connection. */
  written: number;
  /** The gateway closed the connection (FIN or reset) before the client stopped sending. */
  closedByGateway: boolean;
}

/**
 * Declares a body far above the limit and sends it as fast as the connection takes it, reading the answer
 * meanwhile. A gateway that reads the rest of the body to keep the connection alive swallows all of it.
 */
function sendTooLarge(
  origin: string,
  method: 'PUT' | 'POST',
  path: string,
  chunked: boolean,
): Promise<Attack> {
  const { hostname, port } = new URL(origin);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    let written = 0;
    let received = '';
    let closedByGateway = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ head: received.split('\r\n\r\n')[0] ?? '', written, closedByGateway });
    };
    // Never reached when the gateway closes: then the attack was swallowed.
    const timer = setTimeout(finish, 15_000);
    const pump = () => {
      while (!done && !socket.destroyed && written < DECLARED) {
        const frame = chunked
          ? Buffer.concat([Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n')])
          : chunk;
        written += chunk.length;
        if (!socket.write(frame)) return;
      }
    };
    socket.on('connect', () => {
      const length = chunked ? 'Transfer-Encoding: chunked' : `Content-Length: ${DECLARED}`;
      socket.write(
        `${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\n${length}\r\n\r\n`,
      );
      pump();
    });
    socket.on('drain', pump);
    socket.on('data', (data: Buffer) => {
      received += data.toString('latin1');
    });
    socket.on('end', () => {
      closedByGateway = true;
      finish();
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') {
        closedByGateway = true;
        finish();
      } else reject(error);
    });
  });
}

const RESOURCES = [
  ['PUT', '/jobe/index.php/restapi/files/abcdef0123456789'],
  ['POST', '/jobe/index.php/restapi/runs'],
] as const;

function expectClosedWithout(attack: Attack): void {
  expect(attack.head).toMatch(/^HTTP\/1\.1 413 /);
  expect(attack.head.toLowerCase()).toContain('connection: close');
  expect(attack.closedByGateway).toBe(true);
  // Kernel buffers and Node's read-ahead hold a few MiB at most: far from the half gigabyte declared.
  expect(attack.written).toBeLessThan(64 * MiB);
}

describe('a 413 closes the connection instead of reading the rest: the jobe-balancer command', () => {
  let sim: JobeSim;
  let gateway: Gateway;

  beforeAll(async () => {
    sim = await startJobeSim({ name: 'jobe1' });
    const parsed = parseConfig({
      backends: [{ name: 'jobe1', url: sim.url }],
      port: 0,
      host: '127.0.0.1',
      logLevel: 'silent',
      bodyLimitBytes: BODY_LIMIT,
    });
    if (!parsed.ok) throw new Error(parsed.errors.join('\n'));
    gateway = await startGateway(parsed.config);
  });

  afterAll(async () => {
    await gateway.close();
    await sim.close();
  });

  it.each(
    RESOURCES.flatMap(([method, path]) => [[method, path, false] as const, [method, path, true] as const]),
  )('%s %s (chunked: %s)', async (method, path, chunked) => {
    const origin = gateway.url.replace(/\/jobe$/, '');
    expectClosedWithout(await sendTooLarge(origin, method, path, chunked));
    // The gateway still serves others.
    const languages = await fetch(`${gateway.url}/index.php/restapi/languages`);
    expect(languages.status).toBe(200);
  });
});

// Every adapter that leaves the body to the core. A host body parser in front (express.json(),
// koa-bodyparser) reads the whole body before any middleware after it runs: that is the host's choice.
const coreReadsTheBody = gatewayFactories.filter((factory) => !/\+(json|bodyparser)$/.test(factory.name));

describe.each(coreReadsTheBody.map((factory: GatewayFactory) => [factory.name, factory] as const))(
  'a 413 closes the connection, %s',
  (_name, factory) => {
    let sim: JobeSim;
    let gateway: Awaited<ReturnType<GatewayFactory['start']>>;

    beforeAll(async () => {
      sim = await startJobeSim({ name: 'jobe1' });
      gateway = await factory.start({
        backends: [{ name: 'jobe1', url: sim.url }],
        bodyLimitBytes: BODY_LIMIT,
        logger: { info() {}, warn() {}, error() {} },
      });
    });

    afterAll(async () => {
      await gateway.close();
      await sim.close();
    });

    it('PUT files/<id> with a declared body over the limit', async () => {
      const [method, path] = RESOURCES[0];
      expectClosedWithout(await sendTooLarge(gateway.jobeHost, method, path, false));
    });
  },
);
