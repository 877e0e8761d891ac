// Umami's session and event reads over events sent through Umami's collection API
// (/api/send), in open mode: the sessions list (paging, search, filters, a zone's range), the
// session totals, one session and its activity, the event list and the custom event totals,
// and another website's events never among them. Required mode's 401s are in
// umami-read-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { eventLimits } from '../../src/core/index.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { IPHONE_SAFARI, WINDOWS_CHROME } from './helpers/user-agents.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
const at = (iso: string) => Date.parse(iso);

let t: CompatApp;
/** The sessionId /api/send answered each visitor, by its address. */
let sessionOf: Record<string, string>;
let visitOf: Record<string, string[]>;

async function send(time: string, ip: string, payload: Json, ua = WINDOWS_CHROME, site = WEBSITE) {
  const body = {
    type: 'event',
    payload: { website: site, hostname: 'example.com', timestamp: at(time) / 1000, ...payload },
  };
  const res = await t.post('/api/send', body, { 'user-agent': ua, 'x-forwarded-for': ip });
  expect(res.status).toBe(200);
  const ids = (await res.json()) as { sessionId: string; visitId: string };
  if (site === WEBSITE) {
    sessionOf[ip] = ids.sessionId;
    visitOf[ip] = [...new Set([...(visitOf[ip] ?? []), ids.visitId])];
  }
}

/**
 * A (Chrome): 11-24 10:00 / from Google, 10:04 /blog/hello?ref=x, 10:05 signup there; again
 * at 15:00 (a second visit) on /pricing. B (iPhone): 11-24 11:00 /blog/other from Hacker News.
 * C (Chrome): 11-25 09:00 /, 09:10 /pricing, 09:11 signup. Another website has a page view
 * and an event on 11-24. The clock stops at 12:00 on 11-25.
 */
