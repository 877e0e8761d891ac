import { describe, expect, test } from 'bun:test';
import { AppError, parseRangeEnd } from '../../src/core/index.ts';
import { COHORT_PERIODS, cohortRange } from '../../src/query/cohort-periods.ts';
import { resolveRange, resolveSeriesRange, resolveTimeZone } from '../../src/query/index.ts';
import {
  BUCKET_UNITS,
  type BucketUnit,
  bucketStart,
  bucketStarts,
  clockHourStarts,
} from '../../src/query/time-buckets.ts';
import {
  formatInZone,
  instantOf,
  localParts,
  offsetMs,
  timeZoneName,
  zoneFormattersKept,
} from '../../src/query/time-zone.ts';

const HOUR = 3_600_000;
const at = (iso: string) => Date.parse(iso);
const labels = (starts: number[], tz: string) => starts.map((s) => formatInZone(s, tz));

function issuesOf(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(AppError);
    return (error as AppError).issues;
  }
  throw new Error('expected a validation error');
}

describe('time zones', () => {
  test('a zone in any case is one zone: read as it spells itself, one formatter kept', () => {
    // Zone names are read case-insensitively; a formatter kept per spelling asked for (~30 KB
    // each, 2^30 spellings of this one) let any reader grow the server's memory without bound.
    const zone = 'America/Argentina/ComodRivadavia';
    const spellings = Array.from({ length: 300 }, (_, k) =>
      [...zone].map((c, i) => ((k >> (i % 9)) & 1 ? c.toUpperCase() : c.toLowerCase())).join(''),
    );
    expect(new Set(spellings).size).toBe(300);
    const kept = zoneFormattersKept();
    for (const spelled of spellings) {
      expect(resolveTimeZone(spelled)).toBe(zone);
      expect(timeZoneName(spelled)).not.toBeNull();
      expect(localParts(0, spelled).hour).toBe(21);
    }
    expect(zoneFormattersKept()).toBeLessThanOrEqual(kept + 1);
    expect(resolveTimeZone('asia/calcutta')).toBe('Asia/Calcutta');
  });

  test('formats instants in ISO 8601 with the offset in force', () => {
    expect(formatInZone(at('2026-03-08T05:00:00Z'), 'America/New_York')).toBe(
      '2026-03-08T00:00:00-05:00',
    );
    expect(formatInZone(at('2026-03-09T04:00:00Z'), 'America/New_York')).toBe(
      '2026-03-09T00:00:00-04:00',
    );
    expect(formatInZone(at('2026-03-08T05:00:00.250Z'), 'UTC')).toBe(
      '2026-03-08T05:00:00.250+00:00',
    );
    expect(formatInZone(at('2026-01-01T00:00:00Z'), 'Asia/Kolkata')).toBe(
      '2026-01-01T05:30:00+05:30',
    );
  });

  test('a local mean time offset is written with its seconds, never as a fraction', () => {
    // New York kept local mean time, -04:56:02, until 18 November 1883.
    expect(formatInZone(at('1800-01-01T12:00:00Z'), 'America/New_York')).toBe(
      '1800-01-01T07:03:58-04:56:02',
    );
  });

  test('resolves local times in DST gaps and overlaps', () => {
    const ny = 'America/New_York';
    expect(offsetMs(at('2026-07-01T12:00:00Z'), ny)).toBe(-4 * HOUR);
    // 01:30 happens twice on 2026-11-01: the earlier (EDT) instant is taken.
    const overlap = { year: 2026, month: 11, day: 1, hour: 1, minute: 30, second: 0 };
    expect(instantOf(overlap, ny)).toBe(at('2026-11-01T05:30:00Z'));
    // Santiago skips midnight on 2026-09-06: the day starts when clocks jump to 01:00.
    const skipped = { year: 2026, month: 9, day: 6, hour: 0, minute: 0, second: 0 };
    expect(formatInZone(instantOf(skipped, 'America/Santiago'), 'America/Santiago')).toBe(
      '2026-09-06T01:00:00-03:00',
    );
  });

  test('a day whose midnight falls inside a gap begins where the gap ends (Toronto 1919)', () => {
    // 1919-03-30 23:30 -05:00 → 00:30 -04:00: the gap began before midnight, so 31 March
    // began at 00:30 (04:30Z), not at 01:00; the half hour between belongs to it.
    const to = 'America/Toronto';
    const day = { year: 1919, month: 3, day: 31, hour: 0, minute: 0, second: 0 };
    expect(formatInZone(instantOf(day, to), to)).toBe('1919-03-31T00:30:00-04:00');
    const early = at('1919-03-31T04:45:00Z'); // 00:45 -04:00
    expect(formatInZone(bucketStart(early, 'day', to), to)).toBe('1919-03-31T00:30:00-04:00');
    expect(labels(bucketStarts(early, at('1919-04-01T05:00:00Z'), 'day', to), to)).toEqual([
      '1919-03-31T00:30:00-04:00',
      '1919-04-01T00:00:00-04:00',
    ]);
    expect(resolveRange({ date: '1919-03-30', tz: to }).toMs).toBe(at('1919-03-31T04:30:00Z'));
  });

  test('accepts IANA zones and refuses anything else', () => {
    for (const tz of ['UTC', 'Europe/Berlin', 'America/Argentina/Buenos_Aires', 'Etc/GMT+5']) {
      expect(timeZoneName(tz)).not.toBeNull();
    }
    for (const tz of ['Mars/Olympus', 'EST5EDT; DROP', '', '+05:00', '../etc']) {
      expect(timeZoneName(tz)).toBeNull();
    }
  });
});

