// ClickHouse's round(x, n) on a Float64, as Plausible's rates are rounded (its SQL computes
// them in ClickHouse): x × 10^n, to the nearest integer with a tie to the even one, ÷ 10^n,
// each step a double operation (ClickHouse's FloatRoundingComputation). DuckDB's round takes
// a tie away from zero, and its round_even macro tests the tie on x × 10^(n+1) and halves x
// through its own round, which is not ClickHouse's answer for every double (2.05 × 10 is 20.5
// in doubles: ClickHouse's round(2.05, 1) is 2, DuckDB's round_even 2.1; 0.545 × 100 is
// 54.500000000000007: 0.55 against 0.54); so the steps are spelled out, in SQL and in
// TypeScript alike.

import { assert } from '../core/index.ts';

/** Digits a rounding keeps: ClickHouse's scale, a whole number 0–15 here. */
function scaleOf(digits: number): number {
  assert(Number.isInteger(digits) && digits >= 0 && digits <= 15, 'a rounding keeps 0–15 digits');
  return 10 ** digits;
}

/** `value` rounded to `digits` decimals as ClickHouse rounds a Float64 (a tie to even). */
export function roundHalfEven(value: number, digits = 0): number {
  const scale = scaleOf(digits);
  const scaled = value * scale;
  const floor = Math.floor(scaled);
  const tie = scaled - floor === 0.5;
  const whole = tie ? (floor % 2 === 0 ? floor : floor + 1) : Math.round(scaled);
  return whole / scale;
}

/**
 * The SQL of roundHalfEven over an expression `sql` (NULL stays NULL): a tie is where the
 * scaled value's fraction is exactly 0.5; halving it then makes no tie, so round() of the
 * half, doubled, is the even neighbour. `sql` is repeated: keep it a plain expression.
 */
export function roundHalfEvenSql(sql: string, digits = 0): string {
  const scale = `${scaleOf(digits)}.0`;
  const s = `(CAST(${sql} AS DOUBLE) * ${scale})`;
  const whole = `CASE WHEN ${s} - floor(${s}) = 0.5 THEN 2 * round(${s} / 2) ELSE round(${s}) END`;
  return `(${whole} / ${scale})`;
}
