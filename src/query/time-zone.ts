// Time-zone arithmetic in IANA zones through Intl (the same ICU data the runtime ships):
// local wall-clock parts of an instant, the instant of a local wall-clock time (DST gaps and
// overlaps resolved), and ISO 8601 with the zone's UTC offset, e.g. 2026-03-08T00:00:00-05:00.

import { DAY_MS } from '../core/index.ts';
import { isoYear, pad } from './iso-instants.ts';

export interface LocalParts {
  year: number;
  /** 1–12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

const ZONE_NAME = /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/;
/**
 * Formatters by the zone's own spelling only (a few hundred zones and aliases): a zone name is
 * read case-insensitively, and a formatter kept per spelling asked for (`europe/berlin`,
 * `EUROPE/berlin` …) would let reads grow memory without bound (~30 KB each).
 */
const formatters = new Map<string, Intl.DateTimeFormat>();

/**
 * The zone's own spelling of `tz` (`america/new_york` is `America/New_York`; an alias such as
 * `Asia/Calcutta` stays itself), or null when `tz` names no zone the runtime knows.
 */
export function timeZoneName(tz: string): string | null {
  if (!ZONE_NAME.test(tz)) return null;
  try {
    return formatterOf(tz).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

/**
 * What a zone name that names none says when its spaces are the `+` a query string turned into
 * them (`tz=Etc/GMT+5` reads as `Etc/GMT 5`): that `+` sent as %2B, naming `field`; undefined
 * when `tz` names a zone, or names none with `+` for its spaces either.
 */
export function spacedZoneMessage(field: string, tz: string): string | undefined {
  if (!tz.includes(' ') || timeZoneName(tz) !== null) return undefined;
  const name = timeZoneName(tz.replaceAll(' ', '+'));
  if (name === null) return undefined;
  return (
    `${field} has a space where its + belongs (got "${tz}"): a query string reads an ` +
    `unescaped + as a space; send it as %2B (${field}=${name.replaceAll('+', '%2B')})`
  );
}

/**
 * How many zone formatters are kept (one per zone spelled as the zone spells itself): for the
 * test that reads of many spellings keep no more.
 */
export function zoneFormattersKept(): number {
  return formatters.size;
}

function formatterOf(tz: string): Intl.DateTimeFormat {
  const kept = formatters.get(tz);
  if (kept !== undefined) return kept;
  const f = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    era: 'short',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  const name = f.resolvedOptions().timeZone;
  const known = formatters.get(name);
  if (known !== undefined) return known;
  formatters.set(name, f);
  return f;
}

/** The wall-clock time in `tz` at instant `ms` (seconds precision). */
export function localParts(ms: number, tz: string): LocalParts {
  const parts: Record<string, string> = {};
  for (const p of formatterOf(tz).formatToParts(new Date(ms))) parts[p.type] = p.value;
  const year = Number(parts.year);
  return {
    year: parts.era === 'BC' ? 1 - year : year,
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour),
    minute: Number(parts.minute),
    second: Number(parts.second),
  };
}

/** The offset of `tz` from UTC at instant `ms`, in ms (e.g. -5 h for New York in winter). */
export function offsetMs(ms: number, tz: string): number {
  const p = localParts(ms, tz);
  const wall = wallMs(p);
  return wall - Math.floor(ms / 1000) * 1000;
}

function wallMs(p: LocalParts): number {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  d.setUTCHours(p.hour, p.minute, p.second, 0);
  return d.getTime();
}

/**
 * The instant at which the wall clock in `tz` shows `local`. In an overlap (clocks turned back)
 * the earlier instant; in a gap (clocks turned forward) the instant the gap ends, so a day that
 * starts at a skipped midnight starts when its first wall-clock time exists.
 */
export function instantOf(local: LocalParts, tz: string): number {
  const wall = wallMs(local);
  const offsets = new Set([offsetMs(wall - DAY_MS, tz), offsetMs(wall + DAY_MS, tz)]);
  const candidates = [...offsets].map((o) => wall - o);
  const exact = candidates.filter((t) => t + offsetMs(t, tz) === wall);
  if (exact.length > 0) return Math.min(...exact);
  return offsetChangeBetween(Math.min(...candidates), Math.max(...candidates), tz);
}

/**
 * The instant the offset changes between `before` (still the old offset) and `after` (the new
 * one; `after` itself when the offset there is the old one), e.g. the end of a gap. Not always
 * `wall - new offset`: a gap may begin before the wall time asked for (Toronto 1919-03-30
 * 23:30 → 00:30 skipped midnight; its day began at 00:30, not 01:00). Offsets change on whole
 * seconds, so a search by seconds finds it exactly: from the whole seconds that hold `before`
 * and `after` (an instant inside the first second after a change, 15:30:00.5Z at Lord Howe's
 * 02:00 → 02:30, kept the search between 15:29:59 and 15:30:00.5 for ever).
 */
export function offsetChangeBetween(before: number, after: number, tz: string): number {
  const old = offsetMs(before, tz);
  if (offsetMs(after, tz) === old) return after;
  // offsetMs reads an instant's whole second: those of `before` and `after` hold their offsets.
  let lo = Math.floor(before / 1000);
  let hi = Math.floor(after / 1000);
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (offsetMs(mid * 1000, tz) === old) lo = mid;
    else hi = mid;
  }
  return hi * 1000;
}

/** The next instant after `ms` at which the offset of `tz` changes, or null when none does. */
export type NextOffsetChange = (ms: number, tz: string) => number | null;

/** The part of Temporal read here: Bun's runtime has it, TypeScript's lib not yet. */
interface ZoneTransitions {
  Instant: {
    fromEpochMilliseconds(ms: number): {
      toZonedDateTimeISO(tz: string): {
        getTimeZoneTransition(direction: 'next'): { epochMilliseconds: number } | null;
      };
    };
  };
}
const temporal = (globalThis as { Temporal?: ZoneTransitions }).Temporal;

/**
 * The zone's next change of offset as the runtime's zone data has it (Temporal reads the ICU
 * data Intl reads), one lookup a change; null in a runtime without Temporal, where callers
 * look for changes a day at a time.
 */
export const nextOffsetChange: NextOffsetChange | null =
  temporal === undefined
    ? null
    : (ms, tz) => {
        const zoned = temporal.Instant.fromEpochMilliseconds(ms).toZonedDateTimeISO(tz);
        return zoned.getTimeZoneTransition('next')?.epochMilliseconds ?? null;
      };

/**
 * ISO 8601 with the offset of `tz` at that instant: `2026-11-01T01:00:00-04:00`. A local mean
 * time offset with seconds (before standard time, e.g. New York's -04:56:02 until 1883) is
 * written with them, as ISO 8601's extended format allows (`±hh:mm:ss`).
 */
export function formatInZone(ms: number, tz: string): string {
  const p = localParts(ms, tz);
  const offset = offsetMs(ms, tz);
  const millis = millisOf(ms);
  const sign = offset < 0 ? '-' : '+';
  const seconds = Math.round(Math.abs(offset) / 1000);
  const hh = pad(Math.floor(seconds / 3600), 2);
  const mm = pad(Math.floor(seconds / 60) % 60, 2);
  const ss = seconds % 60 === 0 ? '' : `:${pad(seconds % 60, 2)}`;
  const date = `${isoYear(p.year)}-${pad(p.month, 2)}-${pad(p.day, 2)}`;
  const time = `${pad(p.hour, 2)}:${pad(p.minute, 2)}:${pad(p.second, 2)}`;
  const fraction = millis === 0 ? '' : `.${pad(millis, 3)}`;
  return `${date}T${time}${fraction}${sign}${hh}:${mm}${ss}`;
}

/** The calendar date `days` after `p`'s date (time of day dropped). */
export function addDays(p: LocalParts, days: number): LocalParts {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day + days);
  return dateParts(d);
}

