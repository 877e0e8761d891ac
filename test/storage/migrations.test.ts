// Schema migrations of tally.sqlite that change data, not only shape.

import { Database } from 'bun:sqlite';
import { describe, expect, test } from 'bun:test';
import { migrations } from '../../src/storage/migrations/index.ts';
import { migrate, SchemaTooNewError } from '../../src/storage/sqlite.ts';

describe('migration 004', () => {
  test('segments of days before 1970 are counted from their events again', () => {
    const db = new Database(':memory:', { strict: true });
    for (const migration of migrations.slice(0, 3)) migration(db);
    db.run('PRAGMA user_version = 3');
    const insert = db.query(
      `INSERT INTO segments (tenant, day, file, rows, bytes, min_ts, max_ts, max_received_at,
                             created_at, has_minute_counts)
       VALUES ('acme', $day, $file, 1, 1, 0, 0, 0, 0, 1)`,
    );
    for (const day of ['1969-12-31', '1970-01-01', '2026-11-25']) insert.run({ day, file: day });
    expect(migrate(db)).toBe(migrations.length);
    const rows = db.query('SELECT day, has_minute_counts AS counted FROM segments ORDER BY day');
    expect(rows.all()).toEqual([
      { day: '1969-12-31', counted: 0 },
      { day: '1970-01-01', counted: 1 },
      { day: '2026-11-25', counted: 1 },
    ]);
  });
});

describe('migrate', () => {
  test('a schema newer than this build is refused with its own error, changing nothing', () => {
    const db = new Database(':memory:', { strict: true });
    const newer = migrations.length + 1;
    db.run(`PRAGMA user_version = ${newer}`);
    expect(() => migrate(db)).toThrow(SchemaTooNewError);
    expect(() => migrate(db)).toThrow(`schema version ${newer}, newer than this build knows`);
    const version = db.query('PRAGMA user_version').get() as { user_version: number };
    expect(version.user_version).toBe(newer);
  });
});
