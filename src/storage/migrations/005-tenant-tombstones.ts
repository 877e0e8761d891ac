// Deleted tenants. A deletion writes the tenant's tombstone with the log seq it was decided at
// (every record of the tenant up to it is deleted) in the transaction that drops its segments
// from the catalog: replay skips those records, and a flush that wrote them commits nothing of
// them. A tombstone goes once the watermark passes its seq (replay skips those records anyway).

import type { Database } from 'bun:sqlite';

export function migration005(db: Database): void {
  db.run(`CREATE TABLE tenant_tombstones (
    tenant TEXT PRIMARY KEY,
    through_seq INTEGER NOT NULL,
    deleted_at INTEGER NOT NULL
  ) STRICT`);
}
