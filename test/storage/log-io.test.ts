import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logPayloadBuffer, nodeFileIo } from '../../src/storage/index.ts';
import {
  LOG_IO_THREADS,
  type LogIoThreadLostError,
  LogIoThreads,
  logIo,
} from '../../src/storage/log-io.ts';
import { ANSWER_CELLS, AnswerCells } from '../../src/storage/log-io-answer.ts';
import { makeTestApp } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => {
  cleanup?.();
  cleanup = undefined;
});

/** More calls than Bun's shared pool has threads (as many as the cores, at least 2). */
const POOL_HOLDERS = 64;

/**
 * Holds every thread of Bun's shared pool, as DuckDB statements do while they run (each holds
 * one until it ends): reads of an empty pipe, each blocked on its thread until `release`.
 */
function holdSharedPool(dir: string) {
  const fifo = path.join(dir, 'held');
  expect(Bun.spawnSync(['mkfifo', fifo]).exitCode).toBe(0);
  const fd = fs.openSync(fifo, 'r+'); // read and write: opening never blocks
  const reads = Array.from(
    { length: POOL_HOLDERS },
    () =>
      new Promise<void>((resolve, reject) => {
        fs.read(fd, Buffer.alloc(1), 0, 1, null, (error) => (error ? reject(error) : resolve()));
      }),
  );
  return {
    release: async () => {
      fs.writeSync(fd, Buffer.alloc(POOL_HOLDERS));
      await Promise.all(reads);
      fs.closeSync(fd);
    },
  };
}

test("a group is written and synced while Bun's shared pool is held (by slow DuckDB reads)", async () => {
  // Opened as the server opens it: the engine starts the log's threads before any read can hold
  // the pool (loading a thread takes a thread of it: started lazily here, the group waited).
  const t = await makeTestApp();
  cleanup = () => void t.close();
  const { committer } = t.engine.store;
  const pool = holdSharedPool(t.dataDir);
  try {
    // Past the inline write's size: written off the event loop, then synced.
    const payload = Buffer.alloc(256 * 1024, 97);
    expect(committer.admit(1, payload.length)).toBe(true);
    const submitted = committer.submit(payload, 1, { events: 1, bytes: payload.length });
    if (submitted.kind !== 'queued') throw new Error('refused');
    // Before the fix the group waited for a thread of the pool, here for ever; a read held it
    // for as long as it ran (seconds to minutes), and every commit of every tenant with it.
    const waited = new Promise<'still waiting'>((resolve) =>
      setTimeout(() => resolve('still waiting'), 5000),
    );
    const outcome = await Promise.race([submitted.committed.then(() => 'committed'), waited]);
    expect(outcome).toBe('committed');
  } finally {
    await pool.release();
  }
}, 30_000);

test("a record payload's memory is shared with the log's I/O threads, and written whole", async () => {
  const { dir, remove } = makeTempDir();
  cleanup = remove;
  // Shared, not cloned into each message: a 1,000-event batch's copy cost ~20 % of throughput.
  const payload = logPayloadBuffer(256 * 1024);
  expect(payload.buffer).toBeInstanceOf(SharedArrayBuffer);
  // A few single events' payload is written inline, never sent: from Buffer's pool.
  expect(logPayloadBuffer(400).buffer).not.toBeInstanceOf(SharedArrayBuffer);
  payload.fill(0x61);
  const file = path.join(dir, 'out');
  const fd = fs.openSync(file, 'w');
  try {
    expect(await nodeFileIo.writev(fd, [payload.subarray(0, 1000), payload.subarray(1000)])).toBe(
      payload.length,
    );
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.readFileSync(file).equals(payload)).toBe(true);
});

test('a call to a log I/O thread sends numbers, never shared memory, and its errors come back', async () => {
  const { dir, remove } = makeTempDir();
  cleanup = remove;
  await logIo.start();
  const sent: unknown[] = [];
  const post = Worker.prototype.postMessage;
  const spy = spyOn(Worker.prototype, 'postMessage').mockImplementation(function (
    this: Worker,
    message: unknown,
  ) {
    sent.push(message);
    return post.call(this, message);
  });
  const fd = fs.openSync(path.join(dir, 'out'), 'w');
  try {
    expect(await logIo.writev(fd, [Buffer.from('ab'), Buffer.from('c')])).toBe(3);
    await logIo.fdatasync(fd);
    // An fd that is not open: the thread's errno comes back as node:fs would throw it.
    await expect(logIo.fdatasync(1_000_000)).rejects.toMatchObject({ code: 'EBADF' });
  } finally {
    spy.mockRestore();
    fs.closeSync(fd);
  }
  expect(fs.readFileSync(path.join(dir, 'out'), 'utf8')).toBe('abc');
  // A fresh SharedArrayBuffer in each call's message cost ~65 µs of CPU per call.
  expect(sent).toHaveLength(3);
  for (const message of sent) {
    const { parts, ...rest } = message as { parts?: Uint8Array[] };
    expect(Object.values(rest).every((v) => typeof v === 'number' || typeof v === 'string')).toBe(
      true,
    );
    for (const part of parts ?? []) expect(part.buffer).not.toBeInstanceOf(SharedArrayBuffer);
  }
});

test('more calls at once than the threads have answer cells all complete', async () => {
  const { dir, remove } = makeTempDir();
  cleanup = remove;
  const fd = fs.openSync(path.join(dir, 'out'), 'w');
  try {
    const calls = LOG_IO_THREADS * ANSWER_CELLS + 50;
    const parts = Array.from({ length: calls }, (_, i) => Buffer.from(`${i % 10}`));
    const written = await Promise.all(parts.map((part) => logIo.writev(fd, [part])));
    expect(written.every((n) => n === 1)).toBe(true);
    // Failed calls give their cells back too.
    const failed = await Promise.allSettled(
      Array.from({ length: calls }, () => logIo.fdatasync(1_000_000)),
    );
    expect(failed.every((r) => r.status === 'rejected')).toBe(true);
    await logIo.fdatasync(fd);
  } finally {
    fs.closeSync(fd);
  }
  expect(fs.statSync(path.join(dir, 'out')).size).toBe(LOG_IO_THREADS * ANSWER_CELLS + 50);
});

