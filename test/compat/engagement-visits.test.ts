// Plausible's engagement beacons keep a visit alive as they keep Plausible's session (its
// CacheStore refreshes a live session's time on an engagement and drops one with no session):
// a beacon at most 30 minutes after the visit's last event, or after a beacon that kept it
// alive, lets the next page view join the visit; a beacon that finds no live visit starts
// none; beacons are no page view, event, entry or exit page and add nothing to a visit's
// duration or bounce. Read by every read that forms visits, hot and flushed: Tally's stats,
// its visit filters and groups, Plausible's v1 and v2 and Umami's sessions.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

/** A site id that is also an Umami website id, so that Umami's reads read it. */
const SITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const DAY = '2026-11-20';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const engaged = (path: string) => ({ n: 'engagement', u: `https://example.com${path}`, e: 1000 });

/** Sends each (time, body) of the visitor at `ip`, in time order, on DAY. */
async function sendAll(ip: string, sent: [string, Json][]): Promise<void> {
  for (const [time, body] of [...sent].sort((a, b) => a[0].localeCompare(b[0]))) {
    t.clock.set(at(`${DAY}T${time}Z`));
    const res = await t.post('/api/event', JSON.stringify({ ...body, d: SITE }), {
      'content-type': 'text/plain',
      'x-forwarded-for': ip,
    });
    expect(res.status).toBe(202);
  }
  t.clock.set(at('2026-11-25T12:00:00Z'));
}

const RANGE = `from=${DAY}T00:00:00Z&to=2026-11-21T00:00:00Z`;

async function json(path: string): Promise<Json> {
  const res = await t.get(path);
  const body = await res.text();
  expect(res.status, `${path}: ${body}`).toBe(200);
  return JSON.parse(body) as Json;
}

/** Tally's visit totals and entry and exit pages. */
async function tallyVisits(): Promise<Json> {
  const s = await json(`/api/v1/stats?tenant_id=${SITE}&${RANGE}`);
  const paths = (list: unknown) => (list as Json[]).map((row) => [row.path, row.visits]);
  return {
    visits: s.visits,
    bounce_rate: s.bounce_rate,
    visit_duration: s.visit_duration,
    views_per_visit: s.views_per_visit,
    entry: paths(s.top_entry_pages),
    exit: paths(s.top_exit_pages),
  };
}

const V1_METRICS = 'visitors,visits,pageviews,events,bounce_rate,visit_duration,views_per_visit';

async function v1Aggregate(): Promise<Json> {
  const body = await json(
    `/api/v1/stats/aggregate?site_id=${SITE}&period=day&date=${DAY}&metrics=${V1_METRICS}`,
  );
  const results = body.results as Record<string, { value: unknown }>;
  return Object.fromEntries(Object.entries(results).map(([k, v]) => [k, v.value]));
}

async function v2EntryPages(): Promise<unknown> {
  const res = await t.post(
    '/api/v2/query',
    JSON.stringify({
      site_id: SITE,
      date_range: [DAY, DAY],
      metrics: ['visits', 'bounce_rate', 'visit_duration'],
      dimensions: ['visit:entry_page'],
    }),
    { 'content-type': 'application/json' },
  );
  const body = await res.text();
  expect(res.status, body).toBe(200);
  return (JSON.parse(body) as Json).results;
}

/** Umami's sessions (visits, views of each) and its stats (visits, bounces, totaltime). */
async function umamiVisits(): Promise<unknown> {
  const range = `startAt=${at(`${DAY}T00:00:00Z`)}&endAt=${at(`${DAY}T23:59:59.999Z`)}`;
  const body = await json(`/api/websites/${SITE}/sessions?${range}`);
  const stats = await json(`/api/websites/${SITE}/stats?${range}`);
  const value = (key: string) => {
    const v = stats[key];
    return typeof v === 'object' && v !== null ? (v as Json).value : v;
  };
  return {
    sessions: (body.data as Json[]).map((s) => [s.visits, s.views]),
    stats: ['visits', 'bounces', 'totaltime'].map(value),
  };
}

/** One Umami session (the visitor's): its visits and totaltime, and its activity's visit ids. */
async function umamiSession(): Promise<unknown> {
  const range = `startAt=${at(`${DAY}T00:00:00Z`)}&endAt=${at(`${DAY}T23:59:59.999Z`)}`;
  const list = await json(`/api/websites/${SITE}/sessions?${range}`);
  const id = (list.data as Json[])[0]?.id as string;
  const one = await json(`/api/websites/${SITE}/sessions/${id}`);
  const res = await t.get(`/api/websites/${SITE}/sessions/${id}/activity?${range}`);
  expect(res.status).toBe(200);
  const activity = (await res.json()) as Json[];
  return {
    visits: one.visits,
    totaltime: one.totaltime,
    events: activity.length,
    visitIds: new Set(activity.map((e) => e.visitId)).size,
  };
}

