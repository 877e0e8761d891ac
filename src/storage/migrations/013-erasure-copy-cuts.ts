// Erasures that ended before an erasure cut the copies of damaged log bytes a start kept
// (`wal/<file>.damaged-<offset>`, see wal-damaged.ts) left the person's events in them. Each
// erasure already ended (done or failed) owes that cut, made at the next start (see
// damaged-cuts.ts); the debt goes once no copy holds the person's events and the log's current
// file none of their records (a later start may keep a copy of it), and with its erasure (which
// is kept meanwhile). Pending ones cut the copies themselves when the start resumes them.

import type { Database } from 'bun:sqlite';

export function migration013(db: Database): void {
  db.run(`CREATE TABLE erasure_copy_cuts (
    erasure_id TEXT PRIMARY KEY REFERENCES erasures (id) ON DELETE CASCADE
  ) STRICT`);
  db.run(
    "INSERT INTO erasure_copy_cuts (erasure_id) SELECT id FROM erasures WHERE status <> 'pending'",
  );
}
