// The erasures table (migration 011): one row per erasure of a person's events, written before
// anything is erased and updated as segments are rewritten, in the catalog's transactions.

import type { Database } from 'bun:sqlite';
import { AppError, type ErasureField, erasureLimits } from '../core/index.ts';

export type ErasureStatus = 'pending' | 'done' | 'failed';

/** Which events one erasure removes: its tenant's with `field = value` in records ≤ throughSeq. */
export interface ErasureMatch {
  tenant: string;
  field: ErasureField;
  value: string;
  /** The log's last seq when the erasure was accepted. */
  throughSeq: number;
}

export interface Erasure extends ErasureMatch {
  id: string;
  status: ErasureStatus;
  /**
   * Why it failed, when it did; on a pending one, why its last step (deleting the log files
   * holding the person's records) has not held yet: it is tried again.
   */
  reason: string | null;
  /** Unflushed events removed from the hot tier when it was accepted. */
  hotEvents: number;
  /** Events removed from segments, and segments rewritten (or dropped, when emptied). */
  segmentEvents: number;
  segmentsRewritten: number;
  createdAt: number;
  finishedAt: number | null;
}

interface ErasureRow {
  id: string;
  tenant: string;
  field: ErasureField;
  value: string;
  through_seq: number;
  status: ErasureStatus;
  reason: string | null;
  hot_events: number;
  segment_events: number;
  segments_rewritten: number;
  created_at: number;
  finished_at: number | null;
}

const fromRow = (r: ErasureRow): Erasure => ({
  id: r.id,
  tenant: r.tenant,
  field: r.field,
  value: r.value,
  throughSeq: r.through_seq,
  status: r.status,
  reason: r.reason,
  hotEvents: r.hot_events,
  segmentEvents: r.segment_events,
  segmentsRewritten: r.segments_rewritten,
  createdAt: r.created_at,
  finishedAt: r.finished_at,
});

export class ErasureLog {
  constructor(
    private readonly db: Database,
    private readonly now: () => number,
  ) {}

  /**
   * Records a pending erasure, or throws `limit_reached` (nothing written) when its tenant has
   * `pendingMax` pending already. Done erasures of the tenant past its newest
   * erasuresListedMax are deleted with it, when no restart needs them (see pruneDone): an
   * erasure of nobody is done in a moment, and erasing in a loop must not grow the store.
   */
  create(id: string, match: ErasureMatch, pendingMax: number): Erasure {
    return this.db.transaction(() => {
      this.requirePendingRoom(match.tenant, pendingMax);
      this.db
        .query(
          `INSERT INTO erasures (id, tenant, field, value, through_seq, status, created_at)
           VALUES (?1, ?2, ?3, ?4, ?5, 'pending', ?6)`,
        )
        .run(id, match.tenant, match.field, match.value, match.throughSeq, this.now());
      this.pruneDone(match.tenant);
      return this.get(id) as Erasure;
    })();
  }

  /**
   * Deletes the done erasures of `tenant` past its newest erasuresListedMax (what the list
   * shows) whose cut-off a flush has passed: a restart replays only the log records above the
   * flushed seq (matchesAbove), so those no longer cut anything; pending and failed ones stay.
   * So does one whose cut from the damaged log copies is still owed (migration 013): its debt
   * goes with it (ON DELETE CASCADE), and the person's events would stay in the copies unsaid.
   */
  private pruneDone(tenant: string): void {
    this.db
      .query(
        `DELETE FROM erasures WHERE tenant = ?1 AND status = 'done'
           AND through_seq <= (SELECT CAST(value AS INTEGER) FROM meta
                               WHERE key = 'flushed_through_seq')
           AND id NOT IN (SELECT erasure_id FROM erasure_copy_cuts)
           AND id NOT IN (SELECT id FROM erasures WHERE tenant = ?1
                          ORDER BY created_at DESC, rowid DESC LIMIT ?2)`,
      )
      .run(tenant, erasureLimits.erasuresListedMax);
  }

  /** Throws `limit_reached` when `tenant` has `pendingMax` erasures pending already. */
  requirePendingRoom(tenant: string, pendingMax: number): void {
    const pending = this.db
      .query("SELECT count(*) AS n FROM erasures WHERE tenant = ?1 AND status = 'pending'")
      .get(tenant) as { n: number };
    if (pending.n >= pendingMax) {
      throw new AppError(
        'limit_reached',
        `${tenant} has ${pending.n} erasures pending (at most ${pendingMax}); ` +
          'wait for one to be done',
      );
    }
  }

  get(id: string): Erasure | null {
    const row = this.db.query('SELECT * FROM erasures WHERE id = ?1').get(id) as ErasureRow | null;
    return row === null ? null : fromRow(row);
  }

  /**
   * A tenant's erasures, newest first, at most `limit`. Ties of one millisecond go by rowid
   * (the order they were recorded in): ids are random.
   */
  listOf(tenant: string, limit: number): Erasure[] {
    const rows = this.db
      .query(
        'SELECT * FROM erasures WHERE tenant = ?1 ORDER BY created_at DESC, rowid DESC LIMIT ?2',
      )
      .all(tenant, limit) as ErasureRow[];
    return rows.map(fromRow);
  }

  /** Every pending erasure, oldest first (resumed at start). */
  pending(): Erasure[] {
    const rows = this.db
      .query("SELECT * FROM erasures WHERE status = 'pending' ORDER BY created_at, rowid")
      .all() as ErasureRow[];
    return rows.map(fromRow);
  }

  /** The erasures a replay of records above `flushedSeq` must apply (any status). */
  matchesAbove(flushedSeq: number): ErasureMatch[] {
    const rows = this.db
      .query('SELECT * FROM erasures WHERE through_seq > ?1 ORDER BY through_seq')
      .all(flushedSeq) as ErasureRow[];
    return rows.map(fromRow);
  }

  /** The highest seq an erasure was accepted at (0 when none). */
  highestSeq(): number {
    const row = this.db.query('SELECT max(through_seq) AS seq FROM erasures').get() as {
      seq: number | null;
    };
    return row.seq ?? 0;
  }

  /**
   * Counts unflushed events cut: at the acceptance, and from records at or below its seq that
   * the hot tier got after (their fdatasync still running as it was accepted).
   */
  addHotEvents(id: string, events: number): void {
    this.db.query('UPDATE erasures SET hot_events = hot_events + ?2 WHERE id = ?1').run(id, events);
  }

  /** Counts one rewritten segment (call inside the catalog transaction that swaps it). */
  addRewrite(id: string, events: number): void {
    this.db
      .query(
        `UPDATE erasures SET segment_events = segment_events + ?2,
           segments_rewritten = segments_rewritten + 1 WHERE id = ?1`,
      )
      .run(id, events);
  }

  /** Why a pending erasure is not done yet (its last step is tried again); null once retried. */
  setReason(id: string, reason: string | null): void {
    this.db.query('UPDATE erasures SET reason = ?2 WHERE id = ?1').run(id, reason);
  }

  finish(id: string, status: 'done' | 'failed', reason: string | null = null): void {
    this.db
      .query('UPDATE erasures SET status = ?2, reason = ?3, finished_at = ?4 WHERE id = ?1')
      .run(id, status, reason, this.now());
  }
}
