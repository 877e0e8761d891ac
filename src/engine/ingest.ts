// The engine's front door: takes validated events, derives their other fields, encodes them
// (refusing one over the event size limit), and routes them per tenant to the tenant's actor.
// Overload is a returned outcome so the HTTP layer answers 429 (one tenant's mailbox, or its
// part of a nearly full hot tier) or 503 (the whole node), each with Retry-After.

import {
  type BaseEvent,
  type Clock,
  eventLimits,
  mayHoldLoneSurrogate,
  type StoredEvent,
  tenantShareLimits,
  wellFormed,
} from '../core/index.ts';
import type { Admission, EventStore } from '../storage/index.ts';
import type { DedupIndex } from './dedup-index.ts';
import type { Enricher } from './enrich.ts';
import type { ActorRegistry } from './registry.ts';
import type { ActorOutcome, EventStatus, TenantActor } from './tenant-actor.ts';
import type { TenantDeletions } from './tenant-deletions.ts';

export interface EventResult {
  event_id: string;
  status: EventStatus;
}

export type IngestOutcome =
  | { kind: 'ok'; results: EventResult[]; accepted: number; duplicates: number }
  | { kind: 'too_large'; index: number; bytes: number }
  /** A batch naming more tenants than the node keeps resident (ACTORS_MAX): never taken. */
  | { kind: 'too_many_tenants'; tenants: number; max: number }
  | { kind: 'tenant_full'; reason: string }
  | { kind: 'tenant_deleting'; tenant: string }
  | { kind: 'overloaded'; reason: string };

type Refusal = Extract<IngestOutcome, { kind: 'overloaded' | 'tenant_full' }>;
/** The tenants holding hot events or events in flight, once counted for a request's check. */
interface HotSharing {
  holders?: number;
}

/** `ingestMany`'s outcome: or wait for `started` and take the request again. */
type ManyOutcome =
  | IngestOutcome
  | { kind: 'starting'; started: Promise<unknown>; tenants: Iterable<string> };

/** A request's events, derived and encoded, with their room in the commit queue. */
interface Encoded {
  kind: 'encoded';
  events: StoredEvent[];
  lines: string[];
  /** Each line's bytes in the log payload, its newline included. */
  lineBytes: number[];
  room: Admission;
}

export interface IngestLimits {
  hotBytesMax: number;
}

/** How long a disk check stays valid before ingest looks again. */
const DISK_CHECK_INTERVAL_MS = 1000;
/**
 * How often a batch naming several tenants waits for one of their actors to start before it
 * is submitted anyway (an actor started then evicted again, at the resident bound, each time).
 */
const ACTOR_START_WAITS_MAX = 3;

