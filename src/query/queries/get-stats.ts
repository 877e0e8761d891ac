// GET /api/v1/stats: exact totals and top lists of a tenant's events over a range, filtered.
// Four scans of the snapshot: the event totals; the visits, with their totals and the lists
// that count visits (entry and exit pages, sources: visit-stats.ts); and the seven top lists of
// events, ranked in one scan and their visitors counted in another (stats-lists.ts). With
// visit filters one statement before them keeps the matching visits' events (visit-scope.ts).
// Over many days holding few events (queryLimits' eventsOnce*) the four read one copy of the
// range's events, not the day segments each (events-once.ts).

import { listValue } from '@duckdb/node-api';
import type { EventColumn, EventSnapshot, EventSource } from '../../storage/index.ts';
import { EVENTS_ONCE_BOUNDS, type EventsOnceBounds, eventsOnce } from '../events-once.ts';
import {
  type EventFilters,
  FILTER_COLUMNS,
  type FilterColumn,
  filterConditions,
  whereOf,
} from '../filters.ts';
import { nullableNumberOf, numberOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import {
  rankedValuesOf,
  rankQuery,
  type TopLists,
  topListsOf,
  visitorsQuery,
} from './stats-lists.ts';
import { visitRangeOf } from './visit-rows.ts';
import { materializedVisitScope, type VisitScope } from './visit-scope.ts';
import { type VisitLists, type VisitTotals, visitStatsOf, visitStatsQuery } from './visit-stats.ts';

/** Event names that count as a page view. */
export const PAGE_VIEW_NAMES = ['page_view', 'pageview', '$pageview', 'page'];

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
  TopLists;

/** `once`: when the four statements read one copy of the events (tests read both ways). */
export async function getStats(
  source: EventSource,
  tenant: string,
  options: StatsOptions,
  signal?: AbortSignal,
  once: EventsOnceBounds = EVENTS_ONCE_BOUNDS,
): Promise<Stats> {
  const { filters } = options;
  const { fromMs, toMs } = filters;
  // Visits are read whole (visit-rows.ts's reach): the snapshot holds the events around too.
  const range = visitRangeOf(fromMs, toMs);
  return withSnapshot(source, tenant, range, signal, async (taken) => {
    // Over many small days the range's events are read once, into one file.
    const needed = { range, includeBots: filters.includeBots, columns: statsColumnsOf(options) };
    const copied = await eventsOnce(taken, needed, once);
    const { snapshot } = copied;
    try {
      // With visit filters the kept visits' events are found once for the four statements.
      const scoped =
        options.visits === undefined
          ? undefined
          : await materializedVisitScope(snapshot, options.visits, filters, PAGE_VIEW_NAMES);
      try {
        return await statsOf(snapshot, options, (params) => scoped?.from(params) ?? snapshot.from);
      } finally {
        await scoped?.drop();
      }
    } finally {
      copied.remove();
    }
  });
}

/**
 * The four statements of getStats over `fromOf`, the relation of the events to count (each
 * statement binds its own values). Exported for the test that checks the visit scope formed
 * once against one formed in each statement.
 */
export async function statsOf(
  snapshot: EventSnapshot,
  options: StatsOptions,
  fromOf: (params: SqlParams) => string,
): Promise<Stats> {
  const read = (sqlOf: (from: string, params: SqlParams) => string) => {
    const params = new SqlParams();
    return readRows(snapshot, sqlOf(fromOf(params), params), params);
  };
  const { filters, top } = options;
  const [totals] = await read((from, params) => totalsQuery(from, filters, params));
  const visits = await read((from, params) =>
    visitStatsQuery(from, snapshot.allFrom, filters, params, PAGE_VIEW_NAMES, top),
  );
  const ranked = rankedValuesOf(
    await read((from, params) => rankQuery(from, filters, PAGE_VIEW_NAMES, top, params)),
  );
  // No ranked value, no visitor to count: the scan is skipped.
  const visitors =
    ranked.length === 0
      ? []
      : await read((from, params) => visitorsQuery(from, filters, PAGE_VIEW_NAMES, ranked, params));
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
}

/**
 * The columns the statements of getStats read (eventsOnce): the lists', the visits', those
 * its filters compare, and with visit filters the key visit-scope.ts finds events again by.
 */
function statsColumnsOf({ filters, visits }: StatsOptions): EventColumn[] {
  const columns: EventColumn[] = [...STATS_COLUMNS];
  for (const [name, value] of Object.entries(filters.equals ?? {})) {
    if (value !== undefined) columns.push(FILTER_COLUMNS[name as FilterColumn]);
  }
  if (filters.valued === true) columns.push('value');
  if (visits !== undefined) columns.push('event_id', 'received_at');
  return columns;
}

const STATS_COLUMNS: readonly EventColumn[] = [
  'name',
  'timestamp',
  'user_id',
  'visitor_id',
  'session_id',
  'duration',
  'is_bot',
  'properties',
  'path',
  'url',
  'referrer',
  'country',
  'browser',
  'os',
  'device',
];

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
