// Segments catalog, the log watermark, and daily salts for visitor ids.

import type { Database } from 'bun:sqlite';

export function migration001(db: Database): void {
  db.run(`CREATE TABLE segments (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    day TEXT NOT NULL,
    file TEXT NOT NULL UNIQUE,
    rows INTEGER NOT NULL,
    bytes INTEGER NOT NULL,
    min_ts INTEGER NOT NULL,
    max_ts INTEGER NOT NULL,
    max_received_at INTEGER NOT NULL,
    created_at INTEGER NOT NULL
  )`);
  db.run('CREATE INDEX segments_by_tenant_day ON segments (tenant, day)');
  // Every log record with seq ≤ flushed_through_seq lives in segments; replay skips them.
  db.run('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
  db.run("INSERT INTO meta (key, value) VALUES ('flushed_through_seq', '0')");
  db.run('CREATE TABLE salts (day TEXT PRIMARY KEY, salt TEXT NOT NULL)');
}
