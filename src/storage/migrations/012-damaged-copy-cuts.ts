// Tenant deletions whose cut from the copies of damaged log bytes is owed (see
// storage/damaged-cuts.ts): written in the transaction that decides the deletion, so that a
// crash before the copies are cut leaves it for the next start to do.

import type { Database } from 'bun:sqlite';

export function migration012(db: Database): void {
  db.run(`CREATE TABLE damaged_copy_cuts (
    tenant TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL,
    copies TEXT NOT NULL
  ) STRICT`);
}
