// A store that fails to open lets go of its data directory: the SQLite lock (one server per
// directory) and the DuckDB instance are closed, so a retry in the same process succeeds.

import { Database } from 'bun:sqlite';
import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAY_MS, ManualClock } from '../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { DamagedStoreError, SchemaTooNewError } from '../../src/storage/index.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import { countEvents, engineOptions, T0 } from '../helpers/app.ts';
import { makeEvent } from '../helpers/memory-source.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let cleanup: (() => void) | undefined;
afterEach(() => cleanup?.());

test('a failed open releases the directory; the next open in the same process works', async () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const walPath = path.join(temp.dir, 'wal');
  fs.writeFileSync(walPath, 'not a directory'); // the log cannot be opened
  const options = engineOptions(temp.dir, new ManualClock(T0));
  await expect(openEngine(options)).rejects.toThrow();
  fs.rmSync(walPath);
  // Without the release this open finds tally.sqlite locked (DataDirInUseError).
  const engine = await openEngine(options);
  expect(engine.store.lastSeq).toBe(0);
  await engine.close();
});

test('a schema too new for this build releases the directory as well', async () => {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  await (await openEngine(options)).close();
  const file = path.join(temp.dir, 'tally.sqlite');
  const setVersion = (version: number) => {
    const db = new Database(file);
    db.run(`PRAGMA user_version = ${version}`);
    db.close();
  };
  setVersion(migrations.length + 1);
  await expect(openEngine(options)).rejects.toThrow(SchemaTooNewError);
  // Without the release this finds tally.sqlite locked by the failed open's connection.
  setVersion(migrations.length);
  await (await openEngine(options)).close();
});

/** A data directory holding one flushed segment (received at T0, within the dedup window). */
async function flushedDir(): Promise<{ options: EngineOptions; segment: string }> {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  const engine = await openEngine(options);
  expect(
    (await engine.ingestor.ingest([makeEvent({ event_id: 'e1', timestamp: T0, received_at: T0 })]))
      .kind,
  ).toBe('ok');
  await engine.store.flusher.flush();
  const [segment] = engine.store.catalog.allSegments();
  await engine.close();
  if (segment === undefined) throw new Error('the flush wrote no segment');
  return { options, segment: path.join(temp.dir, 'segments', segment.file) };
}

test('a segment file the catalog names but the disk lacks stops the open, naming it', async () => {
  const { options, segment } = await flushedDir();
  const kept = `${segment}.kept`;
  fs.renameSync(segment, kept);
  const open = openEngine(options);
  await expect(open).rejects.toThrow(DamagedStoreError);
  await expect(open).rejects.toThrow(`${path.basename(segment)} is missing`);
  fs.renameSync(kept, segment); // restored from a backup: the next open (same process) works
  const engine = await openEngine(options);
  expect(engine.dedup.size).toBe(1);
  await engine.close();
});

test('a damaged segment within the dedup window stops the open with a message', async () => {
  const { options, segment } = await flushedDir();
  const whole = fs.readFileSync(segment);
  fs.writeFileSync(segment, whole.subarray(0, whole.length - 100)); // cut short
  const open = openEngine(options);
  await expect(open).rejects.toThrow(DamagedStoreError);
  await expect(open).rejects.toThrow(/cannot be read/);
  fs.writeFileSync(segment, whole);
  // Without the release this open finds tally.sqlite locked (DataDirInUseError).
  await (await openEngine(options)).close();
});

/** Reads every event of tenant `acme` (the store's snapshot: its segments and hot events). */
async function readAcme(engine: Engine): Promise<number> {
  const snapshot = await engine.store.snapshot('acme');
  try {
    const sql = `SELECT count(*)::INTEGER AS n FROM ${snapshot.from} AS e`;
    const r = await snapshot.connection.runAndReadAll(sql, snapshot.params);
    return Number(r.getRowObjectsJS()[0]?.n);
  } finally {
    snapshot.release();
  }
}

