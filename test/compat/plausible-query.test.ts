// Plausible's Stats API v2 (POST /api/v2/query) over events sent through Plausible's Events
// API, in open mode: an aggregate with the query echoed, date ranges (keywords, dates,
// date-times, Tally's tz), a breakdown per dimension family, time dimensions with their
// labels, nested filters, ordering and paging, percentage and conversion rates, and
// Plausible's 400s naming the field. Required mode is in plausible-stats-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { VISIT_PROPERTIES, WEB_METRICS } from '../../src/query/index.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { beacon, NOW, seedSite } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
  await seedSite(t);
});
afterEach(() => t.close());

const post = async (query: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...query });
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (query: Json) => {
  const { status, body } = await post(query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as {
    results: { metrics: unknown[]; dimensions: string[] }[];
    meta: Json;
    query: Json;
  };
};
/** The rows as [dimensions…, metrics…]. */
const rows = async (query: Json) =>
  (await ok(query)).results.map((r) => [...r.dimensions, ...r.metrics]);
const refused = async (query: Json) => {
  const { status, body } = await post(query);
  expect(status, JSON.stringify(body)).toBe(400);
  return body.error;
};

const TWO_DAYS = ['2026-11-24', '2026-11-25'];
/**
 * v1's metrics, in v1's order, but the time on page and the scroll depth (they need pages:
 * time-on-page and engagement tests).
 */
const ALL = WEB_METRICS.filter((m) => m !== 'time_on_page' && m !== 'scroll_depth');

describe('POST /api/v2/query', () => {
  test('an aggregate: one row of every metric, the query echoed as Plausible runs it', async () => {
    expect(await ok({ metrics: ALL, date_range: ['2026-11-24', '2026-11-24'] })).toEqual({
      results: [{ metrics: [2, 2, 3, 1.5, 50, 150, 4], dimensions: [] }],
      meta: {},
      query: {
        site_id: 'example.com',
        metrics: ALL,
        date_range: ['2026-11-24T00:00:00+00:00', '2026-11-24T23:59:59+00:00'],
        filters: [],
        dimensions: [],
        order_by: [['visitors', 'desc']],
        include: {},
        pagination: { limit: 10_000, offset: 0 },
      },
    });
  });

  test('date ranges: keywords relative to today, dates, date-times with offsets', async () => {
    const visitors = async (date_range: unknown) =>
      (await ok({ metrics: ['visitors'], date_range })).results[0]?.metrics[0];
    expect(await visitors('day')).toBe(2); // today: C and D
    expect(await visitors('7d')).toBe(2); // the 7 days before today: A and B
    expect(await visitors('28d')).toBe(2);
    expect(await visitors('30d')).toBe(2);
    expect(await visitors('month')).toBe(4);
    expect(await visitors('6mo')).toBe(0); // the 6 months before this one
    expect(await visitors('12mo')).toBe(0);
    expect(await visitors('year')).toBe(4);
    expect(await visitors('all')).toBe(4);
    expect(await visitors(TWO_DAYS)).toBe(4);
    // A date-time range: 10:00 to 10:59:59 UTC is A's visit alone.
    expect(
      await rows({
        metrics: ['visitors', 'events'],
        date_range: ['2026-11-24T12:00:00+02:00', '2026-11-24T12:59:59+02:00'],
      }),
    ).toEqual([[1, 3]]);
    const echoed = async (date_range: unknown) =>
      (await ok({ metrics: ['visitors'], date_range })).query.date_range;
    expect(await echoed('7d')).toEqual(['2026-11-18T00:00:00+00:00', '2026-11-24T23:59:59+00:00']);
    // Plausible reads <n> with Elixir's Integer.parse: leading zeros are taken.
    expect(await echoed('07d')).toEqual(await echoed('7d'));
    expect(await echoed('006mo')).toEqual(await echoed('6mo'));
    expect(await echoed('all')).toEqual(['2026-11-24T00:00:00+00:00', '2026-11-25T23:59:59+00:00']);
    expect(await echoed(['2026-11-24T12:00:00+02:00', '2026-11-24T12:59:59+02:00'])).toEqual([
      '2026-11-24T10:00:00+00:00',
      '2026-11-24T10:59:59+00:00',
    ]);
  });

  test('tz (Tally only): the days of that zone, echoed with its offset', async () => {
    // At UTC+14 the 25th runs from A's 10:00 UTC on the 24th to 10:00 UTC on the 25th.
    const answer = await ok({
      metrics: ['visitors'],
      date_range: ['2026-11-25', '2026-11-25'],
      tz: 'Pacific/Kiritimati',
    });
    expect(answer.results).toEqual([{ metrics: [3], dimensions: [] }]);
    expect(answer.query.date_range).toEqual([
      '2026-11-25T00:00:00+14:00',
      '2026-11-25T23:59:59+14:00',
    ]);
  });
});

describe('dimensions', () => {
  const by = (dimension: string, metrics: string[]) =>
    rows({ metrics, date_range: TWO_DAYS, dimensions: [dimension] });

  test('event dimensions: pages, names, goals, custom properties', async () => {
    expect(await by('event:page', ['visitors', 'pageviews'])).toEqual([
      ['/', 2, 2],
      ['/blog/hello', 1, 1],
      ['/blog/other', 1, 1],
      ['/pricing', 1, 1],
    ]);
    expect(await by('event:name', ['visitors', 'events'])).toEqual([
      ['pageview', 4, 5],
      ['Signup', 1, 1],
    ]);
    expect(await by('event:goal', ['visitors', 'events', 'conversion_rate'])).toEqual([
      ['Signup', 1, 1, 25],
    ]);
    expect(await by('event:props:plan', ['events'])).toEqual([
      ['(none)', 5],
      ['pro', 1],
    ]);
  });

  test('visit dimensions: sources, referrers, pages, campaigns (not set), devices', async () => {
    expect(await by('visit:source', ['visitors', 'bounce_rate'])).toEqual([
      ['Direct / None', 1, 100],
      ['Google', 1, 0],
      ['Hacker News', 1, 100],
      ['newsletter', 1, 100],
    ]);
    expect(await by('visit:referrer', ['visitors'])).toEqual([
      ['Direct / None', 2],
      ['google.com/search', 1],
      ['news.ycombinator.com', 1],
    ]);
    expect(await by('visit:entry_page', ['visits'])).toEqual([
      ['/', 2],
      ['/blog/other', 1],
      ['/pricing', 1],
    ]);
    expect(await by('visit:exit_page', ['visits', 'visit_duration'])).toEqual([
      ['/', 1, 0],
      ['/blog/hello', 1, 300],
      ['/blog/other', 1, 0],
      ['/pricing', 1, 0],
    ]);
    // Visits without a tag are listed, as v2 lists them (v1 leaves them out).
    expect(await by('visit:utm_medium', ['visitors'])).toEqual([
      ['(not set)', 3],
      ['email', 1],
    ]);
    expect(await by('visit:utm_source', ['visitors'])).toEqual([
      ['(not set)', 3],
      ['newsletter', 1],
    ]);
    expect(await by('visit:device', ['visitors', 'percentage'])).toEqual([
      ['Desktop', 3, 75],
      ['Mobile', 1, 25],
    ]);
    expect(await by('visit:browser', ['visitors'])).toEqual([
      ['Chrome', 3],
      ['Safari', 1],
    ]);
    expect(await by('visit:os', ['visitors'])).toEqual([
      ['Windows', 3],
      ['iOS', 1],
    ]);
  });
});

test("v2's dimensions are v1's properties: every visit property v1 knows groups and filters", async () => {
  for (const property of VISIT_PROPERTIES) {
    const name = `visit:${property}`;
    const { status, body } = await post({
      metrics: ['visitors'],
      date_range: TWO_DAYS,
      dimensions: [name],
      filters: [['is_not', name, ['--']]],
    });
    expect(status, `${name}: ${JSON.stringify(body)}`).toBe(200);
  }
});

describe('several dimensions at once', () => {
  test('two visit properties: one row per combination of values', async () => {
    // Plausible's own example: campaign medium and source.
    expect(
      await rows({
        metrics: ['visitors', 'events', 'pageviews'],
        date_range: TWO_DAYS,
        dimensions: ['visit:utm_medium', 'visit:utm_source'],
      }),
    ).toEqual([
      ['(not set)', '(not set)', 3, 5, 4],
      ['email', 'newsletter', 1, 1, 1],
    ]);
  });

  test('a property and the time, in the order asked, ranked by time then visitors', async () => {
    const answer = await ok({
      metrics: ['visitors'],
      date_range: TWO_DAYS,
      dimensions: ['visit:source', 'time:day'],
      include: { time_labels: true },
    });
    expect(answer.results.map((r) => [...r.dimensions, ...r.metrics])).toEqual([
      ['Google', '2026-11-24', 1],
      ['newsletter', '2026-11-24', 1],
      ['Direct / None', '2026-11-25', 1],
      ['Hacker News', '2026-11-25', 1],
    ]);
    expect(answer.meta.time_labels).toEqual(TWO_DAYS);
    expect(answer.query.order_by).toEqual([
      ['time:day', 'asc'],
      ['visitors', 'desc'],
    ]);
  });

  test('an event and a visit property, paged with total_rows; a goal with the rates', async () => {
    const page = await ok({
      metrics: ['visitors', 'visits'],
      date_range: TWO_DAYS,
      dimensions: ['event:page', 'visit:device'],
      pagination: { limit: 2, offset: 1 },
      include: { total_rows: true },
    });
    expect(page.results).toEqual([
      { metrics: [1, 1], dimensions: ['/', 'Mobile'] },
      { metrics: [1, 1], dimensions: ['/blog/hello', 'Desktop'] },
    ]);
    expect(page.meta).toEqual({ total_rows: 5 });
    expect(
      await rows({
        metrics: ['visitors', 'conversion_rate', 'group_conversion_rate'],
        date_range: TWO_DAYS,
        dimensions: ['visit:source', 'event:goal'],
        filters: [['is', 'event:goal', ['Signup']]],
        order_by: [['conversion_rate', 'desc']],
      }),
    ).toEqual([['Google', 'Signup', 1, 25, 100]]);
  });
});

describe('time dimensions', () => {
  test('time:day with include.time_labels: rows of the days with data, labels of every day', async () => {
    const answer = await ok({
      metrics: ['visitors', 'pageviews'],
      date_range: ['2026-11-23', '2026-11-25'],
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(answer.results).toEqual([
      { metrics: [2, 3], dimensions: ['2026-11-24'] },
      { metrics: [2, 2], dimensions: ['2026-11-25'] },
    ]);
    expect(answer.meta).toEqual({ time_labels: ['2026-11-23', '2026-11-24', '2026-11-25'] });
    expect(answer.query.order_by).toEqual([
      ['time:day', 'asc'],
      ['visitors', 'desc'],
    ]);
    expect(answer.query.include).toEqual({ time_labels: true });
  });

  test('`time` is hours for a day, days for a month, weeks for a year', async () => {
    const day = await ok({
      metrics: ['visitors'],
      date_range: 'day',
      dimensions: ['time'],
      include: { time_labels: true },
    });
    expect(day.results).toEqual([
      { metrics: [1], dimensions: ['2026-11-25 09:00:00'] },
      { metrics: [1], dimensions: ['2026-11-25 11:00:00'] },
    ]);
    expect(day.meta.time_labels).toHaveLength(24);
    expect((day.meta.time_labels as string[])[0]).toBe('2026-11-25 00:00:00');
    expect(day.query.dimensions).toEqual(['time:hour']);
    const month = await ok({ metrics: ['visitors'], date_range: 'month', dimensions: ['time'] });
    expect(month.query.dimensions).toEqual(['time:day']);
    const year = await ok({ metrics: ['visitors'], date_range: 'year', dimensions: ['time'] });
    expect(year.query.dimensions).toEqual(['time:week']);
    // Whole hours count, as Plausible's DateTime.diff: 48:59:59 (two days with the clocks put
    // back, or two date-times) is 48 hours, still hours.
    const unit = async (date_range: unknown, tz = 'UTC') =>
      (await ok({ metrics: ['visitors'], date_range, dimensions: ['time'], tz })).query.dimensions;
    expect(await unit(['2026-10-24', '2026-10-25'], 'Europe/Berlin')).toEqual(['time:hour']);
    expect(await unit(['2026-11-23T00:00:00Z', '2026-11-25T00:59:59Z'])).toEqual(['time:hour']);
    expect(await unit(['2026-11-23T00:00:00Z', '2026-11-25T01:00:00Z'])).toEqual(['time:day']);
    // Days up to 40 whole days (41 dates), weeks up to 52 whole weeks, else months.
    expect(await unit(['2026-10-01', '2026-11-10'])).toEqual(['time:day']);
    expect(await unit(['2026-10-01', '2026-11-11'])).toEqual(['time:week']);
    expect(await unit(['2025-11-26', '2026-11-25'])).toEqual(['time:week']);
    expect(await unit(['2025-11-18', '2026-11-25'])).toEqual(['time:month']);
  });

  test('an hour the clocks put back is one row and one label, as local hours', async () => {
    // 00:30 and 01:30 UTC on 2026-10-25 are both 02:30 in Berlin (summer, then winter time).
    await beacon(t, '2026-10-25T00:30:00Z', '198.51.100.7', {
      n: 'pageview',
      u: 'https://example.com/',
    });
    await beacon(t, '2026-10-25T01:30:00Z', '198.51.100.8', {
      n: 'pageview',
      u: 'https://example.com/',
    });
    t.clock.set(Date.parse(NOW));
    const answer = await ok({
      metrics: ['visitors'],
      date_range: ['2026-10-25', '2026-10-25'],
      tz: 'Europe/Berlin',
      dimensions: ['time:hour'],
      include: { time_labels: true },
    });
    expect(answer.results).toEqual([{ metrics: [2], dimensions: ['2026-10-25 02:00:00'] }]);
    const labels = answer.meta.time_labels as string[];
    expect(labels).toHaveLength(24);
    expect(new Set(labels).size).toBe(24);
    expect(labels.slice(2, 4)).toEqual(['2026-10-25 02:00:00', '2026-10-25 03:00:00']);
  });

  test('an hour the clocks put back in two parts apart is one row (Chatham, +13:45)', async () => {
    // Chatham 2026-04-05: 03:45 +13:45 is 02:45 +12:45, so the local hour 2 is 02:00–03:00
    // +13:45 and again 02:45–03:00 +12:45, with 03:00–03:45 +13:45 (hour 3) between them.
    const home = { n: 'pageview', u: 'https://example.com/' };
    await beacon(t, '2026-04-04T12:30:00Z', '198.51.100.7', home); // 02:15 +13:45
    await beacon(t, '2026-04-04T13:30:00Z', '198.51.100.8', home); // 03:15 +13:45
    await beacon(t, '2026-04-04T14:05:00Z', '198.51.100.7', home); // 02:50 +12:45
    t.clock.set(Date.parse(NOW));
    expect(
      await rows({
        metrics: ['visitors', 'pageviews'],
        date_range: ['2026-04-05', '2026-04-05'],
        tz: 'Pacific/Chatham',
        dimensions: ['time:hour'],
      }),
    ).toEqual([
      ['2026-04-05 02:00:00', 1, 2],
      ['2026-04-05 03:00:00', 1, 1],
    ]);
  });

  test("hours are the wall clock's, and one the clocks skip is a time label", async () => {
    // Lord Howe 2026-10-04: 02:00 +10:30 is 02:30 +11:00; 02:45 is in the local hour 2.
    const home = { n: 'pageview', u: 'https://example.com/' };
    await beacon(t, '2026-10-03T14:45:00Z', '198.51.100.7', home); // 01:15 +10:30
    await beacon(t, '2026-10-03T15:45:00Z', '198.51.100.8', home); // 02:45 +11:00
    await beacon(t, '2026-03-08T07:30:00Z', '198.51.100.9', home); // 03:30 EDT
    t.clock.set(Date.parse(NOW));
    const day = (date: string, tz: string) =>
      ok({
        metrics: ['visitors'],
        date_range: [date, date],
        tz,
        dimensions: ['time:hour'],
        include: { time_labels: true },
      });
    const lordHowe = await day('2026-10-04', 'Australia/Lord_Howe');
    expect(lordHowe.results).toEqual([
      { metrics: [1], dimensions: ['2026-10-04 01:00:00'] },
      { metrics: [1], dimensions: ['2026-10-04 02:00:00'] },
    ]);
    expect(lordHowe.meta.time_labels).toHaveLength(24);
    // New York 2026-03-08 has no 02:00, but Plausible's labels step naive hours: 24 of them.
    const newYork = await day('2026-03-08', 'America/New_York');
    expect(newYork.results).toEqual([{ metrics: [1], dimensions: ['2026-03-08 03:00:00'] }]);
    expect(newYork.meta.time_labels).toEqual(
      Array.from({ length: 24 }, (_, h) => `2026-03-08 ${String(h).padStart(2, '0')}:00:00`),
    );
  });

  test('a day the clocks skip is a time label, as Time.time_labels steps dates', async () => {
    // Pacific/Apia skipped 2011-12-30 (23:59:59 -10:00 on the 29th, then 00:00 +14:00 on the
    // 31st); Plausible's day labels are the range's dates, Enum.into(query.date_range, []).
    const home = { n: 'pageview', u: 'https://example.com/' };
    await beacon(t, '2011-12-29T22:00:00Z', '198.51.100.7', home); // 29th 12:00 -10:00
    await beacon(t, '2011-12-30T22:00:00Z', '198.51.100.8', home); // 31st 12:00 +14:00
    t.clock.set(Date.parse(NOW));
    const days = await ok({
      metrics: ['visitors'],
      date_range: ['2011-12-28', '2012-01-01'],
      tz: 'Pacific/Apia',
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(days.results).toEqual([
      { metrics: [1], dimensions: ['2011-12-29'] },
      { metrics: [1], dimensions: ['2011-12-31'] },
    ]);
    expect(days.meta.time_labels).toEqual([
      '2011-12-28',
      '2011-12-29',
      '2011-12-30',
      '2011-12-31',
      '2012-01-01',
    ]);
  });

  test('time:week begins on Mondays (the range its first day), time:month on the 1st', async () => {
    const weeks = await ok({
      metrics: ['visitors'],
      date_range: 'month',
      dimensions: ['time:week'],
      include: { time_labels: true },
    });
    expect(weeks.results).toEqual([{ metrics: [4], dimensions: ['2026-11-23'] }]);
    expect(weeks.meta.time_labels).toEqual([
      '2026-11-01',
      '2026-11-02',
      '2026-11-09',
      '2026-11-16',
      '2026-11-23',
      '2026-11-30',
    ]);
    const months = await ok({
      metrics: ['events'],
      date_range: 'year',
      dimensions: ['time:month'],
      include: { time_labels: true },
    });
    expect(months.results).toEqual([{ metrics: [6], dimensions: ['2026-11-01'] }]);
    expect(months.meta.time_labels).toHaveLength(12);
    expect((months.meta.time_labels as string[]).at(-1)).toBe('2026-12-01');
  });

  test('ordered by any metric or the time, paged, with total_rows', async () => {
    const query = { metrics: ['pageviews'], date_range: TWO_DAYS, dimensions: ['time:day'] };
    expect(await rows({ ...query, order_by: [['time:day', 'desc']] })).toEqual([
      ['2026-11-25', 2],
      ['2026-11-24', 3],
    ]);
    expect(await rows({ ...query, order_by: [['pageviews', 'asc']] })).toEqual([
      ['2026-11-25', 2],
      ['2026-11-24', 3],
    ]);
    const page = await ok({
      ...query,
      pagination: { limit: 1, offset: 1 },
      include: { total_rows: true },
    });
    expect(page.results).toEqual([{ metrics: [2], dimensions: ['2026-11-25'] }]);
    expect(page.meta).toEqual({ total_rows: 2 });
  });
});

describe('filters', () => {
  const visitors = async (filters: unknown[], metrics = ['visitors']) =>
    (await ok({ metrics, date_range: TWO_DAYS, filters })).results[0]?.metrics;

  test('is, is_not, contains, contains_not, matches, matches_not, case_sensitive', async () => {
    expect(await visitors([['is', 'visit:source', ['Google', 'Hacker News']]])).toEqual([2]);
    expect(await visitors([['is_not', 'event:page', ['/']]], ['pageviews'])).toEqual([3]);
    expect(await visitors([['contains', 'event:page', ['blog']]], ['pageviews'])).toEqual([2]);
    expect(await visitors([['contains_not', 'event:page', ['blog']]], ['pageviews'])).toEqual([3]);
    expect(
      await visitors([['matches', 'event:page', ['^/blog/(hello|other)$']]], ['pageviews']),
    ).toEqual([2]);
    expect(await visitors([['matches_not', 'event:page', ['^/blog']]], ['pageviews'])).toEqual([3]);
    expect(
      await visitors(
        [['contains', 'event:page', ['BLOG'], { case_sensitive: false }]],
        ['pageviews'],
      ),
    ).toEqual([2]);
    expect(await visitors([['contains', 'event:page', ['BLOG']]], ['pageviews'])).toEqual([0]);
    expect(await visitors([['is', 'visit:utm_medium', ['(not set)']]])).toEqual([3]);
    // A custom property: (none) where an event lacks it; a pattern only where it has it.
    expect(await visitors([['contains', 'event:props:plan', ['pr']]], ['events'])).toEqual([1]);
    expect(await visitors([['contains_not', 'event:props:plan', ['x']]], ['events'])).toEqual([1]);
    expect(await visitors([['is', 'event:props:plan', ['(none)']]], ['events'])).toEqual([5]);
    // Goals: a custom event by name, a page view as "Visit <path>", contains by either.
    expect(await visitors([['is', 'event:goal', ['Visit /pricing']]])).toEqual([1]);
    expect(await visitors([['contains', 'event:goal', ['Sign']]], ['visitors', 'events'])).toEqual([
      1, 1,
    ]);
    // `is` names a goal whole, as Plausible's (Goals: display name ==): `*` is no wildcard in a
    // custom event's name; a page goal's path keeps its own (Visit /blog/*).
    expect(await visitors([['is', 'event:goal', ['Sign*']]], ['visitors', 'events'])).toEqual([
      0, 0,
    ]);
    expect(await visitors([['is', 'event:goal', ['Visit /blog/*']]])).toEqual([2]);
  });

  test('is in any case: a value matches itself, whatever JavaScript lower-cases it to', async () => {
    // DuckDB's lower() maps İ and a final Σ otherwise than JavaScript's toLowerCase().
    await beacon(t, '2026-11-25T11:59:00Z', '198.51.100.9', {
      n: 'Trip',
      u: 'https://example.com/',
      p: { city: 'İstanbul', street: 'ΟΔΟΣ' },
    });
    t.clock.set(Date.parse(NOW));
    for (const [key, value] of [
      ['city', 'İstanbul'],
      ['street', 'ΟΔΟΣ'],
    ]) {
      const filter = ['is', `event:props:${key}`, [value, 'x'], { case_sensitive: false }];
      expect(await visitors([filter], ['events'])).toEqual([1]);
      expect(await visitors([filter.with(2, [value])], ['events'])).toEqual([1]);
    }
  });

  test("modifiers: an empty object is case-sensitive, as in Plausible's schema", async () => {
    // case_sensitive defaults to true and is not required: {} is taken, anything else refused.
    expect(await visitors([['is', 'event:page', ['/PRICING'], {}]])).toEqual([0]);
    expect(await visitors([['is', 'event:page', ['/pricing'], {}]])).toEqual([1]);
    expect(
      await refused({
        metrics: ['visitors'],
        date_range: TWO_DAYS,
        filters: [['is', 'event:page', ['/'], { case: false }]],
      }),
    ).toBe('#/filters/0/3: The one filter modifier is {"case_sensitive": true or false}.');
    // null is no object: Plausible's v2 schema refuses it (its v1 reads it as no modifiers).
    expect(
      await refused({
        metrics: ['visitors'],
        date_range: TWO_DAYS,
        filters: [['is', 'event:page', ['/'], null]],
      }),
    ).toBe('#/filters/0/3: The one filter modifier is {"case_sensitive": true or false}.');
  });

  test('a visit lacking a value has it empty, as Plausible stores it: "", (not set), Direct', async () => {
    // Plausible's columns hold '' where a visit has no tag or referrer, and its WhereBuilder
    // reads "(not set)" (and "Direct / None" for the source, referrer and tags) as ''.
    expect(await visitors([['is', 'visit:utm_source', ['']]])).toEqual([3]);
    expect(await visitors([['is_not', 'visit:utm_source', ['']]])).toEqual([1]);
    expect(await visitors([['is', 'visit:utm_source', ['Direct / None']]])).toEqual([3]);
    expect(await visitors([['is', 'visit:source', ['']]])).toEqual([1]);
    expect(await visitors([['is', 'visit:source', ['(not set)']]])).toEqual([1]);
    expect(await visitors([['is', 'visit:referrer', ['(not set)']]])).toEqual([2]);
    expect(await visitors([['is_not', 'visit:referrer', ['']]])).toEqual([2]);
    expect(
      await visitors([['is', 'visit:utm_medium', ['(NOT SET)'], { case_sensitive: false }]]),
    ).toEqual([0]);
    // Patterns read the empty value, not its label: "(not set)" contains no "e" to them.
    expect(await visitors([['contains', 'visit:utm_source', ['e']]])).toEqual([1]);
    expect(await visitors([['contains_not', 'visit:utm_source', ['e']]])).toEqual([3]);
    expect(await visitors([['contains', 'visit:source', ['None']]])).toEqual([0]);
    expect(await visitors([['matches', 'visit:utm_medium', ['^$']]])).toEqual([3]);
    expect(await visitors([['matches', 'visit:referrer', ['^$']]])).toEqual([2]);
    // Rows keep their labels.
    const answer = await ok({
      metrics: ['visitors'],
      date_range: TWO_DAYS,
      dimensions: ['visit:utm_source'],
      filters: [['is', 'visit:utm_source', ['']]],
    });
    expect(answer.results).toEqual([{ metrics: [3], dimensions: ['(not set)'] }]);
  });

  test('is on a number property: the text events are listed with, 1e+21 and not 1e21', async () => {
    // The native API keeps numbers as numbers; DuckDB writes 1e21 without the exponent's sign.
    const events = [
      { event_id: 'big', name: 'Score', properties: { v: 1e21 } },
      { event_id: 'text', name: 'Score', properties: { v: '1e21' } },
      { event_id: 'small', name: 'Score', properties: { v: 12.5 } },
    ].map((e) => ({
      ...e,
      tenant_id: 'example.com',
      timestamp: '2026-11-25T11:59:00Z',
      path: '/',
    }));
    expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
    const events_ = (values: string[], caseSensitive = true) =>
      visitors(
        [['is', 'event:props:v', values, ...(caseSensitive ? [] : [{ case_sensitive: false }])]],
        ['events'],
      );
    expect(await events_(['1e+21'])).toEqual([1]);
    expect(await events_(['1E+21'], false)).toEqual([1]);
    expect(await events_(['1e21'])).toEqual([1]); // the string alone
    expect(await events_(['1e+21', '1e21'])).toEqual([2]);
    expect(await events_(['12.5'])).toEqual([1]);
  });

  test('and, or and not nest; the top level is an and', async () => {
    expect(
      await visitors([
        [
          'or',
          [
            ['is', 'visit:source', ['Google']],
            ['contains', 'visit:utm_medium', ['mail']],
          ],
        ],
      ]),
    ).toEqual([2]);
    expect(await visitors([['not', ['is', 'visit:device', ['Desktop']]]])).toEqual([1]);
    expect(
      await visitors(
        [
          [
            'and',
            [
              ['contains', 'event:page', ['blog']],
              ['is', 'visit:source', ['Google']],
            ],
          ],
        ],
        ['visitors', 'events'],
      ),
    ).toEqual([1, 2]); // A's /blog/hello and the Signup on it
    const deviceAndMedium = [
      'and',
      [
        ['is', 'visit:device', ['Desktop']],
        ['is', 'visit:utm_medium', ['email']],
      ],
    ];
    expect(
      await visitors([['or', [deviceAndMedium, ['is', 'visit:source', ['Hacker News']]]]]),
    ).toEqual([2]); // B and C
    expect(
      await visitors([
        [
          'or',
          [
            ['is', 'event:page', ['/pricing']],
            ['matches', 'event:page', ['^/blog/h']],
          ],
        ],
        ['not', ['is', 'visit:source', ['Google']]],
      ]),
    ).toEqual([1]); // D (A's /blog/hello is Google's)
  });

  test("visit:screen, Plausible's other name of the device, filters as it", async () => {
    expect(await visitors([['is', 'visit:screen', ['Mobile']]])).toEqual([1]); // C's iPhone
    expect(await visitors([['is_not', 'visit:screen', ['Mobile']]])).toEqual([3]);
    expect(await visitors([['not', ['contains', 'visit:screen', ['desk']]]])).toEqual([4]);
    // Plausible filters by it, and groups by visit:device only.
    expect(
      await refused({ metrics: ['visitors'], date_range: TWO_DAYS, dimensions: ['visit:screen'] }),
    ).toBe(
      '#/dimensions/0: The dimension `visit:screen` is not supported by Tally: Plausible ' +
        'filters by it only; group by `visit:device`, the same values.',
    );
    // Not one of v1's properties, in either form of its filters (Plausible's v1 refuses it).
    const v1 = await t.get(
      `/api/v1/stats/aggregate?site_id=example.com&filters=${encodeURIComponent('visit:screen==Mobile')}`,
    );
    expect(((await v1.json()) as Json).error).toBe(
      "Invalid filter property 'visit:screen'. Please provide a valid filter property: " +
        'https://plausible.io/docs/stats-api#properties',
    );
  });

  test('filters with a dimension and with a time dimension', async () => {
    expect(
      await rows({
        metrics: ['visitors'],
        date_range: TWO_DAYS,
        dimensions: ['time:day'],
        filters: [['is', 'visit:source', ['Google']]],
      }),
    ).toEqual([['2026-11-24', 1]]);
    expect(
      await rows({
        metrics: ['pageviews'],
        date_range: TWO_DAYS,
        dimensions: ['visit:source'],
        filters: [['contains', 'event:page', ['blog']]],
      }),
    ).toEqual([
      ['Google', 1],
      ['newsletter', 1],
    ]);
  });

  test('an event:page filter: the bounce rate of the visits that entered there', async () => {
    await beacon(t, '2026-11-25T10:00:00Z', '198.51.100.9', {
      n: 'pageview',
      u: 'https://example.com/blog/hello',
    });
    t.clock.set(Date.parse(NOW));
    const query = { metrics: ['visits', 'bounce_rate'], date_range: TWO_DAYS };
    const hello = [['is', 'event:page', ['/blog/hello']]];
    // A (entered at /) and E (landed on /blog/hello, a bounce): E alone entered there.
    expect(await rows({ ...query, filters: hello })).toEqual([[2, 100]]);
    expect(await rows(query)).toEqual([[5, 80]]); // no page filter: every visit's bounce
    // Plausible reads only a top-level page filter: one in `or` leaves every visit's bounce.
    const nested = [['or', [hello[0], ['is', 'event:page', ['/nowhere']]]]];
    expect(await rows({ ...query, filters: nested })).toEqual([[2, 50]]);
    // `is_not` is read on the entry page too: the 4 visits with another page, none entered
    // at /blog/hello; then the first page filter alone.
    const not = [['is_not', 'event:page', ['/blog/hello']]];
    expect(await rows({ ...query, filters: not })).toEqual([[4, 75]]);
    const both = [hello[0], ['contains', 'event:page', ['/']]];
    expect(await rows({ ...query, filters: both })).toEqual([[2, 100]]);
  });
});

describe('conversion rates and percentage', () => {
  const signup = [['is', 'event:goal', ['Signup']]];

  test('conversion_rate over all visitors, group_conversion_rate over the row’s', async () => {
    expect(
      await rows({
        metrics: ['visitors', 'conversion_rate'],
        date_range: TWO_DAYS,
        filters: signup,
      }),
    ).toEqual([[1, 25]]);
    expect(
      await rows({
        metrics: ['visitors', 'conversion_rate', 'group_conversion_rate'],
        date_range: TWO_DAYS,
        dimensions: ['visit:source'],
        filters: signup,
      }),
    ).toEqual([['Google', 1, 25, 100]]);
    expect(
      await rows({
        metrics: ['conversion_rate', 'group_conversion_rate'],
        date_range: TWO_DAYS,
        dimensions: ['time:day'],
        filters: signup,
      }),
    ).toEqual([['2026-11-24', 25, 50]]);
  });

  test('percentage: of all visitors with the same filters, 1 decimal', async () => {
    expect(
      await rows({
        metrics: ['percentage', 'visitors'],
        date_range: TWO_DAYS,
        dimensions: ['visit:os'],
        filters: [['is_not', 'visit:source', ['Google']]],
      }),
    ).toEqual([
      ['Windows', 66.7, 2],
      ['iOS', 33.3, 1],
    ]);
    expect(
      await rows({ metrics: ['percentage'], date_range: ['2026-10-01', '2026-10-01'] }),
    ).toEqual([[null]]);
  });
});

test("include.imports: Tally imports nothing, and says so in Plausible's words", async () => {
  // Plausible's QueryResult for a site without imports: the reason beside the flag.
  const answer = await ok({ metrics: ['visitors'], date_range: 'day', include: { imports: true } });
  expect(answer.meta).toEqual({
    imports_included: false,
    imports_skip_reason: 'no_imported_data',
  });
  expect(answer.query.include).toEqual({ imports: true });
});

describe('order_by and pagination', () => {
  const pages = {
    metrics: ['visitors', 'pageviews'],
    date_range: TWO_DAYS,
    dimensions: ['event:page'],
  };

  test('by the dimension or metrics in either direction', async () => {
    expect(await rows({ ...pages, order_by: [['event:page', 'desc']] })).toEqual([
      ['/pricing', 1, 1],
      ['/blog/other', 1, 1],
      ['/blog/hello', 1, 1],
      ['/', 2, 2],
    ]);
    expect(
      await rows({
        ...pages,
        order_by: [
          ['visitors', 'asc'],
          ['event:page', 'desc'],
        ],
      }),
    ).toEqual([
      ['/pricing', 1, 1],
      ['/blog/other', 1, 1],
      ['/blog/hello', 1, 1],
      ['/', 2, 2],
    ]);
  });

  test('limit and offset, total_rows counting every row (past the last page too)', async () => {
    const page = await ok({
      ...pages,
      pagination: { limit: 2, offset: 1 },
      include: { total_rows: true },
    });
    expect(page.results.map((r) => r.dimensions[0])).toEqual(['/blog/hello', '/blog/other']);
    expect(page.meta).toEqual({ total_rows: 4 });
    expect(page.query.pagination).toEqual({ limit: 2, offset: 1 });
    const past = await ok({
      ...pages,
      pagination: { limit: 2, offset: 10 },
      include: { total_rows: true },
    });
    expect(past.results).toEqual([]);
    expect(past.meta).toEqual({ total_rows: 4 });
  });
});

describe("Plausible's 400s, naming the field", () => {
  const base = { metrics: ['visitors'], date_range: '7d' };

  test('at most 16 filters of 100 values, nested 8 deep', async () => {
    // README "Limits": the bounds Tally keeps where Plausible's v2 names none.
    const is = (i: number, values = 1) => [
      'is',
      `event:props:k${i}`,
      Array.from({ length: values }, (_, j) => `v${j}`),
    ];
    const many = (n: number) => Array.from({ length: n }, (_, i) => is(i));
    // `depth` operators (and, or, not) each inside the one before, around one condition.
    const nested = (depth: number): unknown => (depth === 0 ? is(0) : ['not', nested(depth - 1)]);
    expect((await post({ ...base, filters: [...many(15), is(15, 100)] })).status).toBe(200);
    expect(await refused({ ...base, filters: many(17) })).toBe(
      '#/filters: At most 16 filters may be combined.',
    );
    expect(await refused({ ...base, filters: [is(0, 101)] })).toContain(
      'A filter may name at most 100 values.',
    );
    expect((await post({ ...base, filters: [nested(8)] })).status).toBe(200);
    expect(await refused({ ...base, filters: [nested(9)] })).toContain(
      'Filters nest at most 8 deep.',
    );
  });

  test('the body: required and unknown keys, types, metrics, date ranges, tz', async () => {
    expect(await refused({ date_range: '7d' })).toBe(
      '#: Required property metrics was not present.',
    );
    expect(await refused({ metrics: ['visitors'] })).toBe(
      '#: Required property date_range was not present.',
    );
    expect(await refused({})).toBe('#: Required properties metrics, date_range were not present.');
    expect(await refused({ ...base, period: '7d' })).toBe(
      '#/period: Schema does not allow additional properties.',
    );
    expect(await refused({ ...base, metrics: 'visitors' })).toBe(
      '#/metrics: Type mismatch. Expected Array but got String.',
    );
    expect(await refused({ ...base, metrics: [] })).toBe(
      '#/metrics: Expected a minimum of 1 items but got 0.',
    );
    expect(await refused({ ...base, metrics: ['visitors', 'visitors'] })).toBe(
      '#/metrics: Expected items to be unique but they were not.',
    );
    expect(await refused({ ...base, metrics: ['visitors', 'bogus'] })).toBe(
      '#/metrics/1: Invalid metric "bogus"',
    );
    expect(await refused({ ...base, metrics: ['total_revenue'] })).toBe(
      '#/metrics/0: The metric `total_revenue` is not supported by Tally: Tally has no revenue goals.',
    );
    expect(await refused({ ...base, metrics: ['average_revenue'] })).toContain('no revenue goals');
    // README "Limits": of the location names only the country's is answered.
    for (const name of ['visit:region_name', 'visit:city_name']) {
      expect(await refused({ ...base, dimensions: [name] })).toContain('by country only');
    }
    expect((await post({ ...base, dimensions: ['visit:country_name'] })).status).toBe(200);
    expect(await refused({ ...base, date_range: 'yesterday' })).toBe(
      '#/date_range: Invalid date range "yesterday"',
    );
    // README: any <n>d up to 5000d, <n>mo up to 100mo.
    for (const range of ['5001d', '101mo', '0d', '00mo', '+7d', '-7d', ' 7d', '7D', '7 d']) {
      expect(await refused({ ...base, date_range: range })).toBe(
        `#/date_range: Invalid date range "${range}"`,
      );
    }
    expect((await post({ ...base, date_range: '5000d' })).status).toBe(200);
    expect((await post({ ...base, date_range: '100mo' })).status).toBe(200);
    expect(await refused({ ...base, date_range: ['2026-11-25', '2026-11-24'] })).toBe(
      '#/date_range: Invalid date range ["2026-11-25","2026-11-24"]',
    );
    expect(await refused({ ...base, date_range: ['2026-11-24T10:00:00', '2026-11-25'] })).toBe(
      '#/date_range: Invalid date range ["2026-11-24T10:00:00","2026-11-25"]',
    );
    expect(await refused({ ...base, tz: 'Mars/Olympus' })).toStartWith(
      '#/tz: "Mars/Olympus" is not an IANA time zone',
    );
  });

  test('names every JavaScript object has are no metric, dimension, filter or include', async () => {
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(await refused({ ...base, metrics: [name] })).toBe(
        `#/metrics/0: Invalid metric ${JSON.stringify(name)}`,
      );
      expect(await refused({ ...base, dimensions: [name] })).toBe(
        `#/dimensions/0: Invalid dimension ${JSON.stringify(name)}`,
      );
      expect(await refused({ ...base, filters: [['is', name, ['x']]] })).toBe(
        `#/filters/0: Invalid filter ${JSON.stringify(['is', name, ['x']])}`,
      );
      expect(await refused({ ...base, include: JSON.parse(`{"${name}": true}`) })).toBe(
        `#/include/${name}: Schema does not allow additional properties.`,
      );
    }
  });

  test('dimensions, order_by, include and pagination', async () => {
    expect(await refused({ ...base, dimensions: ['visit:planet'] })).toBe(
      '#/dimensions/0: Invalid dimension "visit:planet"',
    );
    expect(await refused({ ...base, dimensions: ['visit:city'] })).toBe(
      '#/dimensions/0: The dimension `visit:city` is not supported by Tally: ' +
        'Tally locates visitors by country only.',
    );
    expect(await refused({ ...base, dimensions: ['time:day', 'time:hour'] })).toBe(
      '#/dimensions: Tally groups by one time dimension at a time (["time:day","time:hour"]).',
    );
    expect(
      await refused({
        ...base,
        dimensions: [
          'event:page',
          'visit:source',
          'visit:os',
          'visit:device',
          'visit:browser',
          'time',
        ],
      }),
    ).toBe('#/dimensions: At most 5 dimensions may be combined.');
    expect(await refused({ ...base, order_by: [['pageviews', 'desc']] })).toBe(
      '#/order_by/0: Invalid order_by entry ["pageviews","desc"]. ' +
        'Entry is not a queried metric or dimension.',
    );
    expect(await refused({ ...base, order_by: [['visitors', 'up']] })).toBe(
      '#/order_by/0: Invalid value in order_by ["visitors","up"]',
    );
    expect(
      await refused({
        ...base,
        date_range: ['2024-01-01', '2026-01-01'],
        dimensions: ['time:hour'],
      }),
    ).toBe(
      '#/dimensions/0: the range holds more than 10000 hour buckets; use a larger bucket or a ' +
        'shorter range',
    );
    expect(await refused({ ...base, include: { time_labels: true } })).toBe(
      'Invalid include.time_labels: requires a time dimension.',
    );
    expect(await refused({ ...base, include: { comparisons: { mode: 'previous_period' } } })).toBe(
      "#/include/comparisons: Comparisons are not supported by Tally's v2 API.",
    );
    expect(await refused({ ...base, pagination: { limit: 0 } })).toBe(
      '#/pagination/limit: Expected the value to be >= 1',
    );
    expect(await refused({ ...base, pagination: { limit: 10_001 } })).toBe(
      '#/pagination/limit: Expected the value to be <= 10000',
    );
    expect((await post({ ...base, pagination: { offset: 10_000_000 } })).status).toBe(200);
    expect(await refused({ ...base, pagination: { offset: 10_000_001 } })).toBe(
      '#/pagination/offset: Expected the value to be <= 10000000',
    );
  });

  test('metrics with filters and dimensions, as Plausible’s rules', async () => {
    expect(
      await refused({ ...base, metrics: ['views_per_visit'], dimensions: ['visit:source'] }),
    ).toBe('Metric `views_per_visit` cannot be queried with `dimensions`.');
    expect(
      await refused({
        ...base,
        metrics: ['views_per_visit'],
        filters: [['is', 'event:page', ['/']]],
      }),
    ).toBe('Metric `views_per_visit` cannot be queried with a filter on `event:page`.');
    expect(
      await refused({ ...base, metrics: ['bounce_rate', 'visitors'], dimensions: ['event:name'] }),
    ).toBe('Session metric(s) `bounce_rate` cannot be queried along with event dimensions.');
    expect(await refused({ ...base, metrics: ['conversion_rate'] })).toBe(
      'Metric `conversion_rate` can only be queried with event:goal filters or dimensions.',
    );
    expect(
      await refused({
        ...base,
        metrics: ['group_conversion_rate'],
        dimensions: ['visit:source'],
        filters: [['is', 'event:goal', ['Signup']]],
      }),
    ).toStartWith('Tally cannot order rows by `group_conversion_rate`');
  });

  test('filters', async () => {
    const filtered = (...filters: unknown[]) => refused({ ...base, filters });
    expect(await filtered(['equals', 'event:page', ['/']])).toBe(
      '#/filters/0: Invalid filter ["equals","event:page",["/"]]',
    );
    // An operator named as a property of every object is no operator either.
    expect(await filtered(['constructor', 'event:page', ['/']])).toBe(
      '#/filters/0: Invalid filter ["constructor","event:page",["/"]]',
    );
    // Plausible's dimensions of what Tally keeps not: why, not "Invalid filter".
    expect(await filtered(['is', 'visit:entry_page_hostname', ['example.com']])).toBe(
      '#/filters/0: Filtering by `visit:entry_page_hostname` is not supported by Tally: ' +
        'Tally keeps no hostname per event.',
    );
    expect(await filtered(['is', 'segment', [1]])).toBe(
      '#/filters/0: Filtering by `segment` is not supported by Tally: Tally has no saved ' +
        'segments.',
    );
    expect(await filtered(['is', 'visit:city', ['Paris']])).toBe(
      '#/filters/0: Filtering by `visit:city` is not supported by Tally: ' +
        'Tally locates visitors by country only.',
    );
    expect(await filtered(['is_not', 'event:goal', ['Signup']])).toBe(
      '#/filters/0: Invalid filter ["is_not","event:goal",["Signup"]]',
    );
    expect(
      await filtered(['is', 'visit:source', ['Google']], ['not', ['or', [['is', 'x', ['y']]]]]),
    ).toBe('#/filters/1/1/1/0: Invalid filter ["is","x",["y"]]');
    expect(await filtered(['or', [['is', 'event:goal', ['Signup']]]])).toBe(
      '#/filters/0: Invalid filters. Dimension `event:goal` can only be filtered at the top level.',
    );
    // A top-level `and` is one filter to Plausible (its parser keeps it): what it holds is not
    // at the top level.
    expect(await filtered(['and', [['is', 'event:goal', ['Signup']]]])).toBe(
      '#/filters/0: Invalid filters. Dimension `event:goal` can only be filtered at the top level.',
    );
    // Nor does a page filter in it make scroll_depth answerable (get_toplevel_filter).
    expect(
      await refused({
        ...base,
        metrics: ['scroll_depth'],
        filters: [['and', [['is', 'event:page', ['/']]]]],
      }),
    ).toBe('Metric `scroll_depth` can only be queried with event:page filters or dimensions.');
    const propsInAnd = ['and', [['is', 'event:props:plan', ['pro']]]];
    expect(
      await refused({
        ...base,
        metrics: ['conversion_rate'],
        filters: [['is', 'event:goal', ['Signup']], propsInAnd],
      }),
    ).toBe(
      'Invalid filters. When `conversion_rate` or `group_conversion_rate` metrics are used, ' +
        'custom property filters can only be used on top level.',
    );
    expect(
      await filtered([
        'or',
        [
          ['is', 'visit:source', ['Google']],
          ['is', 'event:page', ['/']],
        ],
      ]),
    ).toStartWith('#/filters/0: Tally cannot combine event dimensions');
    expect(await filtered(['matches', 'event:page', ['/user/(\\d+']])).toBe(
      '#/filters/0/2: Invalid regular expression "/user/(\\\\d+": missing ): /user/(\\d+',
    );
    // \Q quotes to the end, so a value that is a pattern alone is none in the group it is read
    // in: a 400 naming it, not a failed read.
    expect(await filtered(['matches', 'event:page', ['/', '\\Q/blog']])).toBe(
      '#/filters/0/2: Invalid regular expression "\\\\Q/blog": missing ): (?:\\Q/blog)',
    );
    expect(await filtered(['matches', 'event:page', ['^/'], { case_sensitive: false }])).toBe(
      '#/filters/0/3: Invalid filters. The case_sensitive modifier is not allowed with pattern ' +
        'operators.',
    );
    expect(await filtered(['has_done', ['is', 'event:name', ['Signup']]])).toBe(
      '#/filters/0: The filter operator `has_done` is not supported: ' +
        'Tally has no behavioral filters.',
    );
    // A country is its two-letter code, as Plausible's parser checks (contains takes any text).
    expect(await filtered(['is_not', 'visit:country', ['US', 'United States']])).toBe(
      '#/filters/0/2: Invalid visit:country filter, visit:country needs to be a valid ' +
        '2-letter country code.',
    );
    expect(await filtered(['is', 'event:page', []])).toBe(
      '#/filters/0/2: A filter needs at least one value.',
    );
  });

  test('the body: JSON, as text/plain too, gzip allowed, at most 64 KiB', async () => {
    const query = { site_id: 'example.com', metrics: ['visitors'], date_range: 'day' };
    const text = JSON.stringify(query);
    const answer = [{ metrics: [2], dimensions: [] }];
    const sent = async (body: string | Uint8Array, headers: Record<string, string>) => {
      const res = await t.post('/api/v2/query', body, headers);
      return { status: res.status, body: (await res.json()) as Json };
    };
    expect((await sent(text, { 'content-type': 'text/plain' })).body.results).toEqual(answer);
    expect((await sent(gzipSync(text), { 'content-encoding': 'gzip' })).body.results).toEqual(
      answer,
    );
    // Beyond the limit, sent or once unzipped: a 413 in Plausible's shape.
    const big = JSON.stringify({ ...query, filters: [['is', 'event:page', ['x'.repeat(65_536)]]] });
    expect(await sent(big, {})).toEqual({
      status: 413,
      body: { error: 'the body is larger than 65536 bytes' },
    });
    expect(await sent(gzipSync(big), { 'content-encoding': 'gzip' })).toEqual({
      status: 413,
      body: { error: 'the decompressed body is larger than 65536 bytes' },
    });
  });

  test('site_id is required; a body that is not a JSON object is refused', async () => {
    const res = await t.post('/api/v2/query', { metrics: ['visitors'], date_range: '7d' });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'Missing site ID. Please provide the required site_id parameter with your request.',
    });
    const broken = await t.post('/api/v2/query', '{"site_id": ');
    expect(broken.status).toBe(400);
    expect(((await broken.json()) as Json).error).toStartWith('the body is not valid JSON');
  });
});
