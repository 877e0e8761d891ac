// Web analytics metrics as Plausible's Stats API defines them, over a range: in total, per
// time bucket, or per value of a property (web-properties.ts), filtered by event and visit
// properties. Events are counted where they match the event filters and their visit the visit
// filters; visits where they match the visit filters and hold a counted event ("visits that
// contain a matching event", as /stats). A visit, a bounce, a source and the visit totals are
// those of visit-rows.ts, referrer-source.ts and visit-stats.ts; without a visit metric, visit
// filter or visit property the events are read directly and no visit is formed.

import { listValue } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { type BucketJoin, bucketJoinOf } from '../bucketed.ts';
import { filterConditions, propertyText, whereOf } from '../filters.ts';
import { nullableNumberOf, numberOf, readRows, withSnapshot } from '../read.ts';
import { referrerSourceParts } from '../referrer-source.ts';
import { SqlParams } from '../sql-params.ts';
import { conditionSideOf, conditionSql, type WebCondition } from '../web-conditions.ts';
import {
  eventPropertySql,
  filterConditionSql,
  goalConditionSql,
  goalNameSql,
  isVisitProperty,
  visitValueSql,
  type WebFilter,
  type WebProperty,
} from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import { visitColumnsSql, visitEventsCtes } from './visit-rows.ts';
import { VISIT_TOTALS_SQL } from './visit-stats.ts';

export const WEB_METRICS = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
] as const;
export type WebMetric = (typeof WEB_METRICS)[number];

/** Metrics of visits; the others count events. */
export const VISIT_METRICS: readonly WebMetric[] = [
  'visits',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
];

export type WebDimension =
  | { kind: 'total' }
  /** Events by their time, visits by their first event's, into buckets starting at `starts`. */
  | { kind: 'bucket'; starts: number[] }
  /**
   * Rows by a property's value, ranked by `order` (by default the first metric, descending),
   * then the value; a visit counts under each value of an event property it holds a counted
   * event with.
   */
  | {
      kind: 'property';
      property: WebProperty;
      limit: number;
      offset: number;
      order?: WebOrder[];
      /** Each row also says how many rows the whole ranking has (`totalRows`). */
      countRows?: boolean;
    };

/** One key of a ranking: a metric read (a missing value ranks as 0) or the row's value. */
export interface WebOrder {
  by: WebMetric | 'value';
  desc: boolean;
}

export interface WebMetricsOptions {
  /** Inclusive, UTC epoch ms. */
  fromMs: number;
  /** Exclusive, UTC epoch ms. */
  toMs: number;
  /** At least one. */
  metrics: WebMetric[];
  /** All must hold; none mixes event and visit properties (conditionSideOf). */
  filters: WebCondition[];
  dimension: WebDimension;
  /** Missing campaign tags, browsers, OSs and devices as `(not set)` (Plausible's v2). */
  notSet?: boolean;
}

export interface WebMetricsRow {
  /** The bucket start (UTC epoch ms), the property's value, or null in total. */
  key: number | string | null;
  /** Each metric asked for; null where there is no visit to measure. */
  values: Partial<Record<WebMetric, number | null>>;
  /** With countRows: the rows of the whole ranking, before its limit and offset. */
  totalRows?: number;
}

export async function getWebMetrics(
  source: EventSource,
  tenant: string,
  options: WebMetricsOptions,
  signal?: AbortSignal,
): Promise<WebMetricsRow[]> {
  const range = { fromMs: options.fromMs, toMs: options.toMs };
  const rows = await withSnapshot(source, tenant, range, signal, (snapshot) => {
    const params = new SqlParams();
    const sql = webMetricsSql(snapshot.from, options, params);
    return readRows(snapshot, sql, params);
  });
  return rows.map((row) => ({
    key: row.dim === null || row.dim === undefined ? null : (row.dim as number | string),
    values: Object.fromEntries(options.metrics.map((m) => [m, nullableNumberOf(row[m])])),
    ...(row.total_rows === undefined ? {} : { totalRows: numberOf(row.total_rows) }),
  }));
}

/** What every part of the statement shares. */
interface Plan {
  from: string;
  options: WebMetricsOptions;
  params: SqlParams;
  /** The bound list of page view names (bound at its first use). */
  views: () => string;
  /** Whether an event matches the event filters, over `e`. */
  eventMatch: string;
  /** The event property's value of the dimension, over `e`, else NULL. */
  eventKey: string;
  /** The visit filters' condition and the dimension's visit property, over a visit's row. */
  visitMatch: string;
  visitKey: string;
  buckets: BucketJoin | null;
  wantsEvents: boolean;
  wantsVisits: boolean;
}