/** The first day of the month `months` after `p`'s month. */
export function addMonths(p: LocalParts, months: number): LocalParts {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1 + months, 1);
  return dateParts(d);
}

/**
 * The instant `days` calendar days and `months` months from `ms` at the same wall-clock time in
 * `tz` (a day of the month the target month lacks becomes its last, as in Temporal), so a span
 * back from a local midnight starts at a local midnight across DST changes and leap days.
 */
export function shiftLocal(ms: number, tz: string, by: { days?: number; months?: number }): number {
  const p = localParts(ms, tz);
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1 + (by.months ?? 0), 1);
  const monthDays = new Date(0);
  monthDays.setUTCFullYear(d.getUTCFullYear(), d.getUTCMonth() + 1, 0);
  d.setUTCDate(Math.min(p.day, monthDays.getUTCDate()) + (by.days ?? 0));
  const date = dateParts(d);
  const local = { ...date, hour: p.hour, minute: p.minute, second: p.second };
  return instantOf(local, tz) + millisOf(ms);
}

/** The milliseconds of `ms` past its whole second, 0–999 before 1970 too. */
function millisOf(ms: number): number {
  return ((ms % 1000) + 1000) % 1000;
}

/** ISO day of week of `p`'s date: 1 = Monday … 7 = Sunday. */
export function isoWeekday(p: LocalParts): number {
  const d = new Date(0);
  d.setUTCFullYear(p.year, p.month - 1, p.day);
  return ((d.getUTCDay() + 6) % 7) + 1;
}

function dateParts(d: Date): LocalParts {
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: 0,
    minute: 0,
    second: 0,
  };
}
