// getStats as it was before query/visit-scope (8f24915): the visit scope formed again in each of
// its four statements (visitScopedFrom). Copied as it was, for test/query/visit-scope-old.test.ts.

import { listValue } from '@duckdb/node-api';
import { type EventFilters, filterConditions, whereOf } from '../../src/query/filters.ts';
import {
  rankedValuesOf,
  rankQuery,
  type TopLists,
  topListsOf,
  visitorsQuery,
} from '../../src/query/queries/stats-lists.ts';
import { visitRangeOf } from '../../src/query/queries/visit-rows.ts';
import { type VisitScope, visitScopedFrom } from '../../src/query/queries/visit-scope.ts';
import {
  type VisitLists,
  type VisitTotals,
  visitStatsOf,
  visitStatsQuery,
} from '../../src/query/queries/visit-stats.ts';
import { nullableNumberOf, numberOf, readRows, withSnapshot } from '../../src/query/read.ts';
import { SqlParams } from '../../src/query/sql-params.ts';
import type { EventSource } from '../../src/storage/index.ts';

/** Event names that count as a page view. */
const PAGE_VIEW_NAMES = ['page_view', 'pageview', '$pageview', 'page'];

interface StatsOptions {
  filters: EventFilters;
  /** Rows per top list. */
  top: number;
  /** Only the events of the visits that match (visit-scope.ts); no visits formed without. */
  visits?: VisitScope | undefined;
}

type Stats = {
  total_events: number;
  page_views: number;
  unique_users: number;
  unique_visitors: number;
  sessions: number;
  /** Mean `duration` (seconds) of the events that carry one; null when none does. */
  avg_duration: number | null;
} & VisitTotals &
  VisitLists &
  TopLists;

export async function oldGetStats(
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
    const rankParams = new SqlParams();
    const rankSql = rankQuery(
      fromOf(rankParams),
      options.filters,
      rankParams.add(listValue(PAGE_VIEW_NAMES)),
      options.top,
      rankParams,
    );
    const ranked = rankedValuesOf(await readRows(snapshot, rankSql, rankParams));
    const visitorParams = new SqlParams();
    const visitorSql = visitorsQuery(
      fromOf(visitorParams),
      options.filters,
      visitorParams.add(listValue(PAGE_VIEW_NAMES)),
      ranked,
      visitorParams,
    );
    // No ranked value, no visitor to count: the scan is skipped.
    const visitors = ranked.length === 0 ? [] : await readRows(snapshot, visitorSql, visitorParams);
    return {
      total_events: numberOf(totals?.total_events),
      page_views: numberOf(totals?.page_views),
      unique_users: numberOf(totals?.unique_users),
      unique_visitors: numberOf(totals?.unique_visitors),
      sessions: numberOf(totals?.sessions),
      avg_duration: nullableNumberOf(totals?.avg_duration),
      ...visitStatsOf(visits),
      ...topListsOf(ranked, visitors),
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
