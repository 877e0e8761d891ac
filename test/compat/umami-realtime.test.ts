// Umami's realtime read (GET /api/realtime/:websiteId) over events sent through Umami's
// collection API, in open mode with a country database: the last 30 minutes' page views and
// sessions per minute, the newest 100 events as Umami's feed (each session marked below its
// first event), urls, referrers and countries counted over them; filters, zones, another
// website, hot and flushed events. Required mode's 401s are in umami-read-auth.test.ts.

import { afterAll, afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { CountryDb } from '../../src/engine/index.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { WINDOWS_CHROME } from './helpers/user-agents.ts';

const geo = makeTempDir('tally-geoip-');
afterAll(geo.remove);
const countries = CountryDb.open(writeTestCountryDb(geo.dir));

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
const at = (iso: string) => Date.parse(iso);
const [GB, GI] = ['81.2.69.160', '2a02:ffc0::1'];

let t: CompatApp;
let sessionOf: Record<string, string>;

function item(time: string, payload: Json, site = WEBSITE) {
  return {
    type: 'event',
    payload: { website: site, hostname: 'example.com', timestamp: at(time) / 1000, ...payload },
  };
}

async function send(time: string, ip: string, payload: Json, site = WEBSITE) {
  const headers = { 'user-agent': WINDOWS_CHROME, 'x-forwarded-for': ip };
  const res = await t.post('/api/send', item(time, payload, site), headers);
  expect(res.status).toBe(200);
  sessionOf[ip] = ((await res.json()) as { sessionId: string }).sessionId;
}

/**
 * A (GB): 11:25 / (before the 30 minutes), 11:40 /pricing from Google, 11:41 signup there
 * (flushed); 11:50 /. B (GI): 11:45 /blog from Hacker News. Another website: 11:50 /. The
 * clock stops at 12:00:30, so the 30 minutes start at 11:30.
 */
beforeEach(async () => {
  t = await makeCompatApp({ trustProxy: true, engine: { countries } });
  sessionOf = {};
  await send('2026-11-25T11:25:00Z', GB, { url: '/' });
  await send('2026-11-25T11:40:00Z', GB, {
    url: '/pricing',
    referrer: 'https://www.google.com/search?q=tally',
  });
  await send('2026-11-25T11:41:00Z', GB, { url: '/pricing', name: 'signup' });
  await t.engine.store.flusher.flush();
  expect(t.engine.store.catalog.allSegments().length).toBeGreaterThan(0);
  await send('2026-11-25T11:50:00Z', GB, { url: '/' });
  await send('2026-11-25T11:45:00Z', GI, {
    url: '/blog',
    referrer: 'https://news.ycombinator.com/item?id=1',
  });
  await send('2026-11-25T11:50:00Z', '198.51.100.9', { url: '/other' }, OTHER);
  t.clock.set(at('2026-11-25T12:00:30Z'));
});
afterEach(() => t.close());

const read = async (query = '', site = WEBSITE) => {
  const res = await t.get(`/api/realtime/${site}${query === '' ? '' : `?${query}`}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (query = '', site = WEBSITE) => {
  const { status, body } = await read(query, site);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
};

const feedRow = (ip: string, time: string, urlPath: string, referrerDomain: string | null) => ({
  sessionId: sessionOf[ip],
  createdAt: time,
  browser: 'Chrome',
  os: 'Windows',
  device: 'Desktop',
  country: ip === GB ? 'GB' : 'GI',
  urlPath,
  referrerDomain,
  hostname: 'example.com',
});

describe('realtime', () => {
  test("the last 30 minutes as Umami's getRealtimeData shapes them", async () => {
    const body = await ok();
    const a40 = feedRow(GB, '2026-11-25T11:40:00.000Z', '/pricing', 'google.com');
    expect(body).toEqual({
      countries: { GB: 1, GI: 1 },
      urls: { '/pricing': 2, '/blog': 1, '/': 1 },
      referrers: { 'google.com': 1, 'news.ycombinator.com': 1 },
      events: [
        { __type: 'pageview', ...feedRow(GB, '2026-11-25T11:50:00.000Z', '/', null) },
        {
          __type: 'pageview',
          ...feedRow(GI, '2026-11-25T11:45:00.000Z', '/blog', 'news.ycombinator.com'),
        },
        {
          __type: 'session',
          ...feedRow(GI, '2026-11-25T11:45:00.000Z', '/blog', 'news.ycombinator.com'),
        },
        {
          __type: 'event',
          ...feedRow(GB, '2026-11-25T11:41:00.000Z', '/pricing', null),
          eventName: 'signup',
        },
        { __type: 'pageview', ...a40, eventName: null },
        { __type: 'session', ...a40, eventName: null },
      ].map((e) => ({ eventName: null, ...e })),
      series: {
        views: [
          { x: '2026-11-25T11:40:00Z', y: 1 },
          { x: '2026-11-25T11:45:00Z', y: 1 },
          { x: '2026-11-25T11:50:00Z', y: 1 },
        ],
        visitors: [
          { x: '2026-11-25T11:40:00Z', y: 1 },
          { x: '2026-11-25T11:45:00Z', y: 1 },
          { x: '2026-11-25T11:50:00Z', y: 1 },
        ],
      },
      // Visitors as Umami adds them up: each minute's.
      totals: { views: 3, visitors: 3, events: 1, countries: 2 },
      timestamp: at('2026-11-25T12:00:30Z'),
    });
  });

  test('a zone labels the minutes in its local time; an hour unit groups them', async () => {
    const berlin = await ok('timezone=Europe/Berlin');
    expect((berlin.series as Json).views).toEqual([
      { x: '2026-11-25 12:40:00', y: 1 },
      { x: '2026-11-25 12:45:00', y: 1 },
      { x: '2026-11-25 12:50:00', y: 1 },
    ]);
    const hours = await ok('timezone=Asia/Kolkata&unit=hour');
    expect(hours.series).toEqual({
      views: [{ x: '2026-11-25 17:00:00', y: 3 }],
      visitors: [{ x: '2026-11-25 17:00:00', y: 2 }],
    });
    expect(hours.totals).toMatchObject({ views: 3, visitors: 2 });
  });

  test('filters hold on each event; another website reads only its own', async () => {
    const pricing = await ok('path=/pricing');
    expect(pricing).toMatchObject({
      countries: { GB: 1 },
      urls: { '/pricing': 2 },
      totals: { views: 1, visitors: 1, events: 1, countries: 1 },
    });
    expect((pricing.events as Json[]).map((e) => e.__type)).toEqual([
      'event',
      'pageview',
      'session',
    ]);
    const other = await ok('', OTHER);
    expect(other).toMatchObject({
      urls: { '/other': 1 },
      countries: {},
      totals: { views: 1, visitors: 1, events: 0, countries: 0 },
    });
  });

  test('the newest 100 events make the feed; the series counts every page view', async () => {
    const items = Array.from({ length: 105 }, (_, i) =>
      item(`2026-11-25T11:5${Math.floor(i / 60)}:${String(i % 60).padStart(2, '0')}Z`, {
        url: `/p/${i}`,
      }),
    );
    const headers = { 'user-agent': WINDOWS_CHROME, 'x-forwarded-for': '198.51.100.7' };
    expect((await t.post('/api/batch', items, headers)).status).toBe(200);
    const body = await ok();
    const feed = (body.events as Json[]).filter((e) => e.__type !== 'session');
    expect(feed).toHaveLength(100);
    expect(feed[0]?.urlPath).toBe('/p/104');
    expect(body.totals).toMatchObject({ views: 108 });
    expect(Object.keys(body.urls as Json)).not.toContain('/blog');
  });

  test('the range starts at the start of the minute 30 minutes ago', async () => {
    // The clock is at 12:00:30: 11:30:00 is in, 11:29:59 out (not from 11:30:30 on).
    const ip = '198.51.100.8';
    await send('2026-11-25T11:29:59Z', ip, { url: '/before' });
    await send('2026-11-25T11:30:00Z', ip, { url: '/first' });
    const urls = Object.keys((await ok()).urls as Json);
    expect(urls).toContain('/first');
    expect(urls).not.toContain('/before');
  });

  test("bad parameters are Umami's 400", async () => {
    for (const query of ['timezone=Mars/Base', 'unit=week', 'city=Berlin', 'path=re.x']) {
      const { status, body } = await read(query);
      expect(status, query).toBe(400);
      expect(body).toMatchObject({ error: { code: 'bad-request', status: 400 } });
    }
  });
});
