// Rewrites one segment without the events an erasure covers, as a compaction writes its merge:
// COPY to staging with its minute counts, fsync, rename into place, then swap the catalog entry
// for the new one in one transaction (with the erasure's progress) under the write lock, then
// retire the old files (removed once no snapshot that may read them is held). A crash before
// the swap leaves stray new files, after it stray old ones: both are removed at start. The swap
// is refused when the segment left the catalog meanwhile (a compaction merged it, its tenant
// was deleted): the new copy is removed and the caller looks for the segments to rewrite again.
//
// An event is covered when its field equals the value and its `seq` is at or below the
// erasure's: a row's seq is the label of the load or flush that wrote it, never below its own
// record's seq, and every segment flushed before the erasure was accepted holds labels at or
// below it; later flushes hold none of the covered events (the hot tier cut them), so a row of
// the person with a higher label is a later event, kept.

import * as path from 'node:path';
import type { DuckDBConnection } from '@duckdb/node-api';
import type { NewSegment, Segment } from './catalog.ts';
import type { CompactorDeps } from './compactor.ts';
import { sqlStringBody } from './duckdb.ts';
import type { ErasureMatch } from './erasure-log.ts';
import { minuteCountsFile, writeMinuteCounts } from './minute-counts.ts';
import { segmentFactsOf } from './segment-facts.ts';
import {
  publishSegments,
  removeQuietly,
  retireSegments,
  segmentPaths,
  segmentRelativePath,
} from './segment-files.ts';
import { columnsOfFormat, SEGMENT_FORMAT, segmentRowsSql } from './segment-format.ts';

/** What a rewrite needs: what a compaction does (it writes and swaps segments the same way). */
export type RewriterDeps = CompactorDeps;

/** A rewrite that committed: events it removed. */
interface Rewritten {
  events: number;
  /** Why the old files could not be removed yet (they stay retired; the start sweeps them). */
  filesPending: string | null;
  /** The old segment's files (the segment and its minute counts), retired. */
  replaced: string[];
}

/** The SQL condition of the rows `match` covers (bound: $value, $through). */
const coveredSql = (match: ErasureMatch) =>
  `coalesce("${match.field}" = $value AND seq <= $through, false)`;

const paramsOf = (match: ErasureMatch) => ({
  value: match.value,
  through: BigInt(match.throughSeq),
});

export class SegmentRewriter {
  constructor(private readonly deps: RewriterDeps) {}

  /** Runs `work` as a reader of the segments listed in it (their files stay meanwhile). */
  async reading<T>(work: () => Promise<T>): Promise<T> {
    const leave = this.deps.enter();
    try {
      return await work();
    } finally {
      leave();
    }
  }

  /** The tenant's segments holding an event `match` covers (call inside `reading`). */
  async affected(match: ErasureMatch): Promise<Segment[]> {
    const segments = this.deps.catalog.segmentsOf(match.tenant);
    if (segments.length === 0) return [];
    const byPath = new Map(segments.map((s) => [path.join(this.deps.segmentsDir, s.file), s]));
    const byFormat = new Map<number, Segment[]>();
    for (const s of segments) byFormat.set(s.format, [...(byFormat.get(s.format) ?? []), s]);
    const selects = [...byFormat].map(([format, list]) => {
      const files = list.map((s) => `'${sqlStringBody(path.join(this.deps.segmentsDir, s.file))}'`);
      return `SELECT DISTINCT filename FROM (SELECT ${columnsOfFormat(format)}, filename
        FROM read_parquet([${files.join(', ')}], filename = true)) WHERE ${coveredSql(match)}`;
    });
    const rows = await this.query(selects.join(' UNION '), paramsOf(match));
    return rows
      .map((r) => byPath.get(String(r.filename)))
      .filter((s): s is Segment => s !== undefined)
      .sort((a, b) => a.id - b.id);
  }

