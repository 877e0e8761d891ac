// Group commit: requests that arrive in one turn of the event loop wait together and share one
// write + fdatasync, so 64 concurrent clients cost a handful of fsyncs, not 64. Up to
// COMMITS_IN_FLIGHT_MAX groups are in flight at once: writes go to the log one after another,
// in order, while their fdatasyncs overlap (the disk takes several flushes at about the cost
// of one), and each group is acknowledged only once it and every group before it are durable
// and no fdatasync that overlapped its own failed (see WriteAheadLog.sync).
// The queue of waiting work is bounded. A request takes its room up front with `admit` (past
// the bound: false, and the caller answers 503 before anything is written); its events are
// then submitted within that room, so one part of a request is never refused after another
// part was written.
//
// A write that finds the disk full (WalDiskFullError: the log cut it back) refuses its group
// and every group behind it, queued or in flight, without writing them: the log then ends
// with the last group before the failed one, and no refused record can be replayed. Groups
// before it complete as usual. The committer then takes nothing (`writable` is false) until
// the store sees room again and calls `resume`. Any other failure is fatal (onFatal).

import { assert } from '../core/index.ts';
import { WalDiskFullError, type WriteAheadLog } from './wal.ts';
import { FRAME_HEADER_BYTES } from './wal-frame.ts';

export interface GroupCommitOptions {
  queueEventsMax: number;
  queueBytesMax: number;
  /** Called when the log cannot be written; the process must stop (see STYLE.md, errors §1). */
  onFatal: (error: unknown) => void;
  /** Told when a write found the disk full and writes stop until `resume`. */
  onDiskFull?: (error: WalDiskFullError) => void;
}

export type SubmitOutcome =
  | { kind: 'queued'; committed: Promise<number> }
  /** The log takes no writes: it failed, or the disk is full (`error` says which). */
  | { kind: 'refused'; error: unknown };

/** Room in the queue taken by `admit` for a request's events, and given back on submit. */
export interface Admission {
  events: number;
  bytes: number;
}

interface Pending {
  /** null for a barrier: waits for the group without writing anything. */
  payload: Uint8Array | null;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

/**
 * Groups written or syncing at once. Measured on a VM disk: 2 overlapping fdatasyncs gave ~1.8×
 * the commits/s of one at a time and 4 gave ~2.5×, each taking only a little longer.
 */
export const COMMITS_IN_FLIGHT_MAX = 4;

const settled = () => undefined;

export class GroupCommitter {
  private queue: Pending[] = [];
  private queueEvents = 0;
  private queueBytes = 0;
  /** Room admitted to requests whose events are not submitted yet. */
  private admittedEvents = 0;
  private admittedBytes = 0;
  private inFlight = 0;
  private scheduled = false;
  private failed: unknown = null;
  private fatalReported = false;
  private diskFullAt: WalDiskFullError | null = null;
  /**
   * Groups started since the last write that found the disk full: a group started earlier
   * and not yet written when it failed is refused unwritten (see `commit`).
   */
  private epoch = 0;
  /** The full disk that ended the last epoch: what its unwritten groups are refused with. */
  private epochEndedBy: WalDiskFullError | null = null;
  /** The durability of every group before the one that found the disk full (see `resume`). */
  private durableBeforeFull: Promise<void> = Promise.resolve();
  private idleWaiters: (() => void)[] = [];
  /** Settles when every write started so far is done: writes go out one after another. */
  private written: Promise<unknown> = Promise.resolve();
  /** Resolves when every group started so far is durable (rejects once one failed). */
  private durable: Promise<void> = Promise.resolve();
  /** Number of write + sync rounds so far; tests and the ingest-path benchmark read it. */
  commits = 0;

  constructor(
    private readonly wal: WriteAheadLog,
    private readonly options: GroupCommitOptions,
  ) {}