/** Threads of a test's own, so that killing one leaves the log's for the other tests. */
async function ownThreads(count: number) {
  const threads = new LogIoThreads(count);
  const lost: { error: LogIoThreadLostError; left: number }[] = [];
  const losing: ((error: LogIoThreadLostError) => void)[] = [];
  threads.onLost = (error, left) => {
    lost.push({ error, left });
    losing.shift()?.(error);
  };
  await threads.start();
  return {
    threads,
    lost,
    /** Resolves once a thread has died (told through onLost). */
    nextLoss: () => new Promise<LogIoThreadLostError>((resolve) => losing.push(resolve)),
    /** Makes a thread die of an uncaught error: a call it does not know is a bug it throws. */
    crash: (index: number) => threads.workers[index]?.postMessage({ op: 'crash' }),
  };
}

function openFile(name: string): number {
  const { dir, remove } = makeTempDir();
  const fd = fs.openSync(path.join(dir, name), 'w');
  cleanup = () => {
    fs.closeSync(fd);
    remove();
  };
  return fd;
}

const LOST = 'ERR_LOG_IO_THREAD_LOST';

test('calls sent to a thread that dies fail, naming it and its error; the rest go on', async () => {
  const fd = openFile('out');
  const { threads, lost, crash } = await ownThreads(2);
  crash(0);
  // Sent before its death is known: spread over both threads, half of them to the dead one,
  // which never answers. They waited for ever before (the group commit with them).
  const first = await Promise.allSettled(Array.from({ length: 8 }, () => threads.fdatasync(fd)));
  const failed = first.filter((r) => r.status === 'rejected').map((r) => r.reason);
  expect(failed.length).toBeGreaterThan(0);
  expect(failed.length).toBeLessThan(first.length);
  for (const error of failed) {
    expect(error).toMatchObject({ code: LOST });
    expect(String(error.message)).toContain('log I/O thread 1 of 2 died');
    expect(String(error.message)).toContain('unknown op crash');
  }
  expect(lost.map((l) => l.left)).toEqual([1]);
  // Its cells are never used again (it may have calls it never read): all go to the other.
  const [dead, living] = threads.workers as [Worker, Worker];
  const toDead = spyOn(dead, 'postMessage');
  const toLiving = spyOn(living, 'postMessage');
  expect(await threads.writev(fd, [Buffer.from('after')])).toBe(5);
  await Promise.all(Array.from({ length: 8 }, () => threads.fdatasync(fd)));
  expect(toDead).not.toHaveBeenCalled();
  expect(toLiving).toHaveBeenCalledTimes(9);
});

test('once every thread is gone (terminated, as Bun may), calls fail at once', async () => {
  const fd = openFile('out');
  const { threads, nextLoss } = await ownThreads(1);
  const loss = nextLoss();
  threads.workers[0]?.terminate();
  expect((await loss).message).toContain('log I/O thread 1 of 1 died: it exited');
  const error = await threads.fdatasync(fd).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: LOST });
  expect(String(error)).toContain('every log I/O thread of the write-ahead log died');
  expect(await threads.start().catch((e: unknown) => e)).toMatchObject({ code: LOST });
});

test('a thread whose module fails to load fails the start, which waited for ever', async () => {
  const threads = new LogIoThreads(1, new URL('./no-such-log-io-thread.ts', import.meta.url).href);
  const error = await threads.start().catch((e: unknown) => e);
  expect(error).toMatchObject({ code: LOST });
  expect(String(error)).toContain('log I/O thread 1 of 1 died');
});

test("a call the thread cannot make fails with the thread's error, not as EPERM", async () => {
  // Not a system call's failure (no errno): a bug, which the thread dies of. Its errno was
  // read as -1 before, and the log said EPERM.
  const { threads } = await ownThreads(1);
  const error = await threads.writev(-1, [Buffer.from('x')]).catch((e: unknown) => e);
  expect(error).toMatchObject({ code: LOST });
  expect(String(error)).toContain('"fd" is out of range');
});

test("a dead thread's answer, once written, is kept: only a call it never answered is lost", async () => {
  const cells = new AnswerCells();
  cells.clear(0);
  cells.answer(0, 5);
  cells.abandon(0);
  expect(await cells.awaitAnswer(0)).toEqual({ value: 5, outcome: 'done' });
  cells.clear(1);
  const waiting = cells.awaitAnswer(1);
  cells.abandon(1);
  expect((await waiting).outcome).toBe('lost');
});

test("a cell's late notify from its last call does not answer the next call waiting in it", async () => {
  // The thread stores an answer, then notifies; between the two the server may read it, free
  // the cell and give it to the next call. The late notify woke that call's wait, which took
  // it as an answer: a sync acknowledged before it was done (or, later, a dead thread's call).
  const cells = new AnswerCells();
  const cell = 3;
  cells.clear(cell);
  const waiting = cells.awaitAnswer(cell);
  let settled = false;
  void waiting.then(() => {
    settled = true;
  });
  Atomics.notify(new Int32Array(cells.buffer), cell * 4); // the late notify of the last call
  await Bun.sleep(20);
  expect(settled).toBe(false);
  cells.answer(cell, 7);
  expect(await waiting).toEqual({ value: 7, outcome: 'done' });
});
