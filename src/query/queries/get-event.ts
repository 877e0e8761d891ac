// GET /api/v1/events/{id}: one stored event of the tenant (hot or flushed), or null.

import type { EventSource } from '../../storage/index.ts';
import { EVENT_SELECT, presentEventRow } from '../event-rows.ts';
import { type Row, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

export async function getEvent(
  source: EventSource,
  tenant: string,
  id: string,
  signal?: AbortSignal,
): Promise<Record<string, unknown> | null> {
  const row = await eventRow(source, tenant, id, false, signal);
  return row === null ? null : presentEventRow(row);
}

/** The row of event `id`; with `valued`, only when it carries a value (a metric point). */
export async function eventRow(
  source: EventSource,
  tenant: string,
  id: string,
  valued: boolean,
  signal?: AbortSignal,
): Promise<Row | null> {
  return withSnapshot(source, tenant, {}, signal, async (snapshot) => {
    const params = new SqlParams();
    const value = valued ? ' AND e."value" IS NOT NULL' : '';
    const sql =
      `SELECT ${EVENT_SELECT} FROM ${snapshot.allFrom} AS e ` +
      `WHERE e.event_id = ${params.add(id)}${value} LIMIT 1`;
    const rows = await readRows(snapshot, sql, params);
    return rows[0] ?? null;
  });
}
