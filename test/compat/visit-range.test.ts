// A visit that crosses a day's start, read as Plausible reads its sessions (each session active
// in the range, its whole row: entry page, bounce, duration) by Tally's own /api/v1/stats and
// by Plausible's Stats API v1 and v2, in a time zone and in UTC, before and after the events
// are flushed to a segment; the events counted stay each day's own. Umami's reads keep
// Umami's rule: the events of the range alone.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

const SITE = 'range.example';
const UMAMI = '2b3f1c0a-9d8e-4f6a-8b7c-5d4e3f2a1b0c';
const at = (iso: string) => Date.parse(iso);
const BERLIN = 'Europe/Berlin'; // UTC+1 in November

type Json = Record<string, unknown>;

/**
 * - v1, no session id: /a from Google at 22:50 UTC on the 24th (23:50 in Berlin), /b at 23:10
 *   (00:10 on the 25th in Berlin): one visit of 1200 s over Berlin's midnight.
 * - v2 in session s2: /c at 23:55 UTC on the 24th, /d at 00:05 on the 25th: one visit of
 *   600 s over UTC midnight (00:55 and 01:05 on the 25th in Berlin).
 */
function events(): Json[] {
  const event = (iso: string, anonymous_id: string, path: string, more: Json = {}) => ({
    tenant_id: SITE,
    name: 'page_view',
    timestamp: at(iso),
    anonymous_id,
    path,
    url: `https://${SITE}${path}`,
    ...more,
  });
  return [
    event('2026-11-24T22:50:00Z', 'v1', '/a', { referrer: 'https://www.google.com/' }),
    event('2026-11-24T23:10:00Z', 'v1', '/b', { referrer: `https://${SITE}/a` }),
    event('2026-11-24T23:55:00Z', 'v2', '/c', { session_id: 's2' }),
    event('2026-11-25T00:05:00Z', 'v2', '/d', { session_id: 's2', referrer: `https://${SITE}/c` }),
  ];
}

let t: CompatApp;
beforeAll(async () => {
  t = await makeCompatApp();
  const res = await t.post('/api/v1/events/batch', { events: events() });
  expect(res.status).toBe(202);
  t.clock.set(at('2026-11-26T12:00:00Z'));
});
afterAll(() => t.close());

/** Every read twice: over the hot tier, then over the segment the events are flushed to. */
const TIERS = ['unflushed', 'flushed'] as const;
const flushedOnce = { done: false };
async function tier(name: (typeof TIERS)[number]): Promise<void> {
  if (name === 'flushed' && !flushedOnce.done) {
    await t.engine.store.flusher.flush();
    flushedOnce.done = true;
  }
}

async function native(date: string, tz: string, more: Record<string, string> = {}) {
  const query = new URLSearchParams({ tenant_id: SITE, date, tz, ...more });
  const s = await t.getJson<Json>(`/api/v1/stats?${query}`);
  const pages = (list: unknown) => (list as { path: string; visits: number }[]).map((r) => r.path);
  return {
    visits: s.visits,
    bounce_rate: s.bounce_rate,
    visit_duration: s.visit_duration,
    views_per_visit: s.views_per_visit,
    page_views: s.page_views,
    entries: pages(s.top_entry_pages),
    exits: pages(s.top_exit_pages),
  };
}

async function v1(date: string, tz: string): Promise<Json> {
  const metrics = 'visits,pageviews,bounce_rate,visit_duration,views_per_visit';
  const query = `site_id=${SITE}&period=day&date=${date}&tz=${tz}&metrics=${metrics}`;
  const body = await t.getJson<{ results: Record<string, { value: number }> }>(
    `/api/v1/stats/aggregate?${query}`,
  );
  return Object.fromEntries(Object.entries(body.results).map(([k, v]) => [k, v.value]));
}

async function v2(date: string, tz: string, more: Json = {}): Promise<unknown[][]> {
  const res = await t.post('/api/v2/query', {
    site_id: SITE,
    metrics: ['visits', 'pageviews', 'bounce_rate', 'visit_duration'],
    date_range: [date, date],
    tz,
    ...more,
  });
  const body = (await res.json()) as { results: { dimensions: string[]; metrics: number[] }[] };
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.results.map((r) => [...r.dimensions, ...r.metrics]);
}

