// Umami's event data over Tally's events: the custom data of custom events, one row per
// property as Umami's event_data table keeps it. Which properties count: those of custom events
// only (not page views: a Segment or PostHog page view carries its url, title and campaign tags
// as properties, which Umami keeps as page fields, never as event data), and of those only the
// keys not starting with `$` (Tally's Umami collection keeps the tracker's page fields as
// `$title`, `$hostname`, …; PostHog's SDK properties sit under `$posthog`). As Umami's
// flattenJSON does, a nested object's keys are joined with dots (`cart.total`), an array is one
// value (its JSON), and each value has Umami's data type: 1 string, 2 number, 3 boolean,
// 4 date (an ISO 8601 date-time string), 5 array. A null value is no data (Tally reads a null
// property as an absent one).

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../storage/index.ts';
import { eventFiltersSql, sourcedEventsSql } from './event-web-filters.ts';
import { filterConditions, javascriptJsonText, javascriptNumberText } from './filters.ts';
import { PAGE_VIEW_NAMES } from './queries/get-stats.ts';
import { type Row, rangeOf, readSnapshotRows } from './read.ts';
import type { SqlParams } from './sql-params.ts';
import type { WebFilter } from './web-properties.ts';

/** Umami's DATA_TYPE numbers. */
const EVENT_DATA_TYPES = { string: 1, number: 2, boolean: 3, date: 4, array: 5 } as const;

/** One key's value as Umami's event and session data rows give it. */
export interface TypedDataValue {
  dataKey: string;
  dataType: number;
  stringValue: string;
  numberValue: number | null;
  dateValue: string | null;
}

/** A stored value as Umami's rows type it: as a number for a number, as a date for a date. */
export function typedValuesOf(
  dataType: number,
  stored: string,
): { numberValue: number | null; dateValue: string | null } {
  return {
    numberValue: dataType === EVENT_DATA_TYPES.number ? Number(stored) : null,
    dateValue: dataType === EVENT_DATA_TYPES.date ? stored : null,
  };
}

export interface EventDataScope {
  /** Inclusive, UTC epoch ms; none: from the first event. */
  fromMs?: number;
  /** Exclusive, UTC epoch ms; none: to the last event. */
  toMs?: number;
  /** All must hold, on each custom event (as Umami filters website_event). */
  filters: WebFilter[];
  /** Only custom events of exactly this name. */
  eventName?: string;
  /** Only the property of exactly this (flattened) name. */
  propertyName?: string;
  /** Only the event of this id (its copy received last, when it was stored twice). */
  eventId?: string;
  /** Only the events of this visitor_id. */
  visitorId?: string;
  /** `custom` holds each event's `visitor_id` too. */
  visitors?: boolean;
  /** `custom` holds each event's `event_id` too. */
  eventIds?: boolean;
}

/** A string Umami reads as a date: its DATETIME_REGEX (seconds, 3 decimals, Z or +HH:MM). */
const DATE_TIME_PATTERN =
  String.raw`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{3})?` +
  String.raw`(Z|\+[0-9]{2}:[0-9]{2})?$`;
/**
 * From this magnitude on, Umami's toFixed(4) writes a number as JavaScript's String does
 * (`1e+21`), not with 4 decimals.
 */
const JS_EXPONENT_FROM = '1e21';
/** Umami keeps a string value's first 500 characters (its FIELD_LENGTH.stringValue). */
const STRING_CHARS_MAX = 500;

/**
 * `WITH RECURSIVE …` ending in the relation `data` (no trailing comma): one row per property
 * of each matching custom event (`custom`: its `rid`, `event_name`, time `event_at` and,
 * asked for, `visitor_id` and `event_id`), with `rid`
 * (the event's row), `event_name`, `data_key`,
 * `data_type`, `stored_value` (Umami's string_value: a number with 4 decimals, from 1e21 on as
 * JavaScript writes it, an array as JSON.stringify, a date as its UTC ISO instant) and
 * `shown_value` (what Umami's fields and values lists show: a number without `.0000`, a date
 * as its UTC hour `YYYY-MM-DD HH:00:00`). An object's entries are
 * its cast to a MAP, unnested (a lateral json_each per event is ~8x slower over 1.5M
 * entries), and a string's instant is read once for its type and both values.
 */
