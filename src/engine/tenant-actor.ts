// One tenant's single writer. Requests put their events in the actor's bounded mailbox; once
// per tick the actor deduplicates everything that arrived, hands one payload to the shared
// group commit, and after the commit makes the events readable and updates the tenant's live
// rollups (while they are rebuilt from the store, what it commits is held and counted after:
// deferred-counts.ts; its ticks do not wait for the rebuild). A tenant over its mailbox bound
// (in events or in encoded bytes) is told 'full' (429) while others go on. A commit that is
// refused (a full disk, or a failed log) reaches neither the hot tier nor the rollups, and its
// events' dedup keys are forgotten, so that a client's retry is taken as new: its requests are
// told 'overloaded' (503).

import type { Clock, StoredEvent } from '../core/index.ts';
import { type Admission, type EventStore, WalDiskFullError } from '../storage/index.ts';
import type { DedupIndex } from './dedup-index.ts';
import { type DeferredBytes, DeferredCounts } from './deferred-counts.ts';
import { recordsOf, utcDaysOf } from './log-records.ts';
import type { TenantRollups } from './rollups.ts';
import type { Ticker } from './ticker.ts';

export type EventStatus = 'accepted' | 'duplicate';

export type ActorOutcome =
  | { kind: 'ok'; statuses: EventStatus[] }
  | { kind: 'full'; reason: string }
  | { kind: 'overloaded'; reason: string };

interface Submission {
  events: readonly StoredEvent[];
  lines: readonly string[];
  /** Each line's UTF-8 bytes and its newline in the log payload. */
  lineBytes: readonly number[];
  /** Its room in the commit queue, taken by the ingestor before it was submitted. */
  room: Admission;
  resolve: (outcome: ActorOutcome) => void;
}

/** Encoded bytes of every actor's events accepted and not yet answered: the node's in flight. */
export interface InFlightBytes {
  bytes: number;
  /**
   * The same bytes by tenant, a tenant with none left out: the tenants sharing the hot tier
   * include those whose events are all still in flight (see Ingestor.hotShareRefusal). By
   * tenant, not by actor: an actor dropped with events in flight and its successor add up.
   */
  byTenant: Map<string, number>;
}

/** Counts `bytes` more (or, negative, fewer) of `tenant`'s encoded bytes as in flight. */
function addInFlight(inFlight: InFlightBytes, tenant: string, bytes: number): void {
  inFlight.bytes += bytes;
  const left = (inFlight.byTenant.get(tenant) ?? 0) + bytes;
  if (left > 0) inFlight.byTenant.set(tenant, left);
  else inFlight.byTenant.delete(tenant);
}

export interface ActorDeps {
  store: EventStore;
  dedup: DedupIndex;
  clock: Clock;
  /** Runs this turn's ticks of every actor together, then starts their commit. */
  ticker: Ticker;
  mailboxEventsMax: number;
  /** Encoded bytes in the mailbox at most (less than the commit queue's bound; see limits). */
  mailboxBytesMax: number;
  /** Shared by every actor of the registry; each adds and takes away its pendingBytes' changes. */
  inFlight: InFlightBytes;
  /** Shared too: what every actor holds while its rollups are rebuilt (DeferredCounts). */
  deferred: DeferredBytes;
  /** Past this many held bytes, an actor still rebuilding ticks only once it is rebuilt. */
  deferredBytesMax: number;
  /**
   * Told of a failure after a commit was durable (making its events readable, or counting
   * them): only a restart repairs that state (see STYLE.md, errors §1).
   */
  onFatal: (error: unknown) => void;
}

/** When an actor may tick, and when its rollups are rebuilt (see ActorRegistry.actorFor). */
export interface ActorStart {
  /** Resolves once it may tick (a predecessor's events answered: ActorRegistry.rebuild). */
  after: Promise<void> | null;
  /**
   * Resolves (never rejects) once the rebuild is done or failed: with the seq its read saw
   * the log through, or null when it failed before reading; 'stopped' when it was stopped,
   * the actor evicted or dropped (what it held is let go uncounted: DeferredCounts.letGo).
   */
  rebuilt: Promise<number | null | 'stopped'>;
}

export class TenantActor {
  private mailbox: Submission[] = [];
  /** Events accepted into the mailbox and not yet answered (queued or committing). */
  private pendingEvents = 0;
  /** Their encoded bytes (their room in the commit queue). */
  private pendingBytes = 0;
  private scheduled = false;
  private lastActiveAt: number;
  /** Waiting for every event in flight to be answered (see drained). */
  private readonly drainWaiters: (() => void)[] = [];
  /** Set once `start.after` resolved: a submission's tick then runs in this turn's ticks. */
  private started: boolean;
  private readonly startable: Promise<void>;
  /** Resolves once the rollups are rebuilt and count every commit (see DeferredCounts). */
  private readonly ready: Promise<void>;
  private readonly counts: DeferredCounts;

