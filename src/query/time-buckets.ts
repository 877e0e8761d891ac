// Time buckets in a zone: each starts at a local minute, hour, midnight, Monday or first of
// the month, so days are 23 or 25 hours long across DST changes and an hour that repeats
// (clocks turned back) is two buckets. Bucket starts are computed here, once, and the SQL
// assigns events to them, so the same boundaries label, fill and count every series.

import { AppError, assert, DAY_MS, HOUR_MS } from '../core/index.ts';
import { queryLimits } from './limits.ts';
import {
  addDays,
  addMonths,
  instantOf,
  isoWeekday,
  localParts,
  type NextOffsetChange,
  nextOffsetChange,
  offsetChangeBetween,
  offsetMs,
} from './time-zone.ts';

export const BUCKET_UNITS = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type BucketUnit = (typeof BUCKET_UNITS)[number];

const MINUTE_MS = 60_000;

/**
 * Changes of offset an hour bucket is looked for across (one a day in practice, as
 * bucketStarts assumes): past them, a bucket is one hour long.
 */
const HOUR_CHANGES_MAX = 4;

/** The start of the bucket that holds instant `ms`. */
export function bucketStart(ms: number, unit: BucketUnit, tz: string): number {
  if (unit === 'minute' || unit === 'hour') {
    const size = sizeOf(unit);
    const offset = offsetMs(ms, tz);
    const start = ms - modulo(ms + offset, size);
    if (offsetMs(start, tz) === offset) return start;
    // The offset changed since that xx:00 of today's offset, which the clock never showed (Lord
    // Howe's half hour; Monrovia's −00:44:30 to GMT in 1972): the bucket began at the last
    // xx:00 (or minute) by the offset before the change.
    const change = offsetChangeBetween(start, ms, tz);
    return change - 1 - modulo(change - 1 + offsetMs(start, tz), size);
  }
  const day = localParts(ms, tz);
  const date = { ...day, hour: 0, minute: 0, second: 0 };
  let start = instantOf(date, tz);
  if (unit === 'week') start = instantOf(addDays(date, 1 - isoWeekday(date)), tz);
  if (unit === 'month') start = instantOf(addMonths(date, 0), tz);
  // Clocks turned back across midnight show the day before again after the next one began
  // (St. John's 2010-11-07 00:01 NDT → 2010-11-06 23:01 NST): the bucket is the next one,
  // as bucketStarts' boundaries place an event then.
  const next = nextBucketStart(start, unit, tz);
  return next <= ms ? next : start;
}

/** The start of the bucket after the one starting at `start` (minutes, days, weeks, months). */
export function nextBucketStart(
  start: number,
  unit: Exclude<BucketUnit, 'hour'>,
  tz: string,
): number {
  if (unit === 'minute') return nextOnTheClock(start, MINUTE_MS, tz).start;
  const day = localParts(start, tz);
  if (unit === 'month') return instantOf(addMonths(day, 1), tz);
  return instantOf(addDays(day, unit === 'week' ? 7 : 1), tz);
}

/** The length of a minute or hour bucket that no change of offset cuts. */
function sizeOf(unit: 'minute' | 'hour'): number {
  return unit === 'minute' ? MINUTE_MS : HOUR_MS;
}

/**
 * The next instant after `start` (a bucket's start) at which the wall clock shows xx:00 (for
 * `size` an hour; a whole minute for a minute), with the offset there: after a half-hour
 * change of offset (Lord Howe) one hour bucket is 30 or 90 minutes long instead of every later
 * bucket moving off the hour, and so is the bucket of a change from an offset with seconds
 * (local mean time: Monrovia's −00:44:30 until 1972, New York's −04:56:02 until 1883).
 */
function nextOnTheClock(
  start: number,
  size: number,
  tz: string,
): { start: number; offset: number } {
  let from = start;
  let offset = offsetMs(start, tz);
  for (let i = 0; i < HOUR_CHANGES_MAX; i++) {
    const next = from + size - modulo(from + offset, size);
    if (offsetMs(next, tz) === offset) return { start: next, offset };
    // The offset changes before that xx:00: on the hour at the change, or the first xx:00 of
    // the new offset after it.
    from = offsetChangeBetween(from, next, tz);
    offset = offsetMs(from, tz);
    if (modulo(from + offset, size) === 0) return { start: from, offset };
  }
  return { start: start + size, offset: offsetMs(start + size, tz) };
}

/**
 * The starts of every bucket overlapping [fromMs, toMs), in order: none for an empty range (a
 * day the zone skipped, Apia's 2011-12-30), not the week or month around it. 422 when there
 * would be more than queryLimits.bucketsMax of them.
 */
export function bucketStarts(fromMs: number, toMs: number, unit: BucketUnit, tz: string): number[] {
  const starts: number[] = [];
  if (fromMs >= toMs) return starts;
  const push = (start: number) => {
    if (starts.length === queryLimits.bucketsMax) throw tooManyBuckets(unit);
    starts.push(start);
  };
  let start = bucketStart(fromMs, unit, tz);
  if (unit === 'minute' || unit === 'hour') {
    // A day at a time: where the offset is the same a day later, every hour (minute) between
    // is on the clock (one offset lookup per day); else one by one through the change.
    const size = sizeOf(unit);
    let offset = offsetMs(start, tz);
    while (start < toMs) {
      const dayLater = start + DAY_MS;
      if (offsetMs(dayLater, tz) === offset) {
        for (; start < dayLater && start < toMs; start += size) push(start);
        continue;
      }
      while (start < dayLater && start < toMs) {
        push(start);
        ({ start, offset } = nextOnTheClock(start, size, tz));
      }
    }
    return starts;
  }
  while (start < toMs) {
    push(start);
    const next = nextBucketStart(start, unit, tz);
    assert(next > start, 'bucket starts increase');
    start = next;
  }
  return starts;
}