  /**
   * Takes room for `events` events of about `bytes` bytes, or says false when the queue (with
   * the room already taken) is past its bound. Work arriving at an empty queue is always
   * taken, however large, so a batch over the bound still goes through an idle node.
   */
  admit(events: number, bytes: number): boolean {
    if (!this.writable) return false;
    const busy = this.queue.length > 0 || this.admittedEvents > 0;
    if (
      busy &&
      (this.queueEvents + this.admittedEvents + events > this.options.queueEventsMax ||
        this.queueBytes + this.admittedBytes + bytes > this.options.queueBytesMax)
    ) {
      return false;
    }
    this.admittedEvents += events;
    this.admittedBytes += bytes;
    return true;
  }

  /** Gives back room `admit` took (what is left of it once a request's events are known). */
  release(room: Admission): void {
    this.admittedEvents -= room.events;
    this.admittedBytes -= room.bytes;
    assert(this.admittedEvents >= 0 && this.admittedBytes >= 0, 'released more than admitted');
  }

  /**
   * Queues the payload of events admitted in `room` (given back now); `committed` resolves
   * with its seq once it is durable. Refused only once the log has failed or the disk is full.
   */
  submit(payload: Uint8Array, events: number, room: Admission): SubmitOutcome {
    this.release(room);
    const refusal = this.refusal();
    if (refusal !== null) return { kind: 'refused', error: refusal };
    const committed = new Promise<number>((resolve, reject) => {
      this.queue.push({ payload, resolve, reject });
    });
    this.queueEvents += events;
    this.queueBytes += payload.length;
    this.schedule();
    return { kind: 'queued', committed };
  }

  /**
   * Resolves once everything queued or in flight now is durable. A request whose events all
   * turned out to be duplicates waits on this, so it never acknowledges an original that is
   * still on its way to disk. Refused (rejects) while the log takes no writes.
   */
  barrier(): Promise<void> {
    const refusal = this.refusal();
    if (refusal !== null) return Promise.reject(refusal);
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ payload: null, resolve: () => resolve(), reject });
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (this.inFlight === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Starts a commit of what is queued now if one more may be in flight, without waiting for
   * the next turn of the event loop; for a caller that knows this turn's submissions are in.
   */
  commitQueued(): void {
    if (!this.writable || this.inFlight >= COMMITS_IN_FLIGHT_MAX) return;
    this.startCommit();
  }

  /** False once the log failed for good (the process is stopping). */
  get healthy(): boolean {
    return this.failed === null;
  }

  /** Whether writes are taken now: the log has not failed and the disk is not known full. */
  get writable(): boolean {
    return this.failed === null && this.diskFullAt === null;
  }

  /** The write that found the disk full (its `bytes` need room again), until `resume`. */
  get diskFull(): WalDiskFullError | null {
    return this.diskFullAt;
  }

  /**
   * Takes writes again after a full disk, once the caller saw room for them. The next group
   * is acknowledged after every group before the failed one, as if the refused ones never were.
   */
  resume(): void {
    if (this.diskFullAt === null) return;
    this.diskFullAt = null;
    this.durable = this.durableBeforeFull;
  }

  private refusal(): unknown {
    return this.failed ?? this.diskFullAt ?? null;
  }

  get queuedEvents(): number {
    return this.queueEvents;
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= COMMITS_IN_FLIGHT_MAX) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this turn of the event loop join the group.
    setImmediate(() => {
      this.scheduled = false;
      // commitQueued may have filled every slot since this was scheduled; a slot that frees
      // up schedules again.
      if (this.writable && this.inFlight < COMMITS_IN_FLIGHT_MAX) this.startCommit();
    });
  }

  private startCommit(): void {
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    this.queueEvents = 0;
    this.queueBytes = 0;
    this.inFlight++;
    const payloads: Uint8Array[] = [];
    for (const p of group) if (p.payload !== null) payloads.push(p.payload);
    const before = this.durable;
    const done =
      payloads.length === 0 ? before.then(() => 0) : this.commit(payloads, before, this.epoch);
    this.durable = done.then(settled);
    this.durable.catch(settled); // a failure is reported once, below, not as unhandled
    done.then(
      (firstSeq) => {
        let seq = firstSeq;
        for (const p of group) p.resolve(p.payload === null ? seq - 1 : seq++);
      },
      (error: unknown) => this.fail(error, group),
    );
    void done.then(settled, settled).then(() => this.finished());
  }

