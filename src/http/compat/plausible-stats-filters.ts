// The `filters` of Plausible's Stats API v1 in either of the forms Plausible reads: its filter
// expressions (`visit:browser==Firefox;event:page==/blog/**`, plausible-stats-params.ts), or
// a JSON list of v2's filters (`[["is","visit:browser",["Firefox"]]]`), which Plausible's v1
// decodes first (Filters.parse) and reads with its v2 parser (plausible-query-filters.ts),
// then checks each one's property against v1's properties (its validate_filter).

import type { WebFilter } from '../../query/index.ts';
import type { AppDeps } from '../context.ts';
import { checkPatterns, queryFiltersOf } from './plausible-query-filters.ts';
import { badRequest, filterPropertyOf, filtersOf } from './plausible-stats-params.ts';

const LOGICAL = ['and', 'or', 'not'];

/** `filters`, either form; a JSON filter's RE2 pattern is checked before anything is read. */
export async function statsFiltersOf(
  deps: AppDeps,
  request: Request,
  query: URLSearchParams,
  tenant: string,
): Promise<WebFilter[]> {
  const text = query.get('filters') ?? '';
  const value = jsonOf(text);
  if (value === undefined) return filtersOf(text);
  if (!Array.isArray(value)) {
    throw badRequest(
      `Invalid filters ${text}: filters given as JSON are a list of ` +
        '[operator, property, values] filters, e.g. [["is","visit:browser",["Firefox"]]]',
    );
  }
  value.forEach(checkV1Filter);
  const { conditions, patterns } = queryFiltersOf(value, true);
  await checkPatterns(deps.engine.store, tenant, patterns, request.signal);
  // Top-level filters without and, or or not: each condition is one filter.
  return conditions as WebFilter[];
}

/** The JSON value of `text`, or undefined for text that is no JSON (a filter expression). */
function jsonOf(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** v1's rules, before the v2 parser reads the filter: no and, or, not; v1's properties. */
function checkV1Filter(filter: unknown, i: number): void {
  if (!Array.isArray(filter)) return;
  const [operator, name] = filter as unknown[];
  if (typeof operator === 'string' && LOGICAL.includes(operator)) {
    throw badRequest(
      `#/filters/${i}: The Stats API v1 has no \`${operator}\` filters; every filter of its ` +
        "list must hold. Plausible's Stats API v2 has them (POST /api/v2/query).",
    );
  }
  if (typeof name === 'string') filterPropertyOf(name);
}
