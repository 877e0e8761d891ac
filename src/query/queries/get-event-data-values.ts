// Umami's event data values (its getEventDataValues): the values one property of the custom
// events has (of one event name, when given), with how many events carry each, the most
// frequent first.

import type { EventSource } from '../../storage/index.ts';
import { type EventDataScope, eventDataCtes } from '../event-data.ts';
import { numberOf, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

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
  const range = rangeOf(options.fromMs, options.toMs);
  const rows = await withSnapshot(source, tenant, range, signal, (snapshot) => {
    const params = new SqlParams();
    const sql = `${eventDataCtes(snapshot.from, options, params)}
      SELECT shown_value, count(*) AS total FROM data
      GROUP BY shown_value ORDER BY total DESC, shown_value
      LIMIT ${params.add(options.limit)}`;
    return readRows(snapshot, sql, params);
  });
  return rows.map((row) => ({ value: String(row.shown_value), total: numberOf(row.total) }));
}
