// GET /api/v1/events/{id}: one stored event of the tenant (hot or flushed), or null. An id sent
// again after its dedup window is stored twice: the copy received last is the one shown, on
// every read (as the 202 that stored it promised).

import type { EventSource } from '../../storage/index.ts';
import { EVENT_SELECT, presentEventRow } from '../event-rows.ts';
import { type Row, readSnapshotRows } from '../read.ts';

export async function getEvent(
  source: EventSource,
  tenant: string,
  id: string,
  signal?: AbortSignal,
): Promise<Record<string, unknown> | null> {
  const row = await eventRow(source, tenant, id, false, signal);
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
  signal?: AbortSignal,
): Promise<Row | null> {
  const [row] = await readSnapshotRows(
    source,
    tenant,
    {},
    signal,
    (snapshot, params) =>
      `SELECT ${EVENT_SELECT}, e."value" IS NOT NULL AS valued FROM ${snapshot.allFrom} AS e ` +
      `WHERE e.event_id = ${params.add(id)} ORDER BY e.received_at DESC LIMIT 1`,
  );
  return row === undefined || (valued && row.valued !== true) ? null : row;
}