/** Every read, before and after the flush: they must answer the same. */
async function hotAndFlushed(check: () => Promise<void>): Promise<void> {
  await check();
  await t.engine.store.flusher.flush();
  await check();
}

describe('a long read', () => {
  // 10:00 /article, beacons at 10:25 and 10:40 (a blur, then a tab switch back and away),
  // 10:55 /next: 55 minutes without a page view, never 30 without a beacon.
  const story: [string, Json][] = [
    ['10:00:00', page('/article')],
    ['10:25:00', engaged('/article')],
    ['10:40:00', engaged('/article')],
    ['10:55:00', page('/next')],
  ];

  test('is one visit in every read, hot and flushed', async () => {
    await sendAll('198.51.100.31', story);
    await hotAndFlushed(async () => {
      expect(await tallyVisits()).toEqual({
        visits: 1,
        bounce_rate: 0,
        visit_duration: 3300,
        views_per_visit: 2,
        entry: [['/article', 1]],
        exit: [['/next', 1]],
      });
      expect(await v1Aggregate()).toEqual({
        visitors: 1,
        visits: 1,
        pageviews: 2,
        events: 2,
        bounce_rate: 0,
        visit_duration: 3300,
        views_per_visit: 2,
      });
      expect(await v2EntryPages()).toEqual([{ dimensions: ['/article'], metrics: [1, 0, 3300] }]);
      expect(await umamiVisits()).toEqual({ sessions: [[1, 2]], stats: [1, 0, 3300] });
      expect(await umamiSession()).toEqual({ visits: 1, totaltime: 3300, events: 2, visitIds: 1 });
    });
  });

  test('a visit filter keeps the whole visit: /next is in the visit entered at /article', async () => {
    await sendAll('198.51.100.31', story);
    await hotAndFlushed(async () => {
      const s = await json(`/api/v1/stats?tenant_id=${SITE}&${RANGE}&entry_page=/article`);
      expect([s.page_views, s.visits]).toEqual([2, 1]);
      const byEntry = await json(
        `/api/v1/timeseries?tenant_id=${SITE}&${RANGE}&bucket=day&group_by=entry_page`,
      );
      expect(JSON.stringify(byEntry)).not.toContain('/next');
    });
  });
});

test('beacons alone bridge any length: two hours of beacons 20 minutes apart', async () => {
  const sent: [string, Json][] = [['10:00:00', page('/a')]];
  for (const time of ['10:20', '10:40', '11:00', '11:20', '11:40']) {
    sent.push([`${time}:00`, engaged('/a')]);
  }
  sent.push(['12:05:00', page('/b')]);
  await sendAll('198.51.100.32', sent);
  await hotAndFlushed(async () => {
    expect(await v1Aggregate()).toMatchObject({ visits: 1, pageviews: 2, visit_duration: 7500 });
    expect((await tallyVisits()).entry).toEqual([['/a', 1]]);
  });
});

test('a pause of more than 30 minutes in the chain ends the visit: later beacons start nothing', async () => {
  // 10:00 /a, a beacon at 10:20 (live), one at 10:55 (35 minutes after: no live visit), then
  // /b at 11:10, 15 minutes after that beacon but 50 after the last live one: a new visit.
  await sendAll('198.51.100.33', [
    ['10:00:00', page('/a')],
    ['10:20:00', engaged('/a')],
    ['10:55:00', engaged('/a')],
    ['11:10:00', page('/b')],
  ]);
  await hotAndFlushed(async () => {
    expect(await tallyVisits()).toEqual({
      visits: 2,
      bounce_rate: 100,
      visit_duration: 0,
      views_per_visit: 1,
      entry: [
        ['/a', 1],
        ['/b', 1],
      ],
      exit: [
        ['/a', 1],
        ['/b', 1],
      ],
    });
    expect(await v1Aggregate()).toMatchObject({ visits: 2, bounce_rate: 100 });
  });
});

