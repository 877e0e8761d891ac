// A tenant's deletion as the engine runs it. While it runs, the tenant's ingest is refused (so
// no event of it is acknowledged and then lost, or kept after the 204); the events already
// handed to its actor are committed and answered first, so that every acknowledged one is in
// a log record the deletion covers. Then the store deletes its events (storage/tenant-eraser),
// and its live rollups and remembered event ids go: a new project with the same id starts
// empty, and ids sent before are new again.

import type { DecideDeletion, Erased, EventStore } from '../storage/index.ts';
import type { DedupIndex } from './dedup-index.ts';
import type { ActorRegistry } from './registry.ts';

export interface TenantDeletionsDeps {
  store: EventStore;
  registry: ActorRegistry;
  dedup: DedupIndex;
}

export interface DeleteTenant {
  /** Runs the caller's deletions (the project's rows) with the tombstone, in one transaction. */
  decide: DecideDeletion;
  /** Runs once the events are gone, before ingest for the tenant is taken again. */
  onErased?: () => void;
}

export class TenantDeletions {
  /** Tenants being deleted, with the deletion that runs. */
  private readonly running = new Map<string, Promise<Erased>>();
  /** Deletions decided in this process, by tenant (see decidedOf). */
  private readonly decided = new Map<string, number>();

  constructor(private readonly deps: TenantDeletionsDeps) {}

  /** Whether `tenant` is being deleted now (its ingest is refused meanwhile). */
  isDeleting(tenant: string): boolean {
    return this.running.has(tenant);
  }

  /**
   * How many deletions of `tenant` were decided in this process: a change tells a step that
   * waited (an erasure's) that its project was deleted meanwhile.
   */
  decidedOf(tenant: string): number {
    return this.decided.get(tenant) ?? 0;
  }

  /**
   * The deletions decided so far of each of `tenants`: taken when a request was checked (its
   * key, its tenants), so that after a wait `deletedSince` tells whether one was deleted since.
   */
  mark(tenants: Iterable<string>): Map<string, number> {
    const mark = new Map<string, number>();
    for (const tenant of tenants) mark.set(tenant, this.decidedOf(tenant));
    return mark;
  }

  /** A tenant of `mark` deleted (or being deleted) since the mark was taken, if any. */
  deletedSince(mark: ReadonlyMap<string, number>): string | undefined {
    for (const [tenant, decided] of mark) {
      if (this.isDeleting(tenant) || this.decidedOf(tenant) !== decided) return tenant;
    }
    return undefined;
  }

  /** Tenants being deleted now; 0 on nearly every call, so ingest looks no further. */
  get size(): number {
    return this.running.size;
  }

  /** Resolves once every deletion running now has ended, done or failed (shutdown). */
  async settled(): Promise<void> {
    await Promise.allSettled([...this.running.values()]);
  }

  /**
   * Deletes `tenant`'s events and live state. Deletions of one tenant run one after another; a
   * `decide` that throws deletes nothing and the error is the caller's.
   */
  async delete(tenant: string, how: DeleteTenant): Promise<Erased> {
    for (let other = this.running.get(tenant); other !== undefined; ) {
      await other.catch(() => undefined);
      other = this.running.get(tenant);
    }
    // Set in the turn of the check above: no ingest of the tenant passes in between.
    const deletion = this.run(tenant, how);
    this.running.set(tenant, deletion);
    try {
      return await deletion;
    } finally {
      this.running.delete(tenant);
    }
  }

  private async run(tenant: string, how: DeleteTenant): Promise<Erased> {
    await this.deps.registry.drained(tenant);
    const erased = await this.deps.store.eraser.erase(tenant, (tombstone) => {
      how.decide(tombstone);
      this.decided.set(tenant, this.decidedOf(tenant) + 1); // in the turn of the decision
    });
    this.deps.registry.forget(tenant);
    this.deps.dedup.forgetTenant(tenant);
    how.onErased?.();
    return erased;
  }
}
