// Reads over events one by one (funnels, cohorts, exports) take event filters but not the visit
// filters of /stats: the schema would drop those silently and change what the answer means
// without a word (an export of one channel's visits would be every event), so they are refused
// with a 422 naming each one.

import { AppError, type FieldIssue } from '../core/index.ts';
import { VISIT_PARAM_NAMES } from '../query/index.ts';
import { filterParams, orList } from './read-params.ts';

/**
 * The event filters of funnels and cohort reads (those of /stats), read off their schema's
 * filterParams: a list written out by hand missed anonymous_id and visitor_id once they came.
 */
const STATS_EVENT_FILTERS = orList([
  ...Object.keys(filterParams).filter((name) => name !== 'bots'),
  'property.<key>',
]);

/**
 * A 422 listing each visit filter of `params`; `read` names the read ("a funnel"), `filters`
 * the event filters it takes instead.
 */
export function refuseVisitFilters(
  params: URLSearchParams,
  read: string,
  filters: string = STATS_EVENT_FILTERS,
): void {
  const issues: FieldIssue[] = VISIT_PARAM_NAMES.filter((name) => params.has(name)).map((name) => ({
    loc: ['query', name],
    msg: `${read} takes no visit filters (${name}); filter its events by ${filters}`,
    type: 'extra_forbidden',
  }));
  if (issues.length > 0) throw AppError.validation(issues);
}
