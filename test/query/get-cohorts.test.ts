import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { type CohortOptions, getCohorts } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const ms = (iso: string) => Date.parse(iso);
const NOW = ms('2027-01-01T00:00:00Z');

/** An event of `who` (its user and visitor id) at `iso`. */
const ev = (who: string, name: string, iso: string, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ user_id: who, visitor_id: who, name, timestamp: ms(iso), ...fields });

const read = (options: Partial<CohortOptions> = {}, tenant = 'acme', signal?: AbortSignal) =>
  getCohorts(
    source,
    tenant,
    {
      startEvent: { name: 'visit' },
      returnEvent: { name: 'visit' },
      kind: 'recurring',
      by: 'visitor',
      period: 'day',
      tz: 'UTC',
      periods: 7,
      nowMs: NOW,
      filters: {},
      ...options,
    },
    signal,
  );

/** `[start, returned]` of each cohort. */
const table = async (options: Partial<CohortOptions> = {}, tenant = 'acme') =>
  (await read(options, tenant)).cohorts.map((c) => {
    expect(c.size).toBe(c.returned[0] as number);
    return [c.start, c.returned] as const;
  });

/** The returned arrays only. */
const counts = async (options: Partial<CohortOptions> = {}, tenant = 'acme') =>
  (await table(options, tenant)).map(([, returned]) => returned);

const MARCH_1_TO_4 = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-05T00:00:00Z') };

