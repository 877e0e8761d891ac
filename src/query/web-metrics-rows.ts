// The counted rows of a web metrics read (queries/get-web-metrics.ts): the plan its parts share,
// and the CTEs that make them, each row with its keys `d0, d1, …`. Without a visit filter or
// property the events are read directly (`f`, then `er`); else the visit grouping
// (visit-rows.ts) and the kept visits (visit-match.ts) give the counted events `er` and visits
// `vr`, with the visits by entry page (`nr`), the exit rate's page views (`xp`), the time on
// page's and the engagement metrics' CTEs when asked for. The metrics over these rows are
// web-metrics-select.ts's.

import type { BucketJoin } from './bucketed.ts';
import { type EngagementSpec, engagementCtes } from './engagement-metrics.ts';
import { filterConditions, whereOf } from './filters.ts';
import { type EntryPlan, pageViewsSql } from './page-visits.ts';
import { PAGE_VIEW_NAMES } from './queries/get-stats.ts';
import {
  keptVisitsCtes,
  sameVisitSql,
  VISIT_FIRST_EXTRA,
  VISIT_KEY,
} from './queries/visit-match.ts';
import { visitEventsCtes } from './queries/visit-rows.ts';
import type { SqlParams } from './sql-params.ts';
import * as timeOnPage from './time-on-page.ts';
import type { WebMetricsOptions } from './web-metrics-model.ts';

/** Where each key of a row comes from: the bucket, an event column `e<i>`, a visit's `v<i>`. */
export type KeySource = { bucket: true } | { event: number } | { visit: number };

/** What every part of the statement shares. */
export interface WebMetricsPlan {
  from: string;
  /** Every stored row, beacons too (they keep visits alive). */
  allFrom: string;
  options: WebMetricsOptions;
  params: SqlParams;
  /** The bound list of page view names (bound at its first use). */
  views: () => string;
  /** Whether an event matches the event filters, over `e`. */
  eventMatch: string;
  /** The event properties among the keys, over `e` (as columns e0, e1, …). */
  eventKeys: string[];
  /** The visit filters' condition and the visit properties among the keys, over a visit. */
  visitMatch: string;
  visitKeys: string[];
  /** Each key's source, in order; a single NULL key in total. */
  keys: (KeySource | null)[];
  buckets: BucketJoin | null;
  /**
   * With `reach`, visits count in several buckets (`vb`): every bucket of their time
   * (TimeKey's `spans`), or every bucket where they hold a counted event (its `byEvents`).
   */
  spans: 'time' | 'events' | null;
  /** Whether a filter or a key reads the visits' channel (its columns are made). */
  channels: boolean;
  /** The visit column `v<i>` saying a visit's bounce counts (byEntryPage), or null. */
  bounceOver: string | null;
  /**
   * By entry page (byEntryPage by a page key): the kept visits' column `v<i>` of their entry
   * page, the condition they are counted by there (over `k`: the page filters read on the
   * entry page, `nmatched` for the other event filters), and those other filters (over `e`).
   */
  entry: EntryPlan | null;
  /** A condition over the kept visit `k` every counted row also meets ('true': none). */
  rowMatch: string;
  /** The exit rate is asked for: `xp` holds the page views of each page. */
  exitRate: boolean;
  /** The metrics read from the visits `vr` (VISIT_METRICS, `visitors` with visitorsOfVisits). */
  visitMetrics: readonly string[];
  wantsVisits: boolean;
  /** The metrics read the counted events `er` (readsEvents). */
  wantsEvents: boolean;
  /** The time on page, asked for in total or by page: its sequence's event columns. */
  timed: { by: timeOnPage.TimedBy; columns: Record<string, string> } | null;
  /** The engagement metrics (scroll depth, time on page), in total or by page. */
  engaged: EngagementSpec | null;
}

/** A row's key columns `d0, d1, …`: each from the bucket, an event column or a visit's. */
function keyColumns(
  plan: WebMetricsPlan,
  event: string,
  visit: string,
  eventKey?: string,
  bucket = 'b',
): string {
  return plan.keys
    .map((key, i) => {
      const sql =
        key === null
          ? 'NULL'
          : 'bucket' in key
            ? `${bucket}.bucket_ms`
            : 'event' in key
              ? `${event}.${eventKey ?? `e${key.event}`}`
              : `${visit}.v${key.visit}`;
      return `${sql} AS d${i}`;
    })
    .join(', ');
}

