// Time buckets in a zone: each starts at a local minute, hour, midnight, Monday or first of
// the month, so days are 23 or 25 hours long across DST changes and an hour that repeats
// (clocks turned back) is two buckets. Bucket starts are computed here, once, and the SQL
// assigns events to them, so the same boundaries label, fill and count every series.

import { AppError, assert, HOUR_MS } from '../core/index.ts';
import { queryLimits } from './limits.ts';
import { addDays, addMonths, instantOf, isoWeekday, localParts, offsetMs } from './time-zone.ts';

export const BUCKET_UNITS = ['minute', 'hour', 'day', 'week', 'month'] as const;
export type BucketUnit = (typeof BUCKET_UNITS)[number];

const FIXED_MS: Partial<Record<BucketUnit, number>> = { minute: 60_000, hour: HOUR_MS };

/** The start of the bucket that holds instant `ms`. */
export function bucketStart(ms: number, unit: BucketUnit, tz: string): number {
  const fixed = FIXED_MS[unit];
  if (fixed !== undefined) {
    const offset = offsetMs(ms, tz);
    const local = ms + offset;
    return local - (((local % fixed) + fixed) % fixed) - offset;
  }
  const day = localParts(ms, tz);
  const start = { ...day, hour: 0, minute: 0, second: 0 };
  if (unit === 'week') return instantOf(addDays(start, 1 - isoWeekday(start)), tz);
  if (unit === 'month') return instantOf(addMonths(start, 0), tz);
  return instantOf(start, tz);
}

/** The start of the bucket after the one starting at `start`. */
export function nextBucketStart(start: number, unit: BucketUnit, tz: string): number {
  const fixed = FIXED_MS[unit];
  if (fixed !== undefined) return start + fixed;
  const day = localParts(start, tz);
  if (unit === 'month') return instantOf(addMonths(day, 1), tz);
  return instantOf(addDays(day, unit === 'week' ? 7 : 1), tz);
}

/**
 * The starts of every bucket overlapping [fromMs, toMs), in order. 422 when there would be
 * more than queryLimits.bucketsMax of them.
 */
export function bucketStarts(fromMs: number, toMs: number, unit: BucketUnit, tz: string): number[] {
  const starts: number[] = [];
  let start = bucketStart(fromMs, unit, tz);
  while (start < toMs) {
    if (starts.length === queryLimits.bucketsMax) throw tooManyBuckets(unit);
    starts.push(start);
    const next = nextBucketStart(start, unit, tz);
    assert(next > start, 'bucket starts increase');
    start = next;
  }
  return starts;
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
