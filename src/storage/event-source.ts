// The contract between the stored events and the query engine: a consistent snapshot of one
// tenant's events (segments on disk ∪ acknowledged events not yet flushed), as a SQL relation.
// A snapshot sees every event exactly once however long it is held, while flushes and
// compactions go on (see SnapshotReaders).

import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { SegmentFile } from './segment-format.ts';

export interface TimeRange {
  /** Inclusive lower bound, UTC epoch ms. */
  fromMs?: number;
  /** Exclusive upper bound, UTC epoch ms. */
  toMs?: number;
  /**
   * Only segments holding an event received at or after this (UTC epoch ms), whatever their
   * days: a late (backfilled) event is in its own day's segment, found by its receipt. Rows
   * are not filtered by it; the query does that.
   */
  receivedSinceMs?: number;
}

export interface EventSnapshot {
  /**
   * A parenthesized relation with the columns of EVENT_COLUMNS holding only this tenant's
   * counted events (segments pruned by day when a range is given; rows are not filtered by
   * time, the query does that): every stored row but the uncounted names (core/uncounted.ts:
   * engagement beacons, PostHog's group updates). Use it as `FROM ${snapshot.from} AS e`;
   * every read that counts or lists events does.
   */
  from: string;
  /**
   * The same as `from` with every stored row, the uncounted ones too: for raw access
   * (export, one event by id) and the reads of the beacons themselves.
   */
  allFrom: string;
  /**
   * `from` of only the segments holding an event of `range` (with the unflushed events, all
   * of them): for a read that asks for narrower ranges one after another in one snapshot (a
   * newest-first page, query/page-windows.ts). Rows are not filtered by time.
   */
  within(range: TimeRange): string;
  /** `allFrom` of only the segments holding an event of `range`, as `within` is of `from`. */
  allWithin(range: TimeRange): string;
  /**
   * A parenthesized relation `(minute BIGINT, name, is_bot, events BIGINT)`: this tenant's
   * event counts per UTC minute (epoch minute), name and bot flag, over the same events as
   * `from` (several rows may share a key; sum them). Long-range counts read this.
   */
  minutesFrom: string;
  /**
   * The segment files `from` and `allFrom` read and their rows, from the catalog (before any
   * filter: uncounted names and events outside the range too), so a read knows how large it is
   * before it reads. The unflushed rows are not in it: the hot tier is bounded by the flush
   * thresholds. Undefined when the source does not know (a benchmark's floor, a test's fake).
   */
  segments?: { files: number; rows: number };
  /**
   * Named values `from` and `minutesFrom` refer to (`$tenant`, and `$hotThroughSeq`, which
   * keeps out unflushed rows another reader loads while this snapshot is held); pass them
   * with the query's own.
   */
  params: Record<string, DuckDBValue>;
  /**
   * The log seq this snapshot sees through: every committed record at or below it (in a
   * segment, or a hot row it loaded), none above it. Records reach the hot tier in seq order
   * (HotTier.add), so one committed after the snapshot, or not made readable yet, is above it.
   * The higher of the catalog's flushed seq and `$hotThroughSeq` (0 when no hot row is loaded).
   */
  visibleThroughSeq: number;
  /** A connection reserved for this snapshot's queries. */
  connection: DuckDBConnection;
  /**
   * The same events as Parquet files in a directory of their own, for another process to read
   * after this snapshot is released: links to the segment files (a compaction removing a
   * segment leaves its link readable) and the unflushed rows in a new file. The caller
   * removes them (`remove`).
   */
  exportFiles(): Promise<ExportedEvents>;
  /**
   * A new path, for a file this snapshot's connection may write (`COPY … TO`) and that may
   * outlive the snapshot: in the store's staging directory, which every start empties. Nothing
   * is created; the caller removes the file once done with it.
   */
  tempFile(extension: string): string;
  /** Must be called once the queries are done (in a finally). */
  release(): void;
}

export interface ExportedEvents {
  /**
   * This tenant's events: Parquet files (absolute paths), each with the column layout it was
   * written in; read them with segmentRowsSql.
   */
  files: SegmentFile[];
  /** The directory those files are in (a reader's only allowed directory). */
  dir: string;
  /**
   * Bytes free on that directory's disk past DISK_FREE_BYTES_MIN once the files were written
   * (0 when below): what a reader of them may spill there without starving ingest.
   */
  spareBytes: number;
  /** Removes the files and their directory. */
  remove(): void;
}

export interface EventSource {
  snapshot(tenant: string, range?: TimeRange): Promise<EventSnapshot>;
}
