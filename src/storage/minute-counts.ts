// Counts of events per UTC minute, name and bot flag, kept beside each segment as
// `<segment>.minutes.parquet`: a 30-day count series reads ~40k rows per name instead of every
// event. Written by the flusher and the compactor from the same rows as the segment itself.

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import { floorDivSql, sqlStringBody } from './duckdb.ts';

const MINUTE_MS = 60_000;

/** The companion file of a segment file (both relative to the segments directory). */
export function minuteCountsFile(segmentFile: string): string {
  return segmentFile.replace(/\.parquet$/, '.minutes.parquet');
}

/** `minute, name, is_bot, events` of the events in `relation` (which has those columns). */
export function minuteCountsOf(relation: string): string {
  const minute = floorDivSql('epoch_ms("timestamp")', MINUTE_MS);
  return `SELECT ${minute} AS minute, name, is_bot, count(*) AS events
    FROM ${relation} GROUP BY ALL`;
}

/** Writes the minute counts of `relation` (bound with `params`) to a staging Parquet file. */
export async function writeMinuteCounts(
  c: DuckDBConnection,
  relation: string,
  params: Record<string, DuckDBValue>,
  stagingFile: string,
): Promise<void> {
  await c.run(
    `COPY (${minuteCountsOf(relation)} ORDER BY minute, name, is_bot)
     TO '${sqlStringBody(stagingFile)}' (FORMAT parquet, COMPRESSION zstd)`,
    params,
  );
}

/**
 * The relation `(minute, name, is_bot, events)` of a snapshot: the companion files where they
 * exist (`countFiles`, quoted), plus counts computed from `rawSelects` (SELECTs of
 * `"timestamp", name, is_bot`: segments without companions, and the hot rows).
 */
export function minuteCountsRelation(countFiles: string[], rawSelects: string[]): string {
  const parts = [`(${minuteCountsOf(`(${rawSelects.join(' UNION ALL ')})`)})`];
  if (countFiles.length > 0) {
    parts.unshift(
      `(SELECT minute, name, is_bot, events FROM read_parquet([${countFiles.join(', ')}]))`,
    );
  }
  return `(${parts.join(' UNION ALL ')})`;
}
