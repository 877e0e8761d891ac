// The query parameters of Plausible's Stats API v1, read as Plausible reads them: `period`
// (day, 7d, 30d, month, 6mo, 12mo, custom) around `date`, `metrics`, `filters`
// (`event:page==/blog/**;visit:source==Google|Twitter`), `property`, `interval`, `limit` and
// `page`, plus Tally's `tz` (a Plausible site has a time zone, a Tally project none: UTC when
// absent). Anything Tally cannot answer honestly is a 400 naming it, in Plausible's words
// where Plausible has them.

import { AppError, DAY_MS } from '../../core/index.ts';
import {
  addDays,
  addMonths,
  type EventProperty,
  instantOf,
  type LocalParts,
  localParts,
  queryLimits,
  resolveTimeZone,
  spacedZoneMessage,
  VISIT_PROPERTIES,
  type VisitProperty,
  type WebFilter,
  type WebProperty,
} from '../../query/index.ts';

export const PLAUSIBLE_PERIODS = ['day', '7d', '30d', 'month', '6mo', '12mo', 'custom'] as const;
export type PlausiblePeriod = (typeof PLAUSIBLE_PERIODS)[number];

/** Where Plausible's documentation of each thing lives, for the error messages. */
export const DOCS = 'https://plausible.io/docs/stats-api';

/** The local days of a read: [first, last], both whole days in `tz`, and today there. */
export interface StatsRange {
  tz: string;
  period: PlausiblePeriod;
  first: LocalParts;
  last: LocalParts;
  today: LocalParts;
  fromMs: number;
  toMs: number;
}

export function badRequest(message: string): AppError {
  return new AppError('bad_request', message);
}

/** `table`'s own value for `key`: none for a name every object has (`constructor`). */
export function ownValue<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.hasOwn(table, key) ? table[key] : undefined;
}

/** `period`, `date` and `tz` → the days read, `nowMs` giving today. */
export function rangeOf(query: URLSearchParams, nowMs: number): StatsRange {
  const period = (query.get('period') ?? '30d') as PlausiblePeriod;
  if (!PLAUSIBLE_PERIODS.includes(period)) {
    throw badRequest(
      `Error parsing \`period\` parameter: invalid period \`${period}\`. ` +
        `Please find accepted values in our docs: ${DOCS}#time-periods`,
    );
  }
  const tz = timeZoneOf(query.get('tz'));
  const date = query.get('date');
  // Today as a date (addDays drops the time of day).
  const today = addDays(localParts(nowMs, tz), 0);
  const [first, last] =
    period === 'custom'
      ? customDays(date)
      : daysOf(period, date === null ? today : singleDay(date));
  return daysRange({ tz, period, today }, first, last);
}

/** The range of the days [first, last] in `tz`. */
export function daysRange(
  at: Pick<StatsRange, 'tz' | 'period' | 'today'>,
  first: LocalParts,
  last: LocalParts,
): StatsRange {
  return {
    ...at,
    first,
    last,
    fromMs: instantOf(first, at.tz),
    toMs: instantOf(addDays(last, 1), at.tz),
  };
}

/**
 * `compare`: only `previous_period` compares. Plausible's v1 ignores any other value, empty or
 * not (Legacy.QueryBuilder.parse_comparison_params falls through to no comparison), so a
 * script sending `compare=false` reads the plain totals rather than a 400.
 */
export function compareOf(query: URLSearchParams): boolean {
  return query.get('compare') === 'previous_period';
}

/**
 * Plausible's previous period: the days just before `range`, as many as it has up to today
 * (this month on the 25th is compared with the 25 days before the 1st, not 30 or 31).
 */
export function previousRange(range: StatsRange): StatsRange {
  const day = (parts: LocalParts) => instantOf(parts, 'UTC');
  const runsPastToday = day(range.first) <= day(range.today) && day(range.today) < day(range.last);
  const end = runsPastToday ? range.today : range.last;
  const days = Math.round((day(end) - day(range.first)) / DAY_MS);
  const last = addDays(range.first, -1);
  return daysRange(range, addDays(last, -days), last);
}

function timeZoneOf(tz: string | null): string {
  try {
    return resolveTimeZone(tz ?? undefined);
  } catch {
    const spaced = spacedZoneMessage('tz', tz ?? '');
    throw badRequest(
      spaced === undefined
        ? `Error parsing \`tz\` parameter: \`${tz}\` is not an IANA time zone ` +
            '(e.g. Europe/Berlin); without it, days are UTC days'
        : `Error parsing \`tz\` parameter: ${spaced}`,
    );
  }
}

