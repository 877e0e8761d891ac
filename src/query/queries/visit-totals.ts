// The visit metrics of GET /api/v1/stats (visits, bounce rate, visit duration, views per visit),
// with Plausible's definitions. A visit is the events of one session_id when they carry one
// (PostHog, Umami, the native API); otherwise the events of one visitor_id with no gap longer
// than VISIT_GAP_MINUTES between consecutive ones, as Plausible cuts its sessions. Visits are
// made of the events inside the range (bots per the filters), then kept when one of their
// events matches the other filters: "visits that contain a matching event", as Plausible
// filters its sessions by page or goal, measured over all of their events.

import { listValue } from '@duckdb/node-api';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { nullableNumberOf, numberOf, type Row } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';

/** Plausible's session timeout: a longer pause between two events starts a new visit. */
export const VISIT_GAP_MINUTES = 30;
const VISIT_GAP_MS = VISIT_GAP_MINUTES * 60_000;

/** The property a non-interactive event carries (Plausible's `interactive: false`). */
const INTERACTIVE_PROPERTY = '$interactive';

export interface VisitTotals {
  visits: number;
  /** Percentage (0–100, whole) of visits that bounced; null without visits. */
  bounce_rate: number | null;
  /** Mean seconds from a visit's first to its last event (bounces 0), whole; null without. */
  visit_duration: number | null;
  /** Page views per visit, 2 decimals; null without visits. */
  views_per_visit: number | null;
}

/**
 * One row: visits, bounce_rate, visit_duration, views_per_visit over `from`. A visit bounces
 * when it holds at most one interactive event (Plausible's is_bounce: a second page view or
 * custom event ends it; a non-interactive one does not).
 */
export function visitTotalsQuery(
  from: string,
  filters: EventFilters,
  params: SqlParams,
  pageViewNames: string[],
): string {
  const scope = filterConditions(
    { includeBots: filters.includeBots, fromMs: filters.fromMs, toMs: filters.toMs },
    params,
  );
  const matching = filterConditions(
    { ...filters, includeBots: true, fromMs: undefined, toMs: undefined },
    params,
  );
  const matched = matching.length === 0 ? 'true' : matching.join(' AND ');
  const views = params.add(listValue(pageViewNames));
  const key = params.add(`"${INTERACTIVE_PROPERTY}"`);
  const pointer = params.add(`/${INTERACTIVE_PROPERTY}`);
  // contains() first, whatever the spacing of the JSON text: most events do not name the key
  // and skip the JSON parse.
  const interactive = `NOT (contains(CAST(e.properties AS VARCHAR), ${key})
    AND coalesce(json_extract_string(e.properties, ${pointer}) = 'false', false))`;
  const gapMs = params.add(VISIT_GAP_MS);
  // Times as epoch ms: lag and subtraction over TIMESTAMPTZ go through ICU, ~4× slower here.
  return `WITH ev AS (
      SELECT e.session_id, e.visitor_id, epoch_ms(e."timestamp") AS ts,
        list_contains(${views}, e.name) AS is_view, ${interactive} AS interactive,
        (${matched}) AS matched
      FROM ${from} AS e ${whereOf(scope)}
    ), gaps AS (
      SELECT visitor_id, ts, is_view, interactive, matched,
        coalesce(ts - lag(ts) OVER (PARTITION BY visitor_id ORDER BY ts) > ${gapMs}, true)
          AS starts
      FROM ev WHERE session_id IS NULL
    ), grouped AS (
      SELECT false AS by_gaps, session_id AS key, 0 AS n, ts, is_view, interactive, matched
      FROM ev WHERE session_id IS NOT NULL
      UNION ALL
      -- The default frame takes in ties: the events of one instant share their visit.
      SELECT true, visitor_id,
        sum(CAST(starts AS INTEGER)) OVER (PARTITION BY visitor_id ORDER BY ts),
        ts, is_view, interactive, matched
      FROM gaps
    ), visits AS (
      SELECT count(*) FILTER (WHERE interactive) <= 1 AS bounced,
        count(*) FILTER (WHERE is_view) AS views, (max(ts) - min(ts)) / 1000 AS seconds
      FROM grouped GROUP BY by_gaps, key, n HAVING bool_or(matched)
    )
    SELECT count(*) AS visits,
      round(100 * avg(CAST(bounced AS INTEGER))) AS bounce_rate,
      round(avg(CASE WHEN bounced THEN 0 ELSE seconds END)) AS visit_duration,
      round(avg(views), 2) AS views_per_visit
    FROM visits`;
}

/** The VisitTotals of the row visitTotalsQuery answers. */
export function visitTotalsOf(row: Row | undefined): VisitTotals {
  return {
    visits: numberOf(row?.visits),
    bounce_rate: nullableNumberOf(row?.bounce_rate),
    visit_duration: nullableNumberOf(row?.visit_duration),
    views_per_visit: nullableNumberOf(row?.views_per_visit),
  };
}
