// Erasures of one person's events (see storage/person-eraser.ts): which tenant, which id field
// and value, the log seq the erasure was accepted at (every record up to it is cut of the
// person's events), and its progress. Written before anything is erased, so a restart resumes it.

import type { Database } from 'bun:sqlite';

export function migration011(db: Database): void {
  db.run(`CREATE TABLE erasures (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    field TEXT NOT NULL CHECK (field IN ('user_id', 'anonymous_id', 'visitor_id')),
    value TEXT NOT NULL,
    through_seq INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
    reason TEXT,
    hot_events INTEGER NOT NULL DEFAULT 0,
    segment_events INTEGER NOT NULL DEFAULT 0,
    segments_rewritten INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
  ) STRICT`);
  db.run('CREATE INDEX erasures_of_tenant ON erasures (tenant, created_at)');
}
