// A campus gateway in Express: the Jobe pool at /jobe, next to routes the gateway already had.
// CodeRunner's jobe_host is this server's host:port (CodeRunner adds /jobe/index.php/restapi itself).
import { tuneHeapForGateway } from '@jobe-balancer/core/heap-settings';
import { jobeBalancer } from '@jobe-balancer/express';
import express from 'express';
import { createProxyMiddleware } from 'http-proxy-middleware';
import pino from 'pino';

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
// Every Jobe server's jobe_max_users: the balancer never sends a server more runs at once (default 16).
const maxConcurrent = process.env.JOBE_MAX_CONCURRENT ? Number(process.env.JOBE_MAX_CONCURRENT) : undefined;

const logger = pino();
const app = express();

// The balancer comes before express.json(): its 100 kb default would turn away support files.
const jobe = jobeBalancer({
  backends,
  maxConcurrent,
  admin: adminToken ? { token: adminToken } : undefined,
  logger,
});
app.use('/jobe', jobe);

// A route the gateway had before: the library's catalogue service, passed through untouched.
app.use(
  '/library',
  createProxyMiddleware({ target: process.env.LIBRARY_URL ?? 'http://127.0.0.1:4100', changeOrigin: true }),
);

// The gateway's own JSON API, with its own body parser.
const api = express.Router();
api.use(express.json());
api.get('/health', (_req, res) => {
  const { backends: pool } = jobe.balancer.status();
  const serving = pool.filter((backend) => backend.adminState === 'ready' && backend.health !== 'ejected');
  res.status(serving.length > 0 ? 200 : 503).json({ backends: pool.length, serving: serving.length });
});
api.post('/feedback', (req, res) => {
  logger.info({ feedback: req.body }, 'feedback received');
  res.status(201).json({ received: true });
});
app.use('/api', api);

// Express 5 hands a listen error (EADDRINUSE...) to this callback instead of throwing it.
const server = app.listen(port, host, (error) => {
  if (error) {
    console.error(`cannot listen on ${host}:${port}: ${error.message}`);
    process.exit(1);
  }
  const where = `${host}:${server.address().port}`;
  logger.info({ backends: backends.map((backend) => backend.url) }, 'jobe gateway started');
  console.log(`Listening on http://${where}`);
  console.log(`  CodeRunner jobe_host: ${where}   (Jobe API at /jobe/index.php/restapi/)`);
  console.log(`  balancer's own routes (status, dashboard, metrics): http://${where}/jobe/_balancer/`);
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal, inFlight: jobe.balancer.inFlightTotal() }, 'stopping: letting runs in flight finish');
  server.close();
  server.closeIdleConnections();
  await jobe.balancer.close(30_000);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
