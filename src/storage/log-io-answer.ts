// How a call of the log's I/O threads (log-io.ts) and its answer cross between threads. The
// answer is written to memory the call shares and announced with Atomics.notify, not posted
// as a message: the server's loop takes either, but bun's test runner, awaiting a promise in
// expect(…).rejects, never delivers a worker's message, and the log's tests await so.

/**
 * A call: fdatasync(2) of `fd`, writev(2) of `parts` to it, or `ready` (answered at once: the
 * thread has loaded); `answer` is its shared memory.
 */
export type LogIoCall =
  | { op: 'ready'; answer: SharedArrayBuffer }
  | { op: 'fdatasync'; fd: number; answer: SharedArrayBuffer }
  | { op: 'writev'; fd: number; parts: Uint8Array[]; answer: SharedArrayBuffer };

/** The answer's state (an Int32 at 0) and its value (a Float64 at 8). */
const STATE_WAITING = 0;
const STATE_DONE = 1;
const STATE_FAILED = 2;
const ANSWER_BYTES = 16;

export function newAnswer(): SharedArrayBuffer {
  return new SharedArrayBuffer(ANSWER_BYTES);
}

/** Writes the answer: the bytes written (0 for a sync), or with `failed` the errno (negative). */
export function answerCall(answer: SharedArrayBuffer, value: number, failed = false): void {
  new Float64Array(answer, 8, 1)[0] = value;
  const state = new Int32Array(answer, 0, 1);
  Atomics.store(state, 0, failed ? STATE_FAILED : STATE_DONE);
  Atomics.notify(state, 0);
}

/** Resolves with the answer once written: the value, and whether the call failed. */
export async function awaitAnswer(
  answer: SharedArrayBuffer,
): Promise<{ value: number; failed: boolean }> {
  const state = new Int32Array(answer, 0, 1);
  const wait = Atomics.waitAsync(state, 0, STATE_WAITING);
  if (wait.async) await wait.value;
  const value = new Float64Array(answer, 8, 1)[0] as number;
  return { value, failed: Atomics.load(state, 0) === STATE_FAILED };
}
