// Plausible's goal conversion rate beside the web metrics: the visitors who converted (a row's
// `visitors`, with every filter, goals included) ÷ the visitors of the same scope without the
// goal and custom property filters × 100, to 2 decimals (a tie to even), 0 without visitors,
// as Plausible's SpecialMetrics computes it. Both counts are getWebMetrics' visitors: one
// visitor definition.
// The scope is the whole range for a total and for a breakdown by goal or custom property
// (Plausible's conversion_rate), each row's own for time buckets and other properties (its
// group_conversion_rate: the share of a source's visitors who converted). Plausible's v2 names
// both: `globalConversionRate` makes conversion_rate divide by the whole range's visitors
// whatever the dimension, and group_conversion_rate divides by each row's.

import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { roundHalfEven } from '../clickhouse-round.ts';
import { isFilter, type WebCondition } from '../web-conditions.ts';
import type {
  WebDimension,
  WebMetric,
  WebMetricsOptions,
  WebMetricsRow,
  WebOrder,
} from '../web-metrics-model.ts';
import type { WebFilter, WebProperty } from '../web-properties.ts';
import { getWebMetrics } from './get-web-metrics.ts';

export const CONVERSION_RATE = 'conversion_rate';
export const GROUP_CONVERSION_RATE = 'group_conversion_rate';
type Rate = typeof CONVERSION_RATE | typeof GROUP_CONVERSION_RATE;
export type GoalMetric = WebMetric | Rate;

export interface GoalMetricsOptions extends Omit<WebMetricsOptions, 'metrics' | 'dimension'> {
  /** At least one; a rate needs a goal filter or a breakdown by goal (the caller's check). */
  metrics: GoalMetric[];
  dimension: GoalDimension;
  /** conversion_rate over the whole range's visitors whatever the dimension (v2's). */
  globalConversionRate?: boolean;
}

type Ranked = Extract<WebDimension, { kind: 'property' | 'group' }>;

/** A WebDimension whose ranking may name a rate (it ranks as the row's visitors). */
export type GoalDimension =
  | Exclude<WebDimension, Ranked>
  | (Omit<Extract<Ranked, { kind: 'property' }>, 'order'> & { order?: GoalOrder[] })
  | (Omit<Extract<Ranked, { kind: 'group' }>, 'order'> & { order?: GoalOrder[] });

export interface GoalOrder {
  by: GoalMetric | { key: number };
  desc: boolean;
}

export interface GoalMetricsRow {
  key: number | string | null;
  keys?: (number | string)[];
  values: Partial<Record<GoalMetric, number | null>>;
  totalRows?: number;
}

/** Filters a conversion rate's denominator leaves out: goals and custom properties. */
const isConversionProperty = (property: WebProperty) =>
  'prop' in property || ('event' in property && property.event === 'goal');
const isConversionFilter = (condition: WebCondition) =>
  isFilter(condition) && isConversionProperty(condition.property);

const RATES: readonly Rate[] = [CONVERSION_RATE, GROUP_CONVERSION_RATE];
const isRate = (metric: GoalOrder['by']): metric is Rate =>
  metric === CONVERSION_RATE || metric === GROUP_CONVERSION_RATE;

/** Whether each row divides by its own visitors (else by the whole range's). */
export function ratesPerRow(dimension: GoalDimension): boolean {
  if (dimension.kind === 'total') return false;
  if (dimension.kind === 'bucket') return true;
  if (dimension.kind === 'property') return !isConversionProperty(dimension.property);
  return dimension.keys.some((key) => 'starts' in key || !isConversionProperty(key.property));
}

/**
 * converted ÷ total × 100, 2 decimals with a tie to even, as Plausible's ClickHouse rounds it
 * (special_metrics.ex: round(visitors / total_visitors * 100, 2) on a Float64); 0 when there
 * is no visitor to convert.
 */
export function conversionRateOf(converted: number, total: number): number {
  return total > 0 ? roundHalfEven((converted / total) * 100, 2) : 0;
}