  constructor(
    readonly tenant: string,
    readonly rollups: TenantRollups,
    private readonly deps: ActorDeps,
    start: ActorStart,
  ) {
    this.lastActiveAt = deps.clock.now();
    this.counts = new DeferredCounts(rollups, deps.deferred, deps.deferredBytesMax);
    this.started = start.after === null;
    this.startable = start.after ?? Promise.resolve();
    void this.startable.then(() => {
      this.started = true;
    });
    this.ready = start.rebuilt.then((seen) => {
      try {
        if (seen === 'stopped') this.counts.letGo();
        else this.counts.rebuilt(seen, deps.clock.now());
      } catch (error) {
        deps.onFatal(error); // a broken invariant, as in `commit`
      }
    });
  }

  /** Queues events whose room in the commit queue is `room` (given back if refused here). */
  submit(
    events: readonly StoredEvent[],
    lines: readonly string[],
    lineBytes: readonly number[],
    room: Admission,
  ): Promise<ActorOutcome> {
    this.lastActiveAt = this.deps.clock.now();
    if (!this.hasRoom(events.length, room.bytes)) {
      this.deps.store.committer.release(room);
      return Promise.resolve({
        kind: 'full',
        reason:
          `tenant ${this.tenant} has ${this.pendingEvents} events of ${this.pendingBytes} ` +
          `bytes in flight (limits ${this.deps.mailboxEventsMax} events, ` +
          `${this.deps.mailboxBytesMax} bytes)`,
      });
    }
    this.pendingEvents += events.length;
    this.pendingBytes += room.bytes;
    addInFlight(this.deps.inFlight, this.tenant, room.bytes);
    const answered = new Promise<ActorOutcome>((resolve) => {
      this.mailbox.push({ events, lines, lineBytes, room, resolve });
    });
    this.schedule();
    return answered;
  }

