// Time edges of Plausible's Stats API v1 and v2 through the real app and store: the `all` range
// when the only events are stored ahead of now (Tally's ingest takes up to 24 hours ahead), and
// the time buckets a visit counts in.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const query = async (body: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...body });
  const answer = (await res.json()) as Json;
  expect(res.status, JSON.stringify(answer)).toBe(200);
  return answer as { results: Json[]; meta: Json; query: Json };
};

describe('date_range "all"', () => {
  test('an event stored ahead of now starts no range after today', async () => {
    // Stored at 2026-11-26T01:00Z while it is 2026-11-25T12:00Z: tomorrow, in UTC.
    await beacon(t, '2026-11-26T01:00:00Z', '198.51.100.9', page('/soon'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const answer = await query({
      metrics: ['visitors'],
      date_range: 'all',
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(answer.query.date_range).toEqual([
      '2026-11-25T00:00:00+00:00',
      '2026-11-25T23:59:59+00:00',
    ]);
    expect(answer.meta.time_labels).toEqual(['2026-11-25']);
    expect(answer.results).toEqual([]);
  });
});

describe('the last days of year 9999', () => {
  // The day after 9999-12-31 is 10000-01-01, which sorts before it as text: a range ending on
  // 9999-12-31 listed the dates of years 10000 to 99990 (32 million, minutes of one request
  // holding the server) before stopping.
  test("v1 timeseries by date lists the range's dates alone", async () => {
    const started = performance.now();
    const res = await t.get(
      '/api/v1/stats/timeseries?site_id=example.com&period=custom&date=9999-12-30,9999-12-31' +
        '&metrics=visitors&tz=Pacific/Kiritimati',
    );
    const answer = (await res.json()) as Json;
    expect(res.status, JSON.stringify(answer).slice(0, 300)).toBe(200);
    expect(answer.results).toEqual([
      { date: '9999-12-30', visitors: 0 },
      { date: '9999-12-31', visitors: 0 },
    ]);
    expect(performance.now() - started).toBeLessThan(5_000);
  });

  test("v2 time:day labels the range's dates alone", async () => {
    const answer = await query({
      metrics: ['visitors'],
      date_range: ['9999-12-31', '9999-12-31'],
      dimensions: ['time:day'],
      include: { time_labels: true },
    });
    expect(answer.meta.time_labels).toEqual(['9999-12-31']);
    expect(answer.results).toEqual([]);
  });
});

// Plausible counts a session in the time buckets of its `timestamp` (its last event), and by
// hour in every hour from its `start` to it (time_slots, sql/expression.ex): a visit is not
// only of the bucket where it began.
describe('visits by time bucket, as Plausible counts its sessions', () => {
  const metrics = ['visits', 'bounce_rate', 'visit_duration'];
  /** A visit from 10:50 to 11:10 UTC on 11-24, and a bounce at 11:30. */
  const seedHours = async () => {
    await beacon(t, '2026-11-24T10:50:00Z', '198.51.100.1', page('/'));
    await beacon(t, '2026-11-24T11:10:00Z', '198.51.100.1', page('/next'));
    await beacon(t, '2026-11-24T11:30:00Z', '198.51.100.2', page('/'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
  };

  test('v2 time:hour: a visit counts in every hour it spans', async () => {
    await seedHours();
    const answer = await query({
      metrics,
      date_range: ['2026-11-24', '2026-11-24'],
      dimensions: ['time:hour'],
    });
    expect(answer.results).toEqual([
      { dimensions: ['2026-11-24 10:00:00'], metrics: [1, 0, 1200] },
      { dimensions: ['2026-11-24 11:00:00'], metrics: [2, 50, 600] },
    ]);
  });

  test('v2 counts visits by their events where Plausible reads them from its events', async () => {
    // A's visit enters at / at 10:50 and views /pricing at 11:10: with an event filter, `visits`
    // is of Plausible's events table (uniq(session_id) by the events' hours): 11:00 alone.
    await beacon(t, '2026-11-24T10:50:00Z', '198.51.100.1', page('/'));
    await beacon(t, '2026-11-24T11:10:00Z', '198.51.100.1', page('/pricing'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const hours = async (metrics: string[]) =>
      (
        await query({
          metrics,
          date_range: ['2026-11-24', '2026-11-24'],
          dimensions: ['time:hour'],
          filters: [['is', 'event:page', ['/pricing']]],
        })
      ).results;
    expect(await hours(['visits'])).toEqual([
      { dimensions: ['2026-11-24 11:00:00'], metrics: [1] },
    ]);
    // By page too, each page in the hour it was viewed.
    const byPage = await query({
      metrics: ['visits'],
      date_range: ['2026-11-24', '2026-11-24'],
      dimensions: ['time:hour', 'event:page'],
    });
    expect(byPage.results).toEqual([
      { dimensions: ['2026-11-24 10:00:00', '/'], metrics: [1] },
      { dimensions: ['2026-11-24 11:00:00', '/pricing'], metrics: [1] },
    ]);
    // With a visit duration beside it, Plausible reads both from its sessions: every hour spanned.
    expect(await hours(['visits', 'visit_duration'])).toEqual([
      { dimensions: ['2026-11-24 10:00:00'], metrics: [1, 1200] },
      { dimensions: ['2026-11-24 11:00:00'], metrics: [1, 1200] },
    ]);
  });

  test('v1 timeseries by hour: the same', async () => {
    await seedHours();
    const res = await t.get(
      '/api/v1/stats/timeseries?site_id=example.com&period=day&date=2026-11-24' +
        `&metrics=${metrics.join(',')}`,
    );
    const rows = ((await res.json()) as { results: Json[] }).results;
    expect(rows.slice(10, 12)).toEqual([
      { date: '2026-11-24 10:00:00', visits: 1, bounce_rate: 0, visit_duration: 1200 },
      { date: '2026-11-24 11:00:00', visits: 2, bounce_rate: 50, visit_duration: 600 },
    ]);
  });

  test('by day: a visit across local midnight counts on the day of its last event', async () => {
    // 23:50 and 00:10 in Berlin: the visit ends on 11-24.
    await beacon(t, '2026-11-23T22:50:00Z', '198.51.100.1', page('/'));
    await beacon(t, '2026-11-23T23:10:00Z', '198.51.100.1', page('/next'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const answer = await query({
      metrics,
      date_range: ['2026-11-23', '2026-11-24'],
      dimensions: ['time:day'],
      tz: 'Europe/Berlin',
    });
    expect(answer.results).toEqual([{ dimensions: ['2026-11-24'], metrics: [1, 0, 1200] }]);
    // Beside page views Plausible's v2 reads visits from its events: on each day of one.
    const byEvents = await query({
      metrics: ['visits', 'pageviews'],
      date_range: ['2026-11-23', '2026-11-24'],
      dimensions: ['time:day'],
      tz: 'Europe/Berlin',
    });
    expect(byEvents.results).toEqual([
      { dimensions: ['2026-11-23'], metrics: [1, 1] },
      { dimensions: ['2026-11-24'], metrics: [1, 1] },
    ]);
    const v1 = await t.get(
      '/api/v1/stats/timeseries?site_id=example.com&period=custom&date=2026-11-23,2026-11-24' +
        '&tz=Europe/Berlin&metrics=visits',
    );
    expect(((await v1.json()) as Json).results).toEqual([
      { date: '2026-11-23', visits: 0 },
      { date: '2026-11-24', visits: 1 },
    ]);
    // A range that ends before its last event counts it on its last day.
    const first = await query({
      metrics: ['visits'],
      date_range: ['2026-11-23', '2026-11-23'],
      dimensions: ['time:day'],
      tz: 'Europe/Berlin',
    });
    expect(first.results).toEqual([{ dimensions: ['2026-11-23'], metrics: [1] }]);
  });
});
