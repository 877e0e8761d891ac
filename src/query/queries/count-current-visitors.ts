// The visitors on a site now, as Plausible's realtime counter: distinct visitors with an event
// (bots left out) in the window before `nowMs`, exact, from the stored events.

import type { EventSource } from '../../storage/index.ts';
import { filterConditions, whereOf } from '../filters.ts';
import { numberOf, readSnapshotRows } from '../read.ts';

export interface CurrentVisitorsOptions {
  nowMs: number;
  /** How far back an event makes its visitor current. */
  windowMs: number;
}

export async function countCurrentVisitors(
  source: EventSource,
  tenant: string,
  options: CurrentVisitorsOptions,
  signal?: AbortSignal,
): Promise<number> {
  // No upper bound, as Plausible's: an event stamped a little ahead (clock skew) is current.
  const fromMs = options.nowMs - options.windowMs;
  const rows = await readSnapshotRows(source, tenant, { fromMs }, signal, (snapshot, params) => {
    const where = whereOf(filterConditions({ fromMs }, params));
    return `SELECT count(DISTINCT e.visitor_id) AS visitors
      FROM ${snapshot.from} AS e ${where}`;
  });
  return numberOf(rows[0]?.visitors);
}
