// The query parameters of Umami's read API (its src/lib/schema.ts and request.ts), read as
// Umami reads them: the range as `startAt`/`endAt` (epoch ms, both included) or
// `startDate`/`endDate` (ISO), `timezone` (IANA, default UTC), `unit` (minute … year, made
// coarser when the range is too long for it, as Umami's getAllowedUnits does), `compare`
// (prev, yoy), `limit`/`offset`, and the filters (`path=/pricing`, `browser=neq.Firefox`,
// `title=c.Docs`). What Tally cannot answer honestly is a 400 naming it.

import { AppError, DAY_MS, HOUR_MS, parseAsUtc, spacedOffsetMessage } from '../../core/index.ts';
import {
  PAGE_VIEW_NAMES,
  queryLimits,
  spacedZoneMessage,
  timeZoneName,
  type WebFilter,
  type WebProperty,
} from '../../query/index.ts';

const UMAMI_UNITS = ['minute', 'hour', 'day', 'month', 'year'] as const;
export type UmamiUnit = (typeof UMAMI_UNITS)[number];

/** Umami's bounds: at most 20 years read at once; metric rows 1–500, skipped up to 10,000. */
const RANGE_MS_MAX = 20 * 366 * DAY_MS;
const UMAMI_METRIC_ROWS_DEFAULT = 500;
const UMAMI_METRIC_ROWS_MAX = 500;
const UMAMI_METRIC_OFFSET_MAX = 10_000;
/** Umami's filter values are at most 500 characters. */
export const FILTER_CHARS_MAX = 500;

const MINUTE_MS = 60_000;
/** A range starts and ends within years 1–9999, so a range compared with stays a date. */
const INSTANT_MS_MIN = Date.parse('0001-01-01T00:00:00Z');
const INSTANT_MS_MAX = Date.parse('9999-12-31T23:59:59.999Z');

export interface UmamiRange {
  /** Inclusive. */
  fromMs: number;
  /** Exclusive: Umami's end is the last millisecond read. */
  toMs: number;
  tz: string;
  /**
   * Umami labels buckets as UTC instants (`…T00:00:00Z`) only for the zone spelled `utc`, its
   * default (its getDateSQL's `timezone !== 'utc'`): `UTC` is labelled as any other zone is.
   */
  utc: boolean;
  unit: UmamiUnit;
  compare: 'prev' | 'yoy';
}

export function badRequest(message: string): AppError {
  return new AppError('bad_request', message);
}

/** The range, zone, unit and comparison of a read. */
export function rangeOf(query: URLSearchParams): UmamiRange {
  const [start, end] = endsOf(query);
  if (start > end || end - start > RANGE_MS_MAX) {
    throw badRequest('The requested date range is invalid or exceeds 20 years.');
  }
  const compare = query.get('compare') || 'prev';
  if (compare !== 'prev' && compare !== 'yoy') {
    throw badRequest(`Invalid compare: ${compare} (prev or yoy)`);
  }
  return { ...endsRange(query, start, end), compare };
}

/** A range from `start` to `end` (both included) in the asked zone and unit. */
export function endsRange(query: URLSearchParams, start: number, end: number) {
  const zone = query.get('timezone') ?? 'utc';
  const tz = timeZoneName(zone);
  if (tz === null) {
    throw badRequest(spacedZoneMessage('timezone', zone) ?? `Invalid timezone: ${zone}`);
  }
  const asked = query.get('unit');
  if (asked !== null && !(UMAMI_UNITS as readonly string[]).includes(asked)) {
    throw badRequest(`Invalid unit: ${asked} (one of ${UMAMI_UNITS.join(', ')})`);
  }
  const allowed = allowedUnits(start, end);
  const unit =
    asked !== null && allowed.includes(asked as UmamiUnit)
      ? (asked as UmamiUnit)
      : minimumUnit(start, end);
  return { fromMs: start, toMs: end + 1, tz, utc: zone === 'utc', unit };
}

