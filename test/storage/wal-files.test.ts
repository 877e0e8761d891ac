// The log's set of files across a power loss: a release whose unlinks a file system keeps out of
// order, and what opening then does with a file missing between two others.

import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as durable from '../../src/storage/durable-fs.ts';
import { type WalRecord, WriteAheadLog } from '../../src/storage/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

function tempLog(): string {
  const t = makeTempDir();
  cleanup = t.remove;
  return path.join(t.dir, 'wal');
}

function openLog(dir: string, flushedSeq = 0) {
  const records: WalRecord[] = [];
  const options = { dir, fileBytesMax: 1024, durability: 'fsync' as const };
  const wal = WriteAheadLog.open(options, (r) => records.push(r), flushedSeq, flushedSeq);
  const texts = () => records.map((r) => Buffer.from(r.payload).toString()[0]);
  return { wal, records, texts };
}

/** A closed log of one full file per text (seq 1, 2 …), then the current file, empty. */
async function filesOf(dir: string, texts: readonly string[]): Promise<string[]> {
  const { wal } = openLog(dir);
  for (const text of texts) {
    await wal.append([Buffer.alloc(1024, text)]);
    await wal.sync();
    wal.rotateIfFull(0);
  }
  wal.close();
  return fs.readdirSync(dir).sort();
}

test('a release makes each deletion durable before the next one', async () => {
  // A file system may persist a later unlink and lose an earlier one in a power loss (ext4 and
  // xfs keep no order between unsynced directory changes): the log would then have a file
  // missing between two others, which refuses the start.
  const dir = tempLog();
  await filesOf(dir, ['a', 'b', 'c']);
  const { wal } = openLog(dir);
  const steps: string[] = [];
  const rm = spyOn(fs, 'rmSync');
  const fsynced = spyOn(durable, 'fsyncPath');
  rm.mockImplementation(((file: string) => {
    steps.push(`rm ${path.basename(file)}`);
    fs.unlinkSync(file);
  }) as typeof fs.rmSync);
  fsynced.mockImplementation((target) => {
    steps.push(`fsync ${path.basename(target)}`);
  });
  try {
    expect(wal.releaseThrough(2)).toBe(2);
  } finally {
    rm.mockRestore();
    fsynced.mockRestore();
    wal.close();
  }
  expect(steps).toEqual(['rm 0000000001.wal', 'fsync wal', 'rm 0000000002.wal', 'fsync wal']);
});

test('a gap a power loss left in a release is passed over when it held only flushed records', async () => {
  const dir = tempLog();
  const names = await filesOf(dir, ['a', 'b', 'c']);
  expect(names).toEqual(['0000000001.wal', '0000000002.wal', '0000000003.wal', '0000000004.wal']);
  // Records 1 and 2 were flushed; the release deleted files 1 and 2, and only the second
  // deletion survived the power loss.
  fs.rmSync(path.join(dir, '0000000002.wal'));
  const reopened = openLog(dir, 2);
  // File 1 goes as the release meant it to; file 3's record (seq 3) and on are replayed.
  expect(reopened.texts()).toEqual(['c']);
  expect(reopened.wal.lastSeq).toBe(3);
  expect(await reopened.wal.append([Buffer.from('d')])).toBe(4);
  reopened.wal.close();
  expect(fs.readdirSync(dir).sort()).toEqual(['0000000003.wal', '0000000004.wal']);
  expect(openLog(dir, 2).texts()).toEqual(['c', 'd']);
});

test('a gap that may have held a record not flushed still refuses to open', async () => {
  const dir = tempLog();
  await filesOf(dir, ['a', 'b', 'c']);
  fs.rmSync(path.join(dir, '0000000002.wal'));
  const refusal =
    'write-ahead log file 0000000002.wal is missing (the log has 0000000001.wal and ' +
    '0000000003.wal): restore it from a backup';
  // Record 2 (the missing file's) is not flushed: the gap would lose it.
  expect(() => openLog(dir, 1)).toThrow(refusal);
  expect(fs.readdirSync(dir)).toHaveLength(3); // nothing deleted or cut
  // A file before the gap that is not whole is not one a release left: its records are unknown.
  fs.truncateSync(path.join(dir, '0000000001.wal'), 100);
  expect(() => openLog(dir, 2)).toThrow(refusal);
  expect(fs.readdirSync(dir)).toHaveLength(3);
});

test('a gap with no record after it refuses: nothing tells what the missing file held', async () => {
  const dir = tempLog();
  await filesOf(dir, ['a', 'b']);
  // Files 1 (a, flushed) and 3 (empty, the newest): file 2 may have held records above the
  // watermark (removed by hand), or only flushed ones (a release cut short).
  fs.rmSync(path.join(dir, '0000000002.wal'));
  expect(() => openLog(dir, 1)).toThrow('0000000002.wal is missing');
  expect(fs.readdirSync(dir)).toHaveLength(2);
});
