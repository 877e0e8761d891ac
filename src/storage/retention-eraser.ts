// Deletes a tenant's whole UTC days before a given day (retention). Order, each step
// recoverable:
//   1. under the store's write lock, one SQLite transaction drops the days' segments from the
//      catalog: a snapshot lists all of them or none, so a read sees each event once or not
//      at all. A crash before it deleted nothing.
//   2. their files and minute counts are retired: removed once no snapshot or merge that may
//      read them is held (a compaction merging them meanwhile commits nothing, as
//      Catalog.commitCompaction refuses a swap whose sources left the catalog)
//   3. once per pass (`releaseLog`, after every tenant's days): the log file holding records at
//      or below the flushed watermark (every segment's events are in such records) is closed,
//      and the log files whose records are all flushed are deleted, after a flush passes the
//      closed file's records not flushed yet: the log released only closed files, so a late
//      event for such a day (or any event, on a server whose current log file had not filled
//      since) stayed in it on disk past retention. Per tenant, each would close a file and
//      flush: a pass deleting a thousand tenants' days would write a thousand small flushes.
//   4. once per pass (`cutCopies`): the copies of damaged log bytes a start kept (the log never
//      reads them again; wal-damaged.ts) lose their records' events of every tenant's days past
//      retention, those of days an earlier pass deleted too (a stop before this step leaves
//      them to the next pass). Before, they kept them for good.
// After a crash past 1, the start removes the files the catalog no longer lists. Replay skips
// the records of these days: only flushed events (at or below the watermark) are in segments.
// Unflushed events of such days are flushed as usual and go at the next pass.

import type { Catalog } from './catalog.ts';
import type { FaultHook } from './faults.ts';
import type { ReadWriteLock } from './rw-lock.ts';
import { retireSegments } from './segment-files.ts';
import type { DamagedCopies } from './wal-damaged.ts';

export interface RetentionEraserDeps {
  catalog: Catalog;
  lock: ReadWriteLock;
  segmentsDir: string;
  /** Removes files once no snapshot that may read them is held; throws a failed removal. */
  retire: (files: string[]) => void;
  fault: FaultHook;
  /**
   * Closes the log file holding records at or below a seq and deletes the log files whose
   * records are all flushed, flushing first when `flush` (see EventStore).
   */
  releaseLog: (throughSeq: number, flush: boolean) => Promise<void>;
  /** The copies of damaged log bytes a start kept (step 4). */
  copies: Pick<DamagedCopies, 'cut' | 'names'>;
}

/** What one tenant lost to retention. */
export interface DroppedDays {
  /** The oldest and the newest UTC day deleted (YYYY-MM-DD). */
  fromDay: string;
  toDay: string;
  segments: number;
  /** Events in those segments. */
  events: number;
  bytes: number;
  /** Why some files could not be removed yet (they stay retired, and the start sweeps them). */
  filesPending: string | null;
}

export class RetentionEraser {
  constructor(private readonly deps: RetentionEraserDeps) {}

  /**
   * Deletes `tenant`'s days before the day `keptFrom` names (YYYY-MM-DD; null keeps them all);
   * null when it has none. `keptFrom` is asked under the write lock, in the turn of the
   * deletion: a setting changed before (a project told to keep more) is the one applied.
   */
  async dropDaysBefore(tenant: string, keptFrom: () => string | null): Promise<DroppedDays | null> {
    const { catalog, lock, fault, segmentsDir } = this.deps;
    const dropped = await lock.write(() => {
      const beforeDay = keptFrom();
      return beforeDay === null ? [] : catalog.deleteDaysBefore(tenant, beforeDay);
    });
    const [first, last] = [dropped[0], dropped.at(-1)];
    if (first === undefined || last === undefined) return null;
    fault('retention:after-catalog');
    const filesPending = retireSegments(this.deps.retire, segmentsDir, dropped);
    fault('retention:after-retire');
    return {
      fromDay: first.day,
      toDay: last.day,
      segments: dropped.length,
      events: dropped.reduce((n, s) => n + s.rows, 0),
      bytes: dropped.reduce((n, s) => n + s.bytes, 0),
      filesPending,
    };
  }

  /**
   * Lets the log files holding the records of the days deleted so far go (step 3): call once
   * a pass deleted some. Null when done, else why they stay for now (deleted all the same:
   * replay skips flushed records; they go with a later deletion, or once the file fills).
   */
  async releaseLog(): Promise<string | null> {
    try {
      // The records of every deleted segment's events are at or below the watermark.
      await this.deps.releaseLog(this.deps.catalog.flushedThroughSeq(), true);
      return null;
    } catch (error) {
      return String(error);
    }
  }

  /**
   * Cuts, from the copies of damaged log bytes, each tenant's events of the days before the day
   * `keptFrom` names for it (null: all kept) (step 4). Null when done (or no copy), else why not.
   */
  async cutCopies(keptFrom: (tenant: string) => string | null): Promise<string | null> {
    try {
      if (this.deps.copies.names().length > 0) {
        await this.deps.copies.cut({ kind: 'retention', keptFrom });
      }
      return null;
    } catch (error) {
      return String(error);
    }
  }
}
