// Umami's event data by event (its getEventDataEvents): each custom event's properties with
// their data type and how many events carry them; with `values`, also by each stored value
// (Umami's `event` parameter), the most frequent first within a property.

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, readEventDataRows } from '../event-data.ts';
import { numberOf } from '../read.ts';

export interface EventDataEventsOptions extends EventDataScope {
  /** Also group by each value (Umami's string_value). */
  values: boolean;
  limit: number;
}

export interface EventDataEventRow {
  eventName: string;
  propertyName: string;
  dataType: number;
  /** With `values`. */
  propertyValue?: string;
  total: number;
}

export async function getEventDataEvents(
  source: EventSource,
  tenant: string,
  options: EventDataEventsOptions,
  signal?: AbortSignal,
): Promise<EventDataEventRow[]> {
  const value = options.values ? ', stored_value' : '';
  const order = options.values ? 'total DESC, stored_value' : 'total DESC';
  const rows = await readEventDataRows(
    source,
    tenant,
    options,
    signal,
    (params) => `SELECT event_name, data_key, data_type${value}, count(*) AS total FROM data
      GROUP BY event_name, data_key, data_type${value}
      ORDER BY event_name, data_key, data_type, ${order}
      LIMIT ${params.add(options.limit)}`,
  );
  return rows.map((row) => ({
    eventName: String(row.event_name),
    propertyName: String(row.data_key),
    dataType: numberOf(row.data_type),
    ...(options.values ? { propertyValue: String(row.stored_value) } : {}),
    total: numberOf(row.total),
  }));
}
