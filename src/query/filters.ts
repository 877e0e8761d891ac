// The filters every read shares (name, path, source, user, anonymous and visitor id, session,
// os, browser, device, country, property equality, bots, time) as SQL conditions over the event
// alias `e`, values bound.

import { AppError, assert, eventLimits, POSTHOG_PROPERTIES_KEY } from '../core/index.ts';
import { queryLimits } from './limits.ts';
import type { SqlParams } from './sql-params.ts';

/** Columns a filter or a group may name, by their API name. Identifiers come only from here. */
export const FILTER_COLUMNS = {
  name: 'name',
  path: 'path',
  source: 'source',
  user_id: 'user_id',
  anonymous_id: 'anonymous_id',
  visitor_id: 'visitor_id',
  session_id: 'session_id',
  os: 'os',
  browser: 'browser',
  device: 'device',
  referrer: 'referrer',
  country: 'country',
} as const;

export type FilterColumn = keyof typeof FILTER_COLUMNS;

export interface EventFilters {
  /** Exact matches on event columns. */
  equals?: Partial<Record<FilterColumn, string | undefined>>;
  /** Property key → value, compared with the property's JSON scalar as text. */
  properties?: Record<string, string>;
  /** Bot traffic is left out unless true. */
  includeBots?: boolean;
  /** Only events with a value (metric points). */
  valued?: boolean;
  /** Inclusive lower bound, UTC epoch ms. */
  fromMs?: number | undefined;
  /** Exclusive upper bound, UTC epoch ms. */
  toMs?: number | undefined;
}

const PROPERTY_PREFIX = 'property.';

/** `e."col" = $q_1 AND …` conditions for `filters`; an empty list when there are none. */
export function filterConditions(filters: EventFilters, params: SqlParams): string[] {
  const conditions: string[] = [];
  for (const [field, value] of Object.entries(filters.equals ?? {})) {
    if (value === undefined) continue;
    const column = FILTER_COLUMNS[field as FilterColumn];
    assert(column !== undefined, `unknown filter column ${field}`);
    conditions.push(`e."${column}" = ${params.add(value)}`);
  }
  for (const [key, value] of Object.entries(filters.properties ?? {})) {
    conditions.push(propertyEquals(key, value, params));
  }
  if (filters.includeBots !== true) conditions.push('NOT coalesce(e.is_bot, false)');
  if (filters.valued === true) conditions.push('e."value" IS NOT NULL');
  if (filters.fromMs !== undefined) {
    conditions.push(`e."timestamp" >= ${params.addInstant(filters.fromMs)}`);
  }
  if (filters.toMs !== undefined) {
    conditions.push(`e."timestamp" < ${params.addInstant(filters.toMs)}`);
  }
  return conditions;
}

/** `WHERE a AND b`, or nothing. */
export function whereOf(conditions: string[]): string {
  return conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
}

/**
 * The text of property `key` of the event (numbers and booleans as their JSON text, as the API
 * shows them). A `$` key the event does not have at the top is looked up under `$posthog`,
 * where PostHog events keep their SDK's properties: `property.$lib` and `property:$browser`
 * find posthog-node's and posthog-js's as they did when those were stored at the top.
 */
export function propertyText(key: string, params: SqlParams): string {
  return propertyTextAs(key, params, jsonText);
}

/** propertyText in DuckDB's spelling of numbers (`1e21`): one JSON look-up a row, not two. */
function duckdbPropertyText(key: string, params: SqlParams): string {
  return propertyTextAs(key, params, (pointer) => `json_extract_string(e.properties, ${pointer})`);
}

/** The property's text at its top pointer, else (a `$` key) under `$posthog`, each by `text`. */
function propertyTextAs(key: string, params: SqlParams, text: (pointer: string) => string): string {
  const step = key.replaceAll('~', '~0').replaceAll('/', '~1');
  const top = text(params.add(`/${step}`));
  if (!key.startsWith('$') || key === POSTHOG_PROPERTIES_KEY) return top;
  const nested = `/${POSTHOG_PROPERTIES_KEY}/${step}`;
  return `coalesce(${top}, ${text(params.add(nested))})`;
}

/** A number DuckDB writes with an exponent: `1e21`, `-1.5e300` (never a `+`). */
const DUCKDB_EXPONENT = "'-?[0-9]+(\\.[0-9]+)?e[0-9]+'";
/** A value that reads as a number with an exponent in JavaScript's or DuckDB's spelling. */
const EXPONENT_NUMBER = /^-?[0-9]+(\.[0-9]+)?e\+?[0-9]+$/i;

/**
 * The value at `pointer` in the event's properties as text, a number written as JavaScript
 * writes it, so as the API lists it: DuckDB writes the exponent of 1e21 without its sign
 * (`1e21`), JavaScript (and the events Tally answers) `1e+21`; every other number is the same
 * in both. Only a text that looks like such a number has its JSON type looked up.
 */
function jsonText(pointer: string): string {
  const text = `json_extract_string(e.properties, ${pointer})`;
  const exponent = `regexp_full_match(${text}, ${DUCKDB_EXPONENT})`;
  const number = `json_type(e.properties, ${pointer}) = 'DOUBLE'`;
  return `CASE WHEN ${exponent} AND ${number} THEN ${javascriptNumberText(text)} ELSE ${text} END`;
}