// README Limits: a start checks the segments within the window by their footers, not row by
// row, and does not look at older ones: such damage is found by the first read of its day, and
// reads fail until the file is restored, with no restart (the damaged file's time kept too).
test('damage a start does not look for is found by the first read, until restored', async () => {
  const { options, segment } = await flushedDir();
  const whole = fs.readFileSync(segment);
  const older = { ...options, clock: new ManualClock(T0 + options.dedupWindowMs + 2 * DAY_MS) };
  const damages = [
    // Inside the file, its footer whole: within the window, the start reads only footers.
    {
      name: 'pages',
      options,
      bytes: Buffer.concat([whole.subarray(0, 4), Buffer.alloc(64, 0xff), whole.subarray(68)]),
    },
    // Cut short, past the window: a start reads no segment received before it.
    { name: 'older', options: older, bytes: whole.subarray(0, whole.length - 100) },
  ];
  const { mtime } = fs.statSync(segment);
  for (const damage of damages) {
    // Damaged by a tool that wrote it (a new modification time), then restored from a backup
    // with its own time kept (`cp -p`, `rsync -a`).
    fs.writeFileSync(segment, damage.bytes);
    fs.utimesSync(segment, mtime, new Date(mtime.getTime() + 60_000));
    const engine = await openEngine(damage.options);
    try {
      await expect(readAcme(engine)).rejects.toThrow(/Invalid|magic bytes/);
      await expect(readAcme(engine)).rejects.toThrow(/Invalid|magic bytes/);
      fs.writeFileSync(segment, whole);
      fs.utimesSync(segment, mtime, mtime);
      expect([damage.name, await readAcme(engine)]).toEqual([damage.name, 1]);
    } finally {
      await engine.close();
    }
  }
  // Damage that left the time as it was (a failing disk), restored with that time (`cp -p`):
  // the same path, size and modification time as the damaged bytes the first read met. With
  // DuckDB's external file cache on (its default), which knows a file by its path and that
  // time, the reads kept failing on the damaged bytes until a restart.
  fs.writeFileSync(segment, damages[0]?.bytes ?? '');
  fs.utimesSync(segment, mtime, mtime);
  const engine = await openEngine(options);
  try {
    await expect(readAcme(engine)).rejects.toThrow(/Invalid/);
    fs.writeFileSync(segment, whole);
    fs.utimesSync(segment, mtime, mtime);
    expect(await readAcme(engine)).toBe(1);
  } finally {
    await engine.close();
  }
});

/** A closed data directory whose log holds one event; its write-ahead log's directory. */
async function loggedDir(): Promise<{ options: EngineOptions; wal: string }> {
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  const engine = await openEngine(options);
  await engine.ingestor.ingest([makeEvent({ event_id: 'e1', timestamp: T0, received_at: T0 })]);
  await engine.close();
  return { options, wal: path.join(temp.dir, 'wal') };
}