export async function getGoalMetrics(
  source: EventSource,
  tenant: string,
  options: GoalMetricsOptions,
  signal?: AbortSignal,
): Promise<GoalMetricsRow[]> {
  const { metrics } = options;
  const perRowOf = (rate: Rate) =>
    rate === GROUP_CONVERSION_RATE ||
    (options.globalConversionRate !== true && ratesPerRow(options.dimension));
  // A rate's numerator is the row's visitors: read in its place (once).
  const read = [...new Set(metrics.map((m) => (isRate(m) ? 'visitors' : m)))];
  const dimension = webDimensionOf(options.dimension, metrics, perRowOf);
  const rows = await getWebMetrics(
    source,
    tenant,
    { ...options, metrics: read, dimension },
    signal,
  );
  const rates = RATES.filter((rate) => metrics.includes(rate));
  const totals = new Map<Rate, (row: WebMetricsRow) => number>();
  for (const rate of rates) {
    totals.set(rate, await denominators(source, tenant, options, perRowOf(rate), rows, signal));
  }
  return rows.map((row) => {
    const { values } = row;
    const metricOf = (m: GoalMetric) =>
      isRate(m) ? conversionRateOf(values.visitors ?? 0, totals.get(m)?.(row) ?? 0) : values[m];
    return { ...row, values: Object.fromEntries(metrics.map((m) => [m, metricOf(m) ?? null])) };
  });
}

/**
 * The dimension to read. Its ranking (by default the first metric, descending) ranks a rate
 * by the rows' visitors: the same order only while every row has one denominator.
 */
function webDimensionOf(
  dimension: GoalDimension,
  metrics: GoalMetric[],
  perRowOf: (rate: Rate) => boolean,
): WebDimension {
  if (dimension.kind !== 'property' && dimension.kind !== 'group') return dimension;
  const ranking = dimension.order ?? [{ by: metrics[0] as GoalMetric, desc: true }];
  const order: WebOrder[] = ranking.map(({ by, desc }) => {
    if (!isRate(by)) return { by, desc };
    assert(!perRowOf(by), 'a ranking by a rate divides every row by one total');
    return { by: 'visitors', desc };
  });
  return { ...dimension, order };
}

/** Each row's denominator: the visitors of its scope without goal and property filters. */
async function denominators(
  source: EventSource,
  tenant: string,
  options: GoalMetricsOptions,
  perRow: boolean,
  rows: WebMetricsRow[],
  signal?: AbortSignal,
): Promise<(row: WebMetricsRow) => number> {
  const filters = options.filters.filter((f) => !isConversionFilter(f));
  const scope = perRow ? rowsScopeOf(options.dimension, rows) : { dimension: TOTAL, filters: [] };
  if (scope === null) return () => 0;
  const totals = await getWebMetrics(
    source,
    tenant,
    {
      ...options,
      metrics: ['visitors'],
      filters: [...filters, ...scope.filters],
      dimension: scope.dimension,
    },
    signal,
  );
  if (!perRow) {
    const visitors = totals[0]?.values.visitors ?? 0;
    return () => visitors;
  }
  const byRow = new Map(totals.map((row) => [rowId(row), row.values.visitors ?? 0]));
  return (row) => byRow.get(rowId(row)) ?? 0;
}

const TOTAL: WebDimension = { kind: 'total' };
const rowId = (row: WebMetricsRow) => JSON.stringify(row.keys ?? row.key);

/**
 * Where the rows' own denominators are read: the same rows, and only them, by the rows' values
 * of each property as one more filter (so every combination of them, at most). Null when
 * there is no row to divide.
 */
function rowsScopeOf(
  dimension: GoalDimension,
  rows: WebMetricsRow[],
): { dimension: WebDimension; filters: WebFilter[] } | null {
  if (dimension.kind === 'total' || dimension.kind === 'bucket') return { dimension, filters: [] };
  if (rows.length === 0) return null;
  const keys = dimension.kind === 'property' ? [{ property: dimension.property }] : dimension.keys;
  const filters: WebFilter[] = [];
  let combinations = 1;
  keys.forEach((key, i) => {
    if ('starts' in key) {
      combinations *= key.starts.length;
      return;
    }
    const values = [...new Set(rows.map((row) => String((row.keys ?? [row.key])[i])))];
    combinations *= values.length;
    filters.push(keysFilter(key.property, values));
  });
  const page = { limit: Math.min(combinations, Number.MAX_SAFE_INTEGER), offset: 0 };
  return {
    dimension:
      dimension.kind === 'property'
        ? { kind: 'property', property: dimension.property, ...page }
        : { kind: 'group', keys, ...page },
    filters,
  };
}

function keysFilter(property: WebProperty, values: string[]): WebFilter {
  return { property, values, match: 'is', negated: false };
}
