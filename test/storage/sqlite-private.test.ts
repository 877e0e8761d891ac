// tally.sqlite holds the secrets that sign every access token (an admin's too), the password
// and key hashes and the sessions: it and its WAL are the owner's alone (0600), as
// bootstrap.json and the deduplication snapshot are, whatever the umask, also for a store an
// earlier build left readable by others.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { migrations } from '../../src/storage/migrations/index.ts';
import { DATA_DIR_MODE, lockDataDir } from '../../src/storage/sqlite.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let dir: { dir: string; remove: () => void };
let umask: number;
beforeEach(() => {
  dir = makeTempDir('tally-sqlite-mode-');
  // The usual umask: files are made readable by everyone unless made otherwise.
  umask = process.umask(0o022);
});
afterEach(() => {
  process.umask(umask);
  dir.remove();
});

const modeOf = (file: string) => statSync(file).mode & 0o777;
const files = (dataDir: string) =>
  ['tally.sqlite', 'tally.sqlite-wal', 'tally.sqlite-shm']
    .map((name) => path.join(dataDir, name))
    .filter((file) => existsSync(file));

test('a new tally.sqlite and its WAL are readable by the owner alone', () => {
  const db = lockDataDir(dir.dir);
  try {
    db.run("INSERT INTO meta (key, value) VALUES ('x', 'y')");
    expect(files(dir.dir).length).toBeGreaterThanOrEqual(2); // the database and its WAL
    for (const file of files(dir.dir)) expect([file, modeOf(file)]).toEqual([file, 0o600]);
  } finally {
    db.close();
  }
});

// README "How it stores events": tally.sqlite is in WAL mode with synchronous=FULL, and its
// numbered migrations are all applied at open.
test('tally.sqlite is opened in WAL mode, synchronous=FULL, at the last migration', () => {
  const db = lockDataDir(dir.dir);
  try {
    const pragma = (name: string) => Object.values(db.query(`PRAGMA ${name}`).get() ?? {})[0];
    expect(pragma('journal_mode')).toBe('wal');
    expect(pragma('synchronous')).toBe(2); // FULL
    expect(pragma('user_version')).toBe(migrations.length);
  } finally {
    db.close();
  }
});

test('a store an earlier build left readable by others is made private at open', () => {
  const first = lockDataDir(dir.dir);
  first.close();
  for (const file of files(dir.dir)) chmodSync(file, 0o644);
  writeFileSync(path.join(dir.dir, 'tally.sqlite-wal'), '', { flag: 'a', mode: 0o644 });
  const db = lockDataDir(dir.dir);
  try {
    for (const file of files(dir.dir)) expect([file, modeOf(file)]).toEqual([file, 0o600]);
  } finally {
    db.close();
  }
});

test("a data directory Tally creates is the owner's alone; one that exists keeps its mode", () => {
  const created = path.join(dir.dir, 'new', 'data');
  const db = lockDataDir(created);
  db.close();
  expect(DATA_DIR_MODE).toBe(0o700);
  expect(modeOf(created)).toBe(0o700);
  expect(modeOf(path.dirname(created))).toBe(0o700);
  const existing = path.join(dir.dir, 'existing');
  mkdirSync(existing, { mode: 0o750 });
  chmodSync(existing, 0o750);
  lockDataDir(existing).close();
  expect(modeOf(existing)).toBe(0o750);
});
