// Umami's weekly traffic (its getWeeklyTraffic): the distinct visitors of each hour of the
// week, by the local weekday (Sunday first) and hour of their events in a zone, over the
// events of a range that match the filters (read on each event, as Umami reads them:
// event-web-filters.ts); bots left out.

import { BIGINT, LIST, listValue } from '@duckdb/node-api';
import { DAY_MS, HOUR_MS } from '../../core/index.ts';
import { type EventSource, floorDivSql } from '../../storage/index.ts';
import { eventFiltersSql, sourcedEventsSql } from '../event-web-filters.ts';
import { filterConditions } from '../filters.ts';
import { numberOf, readSnapshotRows } from '../read.ts';
import { offsetSpans } from '../time-buckets.ts';
import type { WebFilter } from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';

export interface WeeklyVisitorsOptions {
  /** Inclusive, UTC epoch ms. */
  fromMs: number;
  /** Exclusive, UTC epoch ms. */
  toMs: number;
  /** An IANA zone (timeZoneName). */
  tz: string;
  /** All must hold, on each event. */
  filters: WebFilter[];
}

const WEEK_DAYS = 7;
/** 1970-01-01, day 0 of the epoch, was a Thursday: weekday 4 counting from Sunday. */
const EPOCH_WEEKDAY = 4;
const DAY_HOURS = 24;

/** Visitors by `[weekday][hour]`: 7 rows (Sunday first) of 24 hours, 0 where none. */
export async function countWeeklyVisitors(
  source: EventSource,
  tenant: string,
  options: WeeklyVisitorsOptions,
  signal?: AbortSignal,
): Promise<number[][]> {
  const { fromMs, toMs } = options;
  const range = { fromMs, toMs };
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) => {
    const views = params.lazy(listValue(PAGE_VIEW_NAMES));
    const events = sourcedEventsSql(snapshot.from, filterConditions({ fromMs, toMs }, params));
    // Local times by the zone's offsets as every other read has them (Intl's), not DuckDB's
    // timezone(), whose tzdata may be another release's (America/Vancouver from 2026-11-01).
    const spans = offsetSpans(fromMs, toMs, options.tz);
    const list = (values: number[]) => params.add(listValue(values.map(BigInt)), LIST(BIGINT));
    const day = floorDivSql('local_ms', DAY_MS);
    return `WITH zone AS (
        SELECT unnest(${list(spans.starts)}) AS start_ms,
          unnest(${list(spans.offsets)}) AS offset_ms),
      matched AS (
        SELECT e.visitor_id, epoch_ms(e."timestamp") AS ts FROM ${events} AS e
        WHERE ${eventFiltersSql(options.filters, views, params)}),
      local AS (
        SELECT m.visitor_id, m.ts + z.offset_ms AS local_ms
        FROM matched m ASOF JOIN zone z ON m.ts >= z.start_ms)
      SELECT ((${day} + ${EPOCH_WEEKDAY}) % 7 + 7) % 7 AS weekday,
        (local_ms - ${day} * ${DAY_MS}) // ${HOUR_MS} AS hour,
        count(DISTINCT visitor_id) AS visitors
      FROM local GROUP BY 1, 2`;
  });
  const week = Array.from({ length: WEEK_DAYS }, () => new Array<number>(DAY_HOURS).fill(0));
  for (const row of rows) {
    const day = week[numberOf(row.weekday)];
    if (day !== undefined) day[numberOf(row.hour)] = numberOf(row.visitors);
  }
  return week;
}
