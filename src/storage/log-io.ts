// The write-ahead log's own I/O threads: its fdatasyncs and its writes too large to make inline
// run on threads of its own (log-io-thread.ts), never on Bun's shared pool. That pool (2
// threads on 2 cores: as many as the cores) also runs every DuckDB statement the server makes,
// each holding a thread until it ends: two slow reads (a stats over months, of one tenant or
// two) held both, and every commit of every tenant waited for one of them to end, seconds to
// minutes without an answer, though the disk was idle. The log's calls here wait only for
// the disk and for each other.

import * as util from 'node:util';
import { awaitAnswer, type LogIoCall, newAnswer } from './log-io-answer.ts';

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
  /** Calls sent and not yet answered. */
  waiting: number;
}

class LogIoThreads {
  private threads: Thread[] | null = null;

  /**
   * Starts the threads, resolving once each has loaded. Loading a thread's module takes a
   * thread of Bun's shared pool, so a log started lazily under slow reads waited for them after
   * all: the engine starts them before it opens the store, before any read runs (idempotent).
   */
  async start(): Promise<void> {
    await Promise.all(this.started().map((thread) => this.callOn(thread, readyCall(), 'start')));
  }

  async fdatasync(fd: number): Promise<void> {
    const answer = newAnswer();
    await this.call({ op: 'fdatasync', fd, answer }, 'fdatasync');
  }

  writev(fd: number, parts: readonly Uint8Array[]): Promise<number> {
    const answer = newAnswer();
    return this.call({ op: 'writev', fd, parts: [...parts], answer }, 'writev');
  }

  /** Sends the call to the thread with the fewest calls waiting (started on first use). */
  private call(call: LogIoCall, syscall: string): Promise<number> {
    const threads = this.started();
    let thread = threads[0] as Thread;
    for (const t of threads) if (t.waiting < thread.waiting) thread = t;
    return this.callOn(thread, call, syscall);
  }

  private started(): Thread[] {
    this.threads ??= Array.from({ length: LOG_IO_THREADS }, () => startThread());
    return this.threads;
  }

  private async callOn(thread: Thread, call: LogIoCall, syscall: string): Promise<number> {
    // Kept alive while a call is out: an awaited sync must not let the process end under it.
    if (thread.waiting++ === 0) thread.worker.ref();
    try {
      thread.worker.postMessage(call);
      const { value, failed } = await awaitAnswer(call.answer);
      if (failed) throw errnoError(value, syscall);
      return value;
    } finally {
      if (--thread.waiting === 0) thread.worker.unref();
    }
  }
}

function readyCall(): LogIoCall {
  return { op: 'ready', answer: newAnswer() };
}

function startThread(): Thread {
  const worker = new Worker(THREAD_ENTRY) as BunWorker;
  worker.unref();
  return { worker, waiting: 0 };
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