beforeEach(async () => {
  t = await makeCompatApp({ trustProxy: true });
  sessionOf = {};
  visitOf = {};
  const [a, b, c] = ['198.51.100.1', '198.51.100.2', '198.51.100.3'];
  await send('2026-11-24T10:00:00Z', a, {
    url: '/',
    referrer: 'https://www.google.com/search?q=tally',
    title: 'Home',
    screen: '1920x1080',
    language: 'en-US',
  });
  await send('2026-11-24T10:04:00Z', a, { url: '/blog/hello?ref=x', title: 'Hello' });
  await send('2026-11-24T10:05:00Z', a, {
    url: '/blog/hello',
    name: 'signup',
    data: { plan: 'pro' },
  });
  await send('2026-11-24T15:00:00Z', a, { url: '/pricing' });
  await send(
    '2026-11-24T11:00:00Z',
    b,
    { url: '/blog/other', referrer: 'https://news.ycombinator.com/item?id=1' },
    IPHONE_SAFARI,
  );
  await send('2026-11-25T09:00:00Z', c, { url: '/' });
  await send('2026-11-25T09:10:00Z', c, { url: '/pricing' });
  await send('2026-11-25T09:11:00Z', c, { url: '/pricing', name: 'trial' });
  await send('2026-11-24T12:00:00Z', '198.51.100.9', { url: '/' }, WINDOWS_CHROME, OTHER);
  await send(
    '2026-11-24T12:01:00Z',
    '198.51.100.9',
    { url: '/', name: 'x' },
    WINDOWS_CHROME,
    OTHER,
  );
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const TWO_DAYS = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;

const read = async (path: string, query = TWO_DAYS, site = WEBSITE) => {
  const res = await t.get(`/api/websites/${site}/${path}?${query}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (path: string, query = TWO_DAYS) => {
  const { status, body } = await read(path, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
};

describe('sessions', () => {
  test('one row per visitor, the newest first, with its visits, views and events', async () => {
    const body = await ok('sessions');
    expect(body).toMatchObject({ count: 3, page: 1, pageSize: 20 });
    const data = body.data as Json[];
    expect(data.map((s) => s.id)).toEqual([
      sessionOf['198.51.100.3'],
      sessionOf['198.51.100.1'],
      sessionOf['198.51.100.2'],
    ]);
    expect(data[1]).toEqual({
      id: sessionOf['198.51.100.1'],
      websiteId: WEBSITE,
      hostname: 'example.com',
      browser: 'Chrome',
      os: 'Windows',
      device: 'Desktop',
      screen: '1920x1080',
      language: 'en-US',
      country: null,
      region: null,
      city: null,
      firstAt: '2026-11-24T10:00:00.000Z',
      lastAt: '2026-11-24T15:00:00.000Z',
      visits: 2,
      views: 3,
      events: 1,
      createdAt: '2026-11-24T15:00:00.000Z',
    });
    expect(data[2]).toMatchObject({ os: 'iOS', device: 'Mobile', visits: 1, views: 1 });
  });
});

describe('sessions: paging, search, filters, a zone', () => {
  test('page and pageSize page the newest first; count is all of them', async () => {
    const first = await ok('sessions', `${TWO_DAYS}&pageSize=2`);
    const second = await ok('sessions', `${TWO_DAYS}&pageSize=2&page=2`);
    expect(first).toMatchObject({ count: 3, page: 1, pageSize: 2 });
    expect((first.data as Json[]).map((s) => s.id)).toEqual([
      sessionOf['198.51.100.3'],
      sessionOf['198.51.100.1'],
    ]);
    expect(second).toMatchObject({ count: 3, page: 2, pageSize: 2 });
    expect((second.data as Json[]).map((s) => s.id)).toEqual([sessionOf['198.51.100.2']]);
    expect(await ok('sessions', `${TWO_DAYS}&page=9`)).toEqual({
      data: [],
      count: 3,
      page: 9,
      pageSize: 20,
    });
  });

  test('search finds a user id, browser, OS or device, in any case', async () => {
    const body = await ok('sessions', `${TWO_DAYS}&search=ios`);
    expect(body.count).toBe(1);
    expect((body.data as Json[])[0]?.id).toBe(sessionOf['198.51.100.2']);
    // And the user id (a payload `id`), in any case: that session's id is the user's (README).
    await send('2026-11-25T10:00:00Z', '198.51.100.4', { url: '/', id: 'Ada@Example.com' });
    const user = await ok('sessions', `${TWO_DAYS}&search=ada@example`);
    expect((user.data as Json[]).map((s) => s.id)).toEqual(['Ada@Example.com']);
  });

  test('filters keep the sessions with a matching event, counted over those', async () => {
    const body = await ok('sessions', `${TWO_DAYS}&path=%2Fpricing`);
    expect(body.count).toBe(2);
    const [c, a] = body.data as Json[];
    expect(c).toMatchObject({ id: sessionOf['198.51.100.3'], views: 1, events: 1, visits: 1 });
    expect(a).toMatchObject({
      id: sessionOf['198.51.100.1'],
      views: 1,
      events: 0,
      visits: 1,
      firstAt: '2026-11-24T15:00:00.000Z',
    });
    const google = await ok('sessions', `${TWO_DAYS}&referrer=google.com`);
    expect((google.data as Json[]).map((s) => s.id)).toEqual([sessionOf['198.51.100.1']]);
    const notChrome = await ok('sessions', `${TWO_DAYS}&browser=neq.Chrome`);
    expect((notChrome.data as Json[]).map((s) => s.id)).toEqual([sessionOf['198.51.100.2']]);
  });

  test("a zone's local dates: startDate and endDate with its offset", async () => {
    // 11-25 in UTC+14 is 11-24 10:00Z to 11-25 10:00Z: B, A and C's morning.
    const local = 'startDate=2026-11-25T00:00:00%2B14:00&endDate=2026-11-25T23:59:59.999%2B14:00';
    const body = await ok('sessions', `${local}&timezone=Pacific%2FKiritimati`);
    expect(body.count).toBe(3);
    // The day after, 11-25 10:00Z on: nothing; a morning in New York's zone: C's first view.
    const later = 'startDate=2026-11-25T10:00:00Z&endDate=2026-11-26T09:59:59.999Z';
    expect((await ok('sessions', later)).count).toBe(0);
    const morning = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T09:05:00Z')}`;
    const c = await ok('sessions', `${morning}&timezone=America%2FNew_York`);
    expect(c.data).toMatchObject([{ id: sessionOf['198.51.100.3'], views: 1, events: 0 }]);
  });

  test("Umami's 400s: no range, a bad zone, a bad page", async () => {
    for (const query of ['', `${TWO_DAYS}&timezone=Mars%2FOlympus`, `${TWO_DAYS}&page=0`]) {
      const { status, body } = await read('sessions', query);
      expect(status).toBe(400);
      expect(body.error).toMatchObject({ code: 'bad-request', status: 400 });
    }
    expect((await read('sessions', `${TWO_DAYS}&pageSize=501`)).status).toBe(400);
    // README Limits: 10,000 pages at most (queryLimits.breakdownPageMax), sessions and events.
    for (const list of ['sessions', 'events']) {
      expect((await read(list, `${TWO_DAYS}&page=10000`)).status).toBe(200);
      expect((await read(list, `${TWO_DAYS}&page=10001`)).status).toBe(400);
    }
    expect((await read('sessions', `${TWO_DAYS}&city=Berlin`)).status).toBe(400);
  });
});

