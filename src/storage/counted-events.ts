// Which stored rows reads count: every event but those named in core/uncounted.ts (Tally's
// engagement beacons, stored to be read by their own queries, Plausible's scroll depth and time
// on page; PostHog's group updates), read through raw access only. A snapshot offers both
// relations (EventSnapshot's `from` and `allFrom`); this is the one place the first is cut from
// the second, and its per-minute counts (`minutesFrom`) from theirs.

import { UNCOUNTED_EVENT_NAMES } from '../core/index.ts';
import { sqlStringBody } from './duckdb.ts';

const UNCOUNTED = UNCOUNTED_EVENT_NAMES.map((name) => `'${sqlStringBody(name)}'`).join(', ');

/** The counted rows of `relation` (parenthesized, with a `name` column), parenthesized. */
export function countedRowsOf(relation: string): string {
  return `(SELECT * FROM ${relation} AS counted WHERE counted.name NOT IN (${UNCOUNTED}))`;
}
