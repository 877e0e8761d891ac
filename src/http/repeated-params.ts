// A native read takes each query parameter once (a funnel's `step` excepted): Elysia keeps the
// last of a parameter given twice and drops the others without a word, so `name=a&name=b` read
// only b's events, and `tenant_id=a&tenant_id=b` one of two tenants. Refused with a 422 naming
// each one, as a cohort read's `start` or `return` given twice is. The query string is read
// once, by queryParametersOf, which refuses one that could be read two ways (a 400).

import { AppError, type FieldIssue } from '../core/index.ts';
import { queryParametersOf } from './query-string.ts';

/** The query parameters a native read takes more than once: a funnel's steps, in order. */
const REPEATABLE = new Set(['step']);

/**
 * A 400 for a query string that is not valid percent-encoding (query-string.ts), else a 422
 * naming each parameter of `request`'s query given more than once.
 */
export function refuseRepeatedParameters(request: Request): void {
  const counts = new Map<string, number>();
  for (const [name] of queryParametersOf(request)) {
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  const issues: FieldIssue[] = [];
  for (const [name, count] of counts) {
    if (count === 1 || REPEATABLE.has(name)) continue;
    issues.push({
      loc: ['query', name],
      msg: `give ${name} once (got ${count})`,
      type: 'too_long',
    });
  }
  if (issues.length > 0) throw AppError.validation(issues);
}
