// Erases one person's events of one tenant (GDPR erasure): every event whose user_id,
// anonymous_id or visitor_id equals a value, in the log records up to the seq the erasure is
// accepted at. Order, each step recoverable:
//   1. accepted, while no flush runs and under the write lock: the erasure is recorded in
//      SQLite with the log's last seq (the cut-off), then the hot tier cuts the events from
//      the records it holds and from records at or below the cut-off that arrive later. No
//      flush after this writes one of them to a segment; replay after a crash cuts them too
//      (see log-replay.ts), and new records go above the cut-off.
//   2. the tenant's segments holding a covered event are found (one DuckDB query over them)
//      and each is rewritten without them (segment-rewriter.ts): only those segments change.
//      A round repeats until none is left (a compaction that merged one meanwhile wins the
//      race, and its merge is rewritten in the next round).
//   3. the log file holding records at or below the cut-off is closed (a new one takes the
//      next records), a flush passes the records it holds that are not flushed yet (those of
//      the person's events cut from the hot tier too, even when they were all it held), and
//      the log files whose records are all flushed are deleted: none of the person's records
//      is left in the log. The copies of damaged log bytes a start kept lose theirs too
//      (wal-damaged.ts); where their bytes that are no record hold the person's id, this step
//      fails, saying which copy the operator must recover by hand and delete.
//      When this step fails (no room for the new file, a deletion or its fsync, the flush),
//      the erasure stays pending with the reason (the records are still on disk: `done` would
//      be untrue, and `failed` would say its work was not done): the step alone is tried again
//      after each flush, and the whole at the next start, until it holds. A reason is cleared
//      as the erasure is tried again (it says why it waits, and it no longer does).
//   4. marked done, with the events and segments it removed.
// A crash anywhere leaves it pending: the start resumes it from step 2. One runs at a time.

import { AppError, type ErasureField } from '../core/index.ts';
import type { Erasure, ErasureLog } from './erasure-log.ts';
import type { FaultHook } from './faults.ts';
import type { Flusher } from './flusher.ts';
import type { HotTier } from './hot-tier.ts';
import type { ReadWriteLock } from './rw-lock.ts';
import type { SegmentRewriter } from './segment-rewriter.ts';
import { type DamagedCopies, unreadableCopiesMessage } from './wal-damaged.ts';

export interface PersonEraserDeps {
  log: ErasureLog;
  hot: HotTier;
  lock: ReadWriteLock;
  flusher: Flusher;
  rewriter: SegmentRewriter;
  /** The log's last seq: every record committed so far is at or below it. */
  lastSeq: () => number;
  /**
   * Closes the log file holding records at or below a seq, flushes (when `flush`) and deletes
   * the log files whose records are all flushed: the person's records go from the log too
   * (step 3).
   */
  releaseLog: (throughSeq: number, flush: boolean) => Promise<void>;
  /** The copies of damaged log bytes a start kept (see wal-damaged.ts), cut in step 3. */
  copies: DamagedCopies;
  /** Those of `files` retired but still on disk (a read holds them, or removal failed). */
  retiredAmong: (files: readonly string[]) => string[];
  fault: FaultHook;
  /** An erasure whose hot tier cut failed half-way leaves state only a restart repairs. */
  onFatal: (error: unknown) => void;
}

export interface ErasureRequest {
  id: string;
  tenant: string;
  field: ErasureField;
  value: string;
  /** Pending erasures a tenant may have at most (this one refused past it). */
  pendingMax: number;
  /**
   * Throws to refuse the erasure (nothing recorded): run in the step that records it, after
   * the waits before it (its project may have been deleted meanwhile).
   */
  check?: () => void;
  /**
   * Called when the request ends without its record written: refused by `check` or the
   * pending bound, or failed before the insert committed (nothing of it is kept).
   */
  unrecorded?: () => void;
}

/** Rounds of finding and rewriting segments one erasure takes at most (see step 2). */
const ERASURE_ROUNDS_MAX = 16;

export class PersonEraser {
  /** Erasures started in this process and not ended, by id. */
  private readonly running = new Map<string, Promise<Erasure | null>>();
  /** The end of the last erasure started: the next one waits for it. */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by `stop` (the store is closing): no erasure starts from then on. */
  private stopping = false;
  /** Pending erasures whose segments are rewritten and whose log release (step 3) failed. */
  private readonly releasing = new Set<string>();
  /** The files of the segments each running erasure's rewrites replaced (step 3 waits). */
  private readonly replaced = new Map<string, string[]>();
  /** A run's step 3 is under way (one runs at a time): its flushes start no retry. */
  private inRelease = false;

  constructor(private readonly deps: PersonEraserDeps) {}

  /** Records an erasure and cuts its events from the hot tier (step 1); returns it pending. */
  accept(request: ErasureRequest): Promise<Erasure> {
    const { log, hot, lock, flusher, fault } = this.deps;
    const { id, tenant, field, value, pendingMax } = request;
    let recorded = false;
    const recording = flusher.whileIdle(() =>
      lock.write(async () => {
        request.check?.();
        const match = { tenant, field, value, throughSeq: this.deps.lastSeq() };
        log.create(id, match, pendingMax);
        recorded = true;
        fault('erase:after-record');
        let events: number;
        try {
          events = await hot.erase(match, (late) => this.countLate(id, late));
        } catch (error) {
          // Recorded, but the hot table may hold the events or none of the rows it should:
          // a restart replays the log and cuts them.
          this.deps.onFatal(error);
          throw error;
        }
        log.addHotEvents(id, events);
        fault('erase:after-cut');
        const accepted = log.get(id);
        // A deletion of the tenant decided during the cut took the erasure with its events.
        if (accepted === null) throw new AppError('not_found', `no project ${tenant}: deleted`);
        return accepted;
      }),
    );
    return recording.catch((error: unknown) => {
      if (!recorded) request.unrecorded?.();
      throw error;
    });
  }

