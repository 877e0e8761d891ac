// The person of an event (by=person) computed the slow, obvious way, to check the links SQL of
// query/actors.ts: every event of the tenant carrying both ids is looked at, and each anonymous
// id keeps the user_id of its earliest such event (by timestamp, then event_id).

import type { StoredEvent } from '../../src/core/index.ts';

/** Byte order of UTF-8, as DuckDB compares VARCHARs. */
const compareText = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** The person of each event of `tenant` in `all`, as README "Funnels" defines it. */
export function personOf(all: StoredEvent[], tenant: string): (e: StoredEvent) => string {
  const first = new Map<string, StoredEvent>();
  for (const e of all) {
    if (e.tenant !== tenant || e.anonymous_id === null || e.user_id === null) continue;
    const seen = first.get(e.anonymous_id);
    const earlier =
      seen === undefined ||
      e.timestamp < seen.timestamp ||
      (e.timestamp === seen.timestamp && compareText(e.event_id, seen.event_id) < 0);
    if (earlier) first.set(e.anonymous_id, e);
  }
  return (e) => {
    if (e.user_id !== null) return e.user_id;
    const linked = e.anonymous_id === null ? undefined : first.get(e.anonymous_id)?.user_id;
    return linked ?? e.anonymous_id ?? e.visitor_id;
  };
}
