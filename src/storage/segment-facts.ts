// What the catalog records of a segment file, read back from the file just written (a columnar
// read of a few columns): its events and the range of their times. A flush and an erasure's
// rewrite read them so; a compaction adds up its sources' instead.

import type { DuckDBConnection } from '@duckdb/node-api';

/** Row facts of a written file, times in epoch ms (null when it holds no row). */
export interface SegmentFacts {
  rows: bigint;
  min_ts: bigint | null;
  max_ts: bigint | null;
  max_received_at: bigint | null;
}

/** The facts of the events of `relation` (the `read_parquet` of a file just written). */
export async function segmentFactsOf(c: DuckDBConnection, relation: string): Promise<SegmentFacts> {
  const reader = await c.runAndReadAll(
    `SELECT count(*) AS rows, epoch_ms(min("timestamp")) AS min_ts,
            epoch_ms(max("timestamp")) AS max_ts,
            epoch_ms(max(received_at)) AS max_received_at FROM ${relation}`,
  );
  return reader.getRowObjects()[0] as unknown as SegmentFacts;
}
