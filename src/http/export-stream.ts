// The bodies of GET /api/v1/export, streamed with bounded memory. Text formats pull one page of
// events at a time from the export's pages (query/queries/export-events.ts): the page being
// sent and the next one are all that is held. A Parquet file is sent in chunks and removed once
// sent, once the client goes away, or once the stream fails. A failure after the first byte
// cannot become an error answer (the 200 is sent): the stream is cut, so the client sees an
// incomplete transfer rather than a short export that looks whole.

import * as fs from 'node:fs';
import { AppError, type Logger } from '../core/index.ts';
import { type ExportFile, queryLimits } from '../query/index.ts';

type Pages = AsyncGenerator<Record<string, unknown>[], void, undefined>;

export interface TextBody {
  /** The text before the first event (the CSV header), sent even when there is none. */
  head: string;
  /** The text of one page of events. */
  format: (events: Record<string, unknown>[]) => string;
}

const encoder = new TextEncoder();

/**
 * The stream of `pages` as text. Reads the first page before it returns, so that a failure
 * there (the tenant's reads full, the client gone) is the request's error answer. Cancelling
 * the stream (the client went away) aborts `stop`, which stops the page being read.
 */
export async function textStream(
  pages: Pages,
  body: TextBody,
  stop: AbortController,
  log: Logger | undefined,
): Promise<ReadableStream<Uint8Array>> {
  const first = await pages.next();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const text = body.head + (first.done === true ? '' : body.format(first.value));
      if (text !== '') controller.enqueue(encoder.encode(text));
      if (first.done === true) controller.close();
    },
    async pull(controller) {
      try {
        const next = await pages.next();
        if (next.done === true) controller.close();
        else controller.enqueue(encoder.encode(body.format(next.value)));
      } catch (error) {
        failed(error, log);
        controller.error(error);
      }
    },
    cancel() {
      stop.abort();
    },
  });
}

/**
 * The stream of `file`'s bytes and their count. The file is removed once read to its end, once
 * the stream is cancelled or fails, or once `signal` aborts (the client went away), whichever
 * comes first; an abort before the stream is made is client_closed, the file removed.
 */
export async function fileStream(
  file: ExportFile,
  signal: AbortSignal,
  log: Logger | undefined,
): Promise<{ body: ReadableStream<Uint8Array>; bytes: number }> {
  let handle: fs.promises.FileHandle;
  let bytes: number;
  try {
    handle = await fs.promises.open(file.path, 'r');
    bytes = (await handle.stat()).size;
  } catch (error) {
    file.remove();
    throw error;
  }
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    signal.removeEventListener('abort', close);
    // Unlinked at once: a read in progress still reads it, and close waits for that read. A
    // read-only handle whose close fails loses nothing, so that failure is not reported.
    file.remove();
    void handle.close().catch(() => undefined);
  };
  if (signal.aborted) {
    close();
    throw clientGone();
  }
  signal.addEventListener('abort', close, { once: true });
  const chunkBytes = queryLimits.exportFileChunkBytes;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (closed) {
          controller.error(clientGone());
          return;
        }
        try {
          const chunk = new Uint8Array(chunkBytes);
          const { bytesRead } = await handle.read(chunk, 0, chunkBytes, null);
          if (bytesRead > 0) {
            controller.enqueue(chunk.subarray(0, bytesRead));
            return;
          }
          close();
          controller.close();
        } catch (error) {
          close();
          failed(error, log);
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  return { body, bytes };
}

function clientGone(): AppError {
  return new AppError('client_closed', 'the client went away; its export was stopped');
}

/** Logs an export that failed after its answer began, unless its client went away. */
function failed(error: unknown, log: Logger | undefined): void {
  if (error instanceof AppError && error.code === 'client_closed') return;
  log?.error('an export failed while being sent; its stream was cut', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
}
