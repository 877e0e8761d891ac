// Seed 003 (FastAPI Analytics API): its `duration` query parameter, a PostgreSQL interval
// string (`1 day`, `15 minutes`, `01:00:00`, `PT1H`), as the width of a time bucket in ms.

import { AppError } from '../../core/index.ts';

/** One `<number> <unit>` part of a PostgreSQL interval, e.g. `15 minutes`, `1h`, `.5 hours`. */
const INTERVAL_PART = /(\d{0,6}(?:\.\d{1,6})?)\s*([a-z]+)\s*/gy;
/** A trailing time of day part, `hh:mm[:ss]` (`1 day 02:00:00`). */
const TIME_PART = /(?:^|\s)(\d{1,6}):(\d{2})(?::(\d{2}(?:\.\d{1,6})?))?$/;
/** ISO 8601 durations without years or months, e.g. `PT1H30M`, `P1DT2H`, `P1W`. */
const ISO_NUMBER = '(\\d+(?:\\.\\d+)?)';
const ISO_DURATION = new RegExp(
  `^P(?:${ISO_NUMBER}W)?(?:${ISO_NUMBER}D)?` +
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
/** The widest bucket: 100 years of days. */
const BUCKET_MS_MAX = 36_500 * 86_400_000;

/**
 * The width of a PostgreSQL interval of fixed-length units, in ms: `15 minutes`, `1h`,
 * `90 seconds`, `1 hour 30 minutes`, `01:00:00`, `1 day 02:00:00`, `@ 1 hour`, `3600` (seconds)
 * or ISO 8601 `PT1H`. Months and years have no fixed length: a 422 says so.
 */
export function intervalMs(duration: string): number {
  const ms = parseIntervalMs(duration);
  const whole = ms === null ? 0 : Math.round(ms);
  if (whole < 1 || whole > BUCKET_MS_MAX) return badInterval(duration);
  return whole;
}

function parseIntervalMs(duration: string): number | null {
  const iso = ISO_DURATION.exec(duration.trim().toUpperCase());
  if (iso !== null) {
    return ISO_UNITS_MS.reduce((sum, unit, i) => sum + Number(iso[i + 1] ?? 0) * unit, 0);
  }
  let text = duration.trim().toLowerCase().replace(/^@\s*/, '');
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000; // a bare number is seconds
  let ms = 0;
  const time = TIME_PART.exec(text);
  if (time !== null) {
    ms += (Number(time[1]) * 60 + Number(time[2])) * 60_000 + Number(time[3] ?? 0) * 1000;
    text = text.slice(0, time.index).trim();
  }
  let at = 0;
  INTERVAL_PART.lastIndex = 0;
  for (let m = INTERVAL_PART.exec(text); m !== null && m[0] !== ''; m = INTERVAL_PART.exec(text)) {
    const unit = UNIT_MS[m[2] as string];
    if (unit === undefined || m[1] === '') return null;
    ms += Number(m[1]) * unit;
    at = INTERVAL_PART.lastIndex;
  }
  return at === text.length ? ms : null;
}

function badInterval(duration: string): never {
  throw AppError.validation([
    {
      loc: ['query', 'duration'],
      msg:
        'duration must be an interval of seconds, minutes, hours, days or weeks, such as ' +
        `"15 minutes", "1h", "90 seconds" or "1 hour 30 minutes" (got "${duration}")`,
      type: 'value_error',
    },
  ]);
}