  /**
   * Resolves once every event handed in so far is answered: committed (or refused). With no
   * more handed in meanwhile (a tenant being deleted), nothing of it is in flight then.
   */
  drained(): Promise<void> {
    if (this.pendingEvents === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /** Resolves once the rollups are rebuilt from the store and count every commit. */
  whenReady(): Promise<void> {
    return this.ready;
  }

  /**
   * Whether events submitted now are ticked in this turn, with every other started actor's,
   * and so reach the log in the same group commit as theirs.
   */
  get isStarted(): boolean {
    return this.started && !this.counts.waitsForRebuild;
  }

  /**
   * Whether its rollups are still being rebuilt (or wait for a predecessor to start): such an
   * actor is busy for the registry, evicted only when nothing else makes room for a tenant.
   */
  get isRebuilding(): boolean {
    return !this.counts.whole;
  }

  /**
   * Resolves once the actor is started (see isStarted). After `ready` too, `startable`: a
   * rebuild stopped (the actor dropped) settles before its predecessor's events are answered,
   * and its ticks must still follow them (the tenant keeps one writer).
   */
  whenStarted(): Promise<void> {
    return this.counts.waitsForRebuild ? this.ready.then(() => this.startable) : this.startable;
  }

  /** Whether `count` more events of `bytes` encoded bytes fit in the mailbox now. */
  hasRoom(count: number, bytes: number): boolean {
    if (this.pendingEvents + count > this.deps.mailboxEventsMax) return false;
    // An empty mailbox takes any one request, as the commit queue does: a request larger than
    // the bound alone (a small COMMIT_QUEUE_BYTES_MAX) is then never refused forever.
    return this.pendingBytes === 0 || this.pendingBytes + bytes <= this.deps.mailboxBytesMax;
  }

  /** True when nothing is queued or committing and the actor was untouched since `beforeMs`. */
  isIdleSince(beforeMs: number): boolean {
    return this.pendingEvents === 0 && this.lastActiveAt < beforeMs;
  }

  get inFlight(): number {
    return this.pendingEvents;
  }

  /**
   * The encoded bytes of the events in flight (accepted into the mailbox, not yet answered):
   * the hot tier holds them, duplicates aside, once committed. They are taken away a few
   * microtasks after the commit put them there, so for that moment they count twice (never
   * zero times).
   */
  get inFlightBytes(): number {
    return this.pendingBytes;
  }

  /** When events last came for this tenant (the clock's ms). */
  get lastActive(): number {
    return this.lastActiveAt;
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    void this.whenStarted().then(() =>
      this.deps.ticker.schedule(() => {
        this.scheduled = false;
        void this.tick();
      }),
    );
  }

  private async tick(): Promise<void> {
    const batch = this.mailbox;
    this.mailbox = [];
    if (batch.length === 0) return;
    const { dedup } = this.deps;
    const fresh: StoredEvent[] = [];
    const freshLines: string[] = [];
    const freshBytes: number[] = [];
    const statuses = batch.map((sub) =>
      sub.events.map((e, i): EventStatus => {
        const key = dedup.keyOf(e.tenant, e.event_id);
        if (dedup.hasOrAdd(key, e.received_at)) return 'duplicate';
        fresh.push(e);
        freshLines.push(sub.lines[i] as string);
        freshBytes.push(sub.lineBytes[i] as number);
        return 'accepted';
      }),
    );
    const room = { events: 0, bytes: 0 };
    for (const sub of batch) {
      room.events += sub.room.events;
      room.bytes += sub.room.bytes;
    }
    let outcome: ActorOutcome | null;
    try {
      outcome = await this.commit(fresh, freshLines, freshBytes, room);
    } catch (error) {
      // Refused (a full disk), or the log failed (onFatal stops the process): nothing is
      // acknowledged, every request is still answered, and the mailbox's count stays true.
      outcome = this.refused(fresh, error);
    }
    batch.forEach((sub, i) => {
      this.pendingEvents -= sub.events.length;
      this.pendingBytes -= sub.room.bytes;
      addInFlight(this.deps.inFlight, this.tenant, -sub.room.bytes);
      sub.resolve(outcome ?? { kind: 'ok', statuses: statuses[i] as EventStatus[] });
    });
    // Waiters are rare (a deletion): the common commit allocates nothing here.
    if (this.pendingEvents === 0 && this.drainWaiters.length > 0) {
      for (const wake of this.drainWaiters.splice(0)) wake();
    }
  }

  /**
   * Commits the fresh events within `room` (the batch's admitted room, given back here); null
   * on success, else the outcome every submission gets.
   */
  private async commit(
    fresh: StoredEvent[],
    lines: string[],
    lineBytes: number[],
    room: Admission,
  ): Promise<ActorOutcome | null> {
    const { store } = this.deps;
    if (fresh.length === 0) {
      store.committer.release(room);
      // Every event was a duplicate; wait until the originals are durable before answering.
      await store.committer.barrier();
      return null;
    }
    const records = recordsOf(fresh, lines, lineBytes);
    const queued: Promise<number>[] = [];
    for (const [i, record] of records.entries()) {
      // The tick's room goes with its first record; the others are within it.
      const submitted = store.committer.submit(
        record.payload,
        record.events.length,
        i === 0 ? room : { events: 0, bytes: 0 },
      );
      if (submitted.kind === 'refused') {
        // (Only the first can be refused: the log fails asynchronously, never within this loop,
        // which so also puts every record of the tick in one group: written whole or refused.)
        for (const q of queued) q.catch(() => undefined);
        return this.refused(fresh, submitted.error);
      }
      queued.push(submitted.committed);
    }
    // Rejects when the group is refused: then nothing below runs.
    const seqs = await Promise.all(queued);
    try {
      records.forEach((record, i) => {
        const group = {
          tenant: this.tenant,
          events: record.events.length,
          days: utcDaysOf(record.events),
          payload: record.payload,
        };
        store.committed(seqs[i] as number, group);
      });
      if (this.counts.whole) this.rollups.apply(fresh, this.deps.clock.now());
      else for (const [i, r] of records.entries()) this.counts.hold(seqs[i] as number, r);
    } catch (error) {
      // The log holds the events: they are acknowledged, and their keys stay (a retry is a
      // duplicate). Refused instead, a retry would be stored a second time. What failed (a
      // broken invariant) leaves the hot tier or the rollups wrong: the process stops, and a
      // restart replays the log into both.
      this.deps.onFatal(error);
    }
    return null;
  }

  /**
   * The outcome of a commit refused with `error`: its fresh events' keys are forgotten (none
   * of them is stored), so a retry is accepted rather than called a duplicate.
   */
  private refused(fresh: readonly StoredEvent[], error: unknown): ActorOutcome {
    const { dedup } = this.deps;
    for (const e of fresh) dedup.remove(dedup.keyOf(e.tenant, e.event_id), e.received_at);
    const reason = error instanceof WalDiskFullError ? error.message : 'the write-ahead log failed';
    return { kind: 'overloaded', reason };
  }
}
