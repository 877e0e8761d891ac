// Umami's event data properties (its getEventDataProperties): each custom event's property
// names with how many events carry them, by event name, the most frequent first.

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, readEventDataRows } from '../event-data.ts';
import { numberOf } from '../read.ts';

export interface EventDataPropertyRow {
  eventName: string;
  propertyName: string;
  total: number;
}

export async function getEventDataProperties(
  source: EventSource,
  tenant: string,
  options: EventDataScope & { limit: number },
  signal?: AbortSignal,
): Promise<EventDataPropertyRow[]> {
  const rows = await readEventDataRows(
    source,
    tenant,
    options,
    signal,
    (params) => `SELECT event_name, data_key, count(*) AS total FROM data
      GROUP BY event_name, data_key ORDER BY event_name, total DESC, data_key
      LIMIT ${params.add(options.limit)}`,
  );
  return rows.map((row) => ({
    eventName: String(row.event_name),
    propertyName: String(row.data_key),
    total: numberOf(row.total),
  }));
}