for (const name of TIERS) {
  describe(`a visit over a day's start, ${name}`, () => {
    beforeAll(() => tier(name));

    test("Tally's /stats: each day reads the whole visit, counts its own events", async () => {
      expect(await native('2026-11-24', BERLIN)).toEqual({
        visits: 1,
        bounce_rate: 0,
        visit_duration: 1200,
        views_per_visit: 2,
        page_views: 1,
        entries: ['/a'],
        exits: ['/b'],
      });
      // v1's visit entered at /a the day before (not at /b), 1200 s; v2's is all in the day.
      expect(await native('2026-11-25', BERLIN)).toEqual({
        visits: 2,
        bounce_rate: 0,
        visit_duration: 900,
        views_per_visit: 2,
        page_views: 3,
        entries: ['/a', '/c'],
        exits: ['/b', '/d'],
      });
      // In UTC the session s2 crosses midnight instead.
      expect(await native('2026-11-25', 'UTC')).toEqual({
        visits: 1,
        bounce_rate: 0,
        visit_duration: 600,
        views_per_visit: 2,
        page_views: 1,
        entries: ['/c'],
        exits: ['/d'],
      });
    });

    test("Tally's visit filters read the entry page across the day's start", async () => {
      const a = await native('2026-11-25', BERLIN, { entry_page: '/a' });
      expect([a.visits, a.page_views, a.entries]).toEqual([1, 1, ['/a']]);
      expect((await native('2026-11-25', BERLIN, { entry_page: '/b' })).visits).toBe(0);
      const c = await native('2026-11-25', 'UTC', { entry_page: '/c' });
      expect([c.visits, c.page_views]).toEqual([1, 1]);
    });

    test("Tally's events and time series with a visit filter, across the day's start", async () => {
      const query = new URLSearchParams({
        tenant_id: SITE,
        date: '2026-11-25',
        tz: BERLIN,
        entry_page: '/a',
      });
      const listed = await t.getJson<{ events: { path: string }[] }>(`/api/v1/events?${query}`);
      expect(listed.events.map((e) => e.path)).toEqual(['/b']);
      query.set('bucket', 'day');
      query.set('metric', 'count');
      const series = await t.getJson<Json>(`/api/v1/timeseries?${query}`);
      const day = '2026-11-25T00:00:00+01:00';
      expect(series.series).toEqual([
        { key: null, events: 1, points: [{ bucket: day, value: 1 }] },
      ]);
    });

    test("Plausible's v1 aggregate, both days", async () => {
      expect(await v1('2026-11-24', BERLIN)).toEqual({
        visits: 1,
        pageviews: 1,
        bounce_rate: 0,
        visit_duration: 1200,
        views_per_visit: 2,
      });
      expect(await v1('2026-11-25', BERLIN)).toEqual({
        visits: 2,
        pageviews: 3,
        bounce_rate: 0,
        visit_duration: 900,
        views_per_visit: 2,
      });
      expect(await v1('2026-11-25', 'UTC')).toMatchObject({ visits: 1, visit_duration: 600 });
    });

    test("Plausible's v2 by visit:entry_page, both days", async () => {
      const byEntry = { dimensions: ['visit:entry_page'], order_by: [['visit:entry_page', 'asc']] };
      expect(await v2('2026-11-24', BERLIN, byEntry)).toEqual([['/a', 1, 1, 0, 1200]]);
      expect(await v2('2026-11-25', BERLIN, byEntry)).toEqual([
        ['/a', 1, 1, 0, 1200],
        ['/c', 1, 2, 0, 600],
      ]);
      expect(await v2('2026-11-24', 'UTC', byEntry)).toEqual([
        ['/a', 1, 2, 0, 1200],
        ['/c', 1, 1, 0, 600],
      ]);
      expect(await v2('2026-11-25', 'UTC', byEntry)).toEqual([['/c', 1, 1, 0, 600]]);
      // A visit filter on the entry page, across the day's start.
      const entryA = { filters: [['is', 'visit:entry_page', ['/a']]] };
      expect(await v2('2026-11-25', BERLIN, entryA)).toEqual([[1, 1, 0, 1200]]);
      // An event filter is read on the range's events, as Plausible joins its events there: /b
      // was viewed on the 25th only.
      const viewedB = { filters: [['is', 'event:page', ['/b']]] };
      expect(await v2('2026-11-24', BERLIN, viewedB)).toEqual([[0, 0, 0, 0]]);
      expect(await v2('2026-11-25', BERLIN, viewedB)).toEqual([[1, 1, 0, 1200]]);
    });

    test("Plausible's v2 by day over both days: visits as Plausible's tables count them", async () => {
      const both = { metrics: ['visits', 'pageviews'], date_range: ['2026-11-24', '2026-11-25'] };
      const byDay = { ...both, dimensions: ['time:day'] };
      // Beside pageviews, Plausible counts visits from its events table: a visit in each day
      // holding one of its events. In UTC s2's /c is on the 24th and its /d on the 25th.
      expect(await v2('', 'UTC', byDay)).toEqual([
        ['2026-11-24', 2, 3],
        ['2026-11-25', 1, 1],
      ]);
      expect(await v2('', 'UTC', both)).toEqual([[2, 4]]);
      // In Berlin v1's /a is on the 24th (23:50) and its /b on the 25th; s2 is on the 25th.
      expect(await v2('', BERLIN, byDay)).toEqual([
        ['2026-11-24', 1, 1],
        ['2026-11-25', 2, 3],
      ]);
      expect(await v2('', BERLIN, both)).toEqual([[2, 4]]);
      // Visits alone come from its sessions table: each once, in the day of its last event.
      const visits = { metrics: ['visits'], date_range: both.date_range, dimensions: ['time:day'] };
      expect(await v2('', 'UTC', visits)).toEqual([
        ['2026-11-24', 1],
        ['2026-11-25', 1],
      ]);
      expect(await v2('', BERLIN, visits)).toEqual([['2026-11-25', 2]]);
    });

    test("Plausible's v2 by day: visitors as Plausible's tables count them", async () => {
      const range = ['2026-11-24', '2026-11-25'];
      const byDay = (metrics: string[], tz: string) =>
        v2('', tz, { metrics, date_range: range, dimensions: ['time:day'] });
      // Visitors alone, or with session metrics, come from Plausible's sessions table
      // (TableDecider): each visit's user once, in the day of the visit's last event.
      expect(await byDay(['visitors'], 'UTC')).toEqual([
        ['2026-11-24', 1],
        ['2026-11-25', 1],
      ]);
      expect(await byDay(['visitors'], BERLIN)).toEqual([['2026-11-25', 2]]);
      expect(await byDay(['visitors', 'visits', 'bounce_rate'], 'UTC')).toEqual([
        ['2026-11-24', 1, 1, 0],
        ['2026-11-25', 1, 1, 0],
      ]);
      // With an event metric, from its events table: in each day holding one of their events.
      expect(await byDay(['visitors', 'pageviews'], 'UTC')).toEqual([
        ['2026-11-24', 2, 3],
        ['2026-11-25', 1, 1],
      ]);
      expect(await byDay(['visitors', 'pageviews'], BERLIN)).toEqual([
        ['2026-11-24', 1, 1],
        ['2026-11-25', 2, 3],
      ]);
      // By hour, a session's user in every hour of its time slots, as its visits.
      const byHour = await v2('2026-11-25', BERLIN, {
        metrics: ['visitors'],
        dimensions: ['time:hour'],
      });
      expect(byHour).toEqual([
        ['2026-11-25 00:00:00', 2],
        ['2026-11-25 01:00:00', 1],
      ]);
    });

    test("Plausible's v1 timeseries by day: visitors and visits as its tables count them", async () => {
      const series = async (metrics: string, tz: string) => {
        const query = `site_id=${SITE}&period=custom&date=2026-11-24,2026-11-25&tz=${tz}`;
        const body = await t.getJson<{ results: Json[] }>(
          `/api/v1/stats/timeseries?${query}&metrics=${metrics}`,
        );
        return body.results.map((r) => Object.values(r));
      };
      // v1's timeseries runs v2's query (Legacy.Timeseries, QueryRunner): the same tables.
      expect(await series('visitors', 'UTC')).toEqual([
        ['2026-11-24', 1],
        ['2026-11-25', 1],
      ]);
      expect(await series('visitors,visits', BERLIN)).toEqual([
        ['2026-11-24', 0, 0],
        ['2026-11-25', 2, 2],
      ]);
      expect(await series('visitors,visits,pageviews', 'UTC')).toEqual([
        ['2026-11-24', 2, 2, 3],
        ['2026-11-25', 1, 1, 1],
      ]);
    });

    test("Tally's /stats without from or without to reads the visits at the open end", async () => {
      const read = async (bound: Record<string, string>) => {
        const query = new URLSearchParams({ tenant_id: SITE, ...bound });
        const s = await t.getJson<Json>(`/api/v1/stats?${query}`);
        return [s.visits, s.page_views, s.visit_duration];
      };
      // Before UTC midnight: v1 whole and s2 whole (its /d after `to`), /a, /b and /c counted.
      expect(await read({ to: '2026-11-25T00:00:00Z' })).toEqual([2, 3, 900]);
      // From UTC midnight: s2 whole (600 s), /d alone counted.
      expect(await read({ from: '2026-11-25T00:00:00Z' })).toEqual([1, 1, 600]);
      expect(await read({})).toEqual([2, 4, 900]);
    });

    test("Plausible's v2 by hour: a visit begun the day before is in the first hour", async () => {
      const rows = await v2('2026-11-25', BERLIN, {
        metrics: ['visits'],
        dimensions: ['time:hour'],
      });
      // Each visit in every hour it spans within the range: v1 (23:50–00:10) in 00:00 only,
      // s2 (00:55–01:05) in 00:00 and 01:00.
      expect(rows).toEqual([
        ['2026-11-25 00:00:00', 2],
        ['2026-11-25 01:00:00', 1],
      ]);
    });
  });
}

