// Plausible's Stats API v2 over Tally's events: POST /api/v2/query takes Plausible's query
// (plausible-query-params.ts) for a site the bearer may read (plausible-site.ts, as v1) and
// answers `{"results": [{"metrics": […], "dimensions": […]}], "meta": {…}, "query": {…}}`.
// The numbers are v1's (getGoalMetrics, with v2's global conversion rate and `(not set)`
// labels), grouped by every dimension at once, ranked and paged in the read; a time
// dimension's rows are labelled by their buckets (plausible-query-time.ts).

import { Elysia } from 'elysia';
import { AppError } from '../../core/index.ts';
import {
  conditionFilters,
  type GoalDimension,
  type GoalMetric,
  type GoalMetricsRow,
  type GoalOrder,
  GROUP_CONVERSION_RATE,
  getFirstEventMs,
  getGoalMetrics,
  getWebMetrics,
  queryLimits,
  roundHalfEven,
  SCROLL_DEPTH,
  TIME_ON_PAGE,
} from '../../query/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { objectOf } from './ingest.ts';
import { QUERY_DOC } from './plausible-query-docs.ts';
import { checkPatterns } from './plausible-query-filters.ts';
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
  type TimeUnit,
  timeKeyOf,
} from './plausible-query-time.ts';
import { plausibleError, requireKey, siteTenant } from './plausible-site.ts';
import { readsEventsTable } from './plausible-stats-metrics.ts';
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
    const site = typeof body.site_id === 'string' ? body.site_id : '';
    const tenant = siteTenant(deps, request, site);
    noteTenant(request, tenant);
    const params = queryParamsOf(body);
    return json(await answer({ deps, request, tenant, site, params }));
  });
  return new Elysia({ prefix: '/api/v2', tags: ['compatibility'] }).post('/query', query, {
    parse: 'none',
    detail: QUERY_DOC,
  });
}

/** `meta` with include.imports: Plausible's answer for a site without imports (QueryResult). */
const NO_IMPORTS = { imports_included: false, imports_skip_reason: 'no_imported_data' };

/** A row of the answer, before its metrics are put in the query's order. */
interface Row {
  dimensions: string[];
  values: GoalMetricsRow['values'];
}

async function answer(ctx: QueryContext) {
  const { deps, request, tenant, params } = ctx;
  await checkPatterns(deps.engine.store, tenant, params.filters.patterns, request.signal);
  const all = params.range.kind === 'keyword' && params.range.keyword === 'all';
  const firstMs = all ? await getFirstEventMs(deps.engine.store, tenant, request.signal) : null;
  const range = resolveRange(params.range, params.tz, deps.clock.now(), firstMs);
  const dimensions = params.dimensions.map((d) => resolvedDimension(d, range));
  const ranking = rankingOf(params, dimensions);
  const { rows, totalRows, timeLabels } =
    dimensions.length === 0
      ? { rows: await readTotal(ctx, range), totalRows: 1, timeLabels: [] }
      : await readGroups(ctx, range, dimensions, ranking);
  const percentOf = await percentages(ctx, range);
  return {
    results: rows.map((row) => ({
      metrics: params.metrics.map((m) =>
        m === PERCENTAGE ? percentOf(row.values.visitors ?? 0) : metricValue(row, m),
      ),
      dimensions: row.dimensions,
    })),
    meta: {
      ...(params.include.imports ? NO_IMPORTS : {}),
      ...(params.include.timeLabels ? { time_labels: timeLabels } : {}),
      ...(params.include.totalRows ? { total_rows: totalRows } : {}),
    },
    query: echoOf(ctx, range, dimensions, ranking),
  };
}

/**
 * A metric's value: 0 where nothing was counted, but a time on page null where untimed and a
 * scroll depth null where no visit scrolled (Plausible's Metrics.default_value).
 */
function metricValue(row: Row, metric: GoalMetric): number | null {
  const nullable = metric === TIME_ON_PAGE || metric === SCROLL_DEPTH;
  return row.values[metric] ?? (nullable ? null : 0);
}

type ResolvedDimension =
  | { name: string; time: TimeUnit }
  | Extract<QueryDimension, { property: unknown }>;

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

/**
 * The ranking the read orders by. Rows are ranked in the read, by metrics read with them: not
 * by a rate over each row's own visitors, unless a time alone already orders every row.
 */