describe('session stats, one session, its activity', () => {
  test('sessions/stats: page views, visitors, visits, countries, custom events', async () => {
    expect(await ok('sessions/stats')).toEqual({
      pageviews: { value: 6 },
      visitors: { value: 3 },
      visits: { value: 4 },
      countries: { value: 0 },
      events: { value: 2 },
    });
    expect(await ok('sessions/stats', `${TWO_DAYS}&path=%2Fpricing`)).toMatchObject({
      pageviews: { value: 2 },
      visitors: { value: 2 },
      events: { value: 1 },
    });
    // The same visitors and visits as /stats counts.
    expect(await ok('stats')).toMatchObject({ pageviews: 6, visitors: 3, visits: 4 });
  });

  test('sessions/:sessionId: over all its events, with its seconds', async () => {
    const a = sessionOf['198.51.100.1'] as string;
    const { status, body } = await read(`sessions/${a}`, '');
    expect(status).toBe(200);
    expect(body).toMatchObject({
      id: a,
      distinctId: null,
      websiteId: WEBSITE,
      browser: 'Chrome',
      firstAt: '2026-11-24T10:00:00.000Z',
      lastAt: '2026-11-24T15:00:00.000Z',
      visits: 2,
      views: 3,
      events: 1,
      totaltime: 300,
    });
    expect(body.createdAt).toBeUndefined();
    const missing = await read('sessions/0f0e0d0c-0000-5000-8000-000000000000', '');
    expect(missing.status).toBe(404);
    expect(missing.body).toEqual({
      error: { message: 'Not found', code: 'not-found', status: 404 },
    });
  });

  test('activity: its events in the range, the newest first, with their visits', async () => {
    const a = sessionOf['198.51.100.1'] as string;
    const body = (await ok(`sessions/${a}/activity`)) as unknown as Json[];
    expect(body.map((e) => [e.createdAt, e.urlPath, e.eventType, e.eventName])).toEqual([
      ['2026-11-24T15:00:00.000Z', '/pricing', 1, null],
      ['2026-11-24T10:05:00.000Z', '/blog/hello', 2, 'signup'],
      ['2026-11-24T10:04:00.000Z', '/blog/hello', 1, null],
      ['2026-11-24T10:00:00.000Z', '/', 1, null],
    ]);
    expect(body[1]).toMatchObject({ urlQuery: null, hasData: true });
    expect(body[2]).toMatchObject({ urlQuery: 'ref=x', hasData: false });
    expect(body[3]).toMatchObject({ referrerDomain: 'google.com' });
    // The visit ids /api/send answered: one per hour.
    const visits = [...new Set(body.map((e) => e.visitId))];
    expect(visits.sort()).toEqual([...(visitOf['198.51.100.1'] as string[])].sort());
    const morning = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-24T12:00:00Z')}`;
    expect((await ok(`sessions/${a}/activity`, morning)) as unknown as Json[]).toHaveLength(3);
  });

  test('activity lists the newest 500 events of the range', async () => {
    const d = '198.51.100.4';
    const start = at('2026-11-25T10:00:00Z');
    const item = (i: number) => ({
      type: 'event',
      payload: { website: WEBSITE, url: `/p${i}`, timestamp: (start + i * 1000) / 1000 },
    });
    for (const [from, to] of [
      [0, 300],
      [300, 500],
    ] as const) {
      const items = Array.from({ length: to - from }, (_, k) => item(from + k));
      const res = await t.post('/api/batch', items, {
        'user-agent': WINDOWS_CHROME,
        'x-forwarded-for': d,
      });
      expect(res.status).toBe(200);
    }
    await send('2026-11-25T10:08:20Z', d, { url: '/p500' });
    const body = (await ok(`sessions/${sessionOf[d]}/activity`)) as unknown as Json[];
    expect(body).toHaveLength(500);
    expect([body[0]?.urlPath, body.at(-1)?.urlPath]).toEqual(['/p500', '/p1']);
  });
});

