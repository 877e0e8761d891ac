// The catalog of Parquet segments in SQLite: which file holds which tenant-day, and the log
// watermark (every record with seq ≤ flushed_through_seq is in a segment). A flush records its
// segments and moves the watermark in one transaction; a compaction swaps old entries for the
// merged one in one transaction. A deleted tenant's tombstone (see tenant-eraser.ts) is
// written in the transaction that drops its segments, and checked by the flush's commit. An
// erasure swaps a segment for its rewrite in one transaction with its progress.

import type { Database } from 'bun:sqlite';

export interface Segment {
  id: number;
  tenant: string;
  /** UTC day, YYYY-MM-DD. */
  day: string;
  /** Path relative to the segments directory. */
  file: string;
  rows: number;
  bytes: number;
  minTs: number;
  maxTs: number;
  /** Latest received_at in the file: dedup keys are rebuilt only from recent segments. */
  maxReceivedAt: number;
  /** Whether `<file>.minutes.parquet` holds its counts per minute (see minute-counts.ts). */
  hasMinuteCounts: boolean;
  /** The column layout the file was written in (see segment-format.ts). */
  format: number;
}

export type NewSegment = Omit<Segment, 'id'>;

/** What names one segment of the catalog for a swap (see Catalog.commitCompaction). */
export type SegmentKey = Pick<Segment, 'id' | 'file'>;

interface SegmentRow {
  id: number;
  tenant: string;
  day: string;
  file: string;
  rows: number;
  bytes: number;
  min_ts: number;
  max_ts: number;
  max_received_at: number;
  has_minute_counts: number;
  format: number;
}

const fromRow = (r: SegmentRow): Segment => ({
  id: r.id,
  tenant: r.tenant,
  day: r.day,
  file: r.file,
  rows: r.rows,
  bytes: r.bytes,
  minTs: r.min_ts,
  maxTs: r.max_ts,
  maxReceivedAt: r.max_received_at,
  hasMinuteCounts: r.has_minute_counts === 1,
  format: r.format,
});

export class Catalog {
  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {}

  /**
   * A tenant's segments of days `fromDay`–`toDay` (all when absent) holding an event received
   * at or after `receivedSinceMs` (any when absent).
   */
  segmentsOf(
    tenant: string,
    fromDay?: string,
    toDay?: string,
    receivedSinceMs = Number.MIN_SAFE_INTEGER,
  ): Segment[] {
    const rows = this.db
      .query(
        `SELECT * FROM segments WHERE tenant = ?1 AND day >= ?2 AND day <= ?3
           AND max_received_at >= ?4 ORDER BY day, id`,
      )
      .all(tenant, fromDay ?? '0000-00-00', toDay ?? '9999-99-99', receivedSinceMs) as SegmentRow[];
    return rows.map(fromRow);
  }

  /** Segments holding any event received at or after `sinceMs`. */
  segmentsReceivedSince(sinceMs: number): Segment[] {
    const rows = this.db
      .query('SELECT * FROM segments WHERE max_received_at >= ?1 ORDER BY id')
      .all(sinceMs) as SegmentRow[];
    return rows.map(fromRow);
  }

  allSegments(): Segment[] {
    return (this.db.query('SELECT * FROM segments ORDER BY id').all() as SegmentRow[]).map(fromRow);
  }

  flushedThroughSeq(): number {
    const row = this.db.query("SELECT value FROM meta WHERE key = 'flushed_through_seq'").get() as {
      value: string;
    };
    return Number(row.value);
  }

  /**
   * Records a flush: its new segments and the new watermark, atomically. A segment of a tenant
   * deleted after the flush took its events (its tombstone's seq is at or past `lastSeqOf` its
   * tenant, the flush's last record of it) is left out: returned, for its files to be removed.
   * Tombstones the new watermark passes go: replay skips their records anyway.
   */
  commitFlush(
    segments: readonly NewSegment[],
    throughSeq: number,
    lastSeqOf: (tenant: string) => number = () => Number.POSITIVE_INFINITY,
  ): NewSegment[] {
    const dropped: NewSegment[] = [];
    this.db.transaction(() => {
      const dead = this.tombstones();
      for (const s of segments) {
        if ((dead.get(s.tenant) ?? 0) >= lastSeqOf(s.tenant)) dropped.push(s);
        else this.insert(s);
      }
      this.db
        .query("UPDATE meta SET value = ?1 WHERE key = 'flushed_through_seq'")
        .run(String(throughSeq));
      this.db.query('DELETE FROM tenant_tombstones WHERE through_seq <= ?1').run(throughSeq);
    })();
    return dropped;
  }

  /**
   * Replaces `removed` segments by `merged`, atomically; false (nothing changed) when one of
   * them is gone meanwhile: its tenant was deleted, or an erasure rewrote it, and the merged
   * copy must not bring those events back. A segment is known by id and file: ids are reused
   * (the highest one deleted may be the next one inserted), file names never.
   */
  commitCompaction(removed: readonly SegmentKey[], merged: NewSegment): boolean {
    return this.db.transaction(() => {
      if (!removed.every((s) => this.holds(s))) return false;
      const del = this.db.query('DELETE FROM segments WHERE id = ?1');
      for (const s of removed) del.run(s.id);
      this.insert(merged);
      return true;
    })();
  }

  /** Whether segment `s` is still in the catalog, the same file under the same id. */
  private holds(s: SegmentKey): boolean {
    return (
      this.db.query('SELECT 1 FROM segments WHERE id = ?1 AND file = ?2').get(s.id, s.file) !== null
    );
  }

