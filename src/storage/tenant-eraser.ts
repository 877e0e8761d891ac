// Deletes a tenant's stored events: every log record of it up to the seq the deletion is
// decided at, its unflushed events, its segments and their files. Order, each step recoverable:
//   1. decided: one SQLite transaction writes the tenant's tombstone (its records ≤ seq are
//      deleted) and drops its segments from the catalog; the caller's rows (the project, its
//      keys, aliases and members) go in the same transaction. A crash before it deleted nothing.
//   2. its unflushed events leave the hot tier, between two flushes (a flush that took them
//      before the decision commits none of them: Catalog.commitFlush checks the tombstone)
//   3. its segment files are retired: removed once no snapshot or merge that may read them is
//      held (a compaction merging them meanwhile commits nothing: Catalog.commitCompaction)
//   4. the log file holding its records is closed and the log files whose records are all
//      flushed are deleted (those holding unflushed records go with the flush that passes them)
//   5. its records are cut from the copies of damaged log bytes a start kept (wal-damaged.ts),
//      a cut owed since step 1 (damaged-cuts.ts: written in its transaction); where a copy's
//      damage holds the tenant's name, it is reported, as a file that could not be removed
//      is, and stays owed (as it does while the file closed in step 4 is not)
// After a crash past 1, the start removes the files the catalog no longer lists, replay skips
// the tenant's records up to its tombstone's seq, and the owed cut is made, so nothing of it
// comes back.

import { assert } from '../core/index.ts';
import type { Catalog, Segment } from './catalog.ts';
import type { CutLeft, DamagedCopyCuts } from './damaged-cuts.ts';
import type { FaultHook } from './faults.ts';
import type { Flusher } from './flusher.ts';
import type { HotTier } from './hot-tier.ts';
import type { ReadWriteLock } from './rw-lock.ts';
import { retireSegments } from './segment-files.ts';

export interface EraserDeps {
  catalog: Catalog;
  hot: HotTier;
  lock: ReadWriteLock;
  flusher: Flusher;
  segmentsDir: string;
  /** The log's last seq: every record committed so far is at or below it. */
  lastSeq: () => number;
  /** Removes files once no snapshot that may read them is held; throws a failed removal. */
  retire: (files: string[]) => void;
  /**
   * Closes the log file holding records at or below a seq and deletes the log files whose
   * records are all flushed (see EventStore): the tenant's records go from the log too.
   */
  releaseLog: (throughSeq: number) => Promise<void>;
  /** The cut of its records from the copies of damaged log bytes (step 5). */
  copyCuts: DamagedCopyCuts;
  fault: FaultHook;
  /** A purge that failed after the decision leaves state only a restart repairs. */
  onFatal: (error: unknown) => void;
}

/**
 * Decides a deletion: runs the caller's own deletions in one SQLite transaction and calls
 * `tombstone` within it, or throws (then nothing is deleted).
 */
export type DecideDeletion = (tombstone: () => void) => void;

export interface Erased {
  /** Every record of the tenant with a seq at or below this is deleted. */
  throughSeq: number;
  segments: number;
  /** Unflushed events purged from the hot tier. */
  hotEvents: number;
  /**
   * Why some files could not be removed yet (they stay retired, and the start sweeps them), or
   * a copy of damaged log bytes still holds the tenant's records or name (each start cuts
   * again; one whose damage holds the name waits for the operator: the text says what to do).
   */
  filesPending: string | null;
}

export class TenantEraser {
  constructor(private readonly deps: EraserDeps) {}

  /**
   * Deletes `tenant`'s events. The caller has stopped and drained the tenant's writes, so that
   * every event of it ever acknowledged is in a record at or below the log's last seq.
   */
  async erase(tenant: string, decide: DecideDeletion): Promise<Erased> {
    const { catalog, hot, lock, flusher, fault } = this.deps;
    const throughSeq = this.deps.lastSeq();
    const copyCut = this.deps.copyCuts.planned(tenant, throughSeq);
    let segments: Segment[] | null = null;
    decide(() => {
      segments = catalog.deleteTenant(tenant, throughSeq);
      this.deps.copyCuts.owe(copyCut);
    });
    assert(segments !== null, 'a decided deletion wrote its tombstone');
    const dropped: Segment[] = segments;
    fault('delete:after-catalog');
    let hotEvents: number;
    try {
      hotEvents = await flusher.whileIdle(() => lock.write(() => hot.purgeTenant(tenant)));
    } catch (error) {
      // Decided, but the tenant's unflushed events may still be read: a restart skips them.
      this.deps.onFatal(error);
      throw error;
    }
    fault('delete:after-purge');
    let filesPending = retireSegments(this.deps.retire, this.deps.segmentsDir, dropped);
    fault('delete:after-retire');
    try {
      await this.deps.releaseLog(throughSeq);
    } catch (error) {
      // Deleted all the same (replay skips the records); the files go with a later flush.
      filesPending ??= `the log files holding its records stay for now: ${String(error)}`;
    }
    const copiesLeft = await this.deps.copyCuts.pay(copyCut);
    if (copiesLeft !== null) filesPending = [filesPending, copiesLeft].filter(Boolean).join('; ');
    return { throughSeq, segments: dropped.length, hotEvents, filesPending };
  }

  /**
   * Makes the cuts from the copies of damaged log bytes that deletions still owe (step 5: at a
   * start, after a crash or a cut that could not be done), and those an older Tally's erasures
   * owe (see damaged-cuts.ts); returns those still owed, and why.
   */
  resumeCopyCuts(): Promise<CutLeft[]> {
    return this.deps.copyCuts.resume();
  }
}
