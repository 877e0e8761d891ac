// Python's `datetime.strptime(value, '%Y-%m-%d')`, as seed 004's `GET /stats` reads its `date`:
// what it accepts, and nothing more, written as Tally's own YYYY-MM-DD.

/**
 * CPython's _strptime regex for '%Y-%m-%d', matched from the start, with nothing left over
 * (its "unconverted data remains"): no whitespace is stripped at either end. `\d` is Python's,
 * any Unicode decimal digit (category Nd), in the year and in a day's second digit; the month
 * is ASCII, 1 or 2 digits, and a day may be one digit after a space (`%d`'s ` [1-9]`).
 */
const STRPTIME_DATE =
  /^(\p{Nd}{4})-(1[0-2]|0[1-9]|[1-9])-(3[0-1]|[1-2]\p{Nd}|0[1-9]|[1-9]| [1-9])$/u;

const ND = /^\p{Nd}$/u;

/**
 * The value of a Unicode decimal digit, as Python's `int()` reads it. Unicode encodes each set
 * of decimal digits as ten code points in a row, 0 to 9, so a digit's value is its distance
 * from the start of its run of digits, modulo 10 (a run of several sets, such as the
 * mathematical digits, is still a multiple of ten from its start).
 */
function digitValue(char: string): number {
  let point = char.codePointAt(0) as number;
  let distance = 0;
  while (ND.test(String.fromCodePoint(point - 1))) {
    point -= 1;
    distance += 1;
  }
  return distance % 10;
}

function numberOf(text: string): number {
  let value = 0;
  for (const char of text.replace(' ', '')) value = value * 10 + digitValue(char);
  return value;
}

/**
 * The day `value` names as `strptime(value, '%Y-%m-%d')` reads it, as zero-padded ASCII
 * YYYY-MM-DD, or null where strptime raises: a text its regex does not match whole, or a day
 * datetime refuses (year 0, the 30th of February).
 */
export function strptimeDate(value: string): string | null {
  const match = STRPTIME_DATE.exec(value);
  if (match === null) return null;
  const [year, month, day] = [numberOf(match[1] ?? ''), Number(match[2]), numberOf(match[3] ?? '')];
  if (year < 1) return null;
  const check = new Date(Date.UTC(2000, month - 1, day));
  check.setUTCFullYear(year);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day) return null;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');
  return `${pad(year, 4)}-${pad(month, 2)}-${pad(day, 2)}`;
}
