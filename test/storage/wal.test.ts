import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type Durability,
  WalFileDeletedError,
  type WalRecord,
  WriteAheadLog,
} from '../../src/storage/index.ts';
import { logIo } from '../../src/storage/log-io.ts';
import {
  decodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_PAYLOAD_BYTES_MAX,
} from '../../src/storage/wal-frame.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const MiB = 1024 * 1024;
let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function openLog(dir: string, fileBytesMax = 64 * MiB, durability: Durability = 'fsync') {
  const records: WalRecord[] = [];
  const wal = WriteAheadLog.open({ dir, fileBytesMax, durability }, (r) =>
    records.push({ seq: r.seq, payload: Uint8Array.from(r.payload) }),
  );
  return { wal, records, texts: () => records.map((r) => Buffer.from(r.payload).toString()) };
}

function tempLog() {
  const t = makeTempDir();
  cleanup = t.remove;
  return path.join(t.dir, 'wal');
}

describe('WriteAheadLog', () => {
  test('replays appended records in order after reopening', async () => {
    const dir = tempLog();
    const first = openLog(dir);
    expect(await first.wal.append([Buffer.from('a'), Buffer.from('b')])).toBe(2);
    await first.wal.sync();
    expect(await first.wal.append([Buffer.from('c')])).toBe(3);
    await first.wal.sync();
    first.wal.close();

    const second = openLog(dir);
    expect(second.texts()).toEqual(['a', 'b', 'c']);
    expect(second.records.map((r) => r.seq)).toEqual([1, 2, 3]);
    expect(await second.wal.append([Buffer.from('d')])).toBe(4);
    second.wal.close();
  });

  test('opening syncs the records it replays: a crash may have left them in the page cache', async () => {
    // Written by a process that crashed before their group's fdatasync: replayed, their ids
    // are duplicates now, and a request of duplicates only is answered without a sync of its
    // own (GroupCommitter.barrier), so they must be durable once the log is open.
    const dir = tempLog();
    const first = openLog(dir);
    await first.wal.append([Buffer.from('written, never synced')]);
    first.wal.close();
    const newest = fs.realpathSync(path.join(dir, '0000000001.wal'));
    const synced: string[] = [];
    const recorded = <F extends (fd: number) => void>(real: F) =>
      ((fd: number) => {
        synced.push(fs.readlinkSync(`/proc/self/fd/${fd}`));
        real(fd);
      }) as F;
    const { fsyncSync, fdatasyncSync } = fs; // the real ones, before the spies take their place
    const spies = [
      spyOn(fs, 'fsyncSync').mockImplementation(recorded(fsyncSync)),
      spyOn(fs, 'fdatasyncSync').mockImplementation(recorded(fdatasyncSync)),
    ];
    try {
      const second = openLog(dir);
      expect(second.texts()).toEqual(['written, never synced']);
      expect(synced).toContain(newest);
      second.wal.close();
      synced.length = 0;
      // DURABILITY=os acknowledges before any sync: a start leaves it so.
      openLog(dir, 64 * MiB, 'os').wal.close();
      expect(synced).not.toContain(newest);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
  });

  test('numbering goes on above the floor when the files left hold no record', async () => {
    const dir = tempLog();
    const first = openLog(dir);
    expect(await first.wal.append([Buffer.from('a'), Buffer.from('b'), Buffer.from('c')])).toBe(3);
    first.wal.close();
    // Records 1..3 were flushed and their file released; the next file was created and a crash
    // came before its first write landed.
    for (const name of fs.readdirSync(dir)) fs.rmSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, '0000000002.wal'), '');
    const records: WalRecord[] = [];
    const wal = WriteAheadLog.open(
      { dir, fileBytesMax: 64 * MiB, durability: 'fsync' },
      (r) => records.push(r),
      3,
    );
    expect(records).toEqual([]);
    expect(wal.lastSeq).toBe(3);
    expect(await wal.append([Buffer.from('d')])).toBe(4);
    wal.close();
  });

  test('truncates a torn tail of the newest file and keeps what came before', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir);
    await wal.append([Buffer.from('whole')]);
    await wal.sync();
    wal.close();
    const file = path.join(dir, fs.readdirSync(dir)[0] as string);
    const sizeBefore = fs.statSync(file).size;
    // A crash mid-write: a header promising 100 bytes, followed by only 10.
    const torn = Buffer.alloc(26);
    torn.writeUInt32LE(100, 0);
    fs.appendFileSync(file, torn);

    const reopened = openLog(dir);
    expect(reopened.texts()).toEqual(['whole']);
    expect(fs.statSync(file).size).toBe(sizeBefore);
    await reopened.wal.append([Buffer.from('next')]);
    await reopened.wal.sync();
    reopened.wal.close();
    expect(openLog(dir).texts()).toEqual(['whole', 'next']);
  });

  test.each(['fsync', 'os'] as const)(
    'a rotation asked for syncs the file first (%s): a cut torn tail must not come back',
    async (durability) => {
      const dir = tempLog();
      const { wal } = openLog(dir, 64 * MiB, durability);
      await wal.append([Buffer.from('whole')]);
      await wal.sync();
      const synced = spyOn(logIo, 'fdatasync');
      try {
        await wal.syncBeforeRotation(true);
        expect(synced).toHaveBeenCalledTimes(1);
        await wal.syncBeforeRotation(); // not full: a group's sync is enough
        expect(synced).toHaveBeenCalledTimes(1);
      } finally {
        synced.mockRestore();
        wal.close();
      }
    },
  );

  test('a flipped bit ends the log at that record (checksum)', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir);
    await wal.append([Buffer.from('one'), Buffer.from('two')]);
    await wal.sync();
    wal.close();
    const file = path.join(dir, fs.readdirSync(dir)[0] as string);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 1;
    fs.writeFileSync(file, bytes);
    expect(openLog(dir).texts()).toEqual(['one']);
  });

  test('a frame whose length is past the frame limit is damage, however much follows', () => {
    const header = (length: number) => {
      const h = Buffer.alloc(FRAME_HEADER_BYTES);
      h.writeUInt32LE(length, 0);
      return h;
    };
    expect(decodeFrame(header(FRAME_PAYLOAD_BYTES_MAX + 1), 0)).toEqual({
      kind: 'torn',
      reason: 'impossible length',
    });
    // At the limit it is a frame whose payload has not arrived (yet), a torn tail as any.
    expect(decodeFrame(header(FRAME_PAYLOAD_BYTES_MAX), 0)).toEqual({
      kind: 'torn',
      reason: 'short payload',
    });
  });

  test('a torn tail is cut without keeping a copy, and reported', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir);
    await wal.append([Buffer.from('whole')]);
    wal.close();
    const file = path.join(dir, fs.readdirSync(dir)[0] as string);
    const torn = Buffer.alloc(26);
    torn.writeUInt32LE(100, 0);
    fs.appendFileSync(file, torn);
    const reopened = openLog(dir);
    expect(reopened.wal.damage).toMatchObject({ bytes: 26, framesAfter: 0, savedAs: null });
    expect(fs.readdirSync(dir)).toHaveLength(1);
    reopened.wal.close();
    expect(openLog(dir).wal.damage).toBeNull();
  });

  test('damage followed by valid records keeps the cut bytes in a file of their own', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir);
    for (const text of ['one', 'two', 'three', 'four', 'five']) {
      await wal.append([Buffer.from(text)]);
      await wal.sync();
    }
    wal.close();
    const file = path.join(dir, fs.readdirSync(dir)[0] as string);
    const bytes = fs.readFileSync(file);
    const second = 16 + 3; // the second record's frame starts after the first's
    bytes[second + 16] = (bytes[second + 16] as number) ^ 1; // its payload: 'two' → 'uwo'
    fs.writeFileSync(file, bytes);

    const reopened = openLog(dir);
    expect(reopened.texts()).toEqual(['one']);
    const damage = reopened.wal.damage;
    expect(damage).toMatchObject({ offset: second, reason: 'checksum mismatch', framesAfter: 3 });
    // The three acknowledged records after the damage are not lost: their bytes are kept.
    expect(fs.readFileSync(damage?.savedAs as string)).toEqual(bytes.subarray(second));
    expect(fs.statSync(file).size).toBe(second);
    expect(await reopened.wal.append([Buffer.from('next')])).toBe(2);
    reopened.wal.close();
  });

  test('damage at the same offset again keeps both copies of the cut bytes', async () => {
    const dir = tempLog();
    const file = path.join(dir, '0000000001.wal');
    const second = 16 + 3; // the second record's frame starts after the first's
    const damageSecond = () => {
      const bytes = fs.readFileSync(file);
      bytes[second + 16] = (bytes[second + 16] as number) ^ 1; // its payload's first byte
      fs.writeFileSync(file, bytes);
      return bytes.subarray(second);
    };
    const first = openLog(dir).wal;
    for (const text of ['one', 'two', 'three', 'four']) {
      await first.append([Buffer.from(text)]);
      await first.sync();
    }
    first.close();
    const cutFirst = damageSecond();
    const again = openLog(dir);
    const firstSaved = again.wal.damage?.savedAs as string;
    for (const text of ['TWO', 'THREE', 'FOUR']) {
      await again.wal.append([Buffer.from(text)]);
      await again.wal.sync();
    }
    again.wal.close();
    const cutAgain = damageSecond(); // a bad sector at the same place, say
    const third = openLog(dir);
    const secondSaved = third.wal.damage?.savedAs as string;
    third.wal.close();
    expect(third.texts()).toEqual(['one']);
    // The first copy (records acknowledged before the first cut) is still there as it was.
    expect(secondSaved).not.toBe(firstSaved);
    expect(fs.readFileSync(firstSaved)).toEqual(cutFirst);
    expect(fs.readFileSync(secondSaved)).toEqual(cutAgain);
  });

  test('damage in a file that is not the newest refuses to open', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir, 1 * MiB);
    await wal.append([Buffer.alloc(MiB, 1)]);
    await wal.sync();
    wal.rotateIfFull(0);
    await wal.append([Buffer.from('later')]);
    await wal.sync();
    wal.close();
    const oldest = path.join(dir, fs.readdirSync(dir).sort()[0] as string);
    fs.truncateSync(oldest, 100);
    expect(() => openLog(dir)).toThrow(/damaged/);
  });

  test('a file missing between two others refuses to open (its records are not skipped)', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir, 1024);
    for (const text of ['a', 'b', 'c']) {
      await wal.append([Buffer.alloc(1024, text)]);
      await wal.sync();
      wal.rotateIfFull(0);
    }
    wal.close();
    const names = fs.readdirSync(dir).sort();
    expect(names).toEqual(['0000000001.wal', '0000000002.wal', '0000000003.wal', '0000000004.wal']);
    fs.rmSync(path.join(dir, '0000000002.wal'));
    expect(() => openLog(dir)).toThrow(
      'write-ahead log file 0000000002.wal is missing (the log has 0000000001.wal and ' +
        '0000000003.wal): restore it from a backup',
    );
    // Released files go from the oldest on: a log starting later is whole.
    fs.rmSync(path.join(dir, '0000000001.wal'));
    expect(openLog(dir).texts()).toEqual(['c'.repeat(1024)]);
  });

  test('a sync after the current file was deleted fails, in either durability', async () => {
    for (const durability of ['fsync', 'os'] as const) {
      const dir = tempLog();
      const { wal } = openLog(dir, 64 * MiB, durability);
      await wal.append([Buffer.from('kept')]);
      await wal.sync();
      expect(wal.unlinkedFile()).toBeNull();
      // `rm -rf $DATA_DIR/*` under the running process: the open file lives on, unnamed.
      fs.rmSync(dir, { recursive: true });
      await wal.append([Buffer.from('lost')]);
      const sync = wal.sync();
      await expect(sync).rejects.toBeInstanceOf(WalFileDeletedError);
      await expect(sync).rejects.toThrow('wal/0000000001.wal was deleted while in use');
      expect(wal.unlinkedFile()).toBe('wal/0000000001.wal');
      wal.close();
      cleanup?.();
    }
  });

  test('rotates full files and releases those wholly at or below a sequence', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir, 1 * MiB);
    for (let i = 0; i < 3; i++) {
      await wal.append([Buffer.alloc(MiB, i)]);
      await wal.sync();
      wal.rotateIfFull(0);
    }
    expect(wal.fileCount).toBe(4);
    expect(wal.releaseThrough(2)).toBe(2);
    expect(wal.fileCount).toBe(2);
    // The current file is never released, even when every record is below the sequence.
    expect(wal.releaseThrough(100)).toBe(1);
    expect(wal.fileCount).toBe(1);
    await wal.append([Buffer.from('x')]);
    await wal.sync();
    wal.close();
    const reopened = openLog(dir);
    expect(reopened.records.map((r) => r.seq)).toEqual([4]);
    expect(reopened.wal.lastSeq).toBe(4);
  });

  test('tells which file still holds records at or below a seq, once the ones before are gone', async () => {
    const dir = tempLog();
    const { wal } = openLog(dir);
    await wal.append([Buffer.from('a'), Buffer.from('b')]); // seqs 1, 2
    await wal.sync();
    expect(wal.holdsThrough(2)).toBe(true);
    expect(wal.fileHoldingThrough(1)).toBe('0000000001.wal');
    await wal.syncBeforeRotation(true);
    wal.rotate();
    await wal.append([Buffer.from('c')]); // seq 3, in the second file
    await wal.sync();
    expect(wal.fileHoldingThrough(2)).toBe('0000000001.wal');
    expect(wal.releaseThrough(2)).toBe(1);
    // The file before the current one is gone: the current one holds nothing at or below 2
    // (an erasure through seq 2 must not close it again, nor wait for it).
    expect(wal.holdsThrough(2)).toBe(false);
    expect(wal.fileHoldingThrough(2)).toBeNull();
    expect(wal.holdsThrough(3)).toBe(true);
    expect(wal.fileHoldingThrough(3)).toBe('0000000002.wal');
    wal.close();
    const reopened = openLog(dir); // the same, from the records read at open
    expect(reopened.wal.holdsThrough(2)).toBe(false);
    expect(reopened.wal.fileHoldingThrough(2)).toBeNull();
    expect(reopened.wal.fileHoldingThrough(3)).toBe('0000000002.wal');
    reopened.wal.close();
  });

  test('a file opened empty holds nothing at or below the seq its numbering goes on above', async () => {
    // Every file released before a restart (or none yet): the seq floor (flushed, tombstones,
    // erasures) is what the next record goes above; an erasure through it must not wait for
    // this file, nor close it (with no room for a new file, it would stay pending for nothing).
    for (const made of [false, true]) {
      const dir = tempLog();
      if (made) {
        fs.mkdirSync(dir, { recursive: true });
        fs.writeFileSync(path.join(dir, '0000000007.wal'), '');
      }
      const options = { dir, fileBytesMax: 64 * MiB, durability: 'fsync' as const };
      const wal = WriteAheadLog.open(options, () => {}, 10, 10);
      await wal.append([Buffer.from('a')]); // seq 11
      await wal.sync();
      expect(wal.lastSeq).toBe(11);
      expect(wal.holdsThrough(10)).toBe(false);
      expect(wal.fileHoldingThrough(10)).toBeNull();
      expect(wal.holdsThrough(11)).toBe(true);
      wal.close();
      cleanup?.();
    }
  });
});
