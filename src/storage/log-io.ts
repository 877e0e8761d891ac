// The write-ahead log's own I/O threads: its fdatasyncs and its writes too large to make inline
// run on threads of its own (log-io-thread.ts), never on Bun's shared pool. That pool (2
// threads on 2 cores: as many as the cores) also runs every DuckDB statement the server makes,
// each holding a thread until it ends: two slow reads (a stats over months, of one tenant or
// two) held both, and every commit of every tenant waited for one of them to end, seconds to
// minutes without an answer, though the disk was idle. The log's calls here wait only for
// the disk and for each other.

import * as util from 'node:util';
import { assert } from '../core/index.ts';
import { AnswerCells, type LogIoCall, type LogIoStart } from './log-io-answer.ts';

/**
 * Threads the log's calls run on: as many as its fdatasyncs may overlap (COMMITS_IN_FLIGHT_MAX
 * groups, each syncing while the next writes), so the threads never serialize what the disk
 * takes at once.
 */
export const LOG_IO_THREADS = 4;

const THREAD_ENTRY = new URL('./log-io-thread.ts', import.meta.url).href;

/** Bun's Worker, which may be left out of the count of what keeps the process running. */
type BunWorker = Worker & { ref(): void; unref(): void };

interface Thread {
  worker: BunWorker;
  cells: AnswerCells;
  /** Numbers of the cells no call is waiting in. */
  free: number[];
  /** Calls sent and not yet answered. */
  waiting: number;
}

/** A call without its cell: the cell is the thread's it is sent to. */
type CallOf<C> = C extends LogIoCall ? Omit<C, 'cell'> : never;

class LogIoThreads {
  private threads: Thread[] | null = null;
  /** Calls waiting for a free cell (every cell of every thread taken: not seen in practice). */
  private readonly cellWaiters: (() => void)[] = [];

  /**
   * Starts the threads, resolving once each has loaded. Loading a thread's module takes a
   * thread of Bun's shared pool, so a log started lazily under slow reads waited for them after
   * all: the engine starts them before it opens the store, before any read runs (idempotent).
   */
  async start(): Promise<void> {
    await Promise.all(
      this.started().map((thread) => this.callOn(thread, { op: 'ready' }, 'start')),
    );
  }

  async fdatasync(fd: number): Promise<void> {
    await this.call({ op: 'fdatasync', fd }, 'fdatasync');
  }

  writev(fd: number, parts: readonly Uint8Array[]): Promise<number> {
    return this.call({ op: 'writev', fd, parts: [...parts] }, 'writev');
  }

  /** Sends the call to the thread with the fewest calls waiting that has a free cell. */
  private async call(call: CallOf<LogIoCall>, syscall: string): Promise<number> {
    for (;;) {
      let thread: Thread | null = null;
      for (const t of this.started()) {
        if (t.free.length > 0 && (thread === null || t.waiting < thread.waiting)) thread = t;
      }
      if (thread !== null) return this.callOn(thread, call, syscall);
      await new Promise<void>((resolve) => this.cellWaiters.push(resolve));
    }
  }

  private started(): Thread[] {
    this.threads ??= Array.from({ length: LOG_IO_THREADS }, () => startThread());
    return this.threads;
  }

  private async callOn(thread: Thread, call: CallOf<LogIoCall>, syscall: string) {
    const cell = thread.free.pop();
    assert(cell !== undefined, 'a log I/O call goes to a thread with a free answer cell');
    // Kept alive while a call is out: an awaited sync must not let the process end under it.
    if (thread.waiting++ === 0) thread.worker.ref();
    try {
      thread.cells.clear(cell);
      thread.worker.postMessage({ ...call, cell } as LogIoCall);
      const { value, failed } = await thread.cells.awaitAnswer(cell);
      if (failed) throw errnoError(value, syscall);
      return value;
    } finally {
      // The thread is done with the cell once it has answered (or the message never went).
      thread.free.push(cell);
      this.cellWaiters.shift()?.();
      if (--thread.waiting === 0) thread.worker.unref();
    }
  }
}

function startThread(): Thread {
  const worker = new Worker(THREAD_ENTRY) as BunWorker;
  worker.unref();
  const cells = new AnswerCells();
  worker.postMessage({ op: 'start', cells: cells.buffer } satisfies LogIoStart);
  const free = Array.from({ length: cells.count }, (_, i) => cells.count - 1 - i);
  return { worker, cells, free, waiting: 0 };
}

/** The error node:fs would have thrown, with its code (ENOSPC, EIO …) for the log to read. */
function errnoError(errno: number, syscall: string): Error {
  const negative = -Math.abs(errno);
  let code = 'UNKNOWN';
  try {
    code = util.getSystemErrorName(negative);
  } catch {
    // Not a system error number: left UNKNOWN.
  }
  return Object.assign(new Error(`${code}: ${syscall} of the write-ahead log failed`), {
    code,
    errno: negative,
    syscall,
  });
}

/** Payloads from this size up are in memory shared with the threads (logPayloadBuffer). */
const SHARED_PAYLOAD_BYTES_MIN = 4096;

/**
 * A buffer for a log record's payload (its bytes are the caller's to write) that the log's I/O
 * threads write without a copy: a large one's memory is shared with them, where a message to a
 * thread clones an ordinary buffer (that copy took 1,000-event batches from ~100k to ~80k
 * events/s on 2 cores). A small one (a few single events) comes from Buffer's pool, ~1 µs
 * cheaper than shared memory, and costs little to copy in the rare large group it joins.
 */
export function logPayloadBuffer(bytes: number): Buffer {
  if (bytes < SHARED_PAYLOAD_BYTES_MIN) return Buffer.allocUnsafe(bytes);
  return Buffer.from(new SharedArrayBuffer(bytes));
}

/** The log I/O threads of the process, shared by every open log. */
export const logIo = new LogIoThreads();
