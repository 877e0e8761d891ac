// Overlapping group commits around a write that finds the disk full: the group before it is
// acknowledged only once its own fdatasync is done, and its bytes are never cut; a sync of it
// that fails after the cut, or a cut that fails, is fatal and nothing is written after it.

import { afterEach, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { GroupCommitter, WalDiskFullError, WriteAheadLog } from '../../src/storage/index.ts';
import { holdFdatasyncs } from '../helpers/held-fdatasyncs.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

/** Over the log's inline-write limit: written on an I/O thread (held by the test). */
const LARGE_BYTES = 100 * 1024;

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup(disk: LimitedDisk) {
  const t = makeTempDir();
  cleanup = t.remove;
  const dir = path.join(t.dir, 'wal');
  const wal = WriteAheadLog.open(
    { dir, fileBytesMax: 64 << 20, durability: 'fsync', io: disk },
    () => {},
  );
  const fatal: unknown[] = [];
  const committer = new GroupCommitter(wal, {
    queueEventsMax: 1000,
    queueBytesMax: 64 << 20,
    onFatal: (e) => fatal.push(e),
  });
  return { wal, committer, fatal, dir };
}

/** The seqs and texts of the log's records, read back as a restart does. */
function replay(dir: string): string[] {
  const texts: string[] = [];
  const wal = WriteAheadLog.open({ dir, fileBytesMax: 64 << 20, durability: 'fsync' }, (r) =>
    texts.push(`${r.seq}:${Buffer.from(r.payload).toString().slice(0, 3)}`),
  );
  expect(wal.damage).toBeNull();
  wal.close();
  return texts;
}

describe('a full disk while an earlier group is syncing', () => {
  test('the earlier group is acknowledged after its own sync, and kept', async () => {
    const disk = new LimitedDisk();
    const { wal, committer, fatal, dir } = setup(disk);
    const sync = controlSyncs(wal);
    const a = settledState(submit(committer, Buffer.from('aaa')));
    await until(() => sync.started === 1); // a is written; its fdatasync is held
    disk.roomBytes = 40; // b fits in part only: a short write, then ENOSPC
    const b = settledState(submit(committer, Buffer.from('bbb'.repeat(30))));
    await until(() => b.state !== 'pending');
    expect(b.state).toBe('rejected');
    expect(b.reason).toBeInstanceOf(WalDiskFullError);
    // Refused, and the log cut, while a's sync still runs: a waits for it.
    await Bun.sleep(20);
    expect(a.state).toBe('pending');
    sync.release(0);
    await until(() => a.state !== 'pending');
    expect(a).toMatchObject({ state: 'resolved', value: 1 });
    expect(fatal).toEqual([]);
    wal.close();
    expect(replay(dir)).toEqual(['1:aaa']);
  });

  test("the earlier group's sync failing after the cut is fatal: nothing is acknowledged", async () => {
    const disk = new LimitedDisk();
    const { wal, committer, fatal } = setup(disk);
    const sync = controlSyncs(wal);
    const a = settledState(submit(committer, Buffer.from('aaa')));
    await until(() => sync.started === 1);
    disk.roomBytes = 40;
    const b = settledState(submit(committer, Buffer.from('bbb'.repeat(30))));
    await until(() => b.state !== 'pending');
    const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
    sync.release(0, eio);
    await until(() => a.state !== 'pending');
    expect(a).toMatchObject({ state: 'rejected', reason: eio });
    expect(fatal).toEqual([eio]);
    expect(committer.healthy).toBe(false);
    // Not resumable: a failed log stays failed whatever room the disk has.
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    committer.resume();
    expect(committer.writable).toBe(false);
    expect(committer.submit(Buffer.from('c'), 1, { events: 0, bytes: 0 }).kind).toBe('refused');
    wal.close();
  });

  test("a cut whose fdatasync fails after the earlier group's succeeded: none is acknowledged", async () => {
    // The cut's fdatasync runs on the log's descriptor too: Linux may report the writeback
    // error of a's pages to it, once, and to a's own fdatasync nothing.
    const disk = new LimitedDisk();
    const { wal, committer, fatal } = setup(disk);
    const syncs = holdFdatasyncs();
    try {
      const a = settledState(submit(committer, Buffer.from('aaa')));
      await until(() => syncs.held.length === 1); // a is written; its fdatasync is held
      disk.roomBytes = 40; // b fits in part only: a short write, then ENOSPC, then the cut
      const b = settledState(submit(committer, Buffer.from('bbb'.repeat(30))));
      await until(() => syncs.held.length === 2); // the cut's fdatasync
      syncs.release(0, null);
      await Bun.sleep(20);
      expect(a.state).toBe('pending');
      const eio = Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
      syncs.release(1, eio);
      await until(() => a.state !== 'pending' && b.state !== 'pending');
      expect(a.state).toBe('rejected');
      expect(b.state).toBe('rejected');
      expect(fatal).toHaveLength(1);
      expect(committer.healthy).toBe(false);
    } finally {
      syncs.restore();
      wal.close();
    }
  });
});

describe('a write failure that is fatal', () => {
  for (const [name, failure] of [
    ['a cut back that fails (ftruncate)', 'cut'],
    ['a write error (EIO)', 'write'],
  ] as const) {
    test(`${name}: no group behind it writes to the log`, async () => {
      const disk = new LimitedDisk(Number.MAX_SAFE_INTEGER, failure === 'write' ? 'EIO' : 'ENOSPC');
      const { wal, committer, fatal } = setup(disk);
      if (failure === 'cut') {
        disk.truncate = () => {
          throw Object.assign(new Error('EIO: i/o error, ftruncate'), { code: 'EIO' });
        };
      }
      expect(await submit(committer, Buffer.from('aaa'))).toBe(1);
      disk.roomBytes = 100; // b's large write fits in part only, then fails
      const releaseWrites = disk.holdWrites();
      const b = submit(committer, Buffer.alloc(LARGE_BYTES, 'b'));
      await until(() => committer.queuedEvents === 0 && inFlight(committer) === 1);
      const c = submit(committer, Buffer.from('ccc')); // in flight behind b's write
      await until(() => committer.queuedEvents === 0 && inFlight(committer) === 2);
      const writes = disk.writes;
      const outcomes = Promise.allSettled([b, c]);
      releaseWrites();
      for (const o of await outcomes) expect(o.status).toBe('rejected');
      // b's short write and the failing one; c's write never ran.
      expect(disk.writes - writes).toBe(2);
      expect(fatal).toHaveLength(1);
      expect(committer.healthy).toBe(false);
      wal.close();
    });
  }
});

/** Submits `payload` as a request would (room admitted first); resolves with its seq. */
function submit(committer: GroupCommitter, payload: Uint8Array): Promise<number> {
  if (!committer.admit(1, payload.length)) return Promise.reject(new Error('not admitted'));
  const o = committer.submit(payload, 1, { events: 1, bytes: payload.length });
  return o.kind === 'queued' ? o.committed : Promise.reject(o.error);
}

interface Settled<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  reason?: unknown;
}

