// Umami's session and event reads over events sent through Umami's collection API
// (/api/send), in open mode: the sessions list (paging, search, filters, a zone's range), the
// session totals, one session and its activity, the event list and the custom event totals,
// and another website's events never among them. Required mode's 401s are in
// umami-read-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
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
