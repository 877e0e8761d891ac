// Plausible's Stats API v1 over Tally's events, so Plausible integrations (dashboards, Grafana
// plugins, CLI scripts, spreadsheets) read Tally unchanged: GET /api/v1/stats/realtime/visitors,
// /aggregate, /timeseries and /breakdown. `site_id` is a Plausible domain the bearer may read
// (plausible-site.ts), and errors are Plausible's `{"error": "…"}`. The metrics are query/'s
// (getWebMetrics), through the same read gate as every read: a client that goes away stops
// its read.

import { Elysia } from 'elysia';
import type { AppError } from '../../core/index.ts';
import {
  bucketStarts,
  countCurrentVisitors,
  type GoalDimension,
  type GoalMetric,
  getGoalMetrics,
  labelledBuckets,
  queryLimits,
  TIME_ON_PAGE,
  type WebFilter,
} from '../../query/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { dayBucketsOf, hourBucketsOf, labelOf, timeKeyOf } from './plausible-query-time.ts';
import { plausibleError, siteTenant } from './plausible-site.ts';
import {
  AGGREGATE_DOC,
  BREAKDOWN_DOC,
  REALTIME_DOC,
  TIMESERIES_DOC,
} from './plausible-stats-docs.ts';
import { statsFiltersOf } from './plausible-stats-filters.ts';
import { checkMetrics, metricsOf, readsEventsTable } from './plausible-stats-metrics.ts';
import {
  badRequest,
  compareOf,
  ownValue,
  pagingOf,
  previousRange,
  propertyOf,
  rangeOf,
  resultKeyOf,
  type StatsRange,
} from './plausible-stats-params.ts';
import { guarded, json } from './responses.ts';

interface StatsContext {
  deps: AppDeps;
  request: Request;
  query: URLSearchParams;
  tenant: string;
}

export function plausibleStatsRoutes(deps: AppDeps) {
  const shape = (error: AppError) => plausibleError(error, deps.options.retryAfterSeconds);
  const route = (answer: (ctx: StatsContext) => Promise<unknown>) =>
    guarded(shape, async ({ request }: { request: Request }) => {
      const query = new URL(request.url).searchParams;
      const tenant = siteTenant(deps, request, query.get('site_id'));
      noteTenant(request, tenant);
      return json(await answer({ deps, request, query, tenant }));
    });
  return new Elysia({ prefix: '/api/v1/stats', tags: ['compatibility'] })
    .get('/realtime/visitors', route(realtime), { detail: REALTIME_DOC })
    .get('/aggregate', route(aggregate), { detail: AGGREGATE_DOC })
    .get('/timeseries', route(timeseries), { detail: TIMESERIES_DOC })
    .get('/breakdown', route(breakdown), { detail: BREAKDOWN_DOC });
}

async function realtime({ deps, request, tenant }: StatsContext): Promise<number> {
  return countCurrentVisitors(
    deps.engine.store,
    tenant,
    { nowMs: deps.clock.now(), windowMs: queryLimits.currentVisitorsWindowMs },
    request.signal,
  );
}

/** The metrics over `range`, filtered, by `dimension`. */
function read(
  ctx: StatsContext,
  range: StatsRange,
  metrics: GoalMetric[],
  filters: WebFilter[],
  dimension: GoalDimension,
) {
  const { fromMs, toMs } = range;
  // Plausible's sessions: each visit active in the range, whole (visit-rows.ts's reach), its
  // filters over the values Plausible stores ('' where a visit lacks one).
  const plausible = { byEntryPage: true, reach: true, storedEmpty: true };
  const options = { fromMs, toMs, metrics, filters, dimension, ...plausible };
  return getGoalMetrics(ctx.deps.engine.store, ctx.tenant, options, ctx.request.signal);
}

/**
 * Each metric's value, 0 where there was nothing to measure, as Plausible reports it; but a
 * time bucket without visits has no `visit_duration` (null), as in Plausible's timeseries,
 * and nothing timed no `time_on_page` (nor a time bucket: Plausible's legacy time on page
 * answers none). `rounded`: the time on page in whole seconds, as Plausible's aggregate (its
 * breakdown keeps the fraction).
 */
function valuesOf(
  metrics: GoalMetric[],
  values: Partial<Record<GoalMetric, number | null>> | undefined,
  nullable: readonly GoalMetric[] = [],
  rounded = false,
): Record<string, number | null> {
  const valueOfMetric = (m: GoalMetric) => {
    const value = values?.[m] ?? null;
    if (value === null) return nullable.includes(m) || m === TIME_ON_PAGE ? null : 0;
    return rounded && m === TIME_ON_PAGE ? Math.round(value) : value;
  };
  return Object.fromEntries(metrics.map((m) => [m, valueOfMetric(m)]));
}

async function aggregate(ctx: StatsContext) {
  const range = rangeOf(ctx.query, ctx.deps.clock.now());
  const filters = await statsFiltersOf(ctx.deps, ctx.request, ctx.query, ctx.tenant);
  const metrics = metricsOf(ctx.query);
  checkMetrics(metrics, filters, null);
  const compare = compareOf(ctx.query);
  const totals = async (r: StatsRange) => {
    const rows = await read(ctx, r, metrics, filters, { kind: 'total' });
    return valuesOf(metrics, rows[0]?.values, [], true);
  };
  const current = await totals(range);
  const previous = compare ? await totals(previousRange(range)) : null;
  const results: Record<string, Record<string, number | null>> = {};
  for (const metric of metrics) {
    const value = current[metric] ?? null;
    results[metric] =
      previous === null
        ? { value }
        : { value, ...comparisonOf(metric, previous[metric] ?? null, value) };
  }
  return { results };
}

