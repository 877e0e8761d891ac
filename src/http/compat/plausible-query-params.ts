// The body of a Plausible Stats API v2 query (POST /api/v2/query) as Plausible's JSON schema
// and query parser read it: site_id, metrics, date_range (plausible-query-time.ts),
// dimensions, filters (plausible-query-filters.ts), order_by, include, pagination, and
// Tally's own `tz`. Metrics and dimensions are v1's lists (plausible-stats-params.ts) and the
// rates and percentage v2 adds, so what v1 learns v2 answers too. Every refusal is a 400 in
// Plausible's words, led by the JSON pointer of what it refuses (`#/metrics/0: …`).

import {
  CONVERSION_RATE,
  conditionFilters,
  EXIT_RATE,
  type GoalMetric,
  GROUP_CONVERSION_RATE,
  queryLimits,
  resolveTimeZone,
  TIME_ON_PAGE,
  WEB_METRICS,
  type WebProperty,
} from '../../query/index.ts';
import { checkScrollDepth } from './plausible-query-engagement.ts';
import {
  type QueryFilters,
  queryFiltersOf,
  queryPropertyOf,
  shown,
} from './plausible-query-filters.ts';
import { type RangeSpec, rangeSpecOf, TIME_UNITS, type TimeUnit } from './plausible-query-time.ts';
import { badRequest, isEventOnly, ownValue, propertyName } from './plausible-stats-params.ts';

export const PERCENTAGE = 'percentage';
export type QueryMetric = GoalMetric | typeof PERCENTAGE;
const METRICS: readonly string[] = [
  ...WEB_METRICS,
  EXIT_RATE,
  CONVERSION_RATE,
  GROUP_CONVERSION_RATE,
  PERCENTAGE,
];
/** Metrics of Plausible's v2 that Tally cannot compute. */
const UNSUPPORTED_METRICS: Record<string, string> = {
  total_revenue: 'Tally has no revenue goals',
  average_revenue: 'Tally has no revenue goals',
};

export type QueryDimension =
  | { name: string; time: TimeUnit | 'auto' }
  | { name: string; property: WebProperty };

export interface QueryOrder {
  name: string;
  desc: boolean;
}

export interface QueryInclude {
  timeLabels: boolean;
  totalRows: boolean;
  imports: boolean;
}

export interface QueryParams {
  metrics: QueryMetric[];
  range: RangeSpec;
  tz: string;
  dimensions: QueryDimension[];
  filters: QueryFilters;
  /** The filters as sent, to echo. */
  rawFilters: unknown[];
  orderBy: QueryOrder[] | null;
  include: QueryInclude;
  pagination: { limit: number; offset: number };
}

const BODY_KEYS = [
  'site_id',
  'metrics',
  'date_range',
  'dimensions',
  'filters',
  'order_by',
  'include',
  'pagination',
  'tz',
];
const REQUIRED_KEYS = ['metrics', 'date_range'];

/** The query of `body` (a JSON object), its site apart (plausible-site.ts reads that). */
export function queryParamsOf(body: Record<string, unknown>): QueryParams {
  const extra = Object.keys(body).find((key) => !BODY_KEYS.includes(key));
  if (extra !== undefined) throw notAllowed(`#/${extra}`);
  const missing = REQUIRED_KEYS.filter((key) => body[key] === undefined);
  if (missing.length > 0) {
    throw badRequest(
      missing.length === 1
        ? `#: Required property ${missing[0]} was not present.`
        : `#: Required properties ${missing.join(', ')} were not present.`,
    );
  }
  const range = rangeSpecOf(body.date_range);
  if (range === null)
    throw badRequest(`#/date_range: Invalid date range ${shown(body.date_range)}`);
  const metrics = metricsOf(body.metrics);
  const dimensions = dimensionsOf(body.dimensions);
  const query: QueryParams = {
    metrics,
    range,
    tz: timeZoneOf(body.tz),
    dimensions,
    filters: queryFiltersOf(body.filters),
    rawFilters: Array.isArray(body.filters) ? body.filters : [],
    orderBy: orderOf(body.order_by, metrics, dimensions),
    include: includeOf(body.include),
    pagination: paginationOf(body.pagination),
  };
  checkMetrics(query);
  checkScrollDepth(query);
  checkDimensions(query);
  return query;
}

const SESSION_METRICS: readonly QueryMetric[] = [
  'bounce_rate',
  'views_per_visit',
  'visit_duration',
];
const RATES: readonly QueryMetric[] = [CONVERSION_RATE, GROUP_CONVERSION_RATE];
const GOAL = 'event:goal';
const PAGE = 'event:page';

