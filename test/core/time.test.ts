import { describe, expect, test } from 'bun:test';
import { DAY_MS, parseRangeEnd, parseTimestamp, utcDay } from '../../src/core/index.ts';

describe('parseTimestamp', () => {
  test.each([
    ['2026-01-31T12:00:00Z', Date.UTC(2026, 0, 31, 12)],
    ['2026-01-31T12:00:00.123Z', Date.UTC(2026, 0, 31, 12, 0, 0, 123)],
    ['2026-01-31T12:00:00.123000000+00:00', Date.UTC(2026, 0, 31, 12, 0, 0, 123)],
    ['2026-01-31T14:30:00+02:30', Date.UTC(2026, 0, 31, 12)],
    ['2026-01-31T07:00:00-0500', Date.UTC(2026, 0, 31, 12)],
    // An offset with seconds, as reads write local mean time (New York's until 1883).
    ['1880-01-01T00:00:00-04:56:02', Date.UTC(1880, 0, 1, 4, 56, 2)],
    ['1880-01-01T00:00:00.250+05:53:28', Date.UTC(1879, 11, 31, 18, 6, 32, 250)],
    ['2026-01-31 12:00Z', Date.UTC(2026, 0, 31, 12)],
    // RFC 3339 §5.6: T and Z may be lower case, and one was taken without the other.
    ['2026-01-31t12:00:00z', Date.UTC(2026, 0, 31, 12)],
    ['2026-01-31t14:00:00+02:00', Date.UTC(2026, 0, 31, 12)],
    [1_769_860_800_000, 1_769_860_800_000],
    // Any past time: before 1970, and years under 100 taken as they are (not as 19xx).
    ['1969-07-20T20:17:00Z', Date.UTC(1969, 6, 20, 20, 17)],
    ['0044-03-15T12:00:00Z', new Date('0044-03-15T12:00:00Z').getTime()],
    ['0000-01-01T00:00:00Z', -62_167_219_200_000],
    [-14_182_940_000, -14_182_940_000],
  ])('%p is %p', (input, expected) => {
    expect(parseTimestamp(input)).toEqual({ ok: true, ms: expected });
  });

  test.each([
    ['2026-01-31T12:00:00', 'zone offset'],
    ['2026-02-30T12:00:00Z', 'calendar'],
    ['2026-01-31T25:00:00Z', 'calendar'],
    ['yesterday', 'ISO 8601'],
    ['2026-01-31T12:00:00+25:00', 'offset'],
    ['2026-01-31T12:00:00+05:30:60', 'offset'],
    ['2026-01-31T12:00:00+05:30:5', 'ISO 8601'],
  ])('%p is refused (%s)', (input, fragment) => {
    const result = parseTimestamp(input);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.msg).toContain(fragment);
  });

  test('digits past the millisecond: the whole millisecond, and how far into it', () => {
    const ms = Date.UTC(2026, 0, 31, 12, 0, 0, 123);
    expect(parseTimestamp('2026-01-31T12:00:00.123456+00:00')).toEqual({
      ok: true,
      ms,
      subMs: 0.456,
    });
    expect(parseTimestamp('2026-01-31T12:00:00,123000001Z')).toEqual({
      ok: true,
      ms,
      subMs: 0.000001,
    });
    // Before 1970 too, the fraction is past the whole millisecond (later in time).
    const old = parseTimestamp('1969-12-31T23:59:59.9995Z');
    expect(old).toEqual({ ok: true, ms: -1, subMs: 0.5 });
  });

  test('a range end inside a millisecond is the next one; a whole one is itself', () => {
    const ms = Date.UTC(2026, 10, 20);
    expect(parseRangeEnd('2026-11-20T00:00:00.0005Z')).toEqual({ ok: true, ms: ms + 1 });
    expect(parseRangeEnd('2026-11-20T00:00:00.000999Z')).toEqual({ ok: true, ms: ms + 1 });
    expect(parseRangeEnd('2026-11-20T00:00:00.000000Z')).toEqual({ ok: true, ms });
    expect(parseRangeEnd(ms)).toEqual({ ok: true, ms });
    expect(parseRangeEnd('9999-12-31T23:59:59.9999Z')).toEqual({
      ok: true,
      ms: 253_402_300_800_000,
    });
    expect(parseRangeEnd('yesterday').ok).toBe(false);
  });

  test('epoch values are milliseconds in range; a fraction is inside the millisecond', () => {
    // Python's time.time() * 1000: the whole millisecond before, as ISO digits past one.
    expect(parseTimestamp(1_764_072_000_000.5)).toEqual({
      ok: true,
      ms: 1_764_072_000_000,
      subMs: 0.5,
    });
    expect(parseTimestamp(-1.25)).toEqual({ ok: true, ms: -2, subMs: 0.75 });
    expect(parseRangeEnd(1_764_072_000_000.5)).toEqual({ ok: true, ms: 1_764_072_000_001 });
    expect(parseTimestamp(-62_167_219_200_001).ok).toBe(false); // before year 0000
    expect(parseTimestamp(253_402_300_800_000).ok).toBe(false); // after year 9999
    expect(parseTimestamp(Number.NaN).ok).toBe(false);
  });

  test('an ISO time out of range in UTC is refused in its own terms, not as epoch milliseconds', () => {
    expect(parseTimestamp('0000-01-01T00:30:00+01:00')).toEqual({
      ok: false,
      msg: 'timestamp 0000-01-01T00:30:00+01:00 is outside years 0000 to 9999 in UTC',
    });
    expect(parseTimestamp('9999-12-31T23:30:00-01:00').ok).toBe(false);
    expect(parseTimestamp('0000-01-01T00:30:00+00:30')).toEqual({
      ok: true,
      ms: -62_167_219_200_000,
    });
  });
});

describe('utcDay', () => {
  test('is the UTC calendar day (daily salts and segment days are named by it)', () => {
    const d0 = Date.UTC(2024, 2, 10);
    expect(utcDay(d0)).toBe('2024-03-10');
    expect(utcDay(d0 - 1)).toBe('2024-03-09');
    expect(utcDay(d0 + DAY_MS - 1)).toBe('2024-03-10');
  });
});
