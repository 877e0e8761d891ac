// The periods of a cohort retention read (GET /api/v1/cohorts): local days, weeks (from Monday)
// or months of `tz`, as time buckets are (DST-correct: a day may last 23 or 25 hours). The range
// is widened back to the start of the period holding `from`, so that every cohort is a whole
// period; periods that have not begun (after `to`, or after now) are not reported.

import { AppError } from '../core/index.ts';
import { queryLimits } from './limits.ts';
import { bucketStart, nextBucketStart } from './time-buckets.ts';
import { addDays, addMonths, instantOf, localParts } from './time-zone.ts';

export const COHORT_PERIODS = ['day', 'week', 'month'] as const;
export type CohortPeriod = (typeof COHORT_PERIODS)[number];

export interface CohortRangeParams {
  /** Inclusive; when absent, `periods` periods back, ending with the last one reported. */
  fromMs?: number | undefined;
  /** Exclusive; now when absent. */
  toMs?: number | undefined;
  nowMs: number;
  period: CohortPeriod;
  tz: string;
  /** How many periods a cohort is followed, period 0 included. */
  periods: number;
}

export interface CohortRange {
  /** The start of every period reported, ascending: one cohort each. */
  starts: number[];
  /** The start of the first period (`from` widened to it). */
  fromMs: number;
  /** The end of what is read: `to`, or the end of the last period reported when sooner. */
  toMs: number;
}

/** The periods of a read; 422 when the range holds more than queryLimits.cohortsMax. */
export function cohortRange(params: CohortRangeParams): CohortRange {
  const { period, tz, nowMs } = params;
  const toMs = params.toMs ?? nowMs;
  // Periods that begin before `to` and have begun by now.
  const reportEndMs = Math.min(toMs, nowMs);
  // An empty range (a day the zone skipped, Apia's 2011-12-30) holds no period, not even the
  // week or month around it. Only a range given whole: a `from` later today without a `to`
  // still reports today's period, which has begun.
  if (params.fromMs !== undefined && params.toMs !== undefined && params.fromMs >= params.toMs) {
    return { starts: [], fromMs: params.fromMs, toMs: params.fromMs };
  }
  const fromMs = bucketStart(params.fromMs ?? defaultFrom(reportEndMs, params), period, tz);
  const starts: number[] = [];
  let next = fromMs;
  while (next < reportEndMs) {
    if (starts.length === queryLimits.cohortsMax) throw tooManyCohorts(period);
    starts.push(next);
    next = nextBucketStart(next, period, tz);
  }
  return { starts, fromMs, toMs: starts.length === 0 ? fromMs : Math.min(toMs, next) };
}

/** The start of the period `periods - 1` before the one holding the instant before `endMs`. */
function defaultFrom(endMs: number, params: CohortRangeParams): number {
  const { period, tz } = params;
  const back = params.periods - 1;
  const last = localParts(bucketStart(endMs - 1, period, tz), tz);
  if (period === 'month') return instantOf(addMonths(last, -back), tz);
  return instantOf(addDays(last, period === 'week' ? -7 * back : -back), tz);
}

function tooManyCohorts(period: CohortPeriod): AppError {
  return AppError.validation([
    {
      loc: ['query', 'period'],
      msg:
        `the range holds more than ${queryLimits.cohortsMax} ${period} periods (cohorts); ` +
        'use a longer period or a shorter range',
      type: 'too_long',
    },
  ]);
}
