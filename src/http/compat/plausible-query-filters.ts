// The `filters` of a Plausible Stats API v2 query as query/'s conditions: each filter is
// `[operator, dimension, clauses]` (with `{"case_sensitive": false}` as a 4th item for is,
// is_not, contains and contains_not), operators is, is_not, contains, contains_not, matches
// and matches_not (RE2 patterns, found anywhere in the value), and `and`, `or` and `not` nest
// them. Dimensions are v1's properties (propertyOf), so a property v1 learns is filterable
// here too, and v2's own (queryPropertyOf: the country's name, the screen). Refusals are
// Plausible's 400s, each naming the filter by its JSON pointer. v1's `filters` given as JSON
// are read here too (plausible-stats-filters.ts).

import {
  conditionFilters,
  conditionSideOf,
  findBadPattern,
  isFilter,
  queryLimits,
  regexPattern,
  type WebCondition,
  type WebFilter,
  type WebMatch,
  type WebProperty,
} from '../../query/index.ts';
import type { AppDeps } from '../context.ts';
import {
  alternativesOf,
  badRequest,
  ownValue,
  propertyName,
  propertyOf,
} from './plausible-stats-params.ts';

/** A filter's RE2 pattern as it is read, for the caller to check before any read. */
export interface PatternAt {
  path: string;
  /** What the filter sent, to name in a refusal. */
  value: string;
  pattern: string;
}

export interface QueryFilters {
  /** All must hold; each reads the event's or the visit's side only. */
  conditions: WebCondition[];
  patterns: PatternAt[];
}

type Operators = Record<string, { match: WebMatch; negated: boolean }>;
const OPERATORS: Operators = {
  is: { match: 'is', negated: false },
  is_not: { match: 'is', negated: true },
  contains: { match: 'contains', negated: false },
  contains_not: { match: 'contains', negated: true },
  matches: { match: 'regex', negated: false },
  matches_not: { match: 'regex', negated: true },
};
/**
 * With v1's JSON filters, also the operators Plausible's v1 parses its `*` expressions into
 * (its v2 schema has them not): v1's wildcards, `*` any text.
 */
const V1_OPERATORS: Operators = {
  ...OPERATORS,
  matches_wildcard: { match: 'glob', negated: false },
  matches_wildcard_not: { match: 'glob', negated: true },
};
/** Operators of Plausible's that Tally has no reading of. */
const PLAUSIBLE_ONLY_OPERATORS: Record<string, string> = {
  has_done: 'Tally has no behavioral filters',
  has_not_done: 'Tally has no behavioral filters',
};
const GOAL_OPERATORS = ['is', 'contains', 'matches_wildcard'];
const GOAL = 'event:goal';
/** Filtered by `is` and `is_not` with ISO 3166-1 alpha-2 codes only, as Plausible checks. */
const COUNTRY = 'visit:country';

export const shown = (value: unknown) => JSON.stringify(value);

const BY_COUNTRY = 'Tally locates visitors by country only';
const NO_HOSTNAME = 'Tally keeps no hostname per event';
/** v2's dimensions beyond v1's properties: what Tally reads them as, or why it cannot. */
const V2_PROPERTIES: Record<string, WebProperty | { refused: string }> = {
  'visit:country_name': { visit: 'country_name' },
  'visit:region_name': { refused: BY_COUNTRY },
  'visit:city_name': { refused: BY_COUNTRY },
  'visit:entry_page_hostname': { refused: NO_HOSTNAME },
  'visit:exit_page_hostname': { refused: NO_HOSTNAME },
  segment: { refused: 'Tally has no saved segments' },
};
/** The screen size, Plausible's other name of the device, which it filters by only. */
const SCREEN = 'visit:screen';

/**
 * A v2 dimension's property (`filtered`: in a filter), or why it is refused ('' when unknown):
 * v1's properties (propertyOf), and v2's own.
 */
export function queryPropertyOf(
  name: string,
  filtered: boolean,
): WebProperty | { refused: string } {
  if (name === SCREEN) {
    return filtered
      ? { visit: 'device' }
      : { refused: 'Plausible filters by it only; group by `visit:device`, the same values' };
  }
  return ownValue(V2_PROPERTIES, name) ?? propertyOf(name);
}

