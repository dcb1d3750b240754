/**
 * The baselines' front ends: minimal reverse proxies with no knowledge of Jobe. They forward each request
 * as is (no retry, no file awareness, no capacity limit, no queue), like a plain nginx or HAProxy would.
 * Upstream connections are kept alive, which is kinder to the baselines than nginx's default.
 */
import * as http from 'node:http';

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

function forwardHeaders(headers) {
  const out = {};
  for (const [name, value] of Object.entries(headers)) if (!HOP_BY_HOP.has(name)) out[name] = value;
  return out;
}

/** HAProxy's default hash function (sdbm), as `balance hdr(...)` with `hash-type map-based` uses it. */
export function sdbm(text) {
  let hash = 0;
  for (let i = 0; i < text.length; i++) {
    hash = (text.charCodeAt(i) + (hash << 6) + (hash << 16) - hash) >>> 0;
  }
  return hash;
}

/**
 * Starts a proxy on 127.0.0.1:0 that sends each request to `backends[choose(req)]`.
 * Resolves to `{ url, counts, close() }`; `counts[i]` is the number of requests sent to backend i.
 */
async function startProxy(backendUrls, choose) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: Number.POSITIVE_INFINITY });
  const targets = backendUrls.map((url) => new URL(url));
  const counts = backendUrls.map(() => 0);
  const server = http.createServer((req, res) => {
    const index = choose(req);
    counts[index]++;
    const target = targets[index];
    const upstream = http.request(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: forwardHeaders(req.headers),
        agent,
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, forwardHeaders(answer.headers));
        answer.pipe(res);
      },
    );
    upstream.on('error', () => {
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain' });
        res.end('Bad Gateway');
      } else {
        res.destroy();
      }
    });
    req.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    url: `http://127.0.0.1:${port}`,
    counts,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      agent.destroy();
    },
  };
}

/** nginx's default upstream balancing: every request to the next backend in turn. */
export function startRoundRobinProxy(backendUrls) {
  let next = 0;
  return startProxy(backendUrls, () => {
    const index = next;
    next = (next + 1) % backendUrls.length;
    return index;
  });
}

/**
 * HAProxy `balance hdr(X-CodeRunner-Job-Id)`: backend = hash(job id) % n; requests without the header
 * go to a random backend (HAProxy falls back to round robin there; random is the same on average).
 */
export function startJobIdHashProxy(backendUrls, random = Math.random) {
  return startProxy(backendUrls, (req) => {
    const jobId = req.headers['x-coderunner-job-id'];
    if (typeof jobId !== 'string' || jobId === '') return Math.floor(random() * backendUrls.length);
    return sdbm(jobId) % backendUrls.length;
  });
}
