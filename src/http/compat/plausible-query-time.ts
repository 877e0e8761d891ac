// The time of a Plausible Stats API v2 query: `date_range` (a keyword relative to today, or two
// dates, or two ISO 8601 date-times with their offsets) read as whole local days or instants
// in the query's zone (Tally's `tz`, else UTC), and its time dimensions: `time` resolved to
// hours, days, weeks or months by the range's length as Plausible's query optimizer does,
// buckets and their labels (`2026-11-25 10:00:00`, `2026-11-25`; a week by its Monday, or
// the range's first day for a week begun before it; a month by its first day).

import {
  addDays,
  addMonths,
  bucketStarts,
  clockHourStarts,
  formatInZone,
  instantOf,
  type LocalParts,
  labelledBuckets,
  localParts,
  type TimeKey,
} from '../../query/index.ts';
import { daysRange, parseDate, type StatsRange } from './plausible-stats-params.ts';

export const TIME_UNITS = ['hour', 'day', 'week', 'month'] as const;
export type TimeUnit = (typeof TIME_UNITS)[number];

/** A `date_range` as read, before today or the first event give it days. */
export type RangeSpec =
  | { kind: 'keyword'; keyword: string; days?: number; months?: number }
  | { kind: 'days'; first: LocalParts; last: LocalParts }
  | { kind: 'instants'; fromMs: number; toMs: number };

const KEYWORDS = ['day', 'month', 'year', 'all'];
/** Plausible's `<n>d` and `<n>mo` shorthands, with its bounds. */
export const LAST_DAYS_MAX = 5_000;
export const LAST_MONTHS_MAX = 100;

/** The date_range's reading, or null when it is none Plausible takes. */
export function rangeSpecOf(value: unknown): RangeSpec | null {
  if (typeof value === 'string') return keywordOf(value);
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [from, to] = value as unknown[];
  if (typeof from !== 'string' || typeof to !== 'string') return null;
  const first = parseDate(from);
  const last = parseDate(to);
  if (typeof first !== 'string' && typeof last !== 'string') {
    return instantOf(first, 'UTC') <= instantOf(last, 'UTC') ? { kind: 'days', first, last } : null;
  }
  const fromMs = dateTimeMs(from);
  const toMs = dateTimeMs(to);
  if (fromMs === null || toMs === null || fromMs > toMs) return null;
  // The last second is included, as Plausible's ranges end at hh:mm:59.
  return { kind: 'instants', fromMs, toMs: Math.floor(toMs / 1000) * 1000 + 1000 };
}

function keywordOf(text: string): RangeSpec | null {
  if (KEYWORDS.includes(text)) return { kind: 'keyword', keyword: text };
  // Digits as Plausible's schema (`^\d+d$`) and Integer.parse take them: leading zeros too.
  const match = /^(\d+)(d|mo)$/.exec(text);
  if (match === null) return null;
  const n = Number(match[1]);
  if (n < 1) return null;
  if (match[2] === 'd')
    return n <= LAST_DAYS_MAX ? { kind: 'keyword', keyword: text, days: n } : null;
  return n <= LAST_MONTHS_MAX ? { kind: 'keyword', keyword: text, months: n } : null;
}

const DATE_TIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/i;

/** An ISO 8601 date-time with its offset (as Elixir's DateTime.from_iso8601 requires one). */
function dateTimeMs(text: string): number | null {
  const match = DATE_TIME.exec(text);
  if (match === null || typeof parseDate(match[1] as string) === 'string') return null;
  if (Number(match[2]) > 23 || Number(match[3]) > 59 || Number(match[4]) > 59) return null;
  const ms = Date.parse(text.replace(' ', 'T'));
  return Number.isNaN(ms) ? null : ms;
}

/** The query's range: its local days (for keywords and dates) and instants, in `tz`. */
export interface QueryRange extends StatsRange {
  /** The two instants asked for, when the range was given as date-times. */
  instants: boolean;
}

/**
 * The range `spec` reads today (`nowMs`) in `tz`; `all` runs from the day of the first
 * event (`firstMs`; today when there is none or it is later).
 */
