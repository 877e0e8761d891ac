// The bodies of GET /api/v1/export, streamed with bounded memory. Text formats pull one page of
// events at a time from the export's pages (query/queries/export-events.ts): the page being
// sent and the next one are all that is held. A Parquet file is unlinked as soon as it is open
// and sent in chunks; its descriptor is closed once sent, once the client goes away, or once
// the stream fails. A failure after the first byte cannot become an error answer (the 200 is
// sent): the stream is cut, so the client sees an incomplete transfer rather than a short
// export that looks whole. An export may last hours, so its credentials are checked again as it
// goes (StreamControl.allowed), as a live socket's are: once they lapse (a revoked key, an ended
// session, lost access) the stream is cut before its next page or chunk, or at once when the
// loss is signalled (StreamControl.cut); so is a stream whose client takes nothing for
// StreamControl.stallMs (StallWatch).

import * as fs from 'node:fs';
import { AppError, type Logger } from '../core/index.ts';
import { type ExportFile, queryLimits } from '../query/index.ts';
import type { ServerWork } from './server-work.ts';

type Pages = AsyncGenerator<Record<string, unknown>[], void, undefined>;

export interface TextBody {
  /** The text before the first event (the CSV header), sent even when there is none. */
  head: string;
  /** The text of one page of events. */
  format: (events: Record<string, unknown>[]) => string;
}

/** What every export stream is told besides its data. */
export interface StreamControl {
  /** Whether the request's credentials still read the tenant; false cuts the stream. */
  allowed: () => boolean;
  /**
   * Whether the tenant's project was deleted since the export began (true cuts the stream, as
   * lapsed credentials do): asked before each page or chunk and again once a page is read, as
   * a page read after the deletion holds none (or part) of its events and would end the export
   * as if it were whole.
   */
  gone?: () => boolean;
  /**
   * Aborted when the credentials were found lapsed between pages or chunks (a loss of access
   * signalled: export-access.ts): the stream is cut at once, the page being read interrupted.
   */
  cut?: AbortSignal;
  /** The server's own work (a page read): the connection is not idle meanwhile. */
  work: ServerWork;
  /** How long the client may take nothing before the stream is cut (see StallWatch). */
  stallMs: number;
  /** Where a stream cut after its answer began is reported. */
  log: Logger | undefined;
  /**
   * Told once the stream ended, whichever way: sent, failed, cut, cancelled, or dropped unread
   * (then once the body is collected). May be told more than once.
   */
  ended: () => void;
}

/**
 * What a credentials re-check found: they still read the tenant (true), no longer (false), or
 * it could not tell (null: the check itself failed, e.g. a database error).
 */
export type CredentialsCheck = boolean | null;

/**
 * `stillReads`, asked at most once every `everyMs` (and again whenever the clock went back):
 * true until it once answered false, then false for good. A check that could not tell keeps the
 * stream going and is asked again after `everyMs`, up to `uncheckedMax` times in a row; then
 * false, so an outage does not stream past a revocation nobody could see.
 */
export function credentialsCheck(
  stillReads: () => CredentialsCheck,
  now: () => number,
  everyMs: number,
  uncheckedMax: number,
): () => boolean {
  let checkedAt = now();
  let allowed = true;
  let unchecked = 0;
  return () => {
    if (!allowed) return false;
    const at = now();
    if (at >= checkedAt && at - checkedAt < everyMs) return true;
    checkedAt = at;
    const found = stillReads();
    unchecked = found === null ? unchecked + 1 : 0;
    allowed = found === null ? unchecked < uncheckedMax : found;
    return allowed;
  };
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
  control: StreamControl,
): Promise<ReadableStream<Uint8Array>> {
  const first = await control.work.run(() => pages.next()).catch(throwLapsed(control));
  if (control.gone?.() === true || control.cut?.aborted === true) throw lapsed();
  let watch: StallWatch | undefined;
  const { ended } = control;
  const stream = new ReadableStream<Uint8Array>({
    start(controller) {
      const text = body.head + (first.done === true ? '' : body.format(first.value));
      if (text !== '') controller.enqueue(encoder.encode(text));
      if (first.done === true) {
        controller.close();
        ended();
        return;
      }
      const release = () => {
        stop.abort();
        ended();
      };
      watch = new StallWatch(controller, control, release);
      cutOn(control, controller, () => {
        watch?.pause();
        release();
      });
    },
    async pull(controller) {
      watch?.pause();
      try {
        if (control.gone?.() === true || !control.allowed()) throw lapsed();
        const next = await control.work.run(() => pages.next());
        // Cancelled while the page was read: nothing more goes to the stream.
        if (stop.signal.aborted) return ended();
        if (control.gone?.() === true) throw lapsed();
        if (next.done === true) {
          controller.close();
          return ended();
        }
        controller.enqueue(encoder.encode(body.format(next.value)));
        watch?.arm();
      } catch (error) {
        ended();
        if (stop.signal.aborted) return;
        failed(error, control.log);
        controller.error(error);
      }
    },
    cancel() {
      watch?.pause();
      stop.abort();
      ended();
    },
  });
  // A body dropped unread and never cancelled (a test's, a client library's) ends too.
  unreadBodies.register(stream, ended);
  return stream;
}

/**
 * The stream of `file`'s bytes. The file is opened and at once unlinked: its
 * name is gone from the data directory whatever happens next, and its space is freed when the
 * descriptor is closed, once the file is read to its end, once the stream is cancelled or
 * fails, or once `signal` aborts (the client went away), whichever comes first. A plain
 * descriptor, not a FileHandle: a body never read must not close it from the garbage collector
 * (which Bun makes an uncaught error). An abort before the stream is made is client_closed.
 */