function readOrderOf(ranking: QueryOrder[], dimensions: ResolvedDimension[]): QueryOrder[] {
  const time = dimensions.find((d) => 'time' in d)?.name;
  const byTime = ranking.findIndex((o) => o.name === time);
  const read = dimensions.length === 1 && byTime >= 0 ? ranking.slice(0, byTime + 1) : ranking;
  if (read.some((o) => o.name === GROUP_CONVERSION_RATE)) {
    throw badRequest(
      `Tally cannot order rows by \`${GROUP_CONVERSION_RATE}\` (each row over its own ` +
        'visitors): order by another metric (e.g. order_by [["visitors", "desc"]]).',
    );
  }
  return read;
}

/**
 * Whether Plausible reads `visits` and `visitors` (v2's metrics of either table) from its
 * events table (readsEventsTable): then a visit counts in the time buckets of its counted
 * events, else (its sessions table) in those of its session, its user with it.
 */
function visitsByEvents({ params }: QueryContext): boolean {
  return readsEventsTable(
    params.metrics,
    params.filters.conditions.flatMap((c) => conditionFilters(c).map((f) => f.filter.property)),
    params.dimensions.flatMap((d) => ('property' in d ? [d.property] : [])),
  );
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
    storedEmpty: true,
    reach: true,
    globalConversionRate: true,
    byEntryPage: true,
  };
  return getGoalMetrics(ctx.deps.engine.store, ctx.tenant, options, ctx.request.signal);
}

async function readTotal(ctx: QueryContext, range: QueryRange): Promise<Row[]> {
  const rows = await read(ctx, range, { kind: 'total' });
  return [{ dimensions: [], values: rows[0]?.values ?? {} }];
}

/** Rows by every dimension, ranked and paged in the read; a time by its bucket's label. */
async function readGroups(
  ctx: QueryContext,
  range: QueryRange,
  dimensions: ResolvedDimension[],
  ranking: QueryOrder[],
) {
  const time = dimensions.find((d) => 'time' in d);
  const buckets = time === undefined ? [] : timeBuckets(range, time, dimensions.indexOf(time));
  const labelOf = new Map(buckets.map((b) => [b.start, b.label]));
  // An hour the clocks skip has a time label but no bucket: nothing happened in it.
  // Visits (and visitors) of Plausible's events table by their events' buckets; else those
  // of its sessions table, each visit (and its user) in the bucket of its end.
  const byEvents = visitsByEvents(ctx);
  const timeKey = {
    ...timeKeyOf(buckets, time?.time ?? 'day'),
    byEvents,
    visitorsOfVisits: !byEvents,
  };
  const keys = dimensions.map((d) => ('time' in d ? timeKey : { property: d.property }));
  const order: GoalOrder[] = readOrderOf(ranking, dimensions).map(({ name, desc }) => {
    const key = dimensions.findIndex((d) => d.name === name);
    if (key >= 0) return { by: { key }, desc };
    return { by: name === PERCENTAGE ? 'visitors' : (name as GoalMetric), desc };
  });
  const { limit, offset } = ctx.params.pagination;
  const countRows = ctx.params.include.totalRows;
  const group = { kind: 'group', keys, order, countRows } as const;
  const rows = await read(ctx, range, { ...group, limit, offset });
  // Past the last row nothing says how many there are: the first one does.
  const counted =
    rows.length > 0 || !countRows || offset === 0
      ? rows
      : await read(ctx, range, { ...group, limit: 1, offset: 0 });
  const label = (value: number | string, i: number) =>
    'time' in (dimensions[i] as ResolvedDimension)
      ? (labelOf.get(Number(value)) ?? String(value))
      : String(value);
  return {
    rows: rows.map(
      (row): Row => ({
        dimensions: (row.keys ?? []).map(label),
        values: row.values,
      }),
    ),
    totalRows: counted[0]?.totalRows ?? 0,
    timeLabels: buckets.map((b) => b.label),
  };
}

/** The buckets of the time dimension; too many of them is the 400 of that dimension. */
function timeBuckets(range: QueryRange, time: { time: TimeUnit }, index: number) {
  try {
    return bucketsOf(range, time.time);
  } catch (error) {
    if (!(error instanceof AppError) || error.status !== 422) throw error;
    const why = (error.issues ?? []).map((issue) => issue.msg).join('; ');
    throw badRequest(`#/dimensions/${index}: ${why || error.message}`);
  }
}

/**
 * Each row's visitors in percent of all the range's (with the same filters), 1 decimal with a
 * tie to even, as Plausible's `percentage` (its ClickHouse's round(visitors / total * 100, 1)
 * on a Float64); null when there is no visitor at all.
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
      storedEmpty: true,
      reach: true,
    },
    ctx.request.signal,
  );
  const total = rows[0]?.values.visitors ?? 0;
  return (visitors: number) => (total > 0 ? roundHalfEven((visitors / total) * 100, 1) : null);
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
