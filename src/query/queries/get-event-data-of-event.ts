// Umami's event data of one event (its getEventData): each property of one custom event, as
// Umami's event_data rows hold it: the key, the data type, the value as text (Umami's
// string_value), as a number for a number, as a date for a date; and the event's name and
// time. A page view, a bot's event, an unknown id or one of another tenant has none.

import type { EventSource } from '../../storage/index.ts';
import { readEventDataRows, type TypedDataValue, typedValuesOf } from '../event-data.ts';
import { numberOf } from '../read.ts';

export interface EventDataRecord extends TypedDataValue {
  eventName: string;
  /** The event's time, epoch ms. */
  atMs: number;
}

export async function getEventDataOfEvent(
  source: EventSource,
  tenant: string,
  eventId: string,
  signal?: AbortSignal,
): Promise<EventDataRecord[]> {
  const rows = await readEventDataRows(
    source,
    tenant,
    { filters: [], eventId },
    signal,
    () => `SELECT d.event_name, d.data_key, d.data_type, d.stored_value,
        epoch_ms(c.event_at) AS at_ms
      FROM data AS d JOIN custom AS c USING (rid)
      ORDER BY d.data_key`,
  );
  return rows.map((row) => {
    const dataType = numberOf(row.data_type);
    const stringValue = String(row.stored_value);
    return {
      eventName: String(row.event_name),
      dataKey: String(row.data_key),
      dataType,
      stringValue,
      ...typedValuesOf(dataType, stringValue),
      atMs: numberOf(row.at_ms),
    };
  });
}
