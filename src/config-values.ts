// The parsers of setting values, and the reader that collects every refused value: config.ts
// says which settings exist and reads them through these.

import { isIP } from 'node:net';
import { EMAIL_CHARS_MAX, EMAIL_PATTERN } from './auth/index.ts';
import { retentionLimits } from './core/index.ts';

export type Env = Record<string, string | undefined>;

/** What a parser returns for a value it refuses: the rule the value broke. */
class Invalid {
  constructor(readonly rule: string) {}
}

const DURATION = /^(\d+)(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;
/** Intervals and deadlines run on timers, which fire at once past ~24.8 days. */
const TIMER_MS_MAX = 24 * DAY_MS;
/** Windows and lifetimes (dedup window, token lifetimes): ten years at most. */
export const SPAN_MS_MAX = 3650 * DAY_MS;
/** Digits, or a minus before a number that is not zero: `-0` is no whole number (PORT=-0). */
const WHOLE_NUMBER = /^(\d+|-0*[1-9]\d*)$/;
/** An IPv4 or IPv6 literal, or a host name of letters, digits, dots and dashes. */
const HOST_LABEL = '[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?';
const HOST_NAME = new RegExp(`^(?=.{1,253}$)${HOST_LABEL}(\\.${HOST_LABEL})*$`);

/** Reads variables with a parser each, collecting every refused value instead of stopping. */
export class EnvReader {
  readonly problems: string[] = [];

  constructor(readonly env: Env) {}

  read<T>(name: string, fallback: T, parse: (raw: string) => T | Invalid): T {
    const raw = this.env[name]?.trim();
    if (raw === undefined || raw === '') return fallback;
    const value = parse(raw);
    if (value instanceof Invalid) {
      this.problems.push(`${name}=${JSON.stringify(raw)}: ${value.rule}`);
      return fallback;
    }
    return value;
  }
}

export const text = (raw: string) => raw;

export const int = (min: number, max: number) => (raw: string) => {
  const n = WHOLE_NUMBER.test(raw) ? Number(raw) : Number.NaN;
  return Number.isInteger(n) && n >= min && n <= max
    ? n
    : new Invalid(`must be a whole number from ${min} to ${max}`);
};

/** A size: a number of bytes, or with a binary unit (`512MiB`, `2 GiB`; any case). */
const SIZE = /^(\d+) ?(b|kib|mib|gib|tib|pib)?$/i;
const SIZE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** `n` bytes as the README writes a size: in the largest binary unit it is a whole number of. */
function sizeText(n: number): string {
  let unit = -1;
  while (unit + 1 < SIZE_UNITS.length && n > 0 && n % 1024 ** (unit + 2) === 0) unit++;
  if (unit < 0) return n === 1 ? '1 byte' : `${n} bytes`;
  return `${n / 1024 ** (unit + 1)} ${SIZE_UNITS[unit]}`;
}

/**
 * A size in bytes from `min` to `max`: a number of bytes, or with a unit (KiB, MiB, GiB, TiB,
 * PiB: powers of 1024), as the README gives the defaults (`HOT_BYTES_MAX=1GiB`). Given `why`,
 * the refusal says why the bounds are what they are.
 */
export const bytes = (min: number, max: number, why?: string) => (raw: string) => {
  const m = SIZE.exec(raw);
  const unit = m?.[2]?.toLowerCase();
  const scale =
    unit === undefined || unit === 'b'
      ? 1
      : 1024 ** (SIZE_UNITS.findIndex((u) => u.toLowerCase() === unit) + 1);
  const n = m === null ? Number.NaN : Number(m[1]) * scale;
  if (Number.isSafeInteger(n) && n >= min && n <= max) return n;
  const rule =
    `must be a size from ${sizeText(min)} to ${sizeText(max)}: a number of bytes, or with a ` +
    'unit (KiB, MiB, GiB, TiB, PiB), like 512MiB';
  return new Invalid(why === undefined ? rule : `${rule}: ${why}`);
};

export const bool = (raw: string) => {
  const v = raw.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(v)) return true;
  if (['0', 'false', 'no', 'off'].includes(v)) return false;
  return new Invalid('must be true or false (1/0, yes/no, on/off)');
};

