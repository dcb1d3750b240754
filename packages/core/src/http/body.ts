import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** Reads the raw request body, refusing more than `limit` bytes (by Content-Length at once, or while streaming). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    // Too large: the rest stays unread. The 413 closes the connection (Connection: close), so nothing
    // more of it is read once the answer is flushed.
    if (Number.isFinite(declared) && declared > limit) {
      req.pause();
      reject(new BodyTooLargeError(limit));
      return;
    }
    // With a Content-Length the body goes straight into one buffer of its size: holding the chunks
    // and concatenating them at the end would need twice the body's memory, per request in flight.
    let whole = Number.isSafeInteger(declared) && declared >= 0 ? Buffer.allocUnsafe(declared) : null;
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      if (size + chunk.length > limit) {
        cleanup();
        req.pause();
        reject(new BodyTooLargeError(limit));
        return;
      }
      if (whole && size + chunk.length <= whole.length) {
        chunk.copy(whole, size);
      } else {
        // More than declared (Node's parser does not let that happen): collect it all the general way.
        if (whole) chunks.push(whole.subarray(0, size));
        whole = null;
        chunks.push(chunk);
      }
      size += chunk.length;
    };
    const onEnd = () => {
      cleanup();
      resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('client closed the connection before the body was complete'));
    };
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    if (req.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
