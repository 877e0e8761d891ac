// A log write that finds the disk full (ENOSPC, EDQUOT) is cut back and refused, with every
// group behind it; groups before it complete; the log takes writes again once resumed, and
// nothing refused is ever replayed. Every other write or sync error stays fatal.

import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  GroupCommitter,
  WalDiskFullError,
  type WalRecord,
  WriteAheadLog,
} from '../../src/storage/index.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const FRAME_HEADER_BYTES = 16;
/** Over the log's inline-write limit: written on an I/O thread. */
const LARGE_BYTES = 100 * 1024;

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function setup(disk: LimitedDisk, fileBytesMax = 64 << 20) {
  const t = makeTempDir();
  cleanup = t.remove;
  const dir = path.join(t.dir, 'wal');
  const wal = WriteAheadLog.open({ dir, fileBytesMax, durability: 'fsync', io: disk }, () => {});
  const fatal: unknown[] = [];
  const full: WalDiskFullError[] = [];
  const committer = new GroupCommitter(wal, {
    queueEventsMax: 1000,
    queueBytesMax: 64 << 20,
    onFatal: (e) => fatal.push(e),
    onDiskFull: (e) => full.push(e),
  });
  return { wal, committer, fatal, full, dir };
}

/** The log's records as text, read by opening it again (as a restart does). */
function replay(dir: string): { seq: number; text: string }[] {
  const records: WalRecord[] = [];
  const wal = WriteAheadLog.open({ dir, fileBytesMax: 64 << 20, durability: 'fsync' }, (r) =>
    records.push({ seq: r.seq, payload: Uint8Array.from(r.payload) }),
  );
  expect(wal.damage).toBeNull(); // cut back whole: not even a torn tail is left
  wal.close();
  return records.map((r) => ({ seq: r.seq, text: Buffer.from(r.payload).toString() }));
}

const logBytes = (dir: string) => fs.statSync(path.join(dir, '0000000001.wal')).size;

describe('WriteAheadLog on a full disk', () => {
  for (const [name, bytes] of [
    ['inline', 40],
    ['on an I/O thread', LARGE_BYTES],
  ] as const) {
    test(`a write that fits in part (${name}) is cut back to the last whole record`, async () => {
      const disk = new LimitedDisk();
      const { wal, dir } = setup(disk);
      expect(await wal.append([Buffer.from('a'), Buffer.from('b')])).toBe(2);
      await wal.sync();
      const before = logBytes(dir);
      const first = Buffer.alloc(bytes, 'c');
      // Room for the first record whole and part of the second: a short write, then ENOSPC.
      disk.roomBytes = FRAME_HEADER_BYTES + first.length + FRAME_HEADER_BYTES + 3;
      const refused = wal.append([first, Buffer.alloc(bytes, 'd')]);
      await expect(refused).rejects.toBeInstanceOf(WalDiskFullError);
      await expect(refused).rejects.toMatchObject({
        bytes: 2 * bytes + 2 * FRAME_HEADER_BYTES,
        message: "the data directory's disk is full (ENOSPC on a write-ahead log write)",
        cause: { code: 'ENOSPC' },
      });
      expect(logBytes(dir)).toBe(before);
      expect(wal.lastSeq).toBe(2);
      disk.roomBytes = Number.MAX_SAFE_INTEGER; // space freed
      expect(await wal.append([Buffer.from('e')])).toBe(3);
      await wal.sync();
      wal.close();
      expect(replay(dir)).toEqual([
        { seq: 1, text: 'a' },
        { seq: 2, text: 'b' },
        { seq: 3, text: 'e' },
      ]);
    });
  }

  test('an exhausted quota (EDQUOT) is refused the same way, and says so', async () => {
    const disk = new LimitedDisk(Number.MAX_SAFE_INTEGER, 'EDQUOT');
    const { wal, dir } = setup(disk);
    await wal.append([Buffer.from('a')]);
    disk.roomBytes = 5;
    const refused = wal.append([Buffer.from('b')]);
    await expect(refused).rejects.toBeInstanceOf(WalDiskFullError);
    await expect(refused).rejects.toThrow('quota');
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    await wal.append([Buffer.from('c')]);
    await wal.sync();
    wal.close();
    expect(replay(dir).map((r) => r.text)).toEqual(['a', 'c']);
  });

  test('any other write error (EIO) is not taken for a full disk', async () => {
    const disk = new LimitedDisk(Number.MAX_SAFE_INTEGER, 'EIO');
    const { wal } = setup(disk);
    disk.roomBytes = 0;
    const failed = wal.append([Buffer.from('a')]);
    await expect(failed).rejects.toMatchObject({ code: 'EIO' });
    await expect(failed).rejects.not.toBeInstanceOf(WalDiskFullError);
    wal.close();
  });

  test('no room for the next file keeps the current one; rotation works once there is', async () => {
    const disk = new LimitedDisk();
    const { wal, dir } = setup(disk, 64);
    await wal.append([Buffer.alloc(60, 'a')]);
    await wal.sync();
    expect(wal.full).toBe(true);
    disk.roomBytes = 0;
    expect(() => wal.rotateIfFull(7)).toThrow(WalDiskFullError);
    expect(wal.fileCount).toBe(1);
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    wal.rotateIfFull(7);
    expect(wal.fileCount).toBe(2);
    await wal.append([Buffer.from('b')]);
    await wal.sync();
    wal.close();
    expect(replay(dir).map((r) => r.seq)).toEqual([1, 2]);
  });
});

