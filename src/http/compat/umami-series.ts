// Umami's time series of page views and sessions (its getPageviewStats and getSessionStats),
// for /pageviews and /api/realtime, and of custom events by name (its getEventStats, for
// /events/series): buckets of the range's unit in its zone that have any, each labelled as
// Umami's SQL labels it; a session per bucket is a visitor of that bucket.

import {
  bucketStarts,
  clockHourStarts,
  instantOf,
  labelledBuckets,
  localParts,
  type TimeKey,
  type WebFilter,
  type WebMetric,
} from '../../query/index.ts';
import { type ReadContext, webMetricsOf } from './umami-read-context.ts';
import { CUSTOM_EVENTS, type UmamiRange } from './umami-read-params.ts';

/**
 * Rows of /events/series at most (event names × buckets): Umami answers them all; a range's
 * buckets are at most 242 (months over 20 years, a local month begun before the range's first
 * included; days only up to 6 calendar months, 215), so this is 41 names a bucket at the least.
 */
const UMAMI_EVENT_SERIES_ROWS_MAX = 10_000;

export interface UmamiPoint {
  x: string;
  y: number;
}

/** Page views and visitors ("sessions") per bucket that has any, as Umami lists them. */
export async function pageviewSeries(
  ctx: ReadContext,
  range: UmamiRange,
  filters: WebFilter[],
): Promise<{ pageviews: UmamiPoint[]; sessions: UmamiPoint[] }> {
  const rows = await webMetricsOf(
    ctx,
    range,
    ['pageviews', 'visitors'],
    filters,
  )({ kind: 'bucket', ...startsOf(range) });
  rows.sort((a, b) => Number(a.key) - Number(b.key));
  const points = (metric: WebMetric) =>
    rows.flatMap((row) => {
      const y = row.values[metric] ?? 0;
      return y > 0 ? [{ x: labelOf(Number(row.key), range), y }] : [];
    });
  return { pageviews: points('pageviews'), sessions: points('visitors') };
}

export interface UmamiEventPoint {
  /** The event's name. */
  x: string;
  /** The bucket's label. */
  t: string;
  y: number;
}

/**
 * Custom events per name and bucket that has any, by bucket, then count (most first) and name,
 * as Umami's getEventStats answers (`order by t`).
 */
export async function eventSeries(
  ctx: ReadContext,
  range: UmamiRange,
  filters: WebFilter[],
): Promise<UmamiEventPoint[]> {
  const rows = await webMetricsOf(
    ctx,
    range,
    ['events'],
    [...filters, CUSTOM_EVENTS],
  )({
    kind: 'group',
    keys: [{ property: { event: 'name' } }, startsOf(range)],
    order: [{ by: { key: 1 }, desc: false }],
    limit: UMAMI_EVENT_SERIES_ROWS_MAX,
    offset: 0,
  });
  const points = rows.map((row) => {
    const [name, start] = [String(row.keys?.[0]), Number(row.keys?.[1])];
    return { x: name, t: labelOf(start, range), y: row.values.events ?? 0, start };
  });
  return points
    .filter((p) => p.y > 0)
    .sort((a, b) => a.start - b.start || b.y - a.y || (a.x < b.x ? -1 : a.x > b.x ? 1 : 0))
    .map(({ x, t, y }) => ({ x, t, y }));
}

/**
 * Bucket starts of the range, one bucket per label: as Umami groups by the local time, the
 * hour a clock set back repeats is one bucket, its first start taking both, and so is a label
 * that comes again later (a minute it repeats; Chatham's hour 2 on 2026-04-05, 02:45–03:00
 * +12:45 after 03:00–03:45 +13:45), its visitors counted once.
 */
function startsOf(range: UmamiRange): TimeKey {
  const starts = labelledBuckets(everyStartOf(range), (start) => labelOf(start, range));
  const first = new Map<string, number>();
  for (const { start, label } of starts) if (!first.has(label)) first.set(label, start);
  return {
    starts: starts.map((b) => b.start),
    bucketOf: starts.map((b) => first.get(b.label) as number),
  };
}

/**
 * Bucket starts of the range: hours of the wall clock, as Umami's SQL truncates the local time
 * (Lord Howe's 02:30–03:00 on 2026-10-04 is the hour 2); years from their first day, where
 * Tally's buckets stop at months.
 */
function everyStartOf(range: UmamiRange): number[] {
  if (range.unit === 'hour') return clockHourStarts(range.fromMs, range.toMs, range.tz);
  if (range.unit !== 'year') return bucketStarts(range.fromMs, range.toMs, range.unit, range.tz);
  const starts: number[] = [];
  const first = localParts(range.fromMs, range.tz).year;
  for (let year = first; ; year++) {
    const start = instantOf({ year, month: 1, day: 1, hour: 0, minute: 0, second: 0 }, range.tz);
    if (start >= range.toMs) return starts;
    starts.push(start);
  }
}

/**
 * A bucket's label as Umami's SQL writes it: the local start `YYYY-MM-DD HH:MM:00` in a zone,
 * or the UTC instant `YYYY-MM-DDTHH:MM:00Z` for `utc` (a day, month, year from its midnight).
 */
function labelOf(start: number, range: UmamiRange): string {
  const p = localParts(start, range.tz);
  const two = (n: number) => String(n).padStart(2, '0');
  const coarse = range.unit !== 'minute' && range.unit !== 'hour';
  const month = range.unit === 'year' ? 1 : p.month;
  const day = range.unit === 'year' || range.unit === 'month' ? 1 : p.day;
  const date = `${String(p.year).padStart(4, '0')}-${two(month)}-${two(day)}`;
  const time = coarse ? '00:00' : `${two(p.hour)}:${range.unit === 'hour' ? '00' : two(p.minute)}`;
  return range.utc ? `${date}T${time}:00Z` : `${date} ${time}:00`;
}
