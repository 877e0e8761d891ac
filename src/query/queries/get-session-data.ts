// Umami's session data over Tally's events: the properties Umami's `identify` gives a session
// (its session_data), here the data of the Umami identify events Tally stores (uncounted, as
// core/uncounted.ts's UMAMI_IDENTIFY_EVENT_NAME), flattened and typed as event data is
// (event-data.ts). A session is a visitor (visitor_id); each of its keys holds the value of its
// latest identify, as Umami's session_data keeps one row per session and key. The lists count
// the sessions with an event in the range that matches the filters (Umami's filtered_sessions),
// whatever the time of the identify that set their data.

import { listValue } from '@duckdb/node-api';
import { UMAMI_IDENTIFY_EVENT_NAME } from '../../core/index.ts';
import type { EventSnapshot, EventSource } from '../../storage/index.ts';
import { eventDataCtes, type TypedDataValue, typedValuesOf } from '../event-data.ts';
import { eventFiltersSql, sourcedEventsSql } from '../event-web-filters.ts';
import { filterConditions } from '../filters.ts';
import { numberOf, readSnapshotRows } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
import type { WebFilter } from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';

/** One key of a session's data, as Umami's getSessionData answers it. */
export interface SessionDataRecord extends TypedDataValue {
  /** Umami's string_value with `.0000` taken out, as its getSessionData reads it. */
  stringValue: string;
  /** The time of the identify that set it, epoch ms. */
  atMs: number;
}

/** The sessions a list counts: those with an event in the range that matches the filters. */
export interface SessionDataScope {
  /** Inclusive, UTC epoch ms. */
  fromMs: number;
  /** Exclusive, UTC epoch ms. */
  toMs: number;
  filters: WebFilter[];
  /** Only this key. */
  propertyName?: string;
  limit: number;
}

/**
 * `WITH …` ending in `latest`: each visitor's keys, the value of its latest identify
 * (`visitor_id`, `data_key`, `data_type`, `stored_value`, `shown_value`, `event_at`).
 */
function latestCtes(snapshot: EventSnapshot, params: SqlParams, visitorId?: string): string {
  const scope = {
    filters: [],
    eventName: UMAMI_IDENTIFY_EVENT_NAME,
    visitors: true,
    ...(visitorId === undefined ? {} : { visitorId }),
  };
  return `${eventDataCtes(snapshot.allFrom, scope, params)}, latest AS (
      SELECT c.visitor_id, d.data_key, d.data_type, d.stored_value, d.shown_value, c.event_at
      FROM data AS d JOIN custom AS c USING (rid)
      WHERE c.visitor_id IS NOT NULL
      QUALIFY row_number() OVER (
        PARTITION BY c.visitor_id, d.data_key ORDER BY c.event_at DESC, d.rid DESC) = 1
    )`;
}

/** `, sessions AS (…)`: the visitors with a counted event in the scope's range and filters. */
function sessionsCte(snapshot: EventSnapshot, scope: SessionDataScope, params: SqlParams) {
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const conditions = filterConditions({ fromMs: scope.fromMs, toMs: scope.toMs }, params);
  const match = eventFiltersSql(scope.filters, views, params);
  return `, sessions AS (
      SELECT DISTINCT e.visitor_id FROM ${sourcedEventsSql(snapshot.from, conditions)} AS e
      WHERE ${match} AND e.visitor_id IS NOT NULL
    )`;
}

/** GET …/sessions/:sessionId/properties: every key of one session's data, by key. */
export async function getSessionData(
  source: EventSource,
  tenant: string,
  visitorId: string,
  signal?: AbortSignal,
): Promise<SessionDataRecord[]> {
  const rows = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    return `${latestCtes(snapshot, params, visitorId)}
      SELECT data_key, data_type, replace(stored_value, '.0000', '') AS string_value,
        stored_value, epoch_ms(event_at) AS at_ms
      FROM latest ORDER BY data_key`;
  });
  return rows.map((row) => {
    const dataType = numberOf(row.data_type);
    const stored = String(row.stored_value);
    return {
      dataKey: String(row.data_key),
      dataType,
      stringValue: String(row.string_value),
      ...typedValuesOf(dataType, stored),
      atMs: numberOf(row.at_ms),
    };
  });
}

export interface SessionDataPropertyRow {
  propertyName: string;
  dataType: number;
  total: number;
}

/** GET …/session-data/properties: each key and type with its sessions, the most first. */
export async function getSessionDataProperties(
  source: EventSource,
  tenant: string,
  scope: SessionDataScope,
  signal?: AbortSignal,
): Promise<SessionDataPropertyRow[]> {
  const rows = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    const key =
      scope.propertyName === undefined ? '' : `WHERE data_key = ${params.add(scope.propertyName)}`;
    return `${latestCtes(snapshot, params)}${sessionsCte(snapshot, scope, params)}
      SELECT data_key, data_type, count(*) AS total
      FROM latest JOIN sessions USING (visitor_id) ${key}
      GROUP BY data_key, data_type ORDER BY total DESC, data_key, data_type
      LIMIT ${params.add(scope.limit)}`;
  });
  return rows.map((row) => ({
    propertyName: String(row.data_key),
    dataType: numberOf(row.data_type),
    total: numberOf(row.total),
  }));
}

export interface SessionDataValueRow {
  value: string;
  total: number;
}

/**
 * GET …/session-data/values: one key's values (numbers without `.0000`, dates by their UTC
 * hour, as Umami shows them) with their sessions, the most first.
 */
export async function getSessionDataValues(
  source: EventSource,
  tenant: string,
  scope: SessionDataScope & { propertyName: string },
  signal?: AbortSignal,
): Promise<SessionDataValueRow[]> {
  const rows = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    return `${latestCtes(snapshot, params)}${sessionsCte(snapshot, scope, params)}
      SELECT shown_value, count(*) AS total
      FROM latest JOIN sessions USING (visitor_id)
      WHERE data_key = ${params.add(scope.propertyName)}
      GROUP BY shown_value ORDER BY total DESC, shown_value
      LIMIT ${params.add(scope.limit)}`;
  });
  return rows.map((row) => ({ value: String(row.shown_value), total: numberOf(row.total) }));
}
