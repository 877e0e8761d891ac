// The SQLite store (`<dataDir>/tally.sqlite`): catalog of segments, log watermark, salts,
// tenant tombstones and erasures, and the accounts (users, projects, keys, invitations). WAL
// journal mode with synchronous=FULL, locked for one process; schema changes are numbered
// migrations applied in order at start, each in its own transaction.

import { Database } from 'bun:sqlite';
import * as path from 'node:path';
import { fsyncPath, makeDirsDurably } from './durable-fs.ts';
import { migrations } from './migrations/index.ts';

/** How long a start waits for another process's lock on the data directory before refusing. */
const LOCK_WAIT_MS = 2000;

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
 * Makes the data directory and takes tally.sqlite for this process alone (DataDirInUseError if
 * another holds it), before anything else of the store is opened.
 */
export function lockDataDir(dataDir: string): Database {
  // Every entry of the data directory is made durable as it is created (the directory in its
  // parent; wal/, segments/ and staging/ where they are opened; tally.sqlite here): else a
  // power loss soon after a first start could take files with it that were declared safe.
  makeDirsDurably(dataDir);
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
