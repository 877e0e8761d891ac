// The properties of web analytics reads, as Plausible's Stats API names them: what an event
// has (its page, name, goal, custom props) and what a visit has (its source, channel,
// referrer, entry and exit pages, campaign tags, browser, OS, device and country: those of its
// first event), as SQL expressions; and filters over them, with alternatives, negation and `*`
// wildcards. A visit's source is the one of referrer-source.ts, its channel the one of
// channels.ts, its bounce and pages those of visit-rows.ts.

import { listValue } from '@duckdb/node-api';
import { assert } from '../core/index.ts';
import { channelSql } from './channel-sql.ts';
import { COUNTRY_NAMES } from './country-names.ts';
import { propertyText, propertyTextComparedTo } from './filters.ts';
import {
  DIRECT_SOURCE,
  queryParam,
  referrerHostOf,
  referrerSourceOf,
  referrerTextOf,
} from './referrer-source.ts';
import { sqlMap } from './sql-literals.ts';
import type { SqlParams } from './sql-params.ts';

const EVENT_PROPERTIES = ['page', 'name', 'goal', 'query', 'language'] as const;
export type EventProperty = (typeof EVENT_PROPERTIES)[number];

export const VISIT_PROPERTIES = [
  'source',
  'channel',
  'referrer',
  'entry_page',
  'exit_page',
  'utm_source',
  'utm_medium',
  'utm_campaign',
  'utm_content',
  'utm_term',
  'browser',
  'os',
  'device',
  'country',
] as const;
/**
 * Visit properties Plausible's v1 has no name for: the referrer's host (Umami's referrer
 * domain), and the country's English name (v2's visit:country_name).
 */
const MORE_VISIT_PROPERTIES = ['referrer_host', 'country_name'] as const;
export type VisitProperty =
  | (typeof VISIT_PROPERTIES)[number]
  | (typeof MORE_VISIT_PROPERTIES)[number];

/** A property of each event, a custom property (props) of each event, or one of its visit. */
export type WebProperty = { event: EventProperty } | { prop: string } | { visit: VisitProperty };

/**
 * How a filter's values match a property's value: equal to one; a glob, where `*` matches any
 * text (`/blog/*`); containing one; or one an RE2 pattern finds in it (anywhere, as
 * Plausible's `matches`, whose patterns are RE2's).
 */
export type WebMatch = 'is' | 'glob' | 'contains' | 'regex';

export interface WebFilter {
  property: WebProperty;
  /** Any of these matches. */
  values: string[];
  match: WebMatch;
  /** Upper and lower case alike (Plausible's `case_sensitive: false`). */
  ignoreCase?: boolean;
  /** Matches what none of the values matches (an event without the property too). */
  negated: boolean;
}

/**
 * A goal names a custom event (any event that is not a page view), or, as "Visit <path>", a
 * page view of that path (wildcards allowed): Plausible's custom event and page view goals,
 * every custom event name being a goal.
 */
const PAGE_GOAL_PREFIX = 'Visit ';

/** The value of a custom property an event does not have, as Plausible lists it. */
const NO_PROP_VALUE = '(none)';

export function isVisitProperty(property: WebProperty): property is { visit: VisitProperty } {
  return 'visit' in property;
}

/** Whether the property is the page (`event:page`). */
export function isPageProperty(property: WebProperty): boolean {
  return 'event' in property && property.event === 'page';
}

/**
 * The property's value of an event, over the event alias `e`; `views` binds the list of page
 * view names (once, where it is used). A page view has no goal (NULL); `query` is the URL's
 * query string without its `?` (NULL when empty), as Umami keeps it; `language` the first two
 * characters of the page's language (`$language`) lower-case, as Umami's metrics group them
 * (`en` for `en-US`; NULL when none). A custom property that is only compared with
 * `comparedTo` reads cheaper (propertyTextComparedTo).
 */
