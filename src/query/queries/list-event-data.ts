// Umami's paged event data (its getEventData over a range): the custom events that carry data
// in the range and match the filters, the newest first, a page of them with each property as
// Umami's event_data rows hold it, and how many such events there are in all.

import type { EventSnapshot, EventSource } from '../../storage/index.ts';
import { countedPageSql, readCountedPage } from '../counted-page.ts';
import {
  type EventDataScope,
  eventDataCtes,
  type TypedDataValue,
  typedValuesOf,
} from '../event-data.ts';
import { numberOf, rangeOf } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';

export interface EventDataListOptions extends EventDataScope {
  /** Events per page, and how many to pass over. */
  limit: number;
  offset: number;
}

export interface EventDataOfEvent {
  eventId: string;
  eventName: string;
  /** The event's time, epoch ms. */
  atMs: number;
  /** Its properties, by name. */
  properties: TypedDataValue[];
}

export interface EventDataPage {
  events: EventDataOfEvent[];
  /** The events with data in all, over every page. */
  total: number;
}

export async function listEventData(
  source: EventSource,
  tenant: string,
  options: EventDataListOptions,
  signal?: AbortSignal,
): Promise<EventDataPage> {
  const sql = (snapshot: EventSnapshot, params: SqlParams) => {
    const scope = { ...options, eventIds: true };
    // The count runs over every event with data; the properties are read for a page only.
    return `${eventDataCtes(snapshot.from, scope, params)},
      with_data AS MATERIALIZED (
        SELECT c.rid, c.event_id, c.event_name, c.event_at FROM custom AS c
        WHERE c.rid IN (SELECT rid FROM data)
      ), page AS (
        SELECT * FROM with_data ORDER BY event_at DESC, event_id, rid
        LIMIT ${params.add(options.limit)} OFFSET ${params.add(options.offset)}
      ), shown AS (
        SELECT p.rid, p.event_id, p.event_name, p.event_at, epoch_ms(p.event_at) AS at_ms,
          d.data_key, d.data_type, d.stored_value
        FROM page AS p JOIN data AS d USING (rid)
      )
      ${countedPageSql('with_data', 's.event_at DESC, s.event_id, s.rid, s.data_key')}`;
  };
  const range = rangeOf(options.fromMs, options.toMs);
  const page = await readCountedPage(source, tenant, range, signal, { sql, key: 'rid' });
  const events: EventDataOfEvent[] = [];
  let last: { rid: number; event: EventDataOfEvent } | undefined;
  for (const row of page.rows) {
    const rid = numberOf(row.rid);
    if (last?.rid !== rid) {
      const event = {
        eventId: String(row.event_id),
        eventName: String(row.event_name),
        atMs: numberOf(row.at_ms),
        properties: [],
      };
      events.push(event);
      last = { rid, event };
    }
    const dataType = numberOf(row.data_type);
    const stringValue = String(row.stored_value);
    last.event.properties.push({
      dataKey: String(row.data_key),
      dataType,
      stringValue,
      ...typedValuesOf(dataType, stringValue),
    });
  }
  return { events, total: page.total };
}