describe('buckets', () => {
  test('New York 2026-03-08 has 23 hourly buckets, 2026-11-01 has 25', () => {
    const ny = 'America/New_York';
    const spring = bucketStarts(at('2026-03-08T05:00:00Z'), at('2026-03-09T04:00:00Z'), 'hour', ny);
    expect(spring).toHaveLength(23);
    expect(labels(spring, ny).slice(0, 3)).toEqual([
      '2026-03-08T00:00:00-05:00',
      '2026-03-08T01:00:00-05:00',
      '2026-03-08T03:00:00-04:00',
    ]);
    const fall = bucketStarts(at('2026-11-01T04:00:00Z'), at('2026-11-02T05:00:00Z'), 'hour', ny);
    expect(fall).toHaveLength(25);
    expect(labels(fall, ny).slice(1, 4)).toEqual([
      '2026-11-01T01:00:00-04:00',
      '2026-11-01T01:00:00-05:00',
      '2026-11-01T02:00:00-05:00',
    ]);
  });

  test('days start at local midnight and last 23 or 25 hours across DST (Berlin)', () => {
    const berlin = 'Europe/Berlin';
    const starts = bucketStarts(
      at('2026-03-28T00:00:00Z'),
      at('2026-03-30T12:00:00Z'),
      'day',
      berlin,
    );
    expect(labels(starts, berlin)).toEqual([
      '2026-03-28T00:00:00+01:00',
      '2026-03-29T00:00:00+01:00',
      '2026-03-30T00:00:00+02:00',
    ]);
    expect((starts[2] as number) - (starts[1] as number)).toBe(23 * HOUR);
    const fall = bucketStarts(
      at('2026-10-24T22:00:00Z'),
      at('2026-10-26T12:00:00Z'),
      'day',
      berlin,
    );
    expect((fall[1] as number) - (fall[0] as number)).toBe(25 * HOUR);
  });

  test('an instant the clock shows as the day before again is in the day that began', () => {
    // St. John's 2010-11-07 00:01 NDT (-02:30, 02:31Z) → 2010-11-06 23:01 NST (-03:30): the
    // 7th began at 02:30Z, and 02:45Z (23:15 on the 6th again) is in its bucket, as
    // bucketStarts' boundaries put it, not a start a day before them.
    const sj = 'America/St_Johns';
    const seventh = at('2010-11-07T02:30:00Z');
    for (const unit of ['day', 'week', 'month'] as const) {
      const first = bucketStarts(at('2010-11-01T12:00:00Z'), at('2010-11-08T12:00:00Z'), unit, sj);
      const holding = first.filter((start) => start <= at('2010-11-07T02:45:00Z')).at(-1);
      expect(bucketStart(at('2010-11-07T02:45:00Z'), unit, sj)).toBe(holding as number);
    }
    expect(bucketStart(at('2010-11-07T02:45:00Z'), 'day', sj)).toBe(seventh);
    expect(bucketStarts(at('2010-11-07T02:45:00Z'), at('2010-11-07T12:00:00Z'), 'day', sj)).toEqual(
      [seventh],
    );
  });

  test('weeks start on Monday, months on the first, in the zone', () => {
    const ny = 'America/New_York';
    // 2026-03-09T03:30Z is Sunday 23:30 in New York: still the week of Monday 2 March.
    expect(formatInZone(bucketStart(at('2026-03-09T03:30:00Z'), 'week', ny), ny)).toBe(
      '2026-03-02T00:00:00-05:00',
    );
    expect(formatInZone(bucketStart(at('2026-03-09T04:30:00Z'), 'week', ny), ny)).toBe(
      '2026-03-09T00:00:00-04:00',
    );
    const months = bucketStarts(
      at('2026-02-15T00:00:00Z'),
      at('2026-04-02T00:00:00Z'),
      'month',
      ny,
    );
    expect(labels(months, ny)).toEqual([
      '2026-02-01T00:00:00-05:00',
      '2026-03-01T00:00:00-05:00',
      '2026-04-01T00:00:00-04:00',
    ]);
  });

  test('minute and hour buckets follow half-hour zones', () => {
    const start = bucketStart(at('2026-01-01T10:10:00Z'), 'hour', 'Asia/Kolkata');
    expect(formatInZone(start, 'Asia/Kolkata')).toBe('2026-01-01T15:00:00+05:30');
    expect(bucketStart(at('2026-01-01T10:10:42Z'), 'minute', 'UTC')).toBe(
      at('2026-01-01T10:10:00Z'),
    );
  });

  test('hours stay on the hour across half-hour offset changes (Lord Howe)', () => {
    const lh = 'Australia/Lord_Howe';
    // 2026-10-04 02:00 +10:30 → 02:30 +11:00: the hour from 01:00 lasts 90 minutes.
    const spring = bucketStarts(at('2026-10-03T13:30:00Z'), at('2026-10-03T18:00:00Z'), 'hour', lh);
    expect(labels(spring, lh)).toEqual([
      '2026-10-04T00:00:00+10:30',
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T03:00:00+11:00',
      '2026-10-04T04:00:00+11:00',
    ]);
    // 2026-04-05 02:00 +11:00 → 01:30 +10:30: the hour from 01:00 lasts 90 minutes too.
    const fall = bucketStarts(at('2026-04-04T13:00:00Z'), at('2026-04-04T18:00:00Z'), 'hour', lh);
    expect(labels(fall, lh)).toEqual([
      '2026-04-05T00:00:00+11:00',
      '2026-04-05T01:00:00+11:00',
      '2026-04-05T02:00:00+10:30',
      '2026-04-05T03:00:00+10:30',
      '2026-04-05T04:00:00+10:30',
    ]);
    // An instant in the repeated half hour belongs to the bucket that began at 01:00 +11:00,
    // whatever range is asked for.
    const repeated = at('2026-04-04T15:15:00Z'); // 01:45 +10:30, the second time
    expect(formatInZone(bucketStart(repeated, 'hour', lh), lh)).toBe('2026-04-05T01:00:00+11:00');
    const from = bucketStarts(repeated, at('2026-04-04T18:00:00Z'), 'hour', lh);
    expect(from[0]).toBe(fall[1]);
  });

  test('hours find the hour again after a change from a whole-minute offset (Kiritimati 1979)', () => {
    const k = 'Pacific/Kiritimati'; // -10:40 until 1979-10-01, then -10:00
    const starts = bucketStarts(at('1979-10-01T09:40:00Z'), at('1979-10-01T13:00:00Z'), 'hour', k);
    expect(labels(starts, k)).toEqual([
      '1979-09-30T23:00:00-10:40',
      '1979-10-01T01:00:00-10:00',
      '1979-10-01T02:00:00-10:00',
    ]);
    expect(bucketStart(at('1979-10-01T10:40:32Z'), 'hour', k)).toBe(starts[0] as number);
  });

  test('hours and minutes find the clock again after a change from an offset with seconds', () => {
    // Monrovia kept −00:44:30 until 1972-01-07 00:00 local (00:44:30Z), then GMT: the clock
    // jumped from 00:00:00 to 00:44:30, so the hour from 23:00 −00:44:30 (23:44:30Z) runs to
    // 01:00 GMT (01:00Z), and every later hour is on the hour: 02:00Z, 03:00Z …
    const m = 'Africa/Monrovia';
    const starts = bucketStarts(at('1972-01-06T22:44:30Z'), at('1972-01-07T03:30:00Z'), 'hour', m);
    expect(labels(starts, m)).toEqual([
      '1972-01-06T22:00:00-00:44:30',
      '1972-01-06T23:00:00-00:44:30',
      '1972-01-07T01:00:00+00:00',
      '1972-01-07T02:00:00+00:00',
      '1972-01-07T03:00:00+00:00',
    ]);
    // The local day 1972-01-07 begins at 00:44:30Z: its first instant is in the hour that
    // began at 23:00 −00:44:30, as from an earlier start.
    expect(bucketStart(at('1972-01-07T00:44:30Z'), 'hour', m)).toBe(starts[1] as number);
    expect(bucketStart(at('1972-01-07T00:59:59Z'), 'hour', m)).toBe(starts[1] as number);
    expect(bucketStarts(at('1972-01-07T00:44:30Z'), at('1972-01-07T02:00:00Z'), 'hour', m)).toEqual(
      starts.slice(1, 3),
    );
    // New York: −04:56:02 until 1883-11-18 17:00Z, when its clocks read 12:03:58 and were set
    // back to 12:00:00 EST: 12:00 is an hour twice (as when DST ends), then 13:00 is 18:00Z.
    const ny = 'America/New_York';
    const noon = bucketStarts(at('1883-11-18T15:56:02Z'), at('1883-11-18T19:30:00Z'), 'hour', ny);
    expect(noon).toEqual([
      at('1883-11-18T15:56:02Z'),
      at('1883-11-18T16:56:02Z'),
      at('1883-11-18T17:00:00Z'),
      at('1883-11-18T18:00:00Z'),
      at('1883-11-18T19:00:00Z'),
    ]);
    expect(labels(noon, ny).slice(1, 4)).toEqual([
      '1883-11-18T12:00:00-04:56:02',
      '1883-11-18T12:00:00-05:00',
      '1883-11-18T13:00:00-05:00',
    ]);
    // Minutes likewise: the minute from 23:59 −00:44:30 (00:43:30Z) runs to 00:45 GMT.
    const minutes = bucketStarts(
      at('1972-01-07T00:42:30Z'),
      at('1972-01-07T00:47:00Z'),
      'minute',
      m,
    );
    expect(labels(minutes, m)).toEqual([
      '1972-01-06T23:58:00-00:44:30',
      '1972-01-06T23:59:00-00:44:30',
      '1972-01-07T00:45:00+00:00',
      '1972-01-07T00:46:00+00:00',
    ]);
    expect(bucketStart(at('1972-01-07T00:44:40Z'), 'minute', m)).toBe(minutes[1] as number);
  });

  test('an instant inside the first second after an offset change finds its bucket', () => {
    // The change is searched for by whole seconds; a range starting at a fraction of a second
    // past it (as `from=…00.500Z` or Umami's startAt can) looped for ever, holding the server.
    // Lord Howe 2026-10-04 02:00 +10:30 → 02:30 +11:00 (15:30Z): 15:30:00.5Z is 02:30:00.5
    // +11:00, in the 90-minute hour that began at 01:00 +10:30 (14:30Z), as 15:30:00Z is.
    const lh = 'Australia/Lord_Howe';
    const justAfter = at('2026-10-03T15:30:00.500Z');
    expect(formatInZone(bucketStart(justAfter, 'hour', lh), lh)).toBe('2026-10-04T01:00:00+10:30');
    expect(bucketStart(justAfter, 'hour', lh)).toBe(
      bucketStart(at('2026-10-03T15:30:00Z'), 'hour', lh),
    );
    expect(labels(bucketStarts(justAfter, at('2026-10-03T17:00:00Z'), 'hour', lh), lh)).toEqual([
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T03:00:00+11:00',
    ]);
    expect(labels(clockHourStarts(justAfter, at('2026-10-03T16:00:00Z'), lh), lh)).toEqual([
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T02:30:00+11:00',
    ]);
    // Caracas 2007-12-09 03:00 −04:00 → 02:30 −04:30 (07:00Z): 07:00:00.001Z is 02:30:00.001
    // −04:30, in the hour that began at 02:00 −04:00 (06:00Z).
    const caracas = 'America/Caracas';
    const start = bucketStart(at('2007-12-09T07:00:00.001Z'), 'hour', caracas);
    expect(formatInZone(start, caracas)).toBe('2007-12-09T02:00:00-04:00');
    // Minutes (Monrovia 1972: −00:44:30 → GMT at 00:44:30Z): 00:44:30.25Z is in the minute
    // that began at 23:59 −00:44:30 (00:43:30Z), as 00:44:30Z is.
    const m = 'Africa/Monrovia';
    const minute = bucketStart(at('1972-01-07T00:44:30.250Z'), 'minute', m);
    expect(formatInZone(minute, m)).toBe('1972-01-06T23:59:00-00:44:30');
  });

  test("clock hours start where the wall clock's hour changes (Plausible's, Umami's hours)", () => {
    const lh = 'Australia/Lord_Howe';
    // 02:00 +10:30 is 02:30 +11:00: 02:30–03:00 is the local hour 2, not the end of hour 1.
    const spring = clockHourStarts(at('2026-10-03T13:30:00Z'), at('2026-10-03T18:00:00Z'), lh);
    expect(labels(spring, lh)).toEqual([
      '2026-10-04T00:00:00+10:30',
      '2026-10-04T01:00:00+10:30',
      '2026-10-04T02:30:00+11:00',
      '2026-10-04T03:00:00+11:00',
      '2026-10-04T04:00:00+11:00',
    ]);
    // Found a whole day after the first start too (the change is at a day's step from it).
    const dayBefore = clockHourStarts(at('2026-10-02T15:30:00Z'), at('2026-10-03T17:00:00Z'), lh);
    expect(dayBefore).toContain(at('2026-10-03T15:30:00Z'));
    expect(dayBefore).toHaveLength(26);
    // Clocks put back stay in the hour they show (01:30 +10:30 is still hour 1): no new start.
    const fall = [at('2026-04-04T13:00:00Z'), at('2026-04-04T18:00:00Z')] as const;
    expect(clockHourStarts(...fall, lh)).toEqual(bucketStarts(...fall, 'hour', lh));
    // Whole-hour changes move the clock from one xx:00 to another: Tally's hours already.
    const ny = [at('2026-03-08T05:00:00Z'), at('2026-03-09T04:00:00Z')] as const;
    const nyStarts = clockHourStarts(...ny, 'America/New_York');
    expect(nyStarts).toEqual(bucketStarts(...ny, 'hour', 'America/New_York'));
    expect(nyStarts).toHaveLength(23);
    // Kiritimati's midnight at -10:40 became 00:40 at -10:00: 00:40–01:00 is hour 0.
    const k = 'Pacific/Kiritimati';
    const kStarts = clockHourStarts(at('1979-10-01T09:40:00Z'), at('1979-10-01T13:00:00Z'), k);
    expect(labels(kStarts, k)).toEqual([
      '1979-09-30T23:00:00-10:40',
      '1979-10-01T00:40:00-10:00',
      '1979-10-01T01:00:00-10:00',
      '1979-10-01T02:00:00-10:00',
    ]);
  });

  test('more than 10,000 buckets is a 422 on bucket', () => {
    const issues = issuesOf(() =>
      bucketStarts(at('2026-01-01T00:00:00Z'), at('2026-01-08T00:00:00Z'), 'minute', 'UTC'),
    );
    expect(issues).toEqual([
      {
        loc: ['query', 'bucket'],
        msg: 'the range holds more than 10000 minute buckets; use a larger bucket or a shorter range',
        type: 'too_long',
      },
    ]);
    expect(
      bucketStarts(at('2026-01-01T00:00:00Z'), at('2026-01-07T22:40:00Z'), 'minute', 'UTC'),
    ).toHaveLength(10_000);
  });
});

