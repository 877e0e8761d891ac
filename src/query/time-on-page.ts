// Plausible's legacy time on page (lib/plausible/stats/legacy/time_on_page.ex, what it
// computes when it has no engagement data), over the events of a visit grouping
// (queries/visit-rows.ts), in total or by page only (Plausible's legacy query answers no
// other dimension). Its steps: the events of each visit that have a page (page views and
// custom events alike), in time order, each with the next one's page and second; the moves,
// one per visit, page and next page, with their seconds summed; a page's time is the seconds
// of all its moves ÷ those to another page (a reload or a custom event on the page adds
// seconds, not a move; a visit's last event is no move), null without such a move; in total,
// the mean of the pages' times. Times are whole seconds apart, as Plausible stores its
// timestamps. Which filters narrow the sequence and which pick the pages: timeOnPageColumns.

import { visitWindowSql } from './queries/visit-rows.ts';
import { conditionSql, type WebCondition } from './web-conditions.ts';
import { isPageProperty, type WebFilter, type WebProperty } from './web-properties.ts';

export const TIME_ON_PAGE = 'time_on_page';

/** The event columns the grouping carries: in the sequence; of a page timed. */
const IN_SEQUENCE = 'tseq';
const TIMED_PAGE = 'tpage';

/** What the time is read by: one total row (key NULL), or one row per page (key its path). */
export type TimedBy = 'total' | 'page';

/** By a statement's row keys (none in total): what its time on page is read by, if at all. */
export function timedBy(keys: readonly ({ property: WebProperty } | object)[]): TimedBy | null {
  if (keys.length === 0) return 'total';
  const [key] = keys;
  if (keys.length > 1 || key === undefined || !('property' in key)) return null;
  return isPageProperty(key.property) ? 'page' : null;
}

/**
 * The extra event columns (name → SQL over `e`, by `filterSql`) of the sequence and of the
 * pages timed. Plausible drops the top-level `event:page` filters from its event query (they
 * pick the pages timed instead, in total; by page every page is timed), and by page the
 * top-level custom property filters too; every other condition (a nested page filter as
 * well) narrows the sequence of events.
 */
export function timeOnPageColumns(
  eventFilters: WebCondition[],
  by: TimedBy,
  filterSql: (filter: WebFilter) => string,
): Record<string, string> {
  const isPage = (c: WebCondition) => 'property' in c && isPageProperty(c.property);
  const isProp = (c: WebCondition) => 'property' in c && 'prop' in c.property;
  const dropped = (c: WebCondition) => isPage(c) || (by === 'page' && isProp(c));
  const all = (conditions: WebCondition[]) =>
    `(${conditions.map((c) => conditionSql(c, filterSql)).join(' AND ') || 'true'})`;
  return {
    [IN_SEQUENCE]: all(eventFilters.filter((c) => !dropped(c))),
    [TIMED_PAGE]: all(by === 'total' ? eventFilters.filter(isPage) : []),
  };
}

/**
 * `steps AS (…), moves AS (…), paged AS (…), tp AS (…)`: `tp` the time on page (`d0`,
 * TIME_ON_PAGE), over `grouped` (with timeOnPageColumns) as `g`, of the visits kept: all when
 * `visitMatch` is 'true', else those `keptJoin` joins.
 */
export function timeOnPageCtes(by: TimedBy, visitMatch: string, keptJoin: string): string {
  const next = (column: string) => `lead(${column}) OVER (${visitWindowSql()})`;
  const row = by === 'total' ? 'NULL AS d0, avg(seconds)' : 'path AS d0, seconds';
  return `steps AS (
      SELECT by_gaps, key, n, path, ${TIMED_PAGE}, ts // 1000 AS s,
        ${next('ts // 1000')} AS next_s, ${next('path')} AS next_path
      FROM (SELECT g.by_gaps, g.key, g.n, g.ts, g.path, g.url, g.referrer, g.${TIMED_PAGE}
        FROM grouped AS g ${visitMatch === 'true' ? '' : keptJoin}
        WHERE g.path IS NOT NULL AND g.side = 0 AND g.${IN_SEQUENCE})
    ), moves AS (
      SELECT path, next_path <> path AS moved, sum(next_s - s) AS seconds
      FROM steps WHERE next_s IS NOT NULL AND ${TIMED_PAGE}
      GROUP BY by_gaps, key, n, path, next_path
    ), paged AS (
      SELECT path, sum(seconds) / nullif(count(*) FILTER (WHERE moved), 0) AS seconds
      FROM moves GROUP BY path
    ), tp AS (SELECT ${row} AS ${TIME_ON_PAGE} FROM paged)`;
}