/**
 * The comparison Plausible reports (Compare.calculate_change): the previous value and the
 * change, in percent of it (bounce rate: in points, and none when it was 0; conversion rate:
 * in points, 1 decimal); no change where either value is missing (a time on page with nothing
 * timed). Rounded as Elixir rounds: the percent by round/1, the points by Float.round/2.
 */
function comparisonOf(metric: GoalMetric, before: number | null, now: number | null) {
  if (before === null || now === null) return { comparison_value: before, change: null };
  if (metric === 'bounce_rate') {
    return { comparison_value: before, change: before > 0 ? now - before : null };
  }
  if (metric === 'conversion_rate') {
    return { comparison_value: before, change: elixirFloatRound(now - before, 1) };
  }
  const change = before === 0 ? (now > 0 ? 100 : 0) : elixirRound(((now - before) / before) * 100);
  return { comparison_value: before, change };
}

/** Elixir's round/1 (Erlang's): the nearest integer, a tie away from zero (−12.5 is −13). */
function elixirRound(value: number): number {
  return value < 0 ? -Math.round(-value) : Math.round(value);
}

/**
 * Elixir's Float.round/2: the float's exact binary value rounded to `digits` decimals, a tie
 * away from zero (54.55 is 54.549999… so 54.5), as toFixed rounds it.
 */
function elixirFloatRound(value: number, digits: number): number {
  return Number(value.toFixed(digits));
}

const INTERVALS: Readonly<Record<string, 'day' | 'month'>> = {
  date: 'day',
  day: 'day',
  month: 'month',
};

async function timeseries(ctx: StatsContext) {
  const range = rangeOf(ctx.query, ctx.deps.clock.now());
  const asked = ctx.query.get('interval');
  const askedInterval = asked === null ? undefined : ownValue(INTERVALS, asked);
  if (asked !== null && askedInterval === undefined) {
    throw badRequest(
      `Error parsing \`interval\` parameter: invalid interval \`${asked}\`. ` +
        'Valid intervals are `day`, `month`',
    );
  }
  // Plausible's defaults: hours for a day, months for 6 and 12 months, else days.
  const interval =
    askedInterval ??
    (range.period === 'day'
      ? 'hour'
      : range.period === '6mo' || range.period === '12mo'
        ? 'month'
        : 'day');
  const filters = await statsFiltersOf(ctx.deps, ctx.request, ctx.query, ctx.tenant);
  const metrics = metricsOf(ctx.query);
  checkMetrics(metrics, filters, null);
  // One row per local date or hour: the hour the clocks put back is one, as Plausible's, and
  // an hour or a date they skip a row of zeros, as its labels have it.
  const buckets =
    interval === 'hour'
      ? hourBucketsOf(range)
      : interval === 'day'
        ? dayBucketsOf(range)
        : labelledBuckets(bucketStarts(range.fromMs, range.toMs, interval, range.tz), (start) =>
            labelOf(start, 'day', range.tz),
          );
  // As v2: visits and visitors of Plausible's events table by their events' buckets, else
  // (its sessions table) each visit and its user in the bucket of the visit's end.
  const byEvents = readsEventsTable(
    metrics,
    filters.map((f) => f.property),
    [],
  );
  const rows = await read(ctx, range, metrics, filters, {
    kind: 'bucket',
    ...timeKeyOf(buckets, interval),
    byEvents,
    visitorsOfVisits: !byEvents,
  });
  const byStart = new Map(rows.map((row) => [Number(row.key), row.values]));
  return {
    results: buckets.map(({ start, label }) => ({
      date: label,
      ...valuesOf(
        metrics,
        start === null ? undefined : byStart.get(start),
        ['visit_duration'],
        true,
      ),
    })),
  };
}

async function breakdown(ctx: StatsContext) {
  const range = rangeOf(ctx.query, ctx.deps.clock.now());
  const name = ctx.query.get('property');
  // Missing only when absent: Plausible reads `property=` as the property '', an invalid one.
  if (name === null) {
    throw badRequest(
      'The `property` parameter is required. Please provide at least one property to show a ' +
        'breakdown by.',
    );
  }
  const property = propertyOf(name);
  if ('refused' in property) {
    throw badRequest(
      property.refused === ''
        ? `Invalid property '${name}'. Please provide a valid property for the breakdown ` +
            'endpoint: https://plausible.io/docs/stats-api#properties'
        : `Breaking down by \`${name}\` is not supported by Tally: ${property.refused}.`,
    );
  }
  const filters = await statsFiltersOf(ctx.deps, ctx.request, ctx.query, ctx.tenant);
  const metrics = metricsOf(ctx.query);
  checkMetrics(metrics, filters, property);
  const { limit, page } = pagingOf(ctx.query);
  // Ranked by the first metric but the time on page, else by visitors, as Plausible ranks.
  const by = metrics.find((m) => m !== TIME_ON_PAGE) ?? 'visitors';
  const order = [{ by, desc: true }];
  const offset = (page - 1) * limit;
  const dimension = { kind: 'property', property, limit, offset, order } as const;
  const readMetrics = metrics.includes(by) ? metrics : [...metrics, by];
  const rows = await read(ctx, range, readMetrics, filters, dimension);
  const key = resultKeyOf(name);
  return { results: rows.map((row) => ({ [key]: row.key, ...valuesOf(metrics, row.values) })) };
}