export function eventPropertySql(
  property: { event: EventProperty } | { prop: string },
  views: () => string,
  params: SqlParams,
  comparedTo?: readonly string[],
): string {
  if ('prop' in property) {
    const text =
      comparedTo === undefined
        ? propertyText(property.prop, params)
        : propertyTextComparedTo(property.prop, comparedTo, params);
    return `coalesce(${text}, '${NO_PROP_VALUE}')`;
  }
  switch (property.event) {
    case 'page':
      return `nullif(e."path", '')`;
    case 'name':
      return 'e.name';
    case 'goal':
      return `CASE WHEN list_contains(${views()}, e.name) THEN NULL ELSE e.name END`;
    case 'query':
      return String.raw`nullif(regexp_extract(e."url", '^[^?#]*\?([^#]*)', 1), '')`;
    case 'language':
      return `nullif(lower(left(${propertyText('$language', params)}, 2)), '')`;
  }
}

/** A visit's country by Plausible's name of it; NULL for none or a code it does not name. */
const COUNTRY_NAME_SQL = `${sqlMap(new Map(Object.entries(COUNTRY_NAMES)))}[country]`;

/** Plausible's operating system names where Tally's differ. */
const OS_NAMES: Record<string, string> = { MacOS: 'Mac', Linux: 'GNU/Linux' };

/** The value Plausible's Stats API v2 lists a visit without a campaign tag or device under. */
const NOT_SET_VALUE = '(not set)';

/** Visit properties Plausible's Stats API lists: v1's, and v2's country name. */
const LISTED_PROPERTIES: readonly VisitProperty[] = [...VISIT_PROPERTIES, 'country_name'];

/**
 * Visit properties a visit may lack, which v2 lists as NOT_SET_VALUE: all but its source and
 * referrer (Direct / None) and its pages (a visit without a page view is listed under none).
 */
const NOT_SET_PROPERTIES: readonly VisitProperty[] = LISTED_PROPERTIES.filter(
  (p) => !['source', 'referrer', 'entry_page', 'exit_page'].includes(p),
);

/**
 * The property's value of a visit, over a row with its first event's `url`, `referrer`,
 * `browser`, `os`, `device` and `country`, its `entry_page` and `exit_page`, and the columns
 * of referrerSourceParts (and, for the channel, of channelPartsSql and channelSourceFrom). A
 * campaign tag is the entry URL's, decoded, as sent (NULL when empty), utm_source being the
 * source tag (utm_source, else source, else ref, the first not empty); a device is
 * capitalized as Plausible names it (Desktop, Mobile, Tablet).
 */
export function visitPropertySql(property: VisitProperty): string {
  switch (property) {
    case 'source':
      return referrerSourceOf();
    case 'channel':
      return channelSql();
    case 'referrer':
      return referrerTextOf();
    case 'referrer_host':
      return referrerHostOf();
    case 'entry_page':
    case 'exit_page':
    case 'browser':
    case 'country':
      return property;
    case 'os': {
      const whens = Object.entries(OS_NAMES).map(
        ([ours, theirs]) => `WHEN '${ours}' THEN '${theirs}'`,
      );
      return `CASE os ${whens.join(' ')} ELSE os END`;
    }
    case 'device':
      return `upper(left(device, 1)) || substr(device, 2)`;
    case 'country_name':
      return COUNTRY_NAME_SQL;
    case 'utm_source':
      // The source tag: utm_source, else source, else ref, as Plausible stores utm_source.
      return 'utm';
    default:
      return `CASE WHEN contains("url", '?')
        THEN nullif(trim(${queryParam('"url"', property)}), '') END`;
  }
}

/**
 * The properties a user agent gives, which Tally names `Other` (engine/user-agent.ts: a
 * browser, OS or device it does not know) where Plausible stores '' (its UAInspector's
 * `:unknown`, or no user agent) and lists NOT_SET_VALUE, in v1's breakdowns too (its legacy
 * breakdown leaves out only the visits without a campaign tag, page or country).
 */
const AGENT_PROPERTIES: readonly VisitProperty[] = ['browser', 'os', 'device'];
const UNKNOWN_AGENT_VALUE = 'Other';

/** visitPropertySql as Plausible stores it (`stored`): an unknown browser, OS or device NULL. */
function storedValueSql(property: VisitProperty, stored: boolean): string {
  const value = visitPropertySql(property);
  return stored && AGENT_PROPERTIES.includes(property)
    ? `nullif(${value}, '${UNKNOWN_AGENT_VALUE}')`
    : value;
}

