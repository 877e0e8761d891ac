// The floor under durable single-event ingest, for the benchmarks that measure it (the floor
// server of bench:ingest, the `route` layer of bench:ingest-path): Tally's `POST /api/v1/events`
// up to the engine — the same `readOneEvent` with open tenancy and the system clock — answering
// the route's 202 and storing nothing.

import { Elysia } from 'elysia';
import type { PrepareContext } from '../../src/http/prepare.ts';
import { readOneEvent } from '../../src/http/routes/events.ts';

function openContextOf(request: Request): PrepareContext {
  return {
    tenantOf: (claimed) => claimed ?? 'default',
    recheckTenancy: () => {},
    refusedClaims: () => new Map(),
    receivedAt: Date.now(),
    userAgent: request.headers.get('user-agent'),
    ip: null,
    keepIp: false,
    newEventId: () => Bun.randomUUIDv7(),
  };
}

export function floorRoute() {
  return new Elysia().post(
    '/api/v1/events',
    async ({ request, set }) => {
      const event = await readOneEvent(request, () => openContextOf(request));
      set.status = 202;
      return { status: 'accepted', event_id: event.event_id, duplicate: false };
    },
    { parse: 'none' },
  );
}
