// The resident tenant actors: created on first use (rollups rebuilt from the store), evicted
// when idle, and bounded in number. When every resident actor is busy or watched (live sockets
// read its counters) and the bound is reached, a new tenant is refused (503) rather than
// letting memory grow.

import type { Clock } from '../core/index.ts';
import type { EventStore } from '../storage/index.ts';
import type { DedupIndex } from './dedup-index.ts';
import { type RollupLimits, rebuildRollups, TenantRollups } from './rollups.ts';
import { TenantActor } from './tenant-actor.ts';
import type { Ticker } from './ticker.ts';

export interface RegistryOptions {
  actorsMax: number;
  actorIdleMs: number;
  mailboxEventsMax: number;
  rollupLimits: RollupLimits;
  /** Told when a tenant's live counters could not be rebuilt from the store. */
  onRebuildError?: (tenant: string, error: unknown) => void;
}

export class ActorRegistry {
  private readonly actors = new Map<string, TenantActor>();
  /** Tenants with live sockets: a rebuild would lose late events, so they are never evicted. */
  private readonly watched = new Set<string>();
  /** Actors whose rollups could not be rebuilt; they are evicted when idle, watched or not. */
  private readonly failed = new WeakSet<TenantActor>();

  constructor(
    private readonly store: EventStore,
    private readonly dedup: DedupIndex,
    private readonly clock: Clock,
    private readonly options: RegistryOptions,
    private readonly ticker: Ticker,
  ) {}

  /**
   * The tenant's actor, created if needed; null when the resident bound is reached. `keep`:
   * actors the caller holds and is about to use (a batch's other tenants), never evicted here.
   */
  actorFor(tenant: string, keep: readonly TenantActor[] = []): TenantActor | null {
    const existing = this.actors.get(tenant);
    if (existing !== undefined) return existing;
    // At the bound, an unwatched actor with nothing in flight can go: it is rebuilt on demand.
    if (
      this.actors.size >= this.options.actorsMax &&
      this.evict(1, this.clock.now() + 1, keep) === 0
    ) {
      return null;
    }
    const rollups = new TenantRollups(this.options.rollupLimits);
    // Live counters are a view of stored events: when they cannot be rebuilt (DuckDB out of
    // memory, an unreadable segment), events still go in and the counters start from what was
    // read; live sockets are refused (1011, see `rebuildFailed`). They are whole again once
    // the idle actor is evicted and created anew.
    let actor: TenantActor | null = null;
    const ready = rebuildRollups(this.store, tenant, rollups, this.clock.now()).catch(
      (error: unknown) => {
        if (actor !== null) this.failed.add(actor);
        this.options.onRebuildError?.(tenant, error);
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
      },
      ready,
    );
    this.actors.set(tenant, actor);
    return actor;
  }

  /** Whether `actor`'s rollups could not be rebuilt (known once its whenReady resolved). */
  rebuildFailed(actor: object): boolean {
    return this.failed.has(actor as TenantActor);
  }

  /** Keeps the tenant's actor resident while live sockets read it (see LiveSource). */
  watch(tenant: string): void {
    this.watched.add(tenant);
  }

  unwatch(tenant: string): void {
    this.watched.delete(tenant);
  }

  /** The tenant's actor, created only while the resident bound has room (no eviction). */
  actorIfRoom(tenant: string): TenantActor | null {
    const existing = this.actors.get(tenant);
    if (existing !== undefined) return existing;
    return this.actors.size < this.options.actorsMax ? this.actorFor(tenant) : null;
  }

  /** The resident actor of a tenant, without creating one. */
  peek(tenant: string): TenantActor | undefined {
    return this.actors.get(tenant);
  }

  /** Evicts every actor idle for the idle period; main.ts calls this on a timer. */
  evictIdle(): number {
    return this.evict(Number.POSITIVE_INFINITY, this.clock.now() - this.options.actorIdleMs);
  }

  private evict(count: number, before: number, keep: readonly TenantActor[] = []): number {
    let evicted = 0;
    for (const [tenant, actor] of this.actors) {
      if (evicted >= count) break;
      if (!actor.isIdleSince(before) || keep.includes(actor)) continue;
      if (this.watched.has(tenant) && !this.failed.has(actor)) continue;
      this.actors.delete(tenant);
      evicted++;
    }
    return evicted;
  }

  get size(): number {
    return this.actors.size;
  }
}
