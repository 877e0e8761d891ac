// Plausible's goal conversion rate beside the web metrics: the visitors who converted (a row's
// `visitors`, with every filter, goals included) ÷ the visitors of the same scope without the
// goal and custom property filters × 100, to 2 decimals, 0 without visitors, as Plausible's
// SpecialMetrics computes it. Both counts are getWebMetrics' visitors: one visitor definition.
// The scope is the whole range for a total and for a breakdown by goal or custom property
// (Plausible's conversion_rate), each row's own for time buckets and other properties (its
// group_conversion_rate: the share of a source's visitors who converted).

import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import type { WebFilter, WebProperty } from '../web-properties.ts';
import {
  getWebMetrics,
  type WebDimension,
  type WebMetric,
  type WebMetricsOptions,
} from './get-web-metrics.ts';

export const CONVERSION_RATE = 'conversion_rate';
export type GoalMetric = WebMetric | typeof CONVERSION_RATE;

export interface GoalMetricsOptions extends Omit<WebMetricsOptions, 'metrics'> {
  /** At least one; conversion_rate needs a goal filter or a breakdown by goal (the caller's). */
  metrics: GoalMetric[];
}

export interface GoalMetricsRow {
  key: number | string | null;
  values: Partial<Record<GoalMetric, number | null>>;
}

/** Filters a conversion rate's denominator leaves out: goals and custom properties. */
const isConversionFilter = (property: WebProperty) =>
  'prop' in property || ('event' in property && property.event === 'goal');

/** Whether each row divides by its own visitors (else by the whole range's). */
export function ratesPerRow(dimension: WebDimension): boolean {
  if (dimension.kind === 'total') return false;
  if (dimension.kind === 'bucket') return true;
  return !isConversionFilter(dimension.property);
}

/** converted ÷ total × 100, 2 decimals; 0 when there is no visitor to convert. */
export function conversionRateOf(converted: number, total: number): number {
  return total > 0 ? Math.round((converted / total) * 10_000) / 100 : 0;
}

export async function getGoalMetrics(
  source: EventSource,
  tenant: string,
  options: GoalMetricsOptions,
  signal?: AbortSignal,
): Promise<GoalMetricsRow[]> {
  const { metrics, dimension } = options;
  // The rate's numerator is the row's visitors: read in its place (once).
  const read = [...new Set(metrics.map((m) => (m === CONVERSION_RATE ? 'visitors' : m)))];
  const rows = await getWebMetrics(source, tenant, { ...options, metrics: read }, signal);
  if (!metrics.includes(CONVERSION_RATE)) return rows;
  // Ranked by the rate, rows rank by their visitors: the same while they share a denominator.
  assert(
    metrics[0] !== CONVERSION_RATE || dimension.kind !== 'property' || !ratesPerRow(dimension),
    'a breakdown ranked by conversion_rate divides every row by one total',
  );
  const totalOf = await denominators(source, tenant, options, rows, signal);
  return rows.map(({ key, values }) => {
    const rate = conversionRateOf(values.visitors ?? 0, totalOf(key));
    const kept = metrics.map((m) => [m, m === CONVERSION_RATE ? rate : (values[m] ?? null)]);
    return { key, values: Object.fromEntries(kept) };
  });
}

/** Each row's denominator: the visitors of its scope without goal and property filters. */
async function denominators(
  source: EventSource,
  tenant: string,
  options: GoalMetricsOptions,
  rows: { key: number | string | null }[],
  signal?: AbortSignal,
): Promise<(key: number | string | null) => number> {
  const filters = options.filters.filter((f) => !isConversionFilter(f.property));
  const perRow = ratesPerRow(options.dimension);
  let dimension: WebDimension = perRow ? options.dimension : { kind: 'total' };
  if (dimension.kind === 'property') {
    // The same rows, and only them: the row's values as one more filter.
    const values = rows.map((row) => row.key).filter((key) => typeof key === 'string');
    if (values.length === 0) return () => 0;
    filters.push(keysFilter(dimension.property, values));
    dimension = { ...dimension, limit: values.length, offset: 0 };
  }
  const totals = await getWebMetrics(
    source,
    tenant,
    { fromMs: options.fromMs, toMs: options.toMs, metrics: ['visitors'], filters, dimension },
    signal,
  );
  const byKey = new Map(totals.map((row) => [row.key, row.values.visitors ?? 0]));
  return perRow ? (key) => byKey.get(key) ?? 0 : () => byKey.get(null) ?? 0;
}

function keysFilter(property: WebProperty, values: string[]): WebFilter {
  return { property, values, glob: false, negated: false };
}
