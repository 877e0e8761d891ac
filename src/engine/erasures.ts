// Erasures of one person's events as the engine runs them (GDPR erasure): the store records
// each and cuts the person's unflushed events at once (storage/person-eraser.ts), then rewrites
// the segments holding them in the background, one erasure at a time; pending ones resume at
// start. Once one has ended (done, or failed: its unflushed events were cut all the same, and
// some segments may be rewritten), or has only the release of its log records left to retry,
// the tenant's live rollups are rebuilt from the store, so the live counters and the latest
// metric points count what the reads count. Ingest goes on throughout: events acknowledged
// after the erasure was accepted are kept.

import { AppError, type ErasureField, erasureLimits, wellFormed } from '../core/index.ts';
import type { Erasure, EventStore } from '../storage/index.ts';
import type { ActorRegistry } from './registry.ts';
import type { TenantDeletions } from './tenant-deletions.ts';

export interface ErasuresDeps {
  store: EventStore;
  registry: ActorRegistry;
  /**
   * Project deletions: an erasure asked for while its project is being deleted, or accepted
   * after its deletion, is refused (404).
   */
  deletions: Pick<TenantDeletions, 'decidedOf' | 'isDeleting'>;
  /** An erasure whose outcome could not be recorded leaves the store to a restart. */
  onFatal: (error: unknown) => void;
}

/** What the caller of Erasures.request is asked, and told, as the erasure is recorded. */
export interface ErasureHooks {
  /** Throws to refuse the erasure; runs in the step that records it. */
  stillAllowed?: () => void;
  /** The request ended with nothing recorded (refused, or failed before the record). */
  unrecorded?: () => void;
}

export class Erasures {
  constructor(private readonly deps: ErasuresDeps) {}

  /**
   * Accepts an erasure of `tenant`'s events whose `field` is `value` and starts it; resolves
   * once no read shows the unflushed ones, with it pending (or refused: 409 `limit_reached`
   * past the tenant's pending erasures). A lone surrogate in `value` is taken as U+FFFD, as
   * ingest stored it (engine/ingest.ts): else the unflushed events would not match it.
   * `hooks.stillAllowed` throws to refuse (nothing recorded); it runs as the erasure is
   * recorded, after the wait for a running flush, as the project's deletion is checked (404
   * while one runs or once one was decided).
   * `hooks.unrecorded` is called when the request ends with nothing recorded: refused, or
   * failed before its record was written.
   */
  async request(
    tenant: string,
    field: ErasureField,
    raw: string,
    hooks: ErasureHooks = {},
  ): Promise<Erasure> {
    const id = `er_${crypto.randomUUID().replaceAll('-', '')}`;
    const value = wellFormed(raw);
    const pendingMax = erasureLimits.erasuresPendingPerProjectMax;
    // Refused once the project's deletion was decided, or while it runs. The acceptance waits
    // for a running flush: a deletion decided meanwhile deleted the project's erasures, and one
    // recorded after it would outlive it (and show, with the person's id, in a new project of
    // the same id); a deletion still draining the project's ingest would take one accepted
    // meanwhile with it, after its 202.
    const decided = this.deps.deletions.decidedOf(tenant);
    const check = () => {
      if (this.deps.deletions.isDeleting(tenant)) {
        throw new AppError('not_found', `no project ${tenant}: it is being deleted`);
      }
      if (this.deps.deletions.decidedOf(tenant) !== decided) {
        throw new AppError('not_found', `no project ${tenant}: it was deleted`);
      }
      hooks.stillAllowed?.();
    };
    const erasure = await this.deps.store.erasures.accept({
      id,
      tenant,
      field,
      value,
      pendingMax,
      check,
      unrecorded: hooks.unrecorded,
    });
    this.start(id);
    return erasure;
  }

  /**
   * 409 `limit_reached` when `tenant` has erasuresPendingPerProjectMax pending already: asked
   * before a request takes its rate and waits for a running flush, so that such a request
   * costs neither (`request` checks again as it records).
   */
  requirePendingRoom(tenant: string): void {
    const pendingMax = erasureLimits.erasuresPendingPerProjectMax;
    this.deps.store.erasureLog.requirePendingRoom(tenant, pendingMax);
  }

  /** One erasure of `tenant`, or 404. */
  get(tenant: string, id: string): Erasure {
    const erasure = this.deps.store.erasureLog.get(id);
    if (erasure === null || erasure.tenant !== tenant) {
      throw new AppError('not_found', `no erasure ${id} in project ${tenant}`);
    }
    return erasure;
  }

  /** The newest erasures of `tenant`. */
  list(tenant: string): Erasure[] {
    return this.deps.store.erasureLog.listOf(tenant, erasureLimits.erasuresListedMax);
  }

  /** Starts every pending erasure (at start: the ones a stop or crash left). */
  resume(): void {
    for (const erasure of this.deps.store.erasureLog.pending()) this.start(erasure.id);
  }

  /** Resolves once every erasure started has ended (tests, and shutdown via the store). */
  settled(): Promise<void> {
    return this.deps.store.erasures.settled();
  }

  private start(id: string): void {
    this.deps.store.erasures.run(id).then((erasure) => {
      // Pending without a reason: the store is closing, and the next start finishes it. With
      // one, its segments are rewritten and only the release of its log records is retried.
      if (erasure !== null && (erasure.status !== 'pending' || erasure.reason !== null)) {
        this.deps.registry.rebuild(erasure.tenant);
      }
    }, this.deps.onFatal);
  }
}
