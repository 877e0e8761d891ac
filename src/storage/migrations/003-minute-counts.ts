// Segments written from now on carry a small companion file of event counts per UTC minute,
// name and bot flag (`<segment>.minutes.parquet`), so long-range counts read thousands of rows
// instead of millions. Segments from before have none and are counted from their events.

import type { Database } from 'bun:sqlite';

export function migration003(db: Database): void {
  db.run('ALTER TABLE segments ADD COLUMN has_minute_counts INTEGER NOT NULL DEFAULT 0');
}