describe("an identified visitor's session: the sessionId /api/send answered", () => {
  // Sent with an `id`, the visitor is that user (visitor_id = the id) and the sessionId
  // answered is the events' anonymous_id: it names that session too, as Umami's does (README).
  const ADA = '198.51.100.4';
  const sendAda = (time: string, payload: Json) => send(time, ADA, { id: 'ada', ...payload });

  test('sessions/:sessionId answers the session, under the id asked', async () => {
    await sendAda('2026-11-25T10:00:00Z', { url: '/' });
    await t.engine.store.flusher.flush();
    await sendAda('2026-11-25T10:01:00Z', { url: '/pricing', name: 'trial' });
    const answered = sessionOf[ADA] as string;
    const byUser = await ok('sessions/ada', '');
    expect(byUser).toMatchObject({ id: 'ada', distinctId: 'ada', views: 1, events: 1 });
    const { status, body } = await read(`sessions/${answered}`, '');
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toEqual({ ...byUser, id: answered });
    // Its activity: the same events, over the segment and the hot tier.
    const activity = (await ok(`sessions/${answered}/activity`)) as unknown as Json[];
    expect(activity.map((e) => [e.urlPath, e.eventType, e.eventName])).toEqual([
      ['/pricing', 2, 'trial'],
      ['/', 1, null],
    ]);
    expect(activity).toEqual((await ok('sessions/ada/activity')) as unknown as Json[]);
    // The list names it by its visitor, an id that reads it as well.
    const list = (await ok('sessions')).data as Json[];
    expect(list.map((s) => s.id)).toContain('ada');
    expect(list.map((s) => s.id)).not.toContain(answered);
  });

  test("each month's sessionId names the one session; others are not found", async () => {
    await sendAda('2026-11-25T10:00:00Z', { url: '/' });
    const november = sessionOf[ADA] as string;
    await sendAda('2026-10-15T10:00:00Z', { url: '/old' });
    const october = sessionOf[ADA] as string;
    expect(october).not.toBe(november);
    for (const id of [october, november]) {
      expect(await ok(`sessions/${id}`, '')).toMatchObject({ id, distinctId: 'ada', views: 2 });
    }
    const unknown = await read('sessions/0f0e0d0c-0000-5000-8000-000000000001', '');
    expect(unknown.status).toBe(404);
    const none = await read('sessions/0f0e0d0c-0000-5000-8000-000000000001/activity');
    expect(none.body as unknown).toEqual([]);
    // The same user on another website has another sessionId, not found under this one, and
    // this website's is not found under the other.
    const res = await t.post(
      '/api/send',
      { type: 'event', payload: { website: OTHER, url: '/', id: 'ada' } },
      { 'user-agent': WINDOWS_CHROME, 'x-forwarded-for': ADA },
    );
    const elsewhere = ((await res.json()) as { sessionId: string }).sessionId;
    expect(elsewhere).not.toBe(november);
    expect((await read(`sessions/${elsewhere}`, '')).status).toBe(404);
    expect((await read(`sessions/${elsewhere}/activity`)).body as unknown).toEqual([]);
    expect((await read(`sessions/${november}`, '', OTHER)).status).toBe(404);
    expect((await read(`sessions/${november}/activity`, TWO_DAYS, OTHER)).body as unknown).toEqual(
      [],
    );
    expect(await ok('sessions/ada', '')).toMatchObject({ views: 2 });
  });

  test("a visitor's id is read once; only a miss looks for the visitor it names", async () => {
    await sendAda('2026-11-25T10:00:00Z', { url: '/' });
    const answered = sessionOf[ADA] as string;
    const { store, registry } = t.engine;
    await registry.peek(WEBSITE)?.whenReady(); // its live counters' rebuild reads the store too
    const snapshot = store.snapshot.bind(store);
    let reads = 0;
    store.snapshot = (...args) => {
      if (args[0] === WEBSITE) reads++;
      return snapshot(...args);
    };
    const readsOf = async (sub: string, query?: string) => {
      reads = 0;
      await read(sub, query);
      return reads;
    };
    // readSession (umami-read-context.ts): the extra query is made only on a miss.
    expect(await readsOf('sessions/ada', '')).toBe(1);
    expect(await readsOf('sessions/ada/activity')).toBe(1);
    expect(await readsOf(`sessions/${answered}`, '')).toBe(3); // a miss, found, read again
    expect(await readsOf('sessions/nobody', '')).toBe(2); // a miss, and none named
    // An id longer than any stored id names nobody: no scan looks for it.
    const long = 'x'.repeat(eventLimits.idCharsMax + 1);
    expect(await readsOf(`sessions/${long}`, '')).toBe(1);
    expect(await readsOf(`sessions/${long}/activity`)).toBe(1);
  });
});

