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
// (the legacy one) or engagement-metrics.ts's (of the beacons, beside the scroll depth). This
// file plans a read; the CTEs of its counted rows are web-metrics-rows.ts's. What a read takes
// and answers is web-metrics-model.ts.

import { listValue } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { type BucketJoin, bucketJoinOf } from '../bucketed.ts';
import { engagementSpecOf } from '../engagement-metrics.ts';
import { byPageAlone, entryPlanOf, isExitPageFilter } from '../page-visits.ts';
import { nullableNumberOf, numberOf, rangeOf, readSnapshotRows } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
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
import { eventCtes, type KeySource, visitCtes, type WebMetricsPlan } from '../web-metrics-rows.ts';
import { metricsSelectSql, readsEvents } from '../web-metrics-select.ts';
import {
  eventFilterSql,
  eventPropertySql,
  filterConditionSql,
  isVisitProperty,
  storedVisitFilterSql,
  type VisitProperty,
  visitValueSql,
  type WebFilter,
  type WebProperty,
} from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import { visitRangeOf } from './visit-rows.ts';

export async function getWebMetrics(
  source: EventSource,
  tenant: string,
  options: WebMetricsOptions,
  signal?: AbortSignal,
): Promise<WebMetricsRow[]> {
  const range = (options.reach ? visitRangeOf : rangeOf)(options.fromMs, options.toMs);
  const keys = keysOf(options.dimension);
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) =>
    webMetricsSql(snapshot, options, keys, params),
  );
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
      return [
        {
          starts: dimension.starts,
          bucketOf: dimension.bucketOf,
          spans: dimension.spans,
          byEvents: dimension.byEvents,
          visitorsOfVisits: dimension.visitorsOfVisits,
        },
      ];
    case 'property':
      return [{ property: dimension.property }];
    case 'group':
      assert(dimension.keys.filter((k) => 'starts' in k).length <= 1, 'one time key at most');
      return dimension.keys;
  }
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
    return visitValueSql(visit, notSet, options.storedEmpty === true);
  };
  const eventKeys: string[] = [];
  const visitKeys: string[] = [];
  let buckets: BucketJoin | null = null;
  let spans: WebMetricsPlan['spans'] = null;
  let visitorsOfVisits = false;
  const sources = keys.map((key): KeySource => {
    if ('starts' in key) {
      buckets = bucketJoinOf(key.starts, options.toMs, params, key.bucketOf);
      if (options.reach === true) {
        spans = key.byEvents === true ? 'events' : key.spans === true ? 'time' : null;
        visitorsOfVisits = key.byEvents !== true && key.visitorsOfVisits === true;
      }
      return { bucket: true };
    }
    const { property } = key;
    if (isVisitProperty(property)) {
      return { visit: visitKeys.push(visitSql(property.visit)) - 1 };
    }
    return { event: eventKeys.push(eventPropertySql(property, views, params)) - 1 };
  });
  const visitFilterSql = (f: WebFilter) => {
    const visit = visitOf(f.property);
    const value = visitSql(visit);
    return options.storedEmpty === true
      ? storedVisitFilterSql(f, visit, value, params)
      : filterConditionSql(f, value, params);
  };
  // An exit rate's page views are of the visits of the other filters: its exit page filters
  // hold for the counted rows only (rowMatch).
  const exitRate = metrics.includes(EXIT_RATE);
  const exits = exitRate ? visitFilters.filter(isExitPageFilter) : [];
  const visitMetrics = visitMetricsOf(visitorsOfVisits && metrics.includes('visitors'));
  const plan: WebMetricsPlan = {
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
    spans,
    channels,
    bounceOver: null,
    entry: null,
    rowMatch: 'true',
    exitRate,
    visitMetrics,
    wantsVisits: metrics.some((m) => visitMetrics.includes(m) || m === EXIT_RATE),
    wantsEvents: readsEvents(metrics, visitMetrics),
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

/**
 * The metrics read from the visits: with `visitors` when they are their visits'
 * (visitorsOfVisits).
 */
function visitMetricsOf(visitors: boolean): readonly WebMetric[] {
  return visitors ? [...VISIT_METRICS, 'visitors'] : VISIT_METRICS;
}

function conditionOf(filters: WebCondition[], sql: (filter: WebFilter) => string): string {
  if (filters.length === 0) return 'true';
  return filters.map((condition) => conditionSql(condition, sql)).join(' AND ');
}

function visitOf(property: WebProperty) {
  assert(isVisitProperty(property), 'a visit filter names a visit property');
  return property.visit;
}

/** The metrics per row's keys, each side only when asked for, ranked when the rows are. */
function finalSelect(plan: WebMetricsPlan): string {
  const { dimension, metrics } = plan.options;
  const ranking = dimension.kind === 'property' || dimension.kind === 'group' ? dimension : null;
  return metricsSelectSql({
    keyCount: plan.keys.length,
    metrics,
    visitMetrics: plan.visitMetrics,
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