const duration = (raw: string) => {
  const m = DURATION.exec(raw);
  return m
    ? Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] as number)
    : new Invalid('must be a duration like 500ms, 30s, 15m, 24h or 7d');
};

/** A window or lifetime: 0 (where it means "forever") up to ten years. */
const span = (raw: string) => {
  const ms = duration(raw);
  if (ms instanceof Invalid) return ms;
  return ms <= SPAN_MS_MAX ? ms : new Invalid(`must be at most ${SPAN_MS_MAX / DAY_MS}d`);
};

/**
 * The shortest DEDUP_WINDOW but 0 (forever): a client retries after a timeout of seconds, so a
 * window of a few ms forgets each id before its retry comes (`DEDUP_WINDOW=7`, read as 7 ms,
 * turned exactly-once off without a word).
 */
const DEDUP_WINDOW_MS_MIN = MINUTE_MS;

/** How long an event_id is remembered: 0 (forever), or DEDUP_WINDOW_MS_MIN up to ten years. */
export const dedupWindow = (raw: string) => {
  const ms = span(raw);
  if (ms instanceof Invalid || ms === 0 || ms >= DEDUP_WINDOW_MS_MIN) return ms;
  return new Invalid(
    `must be 0 (forever) or at least ${DEDUP_WINDOW_MS_MIN / MINUTE_MS}m (a bare number is ms)`,
  );
};

export const durationIn = (minMs: number, maxMs: number) => (raw: string) => {
  const ms = duration(raw);
  if (ms instanceof Invalid) return ms;
  return ms >= minMs && ms <= maxMs
    ? ms
    : new Invalid(`must be a duration from ${minMs}ms to ${maxMs}ms`);
};

/**
 * A duration of at least `minMs` (0 would spin an interval) and at most `maxMs` (timers by
 * default: past ~24.8 days one fires at once).
 */
export const durationFrom =
  (minMs: number, maxMs = TIMER_MS_MAX) =>
  (raw: string) => {
    const ms = duration(raw);
    if (ms instanceof Invalid) return ms;
    return ms >= minMs && ms <= maxMs
      ? ms
      : new Invalid(`must be a duration from ${minMs}ms to ${maxMs / DAY_MS}d`);
  };

/**
 * A host name, an IPv4 literal, or an IPv6 literal (bare or in brackets). A colon anywhere else
 * is refused: `localhost:9000` is a host and a port, and would fail only at listen, after a
 * non-loopback HOST made AUTH_MODE=required and its admin was bootstrapped.
 */
export const host = (raw: string) => {
  const bare = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  if (HOST_NAME.test(raw) || isIP(bare) === 6) return raw;
  return new Invalid(
    'must be an IP address or a host name, e.g. 127.0.0.1, 0.0.0.0 or ::1 (the port goes in PORT)',
  );
};

/** Days of events a project keeps: 0 (forever) up to retentionDaysMax. */
export const retentionDays = (raw: string) => {
  const max = retentionLimits.retentionDaysMax;
  const days = int(0, max)(raw);
  return days instanceof Invalid
    ? new Invalid(`must be a whole number of days from 1 to ${max}, or 0 to keep events forever`)
    : days;
};

export const email = (raw: string) =>
  EMAIL_PATTERN.test(raw) && raw.length <= EMAIL_CHARS_MAX
    ? raw
    : new Invalid('must be an email address');

/** One of `values`, in any case (`LOG_LEVEL=DEBUG`), as AUTH_MODE and booleans are read. */
export const oneOf =
  <T extends string>(values: readonly T[]) =>
  (raw: string): T | Invalid => {
    const given = raw.toLowerCase();
    const value = values.find((v) => v.toLowerCase() === given);
    return value ?? new Invalid(`must be one of ${values.join(', ')}`);
  };

export const originList = (raw: string): string[] | Invalid => {
  const origins = raw
    .split(',')
    .map((o) => o.trim())
    .filter(Boolean);
  for (const o of origins) {
    if (!URL.canParse(o) || new URL(o).origin !== o) {
      return new Invalid(`${o} is not an origin like https://app.example.com`);
    }
  }
  return origins;
};
