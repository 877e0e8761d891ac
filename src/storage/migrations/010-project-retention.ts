// A project's own retention: how many days of its events are kept (see engine/retention.ts).
// NULL, every existing project's value, follows the server's RETENTION_DAYS; 0 keeps them all.

import type { Database } from 'bun:sqlite';

export function migration010(db: Database): void {
  db.run('ALTER TABLE projects ADD COLUMN retention_days INTEGER CHECK (retention_days >= 0)');
}