export async function fileStream(
  file: ExportFile,
  signal: AbortSignal,
  control: StreamControl,
): Promise<ReadableStream<Uint8Array>> {
  let fd: number;
  try {
    fd = fs.openSync(file.path, 'r');
  } finally {
    file.remove();
  }
  let closed = false;
  let reading: Promise<number> | null = null;
  let watch: StallWatch | undefined;
  const close = () => {
    if (closed) return;
    closed = true;
    watch?.pause();
    control.ended();
    signal.removeEventListener('abort', close);
    // Once a read in progress is done with the descriptor (its outcome is pull's to report).
    // A read-only descriptor whose close fails loses nothing: that failure is not reported.
    const done = reading ?? Promise.resolve(0);
    void done.catch(() => 0).then(() => fs.close(fd, () => undefined));
  };
  if (signal.aborted) {
    close();
    throw clientGone();
  }
  // Cut once the copy had ended (DuckDB drops an interrupt that comes then): a 401, as for a
  // copy interrupted, before any answer begins. cutOn would never hear a cut made already.
  if (control.cut?.aborted === true) {
    close();
    throw lapsed();
  }
  signal.addEventListener('abort', close, { once: true });
  const chunkBytes = queryLimits.exportFileChunkBytes;
  const body = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        watch = new StallWatch(controller, control, close);
        cutOn(control, controller, close);
      },
      async pull(controller) {
        if (closed) {
          controller.error(clientGone());
          return;
        }
        watch?.pause();
        const chunk = new Uint8Array(chunkBytes);
        try {
          if (control.gone?.() === true || !control.allowed()) throw lapsed();
          reading = readInto(fd, chunk);
          const bytesRead = await reading;
          reading = null;
          if (closed) return;
          if (bytesRead > 0) {
            controller.enqueue(chunk.subarray(0, bytesRead));
            watch?.arm();
            return;
          }
          close();
          controller.close();
        } catch (error) {
          reading = null;
          close();
          failed(error, control.log);
          controller.error(error);
        }
      },
      cancel: close,
    },
    { highWaterMark: 0 },
  );
  // A body dropped unread and never cancelled (a test's, a client library's) closes it too.
  unreadBodies.register(body, close);
  return body;
}

/**
 * Cuts a stream whose client stopped taking it. Bun asks for the next chunk once the last one
 * is written out, and keeps a connection whose client reads nothing (a full socket) open for
 * good, its idle timeout aside: without this, such a client held a Parquet export's file, and
 * its disk space, or an export's pages in memory, for as long as it liked. Once no chunk was
 * asked for during `stallMs` the stream fails and `release` frees what it holds. Paused while
 * a chunk is made (the server's work, not the client's). Holds the stream only weakly, and its
 * timer never holds the process open.
 */
class StallWatch {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly controller: WeakRef<ReadableStreamDefaultController<Uint8Array>>;

  constructor(
    controller: ReadableStreamDefaultController<Uint8Array>,
    private readonly control: StreamControl,
    private readonly release: () => void,
  ) {
    this.controller = new WeakRef(controller);
    this.arm();
  }

  /** Starts waiting for the client to ask for the next chunk. */
  arm(): void {
    this.pause();
    this.timer = setTimeout(() => this.cut(), this.control.stallMs);
    this.timer.unref();
  }

  pause(): void {
    clearTimeout(this.timer);
  }

  private cut(): void {
    const seconds = this.control.stallMs / 1000;
    this.control.log?.warn('an export was cut: its client took nothing', { seconds });
    this.release();
    const error = new AppError('client_closed', `the client took nothing for ${seconds} s`);
    this.controller.deref()?.error(error);
  }
}

/** Ends a body (closes a Parquet body's descriptor) once the body itself is collected. */
const unreadBodies = new FinalizationRegistry<() => void>((end) => end());

/** Reads the next bytes of `fd` into `chunk`; resolves with how many (0 at the end). */
function readInto(fd: number, chunk: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    fs.read(fd, chunk, 0, chunk.length, null, (error, bytesRead) => {
      if (error === null) resolve(bytesRead);
      else reject(error);
    });
  });
}

function clientGone(): AppError {
  return new AppError('client_closed', 'the client went away; its export was stopped');
}

/**
 * Once `control.cut` aborts, frees what the stream holds (`release`) and fails it (the cut
 * comes only while the export is watched: until it ended). Holds the stream only weakly, as
 * StallWatch does: a body dropped unread is still collected, and so ended.
 */
function cutOn(
  control: StreamControl,
  controller: ReadableStreamDefaultController<Uint8Array>,
  release: () => void,
): void {
  const stream = new WeakRef(controller);
  control.cut?.addEventListener(
    'abort',
    () => {
      release();
      failed(lapsed(), control.log);
      stream.deref()?.error(lapsed());
    },
    { once: true },
  );
}

/** A failure of a read the cut interrupted is the cut's (`unauthorized`), not the read's. */
function throwLapsed(control: StreamControl): (error: unknown) => never {
  return (error) => {
    throw control.cut?.aborted === true ? lapsed() : error;
  };
}

export function lapsed(): AppError {
  return new AppError(
    'unauthorized',
    'the credentials of this export no longer read its project (a revoked key, an ended ' +
      'session, an expired token or lost access); its stream was cut',
  );
}

/** Logs an export that failed after its answer began, unless its client went away. */
function failed(error: unknown, log: Logger | undefined): void {
  if (error instanceof AppError && error.code === 'client_closed') return;
  if (error instanceof AppError && error.code === 'unauthorized') {
    log?.warn('an export was cut: its credentials lapsed', {});
    return;
  }
  log?.error('an export failed while being sent; its stream was cut', {
    error: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
  });
}