/**
 * visitPropertySql, but with `notSet` a missing tag, browser, OS or device is NOT_SET_VALUE
 * instead of NULL, as Plausible's Stats API v2 lists and filters them; with `stored`
 * (Plausible's reads, v1's too) an unknown browser, OS or device is NOT_SET_VALUE.
 */
export function visitValueSql(property: VisitProperty, notSet: boolean, stored = false): string {
  const value = storedValueSql(property, stored);
  const listed = notSet ? NOT_SET_PROPERTIES : stored ? AGENT_PROPERTIES : [];
  return listed.includes(property) ? `coalesce(nullif(${value}, ''), '${NOT_SET_VALUE}')` : value;
}

/** Visit properties Plausible stores as '' where a visit lacks them (visitFilterSql). */
const STORED_EMPTY: readonly VisitProperty[] = [...NOT_SET_PROPERTIES, 'source', 'referrer'];
/** Those whose lack Plausible's filters also name "Direct / None" (its WhereBuilder's @no_ref). */
const DIRECT_NAMED: readonly VisitProperty[] = [
  'source',
  'referrer',
  'utm_medium',
  'utm_source',
  'utm_campaign',
  'utm_content',
  'utm_term',
];

/**
 * A visit filter's condition as Plausible's WhereBuilder reads its session columns: a value a
 * visit lacks (a campaign tag, an unknown browser, a source or referrer that is Direct / None)
 * is '';
 * `is` names it '', "(not set)" or, for the source, referrer and tags, "Direct / None" (as
 * sent: case-insensitive "(NOT SET)" is no name of it); contains and matches read '' (so
 * "(not set)" contains no "e"). Other properties (the pages) are filtered on `listed`, their
 * value as listed.
 */
export function storedVisitFilterSql(
  filter: WebFilter,
  visit: VisitProperty,
  listed: string,
  params: SqlParams,
): string {
  if (!STORED_EMPTY.includes(visit)) return filterConditionSql(filter, listed, params);
  const value = storedValueSql(visit, true);
  const stored =
    visit === 'source' || visit === 'referrer'
      ? `coalesce(nullif(${value}, '${DIRECT_SOURCE}'), '')`
      : `coalesce(${value}, '')`;
  const empty = (v: string) =>
    v === NOT_SET_VALUE || (v === DIRECT_SOURCE && DIRECT_NAMED.includes(visit));
  const values = filter.match === 'is' ? filter.values.map((v) => (empty(v) ? '' : v)) : null;
  return filterConditionSql(values === null ? filter : { ...filter, values }, stored, params);
}

/**
 * The condition of `filter` on `value` (SQL), values bound; a goal filter's value is the
 * event's (see goalConditionSql). Never NULL: a missing value matches only a negated filter.
 */
export function filterConditionSql(filter: WebFilter, value: string, params: SqlParams): string {
  const condition = matchSql(filter, value, params);
  return filter.negated ? `NOT coalesce(${condition}, false)` : `coalesce(${condition}, false)`;
}

function matchSql(filter: WebFilter, value: string, params: SqlParams): string {
  const ignoreCase = filter.ignoreCase === true;
  const flags = ignoreCase ? '(?i)' : '';
  switch (filter.match) {
    case 'glob':
      return `regexp_full_match(${value}, ${params.add(flags + globPattern(filter.values))})`;
    case 'contains': {
      const pattern = `(?s)${flags}(?:${filter.values.map(literalPattern).join('|')})`;
      return `regexp_matches(${value}, ${params.add(pattern)})`;
    }
    case 'regex':
      return `regexp_matches(${value}, ${params.add(flags + regexPattern(filter.values))})`;
    case 'is': {
      if (ignoreCase) {
        // Both sides through DuckDB's lower(), whose mapping is not JavaScript's (İ, final Σ):
        // a value always matches itself.
        const values = filter.values.map((v) => `lower(${params.add(v)})`);
        return `lower(${value}) IN (${values.join(', ')})`;
      }
      return filter.values.length === 1
        ? `${value} = ${params.add(filter.values[0] as string)}`
        : `list_contains(${params.add(listValue(filter.values))}, ${value})`;
    }
  }
}