const eventColumns = (plan: WebMetricsPlan) => plan.eventKeys.map((_, i) => `e${i}`);

/** `f AS (…), er AS (…)`: counted events, read directly (no visit filter or property). */
export function eventCtes(plan: WebMetricsPlan): string {
  const { options, params } = plan;
  const scope = filterConditions({ fromMs: options.fromMs, toMs: options.toMs }, params);
  const keys = plan.eventKeys.map((sql, i) => `, ${sql} AS e${i}`).join('');
  return `f AS (
      SELECT epoch_ms(e."timestamp") AS ts, e.visitor_id, list_contains(${plan.views()}, e.name)
        AS is_view${keys}
      FROM ${plan.from} AS e ${whereOf([...scope, `(${plan.eventMatch})`])}
    ), er AS (
      SELECT ${keyColumns(plan, 'f', '')}, visitor_id, 1 AS events_n, is_view::INT AS views_n
      FROM f ${plan.buckets?.join('f.ts') ?? ''}
    )`;
}

/**
 * The visit grouping (visit-rows.ts), then `kept` (visit-match.ts): the visits that match the
 * visit filters, with `matched` (they hold an event matching the event filters), their start
 * and visit keys `v<i>`; then the counted events `er` and visits `vr`, each with its row's
 * keys `d<i>`.
 */
export function visitCtes(plan: WebMetricsPlan): string {
  const { options, params } = plan;
  const grouping = visitEventsCtes({
    from: plan.from,
    beacons: plan.allFrom,
    filters: { fromMs: options.fromMs, toMs: options.toMs },
    params,
    pageViewNames: PAGE_VIEW_NAMES,
    reach: options.reach === true,
    extra: {
      ematch: `(${plan.eventMatch})`,
      ...Object.fromEntries(plan.eventKeys.map((sql, i) => [`e${i}`, sql])),
      ...VISIT_FIRST_EXTRA,
      ...plan.timed?.columns,
      ...(plan.entry?.rest ? { nmatch: `(${plan.entry.rest})` } : {}),
    },
  });
  const nmatched = plan.entry?.rest ? ['bool_or(nmatch AND side = 0) AS nmatched'] : [];
  const matched = ['bool_or(ematch AND side = 0) AS matched', ...nmatched];
  const counted = countedPerVisit(plan) ? COUNTED_PER_VISIT : {};
  const spans = viewSpans(plan) ? VIEW_SPAN : {};
  const kept = keptVisitsCtes({
    aggregates: [
      'min(ts) AS start_ts',
      // A visit's user, as a Plausible session has one (a session id's visitor may change).
      'min(visitor_id) AS visitor',
      ...bucketTimesOf(plan),
      ...matched,
      ...Object.entries({ ...counted, ...spans }).map(([name, sql]) => `${sql} AS ${name}`),
    ],
    carried: ['bucket_ts', 'bucket_end_ts', 'visitor', 'matched', 'bounced', 'views', 'seconds']
      .concat(nmatched.length > 0 ? ['nmatched'] : [])
      .concat(Object.keys(counted), Object.keys(spans)),
    match: plan.visitMatch,
    keys: plan.visitKeys,
    channels: plan.channels,
  });
  const joinKept = `JOIN kept AS k ON ${sameVisitSql('g', 'k')}`;
  const timed = plan.timed && timeOnPage.timeOnPageCtes(plan.timed.by, plan.visitMatch, joinKept);
  const engaged = plan.engaged && `${engagementCtes(plan.engaged)},`;
  const entry =
    plan.entry === null
      ? ''
      : `, nr AS (${entryRowsSql(keyColumns(plan, 'k', 'k', plan.entry.page), plan)})`;
  const exits = plan.exitRate ? `, xp AS (${pageViewsSql(joinKept)})` : '';
  const spanned = visitSpansSql(plan);
  return `${grouping}, ${kept}, ${timed ? `${timed},` : ''} ${engaged || ''} ${spanned}
    er AS (${eventRowsSql(plan)}),
    vr AS (${visitRowsOf(plan)})${entry}${exits}`;
}