/** startAt and endAt, else startDate and endDate, as epoch ms. */
function endsOf(query: URLSearchParams): [number, number] {
  const number = (name: string) => {
    const text = query.get(name);
    if (text === null || text.trim() === '') return null;
    const value = Number(text);
    if (!Number.isFinite(value)) throw badRequest(`${name} must be a number (epoch ms)`);
    return Math.trunc(value);
  };
  const date = (name: string) => {
    const text = query.get(name);
    if (text === null || text.trim() === '') return null;
    // A date-time without a zone is UTC, as on Umami's servers (UTC in its images), not the
    // zone this process happens to run in (Date.parse reads one in the process's TZ).
    const iso = parseAsUtc(text.trim());
    const value = iso.ok ? iso.ms : Date.parse(text);
    if (Number.isNaN(value)) {
      throw badRequest(
        spacedOffsetMessage(name, text.trim()) ?? `${name} must be a date (ISO 8601)`,
      );
    }
    return value;
  };
  const [startAt, endAt] = [number('startAt'), number('endAt')];
  if (startAt !== null && endAt !== null) return inYears([startAt, endAt]);
  const [startDate, endDate] = [date('startDate'), date('endDate')];
  if (startDate !== null && endDate !== null) return inYears([startDate, endDate]);
  throw badRequest('Either startAt+endAt or startDate+endDate must be provided');
}

function inYears(ends: [number, number]): [number, number] {
  if (ends.some((ms) => ms < INSTANT_MS_MIN || ms > INSTANT_MS_MAX)) {
    throw badRequest('The requested dates must be within the years 1 to 9999.');
  }
  return ends;
}

/** Umami's getMinimumUnit: the finest unit that keeps a series short (months in UTC). */
function minimumUnit(start: number, end: number): UmamiUnit {
  if (Math.trunc((end - start) / MINUTE_MS) <= 60) return 'minute';
  if (Math.trunc((end - start) / HOUR_MS) <= 48) return 'hour';
  const a = new Date(start);
  const b = new Date(end);
  const months = (b.getUTCFullYear() - a.getUTCFullYear()) * 12 + b.getUTCMonth() - a.getUTCMonth();
  if (months <= 6) return 'day';
  return months <= 24 ? 'month' : 'year';
}

/** Umami's getAllowedUnits: the minimum unit and every coarser one (months for a year). */
function allowedUnits(start: number, end: number): UmamiUnit[] {
  const least = minimumUnit(start, end);
  return UMAMI_UNITS.slice(UMAMI_UNITS.indexOf(least === 'year' ? 'month' : least));
}

/** The range compared with: as long, just before (prev), or a year earlier (yoy). */
export function comparedRange(range: UmamiRange): UmamiRange {
  if (range.compare === 'prev') {
    const length = range.toMs - range.fromMs;
    return { ...range, fromMs: range.fromMs - length, toMs: range.fromMs };
  }
  // As date-fns's subYears, which Umami applies to its start and (inclusive) end: a 29 February
  // becomes the 28th (setUTCFullYear alone would roll it over to 1 March).
  const yearBefore = (ms: number) => {
    const d = new Date(ms);
    const year = d.getUTCFullYear() - 1;
    const monthEnd = new Date(0);
    monthEnd.setUTCFullYear(year, d.getUTCMonth() + 1, 0);
    d.setUTCFullYear(year, d.getUTCMonth(), Math.min(d.getUTCDate(), monthEnd.getUTCDate()));
    return d.getTime();
  };
  return { ...range, fromMs: yearBefore(range.fromMs), toMs: yearBefore(range.toMs - 1) + 1 };
}

/** Tally's property of each Umami field it can read (filters and metric types alike). */
const FIELDS: Record<string, WebProperty> = {
  path: { event: 'page' },
  url: { event: 'page' },
  query: { event: 'query' },
  title: { prop: '$title' },
  hostname: { prop: '$hostname' },
  host: { prop: '$hostname' },
  language: { prop: '$language' },
  screen: { prop: '$screen' },
  tag: { prop: '$tag' },
  event: { event: 'name' },
  referrer: { visit: 'referrer_host' },
  entry: { visit: 'entry_page' },
  exit: { visit: 'exit_page' },
  browser: { visit: 'browser' },
  os: { visit: 'os' },
  device: { visit: 'device' },
  country: { visit: 'country' },
  utmSource: { visit: 'utm_source' },
  utmMedium: { visit: 'utm_medium' },
  utmCampaign: { visit: 'utm_campaign' },
  utmContent: { visit: 'utm_content' },
  utmTerm: { visit: 'utm_term' },
};

/** A table's own entry of a parameter's name (`toString` is no field: not Object's). */
function own<T>(table: Record<string, T>, name: string): T | undefined {
  return Object.hasOwn(table, name) ? table[name] : undefined;
}

