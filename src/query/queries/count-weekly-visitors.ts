// Umami's weekly traffic (its getWeeklyTraffic): the distinct visitors of each hour of the
// week, by the local weekday (Sunday first) and hour of their events in a zone, over the
// events of a range that match the filters (read on each event, as Umami reads them:
// event-web-filters.ts); bots left out.

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../../storage/index.ts';
import { eventFiltersSql, sourcedEventsSql } from '../event-web-filters.ts';
import { filterConditions } from '../filters.ts';
import { numberOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import type { WebFilter } from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';

export interface WeeklyVisitorsOptions {
  /** Inclusive, UTC epoch ms. */
  fromMs: number;
  /** Exclusive, UTC epoch ms. */
  toMs: number;
  /** An IANA zone (isTimeZone). */
  tz: string;
  /** All must hold, on each event. */
  filters: WebFilter[];
}

export const WEEK_DAYS = 7;
export const DAY_HOURS = 24;

/** Visitors by `[weekday][hour]`: 7 rows (Sunday first) of 24 hours, 0 where none. */
export async function countWeeklyVisitors(
  source: EventSource,
  tenant: string,
  options: WeeklyVisitorsOptions,
  signal?: AbortSignal,
): Promise<number[][]> {
  const { fromMs, toMs } = options;
  const rows = await withSnapshot(source, tenant, { fromMs, toMs }, signal, (snapshot) => {
    const params = new SqlParams();
    const views = params.lazy(listValue(PAGE_VIEW_NAMES));
    const events = sourcedEventsSql(snapshot.from, filterConditions({ fromMs, toMs }, params));
    const local = `timezone(${params.add(options.tz)}, e."timestamp")`;
    const sql = `SELECT dayofweek(${local}) AS weekday, hour(${local}) AS hour,
        count(DISTINCT e.visitor_id) AS visitors
      FROM ${events} AS e
      WHERE ${eventFiltersSql(options.filters, views, params)}
      GROUP BY 1, 2`;
    return readRows(snapshot, sql, params);
  });
  const week = Array.from({ length: WEEK_DAYS }, () => new Array<number>(DAY_HOURS).fill(0));
  for (const row of rows) {
    const day = week[numberOf(row.weekday)];
    if (day !== undefined) day[numberOf(row.hour)] = numberOf(row.visitors);
  }
  return week;
}
