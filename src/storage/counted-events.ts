// Which stored rows reads count: every event but Tally's reserved engagement beacons
// (core/engagement.ts), which are stored to be read by their own queries (Plausible's scroll
// depth and time on page) and through raw access only. A snapshot offers both relations
// (EventSnapshot's `from` and `allFrom`); this is the one place the first is cut from the
// second, and its per-minute counts (`minutesFrom`) from theirs.

import { ENGAGEMENT_EVENT_NAME } from '../core/index.ts';
import { sqlStringBody } from './duckdb.ts';

const UNCOUNTED = `'${sqlStringBody(ENGAGEMENT_EVENT_NAME)}'`;

/** The counted rows of `relation` (parenthesized, with a `name` column), parenthesized. */
export function countedRowsOf(relation: string): string {
  return `(SELECT * FROM ${relation} AS counted WHERE counted.name <> ${UNCOUNTED})`;
}
