// Web analytics metrics as Plausible's Stats API defines them, over a range: in total, per
// time bucket, per value of a property (web-properties.ts), or per combination of several
// keys (v2's dimensions), filtered by event and visit properties. Events are counted where
// they match the event filters and their visit the visit filters; visits where they match the
// visit filters and hold a counted event ("visits that contain a matching event", as /stats).
// A visit, a bounce, a source, a channel and the visit totals are those of visit-rows.ts,
// referrer-source.ts, channel-sql.ts and visit-stats.ts; without a visit metric, visit filter
// or visit property the events are read directly and no visit is formed. The metrics per row
// and the ranking are web-metrics-select.ts's; the visits by entry page and the exit rate's
// page views, page-visits.ts's; the time on page, in total and by page only, time-on-page.ts's
// (the legacy one) or engagement-metrics.ts's (of the beacons, beside the scroll depth). What
// a read takes and answers is web-metrics-model.ts.

import { listValue } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { type BucketJoin, bucketJoinOf } from '../bucketed.ts';
import { type EngagementSpec, engagementCtes, engagementSpecOf } from '../engagement-metrics.ts';
import { filterConditions, whereOf } from '../filters.ts';
import {
  byPageAlone,
  type EntryPlan,
  entryPlanOf,
  isExitPageFilter,
  pageViewsSql,
} from '../page-visits.ts';
import { nullableNumberOf, numberOf, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import * as timeOnPage from '../time-on-page.ts';
import {
  conditionSideOf,
  conditionSql,
  entryPageFilterOf,
  type WebCondition,
} from '../web-conditions.ts';
import {
  ENTRY_METRICS,
  EXIT_RATE,
  VISIT_METRICS,
  type WebDimension,
  type WebKey,
  type WebMetric,
  type WebMetricsOptions,
  type WebMetricsRow,
} from '../web-metrics-model.ts';
import { metricsSelectSql } from '../web-metrics-select.ts';
import {
  eventFilterSql,
  eventPropertySql,
  filterConditionSql,
  isVisitProperty,
  type VisitProperty,
  visitValueSql,
  type WebFilter,
  type WebProperty,
} from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import { keptVisitsCtes, sameVisitSql, VISIT_FIRST_EXTRA, VISIT_KEY } from './visit-match.ts';
import { visitEventsCtes, visitRangeOf } from './visit-rows.ts';

export async function getWebMetrics(
  source: EventSource,
  tenant: string,
  options: WebMetricsOptions,
  signal?: AbortSignal,
): Promise<WebMetricsRow[]> {
  const range = (options.reach ? visitRangeOf : rangeOf)(options.fromMs, options.toMs);
  const keys = keysOf(options.dimension);
  const rows = await withSnapshot(source, tenant, range, signal, (snapshot) => {
    const params = new SqlParams();
    const sql = webMetricsSql(snapshot, options, keys, params);
    return readRows(snapshot, sql, params);
  });
  const grouped = options.dimension.kind === 'group';
  return rows.map((row) => ({
    key: (row.d0 ?? null) as number | string | null,
    ...(grouped ? { keys: keys.map((_, i) => row[`d${i}`] as number | string) } : {}),
    values: Object.fromEntries(options.metrics.map((m) => [m, nullableNumberOf(row[m])])),
    ...(row.total_rows === undefined ? {} : { totalRows: numberOf(row.total_rows) }),
  }));
}

/** The keys of a dimension's rows, in order (none in total). */
function keysOf(dimension: WebDimension): WebKey[] {
  switch (dimension.kind) {
    case 'total':
      return [];
    case 'bucket':
      return [{ starts: dimension.starts }];
    case 'property':
      return [{ property: dimension.property }];
    case 'group':
      assert(dimension.keys.filter((k) => 'starts' in k).length <= 1, 'one time key at most');
      return dimension.keys;
  }
}

/** Where each key of a row comes from: the bucket, an event column `e<i>`, a visit's `v<i>`. */
type KeySource = { bucket: true } | { event: number } | { visit: number };

/** What every part of the statement shares. */
interface Plan {
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
  wantsVisits: boolean;
  /** The time on page, asked for in total or by page: its sequence's event columns. */
  timed: { by: timeOnPage.TimedBy; columns: Record<string, string> } | null;
  /** The engagement metrics (scroll depth, time on page), in total or by page. */
  engaged: EngagementSpec | null;
}

function webMetricsSql(
  { from, allFrom }: { from: string; allFrom: string },
  options: WebMetricsOptions,
  keys: WebKey[],
  params: SqlParams,
): string {
  const { filters, metrics } = options;
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const sides = filters.map((condition) => conditionSideOf(condition));
  assert(!sides.includes('mixed'), 'no condition mixes event and visit properties');
  const eventFilters = filters.filter((_, i) => sides[i] === 'event');
  const visitFilters = filters.filter((_, i) => sides[i] === 'visit');
  const notSet = options.notSet === true;
  let channels = false; // whether a filter or a key reads the visits' channel
  const visitSql = (visit: VisitProperty) => {
    channels ||= visit === 'channel';
    return visitValueSql(visit, notSet);
  };
  const eventKeys: string[] = [];
  const visitKeys: string[] = [];
  let buckets: BucketJoin | null = null;
  const sources = keys.map((key): KeySource => {
    if ('starts' in key) {
      buckets = bucketJoinOf(key.starts, options.toMs, params);
      return { bucket: true };
    }
    const { property } = key;
    if (isVisitProperty(property)) {
      return { visit: visitKeys.push(visitSql(property.visit)) - 1 };
    }
    return { event: eventKeys.push(eventPropertySql(property, views, params)) - 1 };
  });
  const visitFilterSql = (f: WebFilter) =>
    filterConditionSql(f, visitSql(visitOf(f.property)), params);
  // An exit rate's page views are of the visits of the other filters: its exit page filters
  // hold for the counted rows only (rowMatch).
  const exitRate = metrics.includes(EXIT_RATE);
  const exits = exitRate ? visitFilters.filter(isExitPageFilter) : [];
  const plan: Plan = {
    from,
    allFrom,
    options,
    params,
    views,
    eventMatch: conditionOf(eventFilters, (f) => eventFilterSql(f, views, params)),
    eventKeys,
    visitMatch: conditionOf(
      visitFilters.filter((f) => !exits.includes(f)),
      visitFilterSql,
    ),
    visitKeys,
    keys: sources.length === 0 ? [null] : sources,
    buckets,
    channels,
    bounceOver: null,
    entry: null,
    rowMatch: 'true',
    exitRate,
    wantsVisits: metrics.some((m) => VISIT_METRICS.includes(m) || m === EXIT_RATE),
    timed: null,
    engaged: null,
  };
  if (exits.length > 0)
    plan.rowMatch = `k.v${visitKeys.push(conditionOf(exits, visitFilterSql)) - 1}`;
  const byEntryPage = options.byEntryPage === true;
  if (byEntryPage && metrics.some((m) => ENTRY_METRICS.includes(m)) && byPageAlone(keys)) {
    plan.entry = entryPlanOf({
      eventFilters,
      entryPage: visitSql('entry_page'),
      addVisitKey: (sql) => `v${visitKeys.push(sql) - 1}`,
      eventSql: (f) => eventFilterSql(f, views, params),
      params,
    });
  }
  const entry = byEntryPage && plan.entry === null ? entryPageFilterOf(filters) : null;
  if (entry !== null && metrics.includes('bounce_rate')) {
    const sql = filterConditionSql(entry, visitSql('entry_page'), params);
    plan.bounceOver = `v${visitKeys.push(sql) - 1}`;
  }
  const by = metrics.includes(timeOnPage.TIME_ON_PAGE) ? timeOnPage.timedBy(keys) : null;
  if (by !== null) {
    const sql = (f: WebFilter) => eventFilterSql(f, views, params);
    plan.timed = { by, columns: timeOnPage.timeOnPageColumns(eventFilters, by, sql) };
  }
  plan.engaged = engagementSpecOf(metrics, keys, { ...options, ...plan });
  const needsVisits =
    plan.wantsVisits ||
    plan.timed !== null ||
    plan.engaged !== null ||
    plan.visitMatch !== 'true' ||
    visitKeys.length > 0;
  const ctes = needsVisits ? visitCtes(plan) : eventCtes(plan);
  const bucketCtes = plan.buckets === null ? '' : `${(plan.buckets as BucketJoin).ctes}, `;
  return `WITH ${bucketCtes}${ctes}
    ${finalSelect(plan)}`;
}

function conditionOf(filters: WebCondition[], sql: (filter: WebFilter) => string): string {
  if (filters.length === 0) return 'true';
  return filters.map((condition) => conditionSql(condition, sql)).join(' AND ');
}

function visitOf(property: WebProperty) {
  assert(isVisitProperty(property), 'a visit filter names a visit property');
  return property.visit;
}

/** A row's key columns `d0, d1, …`: each from the bucket, an event column or a visit's. */
function keyColumns(plan: Plan, event: string, visit: string, eventKey?: string): string {
  return plan.keys
    .map((key, i) => {
      const sql =
        key === null
          ? 'NULL'
          : 'bucket' in key
            ? 'b.bucket_ms'
            : 'event' in key
              ? `${event}.${eventKey ?? `e${key.event}`}`
              : `${visit}.v${key.visit}`;
      return `${sql} AS d${i}`;
    })
    .join(', ');
}

const eventColumns = (plan: Plan) => plan.eventKeys.map((_, i) => `e${i}`);

/** `f AS (…), er AS (…)`: counted events, read directly (no visit filter or property). */
function eventCtes(plan: Plan): string {
  const { options, params } = plan;
  const scope = filterConditions({ fromMs: options.fromMs, toMs: options.toMs }, params);
  const keys = plan.eventKeys.map((sql, i) => `, ${sql} AS e${i}`).join('');
  return `f AS (
      SELECT epoch_ms(e."timestamp") AS ts, e.visitor_id, list_contains(${plan.views()}, e.name)
        AS is_view${keys}
      FROM ${plan.from} AS e ${whereOf([...scope, `(${plan.eventMatch})`])}
    ), er AS (
      SELECT ${keyColumns(plan, 'f', '')}, visitor_id, is_view
      FROM f ${plan.buckets?.join('f.ts') ?? ''}
    )`;
}

/**
 * The visit grouping (visit-rows.ts), then `kept` (visit-match.ts): the visits that match the
 * visit filters, with `matched` (they hold an event matching the event filters), their start
 * and visit keys `v<i>`; then the counted events `er` and visits `vr`, each with its row's
 * keys `d<i>`.
 */
function visitCtes(plan: Plan): string {
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
  // Only the range's events count: a visit's start before it is its first bucket's.
  const nmatched = plan.entry?.rest ? ['bool_or(nmatch AND side = 0) AS nmatched'] : [];
  const start = `greatest(min(ts), epoch_ms(${params.addInstant(options.fromMs)}))`;
  const matched = ['bool_or(ematch AND side = 0) AS matched', ...nmatched];
  const kept = keptVisitsCtes({
    aggregates: ['min(ts) AS start_ts', `${start} AS bucket_ts`, ...matched],
    carried: ['bucket_ts', 'matched', 'bounced', 'views', 'seconds'].concat(
      nmatched.length > 0 ? ['nmatched'] : [],
    ),
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
  return `${grouping}, ${kept}, ${timed ? `${timed},` : ''} ${engaged || ''}
    er AS (${eventRowsSql(plan)}),
    vr AS (${visitRowsOf(plan)})${entry}${exits}`;
}

/** The visits entered at a page, by it (entryPlanOf): ENTRY_METRICS' rows. */
function entryRowsSql(keys: string, plan: Plan): string {
  return `SELECT ${keys}, k.bounced, k.seconds
    FROM kept AS k ${plan.buckets?.join('k.bucket_ts') ?? ''}
    WHERE ${plan.entry?.match} AND ${plan.rowMatch}`;
}

/** Counted events: of a kept visit (joined only when filters or keys need the visit). */
function eventRowsSql(plan: Plan): string {
  const buckets = plan.buckets?.join('g.ts') ?? '';
  if (plan.visitMatch === 'true' && plan.visitKeys.length === 0) {
    return `SELECT ${keyColumns(plan, 'g', '')}, visitor_id, is_view
      FROM ev AS g ${buckets} WHERE g.ematch AND g.side = 0`;
  }
  return `SELECT ${keyColumns(plan, 'g', 'k')}, g.visitor_id, g.is_view
    FROM grouped AS g JOIN kept AS k ON ${sameVisitSql('g', 'k')} ${buckets}
    WHERE g.ematch AND g.side = 0 AND ${plan.rowMatch}`;
}

/**
 * Counted visits, in the bucket of their start; by event properties, one row per combination
 * of values the visit holds a counted event with.
 */
function visitRowsOf(plan: Plan): string {
  const over = plan.bounceOver === null ? '' : `, k.${plan.bounceOver} AS bounce_over`;
  const columns = `k.bounced, k.seconds, k.views${over}`;
  const buckets = plan.buckets?.join('k.bucket_ts') ?? '';
  if (plan.eventKeys.length > 0) {
    const held = eventColumns(plan);
    return `SELECT ${keyColumns(plan, 'p', 'k')}, ${columns}
      FROM (SELECT DISTINCT ${[...VISIT_KEY, ...held].join(', ')} FROM grouped
            WHERE ematch AND side = 0 AND ${held.map((c) => `${c} IS NOT NULL`).join(' AND ')}) AS p
      JOIN kept AS k ON ${sameVisitSql('p', 'k')} ${buckets} WHERE ${plan.rowMatch}`;
  }
  return `SELECT ${keyColumns(plan, '', 'k')}, ${columns}
    FROM kept AS k ${buckets} WHERE k.matched AND ${plan.rowMatch}`;
}

/** The metrics per row's keys, each side only when asked for, ranked when the rows are. */
function finalSelect(plan: Plan): string {
  const { dimension, metrics } = plan.options;
  const ranking = dimension.kind === 'property' || dimension.kind === 'group' ? dimension : null;
  return metricsSelectSql({
    keyCount: plan.keys.length,
    metrics,
    visitMetrics: VISIT_METRICS,
    timed: plan.timed !== null,
    engaged: plan.engaged !== null,
    bounceOver: plan.bounceOver === null ? null : 'bounce_over',
    entryMetrics: plan.entry === null ? [] : metrics.filter((m) => ENTRY_METRICS.includes(m)),
    exitRate: plan.exitRate,
    ranking:
      ranking === null
        ? null
        : {
            ...ranking,
            order: ranking.order ?? [{ by: metrics[0] as WebMetric, desc: true }],
            // Only a property may lack a value (a bucket never does): such rows are left out.
            nullable: plan.keys.flatMap((key, i) =>
              key !== null && !('bucket' in key) ? [i] : [],
            ),
          },
    params: plan.params,
  });
}
