// A read of several statements over a snapshot of many small segment files reads them once:
// its range's events (the columns it reads) are copied into one Parquet file of the store's
// staging directory, and each statement reads that file. DuckDB's Parquet reader pays per file
// and scan (a bare count(*) over 1,826 day files took 294 ms, over one file of the same rows
// 7 ms), binding a list of 1,826 paths 50–85 ms each time a statement names it, and a
// statement over 1,826 row groups of 1,000 events ran 2–5× slower than over one file of the
// same rows: /stats runs four statements, some naming the files twice, so five years of small
// days took 2.8× the same read over one file. A temporary table of the events was no faster:
// DuckDB's own table keeps strings without their Parquet dictionaries, and the statements over
// it ran 2–4× slower than over a Parquet file (bench/README.md, Long-range reads). Only up to
// queryLimits.eventsOnceRowsMax rows (the catalog knows them before the read): above it each
// statement reads the segments, as a big tenant's reads are bound by their rows, not their
// files, and a copy would only add a write of them; and only over eventsOnceFilesMin files or
// more: a day's or a week's few files cost little, and a copy of them would be a disk write at
// every read of a dashboard's "today".

import * as fs from 'node:fs';
import { readRoomError } from '../core/index.ts';
import type { EventSnapshot, TimeRange } from '../storage/index.ts';
import { countedRowsOf, sqlStringBody } from '../storage/index.ts';
import { filterConditions, whereOf } from './filters.ts';
import { queryLimits } from './limits.ts';
import { readingInstead, readRows } from './read.ts';
import { SqlParams } from './sql-params.ts';

export interface EventsOnce {
  /** The snapshot to run the read's statements on: reading the copy, or `snapshot` itself. */
  snapshot: EventSnapshot;
  /** Removes the copy (nothing when none was made); never throws. */
  remove: () => void;
}

/** Which of a snapshot's events a read needs, and which of their columns. */
export interface EventsNeeded {
  /** Every event the statements read is in it (a visit read's is its reach, visitRangeOf). */
  range: TimeRange;
  /** Whether any statement reads bots (the filters' includeBots). */
  includeBots: boolean | undefined;
  /** Every column the statements read (unquoted names of EVENT_COLUMNS). */
  columns: readonly string[];
}

/** When a read copies its events once (queryLimits' eventsOnceRowsMax, eventsOnceFilesMin). */
export interface EventsOnceBounds {
  rowsMax: number;
  filesMin: number;
}

export const EVENTS_ONCE_BOUNDS: EventsOnceBounds = {
  rowsMax: queryLimits.eventsOnceRowsMax,
  filesMin: queryLimits.eventsOnceFilesMin,
};

/**
 * `snapshot` with the rows of its `allFrom` (uncounted names too) a read needs copied once
 * into a Parquet file of its own, when its segments are at least `bounds.filesMin` files
 * holding at most `bounds.rowsMax` rows; else `snapshot` as it is. A statement reading an
 * event or column `needed` leaves out fails or differs: test/query/stats-once.test.ts runs
 * stats both ways. The file is removed on failure; else the caller removes it (`remove`, in a
 * finally).
 */
export async function eventsOnce(
  snapshot: EventSnapshot,
  needed: EventsNeeded,
  bounds: EventsOnceBounds = EVENTS_ONCE_BOUNDS,
): Promise<EventsOnce> {
  const { segments } = snapshot;
  if (
    segments === undefined ||
    segments.rows > bounds.rowsMax ||
    segments.files < bounds.filesMin
  ) {
    return { snapshot, remove: () => undefined };
  }
  const file = snapshot.tempFile('parquet');
  const remove = () => fs.rmSync(file, { force: true });
  const params = new SqlParams();
  const { range, includeBots } = needed;
  const kept = filterConditions({ includeBots, fromMs: range.fromMs, toMs: range.toMs }, params);
  const columns = [...new Set(needed.columns)].map((name) => `e."${name}"`).join(', ');
  // Each row meets one of the two: the join only tells DuckDB the rows need not keep the
  // files' order, so it writes them on every thread (2–2.5× faster over 1,826 small files)
  // where preserve_insertion_order has it keep that order (the configuration is locked: no
  // connection may turn it off). Uncompressed (dictionaries and run lengths still): written
  // faster, and read once or four times.
  const sql = `COPY (
      SELECT ${columns} FROM ${snapshot.allFrom} AS e
      JOIN (VALUES (false), (true)) AS unordered(bot) ON unordered.bot = coalesce(e.is_bot, false)
      ${whereOf(kept)}
    ) TO '${sqlStringBody(file)}' (FORMAT parquet, COMPRESSION uncompressed)`;
  try {
    await readRows(snapshot, sql, params);
  } catch (error) {
    remove();
    throw readRoomError(
      error,
      'a long read copies its events there first; retry later or read a shorter range',
    );
  }
  const copy = `(SELECT * FROM read_parquet('${sqlStringBody(file)}'))`;
  return {
    snapshot: readingInstead(snapshot, { from: countedRowsOf(copy), allFrom: copy }),
    remove,
  };
}
