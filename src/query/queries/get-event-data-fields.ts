// Umami's event data fields (its getEventDataFields): each property and value of the custom
// events, with how many events carry it; by data type (dates, then booleans, numbers,
// strings, as Umami orders them), then the most frequent first.

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, readEventDataRows } from '../event-data.ts';
import { numberOf } from '../read.ts';

export interface EventDataFieldRow {
  propertyName: string;
  dataType: number;
  value: string;
  total: number;
}

export async function getEventDataFields(
  source: EventSource,
  tenant: string,
  options: EventDataScope & { limit: number },
  signal?: AbortSignal,
): Promise<EventDataFieldRow[]> {
  const rows = await readEventDataRows(
    source,
    tenant,
    options,
    signal,
    (params) => `SELECT data_key, data_type, shown_value, count(*) AS total FROM data
      GROUP BY data_key, data_type, shown_value
      ORDER BY data_type DESC, total DESC, data_key, shown_value
      LIMIT ${params.add(options.limit)}`,
  );
  return rows.map((row) => ({
    propertyName: String(row.data_key),
    dataType: numberOf(row.data_type),
    value: String(row.shown_value),
    total: numberOf(row.total),
  }));
}
