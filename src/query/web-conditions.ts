// Conditions of web analytics reads: a filter (web-properties.ts), or filters combined with
// and, or and not, as Plausible's Stats API v2 nests them. A condition is read on one side:
// an event's (its page, name, goal, custom props) or its visit's (source, pages, campaign,
// device, …); a condition that mixes both sides inside `or` or `not` has no reading in
// get-web-metrics.ts, whose callers refuse it (conditionSideOf says which it is).

import { isPageProperty, isVisitProperty, type WebFilter } from './web-properties.ts';

export type WebCondition =
  | WebFilter
  | { all: WebCondition[] }
  | { any: WebCondition[] }
  | { not: WebCondition };

export function isFilter(condition: WebCondition): condition is WebFilter {
  return 'property' in condition;
}

/**
 * The first top-level `event:page` filter read on the entry page instead (Plausible's bounce
 * rate with a page filter is of the visits that entered at such a page), or null.
 */
export function entryPageFilterOf(conditions: WebCondition[]): WebFilter | null {
  const page = conditions.find((f): f is WebFilter => isFilter(f) && isPageProperty(f.property));
  return page === undefined ? null : { ...page, property: { visit: 'entry_page' } };
}

/** Every filter of `condition`, with its depth (0: the condition is that filter). */
export function conditionFilters(
  condition: WebCondition,
  depth = 0,
): { filter: WebFilter; depth: number }[] {
  if (isFilter(condition)) return [{ filter: condition, depth }];
  if ('not' in condition) return conditionFilters(condition.not, depth + 1);
  const parts = 'all' in condition ? condition.all : condition.any;
  return parts.flatMap((part) => conditionFilters(part, depth + 1));
}

/** Which side `condition` reads: the event's, the visit's, or both (then it cannot be read). */
export function conditionSideOf(condition: WebCondition): 'event' | 'visit' | 'mixed' {
  const sides = new Set(
    conditionFilters(condition).map(({ filter }) =>
      isVisitProperty(filter.property) ? 'visit' : 'event',
    ),
  );
  if (sides.size > 1) return 'mixed';
  return sides.has('visit') ? 'visit' : 'event';
}

/** The SQL of `condition`, each filter's by `filterSql` (never NULL, so NOT is exact). */
export function conditionSql(
  condition: WebCondition,
  filterSql: (filter: WebFilter) => string,
): string {
  if (isFilter(condition)) return filterSql(condition);
  if ('not' in condition) return `(NOT ${conditionSql(condition.not, filterSql)})`;
  const all = 'all' in condition;
  const parts = all ? condition.all : condition.any;
  if (parts.length === 0) return all ? 'true' : 'false';
  const joined = parts.map((part) => conditionSql(part, filterSql));
  return `(${joined.join(all ? ' AND ' : ' OR ')})`;
}
