// The resident tenant actors: created on first use (rollups rebuilt from the store), evicted
// when idle, and bounded in number. At the bound a new tenant takes the place of an actor with
// nothing in flight, an unwatched one first (live sockets read a watched one's counters); when
// every resident actor has events in flight it is refused (503) rather than letting memory
// grow. Watching never keeps another tenant's events out.
// An actor whose rollups are still being rebuilt is busy: neither evicted as idle, nor for
// ROLLUP_BYTES_MAX, nor for a live subscribe (its successor would read the store again, the
// first read's work lost). Only a new tenant's events take its place, when no other actor can
// make room (an unwatched one first): its rebuild is stopped (its DuckDB statement interrupted)
// and settles at once, letting go of the commits it held, uncounted (whenReady's waiters find it
// gone, or `rebuildStopped`, and read none of its counters); its successor counts from the store
// every event it committed (it has none in flight), each once. So is the rebuild of an actor
// dropped by `rebuild` (its events in flight still committed and answered) or `forget`.

import { type Clock, rebuildLimits } from '../core/index.ts';
import type { EventStore } from '../storage/index.ts';
import type { DedupIndex } from './dedup-index.ts';
import type { DeferredBytes } from './deferred-counts.ts';
import { rebuildUnlessStopped } from './rebuild-rollups.ts';
import { type RollupLimits, TenantRollups } from './rollups.ts';
import { type InFlightBytes, TenantActor } from './tenant-actor.ts';
import type { Ticker } from './ticker.ts';

export interface RegistryOptions {
  actorsMax: number;
  actorIdleMs: number;
  /** Estimated memory of all resident actors' rollups; `fitBudget` evicts past it. */
  rollupBytesMax: number;
  mailboxEventsMax: number;
  /** Encoded bytes a tenant's mailbox holds at most (engine.ts derives it; see limits). */
  mailboxBytesMax: number;
  rollupLimits: RollupLimits;
  /** Bytes of commits held while rollups are rebuilt (rebuildLimits.deferredBytesMax). */
  deferredBytesMax?: number;
  /** Told when a tenant's live counters could not be rebuilt from the store. */
  onRebuildError?: (tenant: string, error: unknown) => void;
  /** Told of a failure after a commit was durable (see ActorDeps.onFatal). */
  onFatal: (error: unknown) => void;
}

export class ActorRegistry {
  private readonly actors = new Map<string, TenantActor>();
  /**
   * Tenants with live sockets: not evicted as idle (a rebuild reads a day of their events
   * while the sockets wait for it), and give way to a new tenant only when no unwatched actor
   * can.
   */
  private readonly watched = new Set<string>();
  /**
   * Actors whose rollups could not be rebuilt: evicted by the next `evictIdle` in which they
   * have nothing in flight, busy or watched, so the rebuild is retried.
   */
  private readonly failed = new WeakSet<TenantActor>();
  /** Actors whose rebuild was stopped, dropped while rebuilding: their rollups are partial. */
  private readonly stopped = new WeakSet<TenantActor>();
  /** What stops each actor's rebuild (see `drop`). */
  private readonly stops = new WeakMap<TenantActor, AbortController>();
  /**
   * Every actor's bytes in flight, kept as they change: ingest asks under hot-tier pressure,
   * and a sum over the actors would be a scan. An actor dropped with events in flight (a
   * deleted tenant's is drained first) still takes its bytes away when they are answered.
   */
  private readonly inFlight: InFlightBytes = { bytes: 0, byTenant: new Map() };
  /** What every actor holds while its rollups are rebuilt (see DeferredCounts). */
  private readonly deferred: DeferredBytes = { bytes: 0 };
  /**
   * A tenant's actor dropped by `rebuild` with events in flight: answered when they are. Its
   * successor starts only then (see `rebuild`).
   */
  private readonly predecessors = new Map<string, Promise<void>>();

  constructor(
    private readonly store: EventStore,
    private readonly dedup: DedupIndex,
    private readonly clock: Clock,
    private readonly options: RegistryOptions,
    private readonly ticker: Ticker,
  ) {}

  /** How many actors may be resident at once (ACTORS_MAX). */
  get actorsMax(): number {
    return this.options.actorsMax;
  }

