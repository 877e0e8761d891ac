// Instants of any DuckDB timestamp type as ISO 8601 text: UTC for TIMESTAMPTZ (`Z`), naive
// otherwise; milliseconds always, micro- or nanoseconds when present; years past 0000–9999 in
// ISO 8601's expanded form (`+294247-01-10T04:00:54.775806`); DuckDB's infinities as
// `infinity` / `-infinity`. The proleptic Gregorian calendar throughout, as DuckDB's.

/** DuckDB's `infinity` of a timestamp: the largest int64 (its negation for `-infinity`). */
const INFINITY_TICKS = 9_223_372_036_854_775_807n;
/** DuckDB's `infinity` of a DATE: the largest int32 of days (its negation for `-infinity`). */
const INFINITY_DAYS = 2_147_483_647;

const NANOS_PER_DAY = 86_400_000_000_000n;

/**
 * `ticks` of `ticksPerSecond` (1, 1e3, 1e6 or 1e9) since 1970 as ISO 8601, or an infinity.
 */
export function isoOfTicks(ticks: bigint, ticksPerSecond: bigint, zoned: boolean): string {
  if (ticks === INFINITY_TICKS) return 'infinity';
  if (ticks === -INFINITY_TICKS) return '-infinity';
  const nanos = ticks * (1_000_000_000n / ticksPerSecond);
  let days = nanos / NANOS_PER_DAY;
  let ofDay = nanos % NANOS_PER_DAY;
  if (ofDay < 0n) {
    ofDay += NANOS_PER_DAY;
    days -= 1n;
  }
  const [y, m, d] = civilOfDays(Number(days));
  const seconds = Number(ofDay / 1_000_000_000n);
  const fraction = Number(ofDay % 1_000_000_000n);
  const hh = pad(Math.floor(seconds / 3600), 2);
  const mm = pad(Math.floor(seconds / 60) % 60, 2);
  const ss = pad(seconds % 60, 2);
  const text = `${isoYear(y)}-${pad(m, 2)}-${pad(d, 2)}T${hh}:${mm}:${ss}.${fractionOf(fraction)}`;
  return zoned ? `${text}Z` : text;
}

/** A DATE's `days` since 1970-01-01 as `YYYY-MM-DD` (expanded years as above), or an infinity. */
export function isoOfDays(days: number): string {
  if (days === INFINITY_DAYS) return 'infinity';
  if (days === -INFINITY_DAYS) return '-infinity';
  const [y, m, d] = civilOfDays(days);
  return `${isoYear(y)}-${pad(m, 2)}-${pad(d, 2)}`;
}

/** Nine digits of nanoseconds, cut to milliseconds or microseconds when the rest is zero. */
function fractionOf(nanos: number): string {
  const digits = pad(nanos, 9);
  if (nanos % 1_000_000 === 0) return digits.slice(0, 3);
  if (nanos % 1000 === 0) return digits.slice(0, 6);
  return digits;
}

/** Year, month, day of `days` since 1970-01-01 (H. Hinnant's civil_from_days). */
function civilOfDays(days: number): [number, number, number] {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return [yoe + era * 400 + (m <= 2 ? 1 : 0), m, d];
}

/** 0000–9999 as four digits, others as ISO 8601 expanded years (sign and six digits). */
export function isoYear(year: number): string {
  if (year >= 0 && year <= 9999) return pad(year, 4);
  return `${year < 0 ? '-' : '+'}${pad(Math.abs(year), 6)}`;
}

export function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}
