// A tenant's deletion and the copies of damaged log bytes a start kept (wal-damaged.ts): the
// deletion owes a cut of the tenant's records from them. The debt is written in the SQLite
// transaction that decides the deletion (every deletion's, a copy there or not: a start after a
// stop before the tenant's log file was closed may keep one holding its records), and paid
// (deleted) once a cut leaves no record of the tenant nor its name in any copy and the log's
// current file holds none of its records (no later start can keep a copy of them then). A crash
// before that, a cut that failed (an I/O error), a log file not closed yet, or the tenant's name
// in a copy's damage (bytes that are no record, so nothing can be cut from them) leaves it
// owed: each start cuts again and says what is left (nothing of a log file not closed yet: it
// is closed once full, or by the first flush after a start), until the operator has recovered
// that copy by hand and deleted it.
//
// Each start also pays what erasures that ended before erasures cut the copies owe (migration
// 013: a data directory an older Tally wrote): the person's events are cut from every copy as an
// erasure's step 3 cuts them, and the debt goes once no copy holds them readable or their id in
// its damage, and the log's current file holds no record at or below the erasure's seq (a
// failed erasure, or a Tally older still, left it open with the person's records: a later start
// may keep a copy of them); until then each start cuts again and says what is left.

import type { Database } from 'bun:sqlite';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErasureMatch } from './erasure-log.ts';
import type { FaultHook } from './faults.ts';
import type { WriteAheadLog } from './wal.ts';
import { DamagedCopies, unreadableCopiesMessage } from './wal-damaged.ts';

/** A deletion's cut: `tenant`'s records, as DamagedCut of kind 'tenant' takes them. */
export interface OwedCut {
  tenant: string;
  throughSeq: number;
  /** The copies there were when the deletion was decided (less those gone since a start). */
  copies: readonly string[];
}

/** A cut still owed after a start's try, and why: a deletion's, or an erasure's (its id). */
export interface CutLeft {
  tenant: string;
  erasure?: string;
  reason: string;
}

export class DamagedCopyCuts {
  /** The copies in the log's directory (an erasure cuts them too, one cut at a time). */
  readonly copies: DamagedCopies;

  constructor(
    private readonly db: Database,
    walDir: string,
    fault: FaultHook,
    /** The log: whether its current file holds a record at or below a seq. */
    private readonly log: Pick<WriteAheadLog, 'holdsThrough'>,
  ) {
    this.copies = new DamagedCopies(walDir, fault);
  }

  /** The cut a deletion of `tenant` decided at `throughSeq` owes. */
  planned(tenant: string, throughSeq: number): OwedCut {
    return { tenant, throughSeq, copies: this.copies.names() };
  }

  /**
   * Records `cut` as owed, in the deletion's transaction: it replaces the debt of an earlier
   * deletion of the tenant (every copy there is now predates this one, and is cut whole).
   */
  owe(cut: OwedCut): void {
    this.db
      .query(
        `INSERT INTO damaged_copy_cuts (tenant, through_seq, copies) VALUES (?1, ?2, ?3)
         ON CONFLICT (tenant) DO UPDATE SET through_seq = excluded.through_seq,
           copies = excluded.copies`,
      )
      .run(cut.tenant, cut.throughSeq, JSON.stringify(cut.copies));
  }

  /**
   * Cuts `cut`'s records from the copies: null once done (paid, or left owed while the log's
   * current file still holds its records: a start may yet keep a copy of them), else why not
   * (still owed).
   */
  async pay(cut: OwedCut): Promise<string | null> {
    let unreadable: string[];
    try {
      unreadable = await this.copies.cut({ kind: 'tenant', ...cut });
    } catch (error) {
      return (
        `the copies of damaged log bytes still hold its records (cut again at the next ` +
        `start): ${String(error)}`
      );
    }
    if (unreadable.length > 0) {
      const message = unreadableCopiesMessage(unreadable, "the deleted project's name");
      return `${message}; until then each start says so`;
    }
    if (this.log.holdsThrough(cut.throughSeq)) return null;
    // A later deletion of the tenant may have replaced the debt meanwhile: that one stays.
    this.db
      .query('DELETE FROM damaged_copy_cuts WHERE tenant = ?1 AND through_seq = ?2')
      .run(cut.tenant, cut.throughSeq);
    return null;
  }

  /**
   * Pays every cut owed (at a start: a crash or a failure left them, or an older Tally's
   * erasures); those still owed.
   */
  async resume(): Promise<CutLeft[]> {
    return [...(await this.resumeDeletions()), ...(await this.resumeErasures())];
  }

  private async resumeDeletions(): Promise<CutLeft[]> {
    const rows = this.db
      .query('SELECT tenant, through_seq, copies FROM damaged_copy_cuts ORDER BY tenant')
      .all() as { tenant: string; through_seq: number; copies: string }[];
    const left: CutLeft[] = [];
    for (const row of rows) {
      const copies = JSON.parse(row.copies) as string[];
      const reason = await this.pay({ tenant: row.tenant, throughSeq: row.through_seq, copies });
      if (reason !== null) left.push({ tenant: row.tenant, reason });
    }
    return left;
  }

  private async resumeErasures(): Promise<CutLeft[]> {
    const rows = this.db
      .query(
        `SELECT e.id, e.tenant, e.field, e.value, e.through_seq
         FROM erasure_copy_cuts c JOIN erasures e ON e.id = c.erasure_id
         ORDER BY e.created_at, e.id`,
      )
      .all() as ErasureCutRow[];
    const left: CutLeft[] = [];
    for (const row of rows) {
      const { tenant, field, value } = row;
      const match: ErasureMatch = { tenant, field, value, throughSeq: row.through_seq };
      let reason: string | null = null;
      try {
        const unreadable = await this.copies.cut({ kind: 'person', match });
        if (unreadable.length > 0) {
          const message = unreadableCopiesMessage(unreadable, "the person's id");
          reason = `${message}; until then each start says so`;
        }
      } catch (error) {
        reason =
          `the copies of damaged log bytes still hold the person's events (cut again at the ` +
          `next start): ${String(error)}`;
      }
      if (reason !== null) left.push({ tenant: row.tenant, erasure: row.id, reason });
      else if (!this.log.holdsThrough(row.through_seq)) {
        this.db.query('DELETE FROM erasure_copy_cuts WHERE erasure_id = ?1').run(row.id);
      }
    }
    return left;
  }
}

/** An erasure that ended before erasures cut the copies (migration 013): its person's cut. */
interface ErasureCutRow {
  id: string;
  tenant: string;
  field: ErasureMatch['field'];
  value: string;
  through_seq: number;
}

/**
 * Forgets, in every cut owed, the copies that are gone (the operator recovered them by hand and
 * removed them). Called at a start before the log is opened: the copy that start may keep can
 * take a gone one's name (damage at the same offset of the same file: the same bad sector), and
 * it is a later copy, whose records above the deletion's seq were sent after it (a project of
 * the same name made again), not one the deletion takes whole.
 */
export function forgetGoneCopies(db: Database, walDir: string): void {
  const rows = db.query('SELECT tenant, copies FROM damaged_copy_cuts').all() as {
    tenant: string;
    copies: string;
  }[];
  for (const row of rows) {
    const copies = JSON.parse(row.copies) as string[];
    const left = copies.filter((name) => fs.existsSync(path.join(walDir, name)));
    if (left.length === copies.length) continue;
    db.query('UPDATE damaged_copy_cuts SET copies = ?1 WHERE tenant = ?2').run(
      JSON.stringify(left),
      row.tenant,
    );
  }
}
