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
  /** Its number among the threads, for errors and the log. */
  index: number;
  worker: BunWorker;
  cells: AnswerCells;
  /** Numbers of the cells no call is waiting in. */
  free: number[];
  /** Numbers of the cells calls sent and not yet answered are waiting in. */
  busy: Set<number>;
  /** Why the thread is gone, once it is: nothing is sent to it, and its cells stay unused. */
  lost: LogIoThreadLostError | null;
}

/**
 * What a call fails with when its thread died before answering (an uncaught error in it, its
 * module failed to load, it was terminated), or when every thread has: the write or sync may
 * or may not have happened, so the log's end is unknown and the store stops (onFatal).
 */
export class LogIoThreadLostError extends Error {
  readonly code = 'ERR_LOG_IO_THREAD_LOST';
}

/** A dead thread's error is cut to this length in the errors its calls fail with. */
const LOST_REASON_CHARS_MAX = 300;

/** A call without its cell: the cell is the thread's it is sent to. */
type CallOf<C> = C extends LogIoCall ? Omit<C, 'cell'> : never;

/**
 * The threads, started once. A thread that dies is not replaced: its calls' failures already
 * stop the store (onFatal), a thread that died idle leaves the others to take its calls, and
 * a replacement would load its module on Bun's shared pool, which slow reads may hold (see
 * `start`). Once none is left, every call fails at once.
 */
export class LogIoThreads {
  private threads: Thread[] | null = null;
  /** Calls waiting for a free cell (every cell of every thread taken: not seen in practice). */
  private readonly cellWaiters: (() => void)[] = [];
  /** Why the last thread to die did (what a call fails with once none is left). */
  private lastLost: LogIoThreadLostError | null = null;
  /** Told of each thread that dies (the server logs it), with how many are left. */
  onLost: ((error: LogIoThreadLostError, left: number) => void) | null = null;

  constructor(
    private readonly threadCount = LOG_IO_THREADS,
    /** The thread's module (a test gives one that fails to load). */
    private readonly entry = THREAD_ENTRY,
  ) {}

  /**
   * Starts the threads, resolving once each has loaded. Loading a thread's module takes a
   * thread of Bun's shared pool, so a log started lazily under slow reads waited for them after
   * all: the engine starts them before it opens the store, before any read runs (idempotent).
   * Rejects when a thread died instead of loading.
   */
  async start(): Promise<void> {
    const living = this.started().filter((thread) => thread.lost === null);
    if (living.length === 0) throw this.allLost();
    await Promise.all(living.map((thread) => this.callOn(thread, { op: 'ready' }, 'start')));
  }

  async fdatasync(fd: number): Promise<void> {
    await this.call({ op: 'fdatasync', fd }, 'fdatasync');
  }

  writev(fd: number, parts: readonly Uint8Array[]): Promise<number> {
    return this.call({ op: 'writev', fd, parts: [...parts] }, 'writev');
  }

  /** The threads' workers, for a test that kills one. */
  get workers(): readonly Worker[] {
    return this.started().map((thread) => thread.worker);
  }

  /**
   * Sends the call to the living thread with the fewest calls waiting that has a free cell;
   * with none left living, fails at once.
   */
  private async call(call: CallOf<LogIoCall>, syscall: string): Promise<number> {
    for (;;) {
      let thread: Thread | null = null;
      let living = 0;
      for (const t of this.started()) {
        if (t.lost !== null) continue;
        living++;
        if (t.free.length > 0 && (thread === null || t.busy.size < thread.busy.size)) thread = t;
      }
      if (living === 0) throw this.allLost();
      if (thread !== null) return this.callOn(thread, call, syscall);
      await new Promise<void>((resolve) => this.cellWaiters.push(resolve));
    }
  }

  private started(): Thread[] {
    this.threads ??= Array.from({ length: this.threadCount }, (_, index) => this.spawn(index));
    return this.threads;
  }

  private async callOn(thread: Thread, call: CallOf<LogIoCall>, syscall: string) {
    const cell = thread.free.pop();
    assert(cell !== undefined, 'a log I/O call goes to a thread with a free answer cell');
    // Kept alive while a call is out: an awaited sync must not let the process end under it.
    if (thread.busy.size === 0) thread.worker.ref();
    thread.busy.add(cell);
    try {
      thread.cells.clear(cell);
      thread.worker.postMessage({ ...call, cell } as LogIoCall);
      const { value, outcome } = await thread.cells.awaitAnswer(cell);
      if (outcome === 'lost') {
        assert(thread.lost !== null, 'a call is lost only with its thread (abandon)');
        throw thread.lost;
      }
      if (outcome === 'failed') throw errnoError(value, syscall);
      return value;
    } finally {
      // The thread is done with the cell once it has answered (or the message never went). A
      // lost thread's cells stay taken: it may have been sent calls it never read.
      thread.busy.delete(cell);
      if (thread.lost === null) {
        thread.free.push(cell);
        if (thread.busy.size === 0) thread.worker.unref();
        this.cellWaiters.shift()?.();
      }
    }
  }

  private spawn(index: number): Thread {
    const worker = new Worker(this.entry) as BunWorker;
    worker.unref();
    const cells = new AnswerCells();
    const free = Array.from({ length: cells.count }, (_, i) => cells.count - 1 - i);
    const thread: Thread = { index, worker, cells, free, busy: new Set(), lost: null };
    // An uncaught error (or a failed load) comes first, then the close; a close alone is a
    // termination. No answer comes from a dead thread, so its calls would wait for ever.
    worker.addEventListener('error', (event) => this.lose(thread, reasonOf(event)));
    worker.addEventListener('close', (event) => {
      this.lose(thread, `it exited (code ${(event as CloseEvent).code})`);
    });
    // The thread posts nothing; a message that could not be read means it is not what it was.
    worker.addEventListener('messageerror', () => this.lose(thread, 'a message could not be read'));
    worker.postMessage({ op: 'start', cells: cells.buffer } satisfies LogIoStart);
    return thread;
  }

  /**
   * Marks `thread` lost: the calls waiting on it fail (those it answered keep their answers),
   * calls waiting for a cell look again among the threads left, and it is terminated.
   */
  private lose(thread: Thread, reason: string): void {
    if (thread.lost !== null) return;
    const name = `log I/O thread ${thread.index + 1} of ${this.threadCount}`;
    thread.lost = new LogIoThreadLostError(`the write-ahead log's ${name} died: ${reason}`);
    this.lastLost = thread.lost;
    thread.free.length = 0;
    for (const cell of thread.busy) thread.cells.abandon(cell);
    thread.worker.terminate(); // after an error or a bad message it may not have stopped yet
    thread.worker.unref();
    for (const wake of this.cellWaiters.splice(0)) wake();
    const left = this.started().filter((t) => t.lost === null).length;
    this.onLost?.(thread.lost, left);
  }

  private allLost(): LogIoThreadLostError {
    return new LogIoThreadLostError(
      `every log I/O thread of the write-ahead log died (the last: ${this.lastLost?.message})`,
    );
  }
}

/**
 * The error an error event reports, in a line: Bun puts the source lines around the throw
 * before it ("4 | throw new Error('…')", a caret line) and its stack after.
 */
function reasonOf(event: Event): string {
  const message = String((event as ErrorEvent).message ?? 'an uncaught error');
  const lines = message.split('\n').map((line) => line.trim());
  const said = lines.find((line) => line !== '' && !/^(\d+ \||\^|at )/.test(line));
  return (said ?? message).slice(0, LOST_REASON_CHARS_MAX);
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