  /**
   * Runs erasure `id` to its end (or joins the run started): done, or failed with the reason
   * (rejected only when its outcome could not be recorded). Null when there is no such one, or
   * when the store is closing: it stays pending, and the next start resumes it.
   */
  run(id: string): Promise<Erasure | null> {
    const started = this.running.get(id);
    if (started !== undefined) return started;
    if (this.stopping) return Promise.resolve(null);
    const run = this.queue
      .then(() => this.runOnce(id))
      .finally(() => {
        this.running.delete(id);
      });
    this.queue = run.catch(() => undefined);
    this.running.set(id, run);
    return run;
  }

  /**
   * Tries step 3 again for the erasures whose release failed (after a flush released log
   * files, or once replaced segment files a read held are deleted): each runs in the
   * background, behind the erasures queued before it; an outcome that cannot be recorded is
   * fatal, as for every run. Not from the flushes of a run's own release: two waiting would
   * start each other again, for ever.
   */
  retryReleases(): void {
    if (this.inRelease) return; // the next flush tries them
    for (const id of this.releasing) this.run(id).catch((error) => this.deps.onFatal(error));
  }

  /** Resolves once no erasure runs (whatever their outcomes). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * The store is closing: the erasure running ends, those waiting behind it and any accepted
   * from now on stay pending for the next start. One started later would hold its segments as
   * a reader while it waits for the write lock the close holds until every reader is gone.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    await this.settled();
  }

  /**
   * Counts events cut from a record that reached the hot tier after the erasure was accepted
   * (committed before it, its fdatasync still running). Told on the commit's path: a count that
   * cannot be written (the disk full) is left out, as the events are cut all the same.
   */
  private countLate(id: string, events: number): void {
    try {
      this.deps.log.addHotEvents(id, events);
    } catch {
      // Only the count shown is short; the erasure and its cut stand.
    }
  }

  private async runOnce(id: string): Promise<Erasure | null> {
    const { log, fault } = this.deps;
    const erasure = log.get(id);
    if (erasure === null || erasure.status !== 'pending') this.forget(id);
    if (erasure === null || erasure.status !== 'pending' || this.stopping) return erasure;
    const reasonOf = (error: unknown) => (error instanceof Error ? error.message : String(error));
    // Resumed at a start, or tried again after a flush: the reason an earlier try left says why
    // it waited, and it no longer does (a try that fails again sets its own).
    if (erasure.reason !== null) log.setReason(id, null);
    try {
      if (!this.releasing.has(id)) await this.rewriteAll(erasure);
    } catch (error) {
      this.forget(id);
      log.finish(id, 'failed', reasonOf(error));
      return log.get(id);
    }
    try {
      this.inRelease = true;
      await this.deps.releaseLog(erasure.throughSeq, true);
      const unreadable = await this.deps.copies.cut({ kind: 'person', match: erasure });
      if (unreadable.length > 0) {
        throw new Error(unreadableCopiesMessage(unreadable, "the person's id"));
      }
      const onDisk = this.deps.retiredAmong(this.replaced.get(id) ?? []);
      if (onDisk.length > 0) throw new ReplacedFilesOnDisk(onDisk.length);
    } catch (error) {
      this.releasing.add(id);
      log.setReason(
        id,
        error instanceof ReplacedFilesOnDisk
          ? error.message
          : "its segments are rewritten, but the write-ahead log still holds the person's " +
              `records: ${reasonOf(error)}; tried again after the next flush`,
      );
      return log.get(id);
    } finally {
      this.inRelease = false;
    }
    this.forget(id);
    fault('erase:before-done');
    log.finish(id, 'done');
    return log.get(id);
  }

  private forget(id: string): void {
    this.releasing.delete(id);
    this.replaced.delete(id);
  }

  /** Steps 2 (see the header): rewrites segments until none holds a covered event. */
  private async rewriteAll(erasure: Erasure): Promise<void> {
    const { rewriter, log } = this.deps;
    for (let round = 1; ; round++) {
      const found = await rewriter.reading(async () => {
        const affected = await rewriter.affected(erasure);
        for (const segment of affected) {
          const rewritten = await rewriter.rewrite(segment, erasure, (events) =>
            log.addRewrite(erasure.id, events),
          );
          if (rewritten !== null) {
            this.replaced.set(erasure.id, [
              ...(this.replaced.get(erasure.id) ?? []),
              ...rewritten.replaced,
            ]);
          }
        }
        return affected.length;
      });
      if (found === 0) return;
      if (round === ERASURE_ROUNDS_MAX) {
        throw new Error(
          `segments still held the person's events after ${round} rounds (compactions kept ` +
            'replacing them); erase again',
        );
      }
    }
  }
}

/**
 * Step 3 is not over while files of the segments the rewrites replaced are on disk: `done`
 * says no file of the data directory holds the person's events. A read that began before the
 * rewrite keeps them until it ends (it reads the events as they were); the erasure is tried
 * again as soon as they go (SnapshotReaders tells), or after the next flush.
 */
class ReplacedFilesOnDisk extends Error {
  constructor(files: number) {
    super(
      `its segments are rewritten, but ${files} files of the segments they replaced are still ` +
        'on disk (a read that began before the erasure holds them, or their deletion failed); ' +
        'tried again as they go',
    );
  }
}
