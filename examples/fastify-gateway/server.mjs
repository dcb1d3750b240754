// A campus gateway in Fastify: the Jobe pool at /jobe, next to routes the gateway already had.
// CodeRunner's jobe_host is this server's host:port (CodeRunner adds /jobe/index.php/restapi itself).
import { tuneHeapForGateway } from '@jobe-balancer/core/heap-settings';
import { jobeBalancer } from '@jobe-balancer/fastify';
import Fastify from 'fastify';

// This process is mainly the Jobe gateway: keep V8's heap near what it holds (~40 MiB instead of ~110;
// docs/operators/sizing.md). It sets two V8 flags for the whole process; leave it out if that is unwelcome.
tuneHeapForGateway();

const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? 8080);
const backends = (
  process.env.JOBE_BACKENDS ?? 'http://127.0.0.1:4001,http://127.0.0.1:4002,http://127.0.0.1:4003'
)
  .split(',')
  .map((url) => url.trim())
  .filter((url) => url !== '')
  .map((url, index) => ({ name: `jobe${index + 1}`, url }));
const adminToken = process.env.ADMIN_TOKEN;

// Fastify's pino logger is handed to the balancer too.
// Fastify sets no request timeout by default: a client trickling a body would hold its share of the
// balancer's bodyMemoryBytes for ever. Node's timeout ends once the request is received, not the run.
const app = Fastify({ logger: true, requestTimeout: 120_000 });

await app.register(jobeBalancer, {
  prefix: '/jobe',
  backends,
  admin: adminToken ? { token: adminToken } : undefined,
  // app.close() waits this long for runs in flight.
  closeTimeoutMs: 30_000,
});

// The gateway's own JSON API: Fastify's JSON parser still applies here, the plugin's raw parser
// only to /jobe.
app.get('/api/health', async (_request, reply) => {
  const { backends: pool } = app.jobeBalancer.status();
  const serving = pool.filter((backend) => backend.adminState === 'ready' && backend.health !== 'ejected');
  reply.code(serving.length > 0 ? 200 : 503);
  return { backends: pool.length, serving: serving.length };
});
app.post('/api/feedback', async (request, reply) => {
  request.log.info({ feedback: request.body }, 'feedback received');
  reply.code(201);
  return { received: true };
});

await app.listen({ host, port });
const where = `${host}:${app.server.address().port}`;
console.log(`Listening on http://${where}`);
console.log(`  CodeRunner jobe_host: ${where}   (Jobe API at /jobe/index.php/restapi/)`);
console.log(`  balancer's own routes (status, dashboard, metrics): http://${where}/jobe/_balancer/`);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  app.log.info(
    { signal, inFlight: app.jobeBalancer.inFlightTotal() },
    'stopping: letting runs in flight finish',
  );
  // Stops accepting, then the plugin's onClose hook closes the balancer (up to closeTimeoutMs).
  await app.close();
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
