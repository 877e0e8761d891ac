// Umami's read API over events sent through Umami's collection API (/api/send), in open mode:
// stats with the comparison period, page views by hour, day and year in a time zone, the
// metrics of each field Tally keeps, filters with Umami's operators, active visitors, the
// website itself, and Umami's 400s. Required mode (login, tokens, keys, isolation) is in
// umami-read-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { queryLimits } from '../../src/query/index.ts';
import { readsWaiting, withSnapshot } from '../../src/query/read.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { IPHONE_SAFARI, WINDOWS_CHROME } from './helpers/user-agents.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const at = (iso: string) => Date.parse(iso);
const TITLES: Record<string, string> = {
  '/': 'Home',
  '/blog/hello': 'Hello',
  '/blog/other': 'Other',
  '/pricing': 'Pricing',
};

let t: CompatApp;

/** One item of Umami's tracker, from the visitor at `ip`, stamped `time`. */
async function send(time: string, ip: string, payload: Json, ua = WINDOWS_CHROME) {
  const url = payload.url as string;
  const body = {
    type: 'event',
    payload: {
      website: WEBSITE,
      hostname: 'example.com',
      title: TITLES[url.split('?')[0] as string],
      timestamp: at(time) / 1000,
      ...payload,
    },
  };
  const res = await t.post('/api/send', body, { 'user-agent': ua, 'x-forwarded-for': ip });
  expect(res.status).toBe(200);
}

/**
 * 11-23: E views / (a bounce). 11-24: A comes from Google to /, reads /blog/hello?ref=x and
 * signs up there (one visit of 300 s); B lands on /blog/other from Hacker News on an iPhone
 * (a bounce). 11-25: C views / and /pricing (600 s); D views /pricing at 11:58 (a bounce).
 * The clock stops at 12:00 on 11-25.
 */
