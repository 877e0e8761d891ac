// web/period.ts: the local days of each period in a zone (New York's evening is the next UTC
// day), the stats query for them, and how counts, durations and days are written.

import { describe, expect, test } from 'bun:test';
import {
  addDays,
  dayIn,
  daysOf,
  formatCompactCount,
  formatCount,
  formatDays,
  formatDuration,
  isDay,
  statsParams,
} from '../../web/period.ts';

/** 22:30 on Nov 24 in New York (EST), 03:30 on Nov 25 in UTC. */
const NOW_MS = Date.parse('2025-11-25T03:30:00Z');
const NY = 'America/New_York';

describe('periods', () => {
  test("the day of an instant is the zone's", () => {
    expect(dayIn(NOW_MS, NY)).toBe('2025-11-24');
    expect(dayIn(NOW_MS, 'UTC')).toBe('2025-11-25');
    expect(dayIn(NOW_MS, 'Asia/Tokyo')).toBe('2025-11-25');
  });

  test('each period in New York, today included in the last 7 and 30 days', () => {
    expect(daysOf('today', NOW_MS, NY)).toEqual({ from: '2025-11-24', to: '2025-11-24' });
    expect(daysOf('yesterday', NOW_MS, NY)).toEqual({ from: '2025-11-23', to: '2025-11-23' });
    expect(daysOf('7d', NOW_MS, NY)).toEqual({ from: '2025-11-18', to: '2025-11-24' });
    expect(daysOf('30d', NOW_MS, NY)).toEqual({ from: '2025-10-26', to: '2025-11-24' });
    expect(daysOf('month', NOW_MS, NY)).toEqual({ from: '2025-11-01', to: '2025-11-24' });
    expect(daysOf('today', NOW_MS, 'UTC')).toEqual({ from: '2025-11-25', to: '2025-11-25' });
  });

  test('yesterday of the 1st of March is the last of February, leap years too', () => {
    const march1 = Date.parse('2024-03-01T12:00:00Z');
    expect(daysOf('yesterday', march1, 'UTC')).toEqual({ from: '2024-02-29', to: '2024-02-29' });
    expect(addDays('2025-03-01', -1)).toBe('2025-02-28');
    expect(addDays('2025-12-31', 1)).toBe('2026-01-01');
  });

  test('a custom range needs two real days in order', () => {
    const custom = (from: string, to: string) => daysOf('custom', NOW_MS, NY, { from, to });
    expect(custom('2025-11-23', '2025-11-24')).toEqual({ from: '2025-11-23', to: '2025-11-24' });
    expect(custom('2025-11-24', '2025-11-24')).toEqual({ from: '2025-11-24', to: '2025-11-24' });
    expect(custom('2025-11-24', '2025-11-23')).toBeNull();
    expect(custom('', '2025-11-23')).toBeNull();
    expect(custom('2025-02-30', '2025-03-01')).toBeNull();
    expect(isDay('2024-02-29')).toBe(true);
    expect(isDay('2025-02-29')).toBe(false);
  });

  test('one day is read as date, several as from/to, always with the zone', () => {
    expect(statsParams({ from: '2025-11-24', to: '2025-11-24' }, NY)).toEqual({
      date: '2025-11-24',
      tz: NY,
    });
    expect(statsParams({ from: '2025-11-18', to: '2025-11-24' }, NY)).toEqual({
      from: '2025-11-18',
      to: '2025-11-24',
      tz: NY,
    });
  });
});

describe('formats', () => {
  test('counts with thousands separators', () => {
    expect(formatCount(0, 'en-US')).toBe('0');
    expect(formatCount(1204, 'en-US')).toBe('1,204');
    expect(formatCount(1234567, 'de-DE')).toBe('1.234.567');
  });

  test('long counts compact, three significant digits, up to 2^53', () => {
    expect(formatCompactCount(1_234_567_890, 'en-US')).toBe('1.23B');
    expect(formatCompactCount(99_999_999_999, 'en-US')).toBe('100B');
    expect(formatCompactCount(Number.MAX_SAFE_INTEGER, 'en-US')).toBe('9010T');
  });

  test('durations as 42s, 1m 05s, 2h 03m 10s; none as a dash', () => {
    expect(formatDuration(null)).toBe('–');
    expect(formatDuration(0)).toBe('0s');
    expect(formatDuration(42.4)).toBe('42s');
    expect(formatDuration(65)).toBe('1m 05s');
    expect(formatDuration(59.6)).toBe('1m 00s');
    expect(formatDuration(2 * 3600 + 3 * 60 + 10)).toBe('2h 03m 10s');
  });

  test('the days of a period as the locale writes them, whatever the zone of the runtime', () => {
    expect(formatDays({ from: '2025-11-24', to: '2025-11-24' }, 'en-US')).toBe('Mon, Nov 24, 2025');
    expect(formatDays({ from: '2025-11-18', to: '2025-11-24' }, 'en-US')).toBe('Nov 18 – 24, 2025');
    expect(formatDays({ from: '2025-12-30', to: '2026-01-05' }, 'en-US')).toBe(
      'Dec 30, 2025 – Jan 5, 2026',
    );
  });
});
