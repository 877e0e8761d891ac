// The actor a subscribe's first snapshot comes from: the tenant's resident one (else one made
// for the subscribe), once its rollups are rebuilt. The actor waited for can be dropped in the
// meantime (an erasure ended, and its counters still hold the erased events): then its
// successor is waited for in turn, so a first snapshot never comes from dropped counters.

import type { LiveActor, LiveSource } from './feed.ts';

export type ReadyActor =
  | { kind: 'ready'; actor: LiveActor }
  /** No actor fits (ACTORS_MAX, every resident one watched). */
  | { kind: 'no_room' }
  | { kind: 'failed'; error: unknown };

/** The tenant's actor once rebuilt, the rebuild's failure, or no room for an actor. */
export async function readyActor(source: LiveSource, tenant: string): Promise<ReadyActor> {
  let actor: LiveActor | null = null;
  for (;;) {
    const current: LiveActor | null = source.peek(tenant) ?? source.actorForWatch(tenant);
    if (current === null) return { kind: 'no_room' };
    if (current === actor) return { kind: 'ready', actor };
    actor = current;
    try {
      await actor.whenReady();
    } catch (error) {
      return { kind: 'failed', error };
    }
    if (source.rebuildFailed(actor)) {
      return { kind: 'failed', error: 'rebuilding from the store failed' };
    }
  }
}