  /**
   * The tenant's actor, created if needed; null when the resident bound is reached. `keep`:
   * actors the caller holds and is about to use (a batch's other tenants), never evicted here.
   */
  actorFor(tenant: string, keep: readonly TenantActor[] = []): TenantActor | null {
    const existing = this.actors.get(tenant);
    if (existing !== undefined) return existing;
    // At the bound, an actor with nothing in flight can go (it is rebuilt on demand): an
    // unwatched one if there is one, else a watched one (the live hub closes its sockets, 1013,
    // unless there is room to bring it back; their clients reconnect later), else one still
    // rebuilding (see the header).
    // Any actor with nothing in flight, whatever its last activity: a cut-off at "now" would
    // spare every actor touched before the wall clock stepped back, and refuse new tenants.
    if (this.actors.size >= this.options.actorsMax && !this.makeRoom(keep)) return null;
    const rollups = new TenantRollups(this.options.rollupLimits);
    // The actor ticks at once (after a predecessor's events, see `rebuild`), while the rebuild
    // runs: it counts its commits once the rebuild's read is known (see DeferredCounts).
    // Live counters are a view of stored events: when they cannot be rebuilt (DuckDB out of
    // memory, an unreadable segment), events still go in and the counters start from what was
    // read; live sockets are refused (1011, see `rebuildFailed`). They are whole again once
    // the actor is evicted (at the next `evictIdle` with nothing in flight) and created anew.
    let actor: TenantActor | null = null;
    const after = this.predecessors.get(tenant) ?? null;
    const stop = new AbortController();
    let failure: { error: unknown } | null = null;
    // Resolves on every end (the read failed, stopped, or counting what it read), never
    // rejects: the actor then counts what it held (none when stopped) and lets go of it (see
    // DeferredCounts.rebuilt). A stopped rebuild is no failure: nobody is told of it.
    const start = { after, stop: stop.signal };
    const rebuilt = rebuildUnlessStopped(this.store, tenant, rollups, this.clock, start).then(
      (end) => {
        if (actor !== null && end.kind !== 'done') {
          (end.kind === 'failed' ? this.failed : this.stopped).add(actor);
        }
        if (end.kind === 'failed') failure = end;
        return end.kind === 'stopped' ? end.kind : end.seen;
      },
    );
    actor = new TenantActor(
      tenant,
      rollups,
      {
        store: this.store,
        dedup: this.dedup,
        clock: this.clock,
        ticker: this.ticker,
        mailboxEventsMax: this.options.mailboxEventsMax,
        mailboxBytesMax: this.options.mailboxBytesMax,
        inFlight: this.inFlight,
        deferred: this.deferred,
        deferredBytesMax: this.options.deferredBytesMax ?? rebuildLimits.deferredBytesMax,
        onFatal: this.options.onFatal,
      },
      { after, rebuilt },
    );
    this.actors.set(tenant, actor);
    this.stops.set(actor, stop);
    // Told once the actor has settled, so that nothing the callback does keeps commits held or
    // whenReady's waiters (live sockets, GET /metrics/latest) waiting; registered first, it is
    // told before those waiters go on.
    void actor.whenReady().then(() => {
      if (failure !== null) this.reportRebuildError(tenant, failure.error);
    });
    return actor;
  }

  /**
   * Tells onRebuildError. A throw of its own is a bug of the caller's (main.ts logs): not
   * hidden (nor an unhandled rejection), it is fatal, as a broken invariant is.
   */
  private reportRebuildError(tenant: string, error: unknown): void {
    try {
      this.options.onRebuildError?.(tenant, error);
    } catch (thrown) {
      this.options.onFatal(thrown);
    }
  }

  /**
   * Evicts one actor with nothing in flight, none in `keep`, for a new tenant's events: an
   * unwatched one, else a watched one, else one still rebuilding (see the header); false when
   * every one has events in flight.
   */
  private makeRoom(keep: readonly TenantActor[]): boolean {
    const any = Number.POSITIVE_INFINITY;
    for (const rebuilding of [false, true]) {
      if (this.evict(1, any, keep, { watched: false, rebuilding }) > 0) return true;
      if (this.evict(1, any, keep, { watched: true, rebuilding }) > 0) return true;
    }
    return false;
  }