export function resolveRange(
  spec: RangeSpec,
  tz: string,
  nowMs: number,
  firstMs: number | null,
): QueryRange {
  const today = addDays(localParts(nowMs, tz), 0);
  const at = { tz, period: 'custom', today } as const;
  if (spec.kind === 'instants') {
    const first = addDays(localParts(spec.fromMs, tz), 0);
    const last = addDays(localParts(spec.toMs - 1, tz), 0);
    return { ...at, first, last, fromMs: spec.fromMs, toMs: spec.toMs, instants: true };
  }
  const [first, last] = spec.kind === 'days' ? [spec.first, spec.last] : keywordDays(spec, today);
  const all = spec.kind === 'keyword' && spec.keyword === 'all';
  // An event stored ahead of now (ingest takes up to 24 h) starts no range after today.
  const start = all && firstMs !== null ? localParts(Math.min(firstMs, nowMs), tz) : first;
  return { ...daysRange(at, addDays(start, 0), last), instants: false };
}

function keywordDays(
  spec: Extract<RangeSpec, { kind: 'keyword' }>,
  today: LocalParts,
): [LocalParts, LocalParts] {
  if (spec.days !== undefined) return [addDays(today, -spec.days), addDays(today, -1)];
  if (spec.months !== undefined) {
    return [addMonths(today, -spec.months), addDays(addMonths(today, 0), -1)];
  }
  switch (spec.keyword) {
    case 'month':
      return [addMonths(today, 0), addDays(addMonths(today, 1), -1)];
    case 'year': {
      const january = { ...today, month: 1, day: 1 };
      return [january, addDays(addMonths(january, 12), -1)];
    }
    default: // day, and all (whose start is the first event's day)
      return [today, today];
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** `time` for this range, as Plausible's optimizer picks it from the range's length. */
export function autoUnit(range: QueryRange): TimeUnit {
  // Plausible measures from the first instant to the last second, in whole units.
  const spanMs = range.toMs - 1000 - range.fromMs;
  if (Math.floor(spanMs / HOUR_MS) <= 48) return 'hour';
  if (Math.floor(spanMs / DAY_MS) <= 40) return 'day';
  if (Math.floor(spanMs / (7 * DAY_MS)) <= 52) return 'week';
  return 'month';
}

/** A bucket of a time dimension and its label; no start for an hour the clocks skip. */
export interface TimeBucket {
  start: number | null;
  label: string;
  /**
   * Later starts of the same wall-clock hour, its parts counted in it: Chatham's 02:45 +12:45
   * on 2026-04-05 (03:45 +13:45 put back an hour), after 03:00–03:45 +13:45 of the hour 3.
   */
  later?: number[];
}

/** The buckets' starts as a read takes them (TimeKey): a later start counts in its bucket. */
export function timeKeyOf(buckets: readonly TimeBucket[], unit: TimeUnit): TimeKey {
  const spans = buckets.flatMap(({ start, later = [] }) =>
    start === null ? [] : [start, ...later].map((s) => [s, start] as const),
  );
  spans.sort((a, b) => a[0] - b[0]);
  const starts = spans.map(([s]) => s);
  // By hour a visit counts in every hour it spans, as Plausible's sessions (their time slots).
  return { starts, bucketOf: spans.map(([, bucket]) => bucket), spans: unit === 'hour' };
}

/**
 * The buckets of `unit` over the range, in order, each with its label. An hour the clocks put
 * back repeats its label: it is one bucket (from the first start) as Plausible's local hours,
 * so no two rows or time labels are the same.
 */
export function bucketsOf(range: QueryRange, unit: TimeUnit): TimeBucket[] {
  if (unit === 'hour') return hourBucketsOf(range, range.instants);
  if (unit === 'day') return dayBucketsOf(range);
  const starts = bucketStarts(range.fromMs, range.toMs, unit, range.tz);
  return labelledBuckets(starts, (start) => bucketLabel(start, unit, range));
}

/**
 * Plausible's hours over the range (v1's timeseries too), as its ClickHouse groups events by
 * the local wall-clock hour (toStartOfHour(toTimeZone(…))) and its Time.time_labels steps
 * naive date-times: a label for every hour from the first day's 00:00 (the range's first
 * instant's hour when given as instants) to the last day's 23:00, each with the start of the
 * wall-clock hour it counts. An hour the clocks skip (New York's 02:00 on 2026-03-08) is a
 * label with no start (nothing in it); one they put back is one bucket from its first start.
 */
export function hourBucketsOf(range: StatsRange, instants = false): TimeBucket[] {
  const starts = clockHourStarts(range.fromMs, range.toMs, range.tz);
  const byLabel = new Map<string, number[]>();
  for (const { start, label } of labelledBuckets(starts, (s) => labelOf(s, 'hour', range.tz))) {
    byLabel.set(label, [...(byLabel.get(label) ?? []), start]);
  }
  const first = instants ? localParts(range.fromMs, range.tz) : { ...range.first, hour: 0 };
  const last = instants ? localParts(range.toMs - 1, range.tz) : { ...range.last, hour: 23 };
  return withNaiveLabels(byLabel, naiveHours(first, last));
}

/**
 * Plausible's days over the range (v1's timeseries too): a label for every date from the first
 * day to the last, as Time.time_labels enumerates the range's dates without a zone, each with
 * the start of its local day. A date the clocks skip whole (Pacific/Apia's 2011-12-30) is a
 * label with no start (nothing in it).
 */
export function dayBucketsOf(range: StatsRange): TimeBucket[] {
  const starts = bucketStarts(range.fromMs, range.toMs, 'day', range.tz);
  const byLabel = new Map<string, number[]>();
  for (const { start, label } of labelledBuckets(starts, (s) => labelOf(s, 'day', range.tz))) {
    byLabel.set(label, [start]);
  }
  const labels: string[] = [];
  // Dates compared as dates: as text, the day after 9999-12-31 ("10000-01-01") sorts first.
  const last = instantOf(range.last, 'UTC');
  for (let day = range.first; instantOf(day, 'UTC') <= last; day = addDays(day, 1)) {
    labels.push(dateText(day));
  }
  return withNaiveLabels(byLabel, labels);
}

/**
 * Every label of `naive` and of `byLabel`, in time order (labels are `YYYY-MM-DD[ HH:00:00]`:
 * in time order as text), each with its starts in `byLabel` (the first its start), or none.
 */
function withNaiveLabels(byLabel: Map<string, number[]>, naive: string[]): TimeBucket[] {
  const labels = new Set([...naive, ...byLabel.keys()]);
  return [...labels].sort().map((label) => {
    const [start = null, ...later] = byLabel.get(label) ?? [];
    return later.length === 0 ? { start, label } : { start, label, later };
  });
}

/** Every hour's label from `first`'s hour to `last`'s, stepped without a zone. */
function naiveHours(first: LocalParts, last: LocalParts): string[] {
  const naive = (p: LocalParts) => {
    const d = new Date(0);
    d.setUTCFullYear(p.year, p.month - 1, p.day);
    d.setUTCHours(p.hour, 0, 0, 0);
    return d.getTime();
  };
  const labels: string[] = [];
  for (let ms = naive(first); ms <= naive(last); ms += HOUR_MS) {
    const d = new Date(ms);
    const date = dateText({
      year: d.getUTCFullYear(),
      month: d.getUTCMonth() + 1,
      day: d.getUTCDate(),
    });
    labels.push(`${date} ${two(d.getUTCHours())}:00:00`);
  }
  return labels;
}

function bucketLabel(start: number, unit: TimeUnit, range: QueryRange): string {
  if (unit === 'week' && start < range.fromMs) return dateText(range.first);
  return labelOf(start, unit === 'hour' ? 'hour' : 'day', range.tz);
}

/** A bucket as Plausible labels it (v1's timeseries too): its local date, or date and hour. */
export function labelOf(start: number, unit: 'hour' | 'day', tz: string): string {
  const p = localParts(start, tz);
  return unit === 'hour' ? `${dateText(p)} ${two(p.hour)}:00:00` : dateText(p);
}

const two = (n: number) => String(n).padStart(2, '0');

/** `YYYY-MM-DD`; a year before 1 with its sign, as ISO 8601 (and Elixir's Date) write it. */
function dateText(p: Pick<LocalParts, 'year' | 'month' | 'day'>): string {
  const year = `${p.year < 0 ? '-' : ''}${String(Math.abs(p.year)).padStart(4, '0')}`;
  return `${year}-${two(p.month)}-${two(p.day)}`;
}

/** The range as Plausible echoes it: its first instant and its last second, in the zone. */
export function echoedRange(range: QueryRange): [string, string] {
  return [formatInZone(range.fromMs, range.tz), formatInZone(range.toMs - 1000, range.tz)];
}
