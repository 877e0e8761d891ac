// The log's set of files across a crash or a power loss: a release whose unlinks a file system
// keeps out of order, and what opening then does with a file missing between two others; a
// rotation that fails once it made its new file; a file too large to read whole.

import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as durable from '../../src/storage/durable-fs.ts';
import { type FileIo, nodeFileIo } from '../../src/storage/file-io.ts';
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
  // The refusal names the files, what is known of them, and what to do in either case.
  expect(() => openLog(dir, 1)).toThrow(
    'write-ahead log file 0000000002.wal is missing (the log has 0000000001.wal, ' +
      '0000000003.wal); 0000000001.wal holds no record above the seq flushed into segments (1) ' +
      'and 0000000003.wal holds no record at all, so nothing shows whether the missing files held records ' +
      'not flushed yet. If the gap is a release of flushed files that a power loss cut short on ' +
      'a Tally older than this one (which did not make each deletion durable before the next), ' +
      'delete 0000000001.wal (the rest of that release) and start again; if files were removed ' +
      'by hand, restore them from a backup (without them, the events they held past the ' +
      'flushed seq are lost)',
  );
  expect(fs.readdirSync(dir)).toHaveLength(2); // nothing deleted
  // Done as it says, the log opens, and numbering goes on above the flushed seq.
  fs.rmSync(path.join(dir, '0000000001.wal'));
  const records: WalRecord[] = [];
  const options = { dir, fileBytesMax: 1024, durability: 'fsync' as const };
  const wal = WriteAheadLog.open(options, (r) => records.push(r), 2, 1);
  expect(records).toEqual([]);
  expect(await wal.append([Buffer.from('c')])).toBe(3);
  wal.close();
});

test('a gap of several files with none after it holding a record: the refusal names them all', async () => {
  const dir = tempLog();
  await filesOf(dir, ['a', 'b', 'c', 'd']);
  for (const n of [2, 3, 4]) fs.rmSync(path.join(dir, `000000000${n}.wal`));
  expect(() => openLog(dir, 1)).toThrow(
    'write-ahead log file 0000000002.wal to 0000000004.wal are missing (the log has ' +
      '0000000001.wal, 0000000005.wal)',
  );
  // A file before the gap holding an unflushed record: the missing ones surely did too.
  expect(() => openLog(dir, 0)).toThrow(
    'write-ahead log file 0000000002.wal is missing (the log has 0000000001.wal and ' +
      '0000000005.wal): restore it from a backup',
  );
});

