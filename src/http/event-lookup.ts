// How a route asks for one stored event by id (GET /api/v1/events/{id}, seed 002's repeat
// answer, seed 003's event): with when its id's copy received last was received at the
// earliest, which the dedup index knows within its window, so that the read opens only the
// segments holding events received since then instead of every segment of the tenant.

import type { Engine } from '../engine/index.ts';
import type { EventLookup } from '../query/index.ts';

export function lookupOf(
  engine: Pick<Engine, 'dedup'>,
  tenant: string,
  eventId: string,
  signal?: AbortSignal,
): EventLookup {
  return { signal, receivedSinceMs: engine.dedup.receivedSince(tenant, eventId) };
}