  /**
   * Rewrites `segment` without the events `match` covers, counting it with `onSwap` in the
   * catalog's transaction; null when the segment left the catalog first (nothing changed).
   * Call inside `reading`, with the segment listed there.
   */
  async rewrite(segment: Segment, match: ErasureMatch, onSwap: (events: number) => void) {
    const { segmentsDir, stagingDir, catalog, fault } = this.deps;
    const name = `erased-${crypto.randomUUID()}`;
    const file = segmentRelativePath(segment.tenant, segment.day, name);
    const staging = path.join(stagingDir, `${name}.parquet`);
    const stagingCounts = path.join(stagingDir, path.basename(minuteCountsFile(file)));
    const removeNew = () => {
      removeQuietly(staging, stagingCounts);
      removeQuietly(path.join(segmentsDir, file), path.join(segmentsDir, minuteCountsFile(file)));
    };
    let replacement: NewSegment | null;
    try {
      replacement = await this.writeKept(segment, match, { file, staging, stagingCounts });
    } catch (error) {
      removeNew(); // nothing of a failed rewrite stays (the erasure is retried at start)
      throw error;
    }
    const events = segment.rows - (replacement?.rows ?? 0);
    let committed = false;
    try {
      await this.deps.lock.write(() => {
        committed = catalog.replaceSegment(segment, replacement, () => onSwap(events));
        if (committed) fault('erase:after-catalog');
      });
    } finally {
      if (!committed) removeNew();
    }
    if (!committed) return null;
    const filesPending = retireSegments(this.deps.retire, segmentsDir, [segment]);
    fault('erase:after-retire');
    const replaced = segmentPaths(segmentsDir, segment.file);
    return { events, filesPending, replaced } satisfies Rewritten;
  }

  /** Writes and publishes the kept rows of `segment`; null when none is kept (no file). */
  private async writeKept(
    segment: Segment,
    match: ErasureMatch,
    where: { file: string; staging: string; stagingCounts: string },
  ): Promise<NewSegment | null> {
    const { segmentsDir, fault } = this.deps;
    const rows = segmentRowsSql([
      { path: path.join(segmentsDir, segment.file), format: segment.format },
    ]);
    const written = `read_parquet('${sqlStringBody(where.staging)}')`;
    const facts = await this.withConnection(async (c) => {
      await c.run(
        `COPY (SELECT * FROM (${rows}) WHERE NOT ${coveredSql(match)}
               ORDER BY "timestamp", event_id)
         TO '${sqlStringBody(where.staging)}' (FORMAT parquet, COMPRESSION zstd)`,
        paramsOf(match),
      );
      const found = await segmentFactsOf(c, written);
      if (found.rows > 0n) await writeMinuteCounts(c, written, {}, where.stagingCounts);
      return found;
    });
    if (facts.rows === 0n) {
      removeQuietly(where.staging);
      return null;
    }
    fault('erase:after-write');
    const [bytes] = (await publishSegments(segmentsDir, [
      { staging: where.staging, relative: where.file },
      { staging: where.stagingCounts, relative: minuteCountsFile(where.file) },
    ])) as [number];
    fault('erase:after-rename');
    return {
      tenant: segment.tenant,
      day: segment.day,
      file: where.file,
      rows: Number(facts.rows),
      bytes,
      minTs: Number(facts.min_ts),
      maxTs: Number(facts.max_ts),
      maxReceivedAt: Number(facts.max_received_at),
      hasMinuteCounts: true,
      format: SEGMENT_FORMAT,
    };
  }

  private async query(sql: string, params: Record<string, string | bigint>) {
    return this.withConnection(async (c) => {
      const reader = await c.runAndReadAll(sql, params);
      return reader.getRowObjects() as Record<string, unknown>[];
    });
  }

  private async withConnection<T>(work: (c: DuckDBConnection) => Promise<T>): Promise<T> {
    const c = await this.deps.instance.connect();
    try {
      return await work(c);
    } finally {
      c.closeSync();
    }
  }
}