/**
 * DuckDB's text of a JSON number (`1e21`) as JavaScript writes it (`1e+21`): the sign of a
 * positive exponent written out. Only for a text known to be a number; nothing else changes.
 */
export function javascriptNumberText(text: string): string {
  return `regexp_replace(${text}, '([0-9])e([0-9])', '\\1e+\\2', 'g')`;
}

/** A JSON string literal in JSON text: what javascriptJsonText leaves as it is. */
const JSON_STRING = `'"(?:[^"\\\\]|\\\\.)*"'`;

/**
 * DuckDB's text of a JSON array or object (`[1e21,"1e5"]`) as JavaScript's JSON.stringify
 * writes it (`[1e+21,"1e5"]`): javascriptNumberText on the text between its strings. A list
 * function and two regular expressions a value: for the few texts with such a number only.
 */
export function javascriptJsonText(text: string): string {
  const between = `string_split_regex(${text}, ${JSON_STRING})`;
  const strings = `regexp_extract_all(${text}, ${JSON_STRING})`;
  const part = `${javascriptNumberText('part')} || coalesce(${strings}[i], '')`;
  return `array_to_string(list_transform(${between}, (part, i) -> ${part}), '')`;
}

/**
 * propertyText for comparing with `values` alone: DuckDB's own text when no value is spelled as
 * a number with an exponent (in either spelling, any case), the one kind of value the two
 * spellings tell apart; the rewrite costs every row about as much again as the look-up.
 */
export function propertyTextComparedTo(
  key: string,
  values: readonly string[],
  params: SqlParams,
): string {
  return values.some((v) => EXPONENT_NUMBER.test(v))
    ? propertyText(key, params)
    : duckdbPropertyText(key, params);
}

/**
 * `e`'s property `key` equals `value` as text (a number 1 and a string "1" alike, true and
 * "true" alike), key and value bound: a `property.<key>=value` filter and a step's
 * `property.<key>:<value>` condition compare so.
 */
export function propertyEquals(key: string, value: string, params: SqlParams): string {
  return `${propertyTextComparedTo(key, [value], params)} = ${params.add(value)}`;
}

const PROPERTY_GROUP = 'property:';

/**
 * The key of a group by an event property (`property:<key>`, as group_by and a funnel's
 * breakdown name one): 1 to nameCharsMax characters; undefined when `value` is not one.
 */
export function propertyGroupKey(value: string): string | undefined {
  const key = value.startsWith(PROPERTY_GROUP) ? value.slice(PROPERTY_GROUP.length) : '';
  return key.length > 0 && key.length <= eventLimits.nameCharsMax ? key : undefined;
}

/** Filter values of a query string, by the names of FILTER_COLUMNS; `bots=include`. */
export type FilterParams = Partial<Record<FilterColumn | 'bots', string | number | undefined>>;

/** The columns stats, series, funnels and cohorts filter by as sent (country is upper-cased). */
const FILTERED_COLUMNS = [
  'name',
  'path',
  'source',
  'user_id',
  'anonymous_id',
  'visitor_id',
  'os',
  'browser',
  'device',
] as const;

/**
 * The filters of stats and time series from their query string: the columns, the
 * `property.<key>` parameters of `url`, bots, and the resolved range.
 */
export function filtersOf(
  params: FilterParams,
  url: string,
  range: { fromMs?: number | undefined; toMs?: number | undefined },
): EventFilters {
  const equals: EventFilters['equals'] = {};
  for (const column of FILTERED_COLUMNS) {
    const value = params[column];
    if (value !== undefined) equals[column] = String(value);
  }
  // Country codes are stored upper case: `de` asks for DE.
  if (params.country !== undefined) equals.country = String(params.country).toUpperCase();
  return {
    equals,
    properties: propertyFiltersOf(url),
    // Asking for the bot device asks for bots: excluding them would leave nothing to show.
    includeBots: params.bots === 'include' || equals.device === 'bot',
    fromMs: range.fromMs,
    toMs: range.toMs,
  };
}

/**
 * Whether an event list or an export takes bots: they show the raw events, so bots are in unless
 * `bots=exclude`; asking for the bot device asks for bots, as in filtersOf (stats, series,
 * funnels and cohorts, which leave bots out unless `bots=include`).
 */
export function listIncludesBots(params: FilterParams): boolean {
  return params.bots !== 'exclude' || params.device === 'bot';
}

/** The `property.<key>=value` filters of a query string (Elysia's schema drops unknown keys). */
export function propertyFiltersOf(url: string): Record<string, string> {
  // A record without a prototype: `property.__proto__=x` is a filter like any other.
  const filters = Object.create(null) as Record<string, string>;
  for (const [name, value] of new URL(url).searchParams) {
    if (!name.startsWith(PROPERTY_PREFIX)) continue;
    const key = name.slice(PROPERTY_PREFIX.length);
    if (key.length === 0 || key.length > eventLimits.nameCharsMax) {
      throw AppError.validation([
        {
          loc: ['query', name],
          msg:
            'a property filter is property.<key>=value with a key of ' +
            `1–${eventLimits.nameCharsMax} characters`,
          type: 'value_error',
        },
      ]);
    }
    filters[key] = value;
  }
  if (Object.keys(filters).length > queryLimits.propertyFiltersMax) {
    throw AppError.validation([
      {
        loc: ['query'],
        msg: `at most ${queryLimits.propertyFiltersMax} property filters may be combined`,
        type: 'too_long',
      },
    ]);
  }
  return filters;
}
