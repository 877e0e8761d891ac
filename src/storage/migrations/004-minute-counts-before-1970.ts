// Minute counts written before this version put an event before 1970 in the minute after its
// own (DuckDB's `//` rounds toward zero). Segments of those days are counted from their events
// again; a compaction or a later flush of the day writes correct counts.

import type { Database } from 'bun:sqlite';

export function migration004(db: Database): void {
  db.run("UPDATE segments SET has_minute_counts = 0 WHERE day < '1970-01-01'");
}