test('a write-ahead log with a file missing or an older file damaged is a damaged store', async () => {
  // Each stops the start with its one line and exit 2 (start-errors.ts), as a damaged segment
  // does, instead of a stack trace and exit 1: the operator restores the log from a backup.
  const { options, wal } = await loggedDir();
  const [newest] = fs.readdirSync(wal).sort().reverse() as [string];
  const number = Number(newest.slice(0, 10));
  const stray = path.join(wal, `${String(number + 2).padStart(10, '0')}.wal`);
  fs.writeFileSync(stray, '');
  const gap = openEngine(options);
  await expect(gap).rejects.toThrow(DamagedStoreError);
  await expect(gap).rejects.toThrow(/is missing \(the log has/);
  fs.rmSync(stray);
  const next = path.join(wal, `${String(number + 1).padStart(10, '0')}.wal`);
  fs.writeFileSync(next, ''); // the newest now, so the one before is not a torn tail
  const whole = fs.readFileSync(path.join(wal, newest));
  fs.writeFileSync(path.join(wal, newest), whole.subarray(0, 3));
  const damaged = openEngine(options);
  await expect(damaged).rejects.toThrow(DamagedStoreError);
  await expect(damaged).rejects.toThrow(/is damaged at byte 0/);
  fs.writeFileSync(path.join(wal, newest), whole); // restored: the next open works
  const engine = await openEngine(options);
  expect(engine.dedup.size).toBe(1);
  await engine.close();
});

test('a release whose earlier deletion a power loss lost opens with every event once', async () => {
  // The file system kept the release's second unlink and lost its first: the log has a file
  // missing between two others, all of whose records were flushed.
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  const wal = path.join(temp.dir, 'wal');
  const engine = await openEngine(options);
  const ingest = (id: string) =>
    engine.ingestor.ingest([makeEvent({ event_id: id, timestamp: T0, received_at: T0 })]);
  for (const id of ['e1', 'e2']) {
    await ingest(id);
    await engine.store.committer.rotateLog();
  }
  await ingest('e3');
  const lost: string[] = [];
  const rm = spyOn(fs, 'rmSync').mockImplementation(((file: string) => {
    if (file.endsWith('.wal') && lost.length === 0) lost.push(path.basename(file));
    else fs.unlinkSync(file);
  }) as typeof fs.rmSync);
  try {
    await engine.store.flusher.flush(); // releases files 1 and 2 (records 1 and 2)
  } finally {
    rm.mockRestore();
  }
  expect(lost).toEqual(['0000000001.wal']);
  expect(fs.readdirSync(wal).sort()).toEqual(['0000000001.wal', '0000000003.wal']);
  await ingest('e4');
  await engine.close();

  const reopened = await openEngine(options);
  expect(await countEvents(reopened.store, 'acme')).toBe(4);
  expect(reopened.dedup.size).toBe(4);
  await reopened.ingestor.ingest([makeEvent({ event_id: 'e1', timestamp: T0, received_at: T0 })]);
  expect(await countEvents(reopened.store, 'acme')).toBe(4);
  await reopened.close();
  expect(fs.readdirSync(wal)).not.toContain('0000000001.wal');
});

test('a released gap with only an empty file after it: refused naming what to delete, then opens', async () => {
  // As an older Tally left it: a power loss kept the release's later unlinks and lost the first,
  // and the newest file is empty (nothing was written after the release).
  const temp = makeTempDir();
  cleanup = temp.remove;
  const options = engineOptions(temp.dir, new ManualClock(T0));
  const wal = path.join(temp.dir, 'wal');
  const engine = await openEngine(options);
  for (const id of ['e1', 'e2', 'e3']) {
    await engine.ingestor.ingest([makeEvent({ event_id: id, timestamp: T0, received_at: T0 })]);
    await engine.store.committer.rotateLog();
  }
  const lost: string[] = [];
  const rm = spyOn(fs, 'rmSync').mockImplementation(((file: string) => {
    if (file.endsWith('.wal') && lost.length === 0) lost.push(path.basename(file));
    else fs.unlinkSync(file);
  }) as typeof fs.rmSync);
  try {
    await engine.store.flusher.flush(); // releases files 1 to 3 (records 1 to 3)
  } finally {
    rm.mockRestore();
  }
  await engine.close();
  expect(fs.readdirSync(wal).sort()).toEqual(['0000000001.wal', '0000000004.wal']);
  expect(fs.statSync(path.join(wal, '0000000004.wal')).size).toBe(0);

  const refused = openEngine(options);
  await expect(refused).rejects.toThrow(DamagedStoreError);
  await expect(refused).rejects.toThrow(
    'write-ahead log file 0000000002.wal to 0000000003.wal are missing (the log has ' +
      '0000000001.wal, 0000000004.wal); 0000000001.wal holds no record above the seq flushed ' +
      'into segments (3) and 0000000004.wal holds no record at all',
  );
  await expect(refused).rejects.toThrow('delete 0000000001.wal (the rest of that release)');
  expect(fs.readdirSync(wal).sort()).toEqual(['0000000001.wal', '0000000004.wal']);

  fs.rmSync(path.join(wal, '0000000001.wal')); // as the refusal says
  const reopened = await openEngine(options);
  expect(await countEvents(reopened.store, 'acme')).toBe(3);
  await reopened.ingestor.ingest([makeEvent({ event_id: 'e4', timestamp: T0, received_at: T0 })]);
  expect(reopened.store.lastSeq).toBe(4); // numbered above the flushed records
  expect(await countEvents(reopened.store, 'acme')).toBe(4);
  await reopened.close();
});