describe('GroupCommitter on a full disk', () => {
  test('refuses the failed group and every one behind it; earlier ones are acknowledged', async () => {
    const disk = new LimitedDisk();
    const { wal, committer, fatal, full, dir } = setup(disk);
    const releaseSyncs = holdSyncs(wal);
    const a = submit(committer, Buffer.from('a')); // group 1: written, its sync held
    await until(() => disk.writes === 1);
    disk.roomBytes = 1000; // group 2's large write fits in part only
    const releaseWrites = disk.holdWrites();
    const b = submit(committer, Buffer.alloc(LARGE_BYTES, 'b'));
    await until(() => disk.writes === 1 && inFlight(committer) === 2);
    const c = submit(committer, Buffer.from('c')); // group 3: waits for group 2's write
    await until(() => inFlight(committer) === 3);
    const duplicateOfB = committer.barrier(); // group 4: waits for group 3
    await until(() => inFlight(committer) === 4);
    const e = submit(committer, Buffer.from('e')); // queued: every slot is taken
    const outcomes = Promise.allSettled([b, c, duplicateOfB, e]);
    releaseWrites();
    for (const o of await outcomes) {
      expect(o.status).toBe('rejected');
      expect((o as PromiseRejectedResult).reason).toBeInstanceOf(WalDiskFullError);
    }
    expect(disk.writes).toBe(3); // group 2's short write and its ENOSPC: group 3 never wrote
    releaseSyncs();
    expect(await a).toBe(1);
    expect(fatal).toEqual([]);
    expect(full).toHaveLength(1);
    expect(committer.healthy).toBe(true);
    expect(committer.writable).toBe(false);
    expect(committer.diskFull?.bytes).toBe(LARGE_BYTES + FRAME_HEADER_BYTES);
    expect(committer.admit(1, 1)).toBe(false);
    expect(committer.submit(Buffer.from('x'), 1, { events: 0, bytes: 0 }).kind).toBe('refused');
    await expect(committer.barrier()).rejects.toBeInstanceOf(WalDiskFullError);

    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    committer.resume();
    expect(await submit(committer, Buffer.from('f'))).toBe(2); // right after group 1
    await committer.drain();
    wal.close();
    expect(replay(dir)).toEqual([
      { seq: 1, text: 'a' },
      { seq: 2, text: 'f' },
    ]);
  });

  test('no room for the next file refuses the group the same way', async () => {
    const disk = new LimitedDisk();
    const { wal, committer, fatal, dir } = setup(disk, 64);
    expect(await submit(committer, Buffer.alloc(60, 'a'))).toBe(1);
    disk.roomBytes = 0;
    await expect(submit(committer, Buffer.from('b'))).rejects.toBeInstanceOf(WalDiskFullError);
    expect(fatal).toEqual([]);
    expect(committer.diskFull?.bytes).toBe(FRAME_HEADER_BYTES + 1);
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    committer.resume();
    expect(await submit(committer, Buffer.from('c'))).toBe(2);
    await committer.drain();
    wal.close();
    expect(replay(dir).map((r) => r.text)).toEqual(['a'.repeat(60), 'c']);
  });

  test('a write that fails with EIO stays fatal', async () => {
    const disk = new LimitedDisk(Number.MAX_SAFE_INTEGER, 'EIO');
    const { wal, committer, fatal, full } = setup(disk);
    disk.roomBytes = 0;
    await expect(submit(committer, Buffer.from('a'))).rejects.toMatchObject({ code: 'EIO' });
    expect(fatal).toHaveLength(1);
    expect(full).toEqual([]);
    expect(committer.healthy).toBe(false);
    wal.close();
  });

  test('an fdatasync that fails with ENOSPC stays fatal', async () => {
    const disk = new LimitedDisk();
    const { wal, committer, fatal, full } = setup(disk);
    const enospc = Object.assign(new Error('ENOSPC: no space left on device, fdatasync'), {
      code: 'ENOSPC',
    });
    wal.sync = () => Promise.reject(enospc);
    await expect(submit(committer, Buffer.from('a'))).rejects.toBe(enospc);
    expect(fatal).toEqual([enospc]);
    expect(full).toEqual([]);
    expect(committer.healthy).toBe(false);
    wal.close();
  });
});

/** Submits `payload` as a request would (room admitted first); resolves with its seq. */
function submit(committer: GroupCommitter, payload: Uint8Array): Promise<number> {
  if (!committer.admit(1, payload.length)) return Promise.reject(new Error('not admitted'));
  const o = committer.submit(payload, 1, { events: 1, bytes: payload.length });
  return o.kind === 'queued' ? o.committed : Promise.reject(o.error);
}

/** Holds every sync of `wal` until the returned function is called. */
function holdSyncs(wal: WriteAheadLog): () => void {
  const sync = wal.sync.bind(wal);
  let open = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  wal.sync = () => sync().then(() => opened);
  return open;
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