/** Plausible's rules for metrics with filters and dimensions. */
function checkMetrics(q: QueryParams): void {
  const filters = q.filters.conditions.flatMap((condition) => conditionFilters(condition));
  const filtered = (name: string) =>
    filters.some(({ filter }) => propertyName(filter.property) === name);
  const eventFiltered = filters.some(({ filter }) => !('visit' in filter.property));
  for (const metric of q.metrics) {
    if (metric === 'views_per_visit' && filtered(PAGE)) {
      throw badRequest('Metric `views_per_visit` cannot be queried with a filter on `event:page`.');
    }
    if (metric === 'views_per_visit' && q.dimensions.length > 0) {
      throw badRequest('Metric `views_per_visit` cannot be queried with `dimensions`.');
    }
    if (metric === TIME_ON_PAGE && !filtered(PAGE) && !q.dimensions.some((d) => d.name === PAGE)) {
      throw badRequest(
        `Metric \`${TIME_ON_PAGE}\` can only be queried with event:page filters or dimensions.`,
      );
    }
    if (RATES.includes(metric) && !filtered(GOAL) && !q.dimensions.some((d) => d.name === GOAL)) {
      throw badRequest(
        `Metric \`${metric}\` can only be queried with event:goal filters or dimensions.`,
      );
    }
  }
  if (q.metrics.includes(EXIT_RATE)) checkExitRate(q, eventFiltered);
  const deepProps = filters.some(({ filter, depth }) => depth > 0 && 'prop' in filter.property);
  if (deepProps && q.metrics.some((m) => RATES.includes(m))) {
    throw badRequest(
      'Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, ' +
        'custom property filters can only be used on top level.',
    );
  }
  const sessionMetrics = q.metrics.filter((m) => SESSION_METRICS.includes(m));
  const eventOnly = q.dimensions.some((d) => 'property' in d && isEventOnly(d.property));
  if (sessionMetrics.length > 0 && eventOnly) {
    throw badRequest(
      `Session metric(s) \`${sessionMetrics.join(', ')}\` cannot be queried along with event ` +
        'dimensions.',
    );
  }
}

/**
 * Plausible's rule for exit_rate (QueryBuilder's validate_metric): by the exit page alone, and
 * without a filter on an event dimension (at any depth), in its words.
 */
function checkExitRate(q: QueryParams, eventFiltered: boolean): void {
  const [first, ...others] = q.dimensions;
  if (first === undefined || first.name !== 'visit:exit_page' || others.length > 0) {
    throw badRequest(
      `Metric \`${EXIT_RATE}\` requires a \`"visit:exit_page"\` dimension. No other ` +
        'dimensions are allowed.',
    );
  }
  if (eventFiltered) {
    throw badRequest(
      `Metric \`${EXIT_RATE}\` cannot be queried when filtering on event dimensions.`,
    );
  }
}

/** include.time_labels needs a time dimension; Tally groups by one time at most. */
function checkDimensions(q: QueryParams): void {
  const times = q.dimensions.filter((d) => 'time' in d);
  if (q.include.timeLabels && times.length === 0) {
    throw badRequest('Invalid include.time_labels: requires a time dimension.');
  }
  if (times.length > 1) {
    const names = shown(times.map((d) => d.name));
    throw badRequest(`#/dimensions: Tally groups by one time dimension at a time (${names}).`);
  }
}

const notAllowed = (path: string) =>
  badRequest(`${path}: Schema does not allow additional properties.`);

function typeOf(value: unknown): string {
  if (value === null) return 'Null';
  if (Array.isArray(value)) return 'Array';
  if (Number.isInteger(value)) return 'Integer';
  const type = typeof value;
  return type === 'object' ? 'Object' : type.charAt(0).toUpperCase() + type.slice(1);
}

/** A list of distinct items, or JSON schema's 400 naming `path`. */
function listOf(value: unknown, path: string, minItems = 0): unknown[] {
  if (!Array.isArray(value)) {
    throw badRequest(`${path}: Type mismatch. Expected Array but got ${typeOf(value)}.`);
  }
  if (value.length < minItems) {
    throw badRequest(`${path}: Expected a minimum of ${minItems} items but got ${value.length}.`);
  }
  if (new Set(value.map((item) => shown(item))).size !== value.length) {
    throw badRequest(`${path}: Expected items to be unique but they were not.`);
  }
  return value;
}

function metricsOf(value: unknown): QueryMetric[] {
  return listOf(value, '#/metrics', 1).map((metric, i) => {
    const why = typeof metric === 'string' ? ownValue(UNSUPPORTED_METRICS, metric) : undefined;
    if (why !== undefined) {
      throw badRequest(
        `#/metrics/${i}: The metric \`${metric}\` is not supported by Tally: ${why}.`,
      );
    }
    if (typeof metric !== 'string' || !METRICS.includes(metric)) {
      throw badRequest(`#/metrics/${i}: Invalid metric ${shown(metric)}`);
    }
    return metric as QueryMetric;
  });
}

