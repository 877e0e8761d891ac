// Plausible's Stats API v2 over Tally's events: POST /api/v2/query takes Plausible's query
// (plausible-query-params.ts) for a site the bearer may read (plausible-site.ts, as v1) and
// answers `{"results": [{"metrics": […], "dimensions": […]}], "meta": {…}, "query": {…}}`.
// The numbers are v1's (getGoalMetrics, with v2's global conversion rate and `(not set)`
// labels); rows by a property are ranked and paged in the read, rows by time after it (at
// most queryLimits.bucketsMax of them), where every bucket's label is known.

import { Elysia } from 'elysia';
import type { AppError } from '../../core/index.ts';
import {
  findBadPattern,
  type GoalDimension,
  type GoalMetric,
  type GoalMetricsRow,
  type GoalOrder,
  getFirstEventMs,
  getGoalMetrics,
  getWebMetrics,
  queryLimits,
} from '../../query/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { objectOf } from './ingest.ts';
import { QUERY_DOC } from './plausible-query-docs.ts';
import { shown } from './plausible-query-filters.ts';
import {
  PERCENTAGE,
  type QueryDimension,
  type QueryMetric,
  type QueryOrder,
  type QueryParams,
  queryParamsOf,
} from './plausible-query-params.ts';
import {
  autoUnit,
  bucketsOf,
  echoedRange,
  type QueryRange,
  resolveRange,
} from './plausible-query-time.ts';
import { plausibleError, requireKey, siteTenant } from './plausible-site.ts';
import { badRequest } from './plausible-stats-params.ts';
import { guarded, json } from './responses.ts';

interface QueryContext {
  deps: AppDeps;
  request: Request;
  tenant: string;
  site: string;
  params: QueryParams;
}

export function plausibleQueryRoutes(deps: AppDeps) {
  const shape = (error: AppError) => plausibleError(error, deps.options.retryAfterSeconds);
  const query = guarded(shape, async ({ request }: { request: Request }) => {
    requireKey(deps, request);
    const read = await readBody(request, JSON_TYPES, queryLimits.statsQueryBytesMax);
    const body = objectOf(parseJson(read.bytes));
    if (body === undefined) throw badRequest('#: Type mismatch. Expected Object.');
    const site = typeof body.site_id === 'string' ? body.site_id : null;
    const tenant = siteTenant(deps, request, site);
    noteTenant(request, tenant);
    const params = queryParamsOf(body);
    return json(await answer({ deps, request, tenant, site: site as string, params }));
  });
  return new Elysia({ prefix: '/api/v2', tags: ['compatibility'] }).post('/query', query, {
    parse: 'none',
    detail: QUERY_DOC,
  });
}

/** A row of the answer, before its metrics are put in the query's order. */
interface Row {
  dimensions: string[];
  /** The bucket start of a row by time, for ordering by it. */
  start?: number;
  values: GoalMetricsRow['values'];
}

async function answer(ctx: QueryContext) {
  const { deps, request, tenant, params } = ctx;
  await checkPatterns(ctx);
  const all = params.range.kind === 'keyword' && params.range.keyword === 'all';
  const firstMs = all ? await getFirstEventMs(deps.engine.store, tenant, request.signal) : null;
  const range = resolveRange(params.range, params.tz, deps.clock.now(), firstMs);
  const dimensions = params.dimensions.map((d) => resolvedDimension(d, range));
  const ranking = rankingOf(params, dimensions);
  const dimension = dimensions[0];
  const { rows, totalRows, timeLabels } =
    dimension === undefined
      ? { rows: await readTotal(ctx, range), totalRows: 1, timeLabels: [] }
      : 'time' in dimension
        ? await readByTime(ctx, range, dimension.time, ranking)
        : await readByProperty(ctx, range, dimension, ranking);
  const percentOf = await percentages(ctx, range);
  return {
    results: rows.map((row) => ({
      metrics: params.metrics.map((m) =>
        m === PERCENTAGE ? percentOf(row.values.visitors ?? 0) : (row.values[m] ?? 0),
      ),
      dimensions: row.dimensions,
    })),
    meta: {
      ...(params.include.imports ? { imports_included: false } : {}),
      ...(params.include.timeLabels ? { time_labels: timeLabels } : {}),
      ...(params.include.totalRows ? { total_rows: totalRows } : {}),
    },
    query: echoOf(ctx, range, dimensions, ranking),
  };
}

/** A bad RE2 pattern is the 400 of the filter that brings it, before anything is read. */
async function checkPatterns({ deps, request, tenant, params }: QueryContext): Promise<void> {
  const { patterns } = params.filters;
  const found = await findBadPattern(
    deps.engine.store,
    tenant,
    patterns.map((p) => p.pattern),
    request.signal,
  );
  if (found === null) return;
  const at = patterns.find((p) => p.pattern === found.pattern)?.path ?? '#/filters';
  throw badRequest(`${at}: Invalid regular expression ${shown(found.pattern)}: ${found.reason}`);
}

type TimeDimension = { name: string; time: 'hour' | 'day' | 'week' | 'month' };
type ResolvedDimension = TimeDimension | Extract<QueryDimension, { property: unknown }>;

/** `time` as the unit the range calls for, named as Plausible echoes it (`time:day`). */
function resolvedDimension(dimension: QueryDimension, range: QueryRange): ResolvedDimension {
  if (!('time' in dimension)) return dimension;
  const time = dimension.time === 'auto' ? autoUnit(range) : dimension.time;
  return { name: `time:${time}`, time };
}