/** An errno error as node:fs throws it. */
function errno(code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: injected`), { code });
}

/** A crash in the middle of a write: a header promising 100 bytes, followed by only 10. */
function tearTail(file: string): void {
  const torn = Buffer.alloc(26);
  torn.writeUInt32LE(100, 0);
  fs.appendFileSync(file, torn);
}

const rotationFaults = {
  'the directory fsync after making the new file fails': (dir: string) => {
    const real = durable.fsyncPath;
    let failed = false;
    const spy = spyOn(durable, 'fsyncPath').mockImplementation((target) => {
      if (target === dir && !failed && fs.existsSync(path.join(dir, '0000000002.wal'))) {
        failed = true;
        throw errno('EMFILE');
      }
      real(target);
    });
    return { io: nodeFileIo, restore: () => spy.mockRestore() };
  },
  'opening the new file fails once it was made': () => {
    const io: FileIo = {
      ...nodeFileIo,
      openAppend: (file) => {
        const fd = nodeFileIo.openAppend(file);
        if (!file.endsWith('0000000002.wal')) return fd;
        fs.closeSync(fd);
        throw errno('EIO');
      },
    };
    return { io, restore: () => {} };
  },
};

test.each(Object.keys(rotationFaults))(
  'a failed rotation leaves no new file: a torn tail of the file appends go on in is cut (%s)',
  async (fault) => {
    const dir = tempLog();
    fs.mkdirSync(dir, { recursive: true });
    const { io, restore } = rotationFaults[fault as keyof typeof rotationFaults](dir);
    const wal = WriteAheadLog.open(
      { dir, fileBytesMax: 1 << 20, durability: 'fsync', io },
      () => {},
    );
    try {
      await wal.append([Buffer.from('a')]);
      await wal.sync();
      await wal.syncBeforeRotation(true);
      expect(() => wal.rotate()).toThrow('injected');
      // An erasure's or a flush's rotation fails quietly (tried again later): appends go on in
      // the current file, which must stay the newest.
      expect(fs.readdirSync(dir)).toEqual(['0000000001.wal']);
      await wal.append([Buffer.from('b')]);
      await wal.sync();
    } finally {
      restore();
      wal.close();
    }
    tearTail(path.join(dir, '0000000001.wal')); // a crash in the next append
    const reopened = openLog(dir);
    expect(reopened.texts()).toEqual(['a', 'b']);
    expect(reopened.wal.damage?.file).toEndWith('0000000001.wal');
    reopened.wal.close();
  },
);

test('a failed rotation whose new file cannot be removed stops the log', async () => {
  const dir = tempLog();
  fs.mkdirSync(dir, { recursive: true });
  const { io } = rotationFaults['opening the new file fails once it was made']();
  const wal = WriteAheadLog.open({ dir, fileBytesMax: 1 << 20, durability: 'fsync', io }, () => {});
  await wal.append([Buffer.from('a')]);
  await wal.sync();
  const rm = spyOn(fs, 'rmSync').mockImplementation(() => {
    throw errno('EACCES');
  });
  try {
    expect(() => wal.rotate()).toThrow('injected');
  } finally {
    rm.mockRestore();
  }
  // Its records would be appended before an empty newer file: a torn tail would refuse the start.
  await expect(wal.append([Buffer.from('b')])).rejects.toThrow(/could not be removed/);
  wal.close();
  expect(openLog(dir).texts()).toEqual(['a']); // the older file is whole, the newer one empty
});

test("a failed rotation's removal is made durable before the next append", async () => {
  const dir = tempLog();
  fs.mkdirSync(dir, { recursive: true });
  const { io } = rotationFaults['opening the new file fails once it was made']();
  const wal = WriteAheadLog.open({ dir, fileBytesMax: 1 << 20, durability: 'fsync', io }, () => {});
  await wal.append([Buffer.from('a')]);
  await wal.sync();
  const steps: string[] = [];
  const real = durable.fsyncPath;
  const fsynced = spyOn(durable, 'fsyncPath').mockImplementation((target) => {
    steps.push('fsync');
    if (steps.length === 1) throw errno('EMFILE'); // the removal's, retried
    real(target);
  });
  try {
    expect(() => wal.rotate()).toThrow('injected');
    expect(fs.readdirSync(dir)).toEqual(['0000000001.wal']);
    expect(steps).toEqual(['fsync']);
    await wal.append([Buffer.from('b')]);
    expect(steps).toEqual(['fsync', 'fsync']);
    await wal.append([Buffer.from('c')]);
    expect(steps).toEqual(['fsync', 'fsync']); // once
  } finally {
    fsynced.mockRestore();
    wal.close();
  }
});

test('opening reads a file in parts: one past the most a Buffer holds is replayed', async () => {
  // WAL_FILE_BYTES_MAX goes up to 4 GiB, the most a Buffer holds, and the last group takes a
  // full file past it: read whole, such a file failed every start (ENOMEM). Here the limit is
  // 1 MiB, as readFileSync would meet it.
  const dir = tempLog();
  const { wal } = openLog(dir);
  const big = Buffer.alloc(700 * 1024, 'x');
  for (const text of ['a', 'b', 'c']) {
    await wal.append([Buffer.from(text), big]);
    await wal.sync();
  }
  wal.close();
  const [file] = fs.readdirSync(dir);
  expect(fs.statSync(path.join(dir, file as string)).size).toBeGreaterThan(2 << 20);
  tearTail(path.join(dir, file as string));
  const real = fs.readFileSync;
  const read = spyOn(fs, 'readFileSync').mockImplementation(((
    target: fs.PathLike,
    ...rest: unknown[]
  ) => {
    if (String(target).endsWith('.wal') && fs.statSync(target).size > 1 << 20) {
      throw errno('ENOMEM');
    }
    return (real as (...args: unknown[]) => unknown)(target, ...rest);
  }) as typeof fs.readFileSync);
  try {
    const reopened = openLog(dir);
    expect(reopened.texts()).toEqual(['a', 'x', 'b', 'x', 'c', 'x']);
    expect(reopened.records.map((r) => r.payload.length)).toEqual([
      1,
      big.length,
      1,
      big.length,
      1,
      big.length,
    ]);
    expect(reopened.wal.damage?.bytes).toBe(26);
    reopened.wal.close();
  } finally {
    read.mockRestore();
  }
});

test("a release whose fsync failed has it made durable before the next file's deletion", async () => {
  const dir = tempLog();
  await filesOf(dir, ['a', 'b']);
  const { wal } = openLog(dir);
  const steps: string[] = [];
  const real = durable.fsyncPath;
  const fsynced = spyOn(durable, 'fsyncPath').mockImplementation((target) => {
    steps.push('fsync');
    if (steps.filter((s) => s === 'fsync').length === 1) throw errno('EIO');
    real(target);
  });
  const rm = spyOn(fs, 'rmSync').mockImplementation(((file: string) => {
    steps.push(`rm ${path.basename(file)}`);
    fs.unlinkSync(file);
  }) as typeof fs.rmSync);
  try {
    expect(() => wal.releaseThrough(1)).toThrow('EIO');
    expect(wal.releaseThrough(2)).toBe(1);
  } finally {
    fsynced.mockRestore();
    rm.mockRestore();
    wal.close();
  }
  expect(steps).toEqual(['rm 0000000001.wal', 'fsync', 'fsync', 'rm 0000000002.wal', 'fsync']);
});
