// Reads the (tenant, event_id, received_at) of segment events, for the dedup index's rebuild at
// start. The result is streamed chunk by chunk (DuckDB's vectors of 2,048 rows) and read column
// by column, received_at as a DOUBLE: no object and no BigInt per row. Materializing the rows
// as objects (getRowObjectsJS) took 4–7.7 s of a 10.5 s start for 1.97M keys on the benchmark
// VM; streaming the columns takes ~2–3 s of DuckDB work and conversion.
//
// A start that takes the index from its snapshot reads no ids, but still reads the footers of
// the same segments: one DuckDB cannot read (cut short, not Parquet) stops the start either way.
// Only columns every segment layout has are read (segment-format.ts), so segments of all
// layouts go in one read_parquet.

import * as path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { Catalog } from './catalog.ts';
import { sqlStringBody } from './duckdb.ts';
import { readSegments } from './segment-check.ts';

/** Told each key read: its tenant, event_id and received_at (epoch ms). */
export type SegmentKeyVisitor = (tenant: string, eventId: string, receivedAt: number) => void;

/** What the reads need of the store (EventStore has it). */
export interface SegmentsAt {
  instance: DuckDBInstance;
  segmentsDir: string;
  catalog: Catalog;
}

/** The quoted paths of the segments holding an event received at or after `sinceMs`. */
function filesSince(store: SegmentsAt, sinceMs: number): string[] {
  return store.catalog
    .segmentsReceivedSince(sinceMs)
    .map((s) => `'${sqlStringBody(path.join(store.segmentsDir, s.file))}'`);
}

/**
 * Calls `visit` for every segment event received at or after `sinceMs`; returns how many. A
 * file DuckDB cannot read is a DamagedStoreError (see segment-check.ts).
 */
export async function segmentKeysSince(
  store: SegmentsAt,
  sinceMs: number,
  visit: SegmentKeyVisitor,
): Promise<number> {
  const files = filesSince(store, sinceMs);
  if (files.length === 0) return 0;
  const sql = `SELECT tenant, event_id, epoch_ms(received_at)::DOUBLE AS received_at
     FROM read_parquet([${files.join(', ')}])
     WHERE received_at >= make_timestamptz($since::BIGINT)`;
  const since = BigInt(sinceMs) * 1000n;
  const c = await store.instance.connect();
  try {
    return await readSegments(async () => {
      const result = await c.stream(sql, { since });
      let read = 0;
      for (;;) {
        const chunk = await result.fetchChunk();
        if (chunk === null || chunk.rowCount === 0) return read;
        const tenants = chunk.getColumnValues(0) as string[];
        const ids = chunk.getColumnValues(1) as string[];
        const times = chunk.getColumnValues(2) as number[];
        for (let i = 0; i < tenants.length; i++) {
          visit(tenants[i] as string, ids[i] as string, times[i] as number);
        }
        read += tenants.length;
      }
    });
  } finally {
    c.closeSync();
  }
}

/**
 * Reads the footer of every segment holding an event received at or after `sinceMs`; one that
 * cannot be read is a DamagedStoreError. How many were read.
 */
export async function checkSegmentsSince(store: SegmentsAt, sinceMs: number): Promise<number> {
  const files = filesSince(store, sinceMs);
  if (files.length === 0) return 0;
  const c = await store.instance.connect();
  try {
    const sql = `SELECT count(*) AS n FROM parquet_file_metadata([${files.join(', ')}])`;
    await readSegments(() => c.runAndReadAll(sql));
    return files.length;
  } finally {
    c.closeSync();
  }
}