export class Ingestor {
  /** `ingest` calls not answered yet; `settled` waits for them (shutdown). */
  private running = 0;
  private settledWaiters: (() => void)[] = [];
  /** Set by `close`: ingest is refused from then on. */
  private closed = false;
  private diskOk = true;
  private diskReason = '';
  private diskCheckedAt = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly store: EventStore,
    private readonly registry: ActorRegistry,
    private readonly dedup: DedupIndex,
    private readonly enricher: Enricher,
    private readonly clock: Clock,
    private readonly limits: IngestLimits,
    private readonly deletions: Pick<
      TenantDeletions,
      'isDeleting' | 'size' | 'mark' | 'deletedSince'
    >,
  ) {}

  async ingest(input: readonly BaseEvent[]): Promise<IngestOutcome> {
    if (this.closed) return { kind: 'overloaded', reason: 'the server is shutting down' };
    this.running++;
    try {
      for (let waits = 0; ; waits++) {
        // Checked in the turn the events are handed to their actors: a deletion that starts
        // later waits for them, and one running refuses them (none is acked, then deleted).
        if (this.deletions.size > 0) {
          const deleting = input.find((e) => this.deletions.isDeleting(e.tenant));
          if (deleting !== undefined) return { kind: 'tenant_deleting', tenant: deleting.tenant };
        }
        const encoded = this.encode(input);
        if (encoded.kind !== 'encoded') return encoded;
        if (encoded.events.length !== 1) {
          const outcome = await this.ingestMany(encoded, waits < ACTOR_START_WAITS_MAX);
          if (outcome.kind !== 'starting') return outcome;
          // A tenant deleted during the wait (its keys revoked, its events gone) takes nothing
          // of a request checked before: its part would be kept after the deletion's answer.
          const mark = this.deletions.mark(outcome.tenants);
          await outcome.started; // then taken again from the top, all in one turn
          const deleted = this.deletions.deletedSince(mark);
          if (deleted !== undefined) return { kind: 'tenant_deleting', tenant: deleted };
          continue;
        }
        // One event (the common request) needs no per-tenant grouping, nor async frames besides
        // this one: each would cost every request a few more promise jobs.
        const event = encoded.events[0] as StoredEvent;
        const actor = this.registry.actorFor(event.tenant);
        if (actor === null) return this.tooManyTenants(encoded.room);
        return outcomeOfOne(
          event,
          await actor.submit(encoded.events, encoded.lines, encoded.lineBytes, encoded.room),
        );
      }
    } finally {
      this.running--;
      if (this.running === 0) for (const settle of this.settledWaiters.splice(0)) settle();
    }
  }

  /**
   * Refuses every later `ingest` (shutdown): a request cut by the server's stop may still reach
   * here, and the dedup index must not change once its snapshot is being written.
   */
  close(): void {
    this.closed = true;
  }

  /** Whether no `ingest` call is running. */
  get idle(): boolean {
    return this.running === 0;
  }

  /**
   * Resolves once every `ingest` call made so far is answered: events in an actor's mailbox
   * whose tick has not run yet are committed before the store may close.
   */
  settled(): Promise<void> {
    if (this.running === 0) return Promise.resolve();
    return new Promise((resolve) => this.settledWaiters.push(resolve));
  }

  /**
   * Derives and encodes the events and takes their room in the commit queue; else the refusal
   * (overload, or an event over the size limit).
   */
  private encode(input: readonly BaseEvent[]): Encoded | IngestOutcome {
    const refusal = this.refusal(input.length);
    if (refusal !== null) return { kind: 'overloaded', reason: refusal };
    if (input.length === 1) {
      const full = this.hotShareRefusal((input[0] as BaseEvent).tenant);
      if (full !== null) return full;
    }
    const events = input.map((e) => this.enricher.enrich(e));
    const lines = new Array<string>(events.length);
    const lineBytes = new Array<number>(events.length);
    let bytes = 0;
    for (let i = 0; i < events.length; i++) {
      let line = JSON.stringify(events[i]);
      if (mayHoldLoneSurrogate(line)) {
        events[i] = wellFormed(events[i] as StoredEvent);
        line = JSON.stringify(events[i]);
      }
      // Exact UTF-8 bytes (~0.04 µs for a typical line): the size limit, the commit queue's and
      // each tenant's mailbox bounds count them, and a non-ASCII line is up to 3× its length.
      const size = Buffer.byteLength(line);
      const max = eventLimits.storedEventBytesMax;
      if (size > max) return { kind: 'too_large', index: i, bytes: size };
      lines[i] = line;
      lineBytes[i] = size + 1; // and its newline in the log payload
      bytes += size + 1;
    }
    // Room in the commit queue for the whole request, before any of it is submitted: a
    // multi-tenant batch is then never refused for one tenant after another's part is written.
    if (!this.store.committer.admit(events.length, bytes)) {
      return { kind: 'overloaded', reason: 'the commit queue is full' };
    }
    return { kind: 'encoded', events, lines, lineBytes, room: { events: events.length, bytes } };
  }

  /**
   * `ingest` of encoded events (any number, of any tenants), each tenant's part to its actor;
   * with `mayWait`, 'starting' (room given back, nothing submitted) while a tenant's actor is
   * still being started.
   */
  private async ingestMany(encoded: Encoded, mayWait: boolean): Promise<ManyOutcome> {
    const { events, lines, lineBytes } = encoded;
    const byTenant = groupByTenant(events);
    // Every tenant's actor must be resident at once: past the bound the batch could never be
    // taken, and a 503 would have its client retry it for ever.
    if (byTenant.size > this.registry.actorsMax) {
      this.store.committer.release(encoded.room);
      return { kind: 'too_many_tenants', tenants: byTenant.size, max: this.registry.actorsMax };
    }
    const bytesOf = (indexes: number[]) =>
      indexes.reduce((n, i) => n + (lineBytes[i] as number), 0);
    const actors = this.actorsWithRoom(byTenant, bytesOf);
    if (!Array.isArray(actors)) {
      this.store.committer.release(encoded.room);
      return actors;
    }
    // Every part goes to the log in one group commit, so a full disk refuses all of it or
    // none: only actors that are started tick in the same turn (see TenantActor.isStarted).
    if (mayWait && actors.length > 1 && !actors.every((a) => a.isStarted)) {
      this.store.committer.release(encoded.room);
      const started = Promise.all(actors.map((a) => a.whenStarted()));
      return { kind: 'starting', started, tenants: byTenant.keys() };
    }
    const outcomes = await Promise.all(
      [...byTenant.values()].map((indexes, g) =>
        (actors[g] as TenantActor).submit(
          indexes.map((i) => events[i] as StoredEvent),
          indexes.map((i) => lines[i] as string),
          indexes.map((i) => lineBytes[i] as number),
          { events: indexes.length, bytes: bytesOf(indexes) },
        ),
      ),
    );
    return combine(events, byTenant, outcomes);
  }

  /**
   * Each tenant's actor, every one checked for room before any is used, so a multi-tenant
   * batch is taken whole or not at all; else the refusal.
   */
  private actorsWithRoom(
    byTenant: Map<string, number[]>,
    bytesOf: (indexes: number[]) => number,
  ): TenantActor[] | Refusal {
    const actors: TenantActor[] = [];
    // The tenants sharing the hot tier are counted once for the whole batch: nothing of it is
    // in flight before every tenant is checked.
    const counted: HotSharing = {};
    for (const [tenant, indexes] of byTenant) {
      const actor = this.registry.actorFor(tenant, actors);
      if (actor === null) {
        return { kind: 'overloaded', reason: 'too many active tenants on this node' };
      }
      if (!actor.hasRoom(indexes.length, bytesOf(indexes))) {
        return { kind: 'tenant_full', reason: `tenant ${tenant} has too many events in flight` };
      }
      const full = this.hotShareRefusal(tenant, counted);
      if (full !== null) return full;
      actors.push(actor);
    }
    return actors;
  }

  /**
   * The refusal of `tenant` while the hot tier is near its budget (flushing is behind) and the
   * tenant holds more than its part of it: its flood is its own 429, not every tenant's 503.
   * The part is HOT_BYTES_MAX ÷ (the tenants holding events, committed or in flight, + 1), as
   * for live sockets: one part is kept for a tenant still to come, so tenants flooding at once,
   * each at its part, hold about n/(n+1) of the budget and a tenant that starts sending then
   * still gets its events in (its first ones are never over its part). A flush frees the
   * bytes, but only once it is done; divided by the tenants holding events alone, a few
   * flooding together would fill the budget meanwhile and have every tenant, the newcomer too,
   * refused 503 until then. A lone tenant's part is half, so the others, idle or flushed, find
   * the last quarter.
   * Both the tier and the tenant count their events in flight (in an actor's mailbox or being
   * committed) as the hot bytes they will be once committed. Counting committed bytes alone, a
   * tenant's batches sent at once would all pass before the first was committed, and a burst
   * would bring on no pressure until it had filled the budget. The tier's are every actor's
   * (the registry keeps their sum), not the commit queue's admitted room: that is given back
   * when an actor submits its tick, before the events are durable. The request being checked
   * is not counted: a tenant holding nothing gets it in, and one larger than a part is taken
   * while its tenant holds less (its next ones then wait for a flush), never refused for ever.
   * One comparison when there is no pressure; when there is, map lookups and, for a tenant
   * holding events, a pass over the tenants with events in flight (those of the requests being
   * committed, not every tenant), once per request: `counted` keeps it for a batch's others.
   */
  private hotShareRefusal(tenant: string, counted: HotSharing = {}): Refusal | null {
    const hot = this.store.hot;
    const max = this.limits.hotBytesMax;
    const all = hot.bytes + hot.memoryOf(this.registry.inFlightBytes);
    if (all < max * tenantShareLimits.hotPressureShare) return null;
    // By tenant, not by its actor: one a rebuild dropped may still have events in flight.
    const inFlight = hot.memoryOf(this.registry.inFlightBytesOf(tenant));
    const held = hot.bytesOf(tenant) + inFlight;
    // A tenant holding none is not among the holders: its part is then over zero, and its
    // first events are let in (held is 0, the holders not counted); only the budget itself
    // full refuses them.
    if (held === 0) return null;
    // Tenants whose events are all in flight are holders too: counted by the tier's tenants
    // alone, tenants starting a flood together (after a flush emptied the tier, say) each had
    // a part of the whole budget, and filled it past its end.
    counted.holders ??=
      hot.tenants + this.registry.inFlightTenantsBeyond((t) => hot.bytesOf(t) > 0);
    const holders = counted.holders;
    const sharing = holders + 1;
    const part = Math.floor(max / sharing);
    if (held <= part) return null;
    const holding = holders === 1 ? 'the one holding events' : `the ${holders} holding events`;
    const flying = inFlight > 0 ? ` (${inFlight} of them in flight)` : '';
    return {
      kind: 'tenant_full',
      reason:
        `tenant ${tenant} holds ${held} bytes${flying} of the in-memory event budget while ` +
        `flushing is behind, more than its part (${part} bytes: HOT_BYTES_MAX ${max} ÷ ` +
        `${sharing} tenants: ${holding} and one to come)`,
    };
  }

  /** The refusal when no actor can be had for a new tenant; gives back the request's room. */
  private tooManyTenants(room: Admission): IngestOutcome {
    this.store.committer.release(room);
    return { kind: 'overloaded', reason: 'too many active tenants on this node' };
  }

  /**
   * Why this node takes no events now (null when it does). Routes ask before they read a body,
   * so a refused request costs no parsing; `ingest` asks again with the real event count.
   */
  admission(): string | null {
    return this.refusal(1);
  }

  private refusal(count: number): string | null {
    if (this.store.hot.bytes >= this.limits.hotBytesMax) {
      return 'the in-memory event budget is full (flushing is behind)';
    }
    const now = this.clock.now();
    // At its bound the index forgets its oldest keys early rather than refuse every tenant.
    if (!this.dedup.makeRoom(count, now)) return 'the deduplication index is full';
    // A wall clock stepped back (NTP) counts as due: else the answer would stand until the
    // clock caught up again, and a disk that filled meanwhile would go unseen that long. A log
    // write that just found the disk full is seen at once, not at the next check, and writes
    // resume only at a check that is due: free space does not show a used-up quota (EDQUOT),
    // and each request must not try the disk (a write, a cut and an fdatasync) again.
    const due = now < this.diskCheckedAt || now - this.diskCheckedAt >= DISK_CHECK_INTERVAL_MS;
    if (due || (this.diskOk && !this.store.committer.writable)) {
      const status = this.store.readiness(due);
      this.diskOk = status.ok;
      this.diskReason = status.ok ? '' : status.reason;
      this.diskCheckedAt = now;
    }
    return this.diskOk ? null : this.diskReason;
  }
}

