// What a new tenant actor commits while its rollups are rebuilt from the store. Its ticks do not
// wait for the rebuild (reading a day of events takes seconds while DuckDB is busy, and a busy
// tenant's mailbox filled meanwhile: 429 right after a restart): the records they commit are
// held here until the rebuild is done, then counted unless its read saw them. Its read sees a
// record exactly when the record's seq is at or below the read's visibleThroughSeq (records
// reach the hot tier in seq order, and each is made readable before it is held here), so every
// committed event is counted once: by the read, or from here. Past the node's bound
// (rebuildLimits.deferredBytesMax) an actor still rebuilding waits for the rebuild instead, as
// every new actor did before. An actor evicted or dropped (an erasure, a deleted tenant) while
// rebuilding has its rebuild stopped and lets go of what it held, uncounted: its rollups go with
// it, and its tenant's next actor reads those records from the store.

import { assert } from '../core/index.ts';
import type { RollupEvent, TenantRollups } from './rollups.ts';

/** The bytes every actor holds here, together (see rebuildLimits.deferredBytesMax). */
export interface DeferredBytes {
  bytes: number;
}

interface HeldRecord {
  seq: number;
  events: RollupEvent[];
}

export class DeferredCounts {
  /** Records committed while the rebuild runs, seq ascending; null once it is done. */
  private held: HeldRecord[] | null = [];
  private heldBytes = 0;
  /**
   * Set when this actor's hold reached the node's bound: its ticks wait for the rebuild even
   * once other rebuilds, done, bring the node back under it.
   */
  private overBound = false;

  constructor(
    private readonly rollups: TenantRollups,
    private readonly shared: DeferredBytes,
    private readonly bytesMax: number,
  ) {}

  /** Whether the rebuild is done and what was held is counted: commits count at once. */
  get whole(): boolean {
    return this.held === null;
  }

  /**
   * Whether ticks wait for the rebuild: it runs and the node holds too much, whoever's commits
   * took it there. Not only the actor over it: each new tenant's actor would otherwise hold one
   * tick more (up to a mailbox's bytes) before it waits, past the bound by a tick per tenant.
   */
  get waitsForRebuild(): boolean {
    if (this.held === null) return false;
    return this.overBound || this.shared.bytes >= this.bytesMax;
  }

  /** Holds a record committed at `seq` while the rebuild runs. */
  hold(seq: number, record: { events: readonly RollupEvent[]; payload: Uint8Array }): void {
    assert(this.held !== null, 'a record is held only while the rebuild runs');
    const bytes = record.payload.length;
    // The fields the rollups read: not the properties and the rest of a stored event.
    this.held.push({ seq, events: record.events.map(rollupFields) });
    this.heldBytes += bytes;
    this.shared.bytes += bytes;
    if (this.shared.bytes >= this.bytesMax) this.overBound = true;
  }

  /**
   * Ends the hold as of `nowMs`: counts the records above `seenThroughSeq`, the seq the
   * rebuild's read saw the log through (every record when null: it failed before reading).
   */
  rebuilt(seenThroughSeq: number | null, nowMs: number): void {
    const held = this.held;
    if (held === null) return;
    this.letGo();
    const unseen: RollupEvent[] = [];
    // As of their newest receipt when that is later than `nowMs` (the wall clock stepped back
    // since their commit), as rebuildRollups does: else they would be left out as future ones.
    let asOf = nowMs;
    for (const record of held) {
      if (seenThroughSeq !== null && record.seq <= seenThroughSeq) continue;
      for (const e of record.events) {
        unseen.push(e); // one by one, not spread: a record may hold 100k+
        if (e.received_at > asOf) asOf = e.received_at;
      }
    }
    if (unseen.length > 0) this.rollups.apply(unseen, asOf);
  }

  /**
   * Ends the hold counting nothing: the rebuild was stopped, its actor evicted or dropped, and
   * the rollups go with it. Every held record is committed and readable, so the tenant's next
   * actor counts each from the store, once; so are the actor's commits still in flight (it
   * starts once they are answered: ActorRegistry.rebuild), which count, `whole` now, into the
   * rollups nobody reads.
   */
  letGo(): void {
    if (this.held === null) return;
    this.held = null;
    this.shared.bytes -= this.heldBytes;
    this.heldBytes = 0;
  }
}

function rollupFields(e: RollupEvent): RollupEvent {
  const { event_id, name, path, visitor_id, is_bot, value, received_at, timestamp } = e;
  return { event_id, name, path, visitor_id, is_bot, value, received_at, timestamp };
}
