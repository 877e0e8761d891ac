// After a log write found the disk full, writes resume at a check that finds room for that
// write and DISK_FREE_BYTES_MIN (0 turns the margin off, not the check), and only at a check
// allowed to resume; until then the answer says what is missing.

import { afterEach, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import { GroupCommitter, WalDiskFullError, WriteAheadLog } from '../../src/storage/index.ts';
import { WriteReadiness } from '../../src/storage/write-readiness.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const FRAME_HEADER_BYTES = 16;

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

/** A log whose next write of `payloadBytes` found the disk full, and its readiness. */
async function refusedWrite(diskFreeBytesMin: number, payloadBytes: number) {
  const t = makeTempDir();
  const disk = new LimitedDisk();
  const dir = path.join(t.dir, 'wal');
  const wal = WriteAheadLog.open(
    { dir, fileBytesMax: 64 << 20, durability: 'fsync', io: disk },
    () => {},
  );
  cleanup = () => {
    wal.close();
    t.remove();
  };
  const committer = new GroupCommitter(wal, {
    queueEventsMax: 1000,
    queueBytesMax: 64 << 20,
    onFatal: (error) => {
      throw error;
    },
  });
  let rooms = 0;
  const readiness = new WriteReadiness({
    dataDir: t.dir,
    diskFreeBytesMin,
    wal,
    committer,
    fileIo: disk,
    onDiskRoom: () => rooms++,
  });
  disk.roomBytes = 0;
  const payload = Buffer.alloc(payloadBytes, 'a');
  expect(committer.admit(1, payloadBytes)).toBe(true);
  const submitted = committer.submit(payload, 1, { events: 1, bytes: payloadBytes });
  if (submitted.kind !== 'queued') throw new Error('refused before the write');
  await expect(submitted.committed).rejects.toBeInstanceOf(WalDiskFullError);
  return { disk, committer, readiness, rooms: () => rooms };
}

describe('resuming writes after a full disk', () => {
  test('with DISK_FREE_BYTES_MIN=0: once the refused write fits again, not before', async () => {
    const { disk, committer, readiness, rooms } = await refusedWrite(0, 100);
    const needed = 100 + FRAME_HEADER_BYTES;
    expect(readiness.check()).toEqual({
      ok: false,
      reason:
        "the data directory's disk is full (ENOSPC on a write-ahead log write); writes " +
        `resume once ${needed} bytes are free (the data directory's disk is full (0 bytes free))`,
    });
    disk.roomBytes = needed - 1;
    expect(readiness.check()).toMatchObject({
      ok: false,
      reason: expect.stringContaining(`(only ${needed - 1} bytes free)`),
    });
    expect(committer.writable).toBe(false);
    expect(rooms()).toBe(0);
    disk.roomBytes = needed;
    expect(readiness.check(false).ok).toBe(false); // a check not allowed to resume
    expect(committer.writable).toBe(false);
    expect(readiness.check()).toEqual({ ok: true, freeBytes: needed });
    expect(committer.writable).toBe(true);
    expect(rooms()).toBe(1);
    expect(readiness.check().ok).toBe(true);
    expect(rooms()).toBe(1); // told once
  });

  test('with a margin: once DISK_FREE_BYTES_MIN is free too', async () => {
    const { disk, committer, readiness } = await refusedWrite(4096, 10);
    disk.roomBytes = 1000; // room for the write, not for the margin
    expect(readiness.check()).toMatchObject({ ok: false });
    expect(committer.writable).toBe(false);
    disk.roomBytes = 4096;
    expect(readiness.check()).toEqual({ ok: true, freeBytes: 4096 });
    expect(committer.writable).toBe(true);
  });
});
