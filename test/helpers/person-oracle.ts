// The person of an event (by=person) computed the slow, obvious way, to check the links SQL of
// query/actors.ts: every event of the tenant carrying both ids is looked at, and each anonymous
// id keeps the user_id of its earliest such event (by timestamp, event_id, then user_id), but
// for the generic ids that link no one (PostHog's isDistinctIdIllegal, written out again here).

import type { StoredEvent } from '../../src/core/index.ts';

/** Byte order of UTF-8, as DuckDB compares VARCHARs. */
const compareText = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

const ANY_CASE = ['anonymous', 'guest', 'distinctid', 'distinct_id', 'id', 'not_authenticated'];
ANY_CASE.push('email', 'undefined', 'true', 'false');
const EXACT = ['[object Object]', 'NaN', 'None', 'none', 'null', '0', 'undefined'];
const quoted = (ids: string[]) => new Set(ids.flatMap((id) => [id, `'${id}'`, `"${id}"`]));
const anyCase = quoted(ANY_CASE);
const exact = quoted(EXACT);

/** Whether PostHog refuses to merge `id` (blank, or a generic id). */
export function isGenericId(id: string): boolean {
  return id.trim() === '' || anyCase.has(id.toLowerCase()) || exact.has(id);
}

/** The person of each event of `tenant` in `all`, as README "Funnels" defines it. */
export function personOf(all: StoredEvent[], tenant: string): (e: StoredEvent) => string {
  const first = new Map<string, StoredEvent>();
  for (const e of all) {
    if (e.tenant !== tenant || e.anonymous_id === null || e.user_id === null) continue;
    if (isGenericId(e.anonymous_id) || isGenericId(e.user_id)) continue;
    const seen = first.get(e.anonymous_id);
    const order = (a: StoredEvent, b: StoredEvent) =>
      a.timestamp - b.timestamp ||
      compareText(a.event_id, b.event_id) ||
      compareText(a.user_id as string, b.user_id as string);
    const earlier = seen === undefined || order(e, seen) < 0;
    if (earlier) first.set(e.anonymous_id, e);
  }
  return (e) => {
    if (e.user_id !== null) return e.user_id;
    const linked = e.anonymous_id === null ? undefined : first.get(e.anonymous_id)?.user_id;
    return linked ?? e.anonymous_id ?? e.visitor_id;
  };
}