/**
 * The RE2 pattern a `regex` filter's values are read as: any of them, each in a group of its
 * own. A value that is a pattern alone may not be one in its group (`\Qabc` quotes the `)`
 * closing it), so a caller checking patterns checks each value through this.
 */
export function regexPattern(values: string[]): string {
  return values.map((v) => `(?:${v})`).join('|');
}

/**
 * Whether the event `e` completes one of the goals `values`: a custom event of that name, or
 * a page view whose path matches a "Visit <path>" goal (`*` wildcards in the path). As in
 * Plausible, a custom event goal is its event's name exactly (`Sign*` is no wildcard), and a
 * page goal's path may hold wildcards (Goals.page_path_condition).
 */
function goalConditionSql(values: string[], views: () => string, params: SqlParams): string {
  const pages = values.filter((v) => v.startsWith(PAGE_GOAL_PREFIX));
  const names = values.filter((v) => !v.startsWith(PAGE_GOAL_PREFIX));
  const isView = `list_contains(${views()}, e.name)`;
  const either: string[] = [];
  if (names.length > 0) {
    const goal = {
      property: { event: 'goal' },
      values: names,
      match: 'is',
      negated: false,
    } as const;
    const name = filterConditionSql(goal, 'e.name', params);
    either.push(`(NOT ${isView} AND ${name})`);
  }
  if (pages.length > 0) {
    const paths = pages.map((page) => page.slice(PAGE_GOAL_PREFIX.length));
    const pattern = params.add(globPattern(paths));
    either.push(`(${isView} AND coalesce(regexp_full_match(e."path", ${pattern}), false))`);
  }
  return `(${either.join(' OR ')})`;
}

/** The goal an event completes, by its display name: its name, or "Visit <path>" for a view. */
function goalNameSql(views: () => string): string {
  return `CASE WHEN list_contains(${views()}, e.name)
    THEN '${PAGE_GOAL_PREFIX}' || coalesce(e."path", '') ELSE e.name END`;
}

/**
 * An RE2 pattern matching the whole of any of `globs`, where `*` (and `**`) is any text, `/`
 * included, as Plausible's Stats API reads them; everything else is literal.
 */
function globPattern(globs: string[]): string {
  const alternatives = globs.map((glob) => glob.split('*').map(literalPattern).join('.*'));
  return `(?s)(?:${alternatives.join('|')})`;
}

/** An RE2 pattern matching `text` as it is. */
function literalPattern(text: string): string {
  return text.replace(/[\\.+*?()[\]{}|^$]/g, (c) => `\\${c}`);
}

/**
 * An event filter's condition over `e`: a goal by its names (custom events, "Visit <path>"
 * page views) when matched exactly, else by its display name; a custom property's pattern
 * only where the event has that property.
 */
export function eventFilterSql(filter: WebFilter, views: () => string, params: SqlParams): string {
  const { property } = filter;
  assert(!isVisitProperty(property), 'an event filter names an event property');
  if ('event' in property && property.event === 'goal') {
    // Goals by their names (a page goal's path with wildcards); else by each display name.
    if (filter.match !== 'is' || filter.ignoreCase === true) {
      return filterConditionSql(filter, goalNameSql(views), params);
    }
    const goal = goalConditionSql(filter.values, views, params);
    return filter.negated ? `NOT ${goal}` : goal;
  }
  if ('prop' in property && filter.match !== 'is') {
    // A pattern matches only a property the event has, negated too (Plausible's has_key), so
    // `event:props:plan==*` is the events with a plan, not those listed as (none).
    const raw = propertyText(property.prop, params);
    const match = filterConditionSql({ ...filter, negated: false }, raw, params);
    return filter.negated ? `(${raw} IS NOT NULL AND NOT ${match})` : match;
  }
  // Matched exactly (`is`): only the filter's values are compared with.
  const value = eventPropertySql(property, views, params, filter.values);
  return filterConditionSql(filter, value, params);
}