/**
 * `bucket_ts` and `bucket_end_ts` of a kept visit: the times that put it in buckets. Only the
 * range's count: with `reach` (Plausible's sessions, counted by their `timestamp`) its last
 * event's, the range's last instant when it ends after the range; with `spans` every bucket
 * from its start (the range's first instant when it began before) to that; else its start's.
 */
function bucketTimesOf(plan: WebMetricsPlan): string[] {
  const { options, params } = plan;
  // Each bound once used: DuckDB refuses a statement with a parameter it does not read.
  const end = `least(max(ts), epoch_ms(${params.addInstant(options.toMs)}) - 1)`;
  if (options.reach === true && plan.spans !== 'time') {
    return [`${end} AS bucket_ts`, 'NULL AS bucket_end_ts'];
  }
  const start = `greatest(min(ts), epoch_ms(${params.addInstant(options.fromMs)}))`;
  return [`${start} AS bucket_ts`, `${end} AS bucket_end_ts`];
}

/**
 * With `spans`, `vb AS (…),`: each kept visit's key with every bucket (`bucket_ms`) its time
 * from `bucket_ts` to `bucket_end_ts` touches, once (Plausible's sessions by hour: each hour of
 * its time slots, ClickHouse's timeSlots from `start` to `timestamp`), or ('events') that of
 * each of its counted events. Else nothing.
 */
function visitSpansSql(plan: WebMetricsPlan): string {
  if (plan.buckets === null || plan.spans === null) return '';
  if (plan.spans === 'events') {
    return `vb AS (
      SELECT DISTINCT ${VISIT_KEY.map((c) => `g.${c}`).join(', ')}, b.bucket_ms
      FROM grouped AS g ${plan.buckets.join('g.ts')}
      WHERE g.ematch AND g.side = 0
    ),`;
  }
  const toMs = `epoch_ms(${plan.params.addInstant(plan.options.toMs)})`;
  return `vb AS (
      SELECT DISTINCT ${VISIT_KEY.map((c) => `k.${c}`).join(', ')}, s.bucket_ms
      FROM kept AS k JOIN (
        SELECT start_ms, bucket_ms,
          coalesce(lead(start_ms) OVER (ORDER BY start_ms), ${toMs}) AS end_ms
        FROM buckets) AS s
      ON s.start_ms <= k.bucket_end_ts AND s.end_ms > k.bucket_ts
    ),`;
}

/** The join giving a kept visit `k` its bucket `b.bucket_ms` (each of them with `spans`). */
function visitBucketsJoin(plan: WebMetricsPlan): string {
  if (plan.buckets === null) return '';
  if (plan.spans !== null) return `JOIN vb AS b ON ${sameVisitSql('k', 'b')}`;
  return plan.buckets.join('k.bucket_ts');
}

/** The visits entered at a page, by it (entryPlanOf): ENTRY_METRICS' rows. */
function entryRowsSql(keys: string, plan: WebMetricsPlan): string {
  return `SELECT ${keys}, k.bounced, k.seconds
    FROM kept AS k ${visitBucketsJoin(plan)}
    WHERE ${plan.entry?.match} AND ${plan.rowMatch}`;
}

/** A visit's seconds from its first to its last page view (NULL without one): Umami's span. */
const VIEW_SPAN = {
  view_seconds: '(max(ts) FILTER (WHERE is_view) - min(ts) FILTER (WHERE is_view)) / 1000',
};

/** Whether the visits' rows need VIEW_SPAN: the visit_seconds metric (Umami's totaltime). */
function viewSpans(plan: WebMetricsPlan): boolean {
  return plan.options.metrics.includes('visit_seconds');
}

/**
 * What each kept visit counts of its counted events (those in the range matching the event
 * filters), when its rows need nothing else of them (countedPerVisit): their number, their
 * page views, and their distinct visitor_ids (one, but for a session whose visitor changed).
 */
const COUNTED_PER_VISIT = {
  counted_events: 'count(*) FILTER (WHERE ematch AND side = 0)',
  counted_views: 'count(*) FILTER (WHERE ematch AND side = 0 AND is_view)',
  counted_visitors: 'list(DISTINCT visitor_id) FILTER (WHERE ematch AND side = 0)',
};