describe('getCohorts', () => {
  test('day cohorts: each actor once per later period it came back in', async () => {
    await source.add([
      ev('a', 'visit', '2026-03-01T10:00:00Z'),
      ev('a', 'visit', '2026-03-02T09:00:00Z'),
      ev('a', 'visit', '2026-03-04T23:59:59.999Z'),
      ev('b', 'visit', '2026-03-01T00:00:00Z'),
      ev('b', 'visit', '2026-03-03T12:00:00Z'),
      ev('b', 'visit', '2026-03-03T13:00:00Z'),
      ev('c', 'visit', '2026-03-02T01:00:00Z'),
      ev('c', 'visit', '2026-03-02T02:00:00Z'),
      // d: just before the range and at its end: in no cohort, never counted.
      ev('d', 'visit', '2026-02-28T23:59:59.999Z'),
      ev('d', 'visit', '2026-03-05T00:00:00Z'),
      // Other events are neither start nor return events.
      ev('c', 'login', '2026-03-03T00:00:00Z'),
    ]);
    const result = await read(MARCH_1_TO_4);
    expect(result).toEqual({
      cohorts: [
        { start: '2026-03-01T00:00:00+00:00', size: 2, returned: [2, 1, 1, 1] },
        { start: '2026-03-02T00:00:00+00:00', size: 2, returned: [2, 0, 1] },
        { start: '2026-03-03T00:00:00+00:00', size: 1, returned: [1, 0] },
        { start: '2026-03-04T00:00:00+00:00', size: 1, returned: [1] },
      ],
      fromMs: MARCH_1_TO_4.fromMs,
      toMs: MARCH_1_TO_4.toMs,
    });
    // `periods` bounds how far each cohort is followed, period 0 included.
    expect(await counts({ ...MARCH_1_TO_4, periods: 2 })).toEqual([[2, 1], [2, 0], [1, 0], [1]]);
    expect(await counts({ ...MARCH_1_TO_4, periods: 1 })).toEqual([[2], [2], [1], [1]]);
  });

  test('a return event other than the start event, or any event', async () => {
    await source.add([
      ev('a', 'signup', '2026-03-01T10:00:00Z'),
      // Returning in period 0 is no return: the cohort's own period is its size.
      ev('a', 'purchase', '2026-03-01T11:00:00Z'),
      ev('a', 'login', '2026-03-02T11:00:00Z'),
      ev('a', 'purchase', '2026-03-03T11:00:00Z'),
      ev('b', 'signup', '2026-03-01T10:00:00Z'),
      ev('b', 'signup', '2026-03-02T10:00:00Z'),
      ev('b', 'purchase', '2026-03-02T10:00:00Z'),
      // c only purchases: in no cohort.
      ev('c', 'purchase', '2026-03-02T10:00:00Z'),
    ]);
    const signup = { startEvent: { name: 'signup' }, ...MARCH_1_TO_4 };
    expect(await counts({ ...signup, returnEvent: { name: 'purchase' } })).toEqual([
      [2, 1, 1, 0],
      [1, 0, 0],
      [0, 0],
      [0],
    ]);
    expect(await counts({ ...signup, returnEvent: 'any' })).toEqual([
      [2, 2, 1, 0],
      [1, 0, 0],
      [0, 0],
      [0],
    ]);
    // Any event as the start as well: everyone active in a period is its cohort.
    expect(await counts({ ...MARCH_1_TO_4, startEvent: 'any', returnEvent: 'any' })).toEqual([
      [2, 2, 1, 0],
      [3, 1, 0],
      [1, 0],
      [0],
    ]);
  });

  test('page view names match every page view; a path step, page views of that path', async () => {
    await source.add([
      ev('a', '$pageview', '2026-03-01T10:00:00Z', { path: '/pricing' }),
      ev('a', 'pageview', '2026-03-02T10:00:00Z', { path: '/docs' }),
      ev('b', 'page_view', '2026-03-01T10:00:00Z', { path: '/docs' }),
      ev('b', 'signup', '2026-03-02T10:00:00Z', { path: '/pricing' }),
    ]);
    const views = { startEvent: { name: 'page_view' }, ...MARCH_1_TO_4, periods: 2 };
    expect(await counts({ ...views, returnEvent: { name: 'page' } })).toEqual([
      [2, 1],
      [1, 0],
      [0, 0],
      [0],
    ]);
    expect(await counts({ ...views, returnEvent: { path: '/docs' } })).toEqual([
      [2, 1],
      [1, 0],
      [0, 0],
      [0],
    ]);
    expect(await counts({ ...views, returnEvent: { name: 'signup', path: '/pricing' } })).toEqual([
      [2, 1],
      [1, 0],
      [0, 0],
      [0],
    ]);
    expect(await counts({ ...views, returnEvent: { path: '/pricing' } })).toEqual([
      [2, 0],
      [1, 0],
      [0, 0],
      [0],
    ]);
  });

  test('first: only the period of the first start event ever, even before from', async () => {
    await source.add([
      ev('a', 'visit', '2026-02-20T10:00:00Z', { is_bot: true }),
      ev('a', 'visit', '2026-02-21T10:00:00Z', { os: 'Linux' }),
      ev('a', 'visit', '2026-03-02T10:00:00Z'),
      ev('a', 'visit', '2026-03-03T10:00:00Z'),
      ev('b', 'visit', '2026-03-02T10:00:00Z'),
      ev('b', 'visit', '2026-03-03T10:00:00Z'),
      ev('c', 'visit', '2026-03-03T10:00:00Z'),
      // A return event before the range neither starts nor returns.
      ev('c', 'login', '2026-02-20T10:00:00Z'),
    ]);
    const range = { fromMs: ms('2026-03-02T00:00:00Z'), toMs: ms('2026-03-04T00:00:00Z') };
    expect(await counts(range)).toEqual([[2, 2], [3]]);
    expect(await counts({ ...range, kind: 'first' })).toEqual([[1, 1], [1]]);
    // The filters choose the first event: a's on macOS is on 2 March.
    const macOS = { equals: { os: 'macOS' } };
    expect(await counts({ ...range, kind: 'first', filters: macOS })).toEqual([[2, 2], [1]]);
    // Bots: a's first is on 20 February once they count.
    const bots = { includeBots: true, equals: { os: 'macOS' } };
    expect(await counts({ ...range, kind: 'first', filters: bots })).toEqual([[1, 1], [1]]);
    // Any event as the start: c's first is the login before the range, a's the one on Linux.
    const any = { startEvent: 'any' as const, returnEvent: 'any' as const };
    expect(await counts({ ...range, ...any, kind: 'first' })).toEqual([[1, 1], [0]]);
    expect(await counts({ ...range, ...any })).toEqual([[2, 2], [3]]);
  });

  test('by user: events without a user id are left out; visitors by visitor id', async () => {
    await source.add([
      ev('a', 'visit', '2026-03-01T10:00:00Z', { visitor_id: 'v1' }),
      ev('a', 'visit', '2026-03-02T10:00:00Z', { visitor_id: 'v2' }),
      ev('b', 'visit', '2026-03-01T10:00:00Z', { user_id: null, visitor_id: 'v3' }),
      ev('b', 'visit', '2026-03-02T10:00:00Z', { user_id: null, visitor_id: 'v3' }),
    ]);
    const range = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-03T00:00:00Z') };
    expect(await counts({ ...range, by: 'user' })).toEqual([[1, 1], [1]]);
    expect(await counts({ ...range, by: 'visitor' })).toEqual([[2, 1], [2]]);
  });

  test('by device: the anonymous id across a sign-up, else the visitor', async () => {
    await source.add([
      // A browser visits anonymously, signs up the next day: the visitor changes to the user.
      ev('u1', 'visit', '2026-03-01T10:00:00Z', {
        user_id: null,
        anonymous_id: 'a1',
        visitor_id: 'a1',
      }),
      ev('u1', 'visit', '2026-03-02T10:00:00Z', { anonymous_id: 'a1' }),
      // No anonymous id: the device is the visitor.
      ev('u2', 'visit', '2026-03-01T10:00:00Z'),
      ev('u2', 'visit', '2026-03-02T10:00:00Z'),
    ]);
    const range = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-03T00:00:00Z') };
    expect(await counts({ ...range, by: 'device' })).toEqual([[2, 2], [2]]);
    expect(await counts({ ...range, by: 'visitor' })).toEqual([[2, 1], [2]]);
    expect(await counts({ ...range, by: 'user' })).toEqual([[1, 1], [2]]);
  });

  test('filters and bots apply to start and return events', async () => {
    await source.add([
      ev('a', 'visit', '2026-03-01T10:00:00Z', { source: 'ios' }),
      ev('a', 'visit', '2026-03-02T10:00:00Z', { source: 'web' }),
      ev('b', 'visit', '2026-03-01T10:00:00Z', { source: 'ios', is_bot: true }),
      ev('b', 'visit', '2026-03-02T10:00:00Z', { source: 'ios', is_bot: true }),
      ev('c', 'visit', '2026-03-01T10:00:00Z', { properties: { plan: 'pro' } }),
      ev('c', 'visit', '2026-03-02T10:00:00Z', { properties: { plan: 'pro' } }),
    ]);
    const range = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-03T00:00:00Z') };
    expect(await counts(range)).toEqual([[2, 2], [2]]);
    expect(await counts({ ...range, filters: { includeBots: true } })).toEqual([[3, 3], [3]]);
    expect(await counts({ ...range, filters: { equals: { source: 'ios' } } })).toEqual([
      [1, 0],
      [0],
    ]);
    const ios = { equals: { source: 'ios' }, includeBots: true };
    expect(await counts({ ...range, filters: ios })).toEqual([[2, 1], [1]]);
    const pro = { properties: { plan: 'pro' } };
    expect(await counts({ ...range, filters: pro })).toEqual([[1, 1], [1]]);
  });

  test("another tenant's events never count", async () => {
    await source.add([
      ev('a', 'visit', '2026-03-01T10:00:00Z'),
      ev('a', 'visit', '2026-03-02T10:00:00Z', { tenant: 'globex' }),
      ev('b', 'visit', '2026-03-01T10:00:00Z', { tenant: 'globex' }),
    ]);
    const range = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-03T00:00:00Z') };
    expect(await counts(range)).toEqual([[1, 0], [0]]);
    expect(await counts(range, 'globex')).toEqual([[1, 0], [1]]);
    expect(await counts(range, 'initech')).toEqual([[0, 0], [0]]);
  });

  test('a read whose client went away stops as client_closed', async () => {
    await source.add([ev('a', 'visit', '2026-03-01T10:00:00Z')]);
    const client = new AbortController();
    client.abort();
    await expect(read(MARCH_1_TO_4, 'acme', client.signal)).rejects.toMatchObject({
      status: 499,
      code: 'client_closed',
    });
    expect((await read(MARCH_1_TO_4)).cohorts[0]?.size).toBe(1);
  });

  test('unflushed events count, and the same after the flush', async () => {
    const range = { fromMs: ms('2026-03-01T00:00:00Z'), toMs: ms('2026-03-04T00:00:00Z') };
    await source.add([ev('a', 'visit', '2026-03-01T10:00:00Z')]);
    await source.flush();
    await source.add([ev('a', 'visit', '2026-03-03T10:00:00Z')]);
    const before = await read(range);
    expect(before.cohorts.map((c) => c.returned)).toEqual([[1, 0, 1], [0, 0], [1]]);
    await source.flush();
    expect(await read(range)).toEqual(before);
  });
});

