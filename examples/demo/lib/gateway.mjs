/**
 * The Express example gateway (examples/express-gateway/server.mjs) as a child process, configured through
 * its environment like an admin would run it, and small HTTP helpers for the balancer's own routes.
 */
import { spawn } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import { fileURLToPath } from 'node:url';

const SERVER = fileURLToPath(new URL('../../express-gateway/server.mjs', import.meta.url));
const LISTENING = /Listening on http:\/\/[^\s:]+:(\d+)/;

/** Whether `port` can be listened on at 127.0.0.1 right now. */
export function portIsFree(port) {
  return new Promise((resolve) => {
    const probe = net.createServer();
    probe.once('error', () => resolve(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => resolve(true)));
  });
}

/**
 * Starts the gateway on `port` (0: any free one) in front of `backends` (`[{ url }]`, named jobe1..N by the
 * example), each holding at most `maxConcurrent` runs. `onLog(entry)` receives each of its pino JSON lines,
 * `onSpawn(child)` its process. Resolves once it listens, rejects with the tail of its stderr if it exits first.
 */
export function startGateway({ port, backends, maxConcurrent, adminToken, onLog, onSpawn }) {
  const child = spawn(process.execPath, [SERVER], {
    env: {
      ...process.env,
      HOST: '127.0.0.1',
      PORT: String(port),
      JOBE_BACKENDS: backends.map((backend) => backend.url).join(','),
      JOBE_MAX_CONCURRENT: String(maxConcurrent),
      ADMIN_TOKEN: adminToken,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onSpawn?.(child);
  const exited = new Promise((resolve) => child.once('close', (code, signal) => resolve({ code, signal })));
  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    let listening = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline);
        buffered = buffered.slice(newline + 1);
        newline = buffered.indexOf('\n');
        if (line.startsWith('{')) {
          try {
            onLog?.(JSON.parse(line));
          } catch {
            // not a log line after all
          }
          continue;
        }
        const match = LISTENING.exec(line);
        if (match && !listening) {
          listening = true;
          resolve({ port: Number(match[1]), pid: child.pid, exited, stop: () => stop(child, exited) });
        }
      }
    });
    exited.then(async ({ code, signal }) => {
      if (listening) return;
      const taken = port !== 0 && !(await portIsFree(port));
      const why = taken ? `port ${port} is already in use` : stderr.trim();
      reject(new Error(`the gateway exited (${signal ?? code}) before listening: ${why}`));
    });
  });
}

/** SIGTERM, as an init system would send: the example lets runs in flight finish, then exits 0. */
async function stop(child, exited) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 35_000);
  const result = await exited;
  clearTimeout(timer);
  return result;
}

/** One GET on its own connection (no keep-alive socket outlives it); resolves with status and body. */
export function get(url, headers = {}, timeoutMs = 2000) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers, agent: false, timeout: timeoutMs }, (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
      );
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** `<mount>/_balancer/status`, with the admin token (the status is not public by default). */
export async function fetchStatus(baseUrl, token) {
  const { status, body } = await get(`${baseUrl}/jobe/_balancer/status`, {
    Authorization: `Bearer ${token}`,
  });
  if (status !== 200) throw new Error(`status answered ${status}`);
  return JSON.parse(body);
}

/** `<mount>/_balancer/metrics` as `[{ name, labels, value }]` (Prometheus text format, no HELP/TYPE). */
export async function fetchMetrics(baseUrl) {
  const { status, body } = await get(`${baseUrl}/jobe/_balancer/metrics`);
  if (status !== 200) throw new Error(`metrics answered ${status}`);
  const samples = [];
  for (const line of body.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[key] = value;
    samples.push({ name: match[1], labels, value: Number(match[3]) });
  }
  return samples;
}

/** Sum of a metric's samples whose labels include `where`. */
export function sumOf(samples, name, where = {}) {
  return samples
    .filter((sample) => sample.name === name)
    .filter((sample) => Object.entries(where).every(([key, value]) => sample.labels[key] === value))
    .reduce((total, sample) => total + sample.value, 0);
}
