import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { logPayloadBuffer, nodeFileIo } from '../../src/storage/index.ts';
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