describe('events', () => {
  test("page views and custom events, the newest first, in Umami's fields", async () => {
    const body = await ok('events', `${TWO_DAYS}&pageSize=3`);
    expect(body).toMatchObject({ count: 8, page: 1, pageSize: 3 });
    const data = body.data as Json[];
    expect(data.map((e) => [e.urlPath, e.eventType, e.eventName])).toEqual([
      ['/pricing', 2, 'trial'],
      ['/pricing', 1, null],
      ['/', 1, null],
    ]);
    expect(data[0]).toMatchObject({
      websiteId: WEBSITE,
      sessionId: sessionOf['198.51.100.3'],
      createdAt: '2026-11-25T09:11:00.000Z',
      hostname: 'example.com',
      browser: 'Chrome',
      os: 'Windows',
      device: 'Desktop',
      city: null,
      hasData: false,
    });
    const page3 = await ok('events', `${TWO_DAYS}&pageSize=3&page=3`);
    expect((page3.data as Json[]).map((e) => e.urlPath)).toEqual(['/blog/hello', '/']);
  });

  test('referrer, title and query fields; search and filters', async () => {
    const hn = await ok('events', `${TWO_DAYS}&referrer=news.ycombinator.com`);
    expect(hn.data).toMatchObject([
      {
        referrerDomain: 'news.ycombinator.com',
        referrerPath: '/item',
        referrerQuery: 'id=1',
        urlPath: '/blog/other',
      },
    ]);
    const titled = await ok('events', `${TWO_DAYS}&title=Hello`);
    expect(titled.data).toMatchObject([{ pageTitle: 'Hello', urlQuery: 'ref=x' }]);
    // Search: custom events by name, page views by path.
    const signup = await ok('events', `${TWO_DAYS}&search=SIGN`);
    expect((signup.data as Json[]).map((e) => e.eventName)).toEqual(['signup']);
    const blog = await ok('events', `${TWO_DAYS}&search=blog`);
    expect(blog.count).toBe(2);
    const named = await ok('events', `${TWO_DAYS}&event=trial`);
    expect(named.data).toMatchObject([{ eventName: 'trial' }]);
  });

  test('events/stats: custom events, visitors, visits and names, with the period before', async () => {
    expect(await ok('events/stats')).toEqual({
      data: {
        events: 2,
        visitors: 2,
        visits: 2,
        uniqueEvents: 2,
        comparison: { events: 0, visitors: 0, visits: 0, uniqueEvents: 0 },
      },
    });
    const day = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;
    expect(await ok('events/stats', `${day}&compare=prev`)).toEqual({
      data: {
        events: 1,
        visitors: 1,
        visits: 1,
        uniqueEvents: 1,
        comparison: { events: 1, visitors: 1, visits: 1, uniqueEvents: 1 },
      },
    });
  });
  test('an event filter other than a name still counts custom events only', async () => {
    // Umami's event_type = 2: page views are never events, whatever `event` excludes.
    expect(await ok('events/stats', `${TWO_DAYS}&event=neq.signup`)).toMatchObject({
      data: { events: 1, visitors: 1, visits: 1, uniqueEvents: 1 },
    });
    expect((await ok('events/stats', `${TWO_DAYS}&event=pageview`)).data).toMatchObject({
      events: 0,
      uniqueEvents: 0,
    });
    expect(await ok('sessions/stats', `${TWO_DAYS}&event=dnc.x`)).toMatchObject({
      pageviews: { value: 6 },
      events: { value: 2 },
    });
  });
});

