// Plausible's page rules over the kept visits of a web metrics read (queries/get-web-metrics.ts).
// By an event:page key, Plausible splits the query: events by page, sessions by entry page
// (its QueryOptimizer renames event:page to visit:entry_page in the sessions query, filters
// too), merged by page; entryPlanOf is that sessions side over `kept`. The exit rate divides
// the visits that left at a page by the page views of it (pageViewsSql).

import type { SqlParams } from './sql-params.ts';
import { conditionFilters, conditionSql, type WebCondition } from './web-conditions.ts';
import type { WebKey } from './web-metrics-model.ts';
import {
  filterConditionSql,
  isPageProperty,
  type WebFilter,
  type WebProperty,
} from './web-properties.ts';

/** The visits entered at a row's page: where `kept` says so, and what they are counted by. */
export interface EntryPlan {
  /** The kept visits' column `v<i>` of their entry page. */
  page: string;
  /** Over `k`: an entry page, the page filters read on it, `nmatched` for the other filters. */
  match: string;
  /** The event filters that are not only on pages, over `e` (the visit must hold a match). */
  rest: string | null;
}

export interface EntrySpec {
  eventFilters: WebCondition[];
  /** The SQL of a visit's entry page, over kept's columns. */
  entryPage: string;
  /** Adds a column to `kept`, answering its name (`v<i>`). */
  addVisitKey: (sql: string) => string;
  /** An event filter's condition over `e`. */
  eventSql: (filter: WebFilter) => string;
  params: SqlParams;
}

/**
 * Plausible's sessions by entry page: a condition made only of page filters is read on the
 * entry page; the others stay event filters, a visit counted when it holds a matching event.
 */
export function entryPlanOf(spec: EntrySpec): EntryPlan {
  const onPage = spec.eventFilters.filter((c) =>
    conditionFilters(c).every(({ filter }) => isPageProperty(filter.property)),
  );
  const rest = spec.eventFilters.filter((c) => !onPage.includes(c));
  const onEntry = (f: WebFilter) =>
    filterConditionSql({ ...f, property: { visit: 'entry_page' } }, spec.entryPage, spec.params);
  const page = spec.addVisitKey(spec.entryPage);
  const match = [`k.${page} IS NOT NULL`];
  if (onPage.length > 0) match.push(`k.${spec.addVisitKey(allOf(onPage, onEntry))}`);
  if (rest.length > 0) match.push('k.nmatched');
  return {
    page,
    match: match.join(' AND '),
    rest: rest.length > 0 ? allOf(rest, spec.eventSql) : null,
  };
}

function allOf(conditions: WebCondition[], sql: (filter: WebFilter) => string): string {
  return conditions.map((condition) => conditionSql(condition, sql)).join(' AND ');
}

/** Whether the keys' only event property is the page (ENTRY_METRICS by entry page then). */
export function byPageAlone(keys: WebKey[]): boolean {
  const events = keys.flatMap((key) =>
    'property' in key && !('visit' in key.property) ? [key.property] : [],
  );
  return events.length === 1 && isPageProperty(events[0] as WebProperty);
}

/** A top-level filter on the exit page (an exit rate's page views leave it out). */
export function isExitPageFilter(condition: WebCondition): boolean {
  return (
    'property' in condition &&
    'visit' in condition.property &&
    condition.property.visit === 'exit_page'
  );
}

/** The page views of each page in the kept visits (an exit rate's denominator), as `xp`. */
export function pageViewsSql(joinKept: string): string {
  return `SELECT g.path AS page, count(*) AS pageviews
    FROM grouped AS g ${joinKept}
    WHERE g.is_view AND g.side = 0 AND g.path IS NOT NULL GROUP BY g.path`;
}