/**
 * Hour buckets as a wall clock groups instants into its hours (as Plausible's ClickHouse and
 * Umami's SQL truncate the local time to the hour): bucketStarts' hours, and a start too where
 * a change of offset moves the clock into another hour without it showing xx:00. On Lord
 * Howe's 2026-10-04, 02:00 +10:30 is 02:30 +11: Tally's hour from 01:00 runs to 03:00, but
 * 02:30–03:00 is the local hour 2.
 */
export function clockHourStarts(fromMs: number, toMs: number, tz: string): number[] {
  const starts = bucketStarts(fromMs, toMs, 'hour', tz);
  const first = starts[0];
  if (first === undefined) return starts;
  const known = new Set(starts);
  const hourAt = (ms: number) => {
    const p = localParts(ms, tz);
    return `${p.year}-${p.month}-${p.day} ${p.hour}`;
  };
  const extra = offsetChanges(first, toMs, tz).filter(
    (at) => !known.has(at) && hourAt(at - 1000) !== hourAt(at),
  );
  if (extra.length === 0) return starts;
  if (starts.length + extra.length > queryLimits.bucketsMax) throw tooManyBuckets('hour');
  return [...starts, ...extra].sort((a, b) => a - b);
}

/**
 * The offsets of `tz` over [fromMs, toMs): each from its start on (the first from `fromMs`'s
 * whole second), as Intl has them, for SQL that turns instants into local times by the same
 * rules as every bucket (DuckDB's own zone data may be of another tzdata release). The changes
 * are those `next` names, the runtime's own, one lookup each (20 years of Berlin: 41, where a
 * day at a time, run synchronously, looked up 7,300 offsets); each offset is Intl's, and a
 * change after which Intl reads the same offset is none. Without `next`, a day at a time.
 */
export function offsetSpans(
  fromMs: number,
  toMs: number,
  tz: string,
  next: NextOffsetChange | null = nextOffsetChange,
): { starts: number[]; offsets: number[] } {
  const first = Math.floor(fromMs / 1000) * 1000;
  const spans = { starts: [first], offsets: [offsetMs(first, tz)] };
  const changes = next === null ? offsetChanges(first, toMs, tz) : changesOf(first, toMs, tz, next);
  for (const start of changes) {
    const offset = offsetMs(start, tz);
    if (offset === spans.offsets.at(-1)) continue;
    spans.starts.push(start);
    spans.offsets.push(offset);
  }
  return spans;
}

/** The changes `next` names in (fromMs, toMs), in order. */
function changesOf(fromMs: number, toMs: number, tz: string, next: NextOffsetChange): number[] {
  const changes: number[] = [];
  for (let at = next(fromMs, tz); at !== null && at < toMs; at = next(at, tz)) {
    assert(at > (changes.at(-1) ?? fromMs), 'offset changes increase');
    changes.push(at);
  }
  return changes;
}

/**
 * The instants in [fromMs, toMs) at which the offset changes, found a day at a time (one
 * change a day at most, as bucketStarts assumes). `fromMs` is on a whole second.
 */
function offsetChanges(fromMs: number, toMs: number, tz: string): number[] {
  const changes: number[] = [];
  const end = Math.ceil(toMs / 1000) * 1000;
  // One offset lookup a day: each day's end is the next one's start.
  let offset = offsetMs(fromMs, tz);
  for (let from = fromMs; from < end; from += DAY_MS) {
    const to = Math.min(from + DAY_MS, end);
    const next = offsetMs(to, tz);
    if (next === offset) continue;
    offset = next;
    const at = offsetChangeBetween(from, to, tz);
    if (at < toMs) changes.push(at);
  }
  return changes;
}

function tooManyBuckets(unit: BucketUnit): AppError {
  return AppError.validation([
    {
      loc: ['query', 'bucket'],
      msg:
        `the range holds more than ${queryLimits.bucketsMax} ${unit} buckets; ` +
        'use a larger bucket or a shorter range',
      type: 'too_long',
    },
  ]);
}

/** `n` modulo `size`, from 0 to size − 1 for a negative `n` too (before 1970). */
function modulo(n: number, size: number): number {
  return ((n % size) + size) % size;
}

/**
 * Bucket starts with their labels, a start whose label repeats the one before it left out (its
 * events then fall in the bucket before): an hour the clocks put back is one local hour.
 */
export function labelledBuckets(
  starts: readonly number[],
  labelOfStart: (start: number) => string,
): { start: number; label: string }[] {
  const buckets: { start: number; label: string }[] = [];
  for (const start of starts) {
    const label = labelOfStart(start);
    if (buckets.at(-1)?.label !== label) buckets.push({ start, label });
  }
  return buckets;
}