describe('ranges', () => {
  test('a date is the whole local day in tz', () => {
    // Apia skipped 2011-12-30 (UTC-10 to UTC+14): the day is empty, however it is asked for.
    const apia = at('2011-12-30T10:00:00Z');
    const skipped = { fromMs: apia, toMs: apia, tz: 'Pacific/Apia' };
    expect(resolveRange({ date: '2011-12-30', tz: 'Pacific/Apia' })).toEqual(skipped);
    expect(resolveRange({ from: '2011-12-30', to: '2011-12-30', tz: 'Pacific/Apia' })).toEqual(
      skipped,
    );
    // It holds no bucket of any size, as no cohort period: not the week or month around it.
    for (const unit of BUCKET_UNITS)
      expect(bucketStarts(apia, apia, unit, 'Pacific/Apia')).toEqual([]);
    for (const period of COHORT_PERIODS) {
      const periods = { fromMs: apia, toMs: apia, nowMs: apia + 9 * 24 * HOUR, period, periods: 7 };
      expect(cohortRange({ ...periods, tz: 'Pacific/Apia' }).starts).toEqual([]);
    }
    // A `from` later today with no `to` is no empty range: today's period has begun.
    const morning = at('2026-10-20T18:00:00Z'); // 05:00 on the 21st at Lord Howe
    const evening = at('2026-10-21T09:59:59.999Z'); // 20:59 the same day
    const today = { fromMs: evening, nowMs: morning, period: 'day' as const, periods: 8 };
    expect(cohortRange({ ...today, tz: 'Australia/Lord_Howe' }).starts).toEqual([
      at('2026-10-20T13:00:00Z'),
    ]);
    expect(resolveRange({ date: '2026-03-08', tz: 'America/New_York' })).toEqual({
      fromMs: at('2026-03-08T05:00:00Z'),
      toMs: at('2026-03-09T04:00:00Z'),
      tz: 'America/New_York',
    });
    expect(resolveRange({ date: '2026-11-01' })).toEqual({
      fromMs: at('2026-11-01T00:00:00Z'),
      toMs: at('2026-11-02T00:00:00Z'),
      tz: 'UTC',
    });
  });

  test('from/to take ISO 8601 with an offset, epoch ms, or dates (to includes its day)', () => {
    const range = resolveRange({ from: '2026-03-08T00:00:00-05:00', to: '2026-03-09' });
    expect(range).toEqual({
      fromMs: at('2026-03-08T05:00:00Z'),
      toMs: at('2026-03-10T00:00:00Z'),
      tz: 'UTC',
    });
    expect(resolveRange({ from: String(at('2026-03-08T00:00:00Z')) }).fromMs).toBe(
      at('2026-03-08T00:00:00Z'),
    );
    // Before 1970 too, as events take negative epoch ms.
    expect(resolveRange({ from: '-86400000', to: '0' })).toEqual({
      fromMs: -86_400_000,
      toMs: 0,
      tz: 'UTC',
    });
  });

  test('an end inside a millisecond is the next one, by the same rule as parseRangeEnd', () => {
    // The seed APIs read their range ends with parseRangeEnd; these reads with resolveRange:
    // one rule, so a range means the same events in either.
    const ends = [
      '2026-11-20T00:00:00Z',
      '2026-11-20T00:00:00.0005Z',
      '2026-11-20T00:00:00.000999+02:00',
      '2026-11-20T00:00:00.123000000Z',
      '1969-12-31T23:59:59.9999Z',
      '9999-12-31T23:59:59.9999Z',
      '1764072000000.5',
      '-1.25',
      '1764072000000',
    ];
    for (const end of ends) {
      const expected = parseRangeEnd(Number.isNaN(Number(end)) ? end : Number(end));
      if (!expected.ok) throw new Error(`${end} parses`);
      expect({ end, ms: resolveRange({ from: end }).fromMs }).toEqual({ end, ms: expected.ms });
      expect({ end, ms: resolveRange({ to: end }).toMs }).toEqual({ end, ms: expected.ms });
    }
  });

  test('bad zones, dates, timestamps and orders are 422s naming the parameter', () => {
    expect(issuesOf(() => resolveRange({ tz: 'Mars/Olympus' }))).toEqual([
      {
        loc: ['query', 'tz'],
        msg: 'tz must be an IANA time zone such as Europe/Berlin or America/New_York (got "Mars/Olympus")',
        type: 'time_zone',
      },
    ]);
    expect(issuesOf(() => resolveRange({ date: '2026-02-30' }))).toMatchObject([
      { loc: ['query', 'date'], type: 'date_parsing' },
    ]);
    // Epoch digits before year 0000 (or past 9999) are no other format: the message says so.
    expect(issuesOf(() => resolveRange({ from: '-62167219200001', to: '1e3' }))).toMatchObject([
      { loc: ['query', 'from'], msg: 'from must be epoch milliseconds from year 0000 to 9999' },
      { loc: ['query', 'to'], msg: expect.stringContaining('to must be YYYY-MM-DD') },
    ]);
    // Past 15 digits too (10^16 ms is the year 318857), not only just past the range's end.
    expect(
      issuesOf(() => resolveRange({ from: '253402300800000', to: '10000000000000000' })),
    ).toMatchObject([
      { loc: ['query', 'from'], msg: 'from must be epoch milliseconds from year 0000 to 9999' },
      { loc: ['query', 'to'], msg: 'to must be epoch milliseconds from year 0000 to 9999' },
    ]);
    expect(issuesOf(() => resolveRange({ from: '2026-03-08T00:00:00', to: 'soon' }))).toMatchObject(
      [
        { loc: ['query', 'from'], type: 'datetime_parsing' },
        { loc: ['query', 'to'], type: 'datetime_parsing' },
      ],
    );
    expect(
      issuesOf(() => resolveRange({ from: '2026-03-09', to: '2026-03-08T00:00:00Z' })),
    ).toMatchObject([{ loc: ['query', 'to'], msg: 'to must be later than from' }]);
    // In order, but inside one millisecond: both stand for the next one, no whole millisecond.
    for (const [from, to] of [
      ['2026-03-08T00:00:00.0001Z', '2026-03-08T00:00:00.0009Z'],
      ['2026-03-08T00:00:00.0005Z', '2026-03-08T00:00:00.001Z'],
      ['1764072000000.2', '1764072000000.7'],
    ]) {
      expect(issuesOf(() => resolveRange({ from, to }))).toEqual([
        {
          loc: ['query', 'to'],
          msg: expect.stringContaining('to must be later than from by a whole millisecond'),
          type: 'value_error',
        },
      ]);
    }
    // One whole millisecond is a range.
    expect(
      resolveRange({ from: '2026-03-08T00:00:00.0005Z', to: '2026-03-08T00:00:00.0015Z' }),
    ).toEqual({
      fromMs: at('2026-03-08T00:00:00.001Z'),
      toMs: at('2026-03-08T00:00:00.002Z'),
      tz: 'UTC',
    });
    expect(issuesOf(() => resolveRange({ date: '2026-03-08', from: '2026-03-01' }))).toMatchObject([
      { loc: ['query', 'date'] },
    ]);
  });

  test('a default span counts calendar days and months in tz (DST, leap years)', () => {
    const now = at('2026-11-26T12:00:00Z');
    const from = (params: Parameters<typeof resolveSeriesRange>[0], bucket: BucketUnit) =>
      formatInZone(resolveSeriesRange(params, bucket, now).fromMs, params.tz ?? 'UTC');
    const ny = 'America/New_York';
    // 30 days before 27 November's midnight is 28 October's, though 2 November was 25 hours.
    expect(from({ to: '2026-11-26', tz: ny }, 'day')).toBe('2026-10-28T00:00:00-04:00');
    expect(from({ to: '2026-11-26', tz: ny }, 'week')).toBe('2026-09-04T00:00:00-04:00');
    expect(from({ to: '2026-11-01', tz: ny }, 'hour')).toBe('2026-11-01T00:00:00-04:00');
    // 2024 has 366 days: its months begin on 1 January, not 2 January.
    expect(from({ to: '2024-12-31' }, 'month')).toBe('2024-01-01T00:00:00+00:00');
    expect(from({ to: '2028-02-29T10:00:00.250Z' }, 'month')).toBe('2027-02-28T10:00:00.250+00:00');
    expect(from({ to: '2026-10-04', tz: 'Australia/Lord_Howe' }, 'hour')).toBe(
      '2026-10-04T00:00:00+10:30',
    );
    // A day back into a day the zone skipped falls back to 24 hours.
    const apia = resolveSeriesRange({ to: '2011-12-30', tz: 'Pacific/Apia' }, 'hour', now);
    expect(apia.toMs - apia.fromMs).toBe(24 * HOUR);
  });

  test('a bucketed range defaults to a span before now', () => {
    const now = at('2026-03-08T12:34:00Z');
    expect(resolveSeriesRange({}, 'hour', now)).toEqual({
      fromMs: now - 24 * HOUR,
      toMs: now,
      tz: 'UTC',
    });
    expect(resolveSeriesRange({ to: '2026-03-08T00:00:00Z' }, 'minute', now)).toEqual({
      fromMs: at('2026-03-07T23:00:00Z'),
      toMs: at('2026-03-08T00:00:00Z'),
      tz: 'UTC',
    });
  });
});

describe('formatInZone at the edges of four-digit years', () => {
  test('years before 0000 and past 9999 in ISO 8601 expanded form', () => {
    expect(formatInZone(Date.UTC(-1, 1, 1), 'UTC')).toBe('-000001-02-01T00:00:00+00:00');
    const yearZero = new Date(0).setUTCFullYear(0, 1, 1); // Date.UTC reads 0 as 1900
    expect(formatInZone(yearZero, 'UTC').slice(0, 10)).toBe('0000-02-01');
    expect(formatInZone(Date.UTC(10_000, 0, 1), 'UTC')).toBe('+010000-01-01T00:00:00+00:00');
  });
});