describe('sessions/weekly', () => {
  test("each hour of the week's distinct visitors, Sunday first, in the zone asked", async () => {
    // Umami's documented route: answered as a missing session `weekly` (404) before.
    const week = (cells: [number, number, number][]) => {
      const rows = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
      for (const [day, hour, n] of cells) (rows[day] as number[])[hour] = n;
      return rows as unknown as Json;
    };
    // A's three events of 10:00–10:05 on Tuesday the 24th are one visitor of that hour.
    expect(await ok('sessions/weekly')).toEqual(
      week([
        [2, 10, 1],
        [2, 11, 1],
        [2, 15, 1],
        [3, 9, 1],
      ]),
    );
    expect(await ok('sessions/weekly', `${TWO_DAYS}&timezone=America/New_York`)).toEqual(
      week([
        [2, 5, 1],
        [2, 6, 1],
        [2, 10, 1],
        [3, 4, 1],
      ]),
    );
    expect(await ok('sessions/weekly', `${TWO_DAYS}&browser=Safari`)).toEqual(week([[2, 11, 1]]));
    expect((await read('sessions/weekly', 'timezone=UTC')).status).toBe(400);
  });

  test("local hours by the zone's rules as the other reads have them", async () => {
    const week = (cells: [number, number, number][]) => {
      const rows = Array.from({ length: 7 }, () => new Array<number>(24).fill(0));
      for (const [day, hour, n] of cells) {
        const row = rows[day] as number[];
        row[hour] = (row[hour] ?? 0) + n;
      }
      return rows as unknown as Json;
    };
    // Kathmandu is +05:45: A's 10:00Z is Tuesday 15:45, its 15:00Z 20:45, B's 11:00Z 16:45,
    // C's 09:00Z on Wednesday 14:45.
    expect(await ok('sessions/weekly', `${TWO_DAYS}&timezone=Asia/Kathmandu`)).toEqual(
      week([
        [2, 15, 1],
        [2, 16, 1],
        [2, 20, 1],
        [3, 14, 1],
      ]),
    );
    // Vancouver's rules since 2026-11-01 differ between tzdata releases (the runtime's Intl
    // and DuckDB's ICU held two): the weekly hours are those of the hourly series, whatever
    // the release, as every read takes the runtime's.
    const zone = `${TWO_DAYS}&timezone=America/Vancouver`;
    const series = (await ok('pageviews', `${zone}&unit=hour`)) as { sessions: Json[] };
    const cells = series.sessions.map((point): [number, number, number] => {
      const [date = '', time = ''] = String(point.x).split(' ');
      return [new Date(`${date}T00:00:00Z`).getUTCDay(), Number(time.slice(0, 2)), Number(point.y)];
    });
    expect(cells).toHaveLength(4);
    expect(await ok('sessions/weekly', zone)).toEqual(week(cells));
  });
});

describe('events/series', () => {
  test('custom events per name and bucket, by bucket then count, in the zone asked', async () => {
    // Umami's documented website-stats route (its getEventStats): a 404 before.
    await send('2026-11-25T09:30:00Z', '198.51.100.3', { url: '/pricing', name: 'signup' });
    expect(await ok('events/series', `${TWO_DAYS}&unit=day`)).toEqual([
      { x: 'signup', t: '2026-11-24T00:00:00Z', y: 1 },
      { x: 'signup', t: '2026-11-25T00:00:00Z', y: 1 },
      { x: 'trial', t: '2026-11-25T00:00:00Z', y: 1 },
    ] as unknown as Json);
    const local = await ok('events/series', `${TWO_DAYS}&unit=hour&timezone=America/New_York`);
    expect(local).toEqual([
      { x: 'signup', t: '2026-11-24 05:00:00', y: 1 },
      { x: 'signup', t: '2026-11-25 04:00:00', y: 1 },
      { x: 'trial', t: '2026-11-25 04:00:00', y: 1 },
    ] as unknown as Json);
    const pricing = await ok('events/series', `${TWO_DAYS}&unit=day&path=/pricing&event=signup`);
    expect(pricing).toEqual([{ x: 'signup', t: '2026-11-25T00:00:00Z', y: 1 }] as unknown as Json);
    const twice = `startAt=${at('2026-11-25T09:00:00Z')}&endAt=${at('2026-11-25T09:59:59.999Z')}`;
    expect(await ok('events/series', `${twice}&unit=hour`)).toEqual([
      { x: 'signup', t: '2026-11-25T09:00:00Z', y: 1 },
      { x: 'trial', t: '2026-11-25T09:00:00Z', y: 1 },
    ] as unknown as Json);
    expect((await read('events/series', 'unit=day')).status).toBe(400);
  });

  test('at most 10,000 rows (README Limits), where Umami answers them all', async () => {
    // 10,001 custom events of as many names in one hour: a row each.
    const events = Array.from({ length: 10_001 }, (_, i) => ({
      tenant_id: WEBSITE,
      name: `e${String(i).padStart(5, '0')}`,
      url: 'https://example.com/',
      timestamp: '2026-11-25T08:00:00Z',
    }));
    for (let i = 0; i < events.length; i += 5000) {
      const res = await t.post('/api/v1/events/batch', { events: events.slice(i, i + 5000) });
      expect(res.status).toBe(202);
    }
    const day = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;
    const rows = (await ok('events/series', `${day}&unit=day`)) as unknown as Json[];
    expect(rows).toHaveLength(10_000);
  });
});

