// Seed 003 (FastAPI Analytics API): its `duration` query parameter, a PostgreSQL interval
// string (`1 day`, `15 minutes`, `01:00:00`, `PT1H`, `1 month`), as the width of a time bucket:
// a fixed length in ms, or a number of calendar months (TimescaleDB's time_bucket takes both).

import { AppError } from '../../core/index.ts';

/** One `<number> <unit>` part of a PostgreSQL interval, e.g. `15 minutes`, `1h`, `.5 hours`. */
const INTERVAL_PART = /(\d{0,6}(?:\.\d{1,6})?)\s*([a-z]+)\s*/gy;
/** A trailing time of day part, `hh:mm[:ss]` (`1 day 02:00:00`). */
const TIME_PART = /(?:^|\s)(\d{1,6}):(\d{2})(?::(\d{2}(?:\.\d{1,6})?))?$/;
/** ISO 8601 durations, e.g. `PT1H30M`, `P1DT2H`, `P1W`, `P1M`, `P1Y6M`. */
const ISO_NUMBER = '(\\d+(?:\\.\\d+)?)';
const ISO_DURATION = new RegExp(
  `^P(?:${ISO_NUMBER}Y)?(?:${ISO_NUMBER}M)?(?:${ISO_NUMBER}W)?(?:${ISO_NUMBER}D)?` +
    `(?:T(?:${ISO_NUMBER}H)?(?:${ISO_NUMBER}M)?(?:${ISO_NUMBER}S)?)?$`,
);
const ISO_UNITS_MS = [604_800_000, 86_400_000, 3_600_000, 60_000, 1_000];
/** The fixed-length units of PostgreSQL's interval input, by every spelling it accepts. */
const UNIT_MS: Record<string, number> = {};
for (const [ms, names] of [
  [1_000, ['s', 'sec', 'secs', 'second', 'seconds']],
  [60_000, ['m', 'min', 'mins', 'minute', 'minutes']],
  [3_600_000, ['h', 'hr', 'hrs', 'hour', 'hours']],
  [86_400_000, ['d', 'day', 'days']],
  [604_800_000, ['w', 'week', 'weeks']],
] as const) {
  for (const name of names) UNIT_MS[name] = ms;
}
/** The calendar units, in months, by every spelling PostgreSQL's interval input accepts. */
const UNIT_MONTHS: Record<string, number> = {};
for (const [months, names] of [
  [1, ['mon', 'mons', 'month', 'months']],
  [12, ['y', 'yr', 'yrs', 'year', 'years']],
  [120, ['decade', 'decades']],
] as const) {
  for (const name of names) UNIT_MONTHS[name] = months;
}
/** The widest bucket: 100 years of days, or of months. */
const BUCKET_MS_MAX = 36_500 * 86_400_000;
const BUCKET_MONTHS_MAX = 1200;

/** A bucket's width: a fixed length, or whole calendar months (from 2000-01-01, in UTC). */
export type BucketWidth = { ms: number } | { months: number };

/**
 * The width of a PostgreSQL interval, as TimescaleDB's time_bucket takes it: of fixed-length
 * units, in ms (`15 minutes`, `1h`, `90 seconds`, `1 hour 30 minutes`, `01:00:00`,
 * `1 day 02:00:00`, `@ 1 hour`, `3600` (seconds), ISO 8601 `PT1H`), or of whole months and
 * years (`1 month`, `3 mons`, `1 year 6 months`, `P1M`). time_bucket refuses an interval of
 * months with days or a time as well, and so does this (a 422).
 */
export function bucketWidth(duration: string): BucketWidth {
  const parsed = parseInterval(duration);
  if (parsed === null) return badInterval(duration);
  if (parsed.months > 0) {
    const whole = Number.isInteger(parsed.months) && parsed.ms === 0;
    if (!whole || parsed.months > BUCKET_MONTHS_MAX) return badInterval(duration);
    return { months: parsed.months };
  }
  const whole = Math.round(parsed.ms);
  if (whole < 1 || whole > BUCKET_MS_MAX) return badInterval(duration);
  return { ms: whole };
}

interface Interval {
  months: number;
  ms: number;
}

function parseInterval(duration: string): Interval | null {
  const iso = ISO_DURATION.exec(duration.trim().toUpperCase());
  if (iso !== null) {
    const months = Number(iso[1] ?? 0) * 12 + Number(iso[2] ?? 0);
    const ms = ISO_UNITS_MS.reduce((sum, unit, i) => sum + Number(iso[i + 3] ?? 0) * unit, 0);
    return { months, ms };
  }
  let text = duration.trim().toLowerCase().replace(/^@\s*/, '');
  // A bare number is seconds.
  if (/^\d+(\.\d+)?$/.test(text)) return { months: 0, ms: Number(text) * 1000 };
  let ms = 0;
  let months = 0;
  const time = TIME_PART.exec(text);
  if (time !== null) {
    ms += (Number(time[1]) * 60 + Number(time[2])) * 60_000 + Number(time[3] ?? 0) * 1000;
    text = text.slice(0, time.index).trim();
  }
  let at = 0;
  INTERVAL_PART.lastIndex = 0;
  for (let m = INTERVAL_PART.exec(text); m !== null && m[0] !== ''; m = INTERVAL_PART.exec(text)) {
    const unit = m[2] as string;
    if (m[1] === '' || (UNIT_MS[unit] === undefined && UNIT_MONTHS[unit] === undefined)) {
      return null;
    }
    ms += Number(m[1]) * (UNIT_MS[unit] ?? 0);
    months += Number(m[1]) * (UNIT_MONTHS[unit] ?? 0);
    at = INTERVAL_PART.lastIndex;
  }
  return at === text.length ? { months, ms } : null;
}

function badInterval(duration: string): never {
  throw AppError.validation([
    {
      loc: ['query', 'duration'],
      msg:
        'duration must be an interval of seconds, minutes, hours, days or weeks, such as ' +
        '"15 minutes", "1h", "90 seconds" or "1 hour 30 minutes", or of whole months or ' +
        `years alone, such as "1 month" or "1 year 6 months" (got "${duration}")`,
      type: 'value_error',
    },
  ]);
}
