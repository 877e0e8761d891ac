// Umami's event data totals (its getEventDataStats): the custom events with data, the
// distinct property names among them, and the properties they carry in all (records).

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, eventDataCtes } from '../event-data.ts';
import { numberOf, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

export interface EventDataStats {
  events: number;
  properties: number;
  records: number;
}

export async function getEventDataStats(
  source: EventSource,
  tenant: string,
  options: EventDataScope,
  signal?: AbortSignal,
): Promise<EventDataStats> {
  const range = rangeOf(options.fromMs, options.toMs);
  const rows = await withSnapshot(source, tenant, range, signal, (snapshot) => {
    const params = new SqlParams();
    const sql = `${eventDataCtes(snapshot.from, options, params)}
      SELECT count(DISTINCT rid) AS events, count(DISTINCT data_key) AS properties,
        count(*) AS records
      FROM data`;
    return readRows(snapshot, sql, params);
  });
  const row = rows[0];
  return {
    events: numberOf(row?.events),
    properties: numberOf(row?.properties),
    records: numberOf(row?.records),
  };
}