beforeEach(async () => {
  t = await makeCompatApp({ trustProxy: true });
  await send('2026-11-23T08:00:00Z', '198.51.100.5', { url: '/' });
  await send('2026-11-24T10:00:00Z', '198.51.100.1', {
    url: '/',
    referrer: 'https://www.google.com/search?q=tally',
  });
  await send('2026-11-24T10:04:00Z', '198.51.100.1', { url: '/blog/hello?ref=x' });
  await send('2026-11-24T10:05:00Z', '198.51.100.1', {
    url: '/blog/hello',
    name: 'signup',
    data: { plan: 'pro' },
  });
  await send(
    '2026-11-24T11:00:00Z',
    '198.51.100.2',
    { url: '/blog/other', referrer: 'https://news.ycombinator.com/' },
    IPHONE_SAFARI,
  );
  await send('2026-11-25T09:00:00Z', '198.51.100.3', { url: '/' });
  await send('2026-11-25T09:10:00Z', '198.51.100.3', { url: '/pricing' });
  await send('2026-11-25T11:58:00Z', '198.51.100.4', { url: '/pricing' });
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

/** 11-24 and 11-25, UTC, Umami's way: the first and the last millisecond. */
const TWO_DAYS = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;

const read = async (path: string, query = TWO_DAYS) => {
  const res = await t.get(
    `/api/websites/${WEBSITE}/${path}${path.includes('?') ? '&' : '?'}${query}`,
  );
  return { status: res.status, body: (await res.json()) as unknown };
};
const ok = async (path: string, query = TWO_DAYS) => {
  const { status, body } = await read(path, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body;
};
const refused = async (path: string, query: string) => {
  const { status, body } = await read(path, query);
  expect(status).toBe(400);
  const error = (body as { error: Json }).error;
  expect(error).toMatchObject({ code: 'bad-request', status: 400 });
  return error.message as string;
};

describe('stats', () => {
  test('page views, visitors, visits, bounces and seconds, with the period before', async () => {
    // totaltime spans each visit's page views, as Umami's: A's 240 s (/ at 10:00 to
    // /blog/hello at 10:04; its signup at 10:05 adds none), C's 600 s.
    expect(await ok('stats')).toEqual({
      pageviews: 6,
      visitors: 4,
      visits: 4,
      bounces: 2,
      totaltime: 840,
      comparison: { pageviews: 1, visitors: 1, visits: 1, bounces: 1, totaltime: 0 },
    });
  });

  test("totaltime spans a visit's page views: a custom event after the last adds none", async () => {
    // As Umami's getWebsiteStats (min and max of the visit's page views): a reader of one
    // page who clicks a link 45 s later spent 0 s by Umami's count, one who reads two pages
    // 30 s apart and clicks 45 s after the second 30 s.
    const day = `startAt=${at('2026-11-26T00:00:00Z')}&endAt=${at('2026-11-26T23:59:59.999Z')}`;
    await send('2026-11-26T10:00:00Z', '198.51.100.30', { url: '/' });
    await send('2026-11-26T10:00:45Z', '198.51.100.30', { url: '/', name: 'outbound' });
    await send('2026-11-26T11:00:00Z', '198.51.100.31', { url: '/' });
    await send('2026-11-26T11:00:30Z', '198.51.100.31', { url: '/pricing' });
    await send('2026-11-26T11:01:15Z', '198.51.100.31', { url: '/pricing', name: 'signup' });
    expect(await ok('stats', day)).toMatchObject({ pageviews: 3, visits: 2, totaltime: 30 });
    expect(await ok('metrics/expanded?type=path', day)).toEqual([
      { name: '/', pageviews: 2, visitors: 2, visits: 2, bounces: 0, totaltime: 30 },
      { name: '/pricing', pageviews: 1, visitors: 1, visits: 1, bounces: 0, totaltime: 30 },
    ]);
  });

  test('compare=prev is the exact length just before, not whole minutes', async () => {
    // 10:02:30 to 10:04:59.999 (150 s): the range before starts at 10:00:00, so A's view of /
    // at 10:00 is compared (Umami, shifting by 2 whole minutes, would start at 10:00:30).
    const range = `startAt=${at('2026-11-24T10:02:30Z')}&endAt=${at('2026-11-24T10:04:59.999Z')}`;
    const body = (await ok('stats', `${range}&compare=prev`)) as Json;
    expect(body).toMatchObject({ pageviews: 1, comparison: { pageviews: 1 } });
    const later = `startAt=${at('2026-11-24T10:02:31Z')}&endAt=${at('2026-11-24T10:04:59.999Z')}`;
    expect(((await ok('stats', later)) as Json).comparison).toMatchObject({ pageviews: 0 });
  });

  test('compare=yoy compares with the same days a year before', async () => {
    const body = (await ok('stats', `${TWO_DAYS}&compare=yoy`)) as Json;
    expect(body.comparison).toEqual({
      pageviews: 0,
      visitors: 0,
      visits: 0,
      bounces: 0,
      totaltime: 0,
    });
  });

  test('compare=yoy of 29 February is 28 February the year before, as subYears', async () => {
    t.clock.set(at('2028-03-02T00:00:00Z'));
    await send('2027-02-28T12:00:00Z', '198.51.100.6', { url: '/' });
    await send('2027-03-01T12:00:00Z', '198.51.100.7', { url: '/' });
    const leapDay = `startAt=${at('2028-02-29T00:00:00Z')}&endAt=${at('2028-02-29T23:59:59.999Z')}`;
    const body = (await ok('stats', `${leapDay}&compare=yoy`)) as Json;
    expect(body.comparison).toMatchObject({ pageviews: 1, visitors: 1 });
    const series = (await ok('pageviews', `${leapDay}&compare=yoy&unit=hour`)) as Json;
    expect(series.compare).toMatchObject({
      pageviews: [{ x: '2027-02-28T12:00:00Z', y: 1 }],
      startDate: '2027-02-28T00:00:00.000Z',
      endDate: '2027-02-28T23:59:59.999Z',
    });
  });

  test('startDate and endDate (ISO) read the same range as startAt and endAt', async () => {
    const iso = 'startDate=2026-11-24T00:00:00Z&endDate=2026-11-25T23:59:59.999Z';
    expect(await ok('stats', iso)).toEqual(await ok('stats'));
  });

  test("a startDate whose offset's + came as a space is a 400 saying to send %2B", async () => {
    // A query string reads an unescaped + as a space: startDate=…T10:00:00 01:00.
    expect(
      await refused('stats', 'startDate=2026-11-24T01:00:00+01:00&endDate=2026-11-25T23:59:59Z'),
    ).toBe(
      'startDate has a space where its offset\'s + belongs (got "2026-11-24T01:00:00 01:00"): ' +
        'a query string reads an unescaped + as a space; send it as %2B (e.g. ' +
        '2026-03-08T00:00:00%2B01:00)',
    );
    expect(await refused('stats', 'startDate=2026-11-24&endDate=2026-11-25 12:00 0530')).toContain(
      'endDate has a space where',
    );
    const escaped = 'startDate=2026-11-24T01:00:00%2B01:00&endDate=2026-11-25T23:59:59.999Z';
    expect(await ok('stats', escaped)).toEqual(await ok('stats'));
  });

  test("a startDate without a zone is UTC, whatever the server process's TZ", async () => {
    // E views / at 2026-11-23T08:00Z. Read as New York time, 11-23 00:00–08:30 would be
    // 05:00–13:30Z and hold it; read as UTC (Umami's servers) it ends before it.
    const zoneless = 'startDate=2026-11-23T00:00:00&endDate=2026-11-23T07:59:59';
    const before = process.env.TZ;
    process.env.TZ = 'America/New_York';
    try {
      expect(await ok('stats', zoneless)).toMatchObject({ pageviews: 0 });
      expect(
        await ok('stats', 'startDate=2026-11-23T08:00:00&endDate=2026-11-23T08:00:00'),
      ).toMatchObject({ pageviews: 1 });
    } finally {
      if (before === undefined) delete process.env.TZ;
      else process.env.TZ = before;
    }
  });

  test("filters: a page's visits, Umami's operators, an event's visitors", async () => {
    // The visits that viewed /pricing: C's (600 s) and D's (a bounce).
    expect(await ok('stats', `${TWO_DAYS}&path=%2Fpricing`)).toMatchObject({
      pageviews: 2,
      visitors: 2,
      visits: 2,
      bounces: 1,
      totaltime: 600,
    });
    expect(await ok('stats', `${TWO_DAYS}&browser=neq.Chrome`)).toMatchObject({
      pageviews: 1,
      visitors: 1,
    });
    expect(await ok('stats', `${TWO_DAYS}&title=c.ric`)).toMatchObject({ pageviews: 2 });
    // Contains is Umami's ILIKE '%…%': any case, and a * in the value is a literal *.
    expect(await ok('stats', `${TWO_DAYS}&title=c.RIC`)).toMatchObject({ pageviews: 2 });
    expect(await ok('stats', `${TWO_DAYS}&title=c.r*c`)).toMatchObject({ pageviews: 0 });
    expect(await ok('stats', `${TWO_DAYS}&path=dnc.BLOG`)).toMatchObject({ pageviews: 4 });
    expect(await ok('stats', `${TWO_DAYS}&path=dnc.blog`)).toMatchObject({
      pageviews: 4,
      visitors: 3,
    });
    expect(await ok('stats', `${TWO_DAYS}&referrer=google.com`)).toMatchObject({
      pageviews: 2,
      visitors: 1,
    });
    expect(await ok('stats', `${TWO_DAYS}&query=ref%3Dx`)).toMatchObject({ pageviews: 1 });
    // A custom event: its visitors and visits, no page view; the visit's page views' span.
    expect(await ok('stats', `${TWO_DAYS}&event=signup`)).toMatchObject({
      pageviews: 0,
      visitors: 1,
      visits: 1,
      bounces: 0,
      totaltime: 240,
    });
  });
});

describe('pageviews', () => {
  test('by day in UTC: buckets with page views, labelled as UTC instants', async () => {
    const instants = {
      pageviews: [
        { x: '2026-11-24T00:00:00Z', y: 3 },
        { x: '2026-11-25T00:00:00Z', y: 3 },
      ],
      sessions: [
        { x: '2026-11-24T00:00:00Z', y: 2 },
        { x: '2026-11-25T00:00:00Z', y: 2 },
      ],
    };
    expect(await ok('pageviews', `${TWO_DAYS}&unit=day&timezone=utc`)).toEqual(instants);
    expect(await ok('pageviews', `${TWO_DAYS}&unit=day`)).toEqual(instants);
  });

  test("timezone=UTC is labelled in local time, as Umami's getDateSQL: only `utc` is instants", async () => {
    // Umami's `timezone !== 'utc'` is case-sensitive: a browser in UTC sends `UTC`.
    for (const zone of ['UTC', 'Etc%2FUTC']) {
      expect(await ok('pageviews', `${TWO_DAYS}&unit=day&timezone=${zone}`)).toEqual({
        pageviews: [
          { x: '2026-11-24 00:00:00', y: 3 },
          { x: '2026-11-25 00:00:00', y: 3 },
        ],
        sessions: [
          { x: '2026-11-24 00:00:00', y: 2 },
          { x: '2026-11-25 00:00:00', y: 2 },
        ],
      });
    }
  });

  test("by day in a zone: local days, Umami's local labels", async () => {
    // UTC+14: 11-24 10:00Z is 11-25 00:00 there, 11-25 11:58Z is 11-26 01:58.
    const body = await ok('pageviews', `${TWO_DAYS}&unit=day&timezone=Pacific%2FKiritimati`);
    expect(body).toEqual({
      pageviews: [
        { x: '2026-11-25 00:00:00', y: 5 },
        { x: '2026-11-26 00:00:00', y: 1 },
      ],
      sessions: [
        { x: '2026-11-25 00:00:00', y: 3 },
        { x: '2026-11-26 00:00:00', y: 1 },
      ],
    });
  });

  test('without a unit, the finest the range allows: hours for two days', async () => {
    const body = (await ok('pageviews', `${TWO_DAYS}&timezone=Europe%2FBerlin`)) as Json;
    expect(body.pageviews).toEqual([
      { x: '2026-11-24 11:00:00', y: 2 },
      { x: '2026-11-24 12:00:00', y: 1 },
      { x: '2026-11-25 10:00:00', y: 2 },
      { x: '2026-11-25 12:00:00', y: 1 },
    ]);
    // minute is too fine for two days: hours, as Umami makes it.
    expect(await ok('pageviews', `${TWO_DAYS}&unit=minute&timezone=Europe%2FBerlin`)).toEqual(body);
  });

  test("a unit too fine for the range is made coarser at Umami's bounds", async () => {
    const from = at('2026-11-24T10:00:00Z');
    const xs = async (query: string) =>
      ((await ok('pageviews', query)) as { pageviews: { x: string }[] }).pageviews.map((p) => p.x);
    const asked = (ms: number, unit: string) =>
      xs(`startAt=${from}&endAt=${from + ms - 1}&unit=${unit}`);
    const HOUR = 3_600_000;
    // Minutes up to 60 minutes, hours up to 48 hours (whole ones between the ends, as Umami's
    // differenceInMinutes and differenceInHours count them).
    expect(await asked(61 * 60_000, 'minute')).toEqual([
      '2026-11-24T10:00:00Z',
      '2026-11-24T10:04:00Z',
      '2026-11-24T11:00:00Z',
    ]);
    expect(await asked(61 * 60_000 + 1, 'minute')).toEqual([
      '2026-11-24T10:00:00Z',
      '2026-11-24T11:00:00Z',
    ]);
    expect(await asked(49 * HOUR, 'hour')).toEqual([
      '2026-11-24T10:00:00Z',
      '2026-11-24T11:00:00Z',
      '2026-11-25T09:00:00Z',
      '2026-11-25T11:00:00Z',
    ]);
    expect(await asked(49 * HOUR + 1, 'hour')).toEqual([
      '2026-11-24T00:00:00Z',
      '2026-11-25T00:00:00Z',
    ]);
    // Days up to 6 calendar months; without a unit past 24 months, years (months may be asked).
    const end = `endAt=${at('2026-11-30T23:59:59.999Z')}`;
    expect(await xs(`startAt=${at('2026-05-01T00:00:00Z')}&${end}&unit=day`)).toEqual([
      '2026-11-23T00:00:00Z',
      '2026-11-24T00:00:00Z',
      '2026-11-25T00:00:00Z',
    ]);
    expect(await xs(`startAt=${at('2026-04-30T00:00:00Z')}&${end}&unit=day`)).toEqual([
      '2026-11-01T00:00:00Z',
    ]);
    const years = `startAt=${at('2024-01-01T00:00:00Z')}&endAt=${at('2026-12-31T23:59:59.999Z')}`;
    expect(await xs(years)).toEqual(['2026-01-01T00:00:00Z']);
    expect(await xs(`${years}&unit=month`)).toEqual(['2026-11-01T00:00:00Z']);
  });

  test('by minute within an hour (a half-hour zone), by month and by year', async () => {
    const hour = `startAt=${at('2026-11-25T09:00:00Z')}&endAt=${at('2026-11-25T09:59:59.999Z')}`;
    const kolkata = `${hour}&unit=minute&timezone=Asia%2FKolkata`;
    expect(((await ok('pageviews', kolkata)) as Json).pageviews).toEqual([
      { x: '2026-11-25 14:30:00', y: 1 },
      { x: '2026-11-25 14:40:00', y: 1 },
    ]);
    // Without a zone, UTC: Umami's UTC labels.
    expect(((await ok('pageviews', `${hour}&unit=minute`)) as Json).sessions).toEqual([
      { x: '2026-11-25T09:00:00Z', y: 1 },
      { x: '2026-11-25T09:10:00Z', y: 1 },
    ]);
    const years = `startAt=${at('2024-01-01T00:00:00Z')}&endAt=${at('2026-12-31T23:59:59.999Z')}`;
    expect(((await ok('pageviews', `${years}&unit=year&timezone=utc`)) as Json).pageviews).toEqual([
      { x: '2026-01-01T00:00:00Z', y: 7 },
    ]);
    const months = `${years}&unit=month&timezone=America%2FNew_York`;
    expect(((await ok('pageviews', months)) as Json).sessions).toEqual([
      { x: '2026-11-01 00:00:00', y: 5 },
    ]);
  });

  test('the hour a clock set back repeats is one point, its visitors counted once', async () => {
    // London, 2026-10-25: 01:00–01:59 BST, then 01:00–01:59 GMT again. Visitor F views a page
    // in each, G in the second: Umami groups by the local hour, one 01:00 point.
    await send('2026-10-25T00:30:00Z', '198.51.100.6', { url: '/' });
    await send('2026-10-25T01:30:00Z', '198.51.100.6', { url: '/pricing' });
    await send('2026-10-25T01:40:00Z', '198.51.100.7', { url: '/' });
    const day = `startAt=${at('2026-10-24T23:00:00Z')}&endAt=${at('2026-10-25T23:59:59.999Z')}`;
    const body = await ok('pageviews', `${day}&unit=hour&timezone=Europe%2FLondon`);
    expect(body).toEqual({
      pageviews: [{ x: '2026-10-25 01:00:00', y: 3 }],
      sessions: [{ x: '2026-10-25 01:00:00', y: 2 }],
    });
    // By minute, 01:30 BST and 01:30 GMT (an hour apart, both ends of the range) are one point,
    // F in both counted once.
    const hour = `startAt=${at('2026-10-25T00:30:00Z')}&endAt=${at('2026-10-25T01:30:00Z')}`;
    expect(await ok('pageviews', `${hour}&timezone=Europe%2FLondon`)).toEqual({
      pageviews: [{ x: '2026-10-25 01:30:00', y: 2 }],
      sessions: [{ x: '2026-10-25 01:30:00', y: 1 }],
    });
  });

  test('an hour set back in two parts apart is one point, its visitors counted once', async () => {
    // Chatham 2026-04-05: 03:45 +13:45 is 02:45 +12:45, so the local hour 2 is 02:00–03:00
    // +13:45 and again 02:45–03:00 +12:45, with 03:00–03:45 +13:45 (hour 3) between them.
    await send('2026-04-04T12:30:00Z', '198.51.100.6', { url: '/' }); // 02:15 +13:45
    await send('2026-04-04T13:30:00Z', '198.51.100.7', { url: '/' }); // 03:15 +13:45
    await send('2026-04-04T14:05:00Z', '198.51.100.6', { url: '/pricing' }); // 02:50 +12:45
    const day = `startAt=${at('2026-04-04T11:00:00Z')}&endAt=${at('2026-04-04T15:59:59.999Z')}`;
    const body = await ok('pageviews', `${day}&unit=hour&timezone=Pacific%2FChatham`);
    expect(body).toEqual({
      pageviews: [
        { x: '2026-04-05 02:00:00', y: 2 },
        { x: '2026-04-05 03:00:00', y: 1 },
      ],
      sessions: [
        { x: '2026-04-05 02:00:00', y: 1 },
        { x: '2026-04-05 03:00:00', y: 1 },
      ],
    });
  });

  test('a startAt inside the first second after a change is read (Lord Howe)', async () => {
    // 02:00 +10:30 → 02:30 +11:00 at 15:30Z: a startAt half a second later looped for ever
    // looking for the change between whole seconds, holding the server.
    await send('2026-10-03T15:45:00Z', '198.51.100.7', { url: '/' });
    const range = `startAt=${at('2026-10-03T15:30:00.500Z')}&endAt=${at('2026-10-03T16:59:59.999Z')}`;
    const body = await ok('pageviews', `${range}&unit=hour&timezone=Australia%2FLord_Howe`);
    const points = [{ x: '2026-10-04 02:00:00', y: 1 }];
    expect(body).toEqual({ pageviews: points, sessions: points });
  });

  test("hours are the wall clock's across a half-hour change (Lord Howe)", async () => {
    // 2026-10-04: 02:00 +10:30 is 02:30 +11:00. Umami truncates the local time: 01:15 is in
    // the hour 1, 02:45 in the hour 2 (Tally's own hour from 01:00 runs to 03:00).
    await send('2026-10-03T14:45:00Z', '198.51.100.6', { url: '/' });
    await send('2026-10-03T15:45:00Z', '198.51.100.7', { url: '/' });
    const day = `startAt=${at('2026-10-03T13:30:00Z')}&endAt=${at('2026-10-04T12:59:59.999Z')}`;
    const body = await ok('pageviews', `${day}&unit=hour&timezone=Australia%2FLord_Howe`);
    const points = [
      { x: '2026-10-04 01:00:00', y: 1 },
      { x: '2026-10-04 02:00:00', y: 1 },
    ];
    expect(body).toEqual({ pageviews: points, sessions: points });
  });

  test('compare adds the compared range and the dates of both', async () => {
    const body = (await ok('pageviews', `${TWO_DAYS}&unit=day&timezone=utc&compare=prev`)) as Json;
    expect(body.startDate).toBe('2026-11-24T00:00:00.000Z');
    expect(body.endDate).toBe('2026-11-25T23:59:59.999Z');
    expect(body.compare).toEqual({
      pageviews: [{ x: '2026-11-23T00:00:00Z', y: 1 }],
      sessions: [{ x: '2026-11-23T00:00:00Z', y: 1 }],
      startDate: '2026-11-22T00:00:00.000Z',
      endDate: '2026-11-23T23:59:59.999Z',
    });
  });
});

describe('metrics', () => {
  const metric = (type: string, extra = '') => ok(`metrics?type=${type}${extra}`);

  test("values: a field's 10 values with the most events, searched as Umami's", async () => {
    // Umami's filter suggestions (its getValues): a 404 in Tally's shape before.
    expect(await ok('values?type=path')).toEqual([
      { value: '/', count: 2 },
      { value: '/blog/hello', count: 2 },
      { value: '/pricing', count: 2 },
      { value: '/blog/other', count: 1 },
    ]);
    expect(await ok('values?type=path&search=BLOG,pric')).toEqual([
      { value: '/blog/hello', count: 2 },
      { value: '/pricing', count: 2 },
      { value: '/blog/other', count: 1 },
    ]);
    expect(await ok('values?type=event')).toEqual([{ value: 'signup', count: 1 }]);
    // A visit's field counts the events of its visits: A's two views and its signup.
    expect(await ok('values?type=referrer')).toEqual([
      { value: 'google.com', count: 3 },
      { value: 'news.ycombinator.com', count: 1 },
    ]);
    expect(await refused('values?type=nope', TWO_DAYS)).toContain('nope');
  });

  test('expanded: each value with its views, visitors, visits, bounces and seconds', async () => {
    // Umami's documented metrics/expanded (its dashboard's tables): a 404 in Tally's shape before.
    const row = (
      name: string,
      pageviews: number,
      visitors: number,
      bounces: number,
      s: number,
    ) => ({
      name,
      pageviews,
      visitors,
      visits: visitors,
      bounces,
      totaltime: s,
    });
    expect(await ok('metrics/expanded?type=path')).toEqual([
      row('/', 2, 2, 0, 840),
      row('/pricing', 2, 2, 1, 600),
      row('/blog/hello', 1, 1, 0, 240),
      row('/blog/other', 1, 1, 1, 0),
    ]);
    expect(await ok('metrics/expanded?type=event')).toEqual([row('signup', 1, 1, 0, 240)]);
    expect(await ok('metrics/expanded?type=browser&search=saf')).toEqual([
      row('Safari', 1, 1, 1, 0),
    ]);
    expect(await ok('metrics/expanded?type=path&limit=1&offset=1')).toEqual([
      row('/pricing', 2, 2, 1, 600),
    ]);
    expect(await refused('metrics/expanded?type=city', TWO_DAYS)).toContain('city');
  });

  test('pages, entry and exit pages, referrers, titles and query strings by visitors', async () => {
    expect(await metric('path')).toEqual([
      { x: '/', y: 2 },
      { x: '/pricing', y: 2 },
      { x: '/blog/hello', y: 1 },
      { x: '/blog/other', y: 1 },
    ]);
    expect(await metric('url')).toEqual(await metric('path'));
    expect(await metric('entry')).toEqual([
      { x: '/', y: 2 },
      { x: '/blog/other', y: 1 },
      { x: '/pricing', y: 1 },
    ]);
    expect(await metric('exit')).toEqual([
      { x: '/pricing', y: 2 },
      { x: '/blog/hello', y: 1 },
      { x: '/blog/other', y: 1 },
    ]);
    expect(await metric('referrer')).toEqual([
      { x: 'google.com', y: 1 },
      { x: 'news.ycombinator.com', y: 1 },
    ]);
    expect(await metric('title')).toEqual([
      { x: 'Home', y: 2 },
      { x: 'Pricing', y: 2 },
      { x: 'Hello', y: 1 },
      { x: 'Other', y: 1 },
    ]);
    expect(await metric('query')).toEqual([{ x: 'ref=x', y: 1 }]);
    expect(await metric('hostname')).toEqual([{ x: 'example.com', y: 4 }]);
  });

  test('browsers, systems and devices by visitors; custom events by their count', async () => {
    expect(await metric('browser')).toEqual([
      { x: 'Chrome', y: 3 },
      { x: 'Safari', y: 1 },
    ]);
    expect(await metric('os')).toEqual([
      { x: 'Windows', y: 3 },
      { x: 'iOS', y: 1 },
    ]);
    expect(await metric('device')).toEqual([
      { x: 'Desktop', y: 3 },
      { x: 'Mobile', y: 1 },
    ]);
    expect(await metric('event')).toEqual([{ x: 'signup', y: 1 }]);
  });

  test("languages by their first two letters, lower-case, as Umami's lower(left(language, 2))", async () => {
    const day = `startAt=${at('2026-11-26T00:00:00Z')}&endAt=${at('2026-11-26T23:59:59.999Z')}`;
    const languages = ['en-US', 'en-GB', 'de-DE', 'EN'];
    for (const [i, language] of languages.entries()) {
      await send(`2026-11-26T10:0${i}:00Z`, `198.51.100.${20 + i}`, { url: '/', language });
    }
    expect(await ok('metrics?type=language', day)).toEqual([
      { x: 'en', y: 3 },
      { x: 'de', y: 1 },
    ]);
    expect(await ok('metrics/expanded?type=language', day)).toMatchObject([
      { name: 'en', pageviews: 3, visitors: 3 },
      { name: 'de', pageviews: 1, visitors: 1 },
    ]);
    // The filter, the search and the suggestions read the whole value, as Umami's column.
    expect(await ok('metrics?type=language&language=en-GB', day)).toEqual([{ x: 'en', y: 1 }]);
    expect(await ok('metrics?type=language&search=us', day)).toEqual([{ x: 'en', y: 1 }]);
    expect(await ok('values?type=language&search=en-', day)).toEqual([
      { value: 'en-GB', count: 1 },
      { value: 'en-US', count: 1 },
    ]);
  });

  test('filters, search, limit and offset', async () => {
    expect(await metric('path', '&browser=Safari')).toEqual([{ x: '/blog/other', y: 1 }]);
    expect(await metric('path', '&search=blog')).toEqual([
      { x: '/blog/hello', y: 1 },
      { x: '/blog/other', y: 1 },
    ]);
    expect(await metric('path', '&search=BLOG')).toEqual(await metric('path', '&search=blog'));
    expect(await metric('path', '&limit=2&offset=1')).toEqual([
      { x: '/pricing', y: 2 },
      { x: '/blog/hello', y: 1 },
    ]);
  });

  test('fields Tally does not keep, and unknown types, are 400 naming them', async () => {
    expect(await refused('metrics', `${TWO_DAYS}&type=city`)).toContain('country only');
    expect(await refused('metrics', `${TWO_DAYS}&type=region`)).toContain('country only');
    expect(await refused('metrics', `${TWO_DAYS}&type=domain`)).toContain('domain');
    // Tally has channels, Plausible's: the answer says where, not that there are none.
    const channel = await refused('metrics', `${TWO_DAYS}&type=channel`);
    expect(channel).toContain("Tally's channels are Plausible's, not Umami's");
    expect(channel).toContain('`top_channels` of GET /api/v1/stats');
    expect(await refused('stats', `${TWO_DAYS}&channel=direct`)).toContain('`visit:channel`');
    // Tally keeps the distinct id (a session's distinctId), but groups and filters by none.
    const distinct = await refused('metrics', `${TWO_DAYS}&type=distinctId`);
    expect(distinct).toContain('does not group or filter by distinct id');
    expect(await refused('metrics', `${TWO_DAYS}&type=bogus`)).toContain('bogus');
    expect(await refused('metrics', TWO_DAYS)).toContain('type');
    expect(await refused('metrics', `${TWO_DAYS}&type=path&limit=501`)).toContain('limit');
    // README "Limits": metric rows 1–500 and 10,000 skipped at most.
    expect(await ok('metrics', `${TWO_DAYS}&type=path&limit=500&offset=10000`)).toEqual([]);
    expect(await refused('metrics', `${TWO_DAYS}&type=path&offset=10001`)).toContain('offset');
  });

  test("`host`, Umami 2's name of `hostname`, is a metric type and a filter", async () => {
    expect(await metric('host')).toEqual(await metric('hostname'));
    expect(await ok('stats', `${TWO_DAYS}&host=example.com`)).toEqual(await ok('stats'));
    expect(await ok('stats', `${TWO_DAYS}&host=other.example`)).toMatchObject({ pageviews: 0 });
  });

  test('`entry` and `exit` filter visits by their first and last page', async () => {
    // Entered on /: A (/, /blog/hello) and C (/, /pricing) on the two days.
    expect(await ok('stats', `${TWO_DAYS}&entry=%2F`)).toMatchObject({
      pageviews: 4,
      visits: 2,
    });
    expect(await metric('path', '&exit=%2Fblog%2Fother')).toEqual([{ x: '/blog/other', y: 1 }]);
  });

  test("search replaces a filter on the ranked field, as Umami's filters[type] = c.search", async () => {
    expect(await metric('path', '&path=%2Fpricing&search=blog')).toEqual(
      await metric('path', '&search=blog'),
    );
    expect(await metric('path', '&browser=Safari&search=blog')).toEqual([
      { x: '/blog/other', y: 1 },
    ]);
  });

  test("eq and neq take a comma-separated list, as Umami's parseFilterValue splits it", async () => {
    expect(await metric('path', '&browser=Chrome,Safari')).toEqual(await metric('path'));
    expect(await metric('path', '&path=eq.%2Fpricing,%2Fblog%2Fother')).toEqual([
      { x: '/pricing', y: 2 },
      { x: '/blog/other', y: 1 },
    ]);
    expect(await metric('browser', '&path=neq.%2F,%2Fpricing')).toEqual([
      { x: 'Chrome', y: 1 },
      { x: 'Safari', y: 1 },
    ]);
    // Contains reads the value whole.
    expect(await metric('path', '&path=c.blog,x')).toEqual([]);
    // README: at most 100 values in a list.
    const list = (n: number) => Array.from({ length: n }, (_, i) => `v${i}`).join(',');
    expect(await ok('stats', `${TWO_DAYS}&browser=neq.${list(100)}`)).toMatchObject({
      pageviews: 6,
    });
    expect(await refused('stats', `${TWO_DAYS}&browser=${list(101)}`)).toBe(
      'The `browser` filter lists over 100 values.',
    );
  });

  test("a repeated parameter is its last value, as Umami's Object.fromEntries reads it", async () => {
    const pricing = await ok('stats', `${TWO_DAYS}&path=%2Fpricing`);
    expect(pricing).toMatchObject({ pageviews: 2 });
    expect(await ok('stats', `${TWO_DAYS}&path=%2F&path=%2Fpricing`)).toEqual(pricing);
    const days = await ok('pageviews', `${TWO_DAYS}&unit=day`);
    expect(await ok('pageviews', `${TWO_DAYS}&unit=hour&unit=day`)).toEqual(days);
    const browsers = await ok('metrics', `${TWO_DAYS}&type=browser`);
    expect(await ok('metrics', `${TWO_DAYS}&type=path&type=browser`)).toEqual(browsers);
  });

  test("names of Object's members are no fields: unknown types, ignored parameters", async () => {
    for (const type of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      expect(await refused('metrics', `${TWO_DAYS}&type=${type}`)).toStartWith(
        `Unknown metric type \`${type}\``,
      );
    }
    const plain = await ok('stats');
    for (const name of ['toString', 'constructor', '__proto__', 'valueOf']) {
      expect(await ok('stats', `${TWO_DAYS}&${name}=1`)).toEqual(plain);
    }
  });
});

describe('values', () => {
  test("a field's 10 values with the most events; a search of 5 texts at most", async () => {
    // README "Limits": `values` 10 (a search of 5 texts at most). Twelve more paths, /p1 viewed
    // once … /p12 twelve times, on 11-25.
    for (let n = 1; n <= 12; n++) {
      for (let i = 0; i < n; i++) {
        await send('2026-11-25T10:00:00Z', `198.51.100.${100 + i}`, { url: `/p${n}` });
      }
    }
    const values = async (query: string) =>
      ((await ok('values', `${TWO_DAYS}&type=path${query}`)) as unknown as Json[]).map(
        (row) => row.value,
      );
    expect(await values('')).toEqual(Array.from({ length: 10 }, (_, i) => `/p${12 - i}`));
    // The sixth text of a search is not read: /p1 and /p2 are found, /p6 is not.
    expect((await values('&search=p1,p2,p3,p4,p5,p6')).sort()).toEqual(
      ['/p1', '/p10', '/p11', '/p12', '/p2', '/p3', '/p4', '/p5'].sort(),
    );
  });
});

describe('active, the website, and refusals', () => {
  test("past the tenant's reads waiting: Umami's 429 {error} with Retry-After", async () => {
    const store = t.engine.store;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from({ length: queryLimits.tenantReadsRunningMax }, () =>
      withSnapshot(store, WEBSITE, {}, undefined, () => released),
    );
    const waiting = Array.from({ length: queryLimits.tenantReadsWaitingMax }, () =>
      t.get(`/api/websites/${WEBSITE}/stats?${TWO_DAYS}`),
    );
    const full = () => readsWaiting(store, WEBSITE) === queryLimits.tenantReadsWaitingMax;
    for (let i = 0; i < 200 && !full(); i++) await Bun.sleep(5);
    expect(full()).toBe(true);
    const res = await t.get(`/api/websites/${WEBSITE}/stats?${TWO_DAYS}`);
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(await res.json()).toMatchObject({
      error: { code: 'too-many-requests', status: 429 },
    });
    release();
    await Promise.all(held);
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual(
      Array(queryLimits.tenantReadsWaitingMax).fill(200),
    );
  });

  test('active: visitors with an event in the last 5 minutes', async () => {
    expect(await ok('active', '')).toEqual({ visitors: 1 });
    t.clock.set(at('2026-11-25T12:04:00Z'));
    expect(await ok('active', '')).toEqual({ visitors: 0 });
  });

  test("daterange: the first and last events' times, as today's Umami answers", async () => {
    // Umami's documented route (the dashboard's "all time"): a 404 in Tally's own shape before.
    expect(await ok('daterange', '')).toEqual({
      startDate: '2026-11-23T08:00:00.000Z',
      endDate: '2026-11-25T11:58:00.000Z',
    });
    // A crawler's later page view is no event of the website's range.
    const bot = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await send('2026-11-25T11:59:00Z', '198.51.100.9', { url: '/' }, bot);
    expect(await ok('daterange', '')).toMatchObject({ endDate: '2026-11-25T11:58:00.000Z' });
    const other = await t.get('/api/websites/ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e/daterange');
    expect(await other.json()).toEqual({ startDate: null, endDate: null });
  });

  test('open mode: the website id is the tenant; no credential lists no websites', async () => {
    const site = (await (await t.get(`/api/websites/${WEBSITE}`)).json()) as Json;
    // A tenant that is no project has no creation time.
    expect(site).toMatchObject({ id: WEBSITE, name: WEBSITE, domain: '', createdAt: null });
    expect(site.shareId).toBeNull();
    expect(await (await t.get('/api/websites')).json()).toEqual({
      data: [],
      count: 0,
      page: 1,
      pageSize: 20,
    });
    // README: page 1–10,000, pageSize 1–500.
    const paged = await t.get('/api/websites?page=10000&pageSize=500');
    expect(await paged.json()).toMatchObject({ page: 10000, pageSize: 500 });
    for (const query of ['page=0', 'page=10001', 'pageSize=0', 'pageSize=501']) {
      const res = await t.get(`/api/websites?${query}`);
      expect(res.status, query).toBe(400);
      const error = ((await res.json()) as { error: Json }).error;
      expect(error.message).toContain(query.split('=')[0] as string);
    }
  });

  test("a missing range, a bad unit, zone or filter are Umami's 400", async () => {
    expect(await refused('stats', '')).toBe(
      'Either startAt+endAt or startDate+endDate must be provided',
    );
    expect(await refused('stats', `startAt=${at('2026-11-25T00:00:00Z')}&endAt=1`)).toContain(
      'invalid',
    );
    expect(await refused('pageviews', `${TWO_DAYS}&unit=week`)).toContain('unit');
    expect(await refused('pageviews', `${TWO_DAYS}&timezone=Mars%2FBase`)).toContain('timezone');
    expect(await refused('pageviews', `${TWO_DAYS}&timezone=Etc%2FGMT+5`)).toBe(
      'timezone has a space where its + belongs (got "Etc/GMT 5"): a query string reads an ' +
        'unescaped + as a space; send it as %2B (timezone=Etc/GMT%2B5)',
    );
    expect(await refused('stats', `${TWO_DAYS}&compare=last`)).toContain('compare');
    // An empty compare is none (pageviews) or prev (stats), as Umami's falsy check reads it.
    expect(await ok('pageviews', `${TWO_DAYS}&compare=`)).toEqual(await ok('pageviews'));
    expect(await ok('stats', `${TWO_DAYS}&compare=`)).toEqual(await ok('stats'));
    expect(await refused('stats', `${TWO_DAYS}&region=DE-BE`)).toContain('country only');
    expect(await refused('stats', `${TWO_DAYS}&match=any`)).toContain('AND');
    expect(await refused('stats', `${TWO_DAYS}&trafficType=bot`)).toContain('bots');
    // What Tally always does may be asked for.
    expect(await ok('stats', `${TWO_DAYS}&match=all&trafficType=human`)).toEqual(await ok('stats'));
    expect(await refused('stats', `${TWO_DAYS}&path=re.%5E%2Fblog`)).toContain('re');
    expect(await refused('stats', `${TWO_DAYS}&path=nre.%5E%2Fblog`)).toContain('nre');
    // README "Limits": segments, cohorts, referrer domains and bot names are 400s too.
    for (const field of ['segment', 'cohort', 'domain', 'botName']) {
      expect(await refused('stats', `${TWO_DAYS}&${field}=x`)).toContain(field);
    }
    expect(await refused('stats', `${TWO_DAYS}&path=%2Fa&path1=%2Fb`)).toContain('path1');
    // README: a filter's value is at most 500 characters, and at most 16 filters combine.
    expect(await refused('stats', `${TWO_DAYS}&path=${'a'.repeat(501)}`)).toBe(
      'The `path` filter is over 500 characters.',
    );
    expect(await ok('stats', `${TWO_DAYS}&path=${'a'.repeat(500)}`)).toMatchObject({
      pageviews: 0,
    });
    const fields = ['path', 'referrer', 'title', 'query', 'hostname', 'language', 'tag', 'event'];
    const more = ['browser', 'os', 'device', 'country', 'utmSource', 'utmMedium', 'utmCampaign'];
    const sixteen = [...fields, ...more, 'utmContent'].map((f) => `${f}=neq.x`).join('&');
    expect(await ok('stats', `${TWO_DAYS}&${sixteen}`)).toBeDefined();
    expect(await refused('stats', `${TWO_DAYS}&${sixteen}&utmTerm=neq.x`)).toBe(
      'At most 16 filters may be combined.',
    );
    // Umami's event and session property filters are a 400, not left out of the count.
    for (const name of ['epf0', 'spf1', 'pf_plan']) {
      expect(await refused('stats', `${TWO_DAYS}&${name}=1.eq.plan.pro`)).toContain(name);
    }
  });

  test('dates outside the years 1–9999 are a 400, not a 500 (a Date past its range)', async () => {
    for (const query of [
      'startAt=8640000000000001&endAt=8640000000000001',
      'startAt=9999999999999999999999&endAt=1e22',
      'startAt=-8640000000000001&endAt=-8639999913600002&unit=hour&compare=yoy',
      'startDate=%2B275760-09-13T00:00:00Z&endDate=%2B275760-09-13T00:00:00Z',
    ]) {
      for (const path of ['stats', 'pageviews', 'metrics?type=path']) {
        expect(await refused(path, query)).toContain('years 1 to 9999');
      }
    }
    // The first and the last millisecond Tally reads, compared with the range before.
    const edges = `startAt=${at('0001-01-01T00:00:00Z')}&endAt=${at('9999-12-31T23:59:59.999Z')}`;
    expect(await refused('stats', edges)).toContain('20 years');
    const first = `startAt=${at('0001-01-01T00:00:00Z')}&endAt=${at('0019-12-31T00:00:00Z')}`;
    expect(await ok('pageviews', `${first}&compare=prev`)).toMatchObject({ pageviews: [] });
    expect(await ok('stats', `${first}&compare=yoy`)).toMatchObject({ pageviews: 0 });
  });
});