/** Umami fields Tally keeps nothing for, and why. */
const REFUSED: Record<string, string> = {
  region: 'Tally locates visitors by country only (GEOIP_DB)',
  city: 'Tally locates visitors by country only (GEOIP_DB)',
  channel:
    "Tally's channels are Plausible's, not Umami's: read them as `top_channels` of " +
    'GET /api/v1/stats or `visit:channel` of the Plausible Stats API',
  domain: 'Tally does not group referrers into domains apart from `referrer`',
  distinctId:
    'Tally does not group or filter by distinct id (a session shows its own as `distinctId`)',
  segment: 'Tally keeps no segments',
  cohort: 'Tally keeps no cohorts',
  botName: 'Tally keeps no bot names (bots are left out)',
  botCategory: 'Tally keeps no bot categories (bots are left out)',
  eventType: 'Tally has no event type numbers',
  excludeBounce: 'Tally does not leave out bounces',
};

/** Umami parameters with one value Tally answers by what it always does. */
const ONLY: Record<string, { value: string; why: string }> = {
  match: { value: 'all', why: 'Tally joins every filter with AND (match=all)' },
  trafficType: { value: 'human', why: 'Tally leaves bots out of every read (trafficType=human)' },
};

/** Filter fields as Umami's filterParams names them (`url`, `host`: v2's `path`, `hostname`). */
const FILTER_FIELDS = [
  'path',
  'url',
  'query',
  'title',
  'hostname',
  'host',
  'language',
  'tag',
  'event',
  'referrer',
  'entry',
  'exit',
  'browser',
  'os',
  'device',
  'country',
  'utmSource',
  'utmMedium',
  'utmCampaign',
  'utmContent',
  'utmTerm',
];

/** Umami's operators (`neq.Firefox`) Tally reads; an unprefixed value is `eq`. */
const OPERATORS = ['eq', 'neq', 'c', 'dnc'] as const;
const UMAMI_OPERATORS = 're|nre|s|ns|t|f|gt|lt|gte|lte|bf|af';
const OPERATOR_RE = new RegExp(`^(${OPERATORS.join('|')}|${UMAMI_OPERATORS})\\.(.*)$`, 's');

/** Umami's event and session property filters (its params.ts): `epf0`, `spf1`, `pf_plan`. */
const PROPERTY_FILTER_RE = /^(epf\d+|spf\d+|pf_.*)$/s;

/** The filters of a read: each given field's condition, all of them to hold. */
export function filtersOf(query: URLSearchParams): WebFilter[] {
  const filters: WebFilter[] = [];
  for (const [name, raw] of query) {
    const only = own(ONLY, name);
    const why = own(REFUSED, name) ?? (only?.value === raw ? undefined : only?.why);
    if (why !== undefined) throw badRequest(`Filtering by \`${name}\` is not supported: ${why}.`);
    if (PROPERTY_FILTER_RE.test(name)) {
      throw badRequest(
        `Filtering by \`${name}\` is not supported: Tally's Umami read API does not filter ` +
          'by event or session properties (epf, spf, pf_).',
      );
    }
    const base = /^([a-zA-Z]+)\d+$/.exec(name)?.[1];
    if (base !== undefined && FILTER_FIELDS.includes(base)) {
      throw badRequest(`Tally takes one filter per field: \`${name}\` repeats \`${base}\`.`);
    }
    if (!FILTER_FIELDS.includes(name) || raw === '') continue;
    if (raw.length > FILTER_CHARS_MAX) {
      throw badRequest(`The \`${name}\` filter is over ${FILTER_CHARS_MAX} characters.`);
    }
    filters.push(filterOf(name, raw));
  }
  if (filters.length > queryLimits.webFiltersMax) {
    throw badRequest(`At most ${queryLimits.webFiltersMax} filters may be combined.`);
  }
  return filters;
}

function filterOf(name: string, raw: string): WebFilter {
  const property = FIELDS[name] as WebProperty;
  const match = OPERATOR_RE.exec(raw);
  const operator = match?.[1] ?? 'eq';
  const value = match === null ? raw : (match[2] ?? '');
  if (!(OPERATORS as readonly string[]).includes(operator)) {
    throw badRequest(
      `The filter operator \`${operator}\` of \`${name}\` is not supported: ` +
        `use ${OPERATORS.join(', ')}.`,
    );
  }
  const contains = operator === 'c' || operator === 'dnc';
  // As Umami's parseFilterValue: eq and neq take a list (`browser=Chrome,Safari`), any of it.
  const values = contains ? [value] : value.split(',');
  if (values.length > queryLimits.webFilterValuesMax) {
    throw badRequest(`The \`${name}\` filter lists over ${queryLimits.webFilterValuesMax} values.`);
  }
  return {
    property,
    values,
    // Umami's contains is ILIKE '%value%': any case, and the value's characters literal.
    ...(contains ? { match: 'contains', ignoreCase: true } : { match: 'is' }),
    negated: operator === 'neq' || operator === 'dnc',
  };
}

