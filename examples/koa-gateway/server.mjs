// A campus gateway in Koa: the Jobe pool at /jobe, next to routes the gateway already had.
// CodeRunner's jobe_host is this server's host:port (CodeRunner adds /jobe/index.php/restapi itself).
import { tuneHeapForGateway } from '@jobe-balancer/core/heap-settings';
import { jobeBalancer } from '@jobe-balancer/koa';
import { bodyParser } from '@koa/bodyparser';
import Router from '@koa/router';
import Koa from 'koa';
import mount from 'koa-mount';

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

const app = new Koa();

// The balancer comes before any body parser, which would otherwise read (and limit) the Jobe bodies.
const jobe = jobeBalancer({ backends, admin: adminToken ? { token: adminToken } : undefined });
app.use(mount('/jobe', jobe));

// The gateway's own JSON API, with its own body parser.
const api = new Router({ prefix: '/api' });
api.get('/health', (ctx) => {
  const { backends: pool } = jobe.balancer.status();
  const serving = pool.filter((backend) => backend.adminState === 'ready' && backend.health !== 'ejected');
  ctx.status = serving.length > 0 ? 200 : 503;
  ctx.body = { backends: pool.length, serving: serving.length };
});
api.post('/feedback', bodyParser(), (ctx) => {
  console.log('feedback received', ctx.request.body);
  ctx.status = 201;
  ctx.body = { received: true };
});
app.use(api.routes()).use(api.allowedMethods());

const server = app.listen(port, host, () => {
  const where = `${host}:${server.address().port}`;
  console.log(`Listening on http://${where}`);
  console.log(`  CodeRunner jobe_host: ${where}   (Jobe API at /jobe/index.php/restapi/)`);
  console.log(`  balancer's own routes (status, dashboard, metrics): http://${where}/jobe/_balancer/`);
});

server.on('error', (error) => {
  console.error(`cannot listen on ${host}:${port}: ${error.message}`);
  process.exit(1);
});

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: stopping, ${jobe.balancer.inFlightTotal()} runs in flight may finish`);
  server.close();
  server.closeIdleConnections();
  await jobe.balancer.close(30_000);
  process.exit(0);
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));