function groupByTenant(events: readonly StoredEvent[]): Map<string, number[]> {
  const groups = new Map<string, number[]>();
  events.forEach((e, i) => {
    const group = groups.get(e.tenant);
    if (group === undefined) groups.set(e.tenant, [i]);
    else group.push(i);
  });
  return groups;
}

function combine(
  events: readonly StoredEvent[],
  byTenant: Map<string, number[]>,
  outcomes: ActorOutcome[],
): IngestOutcome {
  for (const o of outcomes) if (o.kind !== 'ok') return refused(o);
  const results = new Array<EventResult>(events.length);
  let accepted = 0;
  [...byTenant.values()].forEach((indexes, g) => {
    const statuses = (outcomes[g] as { statuses: EventStatus[] }).statuses;
    indexes.forEach((eventIndex, j) => {
      const status = statuses[j] as EventStatus;
      if (status === 'accepted') accepted++;
      results[eventIndex] = { event_id: (events[eventIndex] as StoredEvent).event_id, status };
    });
  });
  return { kind: 'ok', results, accepted, duplicates: events.length - accepted };
}

/** The ingest outcome of a single event's actor outcome. */
function outcomeOfOne(event: StoredEvent, outcome: ActorOutcome): IngestOutcome {
  if (outcome.kind !== 'ok') return refused(outcome);
  const status = outcome.statuses[0] as EventStatus;
  const accepted = status === 'accepted' ? 1 : 0;
  return {
    kind: 'ok',
    results: [{ event_id: event.event_id, status }],
    accepted,
    duplicates: 1 - accepted,
  };
}

/** The ingest outcome of an actor's refusal. */
function refused(o: Exclude<ActorOutcome, { kind: 'ok' }>): IngestOutcome {
  return o.kind === 'overloaded'
    ? { kind: 'overloaded', reason: o.reason }
    : { kind: 'tenant_full', reason: o.reason };
}