  /** Whether `actor`'s rollups could not be rebuilt (known once its whenReady resolved). */
  rebuildFailed(actor: object): boolean {
    return this.failed.has(actor as TenantActor);
  }

  /**
   * Whether `actor`'s rebuild was stopped, the actor evicted or dropped (known once its
   * whenReady resolved): its rollups hold part of what the store does, and are read nowhere.
   */
  rebuildStopped(actor: object): boolean {
    return this.stopped.has(actor as TenantActor);
  }

  /** Keeps the tenant's actor resident while live sockets read it (see LiveSource). */
  watch(tenant: string): void {
    this.watched.add(tenant);
  }

  unwatch(tenant: string): void {
    this.watched.delete(tenant);
  }

  /**
   * The tenant's actor for a live subscribe, created if needed: at the bound an unwatched actor
   * with nothing in flight gives way, never a watched one, whose dashboards would get nothing
   * new until there is room (and, reopened, push out another's), nor one still rebuilding;
   * null when none can.
   */
  actorForWatch(tenant: string): TenantActor | null {
    const existing = this.actors.get(tenant);
    if (existing !== undefined) return existing;
    const full = this.actors.size >= this.options.actorsMax;
    if (full && this.evict(1, Number.POSITIVE_INFINITY) === 0) return null;
    return this.actorFor(tenant);
  }

  /** The tenant's actor, created only while the resident bound has room (no eviction). */
  actorIfRoom(tenant: string): TenantActor | null {
    const existing = this.actors.get(tenant);
    if (existing !== undefined) return existing;
    return this.actors.size < this.options.actorsMax ? this.actorFor(tenant) : null;
  }

  /**
   * Drops a deleted tenant's actor with its rollups (the caller has drained it), its rebuild
   * stopped if it runs; the next use makes a new one, rebuilt from what the store holds then.
   */
  forget(tenant: string): void {
    const actor = this.actors.get(tenant);
    if (actor !== undefined) this.drop(tenant, actor);
  }

  /**
   * Drops the tenant's actor, so that the next use makes one whose rollups are rebuilt from
   * what the store holds then (events erased or past retention no longer counted); a rebuild
   * of the dropped one still running is stopped. An actor with events in flight takes no
   * more: they are committed and answered (uncounted: its counters go with it), and its
   * successor takes the tenant's new events at once but starts (reads the store, then ticks)
   * only once those are answered, so it counts them from the store and the tenant keeps one
   * writer. Waiting for a busy tenant's actor to have nothing in flight instead could wait
   * for ever: with requests overlapping every commit, its counters went on counting the
   * deleted events.
   */
  rebuild(tenant: string): void {
    const actor = this.actors.get(tenant);
    if (actor === undefined) return;
    this.drop(tenant, actor);
    if (actor.inFlight === 0) return;
    const drained: Promise<void> = actor.drained().then(() => {
      if (this.predecessors.get(tenant) === drained) this.predecessors.delete(tenant);
    });
    this.predecessors.set(tenant, drained);
  }

  /**
   * Resolves once every event of `tenant` handed in so far is answered: its actor's, and those
   * of the actor `rebuild` dropped before it. With no more handed in meanwhile (a tenant being
   * deleted), nothing of it is in flight then.
   */
  async drained(tenant: string): Promise<void> {
    await this.predecessors.get(tenant);
    await this.actors.get(tenant)?.drained();
  }

  /** The encoded bytes of every tenant's events in flight (see TenantActor.inFlightBytes). */
  get inFlightBytes(): number {
    return this.inFlight.bytes;
  }

  /** The log bytes every actor holds while its rollups are rebuilt (see DeferredCounts). */
  get deferredBytes(): number {
    return this.deferred.bytes;
  }

  /**
   * The encoded bytes of `tenant`'s events in flight: its actor's and those of one `rebuild`
   * dropped before it, still to be answered.
   */
  inFlightBytesOf(tenant: string): number {
    return this.inFlight.byTenant.get(tenant) ?? 0;
  }

  /**
   * How many tenants have events in flight and hold none by `holds` (the hot tier's): a scan
   * of the tenants with events in flight only, as ingest asks only under hot-tier pressure.
   */
  inFlightTenantsBeyond(holds: (tenant: string) => boolean): number {
    let count = 0;
    for (const tenant of this.inFlight.byTenant.keys()) if (!holds(tenant)) count++;
    return count;
  }

