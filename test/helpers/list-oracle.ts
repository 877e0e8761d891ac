// What a list of events should hold, worked out in plain TypeScript for seeded tests: the ids
// of the events of a range (from inclusive, to exclusive) and a name, in the order a read
// gives them (by time, oldest or newest first, then by event_id).

import type { StoredEvent } from '../../src/core/index.ts';

export interface ListScope {
  fromMs?: number | undefined;
  toMs?: number | undefined;
  name?: string | undefined;
}

export function idsInOrder(
  events: readonly StoredEvent[],
  scope: ListScope,
  order: 'oldest first' | 'newest first',
): string[] {
  const { fromMs, toMs, name } = scope;
  const sign = order === 'oldest first' ? 1 : -1;
  return events
    .filter(
      (e) =>
        (fromMs === undefined || e.timestamp >= fromMs) &&
        (toMs === undefined || e.timestamp < toMs) &&
        (name === undefined || e.name === name),
    )
    .sort((a, b) => sign * (a.timestamp - b.timestamp) || (a.event_id < b.event_id ? -1 : 1))
    .map((e) => e.event_id);
}
