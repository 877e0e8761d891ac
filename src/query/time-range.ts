// Turns the time parameters of a read (`date`, `from`, `to`, `tz`) into a half-open UTC range.
// A bare date is a local calendar day in `tz`; anything else must name its own offset.

import {
  AppError,
  DAY_MS,
  type FieldIssue,
  HOUR_MS,
  parseTimestamp,
  rangeEndMs,
  spacedOffsetMessage,
} from '../core/index.ts';
import type { BucketUnit } from './time-buckets.ts';
import {
  addDays,
  instantOf,
  type LocalParts,
  shiftLocal,
  spacedZoneMessage,
  timeZoneName,
} from './time-zone.ts';

export interface TimeParams {
  /** A local day, YYYY-MM-DD: the range is that whole day in `tz`. */
  date?: string | undefined;
  /** Inclusive: ISO 8601 with an offset, epoch ms, or YYYY-MM-DD (local midnight). */
  from?: string | undefined;
  /** Exclusive: ISO 8601 with an offset, epoch ms, or YYYY-MM-DD (the end of that day). */
  to?: string | undefined;
  tz?: string | undefined;
}

export interface ResolvedRange {
  fromMs?: number;
  toMs?: number;
  tz: string;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
/**
 * Epoch ms, negative before 1970 as at ingest (a timestamp may be any time from year 0000), with
 * a fraction as ingest takes it (Python's `time.time() * 1000`).
 */
const EPOCH_MS = /^-?\d{1,15}(?:\.\d+)?$/;
/** Epoch digits of any length: past 15 they are out of the epoch range, not another format. */
const EPOCH_DIGITS = /^-?\d+(?:\.\d+)?$/;

/**
 * The zone of a read as the zone spells itself (`america/new_york` is `America/New_York`),
 * `UTC` when absent; 422 naming the parameter when it is not a zone.
 */
export function resolveTimeZone(tz: string | undefined): string {
  if (tz === undefined || tz === '') return 'UTC';
  const name = timeZoneName(tz);
  if (name !== null) return name;
  throw AppError.validation([
    {
      loc: ['query', 'tz'],
      msg:
        spacedZoneMessage('tz', tz) ??
        `tz must be an IANA time zone such as Europe/Berlin or America/New_York (got "${tz}")`,
      type: 'time_zone',
    },
  ]);
}

export function resolveRange(params: TimeParams): ResolvedRange {
  const tz = resolveTimeZone(params.tz);
  const issues: FieldIssue[] = [];
  if (params.date !== undefined) {
    if (params.from !== undefined || params.to !== undefined) {
      throw AppError.validation([
        {
          loc: ['query', 'date'],
          msg: 'give either date or from/to, not both',
          type: 'value_error',
        },
      ]);
    }
    const day = localDate(params.date, 'date', issues);
    if (day === null) throw AppError.validation(issues);
    return { fromMs: instantOf(day, tz), toMs: instantOf(addDays(day, 1), tz), tz };
  }
  const from = params.from === undefined ? undefined : instant(params.from, 'from', tz, issues);
  const to = params.to === undefined ? undefined : instant(params.to, 'to', tz, issues);
  if (issues.length > 0) throw AppError.validation(issues);
  // Events are whole milliseconds: an end inside one (an inclusive `from`, an exclusive `to`
  // of …00.0005Z) stands for the next one, taking none of that one's events as `from` and
  // all of them as `to` (rangeEndMs, parseRangeEnd's rule).
  const fromMs = from === undefined ? undefined : rangeEndMs(from);
  const toMs = to === undefined ? undefined : rangeEndMs(to);
  if (from !== undefined && to !== undefined) requireOrder(params, from, to);
  return {
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
    tz,
  };
}

/**
 * A 422 unless `to` is at least one whole millisecond after `from` once each stands for its
 * millisecond (rangeEndMs): `from` and `to` inside one millisecond, in order, hold no whole
 * one, an empty range asked for as surely as one whose ends are out of order.
 */
function requireOrder(params: TimeParams, from: Instant, to: Instant): void {
  // Two bare dates in order are whole local days, like `date`: a day a zone skipped (Apia's
  // 2011-12-30) is an empty range there, answered as such, not a 422.
  const bareDates = DATE.test(params.from ?? '') && DATE.test(params.to ?? '');
  if (bareDates && (params.from as string) <= (params.to as string)) return;
  const later = to.ms > from.ms || (to.ms === from.ms && to.subMs > from.subMs);
  if (later && rangeEndMs(to) > rangeEndMs(from)) return;
  const msg = later
    ? 'to must be later than from by a whole millisecond: events are stored in whole ' +
      'milliseconds, and from and to inside one both stand for the next (an empty range)'
    : 'to must be later than from';
  throw AppError.validation([{ loc: ['query', 'to'], msg, type: 'value_error' }]);
}

/**
 * Span of a bucketed read when `from` is absent, by bucket: calendar days and months in `tz`,
 * so 30 days back from a local midnight is a local midnight across a DST change, and a year of
 * months back from the 1st is the 1st in a leap year too (minutes: one hour).
 */
const DEFAULT_SPAN: Record<BucketUnit, { days?: number; months?: number }> = {
  minute: {},
  hour: { days: -1 },
  day: { days: -30 },
  week: { days: -12 * 7 },
  month: { months: -12 },
};

/**
 * The range of a bucketed read, always bounded: `to` defaults to now, `from` to an hour, a
 * day, 30 days, 12 weeks or 12 months before `to` in `tz`, by bucket.
 */
export function resolveSeriesRange(
  params: TimeParams,
  bucket: BucketUnit,
  nowMs: number,
): { fromMs: number; toMs: number; tz: string } {
  const range = resolveRange(params);
  const toMs = range.toMs ?? Math.max(nowMs, (range.fromMs ?? 0) + 1);
  return { fromMs: range.fromMs ?? defaultFrom(toMs, bucket, range.tz), toMs, tz: range.tz };
}

function defaultFrom(toMs: number, bucket: BucketUnit, tz: string): number {
  if (bucket === 'minute') return toMs - HOUR_MS;
  const fromMs = shiftLocal(toMs, tz, DEFAULT_SPAN[bucket]);
  // A day back into a day the zone skipped (Apia's 2011-12-30) can land on `to` itself.
  return fromMs < toMs ? fromMs : toMs - DAY_MS;
}

/** An instant asked for: whole milliseconds, and the fraction of the next one past them. */
interface Instant {
  ms: number;
  subMs: number;
}

function instant(
  value: string,
  field: 'from' | 'to',
  tz: string,
  issues: FieldIssue[],
): Instant | undefined {
  if (DATE.test(value)) {
    const day = localDate(value, field, issues);
    if (day === null) return undefined;
    return { ms: instantOf(field === 'to' ? addDays(day, 1) : day, tz), subMs: 0 };
  }
  const epoch = EPOCH_MS.test(value);
  const parsed = parseTimestamp(epoch ? Number(value) : value);
  if (parsed.ok) return { ms: parsed.ms, subMs: parsed.subMs ?? 0 };
  issues.push({
    loc: ['query', field],
    msg: instantMessage(value, field),
    type: 'datetime_parsing',
  });
  return undefined;
}

/** Why `value` is no instant of a range. */
function instantMessage(value: string, field: 'from' | 'to'): string {
  // Epoch digits out of range are epoch milliseconds all the same: say which range.
  if (EPOCH_DIGITS.test(value)) return `${field} must be epoch milliseconds from year 0000 to 9999`;
  return (
    spacedOffsetMessage(field, value) ??
    `${field} must be YYYY-MM-DD, ISO 8601 with a zone offset ` +
      `(e.g. 2026-03-08T00:00:00-05:00) or epoch milliseconds`
  );
}

function localDate(value: string, field: string, issues: FieldIssue[]): LocalParts | null {
  const m = DATE.exec(value);
  if (m !== null) {
    const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
    const check = new Date(Date.UTC(2000, month - 1, day));
    check.setUTCFullYear(year);
    if (check.getUTCMonth() === month - 1 && check.getUTCDate() === day) {
      return { year, month, day, hour: 0, minute: 0, second: 0 };
    }
  }
  issues.push({
    loc: ['query', field],
    msg: `${field} must be a calendar date, YYYY-MM-DD (got "${value}")`,
    type: 'date_parsing',
  });
  return null;
}