describe("an engagement beacon keeps a visit alive over the day's start", () => {
  test('/a at 23:30, a beacon at 23:55, /b at 00:20 (Berlin): one visit entered at /a', async () => {
    const d = 'beacons.example';
    const send = async (time: string, body: Json) => {
      t.clock.set(at(time));
      const res = await t.post('/api/event', JSON.stringify({ ...body, d }), {
        'content-type': 'text/plain',
        'x-forwarded-for': '198.51.100.20',
      });
      expect(res.status).toBe(202);
    };
    await send('2026-11-24T22:30:00Z', { n: 'pageview', u: `https://${d}/a` });
    await send('2026-11-24T22:55:00Z', { n: 'engagement', u: `https://${d}/a`, e: 1000 });
    await send('2026-11-24T23:20:00Z', { n: 'pageview', u: `https://${d}/b` });
    t.clock.set(at('2026-11-26T12:00:00Z'));
    const read = async () => {
      const query = new URLSearchParams({ tenant_id: d, date: '2026-11-25', tz: BERLIN });
      const s = await t.getJson<Json>(`/api/v1/stats?${query}`);
      const res = await t.post('/api/v2/query', {
        site_id: d,
        metrics: ['visits', 'bounce_rate', 'visit_duration'],
        date_range: ['2026-11-25', '2026-11-25'],
        tz: BERLIN,
        dimensions: ['visit:entry_page'],
      });
      const body = (await res.json()) as { results: { dimensions: string[]; metrics: number[] }[] };
      return {
        native: [s.visits, s.bounce_rate, s.visit_duration, s.top_entry_pages],
        v2: body.results.map((r) => [...r.dimensions, ...r.metrics]),
      };
    };
    const expected = {
      native: [1, 0, 3000, [{ path: '/a', visitors: 1, visits: 1 }]],
      v2: [['/a', 1, 0, 3000]],
    };
    expect(await read()).toEqual(expected);
    await t.engine.store.flusher.flush();
    expect(await read()).toEqual(expected);
  });
});

describe("Umami's reads keep Umami's rule: the range's events alone", () => {
  test('a visit over UTC midnight is, on the 25th, its one event there: a bounce', async () => {
    const send = async (time: string, url: string) => {
      const body = {
        type: 'event',
        payload: { website: UMAMI, hostname: 'example.com', url, timestamp: at(time) / 1000 },
      };
      const res = await t.post('/api/send', body, { 'x-forwarded-for': '198.51.100.9' });
      expect(res.status).toBe(200);
    };
    await send('2026-11-24T23:50:00Z', '/');
    await send('2026-11-25T00:10:00Z', '/pricing');
    const range = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;
    const stats = await t.getJson<Json>(`/api/websites/${UMAMI}/stats?${range}`);
    expect(stats).toMatchObject({ pageviews: 1, visits: 1, bounces: 1, totaltime: 0 });
    const entries = await t.getJson<Json[]>(`/api/websites/${UMAMI}/metrics?type=entry&${range}`);
    expect(entries).toEqual([{ x: '/pricing', y: 1 }]);
  });
});