/** order_by, `time` resolved; by default the time ascending, then the first metric descending. */
function rankingOf(params: QueryParams, dimensions: ResolvedDimension[]): QueryOrder[] {
  const time = dimensions.find((d) => 'time' in d)?.name;
  if (params.orderBy !== null) {
    return params.orderBy.map((o) => (o.name === 'time' && time ? { ...o, name: time } : o));
  }
  const first = { name: params.metrics[0] as string, desc: true };
  return time === undefined ? [first] : [{ name: time, desc: false }, first];
}

/** The metrics read: a percentage is of the row's visitors. */
function goalMetricsOf(metrics: QueryMetric[]): GoalMetric[] {
  return [...new Set(metrics.map((m) => (m === PERCENTAGE ? 'visitors' : m)))];
}

function read(ctx: QueryContext, range: QueryRange, dimension: GoalDimension) {
  const options = {
    fromMs: range.fromMs,
    toMs: range.toMs,
    metrics: goalMetricsOf(ctx.params.metrics),
    filters: ctx.params.filters.conditions,
    dimension,
    notSet: true,
    globalConversionRate: true,
  };
  return getGoalMetrics(ctx.deps.engine.store, ctx.tenant, options, ctx.request.signal);
}

async function readTotal(ctx: QueryContext, range: QueryRange): Promise<Row[]> {
  const rows = await read(ctx, range, { kind: 'total' });
  return [{ dimensions: [], values: rows[0]?.values ?? {} }];
}

async function readByTime(
  ctx: QueryContext,
  range: QueryRange,
  unit: TimeDimension['time'],
  ranking: QueryOrder[],
) {
  const buckets = bucketsOf(range, unit);
  const labelOf = new Map(buckets.map((b) => [b.start, b.label]));
  const bucketed = await read(ctx, range, { kind: 'bucket', starts: buckets.map((b) => b.start) });
  const rows: Row[] = bucketed.map((row) => ({
    dimensions: [labelOf.get(Number(row.key)) ?? String(row.key)],
    start: Number(row.key),
    values: row.values,
  }));
  rows.sort(compareBy(ranking));
  const { offset, limit } = ctx.params.pagination;
  return {
    rows: rows.slice(offset, offset + limit),
    totalRows: rows.length,
    timeLabels: buckets.map((b) => b.label),
  };
}

/** Rows ordered by `ranking`: the time by bucket start, a metric by its value (none: 0). */
function compareBy(ranking: QueryOrder[]): (a: Row, b: Row) => number {
  return (a, b) => {
    for (const { name, desc } of ranking) {
      const key = (row: Row) =>
        name.startsWith('time') ? (row.start ?? 0) : (row.values[name as GoalMetric] ?? 0);
      const difference = key(a) - key(b);
      if (difference !== 0) return desc ? -difference : difference;
    }
    return (a.start ?? 0) - (b.start ?? 0);
  };
}

async function readByProperty(
  ctx: QueryContext,
  range: QueryRange,
  dimension: Extract<ResolvedDimension, { property: unknown }>,
  ranking: QueryOrder[],
) {
  const { limit, offset } = ctx.params.pagination;
  const order: GoalOrder[] = ranking.map(({ name, desc }) => ({
    by: name === dimension.name ? 'value' : name === PERCENTAGE ? 'visitors' : (name as GoalMetric),
    desc,
  }));
  const countRows = ctx.params.include.totalRows;
  const byProperty = { kind: 'property', property: dimension.property, order, countRows } as const;
  const rows = await read(ctx, range, { ...byProperty, limit, offset });
  // Past the last row nothing says how many there are: the first one does.
  const counted =
    rows.length > 0 || !countRows || offset === 0
      ? rows
      : await read(ctx, range, { ...byProperty, limit: 1, offset: 0 });
  return {
    rows: rows.map((row) => ({ dimensions: [String(row.key)], values: row.values })),
    totalRows: counted[0]?.totalRows ?? 0,
    timeLabels: [],
  };
}

/**
 * Each row's visitors in percent of all the range's (with the same filters), 1 decimal, as
 * Plausible's `percentage`; null when there is no visitor at all.
 */
async function percentages(ctx: QueryContext, range: QueryRange) {
  if (!ctx.params.metrics.includes(PERCENTAGE)) return () => null;
  const rows = await getWebMetrics(
    ctx.deps.engine.store,
    ctx.tenant,
    {
      fromMs: range.fromMs,
      toMs: range.toMs,
      metrics: ['visitors'],
      filters: ctx.params.filters.conditions,
      dimension: { kind: 'total' },
      notSet: true,
    },
    ctx.request.signal,
  );
  const total = rows[0]?.values.visitors ?? 0;
  return (visitors: number) => (total > 0 ? Math.round((visitors / total) * 1000) / 10 : null);
}

/** The query as Plausible echoes it: `time` resolved, the default order spelled out. */
function echoOf(
  ctx: QueryContext,
  range: QueryRange,
  dimensions: ResolvedDimension[],
  ranking: QueryOrder[],
) {
  const { params } = ctx;
  const include = {
    ...(params.include.imports ? { imports: true } : {}),
    ...(params.include.timeLabels ? { time_labels: true } : {}),
    ...(params.include.totalRows ? { total_rows: true } : {}),
  };
  return {
    site_id: ctx.site,
    metrics: params.metrics,
    date_range: echoedRange(range),
    filters: params.rawFilters,
    dimensions: dimensions.map((d) => d.name),
    order_by: ranking.map((o) => [o.name, o.desc ? 'desc' : 'asc']),
    include,
    pagination: params.pagination,
  };
}
