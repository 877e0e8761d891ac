// GET /api/v1/events/{id}: one stored event of the tenant (hot or flushed), or null. An id sent
// again after its dedup window is stored twice: the copy received last is the one shown, on
// every read (as the 202 that stored it promised). Ids carry no order, so a lookup reads every
// segment of the tenant, unless the caller knows when the copy was received at the earliest
// (the dedup index does, within its window): then only segments holding an event received
// since then are opened.

import type { EventSource } from '../../storage/index.ts';
import { EVENT_SELECT, presentEventRow } from '../event-rows.ts';
import { type Row, readSnapshotRows } from '../read.ts';

/** How a lookup by id is made. */
export interface EventLookup {
  signal?: AbortSignal;
  /**
   * The copy of the id received last was received at or after this (UTC epoch ms), when known
   * (engine/dedup-index.ts `receivedSince`): older segments are not opened. Null: unknown.
   */
  receivedSinceMs?: number | null;
}

export async function getEvent(
  source: EventSource,
  tenant: string,
  id: string,
  lookup: EventLookup = {},
): Promise<Record<string, unknown> | null> {
  const row = await eventRow(source, tenant, id, false, lookup);
  return row === null ? null : presentEventRow(row);
}

/**
 * The row of event `id`, the copy received last when it was stored twice; with `valued`, only
 * when that copy carries a value (a metric point): an earlier copy's value is not the id's.
 */
export async function eventRow(
  source: EventSource,
  tenant: string,
  id: string,
  valued: boolean,
  lookup: EventLookup = {},
): Promise<Row | null> {
  const since = lookup.receivedSinceMs;
  const [row] = await readSnapshotRows(
    source,
    tenant,
    since === null || since === undefined ? {} : { receivedSinceMs: since },
    lookup.signal,
    (snapshot, params) =>
      `SELECT ${EVENT_SELECT}, e."value" IS NOT NULL AS valued FROM ${snapshot.allFrom} AS e ` +
      `WHERE e.event_id = ${params.add(id)} ORDER BY e.received_at DESC LIMIT 1`,
  );
  return row === undefined || (valued && row.valued !== true) ? null : row;
}
