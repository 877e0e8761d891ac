// The SQLite store (`<dataDir>/tally.sqlite`): catalog of segments, log watermark, salts,
// tenant tombstones and erasures, and the accounts (users, projects, keys, invitations). WAL
// journal mode with synchronous=FULL, locked for one process; schema changes are numbered
// migrations applied in order at start, each in its own transaction.

import { Database } from 'bun:sqlite';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncPath, makeDirsDurably } from './durable-fs.ts';
import { migrations } from './migrations/index.ts';

/** How long a start waits for another process's lock on the data directory before refusing. */
const LOCK_WAIT_MS = 2000;

/**
 * tally.sqlite's mode: it holds the secrets that sign access tokens (whoever reads them can sign
 * an admin's), password and key hashes and sessions, so it is the owner's alone, as
 * bootstrap.json and the deduplication snapshot are. SQLite gives its -wal and -shm files the
 * database file's mode.
 */
const SQLITE_FILE_MODE = 0o600;

/** The data directory is in use by another process (its tally.sqlite is locked). */
export class DataDirInUseError extends Error {
  override name = 'DataDirInUseError';
}

/** tally.sqlite was written by a newer build: its schema is past this build's migrations. */
export class SchemaTooNewError extends Error {
  override name = 'SchemaTooNewError';
}

/**
 * Opens the store's SQLite database and takes it for this process alone: the connection holds
 * an exclusive lock until it closes (the kernel drops it if the process dies), so a second
 * Tally on the same data directory refuses to start instead of writing the same log.
 */
export function openSqlite(dataDir: string): Database {
  const file = path.join(dataDir, 'tally.sqlite');
  keepPrivate(file);
  const db = new Database(file, { create: true, strict: true });
  try {
    db.run(`PRAGMA busy_timeout = ${LOCK_WAIT_MS}`);
    db.run('PRAGMA journal_mode = WAL');
    db.run('PRAGMA locking_mode = EXCLUSIVE');
    db.run('BEGIN EXCLUSIVE');
    db.run('COMMIT');
  } catch (error) {
    db.close();
    if (String(error).includes('database is locked')) {
      throw new DataDirInUseError(
        `the data directory ${dataDir} is in use by another process (${file} is locked): ` +
          'stop the other Tally, or give this one its own DATA_DIR',
      );
    }
    throw error;
  }
  try {
    db.run('PRAGMA synchronous = FULL');
    db.run('PRAGMA foreign_keys = ON');
    migrate(db);
  } catch (error) {
    db.close(); // the lock goes with it, as above
    throw error;
  }
  return db;
}

/**
 * Makes tally.sqlite the owner's alone before SQLite opens it: a new one is created with
 * SQLITE_FILE_MODE (umask only takes bits away), and one an earlier build made readable by
 * others, with its -wal and -shm, is narrowed to it. An existing file is only chmod-ed, never
 * opened here: closing any descriptor of it would drop the POSIX locks this process's SQLite
 * holds on it (a second open of a data directory in use must still find it locked).
 */
function keepPrivate(file: string): void {
  try {
    fs.closeSync(fs.openSync(file, 'wx', SQLITE_FILE_MODE));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  for (const part of [file, `${file}-wal`, `${file}-shm`]) {
    try {
      const stat = fs.statSync(part);
      if (stat.isFile() && (stat.mode & 0o777) !== SQLITE_FILE_MODE) {
        fs.chmodSync(part, SQLITE_FILE_MODE);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

/** The mode of a data directory Tally creates (and of the missing parents it creates). */
export const DATA_DIR_MODE = 0o700;

/**
 * Makes the data directory and takes tally.sqlite for this process alone (DataDirInUseError if
 * another holds it), before anything else of the store is opened.
 */
export function lockDataDir(dataDir: string): Database {
  // Every entry of the data directory is made durable as it is created (the directory in its
  // parent; wal/, segments/ and staging/ where they are opened; tally.sqlite here): else a
  // power loss soon after a first start could take files with it that were declared safe.
  // A data directory Tally creates is the owner's alone (events, IP addresses when STORE_IP
  // is on, the accounts); one that exists keeps the mode its operator gave it.
  makeDirsDurably(dataDir, DATA_DIR_MODE);
  const sqlite = openSqlite(dataDir);
  try {
    fsyncPath(dataDir);
  } catch (error) {
    sqlite.close();
    throw error;
  }
  return sqlite;
}

/** Applies every migration newer than the stored user_version; returns the new version. */
export function migrate(db: Database): number {
  const current = (db.query('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (current > migrations.length) {
    throw new SchemaTooNewError(
      `tally.sqlite is at schema version ${current}, newer than this build knows ` +
        `(${migrations.length}); run a newer Tally`,
    );
  }
  for (let version = current + 1; version <= migrations.length; version++) {
    const migration = migrations[version - 1] as (db: Database) => void;
    db.transaction(() => {
      migration(db);
      db.run(`PRAGMA user_version = ${version}`);
    })();
  }
  return migrations.length;
}
