// GET /api/v1/stats: exact totals and top lists of a tenant's events over a range, filtered.
// Three scans of the snapshot: the event totals; the visits, with their totals and the lists
// that count visits (entry and exit pages, sources: visit-stats.ts); and the seven top lists of
// events (GROUPING SETS).
// The lists count distinct visitors as (value, visitor) groups, not with count(DISTINCT):
// DuckDB keeps a distinct set per group of each grouping set, ~1.4× slower on a busy day.

import { listValue } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { nullableNumberOf, numberOf, type Row, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import { visitRangeOf } from './visit-rows.ts';
import { type VisitScope, visitScopedFrom } from './visit-scope.ts';
import { type VisitLists, type VisitTotals, visitStatsOf, visitStatsQuery } from './visit-stats.ts';

/** Event names that count as a page view. */
export const PAGE_VIEW_NAMES = ['page_view', 'pageview', '$pageview', 'page'];

/** Each top list of events: its key in the response, the column it groups, its value's key. */
const BREAKDOWNS = [
  { list: 'top_paths', column: 'path', key: 'path' },
  { list: 'top_referrers', column: 'referrer', key: 'referrer' },
  { list: 'top_events', column: 'name', key: 'name' },
  { list: 'os', column: 'os', key: 'os' },
  { list: 'browsers', column: 'browser', key: 'browser' },
  { list: 'devices', column: 'device', key: 'device' },
  { list: 'countries', column: 'country', key: 'country' },
] as const;

type ListName = (typeof BREAKDOWNS)[number]['list'];

export interface StatsOptions {
  filters: EventFilters;
  /** Rows per top list. */
  top: number;
  /** Only the events of the visits that match (visit-scope.ts); no visits formed without. */
  visits?: VisitScope | undefined;
}

export type Stats = {
  total_events: number;
  page_views: number;
  unique_users: number;
  unique_visitors: number;
  sessions: number;
  /** Mean `duration` (seconds) of the events that carry one; null when none does. */
  avg_duration: number | null;
} & VisitTotals &
  VisitLists &
  Record<ListName, Record<string, string | number>[]>;

export async function getStats(
  source: EventSource,
  tenant: string,
  options: StatsOptions,
  signal?: AbortSignal,
): Promise<Stats> {
  const { fromMs, toMs } = options.filters;
  // Visits are read whole (visit-rows.ts's reach): the snapshot holds the events around too.
  return withSnapshot(source, tenant, visitRangeOf(fromMs, toMs), signal, async (snapshot) => {
    // Each statement binds its own values: the scoped relation is made for each.
    const fromOf = (params: SqlParams) =>
      options.visits === undefined
        ? snapshot.from
        : visitScopedFrom(snapshot, options.visits, options.filters, PAGE_VIEW_NAMES, params);
    const totalsParams = new SqlParams();
    const totalsSql = totalsQuery(fromOf(totalsParams), options.filters, totalsParams);
    const [totals] = await readRows(snapshot, totalsSql, totalsParams);
    const visitParams = new SqlParams();
    const visitSql = visitStatsQuery(
      fromOf(visitParams),
      snapshot.allFrom,
      options.filters,
      visitParams,
      PAGE_VIEW_NAMES,
      options.top,
    );
    const visits = await readRows(snapshot, visitSql, visitParams);
    const listParams = new SqlParams();
    const listSql = listsQuery(fromOf(listParams), options, listParams);
    const lists = await readRows(snapshot, listSql, listParams);
    return {
      total_events: numberOf(totals?.total_events),
      page_views: numberOf(totals?.page_views),
      unique_users: numberOf(totals?.unique_users),
      unique_visitors: numberOf(totals?.unique_visitors),
      sessions: numberOf(totals?.sessions),
      avg_duration: nullableNumberOf(totals?.avg_duration),
      ...visitStatsOf(visits),
      ...topLists(lists),
    };
  });
}

function totalsQuery(from: string, filters: EventFilters, params: SqlParams): string {
  const where = whereOf(filterConditions(filters, params));
  const views = params.add(listValue(PAGE_VIEW_NAMES));
  return `SELECT count(*) AS total_events,
      count(*) FILTER (WHERE list_contains(${views}, e.name)) AS page_views,
      count(DISTINCT e.user_id) AS unique_users,
      count(DISTINCT e.visitor_id) AS unique_visitors,
      count(DISTINCT e.session_id) AS sessions,
      avg(e.duration) AS avg_duration
    FROM ${from} AS e ${where}`;
}

/**
 * One row per (list, value) in the top N of each list. Paths rank by page views, the other
 * lists by events; ties by value, so the order is stable.
 */
function listsQuery(from: string, options: StatsOptions, params: SqlParams): string {
  const where = whereOf(filterConditions(options.filters, params));
  const views = params.add(listValue(PAGE_VIEW_NAMES));
  const columns = BREAKDOWNS.map((b) => b.column);
  const which = BREAKDOWNS.map((b) => `WHEN grouping(${b.column}) = 0 THEN '${b.list}'`);
  return `WITH f AS (
      SELECT ${columns.map((c) => `e."${c}" AS ${c}`).join(', ')}, e.visitor_id,
        list_contains(${views}, e.name) AS is_view
      FROM ${from} AS e ${where}
    ), per_visitor AS (
      SELECT CASE ${which.join(' ')} END AS list, coalesce(${columns.join(', ')}) AS value,
        visitor_id, count(*) AS events, count(*) FILTER (WHERE is_view) AS views
      FROM f GROUP BY GROUPING SETS (${columns.map((c) => `(${c}, visitor_id)`).join(', ')})
    ), g AS (
      SELECT list, value, sum(events) AS events, sum(views) AS views,
        count(visitor_id) AS visitors,
        count(visitor_id) FILTER (WHERE views > 0) AS view_visitors
      FROM per_visitor GROUP BY list, value
    ), ranked AS (
      SELECT *, row_number() OVER (
          PARTITION BY list
          ORDER BY CASE WHEN list = 'top_paths' THEN views ELSE events END DESC, value
        ) AS rank
      FROM g
      WHERE value IS NOT NULL AND value <> '' AND (list <> 'top_paths' OR views > 0)
    )
    SELECT list, value, events, views, visitors, view_visitors FROM ranked
    WHERE rank <= ${params.add(options.top)} ORDER BY list, rank`;
}

function topLists(rows: Row[]): Record<ListName, Record<string, string | number>[]> {
  const lists = Object.fromEntries(BREAKDOWNS.map((b) => [b.list, []])) as unknown as Record<
    ListName,
    Record<string, string | number>[]
  >;
  for (const row of rows) {
    const breakdown = BREAKDOWNS.find((b) => b.list === row.list);
    assert(breakdown !== undefined, `unknown top list ${String(row.list)}`);
    const value = String(row.value);
    lists[breakdown.list].push(
      breakdown.list === 'top_paths'
        ? { path: value, views: numberOf(row.views), visitors: numberOf(row.view_visitors) }
        : {
            [breakdown.key]: value,
            events: numberOf(row.events),
            visitors: numberOf(row.visitors),
          },
    );
  }
  return lists;
}
