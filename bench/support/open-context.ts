// The request facts Tally's ingest route gathers with open tenancy and the system clock, for the
// benchmarks that run the route alone (the floor server, bench:ingest-path).

import type { PrepareContext } from '../../src/http/prepare.ts';

export function openContextOf(request: Request): PrepareContext {
  return {
    tenantOf: (claimed) => claimed ?? 'default',
    receivedAt: Date.now(),
    userAgent: request.headers.get('user-agent'),
    ip: null,
    keepIp: false,
    newEventId: () => Bun.randomUUIDv7(),
  };
}