/** A bad RE2 pattern is the 400 of the filter that brings it, before anything is read. */
export async function checkPatterns(
  store: AppDeps['engine']['store'],
  tenant: string,
  patterns: PatternAt[],
  signal: AbortSignal,
): Promise<void> {
  const found = await findBadPattern(
    store,
    tenant,
    patterns.map((p) => p.pattern),
    signal,
  );
  if (found === null) return;
  const at = patterns.find((p) => p.pattern === found.pattern);
  const value = shown(at?.value ?? found.pattern);
  throw badRequest(
    `${at?.path ?? '#/filters'}: Invalid regular expression ${value}: ${found.reason}`,
  );
}

/**
 * Reads `filters` (a list, or absent); `v1`: Stats API v1's `filters` given as JSON, which
 * Plausible reads with this parser, its wildcard operators too.
 */
export function queryFiltersOf(value: unknown, v1 = false): QueryFilters {
  if (value === undefined || value === null) return { conditions: [], patterns: [] };
  if (!Array.isArray(value)) throw badRequest('#/filters: Type mismatch. Expected Array.');
  const patterns: PatternAt[] = [];
  const read = { patterns, operators: v1 ? V1_OPERATORS : OPERATORS, v1 };
  const conditions = value.flatMap((item, i) =>
    topLevel(conditionOf(item, `#/filters/${i}`, 0, read), `#/filters/${i}`),
  );
  const filters = conditions.flatMap((c) => conditionFilters(c));
  if (filters.length > queryLimits.webFiltersMax) {
    throw badRequest(`#/filters: At most ${queryLimits.webFiltersMax} filters may be combined.`);
  }
  return { conditions, patterns };
}

/**
 * The conditions a top-level filter adds: an `and` stands for its parts (each then read on
 * its side), yet a filter in it stays nested, `{all: [filter]}`: Plausible's parser keeps a
 * top-level `and` whole, so its top-level rules (get_toplevel_filter: the bounce rate by entry
 * page, the pages timed, scroll depth; remove_top_level_filters: exit_rate's page views,
 * conversion rates' totals) do not see it. A goal may only be filtered at the top level; an
 * `or` or `not` must read one side.
 */
function topLevel(condition: WebCondition, path: string, inAnd = false): WebCondition[] {
  if ('all' in condition) return condition.all.flatMap((part) => topLevel(part, path, true));
  const deepGoal = conditionFilters(condition).find(
    ({ filter, depth }) => (depth > 0 || inAnd) && propertyName(filter.property) === GOAL,
  );
  if (deepGoal !== undefined) {
    throw badRequest(
      `${path}: Invalid filters. Dimension \`${GOAL}\` can only be filtered at the top level.`,
    );
  }
  if (conditionSideOf(condition) === 'mixed') {
    throw badRequest(
      `${path}: Tally cannot combine event dimensions (event:page, event:name, event:props:*) ` +
        'and visit dimensions (visit:*) inside one `or` or `not`; filter each side apart.',
    );
  }
  return [inAnd && isFilter(condition) ? { all: [condition] } : condition];
}

/** What a read of filters gathers (the patterns) and the operators it takes. */
interface Reading {
  patterns: PatternAt[];
  operators: Operators;
  /**
   * v1's JSON filters: Plausible's v1 reads them with its parser alone, no schema, which takes
   * a `null` 4th item as no modifiers (v2's schema refuses it: a modifier is an object).
   */
  v1: boolean;
}

function conditionOf(value: unknown, path: string, depth: number, read: Reading): WebCondition {
  const invalid = () => badRequest(`${path}: Invalid filter ${shown(value)}`);
  if (!Array.isArray(value) || typeof value[0] !== 'string') throw invalid();
  const [operator] = value as [string, ...unknown[]];
  if (operator === 'and' || operator === 'or' || operator === 'not') {
    if (depth >= queryLimits.webFilterDepthMax) {
      throw badRequest(`${path}: Filters nest at most ${queryLimits.webFilterDepthMax} deep.`);
    }
    if (value.length !== 2) throw invalid();
    const at = `${path}/1`;
    if (operator === 'not') return { not: conditionOf(value[1], at, depth + 1, read) };
    const parts = value[1];
    if (!Array.isArray(parts) || parts.length === 0) throw invalid();
    const of = parts.map((part, i) => conditionOf(part, `${at}/${i}`, depth + 1, read));
    return operator === 'and' ? { all: of } : { any: of };
  }
  const filter = filterOf(value, path, read, invalid);
  const { patterns } = read;
  if (filter.match === 'regex') {
    // Each value alone (RE2's reason is then about it), as it is read (in a group), then all
    // of them as one pattern.
    const at = `${path}/2`;
    for (const value of filter.values) {
      patterns.push({ path: at, value, pattern: value });
      patterns.push({ path: at, value, pattern: regexPattern([value]) });
    }
    if (filter.values.length > 1) {
      const all = regexPattern(filter.values);
      patterns.push({ path: at, value: filter.values.join(', '), pattern: all });
    }
  }
  return filter;
}

