// Group commit: requests that arrive while a commit is in flight wait together and share the
// next write + fdatasync, so 64 concurrent clients cost a handful of fsyncs, not 64. The queue
// of waiting work is bounded; past the bound `submit` says 'full' and the caller answers 503.

import { assert } from '../core/index.ts';
import type { WriteAheadLog } from './wal.ts';

export interface GroupCommitOptions {
  queueEventsMax: number;
  queueBytesMax: number;
  /** Called when the log cannot be written; the process must stop (see STYLE.md, errors §1). */
  onFatal: (error: unknown) => void;
}

export type SubmitOutcome = { kind: 'queued'; committed: Promise<number> } | { kind: 'full' };

interface Pending {
  /** null for a barrier: waits for the group without writing anything. */
  payload: Uint8Array | null;
  resolve: (seq: number) => void;
  reject: (error: unknown) => void;
}

export class GroupCommitter {
  private queue: Pending[] = [];
  private queueEvents = 0;
  private queueBytes = 0;
  private inFlight = false;
  private scheduled = false;
  private failed: unknown = null;
  private idleWaiters: (() => void)[] = [];
  /** Number of write + sync rounds so far; tests and /metrics read it. */
  commits = 0;

  constructor(
    private readonly wal: WriteAheadLog,
    private readonly options: GroupCommitOptions,
  ) {}

  /** Queues one request's payload; `committed` resolves with its seq once it is durable. */
  submit(payload: Uint8Array, events: number): SubmitOutcome {
    if (this.failed !== null) return { kind: 'full' };
    if (
      this.queue.length > 0 &&
      (this.queueEvents + events > this.options.queueEventsMax ||
        this.queueBytes + payload.length > this.options.queueBytesMax)
    ) {
      return { kind: 'full' };
    }
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
   * still on its way to disk.
   */
  barrier(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ payload: null, resolve: () => resolve(), reject });
      this.schedule();
    });
  }

  /** Resolves when nothing is queued or in flight. */
  drain(): Promise<void> {
    if (!this.inFlight && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  get healthy(): boolean {
    return this.failed === null;
  }

  get queuedEvents(): number {
    return this.queueEvents;
  }

  private schedule(): void {
    if (this.inFlight || this.scheduled) return;
    this.scheduled = true;
    // setImmediate lets every request parsed in this turn of the event loop join the group.
    setImmediate(() => {
      this.scheduled = false;
      void this.commitNext();
    });
  }

  private async commitNext(): Promise<void> {
    assert(!this.inFlight, 'one commit in flight at a time');
    const group = this.queue;
    if (group.length === 0) return this.notifyIdle();
    this.queue = [];
    this.queueEvents = 0;
    this.queueBytes = 0;
    this.inFlight = true;
    try {
      const payloads: Uint8Array[] = [];
      for (const p of group) if (p.payload !== null) payloads.push(p.payload);
      if (payloads.length > 0) {
        this.wal.append(payloads);
        await this.wal.sync();
        this.wal.rotateIfFull();
        this.commits++;
      }
      let seq = this.wal.lastSeq - payloads.length;
      for (const p of group) p.resolve(p.payload === null ? seq : ++seq);
    } catch (error) {
      this.failed = error;
      for (const p of [...group, ...this.queue]) p.reject(error);
      this.queue = [];
      this.options.onFatal(error);
    } finally {
      this.inFlight = false;
    }
    if (this.queue.length > 0) this.schedule();
    else this.notifyIdle();
  }

  private notifyIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}
