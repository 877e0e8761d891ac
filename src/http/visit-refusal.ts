// Reads over events one by one (funnels, cohorts) take the event filters of /stats but not its
// visit filters: the schema would drop those silently and change what the answer means without
// a word, so they are refused with a 422 naming each one.

import { AppError, type FieldIssue } from '../core/index.ts';
import { VISIT_PARAM_NAMES } from '../query/index.ts';

/** A 422 listing each visit filter of `params`; `read` names the read ("a funnel"). */
export function refuseVisitFilters(params: URLSearchParams, read: string): void {
  const issues: FieldIssue[] = VISIT_PARAM_NAMES.filter((name) => params.has(name)).map((name) => ({
    loc: ['query', name],
    msg:
      `${read} takes no visit filters (${name}); filter its events by name, path, source, ` +
      'user_id, os, browser, device, country or property.<key>',
    type: 'extra_forbidden',
  }));
  if (issues.length > 0) throw AppError.validation(issues);
}