const TIME_DIMENSIONS: Record<string, TimeUnit | 'auto'> = {
  time: 'auto',
  ...Object.fromEntries(TIME_UNITS.map((unit) => [`time:${unit}`, unit])),
};

function dimensionsOf(value: unknown): QueryDimension[] {
  if (value === undefined || value === null) return [];
  const names = listOf(value, '#/dimensions');
  if (names.length > queryLimits.statsQueryDimensionsMax) {
    throw badRequest(
      `#/dimensions: At most ${queryLimits.statsQueryDimensionsMax} dimensions may be combined.`,
    );
  }
  return names.map((name, i) => {
    const invalid = () => badRequest(`#/dimensions/${i}: Invalid dimension ${shown(name)}`);
    if (typeof name !== 'string') throw invalid();
    const time = ownValue(TIME_DIMENSIONS, name);
    if (time !== undefined) return { name, time };
    const property = queryPropertyOf(name, false);
    if (!('refused' in property)) return { name, property };
    if (property.refused === '') throw invalid();
    throw badRequest(
      `#/dimensions/${i}: The dimension \`${name}\` is not supported by Tally: ` +
        `${property.refused}.`,
    );
  });
}

function orderOf(
  value: unknown,
  metrics: QueryMetric[],
  dimensions: QueryDimension[],
): QueryOrder[] | null {
  if (value === undefined || value === null) return null;
  const names = [...metrics, ...dimensions.map((d) => d.name)];
  return listOf(value, '#/order_by').map((entry, i) => {
    const [name, direction] = Array.isArray(entry) ? entry : [];
    const valid = Array.isArray(entry) && entry.length === 2 && typeof name === 'string';
    if (!valid || (direction !== 'asc' && direction !== 'desc')) {
      throw badRequest(`#/order_by/${i}: Invalid value in order_by ${shown(entry)}`);
    }
    if (!names.includes(name)) {
      throw badRequest(
        `#/order_by/${i}: Invalid order_by entry ${shown(entry)}. ` +
          'Entry is not a queried metric or dimension.',
      );
    }
    return { name, desc: direction === 'desc' };
  });
}

/** Fields of an object of booleans: each one of `keys`, `unsupported` ones refused. */
function objectOf(value: unknown, path: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`${path}: Type mismatch. Expected Object but got ${typeOf(value)}.`);
  }
  return value as Record<string, unknown>;
}

const INCLUDE_KEYS: Record<string, keyof QueryInclude> = {
  time_labels: 'timeLabels',
  total_rows: 'totalRows',
  imports: 'imports',
};

function includeOf(value: unknown): QueryInclude {
  const include: QueryInclude = { timeLabels: false, totalRows: false, imports: false };
  for (const [key, flag] of Object.entries(objectOf(value, '#/include'))) {
    if (key === 'comparisons' || key === 'compare') {
      throw badRequest(`#/include/${key}: Comparisons are not supported by Tally's v2 API.`);
    }
    const field = ownValue(INCLUDE_KEYS, key);
    if (field === undefined) throw notAllowed(`#/include/${key}`);
    if (typeof flag !== 'boolean') {
      throw badRequest(
        `#/include/${key}: Type mismatch. Expected Boolean but got ${typeOf(flag)}.`,
      );
    }
    include[field] = flag;
  }
  return include;
}

function paginationOf(value: unknown): { limit: number; offset: number } {
  const fields = objectOf(value, '#/pagination');
  const extra = Object.keys(fields).find((key) => key !== 'limit' && key !== 'offset');
  if (extra !== undefined) throw notAllowed(`#/pagination/${extra}`);
  return {
    limit: wholeNumber(fields.limit, 'limit', 1, queryLimits.statsQueryRowsMax),
    offset: wholeNumber(fields.offset, 'offset', 0, queryLimits.statsQueryOffsetMax),
  };
}

/** A pagination field: a whole number in [min, max]; absent, Plausible's default. */
function wholeNumber(value: unknown, key: 'limit' | 'offset', min: number, max: number): number {
  if (value === undefined) return key === 'limit' ? queryLimits.statsQueryRowsMax : 0;
  const path = `#/pagination/${key}`;
  if (!Number.isInteger(value)) {
    throw badRequest(`${path}: Type mismatch. Expected Integer but got ${typeOf(value)}.`);
  }
  const n = value as number;
  if (n < min) throw badRequest(`${path}: Expected the value to be >= ${min}`);
  if (n > max) throw badRequest(`${path}: Expected the value to be <= ${max}`);
  return n;
}

function timeZoneOf(tz: unknown): string {
  if (tz === undefined || tz === null) return 'UTC';
  try {
    if (typeof tz === 'string') return resolveTimeZone(tz);
  } catch {
    // Refused below, in the words of this API.
  }
  throw badRequest(
    `#/tz: ${shown(tz)} is not an IANA time zone (e.g. Europe/Berlin); without tz, days ` +
      'are UTC days',
  );
}
