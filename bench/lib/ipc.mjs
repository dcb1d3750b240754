/**
 * Parent side of the benchmarks' child processes (bench/lib/sim-process.mjs, bench/lib/gateway-process.mjs):
 * fork one, wait for it to listen, ask it questions over IPC, close it.
 */
import { fork } from 'node:child_process';
import { constants, PerformanceObserver } from 'node:perf_hooks';

export async function startChild(script, config, { execArgv = [], env = {} } = {}) {
  const child = fork(script, [JSON.stringify(config)], {
    execArgv,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map();
  let nextId = 1;
  const ready = new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before it was ready`)));
    child.on('message', (message) => {
      if (message.type === 'ready') resolve(message);
      else if (message.id !== undefined) {
        pending.get(message.id)?.(message);
        pending.delete(message.id);
      }
    });
  });
  const info = await ready;
  child.removeAllListeners('exit');
  return {
    ...info,
    pid: child.pid,
    /** Sends `{ type, ...payload }` and resolves with the child's answer. */
    ask(type, payload = {}) {
      const id = nextId++;
      return new Promise((resolve) => {
        pending.set(id, resolve);
        child.send({ ...payload, type, id });
      });
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Child side: answers `usage` (and any extra handlers), closes on `close`. */
export function serveParent(handlers, close) {
  process.on('message', async (message) => {
    if (message.type === 'close') {
      await close();
      process.disconnect?.();
      process.exit(0);
    }
    const handler = handlers[message.type];
    const answer = handler ? await handler(message) : { error: `unknown request ${message.type}` };
    process.send({ ...answer, id: message.id });
  });
}

/** Collections in this process so far: young-generation (scavenges) and the rest, count and pause ms. */
const collections = { minor: 0, minorMs: 0, major: 0, majorMs: 0 };
let observing = false;
function observeCollections() {
  if (observing) return;
  observing = true;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const minor = entry.detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR;
      collections[minor ? 'minor' : 'major']++;
      collections[minor ? 'minorMs' : 'majorMs'] += entry.duration;
    }
  }).observe({ entryTypes: ['gc'] });
}

export function usage() {
  observeCollections();
  return { cpu: process.cpuUsage(), memory: process.memoryUsage(), gc: { ...collections } };
}
