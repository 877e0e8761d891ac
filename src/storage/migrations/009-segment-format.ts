// The column layout each segment file was written in (see segment-format.ts). Every segment
// catalogued before this migration was written without `country`: format 1. Flushes and
// compactions from now on record the format they write.

import type { Database } from 'bun:sqlite';

export function migration009(db: Database): void {
  db.run('ALTER TABLE segments ADD COLUMN format INTEGER NOT NULL DEFAULT 1');
}
