// Merges a tenant-day's small segments into one sorted file: write to staging, fsync, rename,
// then swap the catalog entries in one transaction under the write lock, then retire the old
// files (removed once no snapshot taken before the swap is held). A crash before the swap
// leaves a stray merged file; after it, stray old files. Both are removed at start, so every
// event is counted once. A merge reads as a snapshot does (its files stay while it runs), and
// its swap is refused when a source segment left the catalog meanwhile (its tenant was
// deleted): the merged copy is removed rather than bring the tenant's events back. Segments
// of older formats are read with NULL for the columns they lack (segment-format.ts): the
// merged file is in the current format.

import * as path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import type { Catalog, NewSegment, Segment } from './catalog.ts';
import { sqlStringBody } from './duckdb.ts';
import type { FaultHook } from './faults.ts';
import { minuteCountsFile, writeMinuteCounts } from './minute-counts.ts';
import type { ReadWriteLock } from './rw-lock.ts';
import {
  publishSegments,
  removeQuietly,
  segmentPaths,
  segmentRelativePath,
} from './segment-files.ts';
import { SEGMENT_FORMAT, segmentRowsSql } from './segment-format.ts';

export interface CompactorOptions {
  /** A tenant-day is compacted once it has this many small segments. */
  compactSegmentsMin: number;
  /** Segments at or above this size are left alone. */
  smallSegmentBytesMax: number;
  /** Events one merge takes at most (the smallest segments first). */
  compactRowsMax: number;
}

export interface CompactorDeps {
  instance: DuckDBInstance;
  catalog: Catalog;
  lock: ReadWriteLock;
  segmentsDir: string;
  stagingDir: string;
  fault: FaultHook;
  /** Removes replaced files once no snapshot that may read them is held; throws a failed one. */
  retire: (files: string[]) => void;
  /** Counts a reader of the segments listed now, as a snapshot; returns its release. */
  enter: () => () => void;
}

export class Compactor {
  private running: Promise<number> | null = null;

  constructor(
    private readonly deps: CompactorDeps,
    private readonly options: CompactorOptions,
  ) {}

  /** Compacts every eligible tenant-day (or joins the pass running); returns files written. */
  compact(): Promise<number> {
    if (this.running === null) {
      this.running = this.compactAll().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  /** Resolves once no compaction is running (whatever its outcome). */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  private async compactAll(): Promise<number> {
    const { catalog } = this.deps;
    const candidates = catalog.compactionCandidates(
      this.options.compactSegmentsMin,
      this.options.smallSegmentBytesMax,
    );
    let merged = 0;
    for (const { tenant, day } of candidates) {
      // Entered before the listing: a deletion retiring these files waits for this merge.
      const leave = this.deps.enter();
      try {
        const small = catalog
          .segmentsOf(tenant, day, day)
          .filter((s) => s.bytes < this.options.smallSegmentBytesMax);
        const batch = withinRows(small, this.options.compactRowsMax);
        if (batch.length < 2) continue;
        if (await this.merge(tenant, day, batch)) merged++;
      } finally {
        leave();
      }
    }
    return merged;
  }

  /** Merges `segments`; false when they were deleted meanwhile (nothing is left of it). */
  private async merge(tenant: string, day: string, segments: Segment[]): Promise<boolean> {
    const { segmentsDir, stagingDir } = this.deps;
    const name = `compacted-${crypto.randomUUID()}`;
    const file = segmentRelativePath(tenant, day, name);
    const staging = path.join(stagingDir, `${name}.parquet`);
    const stagingCounts = path.join(stagingDir, path.basename(minuteCountsFile(file)));
    const rows = segmentRowsSql(
      segments.map((s) => ({ path: path.join(segmentsDir, s.file), format: s.format })),
    );
    let bytes: number;
    try {
      const c = await this.deps.instance.connect();
      try {
        await c.run(
          `COPY (SELECT * FROM (${rows}) ORDER BY "timestamp", event_id)
           TO '${sqlStringBody(staging)}' (FORMAT parquet, COMPRESSION zstd)`,
        );
        await writeMinuteCounts(c, `read_parquet('${sqlStringBody(staging)}')`, {}, stagingCounts);
      } finally {
        c.closeSync();
      }
      this.deps.fault('compact:after-write');
      [bytes] = (await publishSegments(segmentsDir, [
        { staging, relative: file },
        { staging: stagingCounts, relative: minuteCountsFile(file) },
      ])) as [number];
    } catch (error) {
      // A failed merge leaves nothing behind (compaction runs again on its interval).
      removeQuietly(staging, stagingCounts);
      removeQuietly(...segmentPaths(segmentsDir, file));
      throw error;
    }
    this.deps.fault('compact:after-rename');
    const merged: NewSegment = {
      tenant,
      day,
      file,
      bytes,
      rows: segments.reduce((n, s) => n + s.rows, 0),
      // Reduced, not spread into Math.min/max: a merge may take many one-event segments.
      minTs: segments.reduce((m, s) => Math.min(m, s.minTs), Number.POSITIVE_INFINITY),
      maxTs: segments.reduce((m, s) => Math.max(m, s.maxTs), Number.NEGATIVE_INFINITY),
      maxReceivedAt: segments.reduce(
        (m, s) => Math.max(m, s.maxReceivedAt),
        Number.NEGATIVE_INFINITY,
      ),
      hasMinuteCounts: true,
      format: SEGMENT_FORMAT,
    };
    let committed = false;
    try {
      await this.deps.lock.write(() => {
        committed = this.deps.catalog.commitCompaction(segments, merged);
        if (committed) this.deps.fault('compact:after-catalog');
      });
    } catch (error) {
      // Not in the catalog, the merged file is a copy nobody reads: each retry would leave
      // one more until a restart. Once committed, it holds the events and must stay.
      if (!committed) {
        removeQuietly(...segmentPaths(segmentsDir, file));
      }
      throw error;
    }
    if (!committed) {
      removeQuietly(...segmentPaths(segmentsDir, file));
      return false;
    }
    this.deps.retire(segments.flatMap((s) => segmentPaths(segmentsDir, s.file)));
    return true;
  }
}

/**
 * The smallest segments whose events add up to at most `rowsMax`: a merged file that is still
 * small never keeps the newer small ones from being merged.
 */
function withinRows(segments: Segment[], rowsMax: number): Segment[] {
  const batch: Segment[] = [];
  let rows = 0;
  for (const s of [...segments].sort((a, b) => a.rows - b.rows || a.id - b.id)) {
    if (rows + s.rows > rowsMax) break;
    batch.push(s);
    rows += s.rows;
  }
  return batch;
}