/** The first and last day of a range. */
type Days = [LocalParts, LocalParts];

/**
 * Plausible's periods, each relative to `day`: 7d and 30d are the 7 and 30 days before it,
 * the day itself left out (today is not over), as Plausible's query builder reads them.
 */
function daysOf(period: Exclude<PlausiblePeriod, 'custom'>, day: LocalParts): Days {
  const endOfMonth = addDays(addMonths(day, 1), -1);
  switch (period) {
    case 'day':
      return [day, day];
    case '7d':
      return [addDays(day, -7), addDays(day, -1)];
    case '30d':
      return [addDays(day, -30), addDays(day, -1)];
    case 'month':
      return [addMonths(day, 0), endOfMonth];
    case '6mo':
      return [addMonths(day, -5), endOfMonth];
    case '12mo':
      return [addMonths(day, -11), endOfMonth];
  }
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/**
 * A calendar date, YYYY-MM-DD, or why not, in the words of Elixir's Date.from_iso8601, which
 * Plausible quotes: `invalid_format`, or `invalid_date` for a day the calendar has not.
 */
export function parseDate(text: string): LocalParts | 'invalid_format' | 'invalid_date' {
  const m = DATE.exec(text.trim());
  if (m === null) return 'invalid_format';
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const check = new Date(Date.UTC(2000, month - 1, day));
  check.setUTCFullYear(year);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return 'invalid_date';
  return { year, month, day, hour: 0, minute: 0, second: 0 };
}

function dateOf(text: string): LocalParts | null {
  const day = parseDate(text);
  return typeof day === 'string' ? null : day;
}

function singleDay(text: string): LocalParts {
  const day = parseDate(text);
  if (typeof day !== 'string') return day;
  throw badRequest(
    `Error parsing \`date\` parameter: ${day}. Please specify a valid date in ISO-8601 format.`,
  );
}

function customDays(text: string | null): Days {
  if (text === null) {
    throw badRequest(
      `The \`date\` parameter is required when using a custom period. See ${DOCS}#time-periods`,
    );
  }
  const days = text.split(',').map(dateOf);
  const [first, last] = days;
  if (days.length !== 2 || first == null || last == null) {
    throw badRequest(
      'Invalid format for `date` parameter. When using a custom period, please include two ' +
        `ISO-8601 formatted dates joined by a comma. See ${DOCS}#time-periods`,
    );
  }
  if (instantOf(first, 'UTC') > instantOf(last, 'UTC')) {
    throw badRequest(
      'Invalid `date` parameter: the first date of a custom period is after the second',
    );
  }
  return [first, last];
}

/** Plausible properties Tally stores nothing for. */
const PLAUSIBLE_ONLY_PROPERTIES: Record<string, string> = {
  'event:hostname': 'Tally keeps no hostname per event',
  'visit:region': 'Tally locates visitors by country only',
  'visit:city': 'Tally locates visitors by country only',
  'visit:browser_version': 'Tally keeps no browser versions',
  'visit:os_version': 'Tally keeps no operating system versions',
};

const EVENT_NAMES: Record<string, EventProperty> = {
  'event:page': 'page',
  'event:name': 'name',
  'event:goal': 'goal',
};
const PROPS_PREFIX = 'event:props:';

/** A property's name → the property, or the reason it is refused ('' when unknown). */
export function propertyOf(name: string): WebProperty | { refused: string } {
  const event = ownValue(EVENT_NAMES, name);
  if (event !== undefined) return { event };
  if (name.startsWith(PROPS_PREFIX) && name.length > PROPS_PREFIX.length) {
    return { prop: name.slice(PROPS_PREFIX.length) };
  }
  const visit = name.startsWith('visit:') ? name.slice('visit:'.length) : '';
  if ((VISIT_PROPERTIES as readonly string[]).includes(visit)) {
    return { visit: visit as VisitProperty };
  }
  return { refused: ownValue(PLAUSIBLE_ONLY_PROPERTIES, name) ?? '' };
}

/** The key of a breakdown's rows: the property's name without its prefix, as Plausible. */
export function resultKeyOf(name: string): string {
  return name.startsWith(PROPS_PREFIX)
    ? name.slice(PROPS_PREFIX.length)
    : (name.split(':')[1] ?? name);
}

/**
 * `filters`: `;`-joined `property==value`/`!=`, `|` alternatives (`\|` a literal `|`), `*`
 * a wildcard but in a goal's name.
 */
export function filtersOf(text: string): WebFilter[] {
  const expressions = text.split(';').filter((e) => e.trim() !== '');
  if (expressions.length > queryLimits.webFiltersMax) {
    throw badRequest(`At most ${queryLimits.webFiltersMax} filters may be combined.`);
  }
  return expressions.map(filterOf);
}

/** The property a v1 filter names, or Plausible's 400 (Tally's where it cannot read it). */
export function filterPropertyOf(name: string): WebProperty {
  const property = propertyOf(name);
  if (!('refused' in property)) return property;
  throw badRequest(
    property.refused === ''
      ? `Invalid filter property '${name}'. Please provide a valid filter property: ` +
          `${DOCS}#properties`
      : `Filtering by \`${name}\` is not supported by Tally: ${property.refused}.`,
  );
}

function filterOf(expression: string): WebFilter {
  const match = /^\s*([^=!]+?)\s*(==|!=)\s*(.*?)\s*$/.exec(expression);
  if (match === null || match[3] === '') {
    throw badRequest(
      `Invalid filter expression \`${expression}\`: expected property==value or ` +
        `property!=value. See ${DOCS}#filtering`,
    );
  }
  const [, name = '', operator, raw = ''] = match;
  const property = filterPropertyOf(name);
  const values = alternativesOf(raw);
  if (values.length > queryLimits.webFilterValuesMax) {
    throw badRequest(`A filter may name at most ${queryLimits.webFilterValuesMax} values.`);
  }
  // A country is its code: Plausible drops a filter naming another (reading all visits). With
  // a wildcard its parser keeps the value whole, `|` and all (`G*|SE`), and checks that.
  const codes = raw.includes('*') ? [raw] : values;
  if (name === 'visit:country' && codes.some((v) => [...v].length !== 2)) {
    throw badRequest(
      `Invalid filter expression \`${expression}\`: visit:country needs to be a valid ` +
        '2-letter country code.',
    );
  }
  // `*` is a wildcard on every property but a goal, whose name Plausible matches whole (its
  // parse_goal_filter: `is`); a page goal's path keeps its own wildcards (Visit /blog/*).
  const goal = name === 'event:goal';
  return {
    property,
    values,
    match: !goal && values.some((v) => v.includes('*')) ? 'glob' : 'is',
    negated: operator === '!=',
  };
}

/** A v1 filter value's alternatives: split at each `|`, `\|` a literal `|`. */
export function alternativesOf(raw: string): string[] {
  return raw.split(/(?<!\\)\|/).map((v) => v.replaceAll('\\|', '|'));
}

/** Plausible's name of a property. */
export function propertyName(property: WebProperty): string {
  if ('prop' in property) return `${PROPS_PREFIX}${property.prop}`;
  return 'event' in property ? `event:${property.event}` : `visit:${property.visit}`;
}

/** A property only custom events have (no visit is measured by it). */
export const isEventOnly = (p: WebProperty) => 'prop' in p || ('event' in p && p.event !== 'page');

/** A positive integer parameter within `max`, or the default; Plausible's messages. */
export function pagingOf(query: URLSearchParams): { limit: number; page: number } {
  const max = queryLimits.breakdownRowsMax;
  const limitText = query.get('limit');
  const limit = limitText === null ? queryLimits.breakdownRowsDefault : wholeNumber(limitText);
  if (limit === null || limit < 1 || limit > max) {
    throw badRequest(`Please provide limit as a number between 1 and ${max}.`);
  }
  const pageText = query.get('page');
  const page = pageText === null ? 1 : wholeNumber(pageText);
  if (page === null || page < 1) throw badRequest('Please provide page as a positive number.');
  if (page > queryLimits.breakdownPageMax) {
    throw badRequest(`Please provide page as a number up to ${queryLimits.breakdownPageMax}.`);
  }
  return { limit, page };
}

/** An integer as Plausible's Integer.parse reads it whole: a sign, then any digits. */
function wholeNumber(text: string): number | null {
  return /^[+-]?\d+$/.test(text) ? Number(text) : null;
}
