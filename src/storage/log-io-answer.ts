// How a call of the log's I/O threads (log-io.ts) and its answer cross between threads. Each
// thread shares one block of answer cells with the server, once, when it starts; a call names
// its cell by number, and the thread writes the answer there and announces it with
// Atomics.notify. Nothing but numbers crosses in a call's message: a SharedArrayBuffer sent
// in each one (a fresh answer buffer per call, as before) cost ~65 µs of CPU per call against
// ~5 µs for a message of numbers, measured here — one fdatasync per commit, so a large share
// of a durable single event's CPU. The answer is not posted as a message either: the server's
// loop takes either, but bun's test runner, awaiting a promise in expect(…).rejects, never
// delivers a worker's message, and the log's tests await so.

/** The message a thread gets first, before any call: the answer cells it writes to. */
export interface LogIoStart {
  op: 'start';
  cells: SharedArrayBuffer;
}

/**
 * A call: fdatasync(2) of `fd`, writev(2) of `parts` to it, or `ready` (answered at once: the
 * thread has loaded); `cell` is the number of the answer cell it is answered in.
 */
export type LogIoCall =
  | { op: 'ready'; cell: number }
  | { op: 'fdatasync'; fd: number; cell: number }
  | { op: 'writev'; fd: number; parts: Uint8Array[]; cell: number };

/** Answer cells a thread has: more than the calls one thread is ever sent at once. */
export const ANSWER_CELLS = 64;

/** A cell: its state (an Int32 at 0) and its value (a Float64 at 8). */
const CELL_BYTES = 16;
const INT32_PER_CELL = CELL_BYTES / 4;
const FLOAT64_PER_CELL = CELL_BYTES / 8;
const STATE_WAITING = 0;
const STATE_DONE = 1;
const STATE_FAILED = 2;
/** Written by the server, not the thread: the thread died before it answered (`abandon`). */
const STATE_LOST = 3;

/** How a call ended: answered (`done`, or `failed` with its errno), or its thread died. */
export type AnswerOutcome = 'done' | 'failed' | 'lost';

/** A block of answer cells, seen the same from the server and from the thread it shares. */
export class AnswerCells {
  readonly buffer: SharedArrayBuffer;
  private readonly states: Int32Array;
  private readonly values: Float64Array;

  constructor(buffer = new SharedArrayBuffer(ANSWER_CELLS * CELL_BYTES)) {
    this.buffer = buffer;
    this.states = new Int32Array(buffer);
    this.values = new Float64Array(buffer);
  }

  get count(): number {
    return this.buffer.byteLength / CELL_BYTES;
  }

  /** Readies `cell` for a call's answer (the server, before it sends the call). */
  clear(cell: number): void {
    Atomics.store(this.states, cell * INT32_PER_CELL, STATE_WAITING);
  }

  /** Writes an answer: the bytes written (0 for a sync), or with `failed` the errno. */
  answer(cell: number, value: number, failed = false): void {
    this.values[cell * FLOAT64_PER_CELL + 1] = value;
    const at = cell * INT32_PER_CELL;
    Atomics.store(this.states, at, failed ? STATE_FAILED : STATE_DONE);
    Atomics.notify(this.states, at);
  }

  /**
   * Ends the wait in `cell` as lost (the server, once the cell's thread died), unless the
   * thread answered first: that answer is the call's real outcome (a write done is done), so
   * it is kept. Nothing else wakes the wait: no thread is left to notify it.
   */
  abandon(cell: number): void {
    const at = cell * INT32_PER_CELL;
    if (Atomics.compareExchange(this.states, at, STATE_WAITING, STATE_LOST) === STATE_WAITING) {
      Atomics.notify(this.states, at);
    }
  }

  /**
   * Resolves with the answer of `cell` once written (or abandoned): its value and outcome. A
   * wake with the cell still waiting is no answer, and the wait goes on: the thread stores an
   * answer, then notifies, and between the two the server may read that answer, free the cell
   * and give it to the next call, whose wait the late notify then wakes. Taken as an answer,
   * it acknowledged a sync not yet done (then, as a dead thread's, it stopped the store).
   */
  async awaitAnswer(cell: number): Promise<{ value: number; outcome: AnswerOutcome }> {
    const at = cell * INT32_PER_CELL;
    let state = Atomics.load(this.states, at);
    while (state === STATE_WAITING) {
      const wait = Atomics.waitAsync(this.states, at, STATE_WAITING);
      if (wait.async) await wait.value;
      state = Atomics.load(this.states, at);
    }
    // The state first: the thread writes the value before it, so a value read after a state
    // is the one that state answers, even should a thread thought dead answer after all.
    const value = this.values[cell * FLOAT64_PER_CELL + 1] as number;
    return {
      value,
      outcome: state === STATE_DONE ? 'done' : state === STATE_FAILED ? 'failed' : 'lost',
    };
  }
}
