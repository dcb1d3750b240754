import type { IncomingMessage } from 'node:http';

export class BodyTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`request body exceeds ${limit} bytes`);
  }
}

/** The client sent no byte of its body for `idleMs` (before the first byte, or between two). */
export class BodyIdleError extends Error {
  constructor(readonly idleMs: number) {
    super(`request body made no progress for ${idleMs} ms`);
  }
}

export interface ReadBodyOptions {
  /** Larger bodies are refused (by Content-Length at once, or while streaming). */
  limit: number;
  /** No byte for this long (before the first, or between two) rejects with BodyIdleError; 0 never. */
  idleTimeoutMs: number;
  /**
   * Called once the first bytes are in hand: `true` to go on at once, or a promise to wait for (the body
   * stays unread meanwhile, and the idle clock stops: the wait is the gateway's, not the client's).
   */
  admit?: () => true | Promise<void>;
}

/** Reads the raw request body. */
export function readBody(req: IncomingMessage, options: ReadBodyOptions): Promise<Buffer> {
  const { limit, idleTimeoutMs, admit } = options;
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    // Too large: the rest stays unread. The 413 closes the connection (Connection: close), so nothing
    // more of it is read once the answer is flushed.
    if (Number.isFinite(declared) && declared > limit) {
      req.pause();
      reject(new BodyTooLargeError(limit));
      return;
    }
    if (req.readableEnded) {
      resolve(Buffer.alloc(0));
      return;
    }
    const sized = Number.isSafeInteger(declared) && declared >= 0;
    // With a Content-Length the body goes straight into one buffer of its size: holding the chunks
    // and concatenating them at the end would need twice the body's memory, per request in flight.
    // It is allocated once the first bytes are admitted, so that a client that sends nothing costs nothing.
    let whole: Buffer | null = null;
    const chunks: Buffer[] = [];
    let size = 0;
    let admitted = admit === undefined;
    let admission: Promise<void> | null = null;
    let settled = false;
    let idle: NodeJS.Timeout | null = null;
    const watchIdle = () => {
      if (idleTimeoutMs > 0) idle = setTimeout(() => fail(new BodyIdleError(idleTimeoutMs)), idleTimeoutMs);
    };

    const keep = (chunk: Buffer): boolean => {
      if (size + chunk.length > limit) {
        fail(new BodyTooLargeError(limit));
        req.pause();
        return false;
      }
      if (size === 0 && whole === null && chunks.length === 0 && sized) whole = Buffer.allocUnsafe(declared);
      if (whole && size + chunk.length <= whole.length) {
        chunk.copy(whole, size);
      } else {
        // More than declared (Node's parser does not let that happen): collect it all the general way.
        if (whole) chunks.push(whole.subarray(0, size));
        whole = null;
        chunks.push(chunk);
      }
      size += chunk.length;
      return true;
    };
    const onData = (chunk: Buffer) => {
      idle?.refresh();
      if (!admitted) {
        admitted = true;
        const answer = admit?.() ?? true;
        if (answer !== true) {
          req.pause();
          if (idle) clearTimeout(idle);
          idle = null;
          admission = answer;
          answer.then(
            () => {
              admission = null;
              if (settled) return;
              watchIdle();
              if (keep(chunk)) req.resume();
            },
            (error: unknown) => {
              admission = null;
              fail(error instanceof Error ? error : new Error(String(error)));
            },
          );
          return;
        }
      }
      keep(chunk);
    };
    const onEnd = () => {
      if (settled) return;
      settled = true;
      cleanup();
      resolve(whole ? whole.subarray(0, size) : Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => fail(error);
    const onClose = () => fail(new Error('client closed the connection before the body was complete'));
    function fail(error: Error): void {
      if (settled) return;
      settled = true;
      cleanup();
      // A share being granted must land before the caller gives its share back: wait for the admission.
      if (admission)
        admission.then(
          () => reject(error),
          () => reject(error),
        );
      else reject(error);
    }
    const cleanup = () => {
      if (idle) clearTimeout(idle);
      idle = null;
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    watchIdle();
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}
