// What a snapshot of one tenant reads: its events and minute counts as SQL relations over its
// segments (pruned by day) and the hot rows loaded when it was taken, and the same events as
// Parquet files of their own (EventSnapshot.exportFiles). The store (event-store.ts) takes the
// snapshot; this builds what it reads.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import { EPOCH_MS_MAX, EPOCH_MS_MIN, utcDay } from '../core/index.ts';
import type { Catalog, Segment } from './catalog.ts';
import { HOT_TABLE, sqlStringBody } from './duckdb.ts';
import { EVENT_COLUMN_LIST } from './event-columns.ts';
import type { ExportedEvents, TimeRange } from './event-source.ts';
import { minuteCountsFile, minuteCountsRelation } from './minute-counts.ts';
import { linkOrCopy } from './segment-files.ts';
import { SEGMENT_FORMAT, type SegmentFile, segmentRowsSql } from './segment-format.ts';

/** The values a snapshot's relations refer to (EventSnapshot.params); a type, to be a Record. */
export type SnapshotParams = {
  tenant: string;
  /** Hot rows above this seq were loaded after the snapshot was taken: it does not see them. */
  hotThroughSeq: bigint;
};

/** A snapshot's relations, and the segment files they read. */
export interface SnapshotRelations {
  allFrom: string;
  /** `allFrom` of only the segments holding an event of `range` (EventSnapshot.within). */
  allWithin(range: TimeRange): string;
  minutesFrom: string;
  segmentFiles: SegmentFile[];
  /** How many those files are, and their rows as the catalog counts them (EventSnapshot's). */
  segments: { files: number; rows: number };
  /** The catalog's flushed seq as the segments were listed: every record at or below it. */
  flushedThroughSeq: number;
}

/** A snapshot's unflushed rows: its tenant's, loaded by the time it was taken. */
const HOT_ROWS = `FROM ${HOT_TABLE} WHERE tenant = $tenant AND seq <= $hotThroughSeq`;

/** A tenant's events and minute counts as SQL: its segments (pruned by day) ∪ hot rows. */
export function snapshotRelations(
  catalog: Catalog,
  segmentsDir: string,
  tenant: string,
  range: TimeRange,
): SnapshotRelations {
  // Past the years 0000–9999 a day has no YYYY-MM-DD name (utcDay gives ±YYYYYY-…, which
  // sorts wrong): such an end of the range is no bound on the days.
  const fromDay =
    range.fromMs === undefined || range.fromMs < EPOCH_MS_MIN ? undefined : utcDay(range.fromMs);
  const toDay =
    range.toMs === undefined || range.toMs > EPOCH_MS_MAX ? undefined : utcDay(range.toMs - 1);
  const segments = catalog.segmentsOf(tenant, fromDay, toDay, range.receivedSinceMs);
  const quoted = (f: string) => `'${sqlStringBody(path.join(segmentsDir, f))}'`;
  const filesOf = (files: string[]) => `read_parquet([${files.map(quoted).join(', ')}])`;
  const hot = HOT_ROWS;
  const fileOf = (s: Segment): SegmentFile => ({
    path: path.join(segmentsDir, s.file),
    format: s.format,
  });
  const segmentFiles = segments.map(fileOf);
  const eventsOf = (files: SegmentFile[]) =>
    files.length === 0
      ? `(SELECT ${EVENT_COLUMN_LIST} ${hot})`
      : `(${segmentRowsSql(files)} UNION ALL SELECT ${EVENT_COLUMN_LIST} ${hot})`;
  const allFrom = eventsOf(segmentFiles);
  const allWithin = (within: TimeRange) =>
    eventsOf(segments.filter((s) => holdsSome(s, within)).map(fileOf));
  const counted = segments.filter((s) => s.hasMinuteCounts).map((s) => s.file);
  const uncounted = segments.filter((s) => !s.hasMinuteCounts).map((s) => s.file);
  const raw = [`SELECT "timestamp", name, is_bot ${hot}`];
  if (uncounted.length > 0) raw.push(`SELECT "timestamp", name, is_bot FROM ${filesOf(uncounted)}`);
  const minutesFrom = minuteCountsRelation(
    counted.map((f) => quoted(minuteCountsFile(f))),
    raw,
  );
  const flushedThroughSeq = catalog.flushedThroughSeq();
  const sizes = { files: segments.length, rows: segments.reduce((sum, s) => sum + s.rows, 0) };
  return { allFrom, allWithin, minutesFrom, segmentFiles, segments: sizes, flushedThroughSeq };
}

/**
 * Whether `segment` holds an event of `range`: its first and last events' instants are whole
 * milliseconds (events are stored in milliseconds), as the catalog keeps them.
 */
function holdsSome(segment: Segment, range: TimeRange): boolean {
  const fromOk = range.fromMs === undefined || segment.maxTs >= range.fromMs;
  const toOk = range.toMs === undefined || segment.minTs < range.toMs;
  return fromOk && toOk;
}

/**
 * A snapshot's events as files of their own, in `stagingDir` (EventSnapshot.exportFiles);
 * `spareBytes` tells the disk's room past DISK_FREE_BYTES_MIN once they are written.
 */
export async function exportSnapshotFiles(
  conn: DuckDBConnection,
  params: SnapshotParams,
  segmentFiles: readonly SegmentFile[],
  stagingDir: string,
  spareBytes: () => number,
): Promise<ExportedEvents> {
  const dir = path.join(stagingDir, `export-${crypto.randomUUID()}`);
  fs.mkdirSync(dir);
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  try {
    const files = segmentFiles.map((file, i): SegmentFile => {
      const link = path.join(dir, `${i}.parquet`);
      linkOrCopy(file.path, link);
      return { path: link, format: file.format };
    });
    const hotFile = path.join(dir, 'hot.parquet');
    await conn.run(
      `COPY (SELECT ${EVENT_COLUMN_LIST} ${HOT_ROWS})
       TO '${sqlStringBody(hotFile)}' (FORMAT parquet)`,
      params,
    );
    const all = [...files, { path: hotFile, format: SEGMENT_FORMAT }];
    return { files: all, dir, spareBytes: spareBytes(), remove };
  } catch (error) {
    remove();
    throw error;
  }
}
