// Takes a request body's bytes off the connection within a size and a time: a body larger than
// the route's limit is refused as soon as its size is known, and one still arriving after
// requestLimits.bodyReadTimeoutMs is a 408 that closes the connection. Bun's idle timeout
// bounds only the wait between two bytes: a client trickling one now and then held its
// request, and what it had sent, for good.

import { AppError, requestLimits } from '../core/index.ts';

/** Read times other than requestLimits.bodyReadTimeoutMs, by request (HttpOptions: tests). */
const readTimeoutsMs = new WeakMap<Request, number>();

/** Lets `request`'s body take `timeoutMs` to arrive instead of the limit's. */
export function setBodyReadTimeout(request: Request, timeoutMs: number): void {
  readTimeoutsMs.set(request, timeoutMs);
}

/** How long `request`'s body may take to arrive once a route reads it. */
function readTimeoutOf(request: Request): number {
  return readTimeoutsMs.get(request) ?? requestLimits.bodyReadTimeoutMs;
}

/**
 * The body of a request that declared its length (within the route's limit), read whole: one
 * arrayBuffer() read is about half the CPU of reading the stream chunk by chunk. A 408 when it
 * has not all arrived within its time; the read left behind ends with the connection.
 */
async function readDeclared(request: Request): Promise<Buffer> {
  const read = request.arrayBuffer();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    const timeoutMs = readTimeoutOf(request);
    timer = setTimeout(() => reject(readTimedOut(timeoutMs)), timeoutMs);
  });
  try {
    return Buffer.from(await Promise.race([read, late]));
  } catch (error) {
    read.catch(() => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The body, read up to `readMax` bytes (a 413 naming `bytesMax`, the limit, beyond) as its
 * chunks arrive, for a body of no declared length; a 408 when it has not all arrived within
 * its time.
 */
async function readLimited(request: Request, readMax: number, bytesMax: number): Promise<Buffer> {
  if (request.body === null) return Buffer.alloc(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = request.body.getReader();
  const timeoutMs = readTimeoutOf(request);
  let late = false;
  // Cancelling ends the read waiting for a chunk as if the body were over: `late` tells apart.
  const timer = setTimeout(() => {
    late = true;
    void reader.cancel();
  }, timeoutMs);
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (late) throw readTimedOut(timeoutMs);
      if (done) break;
      total += value.byteLength;
      if (total > readMax) {
        void reader.cancel();
        throw tooLarge(bytesMax);
      }
      chunks.push(value);
    }
  } finally {
    clearTimeout(timer);
  }
  return chunks.length === 1 ? Buffer.from(chunks[0] as Uint8Array) : Buffer.concat(chunks, total);
}

/**
 * The body as sent (still encoded), at most `readMax` bytes, a 413 naming `bytesMax` beyond: a
 * declared length over it is refused before anything is read; a body of no declared length is
 * counted as its chunks arrive.
 */
export async function readWithin(
  request: Request,
  readMax: number,
  bytesMax = readMax,
): Promise<Buffer> {
  const declared = request.headers.get('content-length');
  if (declared !== null && Number(declared) > readMax) throw tooLarge(bytesMax);
  const raw =
    declared === null ? await readLimited(request, readMax, bytesMax) : await readDeclared(request);
  if (raw.length > readMax) throw tooLarge(bytesMax);
  return raw;
}

export function tooLarge(bytesMax: number, what = ''): AppError {
  return new AppError('payload_too_large', `the ${what}body is larger than ${bytesMax} bytes`);
}

/**
 * The 408 of a body still arriving after its time. `Connection: close`: Bun then closes the
 * connection once the answer is written, instead of reading the rest of the body as it trickles.
 */
function readTimedOut(timeoutMs: number): AppError {
  return new AppError(
    'request_timeout',
    `the body did not arrive within ${timeoutMs / 1000} s; send it again`,
    { headers: { connection: 'close' } },
  );
}