  /**
   * Replaces segment `old` by `replacement` (none: the segment is dropped), running `alongside`
   * in the same transaction; false (nothing changed) when the segment is gone meanwhile (a
   * compaction merged it, or its tenant was deleted). An erasure's rewrite (person-eraser.ts).
   */
  replaceSegment(old: SegmentKey, replacement: NewSegment | null, alongside: () => void): boolean {
    return this.db.transaction(() => {
      if (!this.holds(old)) return false;
      this.db.query('DELETE FROM segments WHERE id = ?1').run(old.id);
      if (replacement !== null) this.insert(replacement);
      alongside();
      return true;
    })();
  }

  /**
   * Deletes a tenant: its tombstone (records up to `throughSeq` are deleted) and its segments'
   * entries, in one transaction (nested in the caller's, if any); returns the segments.
   */
  deleteTenant(tenant: string, throughSeq: number): Segment[] {
    return this.db.transaction(() => {
      this.db
        .query(
          `INSERT INTO tenant_tombstones (tenant, through_seq, deleted_at) VALUES (?1, ?2, ?3)
           ON CONFLICT (tenant) DO UPDATE SET through_seq = excluded.through_seq,
             deleted_at = excluded.deleted_at`,
        )
        .run(tenant, throughSeq, this.now());
      const segments = this.segmentsOf(tenant);
      this.db.query('DELETE FROM segments WHERE tenant = ?1').run(tenant);
      // Its erasures go too: the tombstone covers their records, and a new project may take
      // the id.
      this.db.query('DELETE FROM erasures WHERE tenant = ?1').run(tenant);
      return segments;
    })();
  }

  /** Every tenant with segments, with the oldest UTC day it has one of. */
  oldestDays(): Map<string, string> {
    const rows = this.db
      .query('SELECT tenant, min(day) AS day FROM segments GROUP BY tenant ORDER BY tenant')
      .all() as { tenant: string; day: string }[];
    return new Map(rows.map((r) => [r.tenant, r.day]));
  }

  /**
   * Drops a tenant's segments of the days before `beforeDay` (retention) in one transaction, so
   * that a snapshot lists all of them or none; returns them, oldest day first.
   */
  deleteDaysBefore(tenant: string, beforeDay: string): Segment[] {
    return this.db.transaction(() => {
      const rows = this.db
        .query('SELECT * FROM segments WHERE tenant = ?1 AND day < ?2 ORDER BY day, id')
        .all(tenant, beforeDay) as SegmentRow[];
      this.db.query('DELETE FROM segments WHERE tenant = ?1 AND day < ?2').run(tenant, beforeDay);
      return rows.map(fromRow);
    })();
  }

  /** Deleted tenants whose log records may still be replayed: tenant → seq deleted through. */
  tombstones(): Map<string, number> {
    const rows = this.db.query('SELECT tenant, through_seq FROM tenant_tombstones').all() as {
      tenant: string;
      through_seq: number;
    }[];
    return new Map(rows.map((r) => [r.tenant, r.through_seq]));
  }

  /** Every tombstone as it is stored, by tenant (for the store's mark, see store-mark.ts). */
  tombstoneRows(): { tenant: string; throughSeq: number; deletedAt: number }[] {
    return this.db
      .query(
        `SELECT tenant, through_seq AS throughSeq, deleted_at AS deletedAt
         FROM tenant_tombstones ORDER BY tenant`,
      )
      .all() as { tenant: string; throughSeq: number; deletedAt: number }[];
  }

  /** Tenant-days holding at least `countMin` segments each smaller than `bytesMax`. */
  compactionCandidates(countMin: number, bytesMax: number): { tenant: string; day: string }[] {
    return this.db
      .query(
        `SELECT tenant, day FROM segments WHERE bytes < ?1
         GROUP BY tenant, day HAVING count(*) >= ?2 ORDER BY min(created_at)`,
      )
      .all(bytesMax, countMin) as { tenant: string; day: string }[];
  }

  loadSalt(day: string): string | null {
    const row = this.db.query('SELECT salt FROM salts WHERE day = ?1').get(day) as {
      salt: string;
    } | null;
    return row?.salt ?? null;
  }

  /** Stores a day's salt and forgets salts older than `keepFromDay` (as Plausible does). */
  saveSalt(day: string, salt: string, keepFromDay: string): void {
    this.db.transaction(() => {
      this.db.query('INSERT OR IGNORE INTO salts (day, salt) VALUES (?1, ?2)').run(day, salt);
      this.db.query('DELETE FROM salts WHERE day < ?1').run(keepFromDay);
    })();
  }

  /**
   * The secret `name` of `month` (`YYYY-MM`), drawn by `draw` the first time it is asked and
   * kept in `meta` across restarts; the secrets of `name` of other months before
   * `keepFromMonth` are forgotten.
   */
  monthSecret(name: string, month: string, keepFromMonth: string, draw: () => string): string {
    const prefix = `secret:${name}:`;
    return this.db.transaction(() => {
      this.db
        .query('INSERT OR IGNORE INTO meta (key, value) VALUES (?1, ?2)')
        .run(prefix + month, draw());
      this.db
        .query('DELETE FROM meta WHERE key >= ?1 AND key < ?2 AND key != ?3')
        .run(prefix, prefix + keepFromMonth, prefix + month);
      const row = this.db.query('SELECT value FROM meta WHERE key = ?1').get(prefix + month) as {
        value: string;
      };
      return row.value;
    })();
  }

  private insert(s: NewSegment): void {
    this.db
      .query(
        `INSERT INTO segments (tenant, day, file, rows, bytes, min_ts, max_ts, max_received_at,
           has_minute_counts, format, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)`,
      )
      .run(
        s.tenant,
        s.day,
        s.file,
        s.rows,
        s.bytes,
        s.minTs,
        s.maxTs,
        s.maxReceivedAt,
        s.hasMinuteCounts ? 1 : 0,
        s.format,
        this.now(),
      );
  }
}