test('a beacon after a dead visit, or of a visitor with no page view, starts nothing', async () => {
  // The beacon at 10:45 finds the 10:00 visit over (45 minutes): /b at 11:00 is a new visit.
  await sendAll('198.51.100.34', [
    ['10:00:00', page('/a')],
    ['10:45:00', engaged('/a')],
    ['11:00:00', page('/b')],
  ]);
  // Beacons of a visitor who sent no page view: no visit, no visitor.
  await sendAll('198.51.100.35', [
    ['10:10:00', engaged('/c')],
    ['10:20:00', engaged('/c')],
  ]);
  await hotAndFlushed(async () => {
    expect(await v1Aggregate()).toEqual({
      visitors: 1,
      visits: 2,
      pageviews: 2,
      events: 2,
      bounce_rate: 100,
      visit_duration: 0,
      views_per_visit: 1,
    });
    expect(await umamiVisits()).toEqual({ sessions: [[2, 2]], stats: [2, 2, 0] });
  });
});

test('one page view and its beacons is a bounce of no duration, as in Plausible', async () => {
  // Plausible's engagement refreshes only the cached session's time: is_bounce and duration
  // change with the next page view or event, not with the beacon.
  await sendAll('198.51.100.36', [
    ['10:00:00', page('/a')],
    ['10:05:00', engaged('/a')],
    ['10:20:00', engaged('/a')],
  ]);
  await hotAndFlushed(async () => {
    expect(await tallyVisits()).toEqual({
      visits: 1,
      bounce_rate: 100,
      visit_duration: 0,
      views_per_visit: 1,
      entry: [['/a', 1]],
      exit: [['/a', 1]],
    });
    expect(await v1Aggregate()).toEqual({
      visitors: 1,
      visits: 1,
      pageviews: 1,
      events: 1,
      bounce_rate: 100,
      visit_duration: 0,
      views_per_visit: 1,
    });
  });
});

test("a visit's duration ends at its last page view or event, not at its last beacon", async () => {
  // As Plausible's: the session's duration is set by its events, a beacon changes only the
  // time the 30 minutes count from. /a 10:00, /b 10:05, /b read until a beacon at 10:20.
  await sendAll('198.51.100.38', [
    ['10:00:00', page('/a')],
    ['10:05:00', page('/b')],
    ['10:20:00', engaged('/b')],
  ]);
  await hotAndFlushed(async () => {
    expect(await v1Aggregate()).toMatchObject({ visits: 1, events: 2, visit_duration: 300 });
    expect(await tallyVisits()).toMatchObject({ visit_duration: 300, exit: [['/b', 1]] });
    expect(await umamiVisits()).toEqual({ sessions: [[1, 2]], stats: [1, 0, 300] });
  });
});

test('a beacon of the instant a visit starts does not join it to the visit before', async () => {
  // 10:00 /a, then /b at 11:00 with a beacon of /b at the same millisecond: two visits.
  await sendAll('198.51.100.37', [
    ['10:00:00', page('/a')],
    ['11:00:00', page('/b')],
    ['11:00:00', engaged('/b')],
  ]);
  await hotAndFlushed(async () => {
    expect(await v1Aggregate()).toMatchObject({ visits: 2, bounce_rate: 100 });
  });
});

test("a beacon after a session's event keeps alive the visit an event without one joins", async () => {
  // README "Limits": the native API's events of one visitor (the same address and agent as the
  // tracker's beacon), /a in session s1 at 10:00 and /b without a session at 10:50. The
  // beacon at 10:25 keeps the visit alive, so /b joins it; without a beacon (the second
  // visitor) /b, 50 minutes later, starts a visit of its own.
  const agent = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
  const native = async (ip: string, time: string, path: string, session?: string) => {
    t.clock.set(at(`${DAY}T${time}Z`)); // received then: the visitor hash is of that day
    const res = await t.post('/api/v1/events', {
      tenant_id: SITE,
      name: 'pageview',
      url: `https://example.com${path}`,
      timestamp: `${DAY}T${time}Z`,
      ip,
      user_agent: agent,
      ...(session === undefined ? {} : { session_id: session }),
    });
    expect(res.status).toBe(202);
  };
  await native('198.51.100.38', '10:00:00', '/a', 's1');
  t.clock.set(at(`${DAY}T10:25:00Z`));
  const res = await t.post('/api/event', JSON.stringify({ ...engaged('/a'), d: SITE }), {
    'content-type': 'text/plain',
    'user-agent': agent,
    'x-forwarded-for': '198.51.100.38',
  });
  expect(res.status).toBe(202);
  await native('198.51.100.38', '10:50:00', '/b');
  await native('198.51.100.39', '10:00:00', '/a', 's2');
  await native('198.51.100.39', '10:50:00', '/b');
  t.clock.set(at('2026-11-25T12:00:00Z'));
  await hotAndFlushed(async () => {
    expect(await tallyVisits()).toMatchObject({
      visits: 3,
      entry: [
        ['/a', 2],
        ['/b', 1],
      ],
    });
  });
});