  /** The resident actor of a tenant, without creating one. */
  peek(tenant: string): TenantActor | undefined {
    return this.actors.get(tenant);
  }

  /**
   * Evicts every unwatched actor idle for the idle period, and every failed one with nothing
   * in flight, but none still rebuilding; main.ts calls this on a timer (a failed rebuild is
   * so retried once a minute).
   */
  evictIdle(): number {
    return this.evict(Number.POSITIVE_INFINITY, this.clock.now() - this.options.actorIdleMs);
  }

  /**
   * Evicts up to `count` actors untouched since `before` with nothing in flight, but none in
   * `keep`; watched ones and ones still rebuilding only when `too` says so; a failed actor
   * (its rebuild is over) whenever it has nothing in flight.
   */
  private evict(
    count: number,
    before: number,
    keep: readonly TenantActor[] = [],
    too: { watched: boolean; rebuilding: boolean } = { watched: false, rebuilding: false },
  ): number {
    let eligible: [string, TenantActor][] = [];
    for (const [tenant, actor] of this.actors) {
      if (keep.includes(actor)) continue;
      const failed = this.failed.has(actor);
      if (failed ? actor.inFlight > 0 : !actor.isIdleSince(before)) continue;
      if (this.watched.has(tenant) && !failed && !too.watched) continue;
      if (actor.isRebuilding && !too.rebuilding) continue;
      eligible.push([tenant, actor]);
    }
    // The least recently active go first, not the first created: a busy tenant between two
    // commits keeps its counters (a rebuild reads a day of its events) while one untouched for
    // long makes room.
    if (eligible.length > count) {
      eligible = count === 1 ? [leastRecentlyActive(eligible)] : eligible.sort(byActivity);
    }
    const gone = eligible.slice(0, count);
    for (const [tenant, actor] of gone) this.drop(tenant, actor);
    return gone.length;
  }

  /**
   * Makes `actor` no longer `tenant`'s, stopping its rebuild if it runs: a day's read is not
   * paid for counters nobody keeps (see the header).
   */
  private drop(tenant: string, actor: TenantActor): void {
    this.actors.delete(tenant);
    if (actor.isRebuilding) this.stops.get(actor)?.abort();
  }

  get size(): number {
    return this.actors.size;
  }

  /** Estimated memory of the resident actors' rollups. */
  get rollupBytes(): number {
    let bytes = 0;
    for (const actor of this.actors.values()) bytes += actor.rollups.approxBytes;
    return bytes;
  }

  /**
   * Evicts unwatched actors with nothing in flight, least recently active first, until the
   * rollups fit `bytesMax` (ROLLUP_BYTES_MAX; main.ts calls this every few seconds). Actors
   * with events in flight, live sockets or a rebuild running stay (a watched one evicted would
   * be rebuilt by its sockets at once, over and over), so the budget is soft by what those
   * hold.
   */
  fitBudget(bytesMax = this.options.rollupBytesMax): { bytes: number; evicted: number } {
    const sizes = new Map<TenantActor, number>();
    let bytes = 0;
    for (const actor of this.actors.values()) {
      const size = actor.rollups.approxBytes;
      sizes.set(actor, size);
      bytes += size;
    }
    let evicted = 0;
    if (bytes <= bytesMax) return { bytes, evicted };
    const candidates = [...this.actors]
      .filter(
        ([tenant, actor]) =>
          actor.inFlight === 0 && !this.watched.has(tenant) && !actor.isRebuilding,
      )
      .sort(([, a], [, b]) => a.lastActive - b.lastActive);
    for (const [tenant, actor] of candidates) {
      if (bytes <= bytesMax) break;
      this.actors.delete(tenant);
      bytes -= sizes.get(actor) ?? 0;
      evicted++;
    }
    return { bytes, evicted };
  }
}

type Resident = [string, TenantActor];

const byActivity = ([, a]: Resident, [, b]: Resident) => a.lastActive - b.lastActive;

/** The entry of `entries` (not empty) whose actor was active longest ago. */
function leastRecentlyActive(entries: readonly Resident[]): Resident {
  let oldest = entries[0] as Resident;
  for (const entry of entries) if (byActivity(entry, oldest) < 0) oldest = entry;
  return oldest;
}
