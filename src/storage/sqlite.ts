// The SQLite store (`<dataDir>/tally.sqlite`): catalog of segments, log watermark, salts, and
// later users and keys. WAL journal mode with synchronous=FULL; schema changes are numbered
// migrations applied in order at start, each in its own transaction.

import { Database } from 'bun:sqlite';
import * as path from 'node:path';
import { migrations } from './migrations/index.ts';

export function openSqlite(dataDir: string): Database {
  const db = new Database(path.join(dataDir, 'tally.sqlite'), { create: true, strict: true });
  db.run('PRAGMA journal_mode = WAL');
  db.run('PRAGMA synchronous = FULL');
  db.run('PRAGMA foreign_keys = ON');
  db.run('PRAGMA busy_timeout = 5000');
  migrate(db);
  return db;
}

/** Applies every migration newer than the stored user_version; returns the new version. */
export function migrate(db: Database): number {
  const current = (db.query('PRAGMA user_version').get() as { user_version: number }).user_version;
  if (current > migrations.length) {
    throw new Error(
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