function webMetricsSql(from: string, options: WebMetricsOptions, params: SqlParams): string {
  const { dimension, filters, metrics } = options;
  let bound: string | undefined;
  const views = () => {
    bound ??= params.add(listValue(PAGE_VIEW_NAMES));
    return bound;
  };
  const sides = filters.map((condition) => conditionSideOf(condition));
  assert(!sides.includes('mixed'), 'no condition mixes event and visit properties');
  const eventFilters = filters.filter((_, i) => sides[i] === 'event');
  const visitFilters = filters.filter((_, i) => sides[i] === 'visit');
  const notSet = options.notSet === true;
  const byProperty = dimension.kind === 'property' ? dimension.property : null;
  const plan: Plan = {
    from,
    options,
    params,
    views,
    eventMatch: conditionOf(eventFilters, (f) => eventFilterSql(f, views, params)),
    eventKey:
      byProperty !== null && !isVisitProperty(byProperty)
        ? eventPropertySql(byProperty, views, params)
        : 'NULL',
    visitMatch: conditionOf(visitFilters, (f) =>
      filterConditionSql(f, visitValueSql(visitOf(f.property), notSet), params),
    ),
    visitKey:
      byProperty !== null && isVisitProperty(byProperty)
        ? visitValueSql(byProperty.visit, notSet)
        : '',
    buckets:
      dimension.kind === 'bucket' ? bucketJoinOf(dimension.starts, options.toMs, params) : null,
    wantsEvents: metrics.some((m) => !VISIT_METRICS.includes(m)),
    wantsVisits: metrics.some((m) => VISIT_METRICS.includes(m)),
  };
  const needsVisits = plan.wantsVisits || plan.visitMatch !== 'true' || plan.visitKey !== '';
  const ctes = needsVisits ? visitCtes(plan) : eventCtes(plan);
  return `WITH ${plan.buckets === null ? '' : `${plan.buckets.ctes}, `}${ctes}
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

function eventFilterSql(filter: WebFilter, views: () => string, params: SqlParams): string {
  const { property } = filter;
  assert(!isVisitProperty(property), 'an event filter names an event property');
  if ('event' in property && property.event === 'goal') {
    // Goals by their names (wildcards too); matched otherwise, each by its display name.
    if (filter.match !== 'is' || filter.ignoreCase === true) {
      return filterConditionSql(filter, goalNameSql(views), params);
    }
    const goal = goalConditionSql(filter.values, views, params);
    return filter.negated ? `NOT ${goal}` : goal;
  }
  if ('prop' in property && filter.match !== 'is') {
    // A pattern matches only a property the event has, negated too (Plausible's has_key), so
    // `event:props:plan==*` is the events with a plan, not those listed as (none).
    const raw = propertyText(property.prop, params);
    const match = filterConditionSql({ ...filter, negated: false }, raw, params);
    return filter.negated ? `(${raw} IS NOT NULL AND NOT ${match})` : match;
  }
  return filterConditionSql(filter, eventPropertySql(property, views, params), params);
}

/** The key of an event row: its bucket, its event property's value, or NULL. */
function eventRowKey(plan: Plan, visitKey: string): string {
  if (plan.buckets !== null) return 'b.bucket_ms';
  return plan.visitKey === '' ? 'edim' : visitKey;
}

/** `f AS (…), er AS (…)`: counted events, read directly (no visit filter or property). */
function eventCtes(plan: Plan): string {
  const { options, params } = plan;
  const scope = filterConditions({ fromMs: options.fromMs, toMs: options.toMs }, params);
  return `f AS (
      SELECT epoch_ms(e."timestamp") AS ts, e.visitor_id, list_contains(${plan.views()}, e.name)
        AS is_view, ${plan.eventKey} AS edim
      FROM ${plan.from} AS e ${whereOf([...scope, `(${plan.eventMatch})`])}
    ), er AS (
      SELECT ${eventRowKey(plan, '')} AS dim, visitor_id, is_view
      FROM f ${plan.buckets?.join('f.ts') ?? ''}
    )`;
}

const VISIT_KEY = ['by_gaps', 'key', 'n'];
const sameVisit = (a: string, b: string) => VISIT_KEY.map((c) => `${a}.${c} = ${b}.${c}`);

/**
 * The visit grouping (visit-rows.ts), then `kept`: the visits that match the visit filters,
 * with `matched` (they hold an event matching the event filters), their start and key; then
 * the counted events `er` and visits `vr`, each with its row's key `dim`.
 */
function visitCtes(plan: Plan): string {
  const { options, params } = plan;
  const grouping = visitEventsCtes({
    from: plan.from,
    filters: { fromMs: options.fromMs, toMs: options.toMs },
    params,
    pageViewNames: PAGE_VIEW_NAMES,
    extra: {
      ematch: `(${plan.eventMatch})`,
      edim: plan.eventKey,
      browser: 'e.browser',
      os: 'e.os',
      device: 'e.device',
    },
  });
  const first = ['url', 'referrer', 'browser', 'os', 'device'].map((c) => `first.${c} AS ${c}`);
  return `${grouping}, visits AS MATERIALIZED (
      SELECT ${VISIT_KEY.join(', ')}, min(ts) AS start_ts, bool_or(ematch) AS matched,
        ${visitColumnsSql(['browser', 'os', 'device'])}
      FROM grouped GROUP BY ${VISIT_KEY.join(', ')}
    ), parts AS (
      SELECT ${VISIT_KEY.join(', ')}, start_ts, matched, bounced, views, seconds, entry_page,
        exit_page, ${first.join(', ')}
      FROM visits
    ), sourced AS (
      SELECT *, ${referrerSourceParts('p')} FROM parts AS p
    ), kept AS (
      SELECT ${VISIT_KEY.join(', ')}, start_ts, matched, bounced, views, seconds,
        ${plan.visitKey === '' ? 'NULL' : plan.visitKey} AS vdim
      FROM sourced WHERE ${plan.visitMatch}
    ), er AS (${eventRowsSql(plan)}), vr AS (${visitRowsOf(plan)})`;
}

/** Counted events: of a kept visit (joined only when filters or the key need the visit). */
function eventRowsSql(plan: Plan): string {
  const buckets = plan.buckets?.join('g.ts') ?? '';
  if (plan.visitMatch === 'true' && plan.visitKey === '') {
    return `SELECT ${eventRowKey(plan, '')} AS dim, visitor_id, is_view
      FROM ev AS g ${buckets} WHERE g.ematch`;
  }
  return `SELECT ${eventRowKey(plan, 'k.vdim')} AS dim, g.visitor_id, g.is_view
    FROM grouped AS g JOIN kept AS k ON ${sameVisit('g', 'k').join(' AND ')} ${buckets}
    WHERE g.ematch`;
}

/** Counted visits; by an event property, one row per value the visit holds a counted event of. */
function visitRowsOf(plan: Plan): string {
  const columns = 'k.bounced, k.seconds, k.views';
  if (plan.eventKey !== 'NULL') {
    return `SELECT p.dim, ${columns}
      FROM (SELECT DISTINCT ${VISIT_KEY.join(', ')}, edim AS dim FROM grouped
            WHERE ematch AND edim IS NOT NULL) AS p
      JOIN kept AS k ON ${sameVisit('p', 'k').join(' AND ')}`;
  }
  const key = plan.buckets !== null ? 'b.bucket_ms' : 'k.vdim';
  return `SELECT ${key} AS dim, ${columns}
    FROM kept AS k ${plan.buckets?.join('k.start_ts') ?? ''} WHERE k.matched`;
}

/** The metrics per key, each side only when asked for, ranked and paged by property. */
function finalSelect(plan: Plan): string {
  const { dimension, metrics } = plan.options;
  const sides: string[] = [];
  if (plan.wantsEvents) {
    sides.push(`es AS (
      SELECT dim, count(DISTINCT visitor_id) AS visitors,
        count(*) FILTER (WHERE is_view) AS pageviews, count(*) AS events
      FROM er GROUP BY dim)`);
  }
  if (plan.wantsVisits) {
    sides.push(`vs AS (
      SELECT dim, count(*) AS visits, ${VISIT_TOTALS_SQL.bounce_rate} AS bounce_rate,
        ${VISIT_TOTALS_SQL.visit_duration} AS visit_duration,
        ${VISIT_TOTALS_SQL.views_per_visit} AS views_per_visit
      FROM vr GROUP BY dim)`);
  }
  const of = (metric: WebMetric) => `${VISIT_METRICS.includes(metric) ? 'vs' : 'es'}.${metric}`;
  const source =
    plan.wantsEvents && plan.wantsVisits
      ? 'es FULL JOIN vs ON es.dim IS NOT DISTINCT FROM vs.dim'
      : plan.wantsEvents
        ? 'es'
        : 'vs';
  const dim = plan.wantsEvents && plan.wantsVisits ? 'coalesce(es.dim, vs.dim)' : 'dim';
  const select = metrics.map((m) => `${of(m)} AS ${m}`).join(', ');
  if (dimension.kind !== 'property') {
    return `, ${sides.join(', ')} SELECT ${dim} AS dim, ${select} FROM ${source}`;
  }
  return `, ${sides.join(', ')}, ranked AS (SELECT ${dim} AS dim, ${select} FROM ${source})
    SELECT *${dimension.countRows === true ? ', count(*) OVER () AS total_rows' : ''}
    FROM ranked WHERE dim IS NOT NULL
    ORDER BY ${orderSql(dimension.order ?? [{ by: metrics[0] as WebMetric, desc: true }], metrics)}
    LIMIT ${plan.params.add(dimension.limit)} OFFSET ${plan.params.add(dimension.offset)}`;
}

/** ORDER BY of a ranking by `order`, then the value (a stable order). */
function orderSql(order: WebOrder[], metrics: WebMetric[]): string {
  const keys = order.map(({ by, desc }) => {
    assert(by === 'value' || metrics.includes(by), 'a ranking orders by metrics read');
    return `${by === 'value' ? 'dim' : `coalesce(${by}, 0)`} ${desc ? 'DESC' : 'ASC'}`;
  });
  return [...keys, 'dim'].join(', ');
}