describe('getCohorts periods', () => {
  test('Berlin weeks start on Monday, local midnight, across the change to summer time', async () => {
    await source.add([
      // Monday 23 March 00:00 CET is 22 March 23:00Z.
      ev('b', 'visit', '2026-03-22T23:00:00Z'),
      // Sunday 29 March 23:59:59.999 CEST, the week's last instant (a week of 167 hours)…
      ev('a', 'visit', '2026-03-29T21:59:59.999Z'),
      // …and Monday 30 March 00:00 CEST, the next week's first.
      ev('a', 'visit', '2026-03-29T22:00:00Z'),
    ]);
    const weeks = { period: 'week' as const, periods: 4 };
    expect(
      await table({
        ...weeks,
        tz: 'Europe/Berlin',
        fromMs: ms('2026-03-22T23:00:00Z'),
        toMs: ms('2026-04-05T22:00:00Z'),
      }),
    ).toEqual([
      ['2026-03-23T00:00:00+01:00', [2, 1]],
      ['2026-03-30T00:00:00+02:00', [1]],
    ]);
    // In UTC the same instants fall in other weeks.
    expect(
      await table({ ...weeks, fromMs: ms('2026-03-16T00:00:00Z'), toMs: ms('2026-04-06T00:00Z') }),
    ).toEqual([
      ['2026-03-16T00:00:00+00:00', [1, 0, 0]],
      ['2026-03-23T00:00:00+00:00', [1, 0]],
      ['2026-03-30T00:00:00+00:00', [0]],
    ]);
  });

  test('New York weeks across the change back to standard time', async () => {
    await source.add([
      // Sunday 25 October 23:59 EDT: the week of 19 October.
      ev('d', 'visit', '2026-10-26T03:59:00Z'),
      // Sunday 1 November 23:59:59.999 EST, the last instant of a week of 169 hours…
      ev('c', 'visit', '2026-11-02T04:59:59.999Z'),
      // …and Monday 2 November 00:00 EST.
      ev('c', 'visit', '2026-11-02T05:00:00Z'),
    ]);
    expect(
      await table({
        period: 'week',
        tz: 'America/New_York',
        // Midweek `from` is widened to its Monday; `to` is the end of Sunday 8 November.
        fromMs: ms('2026-10-21T12:00:00-04:00'),
        toMs: ms('2026-11-09T00:00:00-05:00'),
      }),
    ).toEqual([
      ['2026-10-19T00:00:00-04:00', [1, 0, 0]],
      ['2026-10-26T00:00:00-04:00', [1, 1]],
      ['2026-11-02T00:00:00-05:00', [1]],
    ]);
  });

  test('Berlin days of 23 hours', async () => {
    await source.add([
      // 29 March 00:30 CET and 30 March 00:30 CEST: 23 hours apart, on two local days.
      ev('a', 'visit', '2026-03-28T23:30:00Z'),
      ev('a', 'visit', '2026-03-29T22:30:00Z'),
    ]);
    const berlin = {
      tz: 'Europe/Berlin',
      fromMs: ms('2026-03-29T00:00:00+01:00'),
      toMs: ms('2026-03-31T00:00:00+02:00'),
    };
    expect(await table(berlin)).toEqual([
      ['2026-03-29T00:00:00+01:00', [1, 1]],
      ['2026-03-30T00:00:00+02:00', [1]],
    ]);
    const utc = { fromMs: ms('2026-03-28T00:00:00Z'), toMs: ms('2026-03-30T00:00:00Z') };
    expect(await table(utc)).toEqual([
      ['2026-03-28T00:00:00+00:00', [1, 1]],
      ['2026-03-29T00:00:00+00:00', [1]],
    ]);
  });

  test('months of 28 to 31 days, in UTC and New York', async () => {
    await source.add([
      ev('a', 'visit', '2026-01-31T23:59:59.999Z'),
      ev('a', 'visit', '2026-02-28T23:59:59.999Z'),
      ev('a', 'visit', '2026-03-01T00:00:00Z'),
      ev('b', 'visit', '2026-02-01T00:00:00Z'),
      ev('b', 'visit', '2026-04-30T12:00:00Z'),
    ]);
    const months = { period: 'month' as const };
    expect(
      await table({
        ...months,
        fromMs: ms('2026-01-01T00:00:00Z'),
        toMs: ms('2026-05-01T00:00:00Z'),
      }),
    ).toEqual([
      ['2026-01-01T00:00:00+00:00', [1, 1, 1, 0]],
      ['2026-02-01T00:00:00+00:00', [2, 1, 1]],
      ['2026-03-01T00:00:00+00:00', [1, 0]],
      ['2026-04-01T00:00:00+00:00', [1]],
    ]);
    // Five hours behind UTC: 1 March 00:00Z is 28 February there, 1 February 00:00Z 31 January.
    expect(
      await table({
        ...months,
        tz: 'America/New_York',
        fromMs: ms('2026-01-01T00:00:00-05:00'),
        toMs: ms('2026-05-01T00:00:00-04:00'),
      }),
    ).toEqual([
      ['2026-01-01T00:00:00-05:00', [2, 1, 0, 1]],
      ['2026-02-01T00:00:00-05:00', [1, 0, 0]],
      ['2026-03-01T00:00:00-05:00', [0, 0]],
      ['2026-04-01T00:00:00-04:00', [1]],
    ]);
  });

  test('periods read from the events themselves: offsets with seconds, long ranges', async () => {
    await source.add([
      // Monrovia kept −00:44:30 until 1972: its 1 January 1970 began at 00:44:30Z.
      ev('b', 'visit', '1970-01-01T00:44:29.999Z'),
      ev('a', 'visit', '1970-01-01T00:44:30Z'),
      ev('a', 'visit', '1970-01-02T00:44:30Z'),
      // Six years of months: more minutes than the minute → period table is built for.
      ev('c', 'visit', '2020-01-15T10:00:00Z'),
      ev('c', 'visit', '2025-12-31T23:59:59.999Z'),
      ev('d', 'visit', '2023-06-30T23:59:59.999Z'),
      ev('d', 'visit', '2023-07-01T00:00:00Z'),
    ]);
    expect(
      await table({
        tz: 'Africa/Monrovia',
        fromMs: ms('1969-12-31T00:44:30Z'),
        toMs: ms('1970-01-03T00:44:30Z'),
      }),
    ).toEqual([
      ['1969-12-31T00:00:00-00:44:30', [1, 0, 0]],
      ['1970-01-01T00:00:00-00:44:30', [1, 1]],
      ['1970-01-02T00:00:00-00:44:30', [1]],
    ]);
    const months = await read({
      period: 'month',
      periods: 72,
      fromMs: ms('2020-01-01T00:00:00Z'),
      toMs: ms('2026-01-01T00:00:00Z'),
    });
    expect(months.cohorts).toHaveLength(72);
    const first = months.cohorts[0]?.returned ?? [];
    expect([first.length, first[0], first[71], first.slice(1, 71).every((n) => n === 0)]).toEqual([
      72,
      1,
      1,
      true,
    ]);
    expect(months.cohorts[41]).toEqual({
      start: '2023-06-01T00:00:00+00:00',
      size: 1,
      returned: [1, 1, ...Array.from({ length: 29 }, () => 0)],
    });
    expect(months.cohorts[71]).toEqual({
      start: '2025-12-01T00:00:00+00:00',
      size: 1,
      returned: [1],
    });
  });

  test('periods not yet begun are not reported; to defaults to now', async () => {
    const now = ms('2026-03-03T12:00:00Z');
    await source.add([
      ev('a', 'visit', '2026-03-01T10:00:00Z'),
      ev('a', 'visit', '2026-03-03T10:00:00Z'),
      // After now, on the current day: counted only when `to` is past it.
      ev('b', 'visit', '2026-03-01T10:00:00Z'),
      ev('b', 'visit', '2026-03-03T13:00:00Z'),
    ]);
    const fromMs = ms('2026-03-01T00:00:00Z');
    const upToNow = await read({ fromMs, nowMs: now });
    expect(upToNow.cohorts.map((c) => c.returned)).toEqual([[2, 0, 1], [0, 0], [1]]);
    expect([upToNow.fromMs, upToNow.toMs]).toEqual([fromMs, now]);
    // A `to` in the future: the day under way is read to its end, no later day is reported.
    const ahead = await read({ fromMs, toMs: ms('2026-03-10T00:00:00Z'), nowMs: now });
    expect(ahead.cohorts.map((c) => c.returned)).toEqual([[2, 0, 2], [0, 0], [2]]);
    expect(ahead.toMs).toBe(ms('2026-03-04T00:00:00Z'));
    // Without `from`: `periods` periods, the last one under way.
    const recent = await read({ nowMs: now, periods: 2 });
    expect(recent.cohorts.map((c) => [c.start, c.returned])).toEqual([
      ['2026-03-02T00:00:00+00:00', [0, 0]],
      ['2026-03-03T00:00:00+00:00', [1]],
    ]);
    // A range that has not begun holds no cohort and reads nothing.
    expect(await read({ fromMs: ms('2026-03-04T00:00:00Z'), nowMs: now })).toEqual({
      cohorts: [],
      fromMs: ms('2026-03-04T00:00:00Z'),
      toMs: ms('2026-03-04T00:00:00Z'),
    });
  });

  test('more periods than a read may hold is a 422 naming period', async () => {
    const tooLong = read({ fromMs: ms('2025-01-01T00:00:00Z'), toMs: ms('2026-01-03T00:00:00Z') });
    await expect(tooLong).rejects.toMatchObject({
      status: 422,
      issues: [{ loc: ['query', 'period'], type: 'too_long' }],
    });
    // A year of days fits; so do the same dates by week.
    const year = { fromMs: ms('2025-01-01T00:00:00Z'), toMs: ms('2026-01-01T00:00:00Z') };
    expect((await read(year)).cohorts).toHaveLength(365);
    expect((await read({ ...year, period: 'week' })).cohorts).toHaveLength(53);
  });
});
