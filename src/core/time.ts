// Parsing of client timestamps: ISO 8601 with an explicit offset, or epoch milliseconds.
// A timestamp without a zone is ambiguous, so Tally's own API refuses it rather than guess;
// the APIs Tally is compatible with read one as UTC, as their servers do (`parseAsUtc`). Also
// the UTC day of a time, as the segments partition events.

import { DAY_MS } from './limits.ts';

const ISO_WITH_OFFSET = new RegExp(
  // RFC 3339 (§5.6) lets T and Z be lower case; a space instead of T is as common.
  '^(\\d{4})-(\\d{2})-(\\d{2})[Tt ](\\d{2}):(\\d{2})' + // date, hours, minutes
    '(?::(\\d{2})(?:[.,](\\d{1,9}))?)?' + // optional seconds and fraction
    // The zone: required; seconds too (-04:56:02), as reads write a local mean time offset.
    '(Z|z|[+-]\\d{2}(?:\\d{2}|:\\d{2}(?::\\d{2})?)?)$',
);

/**
 * The range of a timestamp: any past time an ISO 8601 four-digit year can name (0000-01-01 on,
 * before 1970 included) up to the end of year 9999.
 */
export const EPOCH_MS_MIN = -62_167_219_200_000;
export const EPOCH_MS_MAX = 253_402_300_799_999;

/**
 * A parsed timestamp in whole milliseconds, and `subMs` (0 < subMs < 1) when the text named an
 * instant inside that millisecond (non-zero digits past it, e.g. `…00.0005Z`: 0.5).
 */
export type TimestampParse = { ok: true; ms: number; subMs?: number } | { ok: false; msg: string };

export function parseTimestamp(value: string | number): TimestampParse {
  if (typeof value === 'number') return parseEpochMs(value);
  const m = ISO_WITH_OFFSET.exec(value);
  if (!m) {
    return {
      ok: false,
      msg:
        'timestamp must be ISO 8601 with a zone offset (e.g. 2026-01-31T12:00:00Z) ' +
        'or epoch milliseconds',
    };
  }
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = s === undefined ? 0 : Number(s);
  const millis = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  // setUTCFullYear, unlike Date.UTC, takes years 0–99 as they are (Date.UTC maps them to 19xx).
  const check = new Date(0);
  check.setUTCFullYear(year, month - 1, day);
  check.setUTCHours(hour, minute, second, millis);
  const local = check.getTime();
  if (
    check.getUTCFullYear() !== year ||
    check.getUTCMonth() !== month - 1 ||
    check.getUTCDate() !== day ||
    hour > 23 ||
    minute > 59 ||
    second > 59
  ) {
    return { ok: false, msg: `timestamp ${value} is not a valid calendar date and time` };
  }
  const offsetMs = parseOffsetMs(zone as string);
  if (offsetMs === null) return { ok: false, msg: `timestamp ${value} has an invalid offset` };
  const parsed = parseEpochMs(local - offsetMs);
  // In range by its own clock, out of it in UTC (0000-01-01T00:30+01:00): say so in its terms.
  if (!parsed.ok)
    return { ok: false, msg: `timestamp ${value} is outside years 0000 to 9999 in UTC` };
  const subMs = Number(`0.${frac?.slice(3) ?? ''}`);
  return subMs > 0 ? { ...parsed, subMs } : parsed;
}

/**
 * The whole millisecond a range's end (an inclusive `from`, an exclusive `to`) stands for:
 * events are stored in whole milliseconds, so an end inside one (`…00.0005Z`) takes none of
 * that millisecond's events as `from` and all of them as `to`: it is the next millisecond.
 */
export function parseRangeEnd(value: string | number): TimestampParse {
  const parsed = parseTimestamp(value);
  return parsed.ok ? { ok: true, ms: rangeEndMs(parsed) } : parsed;
}

/**
 * The whole millisecond a parsed instant stands for as a range's end (see parseRangeEnd): the
 * next one when it lies inside one. Reads that keep the fraction (to order two ends) use it.
 */
export function rangeEndMs(instant: { ms: number; subMs?: number | undefined }): number {
  return instant.subMs !== undefined && instant.subMs > 0 ? instant.ms + 1 : instant.ms;
}

/**
 * An ISO 8601 time whose offset's `+` a query string turned into a space, as it turns every
 * unescaped `+` (`…T10:00:00+01:00` sent as is reads `…T10:00:00 01:00`).
 */
const SPACED_OFFSET =
  /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)? \d{2}(?::?\d{2})?$/;

/**
 * Why query parameter `field` is no timestamp when `value` is one whose offset's `+` came as
 * a space (the URL did not escape it); undefined for any other value.
 */
export function spacedOffsetMessage(field: string, value: string): string | undefined {
  if (!SPACED_OFFSET.test(value)) return undefined;
  return (
    `${field} has a space where its offset's + belongs (got "${value}"): a query string ` +
    'reads an unescaped + as a space; send it as %2B (e.g. 2026-03-08T00:00:00%2B01:00)'
  );
}

const ZONELESS_DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?$/;
const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * `parseTimestamp`, but a date and time without a zone is read as UTC and a bare date as its
 * UTC midnight: what the compatible APIs' servers (Pydantic, PostHog) do with them.
 */
export function parseAsUtc(value: string | number): TimestampParse {
  if (typeof value === 'string') {
    if (ZONELESS_DATE_TIME.test(value)) return parseTimestamp(`${value}Z`);
    if (DATE_ONLY.test(value)) return parseTimestamp(`${value}T00:00:00Z`);
  }
  return parseTimestamp(value);
}

/**
 * Epoch milliseconds, a fraction taken as ISO digits past the millisecond are (`subMs`): the
 * whole millisecond before it is stored, as `time.time() * 1000` in Python sends them.
 */
function parseEpochMs(value: number): TimestampParse {
  const ms = Math.floor(value);
  if (!Number.isFinite(value) || ms < EPOCH_MS_MIN || ms > EPOCH_MS_MAX) {
    return { ok: false, msg: 'timestamp must be epoch milliseconds from year 0000 to 9999' };
  }
  const subMs = value - ms;
  return subMs > 0 ? { ok: true, ms, subMs } : { ok: true, ms };
}

function parseOffsetMs(zone: string): number | null {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replaceAll(':', '');
  const hours = Number(digits.slice(0, 2));
  const minutes = digits.length > 2 ? Number(digits.slice(2, 4)) : 0;
  const seconds = digits.length > 4 ? Number(digits.slice(4, 6)) : 0;
  if (hours > 23 || minutes > 59 || seconds > 59) return null;
  return sign * ((hours * 60 + minutes) * 60 + seconds) * 1000;
}

/** The UTC day holding `ms` as a day number (days since 1970-01-01). */
export function utcDayIndex(ms: number): number {
  return Math.floor(ms / DAY_MS);
}

/** The UTC day holding `ms` as 'YYYY-MM-DD'. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
