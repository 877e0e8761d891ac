// strptimeDate: seed 004's `date` read as Python's datetime.strptime(date, '%Y-%m-%d') reads it.
// The expected values are CPython 3.11's own: the day it returns, or null where it raises.

import { describe, expect, test } from 'bun:test';
import { strptimeDate } from '../../src/http/compat/strptime-date.ts';

describe('strptimeDate', () => {
  test("what strptime accepts, as Tally's YYYY-MM-DD", () => {
    const accepted: [string, string][] = [
      ['2025-11-05', '2025-11-05'],
      ['2025-11-5', '2025-11-05'],
      ['2025-1-05', '2025-01-05'],
      ['2025-1-1', '2025-01-01'],
      // %d's own ` [1-9]`: a one-digit day after a space.
      ['2025-11- 5', '2025-11-05'],
      // Python's \d is any Unicode decimal digit: in the year, and a day's second digit.
      ['2025-11-1٥', '2025-11-15'],
      ['٢٠٢٥-11-05', '2025-11-05'],
      ['\u{1D7D0}\u{1D7CE}\u{1D7D0}\u{1D7D3}-11-05', '2025-11-05'],
      ['0001-01-01', '0001-01-01'],
      ['9999-12-31', '9999-12-31'],
      ['2024-02-29', '2024-02-29'],
    ];
    for (const [text, day] of accepted) expect([text, strptimeDate(text)]).toEqual([text, day]);
  });

  test('what strptime raises on: no whitespace stripped, no other widths, no impossible day', () => {
    const refused = [
      '2025-11-05 ',
      ' 2025-11-05',
      '2025-11-05\n',
      '\t2025-11-5',
      '2025-00-05',
      '2025-13-05',
      '2025-02-29',
      '2025-04-31',
      '0000-01-01',
      '25-11-05',
      '+2025-11-05',
      '2025-011-05',
      '2025-11-005',
      '2025-١١-05',
      '2025-11-٥',
      '2025-11- 05',
      '2025- 1-05',
      '2025-11-0',
      '2025-11-32',
      '2025-11-5T00:00',
      '20251105',
      '2025/11/05',
      '',
    ];
    for (const text of refused) expect([text, strptimeDate(text)]).toEqual([text, null]);
  });
});
