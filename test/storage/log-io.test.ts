import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logPayloadBuffer, nodeFileIo } from '../../src/storage/index.ts';
import { LOG_IO_THREADS, logIo } from '../../src/storage/log-io.ts';
import { ANSWER_CELLS } from '../../src/storage/log-io-answer.ts';
import { makeTestApp } from '../helpers/app.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

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