/**
 * Whether the counted events of a kept visit all fall in one row: the rows are keyed by visit
 * properties alone (no event property, no bucket of the event's own time). Then `er` is made
 * of the kept visits alone (COUNTED_PER_VISIT), instead of their events joined back one by
 * one: over 30 days of 10M events (1.1M visits), Plausible's breakdowns by a visit property
 * took 3.1–6.3 s with the join, 1.5–4 s without (in-process, 2 cores), as `grouped` need no
 * longer be kept for a second read.
 */
function countedPerVisit(plan: WebMetricsPlan): boolean {
  const byVisit = plan.visitMatch !== 'true' || plan.visitKeys.length > 0;
  // Without event metrics `er` is never read: its counts would be made for nothing.
  return plan.wantsEvents && byVisit && plan.eventKeys.length === 0 && plan.buckets === null;
}

/**
 * Counted events, as rows of `events_n` events and `views_n` page views, and a `visitor_id`:
 * of a kept visit (joined only when filters or keys need the visit), one row per event. With
 * countedPerVisit, a row per kept visit with its counts (no visitor), and a row per visitor of
 * it (no events).
 */
function eventRowsSql(plan: WebMetricsPlan): string {
  const buckets = plan.buckets?.join('g.ts') ?? '';
  if (plan.visitMatch === 'true' && plan.visitKeys.length === 0) {
    return `SELECT ${keyColumns(plan, 'g', '')}, visitor_id, 1 AS events_n,
        is_view::INT AS views_n
      FROM ev AS g ${buckets} WHERE g.ematch AND g.side = 0`;
  }
  if (countedPerVisit(plan)) {
    const counted = `FROM kept AS k WHERE k.counted_events > 0 AND ${plan.rowMatch}`;
    return `SELECT ${keyColumns(plan, '', 'k')}, NULL AS visitor_id,
        k.counted_events AS events_n, k.counted_views AS views_n ${counted}
      UNION ALL
      SELECT ${keyColumns(plan, '', 'k')}, unnest(k.counted_visitors) AS visitor_id,
        0 AS events_n, 0 AS views_n ${counted}`;
  }
  return `SELECT ${keyColumns(plan, 'g', 'k')}, g.visitor_id, 1 AS events_n,
      g.is_view::INT AS views_n
    FROM grouped AS g JOIN kept AS k ON ${sameVisitSql('g', 'k')} ${buckets}
    WHERE g.ematch AND g.side = 0 AND ${plan.rowMatch}`;
}

/**
 * Counted visits, in their buckets (bucketTimesOf); by event properties, one row per
 * combination of values the visit holds a counted event with.
 */
function visitRowsOf(plan: WebMetricsPlan): string {
  const over = plan.bounceOver === null ? '' : `, k.${plan.bounceOver} AS bounce_over`;
  const span = viewSpans(plan) ? 'k.view_seconds' : 'CAST(NULL AS DOUBLE) AS view_seconds';
  const columns = `k.visitor, k.bounced, k.seconds, k.views, ${span}${over}`;
  const buckets = visitBucketsJoin(plan);
  if (plan.eventKeys.length > 0) {
    const held = eventColumns(plan);
    // By their events' buckets, each value in the bucket of the events that hold it.
    const byEvents = plan.buckets !== null && plan.spans === 'events';
    const bucket = byEvents ? ', b.bucket_ms' : '';
    return `SELECT ${keyColumns(plan, 'p', 'k', undefined, byEvents ? 'p' : 'b')}, ${columns}
      FROM (SELECT DISTINCT ${[...VISIT_KEY, ...held].join(', ')}${bucket}
            FROM grouped ${byEvents ? plan.buckets?.join('grouped.ts') : ''}
            WHERE ematch AND side = 0 AND ${held.map((c) => `${c} IS NOT NULL`).join(' AND ')}) AS p
      JOIN kept AS k ON ${sameVisitSql('p', 'k')} ${byEvents ? '' : buckets}
      WHERE ${plan.rowMatch}`;
  }
  return `SELECT ${keyColumns(plan, '', 'k')}, ${columns}
    FROM kept AS k ${buckets} WHERE k.matched AND ${plan.rowMatch}`;
}
