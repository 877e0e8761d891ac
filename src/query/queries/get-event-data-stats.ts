// Umami's event data totals (its getEventDataStats): the custom events with data, the
// distinct property names among them, and the properties they carry in all (records).

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, readEventDataRows } from '../event-data.ts';
import { numberOf } from '../read.ts';

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
  const rows = await readEventDataRows(
    source,
    tenant,
    options,
    signal,
    () => `SELECT count(DISTINCT rid) AS events, count(DISTINCT data_key) AS properties,
        count(*) AS records
      FROM data`,
  );
  const row = rows[0];
  return {
    events: numberOf(row?.events),
    properties: numberOf(row?.properties),
    records: numberOf(row?.records),
  };
}
