// The stats panel's periods and formats: the local calendar days a period covers in a time
// zone (Today, Yesterday, Last 7 or 30 days, This month, a custom from/to), the query of
// GET /api/v1/stats for them, and how counts, durations and days are written. Pure functions
// of an instant, a zone and a locale: no DOM, no clock.

const PERIODS = ['today', 'yesterday', '7d', '30d', 'month', 'custom'] as const;
export type Period = (typeof PERIODS)[number];

/** Local calendar days, YYYY-MM-DD, both included. */
export interface DayRange {
  from: string;
  to: string;
}

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const DAY_MS = 86_400_000;

/** The calendar day in `timeZone` at the instant `ms`, YYYY-MM-DD. */
export function dayIn(ms: number, timeZone: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).formatToParts(ms);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
  return `${part('year').padStart(4, '0')}-${part('month')}-${part('day')}`;
}

/** Midnight UTC of a calendar day: the day as a Date, for arithmetic and formatting in UTC. */
function utcOf(day: string): Date {
  const m = DAY.exec(day);
  if (m === null) throw new Error(`not a day: ${day}`);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
}

export function isDay(text: string): boolean {
  const m = DAY.exec(text);
  return m !== null && utcOf(text).getUTCDate() === Number(m[3]);
}

/** The calendar day `days` after (before, when negative) `day`. */
export function addDays(day: string, days: number): string {
  return new Date(utcOf(day).getTime() + days * DAY_MS).toISOString().slice(0, 10);
}

/**
 * The days of a period as seen in `timeZone` at `nowMs`; a custom period's own days, or null
 * when they are missing or out of order. The last 7 and 30 days include today.
 */
export function daysOf(
  period: Period,
  nowMs: number,
  timeZone: string,
  custom: { from: string; to: string } = { from: '', to: '' },
): DayRange | null {
  const today = dayIn(nowMs, timeZone);
  switch (period) {
    case 'today':
      return { from: today, to: today };
    case 'yesterday': {
      const yesterday = addDays(today, -1);
      return { from: yesterday, to: yesterday };
    }
    case '7d':
      return { from: addDays(today, -6), to: today };
    case '30d':
      return { from: addDays(today, -29), to: today };
    case 'month':
      return { from: `${today.slice(0, 8)}01`, to: today };
    case 'custom':
      if (!isDay(custom.from) || !isDay(custom.to) || custom.from > custom.to) return null;
      return { from: custom.from, to: custom.to };
  }
}

/** The query of GET /api/v1/stats for whole local days: `date` for one, else `from`/`to`. */
export function statsParams(days: DayRange, timeZone: string): Record<string, string> {
  if (days.from === days.to) return { date: days.from, tz: timeZone };
  return { from: days.from, to: days.to, tz: timeZone };
}

/** The days written out: "Mon, Nov 24, 2025" or "Nov 18 – 24, 2025" (in `locale`). */
export function formatDays(days: DayRange, locale?: string): string {
  if (days.from === days.to) {
    const long = { weekday: 'short', year: 'numeric', month: 'short', day: 'numeric' } as const;
    return new Intl.DateTimeFormat(locale, { ...long, timeZone: 'UTC' }).format(utcOf(days.from));
  }
  const format = new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeZone: 'UTC' });
  return format.formatRange(utcOf(days.from), utcOf(days.to));
}

/** A count with the locale's thousands separators. */
export function formatCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: 0 }).format(n);
}

/** A count in the locale's compact notation, as Plausible's and PostHog's cards ("1.23B"). */
export function formatCompactCount(n: number, locale?: string): string {
  return new Intl.NumberFormat(locale, {
    notation: 'compact',
    maximumSignificantDigits: 3,
  }).format(n);
}

const two = (n: number) => String(n).padStart(2, '0');

/** Seconds as "42s", "1m 05s" or "2h 03m 10s"; "–" for none. */
export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds)) return '–';
  const total = Math.round(Math.max(seconds, 0));
  const [h, m, s] = [Math.floor(total / 3600), Math.floor((total % 3600) / 60), total % 60];
  if (h > 0) return `${h}h ${two(m)}m ${two(s)}s`;
  if (m > 0) return `${m}m ${two(s)}s`;
  return `${s}s`;
}