/** Whether the filters name an event (then reads are not only of page views). */
export function namesEvents(filters: WebFilter[]): boolean {
  return filters.some((f) => 'event' in f.property && f.property.event === 'name');
}

/** Only page views: what Umami counts, but for custom events. */
export const PAGE_VIEWS: WebFilter = {
  property: { event: 'name' },
  values: PAGE_VIEW_NAMES,
  match: 'is',
  negated: false,
};

/** Only custom events: what Umami counts as events (its event type 2). */
export const CUSTOM_EVENTS: WebFilter = { ...PAGE_VIEWS, negated: true };

/** Only events that have the custom property (a page field Umami's tracker sent). */
export function having(property: WebProperty): WebFilter {
  return { property, values: ['*'], match: 'glob', negated: false };
}

/** A metric type: the property it ranks by and what each row counts. */
export interface MetricType {
  property: WebProperty;
  /** The field a `search` filters (the type's own filter field): the property but for languages. */
  field: WebProperty;
  /** Custom events count events; everything else counts visitors, as Umami does. */
  metric: 'visitors' | 'events';
}

/** `type` of /metrics: one Tally reads, else Umami's 400 (or why Tally cannot). */
export function metricTypeOf(type: string | null): MetricType {
  if (type === null || type === '') throw badRequest('The `type` parameter is required.');
  const why = own(REFUSED, type);
  if (why !== undefined) throw badRequest(`The metric type \`${type}\` is not supported: ${why}.`);
  if (type === 'event') {
    return { property: { event: 'goal' }, field: { event: 'name' }, metric: 'events' };
  }
  const field = own(FIELDS, type);
  if (field === undefined) {
    throw badRequest(`Unknown metric type \`${type}\`: one of ${Object.keys(FIELDS).join(', ')}.`);
  }
  // Umami ranks languages by their first two letters, lower-case (`lower(left(language, 2))`:
  // `en-US` and `en-GB` are `en`), while its filter and search read the whole value.
  const property: WebProperty = type === 'language' ? { event: 'language' } : field;
  return { property, field, metric: 'visitors' };
}

/** `limit` and `offset` of /metrics. */
export function pagingOf(query: URLSearchParams): { limit: number; offset: number } {
  const whole = (name: string, fallback: number, min: number, max: number) => {
    const text = query.get(name);
    if (text === null || text === '') return fallback;
    const value = /^\d{1,9}$/.test(text) ? Number(text) : Number.NaN;
    if (!(value >= min && value <= max)) {
      throw badRequest(`${name} must be a whole number from ${min} to ${max}.`);
    }
    return value;
  };
  return {
    limit: whole('limit', UMAMI_METRIC_ROWS_DEFAULT, 1, UMAMI_METRIC_ROWS_MAX),
    offset: whole('offset', 0, 0, UMAMI_METRIC_OFFSET_MAX),
  };
}

/** Umami's pages (websites, sessions, events): 20 rows by default (its DEFAULT_PAGE_SIZE). */
const UMAMI_PAGE_ROWS_DEFAULT = 20;
export const UMAMI_PAGE_ROWS_MAX = 500;

/** `page` (from 1) and `pageSize` of a paged list. */
export function pageOf(query: URLSearchParams): { page: number; pageSize: number } {
  const whole = (name: string, fallback: number, max: number) => {
    const text = query.get(name);
    if (text === null || text === '') return fallback;
    const value = /^\d{1,6}$/.test(text) ? Number(text) : 0;
    if (value < 1 || value > max) throw badRequest(`${name} must be a whole number, 1–${max}.`);
    return value;
  };
  return {
    page: whole('page', 1, queryLimits.breakdownPageMax),
    pageSize: whole('pageSize', UMAMI_PAGE_ROWS_DEFAULT, UMAMI_PAGE_ROWS_MAX),
  };
}

/** The filters of a read, with Umami's scope: page views, unless a filter names an event. */
export function scopedFilters(query: URLSearchParams): WebFilter[] {
  const filters = filtersOf(query);
  return namesEvents(filters) ? filters : [...filters, PAGE_VIEWS];
}
