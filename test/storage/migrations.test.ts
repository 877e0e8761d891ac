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

describe('migration 007', () => {
  test('invitations without an owner behind them go; the triggers then keep it so', () => {
    const db = new Database(':memory:', { strict: true });
    db.run('PRAGMA foreign_keys = ON');
    for (const migration of migrations.slice(0, 6)) migration(db);
    db.run('PRAGMA user_version = 6');
    const user = db.query(
      `INSERT INTO users (id, email, password_hash, created_at, updated_at)
       VALUES ($id, $id || '@example.com', 'x', 0, 0)`,
    );
    for (const id of ['ada', 'vic', 'out']) user.run({ id });
    db.run("INSERT INTO projects (id, name, created_at) VALUES ('acme', 'acme', 0)");
    const member = db.query(
      "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ('acme', ?, ?, 0)",
    );
    member.run('ada', 'owner');
    member.run('vic', 'viewer');
    const invitation = db.query(
      `INSERT INTO project_invitations
         (id, project_id, email, role, token_hash, invited_by, created_at, expires_at)
       VALUES ($id, 'acme', $id || '@example.com', 'owner', x'00', $by, 0, 1)`,
    );
    // By an owner; by a viewer (stepped down); by someone who left; by a deleted account.
    const made: [string, string | null][] = [
      ['iv_ada', 'ada'],
      ['iv_vic', 'vic'],
      ['iv_out', 'out'],
      ['iv_gone', null],
    ];
    for (const [id, by] of made) {
      invitation.run({ id, by });
    }
    expect(migrate(db)).toBe(migrations.length);
    const ids = () => db.query('SELECT id FROM project_invitations ORDER BY id').all();
    expect(ids()).toEqual([{ id: 'iv_ada' }]);
    db.run("UPDATE project_members SET role = 'viewer' WHERE user_id = 'ada'");
    expect(ids()).toEqual([]);
  });
});

describe('migration 008', () => {
  test('stored emails take their NFC form, unless another row already has it', () => {
    const db = new Database(':memory:', { strict: true });
    db.run('PRAGMA foreign_keys = ON');
    for (const migration of migrations.slice(0, 7)) migration(db);
    db.run('PRAGMA user_version = 7');
    const [nfc, nfd] = ['jos\u00e9@example.com', 'jose\u0301@example.com'];
    const [zoeNfc, zoeNfd] = ['zo\u00eb@example.com', 'zoe\u0308@example.com'];
    const user = db.query(
      `INSERT INTO users (id, email, password_hash, created_at, updated_at)
       VALUES (?, ?, 'x', 0, 0)`,
    );
    // José only in NFD; Zoë twice, in both forms (two accounts that cannot be merged).
    for (const [id, email] of [
      ['jose', nfd],
      ['zoe', zoeNfc],
      ['zoe2', zoeNfd],
    ]) {
      user.run(id as string, email as string);
    }
    db.run("INSERT INTO projects (id, name, created_at) VALUES ('acme', 'acme', 0)");
    db.run(
      "INSERT INTO project_members (project_id, user_id, role, created_at) VALUES ('acme', 'zoe', 'owner', 0)",
    );
    const invitation = db.query(
      `INSERT INTO project_invitations
         (id, project_id, email, role, token_hash, invited_by, created_at, expires_at)
       VALUES (?, 'acme', ?, 'viewer', x'00', 'zoe', 0, 1)`,
    );
    for (const [id, email] of [
      ['iv_a', nfd],
      ['iv_b', 'ana@example.com'],
      ['iv_c', 'ana\u0301@example.com'.normalize('NFC')],
      ['iv_d', 'ana\u0301@example.com'],
    ]) {
      invitation.run(id as string, email as string);
    }
    expect(migrate(db)).toBe(migrations.length);
    expect(db.query('SELECT id, email FROM users ORDER BY id').all()).toEqual([
      { id: 'jose', email: nfc },
      { id: 'zoe', email: zoeNfc },
      { id: 'zoe2', email: zoeNfd },
    ]);
    expect(db.query('SELECT id, email FROM project_invitations ORDER BY id').all()).toEqual([
      { id: 'iv_a', email: nfc },
      { id: 'iv_b', email: 'ana@example.com' },
      { id: 'iv_c', email: 'ana\u0301@example.com'.normalize('NFC') },
    ]);
  });
});

describe('migration 010', () => {
  test('projects follow the server default (null) until they set their own retention', () => {
    const db = new Database(':memory:', { strict: true });
    for (const migration of migrations.slice(0, 9)) migration(db);
    db.run('PRAGMA user_version = 9');
    db.run("INSERT INTO projects (id, name, created_at) VALUES ('acme', 'acme', 0)");
    expect(migrate(db)).toBe(migrations.length);
    const row = db.query("SELECT retention_days FROM projects WHERE id = 'acme'").get();
    expect(row).toEqual({ retention_days: null });
    db.run("UPDATE projects SET retention_days = 30 WHERE id = 'acme'");
    expect(() => db.run("UPDATE projects SET retention_days = -1 WHERE id = 'acme'")).toThrow(
      /CHECK constraint failed/,
    );
  });
});

describe('migration 013', () => {
  test('erasures ended owe the cut from the damaged log copies, pending ones not', () => {
    const db = new Database(':memory:', { strict: true });
    db.run('PRAGMA foreign_keys = ON');
    for (const migration of migrations.slice(0, 12)) migration(db);
    db.run('PRAGMA user_version = 12');
    const erasure = db.query(
      `INSERT INTO erasures (id, tenant, field, value, through_seq, status, created_at)
       VALUES (?, 'acme', 'user_id', 'u1', 1, ?, 0)`,
    );
    for (const status of ['done', 'failed', 'pending']) erasure.run(`er_${status}`, status);
    expect(migrate(db)).toBe(migrations.length);
    const owed = () => db.query('SELECT erasure_id FROM erasure_copy_cuts ORDER BY 1').all();
    expect(owed()).toEqual([{ erasure_id: 'er_done' }, { erasure_id: 'er_failed' }]);
    // A deleted erasure (its project deleted, or pruned) owes nothing any more.
    db.run("DELETE FROM erasures WHERE id = 'er_failed'");
    expect(owed()).toEqual([{ erasure_id: 'er_done' }]);
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