  /**
   * Closes the current log file once every group started so far is durable (the next records
   * go to a new one), so that the file can be released once its records are flushed: an
   * erasure's records must not stay in it until it fills. Rejects when the log has failed.
   */
  rotateLog(): Promise<void> {
    const before = this.durable;
    const step = this.written.then(async () => {
      if (this.failed !== null) throw this.failed;
      await before;
      await this.wal.syncBeforeRotation(true);
      this.wal.rotate();
    });
    this.written = step.then(settled, settled);
    return step;
  }

  /**
   * Writes `payloads` after every earlier write, syncs; resolves with the first seq. `epoch`
   * is the one the group started in: a write that found the disk full since ends it, and the
   * group is refused unwritten, so nothing after a refused record reaches the log.
   */
  private async commit(
    payloads: Uint8Array[],
    before: Promise<void>,
    epoch: number,
  ): Promise<number> {
    const write = this.written.then(async () => {
      // After a fatal error (a failed write, cut or sync) the log's end is unknown: nothing
      // more goes to it, or a restart would find records after a torn one.
      if (this.failed !== null) throw this.failed;
      if (epoch !== this.epoch) {
        assert(this.epochEndedBy !== null, 'an epoch ends only at a full disk');
        throw this.epochEndedBy;
      }
      try {
        // A full file is closed only once nothing written to it still waits for its sync.
        if (this.wal.full) {
          await before;
          await this.wal.syncBeforeRotation();
          this.wal.rotateIfFull(framedBytesOf(payloads));
        }
        return await this.wal.append(payloads);
      } catch (error) {
        // Set before the next group's write runs (it waits for this one to settle).
        if (!(error instanceof WalDiskFullError)) this.failed ??= error;
        else if (epoch === this.epoch) this.stop(error, before);
        throw error;
      }
    });
    this.written = write.then(settled, settled);
    const lastSeq = await write;
    await this.wal.sync(); // also fails when a sync that overlapped it failed (see there)
    await before; // acknowledged in log order: every earlier group is durable too
    this.commits++;
    return lastSeq - payloads.length + 1;
  }

  /**
   * After a write found the disk full: ends the epoch (groups started in it and not written
   * are refused), refuses what is queued, and takes nothing more until `resume`.
   */
  private stop(error: WalDiskFullError, before: Promise<void>): void {
    this.epoch++;
    this.epochEndedBy = error;
    this.diskFullAt = error;
    this.durableBeforeFull = before;
    for (const p of this.queue) p.reject(error);
    this.queue = [];
    this.queueEvents = 0;
    this.queueBytes = 0;
    this.options.onDiskFull?.(error);
  }

  private fail(error: unknown, group: Pending[]): void {
    if (error instanceof WalDiskFullError) {
      // Its own group's, or one refused behind it: refused, not fatal.
      for (const p of group) p.reject(error);
      return;
    }
    this.failed ??= error;
    for (const p of [...group, ...this.queue]) p.reject(this.failed);
    this.queue = [];
    if (!this.fatalReported) {
      this.fatalReported = true;
      this.options.onFatal(this.failed);
    }
  }

  private finished(): void {
    this.inFlight--;
    assert(this.inFlight >= 0, 'commits in flight never go below zero');
    if (this.queue.length > 0 && this.writable) this.schedule();
    else if (this.inFlight === 0 && this.queue.length === 0) this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** What `payloads` take in the log, frame headers included. */
function framedBytesOf(payloads: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const p of payloads) bytes += FRAME_HEADER_BYTES + p.length;
  return bytes;
}
