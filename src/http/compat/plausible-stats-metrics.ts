// Which metrics Plausible's Stats API v1 answers, and with which filters and breakdown: the
// `metrics` parameter and Plausible's refusals, in its words. The time on page is timed
// between the events of a visit (query/time-on-page.ts), so it needs pages: a page breakdown
// or a page filter, and no goal or event name filter, as Plausible's v1 requires.

import {
  CONVERSION_RATE,
  type GoalMetric,
  isPageProperty,
  ratesPerRow,
  SCROLL_DEPTH,
  TIME_ON_PAGE,
  VISIT_METRICS,
  WEB_METRICS,
  type WebFilter,
  type WebProperty,
} from '../../query/index.ts';
import { badRequest, DOCS, isEventOnly, propertyName } from './plausible-stats-params.ts';

/** v2's scroll_depth is not one of v1's metrics (its validate_metric does not know it). */
const METRICS: readonly string[] = [
  ...WEB_METRICS.filter((m) => m !== SCROLL_DEPTH),
  CONVERSION_RATE,
];

/**
 * `metrics` (default visitors): known, each once. Split on commas only, as Plausible's v1 does:
 * a name with a space around it is not one it knows.
 */
export function metricsOf(query: URLSearchParams): GoalMetric[] {
  const names = (query.get('metrics') ?? 'visitors').split(',');
  if (new Set(names).size !== names.length) {
    throw badRequest('Metrics cannot be queried multiple times.');
  }
  for (const name of names) {
    if (!METRICS.includes(name)) {
      throw badRequest(
        `The metric \`${name}\` is not recognized. ` +
          `Find valid metrics from the documentation: ${DOCS}#metrics`,
      );
    }
  }
  return names as GoalMetric[];
}

const isGoal = (p: WebProperty) => 'event' in p && p.event === 'goal';

/**
 * Plausible's rules for metrics with filters and a breakdown: visit metrics are not measured
 * by or for custom events, views per visit neither per row nor for some pages, a conversion
 * rate needs goals to convert to, and the time on page pages to be timed.
 */
export function checkMetrics(
  metrics: GoalMetric[],
  filters: WebFilter[],
  breakdown: WebProperty | null,
): void {
  const byPage = filters.some((f) => isPageProperty(f.property));
  const eventOnly = filters.find((f) => isEventOnly(f.property));
  for (const metric of metrics) {
    if (metric === CONVERSION_RATE) {
      checkConversionRate(metrics, filters, breakdown);
      continue;
    }
    if (metric === TIME_ON_PAGE) {
      checkTimeOnPage(filters, breakdown);
      continue;
    }
    if (metric === 'views_per_visit' && byPage) {
      throw badRequest('Metric `views_per_visit` cannot be queried with a filter on `event:page`.');
    }
    if (metric === 'views_per_visit' && breakdown !== null) {
      throw badRequest('Metric `views_per_visit` is not supported in breakdown queries.');
    }
    if (!(VISIT_METRICS as readonly GoalMetric[]).includes(metric)) continue;
    if (breakdown !== null && isEventOnly(breakdown)) {
      throw badRequest(
        `Session metric \`${metric}\` cannot be queried for breakdown by ` +
          `\`${propertyName(breakdown)}\`.`,
      );
    }
    if (eventOnly !== undefined) {
      throw badRequest(
        `Session metric \`${metric}\` cannot be queried when using a filter on ` +
          `\`${propertyName(eventOnly.property)}\`.`,
      );
    }
  }
}

function checkConversionRate(
  metrics: GoalMetric[],
  filters: WebFilter[],
  breakdown: WebProperty | null,
): void {
  if (!(breakdown !== null && isGoal(breakdown)) && !filters.some((f) => isGoal(f.property))) {
    throw badRequest(
      'Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter',
    );
  }
  // Each row of such a breakdown has its own denominator: Tally ranks rows by a metric read
  // with them, and a rate of two reads is not one of those.
  if (breakdown !== null && metrics[0] === CONVERSION_RATE && ratesPerRow(dimensionOf(breakdown))) {
    throw badRequest(
      `Tally cannot rank a breakdown by \`${propertyName(breakdown)}\` by \`conversion_rate\`: ` +
        'please put another metric first (e.g. metrics=visitors,conversion_rate).',
    );
  }
}

const dimensionOf = (property: WebProperty) =>
  ({ kind: 'property', property, limit: 1, offset: 0 }) as const;

/** Plausible's v1 rules for time_on_page, in its order and words. */
function checkTimeOnPage(filters: WebFilter[], breakdown: WebProperty | null): void {
  for (const name of ['goal', 'name'] as const) {
    if (filters.some((f) => 'event' in f.property && f.property.event === name)) {
      throw badRequest(
        `Metric \`${TIME_ON_PAGE}\` cannot be queried when filtering by \`event:${name}\``,
      );
    }
  }
  if (breakdown !== null && isPageProperty(breakdown)) return;
  if (breakdown !== null) {
    throw badRequest(
      `Metric \`${TIME_ON_PAGE}\` is not supported in breakdown queries (except \`event:page\` ` +
        'breakdown)',
    );
  }
  if (!filters.some((f) => isPageProperty(f.property))) {
    throw badRequest(
      `Metric \`${TIME_ON_PAGE}\` can only be queried in a page breakdown or with a page filter.`,
    );
  }
}

/** Plausible's metrics of its events table alone, and of its sessions table alone. */
const EVENT_METRICS: readonly string[] = ['pageviews', 'events'];
const SESSION_METRICS: readonly string[] = ['bounce_rate', 'visit_duration', 'views_per_visit'];
const SESSION_PROPERTIES = ['entry_page', 'exit_page'];

/**
 * Whether Plausible reads the metrics of either table (`visits`, `visitors`) from its events
 * table, as its TableDecider.partition_metrics picks for v1 and v2 alike: with an event
 * metric, dimension or filter (at any depth), unless only event filters are of the events
 * and something is of the sessions alone (a bounce rate, a visit duration, views per visit,
 * an entry or exit page). Else from its sessions table.
 */
export function readsEventsTable(
  metrics: readonly string[],
  filtered: WebProperty[],
  dimensions: WebProperty[],
): boolean {
  const sides = (properties: WebProperty[]) => ({
    event: properties.some((p) => !('visit' in p)),
    session: properties.some((p) => 'visit' in p && SESSION_PROPERTIES.includes(p.visit)),
  });
  const filters = sides(filtered);
  const keys = sides(dimensions);
  const eventMetric = metrics.some((m) => EVENT_METRICS.includes(m));
  const sessionMetric = metrics.some((m) => SESSION_METRICS.includes(m));
  if (!eventMetric && !filters.event && !keys.event) return false;
  if (!sessionMetric && !filters.session && !keys.session) return true;
  return eventMetric || keys.event;
}
