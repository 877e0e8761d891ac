// Web filters read on each event's own fields, as Umami reads every filter (a column of its
// website_event row): event properties as eventFilterSql reads them, and the visit properties
// an event has too (browser, OS, device, country, referrer host, campaign tags) as
// visitValueSql writes them, over the event instead of its visit's first event; the entry and
// exit page as the event's own page, as Umami reads them on its rows. Event lists
// and the sessions Umami's read API lists are filtered this way; totals keep get-web-metrics'.

import { assert } from '../core/index.ts';
import { referrerSourceParts } from './referrer-source.ts';
import type { SqlParams } from './sql-params.ts';
import {
  eventFilterSql,
  filterConditionSql,
  isVisitProperty,
  type VisitProperty,
  visitValueSql,
  type WebFilter,
  type WebProperty,
} from './web-properties.ts';

/** Visit properties that are a field of each event (the others need the whole visit). */
const EVENT_FIELDS: readonly VisitProperty[] = [
  'browser',
  'os',
  'device',
  'country',
  'country_name',
  'referrer_host',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
];

/**
 * Visit properties read on another field of each event, as Umami's FILTER_COLUMNS reads them
 * on its rows: `entry` and `exit` are its `url_path`, so a list filtered by them holds the
 * events on that page (Tally's totals read them as the visit's first and last page).
 */
const ON_EVENT: Partial<Record<VisitProperty, WebProperty>> = {
  entry_page: { event: 'page' },
  exit_page: { event: 'page' },
};

/** The events of `from` (alias `e`) with the columns of referrerSourceParts, as a relation. */
export function sourcedEventsSql(from: string, conditions: string[]): string {
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return `(SELECT e.*, ${referrerSourceParts('e')} FROM ${from} AS e ${where})`;
}

/** Whether an event of sourcedEventsSql (alias `e`) matches every filter. */
export function eventFiltersSql(
  filters: WebFilter[],
  views: () => string,
  params: SqlParams,
): string {
  if (filters.length === 0) return 'true';
  const conditions = filters.map((filter) => {
    const { property } = filter;
    if (!isVisitProperty(property)) return eventFilterSql(filter, views, params);
    const onEvent = ON_EVENT[property.visit];
    if (onEvent !== undefined)
      return eventFilterSql({ ...filter, property: onEvent }, views, params);
    assert(EVENT_FIELDS.includes(property.visit), 'an event has the visit property filtered');
    return filterConditionSql(filter, visitValueSql(property.visit, false), params);
  });
  return `(${conditions.join(' AND ')})`;
}