function filterOf(
  value: unknown[],
  path: string,
  { operators, v1 }: Reading,
  invalid: () => Error,
): WebFilter {
  const [operator, dimension, clauses, given] = value as [string, ...unknown[]];
  const modifiers = v1 && given === null ? undefined : given;
  const why = ownValue(PLAUSIBLE_ONLY_OPERATORS, operator);
  if (why !== undefined) {
    throw badRequest(`${path}: The filter operator \`${operator}\` is not supported: ${why}.`);
  }
  const kind = ownValue(operators, operator);
  if (kind === undefined || typeof dimension !== 'string') throw invalid();
  if (value.length < 3 || value.length > 4) throw invalid();
  if (dimension === GOAL && !GOAL_OPERATORS.includes(operator)) throw invalid();
  const property = queryPropertyOf(dimension, true);
  if ('refused' in property) {
    if (property.refused === '') throw invalid();
    throw badRequest(
      `${path}: Filtering by \`${dimension}\` is not supported by Tally: ${property.refused}.`,
    );
  }
  const sent = clausesOf(clauses, path, invalid);
  const values = kind.match === 'glob' ? alternativesIn(sent, path) : sent;
  if (dimension === COUNTRY && kind.match === 'is' && values.some((v) => [...v].length !== 2)) {
    throw badRequest(
      `${path}/2: Invalid visit:country filter, visit:country needs to be a valid 2-letter ` +
        'country code.',
    );
  }
  const ignoreCase = modifiers !== undefined && ignoreCaseOf(modifiers, kind.match, `${path}/3`);
  return { property, values, ...kind, ...(ignoreCase ? { ignoreCase } : {}) };
}

function clausesOf(clauses: unknown, path: string, invalid: () => Error): string[] {
  if (!Array.isArray(clauses) || !clauses.every((c) => typeof c === 'string')) throw invalid();
  if (clauses.length === 0) throw badRequest(`${path}/2: A filter needs at least one value.`);
  if (clauses.length > queryLimits.webFilterValuesMax) {
    throw badRequest(
      `${path}/2: A filter may name at most ${queryLimits.webFilterValuesMax} values.`,
    );
  }
  return clauses;
}

/**
 * A wildcard filter's values (v1's JSON filters) with each `|` an alternative, `\|` a literal
 * `|`, each matched whole, as v1's expressions read them: Plausible's v1 parses
 * `event:page==/blog/*|/docs` into this filter, value whole, and its page_regex makes every `|`
 * an alternation (whose anchors then hold only the first and last alternative: see README).
 */
function alternativesIn(clauses: string[], path: string): string[] {
  const values = clauses.flatMap(alternativesOf);
  if (values.length > queryLimits.webFilterValuesMax) {
    throw badRequest(
      `${path}/2: A filter may name at most ${queryLimits.webFilterValuesMax} values.`,
    );
  }
  return values;
}

/**
 * `{"case_sensitive": false}`, for the operators Plausible takes it with; `{}` is its default,
 * case-sensitive (its schema requires no key).
 */
function ignoreCaseOf(modifiers: unknown, match: WebMatch, path: string): boolean {
  const object = typeof modifiers === 'object' && modifiers !== null && !Array.isArray(modifiers);
  const keys = object ? Object.keys(modifiers) : [];
  const sensitive = object ? (modifiers as { case_sensitive?: unknown }).case_sensitive : null;
  if (object && keys.length === 0 && match !== 'regex') return false;
  if (keys.length !== 1 || typeof sensitive !== 'boolean') {
    throw badRequest(`${path}: The one filter modifier is {"case_sensitive": true or false}.`);
  }
  if (match === 'regex') {
    throw badRequest(
      `${path}: Invalid filters. The case_sensitive modifier is not allowed with pattern ` +
        'operators.',
    );
  }
  return !sensitive;
}