export function eventDataCtes(from: string, scope: EventDataScope, params: SqlParams): string {
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const conditions = filterConditions({ fromMs: scope.fromMs, toMs: scope.toMs }, params);
  const custom = [`NOT list_contains(${views()}, e.name)`, 'e.properties IS NOT NULL'];
  if (scope.eventName !== undefined) custom.push(`e.name = ${params.add(scope.eventName)}`);
  if (scope.eventId !== undefined) custom.push(`e.event_id = ${params.add(scope.eventId)}`);
  if (scope.visitorId !== undefined) {
    custom.push(`e.visitor_id = ${params.add(scope.visitorId)}`);
  }
  const visitor =
    (scope.visitors === true ? ', e.visitor_id' : '') +
    (scope.eventIds === true ? ', e.event_id' : '');
  const lastCopy =
    scope.eventId === undefined
      ? ''
      : 'QUALIFY row_number() OVER (ORDER BY e.received_at DESC) = 1';
  const match = eventFiltersSql(scope.filters, views, params);
  const key =
    scope.propertyName === undefined ? '' : `WHERE data_key = ${params.add(scope.propertyName)}`;
  const pattern = params.add(DATE_TIME_PATTERN);
  const numbers = "('BIGINT', 'UBIGINT', 'DOUBLE', 'HUGEINT')";
  const T = EVENT_DATA_TYPES;
  return `WITH RECURSIVE custom AS MATERIALIZED (
      SELECT row_number() OVER () AS rid, e.name AS event_name, e.properties,
        e."timestamp" AS event_at${visitor}
      FROM ${sourcedEventsSql(from, [...conditions, ...custom])} AS e WHERE ${match} ${lastCopy}
    ), items(rid, event_name, k, v, t) AS (
      SELECT rid, event_name, e.key, e.value, json_type(e.value)
      FROM (SELECT c.rid, c.event_name, unnest(map_entries(c.properties::MAP(VARCHAR, JSON))) AS e
        FROM custom AS c WHERE json_type(c.properties) = 'OBJECT')
      WHERE NOT starts_with(e.key, '$')
      UNION ALL
      SELECT rid, event_name, k || '.' || e.key, e.value, json_type(e.value)
      FROM (SELECT i.rid, i.event_name, i.k, unnest(map_entries(i.v::MAP(VARCHAR, JSON))) AS e
        FROM items AS i WHERE i.t = 'OBJECT')
    ), leaves AS (
      SELECT rid, event_name, k, v, t, v ->> '$' AS text,
        CASE WHEN t = 'VARCHAR' AND regexp_matches(v ->> '$', ${pattern})
          THEN try_cast(v ->> '$' AS TIMESTAMPTZ) END AS instant
      FROM items WHERE t NOT IN ('OBJECT', 'NULL')
    ), typed AS (
      SELECT rid, event_name, k AS data_key, instant,
        CASE WHEN t IN ${numbers} THEN ${T.number}
          WHEN t = 'BOOLEAN' THEN ${T.boolean}
          WHEN t = 'ARRAY' THEN ${T.array}
          WHEN instant IS NOT NULL THEN ${T.date}
          ELSE ${T.string} END AS data_type,
        CASE WHEN t IN ${numbers} THEN (CASE WHEN abs(v::DOUBLE) < ${JS_EXPONENT_FROM}
            THEN printf('%.4f', v::DOUBLE) ELSE ${javascriptNumberText('text')} END)
          WHEN t = 'ARRAY' AND regexp_matches(text, '[0-9]e[0-9]')
            THEN ${javascriptJsonText('text')}
          WHEN t IN ('BOOLEAN', 'ARRAY') THEN v::VARCHAR
          WHEN instant IS NOT NULL
            THEN strftime(timezone('UTC', instant), '%Y-%m-%dT%H:%M:%S.%gZ')
          ELSE left(text, ${STRING_CHARS_MAX}) END AS stored_value
      FROM leaves
    ), data AS (
      SELECT rid, event_name, data_key, data_type, stored_value,
        CASE data_type WHEN ${T.number} THEN replace(stored_value, '.0000', '')
          WHEN ${T.date} THEN strftime(timezone('UTC', instant), '%Y-%m-%d %H:00:00')
          ELSE stored_value END AS shown_value
      FROM typed ${key}
    )`;
}

/**
 * The rows of `select(params)`, a SELECT over the relations of eventDataCtes (`data`,
 * `custom`), read on one snapshot of `tenant`'s events in the scope's range; `params` already
 * holds the CTEs' parameters, and the SELECT adds its own (a LIMIT) after them.
 */
export function readEventDataRows(
  source: EventSource,
  tenant: string,
  scope: EventDataScope,
  signal: AbortSignal | undefined,
  select: (params: SqlParams) => string,
): Promise<Row[]> {
  const range = rangeOf(scope.fromMs, scope.toMs);
  return readSnapshotRows(source, tenant, range, signal, (snapshot, params) => {
    const ctes = eventDataCtes(snapshot.from, scope, params);
    return `${ctes}\n    ${select(params)}`;
  });
}
