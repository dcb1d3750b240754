/** One HTTP exchange on a fresh TCP connection, as libcurl sends it (`Expect: 100-continue` above 1 MiB), for benchmarks that send raw requests rather than CodeRunner's runs. */
import * as http from 'node:http';
import * as zlib from 'node:zlib';

const CURL_EXPECT_100_THRESHOLD = 1024 * 1024;
const CURL_EXPECT_100_TIMEOUT_MS = 1000;

function decode(body, encoding) {
  switch ((encoding ?? '').trim().toLowerCase()) {
    case '':
    case 'identity':
      return body;
    case 'gzip':
    case 'x-gzip':
      return zlib.gunzipSync(body);
    case 'deflate':
      return zlib.inflateSync(body);
    case 'br':
      return zlib.brotliDecompressSync(body);
    default:
      throw new Error(`unsupported Content-Encoding ${encoding}`);
  }
}

/** One exchange on a fresh TCP connection; never rejects (status -1 on a transport failure). */
export function sendOnNewConnection({ url, method, headers, body, timeoutMs }) {
  return new Promise((resolve) => {
    let settled = false;
    const timers = [];
    const finish = (response) => {
      if (settled) return;
      settled = true;
      for (const timer of timers) clearTimeout(timer);
      resolve(response);
    };
    const fail = (error) => finish({ status: -1, headers: {}, body: Buffer.alloc(0), error });
    const payload = body === undefined ? undefined : Buffer.from(body);
    const outgoing = { ...headers };
    const awaitContinue = payload !== undefined && payload.length > CURL_EXPECT_100_THRESHOLD;
    if (awaitContinue) outgoing['Expect'] = '100-continue';
    const req = http.request(url, { method, headers: outgoing, agent: false });
    let bodySent = false;
    const sendBody = () => {
      if (bodySent) return;
      bodySent = true;
      req.end(payload);
    };
    req.on('error', fail);
    if (timeoutMs !== undefined) timers.push(setTimeout(() => req.destroy(new Error('timeout')), timeoutMs));
    req.on('response', (res) => {
      const chunks = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('error', fail);
      res.on('end', () => {
        let received;
        try {
          received = decode(Buffer.concat(chunks), res.headers['content-encoding']);
        } catch (error) {
          fail(error);
          return;
        }
        finish({ status: res.statusCode ?? -1, headers: res.headers, body: received });
        if (!bodySent) req.destroy();
      });
    });
    if (awaitContinue) {
      req.flushHeaders();
      req.on('continue', sendBody);
      timers.push(setTimeout(sendBody, CURL_EXPECT_100_TIMEOUT_MS));
    } else {
      sendBody();
    }
  });
}
