import { readFileSync } from 'node:fs';

const FLOOR = 10_000;

/**
 * The first port the kernel hands out for `listen(0)` and outgoing connections (Linux's
 * ip_local_port_range; macOS and Windows start at 49152, above Linux's default 32768).
 */
function ephemeralRangeStart(): number {
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    const start = Number(first);
    if (Number.isInteger(start) && start > FLOOR + 2_000) return start;
  } catch {
    // Not Linux.
  }
  return 32_768;
}

/**
 * Listens on a free port below the ephemeral range. A simulated server that crashes and comes back must
 * get its port again, and while it is down the kernel could give a port from the ephemeral range to any
 * program that asks for port 0 (which would then answer the gateway's health checks in its place); it
 * never gives away one below that range. Falls back to port 0 when none of `tries` random ports is free.
 */
export async function listenBelowEphemeralRange(
  listen: (port: number) => Promise<void>,
  tries = 50,
): Promise<void> {
  const span = ephemeralRangeStart() - FLOOR;
  for (let attempt = 0; attempt < tries; attempt++) {
    const port = FLOOR + Math.floor(Math.random() * span);
    try {
      await listen(port);
      return;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code !== 'EADDRINUSE' && code !== 'EACCES') throw error;
    }
  }
  await listen(0);
}