describe('entry and exit filters', () => {
  test("the lists read them on each event's page, as Umami's rows; the totals by visit", async () => {
    // The lists filter each event (Umami's website_event rows), and Umami's FILTER_COLUMNS
    // reads `entry` and `exit` there as its url_path: these reads failed an assertion (500).
    const entered = await ok('events', `${TWO_DAYS}&entry=/`);
    expect(entered.count).toBe(2);
    expect((entered.data as Json[]).map((e) => [e.urlPath, e.createdAt])).toEqual([
      ['/', '2026-11-25T09:00:00.000Z'],
      ['/', '2026-11-24T10:00:00.000Z'],
    ]);
    const left = await ok('events', `${TWO_DAYS}&exit=/pricing`);
    expect((left.data as Json[]).map((e) => [e.urlPath, e.eventName])).toEqual([
      ['/pricing', 'trial'],
      ['/pricing', null],
      ['/pricing', null],
    ]);
    const sessions = await ok('sessions', `${TWO_DAYS}&entry=/`);
    expect((sessions.data as Json[]).map((s) => s.id).sort()).toEqual(
      [sessionOf['198.51.100.1'], sessionOf['198.51.100.3']].sort(),
    );
    const data = await t.get(
      `/api/websites/${WEBSITE}/event-data/events?${TWO_DAYS}&exit=/blog/hello`,
    );
    expect(await data.json()).toEqual([
      { eventName: 'signup', propertyName: 'plan', dataType: 1, total: 1 },
    ]);
    expect(await ok('event-data/stats', `${TWO_DAYS}&entry=/`)).toEqual({
      events: 0,
      properties: 0,
      records: 0,
    });
    expect((await t.get(`/api/realtime/${WEBSITE}?exit=/pricing`)).status).toBe(200);
    // The totals keep Tally's visits: A entered at / on 11-24 (its signup came in that
    // visit), C at / on 11-25.
    expect(await ok('events/stats', `${TWO_DAYS}&entry=/`)).toMatchObject({
      data: { events: 2, visitors: 2, visits: 2 },
    });
  });
});

describe('bots', () => {
  test("a crawler's page view is in no list: not events, sessions or their stats", async () => {
    const before = await Promise.all(
      ['events', 'sessions', 'sessions/stats', 'events/stats'].map((path) => ok(path)),
    );
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await send('2026-11-25T10:30:00Z', '198.51.100.66', { url: '/crawled' }, bot);
    const after = await Promise.all(
      ['events', 'sessions', 'sessions/stats', 'events/stats'].map((path) => ok(path)),
    );
    expect(after).toEqual(before);
    // It is stored (the export has it), only left out of the reads.
    const exported = await t.get(`/api/v1/export?tenant_id=${WEBSITE}&format=ndjson`);
    expect(await exported.text()).toContain('/crawled');
  });
});

describe('another website', () => {
  test("its sessions and events are never another's", async () => {
    const sessions = await read('sessions', TWO_DAYS, OTHER);
    expect(sessions.body.count).toBe(1);
    const events = await read('events', TWO_DAYS, OTHER);
    expect((events.body.data as Json[]).map((e) => e.websiteId)).toEqual([OTHER, OTHER]);
    expect((await ok('events')).count).toBe(8);
    // Nor is a session of one website read through the other.
    const a = sessionOf['198.51.100.1'] as string;
    expect((await read(`sessions/${a}`, '', OTHER)).status).toBe(404);
    const activity = await read(`sessions/${a}/activity`, TWO_DAYS, OTHER);
    expect(activity.body as unknown).toEqual([]);
  });
});