function settledState<T>(promise: Promise<T>): Settled<T> {
  const s: Settled<T> = { state: 'pending' };
  promise.then(
    (value) => Object.assign(s, { state: 'resolved', value }),
    (reason: unknown) => Object.assign(s, { state: 'rejected', reason }),
  );
  return s;
}

/**
 * Holds each fdatasync of `wal` after it ran, until released by its index (then it reports
 * `error` if given): a sync that is slow, or fails, after later writes went out.
 */
function controlSyncs(wal: WriteAheadLog) {
  const sync = wal.sync.bind(wal);
  const gates: ((error?: Error) => void)[] = [];
  const control = {
    started: 0,
    release: (i: number, error?: Error) => gates[i]?.(error),
  };
  wal.sync = () => {
    control.started++;
    const gate = new Promise<Error | undefined>((resolve) => gates.push(resolve));
    return sync()
      .then(() => gate)
      .then((error) => {
        if (error !== undefined) throw error;
      });
  };
  return control;
}

function inFlight(committer: GroupCommitter): number {
  return (committer as unknown as { inFlight: number }).inFlight;
}

/** Waits for `condition` (real fsyncs: up to 10 s on a busy machine). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition() && performance.now() < deadline) await Bun.sleep(2);
  expect(condition()).toBe(true);
}
