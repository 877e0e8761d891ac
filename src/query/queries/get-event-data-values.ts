// Umami's event data values (its getEventDataValues): the values one property of the custom
// events has (of one event name, when given), with how many events carry each, the most
// frequent first.

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, readEventDataRows } from '../event-data.ts';
import { numberOf } from '../read.ts';

export interface EventDataValueRow {
  value: string;
  total: number;
}

export async function getEventDataValues(
  source: EventSource,
  tenant: string,
  options: EventDataScope & { propertyName: string; limit: number },
  signal?: AbortSignal,
): Promise<EventDataValueRow[]> {
  const rows = await readEventDataRows(
    source,
    tenant,
    options,
    signal,
    (params) => `SELECT shown_value, count(*) AS total FROM data
      GROUP BY shown_value ORDER BY total DESC, shown_value
      LIMIT ${params.add(options.limit)}`,
  );
  return rows.map((row) => ({ value: String(row.shown_value), total: numberOf(row.total) }));
}
