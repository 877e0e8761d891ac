// Plausible's Stats API v1 over events sent through Plausible's Events API (the tracker's
// beacons), in open mode: realtime, aggregate (with compare), timeseries by hour, day and
// month, breakdowns (sources by their well-known names, channels, pages, goals, devices,
// paging), filters, periods (custom too), goal conversion rates, Plausible's 400s, and the read
// gate.
// Required mode (keys, site ids, tenant isolation) is in plausible-stats-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { readsWaiting, withSnapshot } from '../../src/query/read.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import {
  at,
  IPHONE,
  NOW,
  page,
  beacon as plausibleBeacon,
  seedSite,
} from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;

const beacon = (time: string, ip: string, body: Json, ua?: string) =>
  plausibleBeacon(t, time, ip, body, ua);

beforeEach(async () => {
  t = await makeCompatApp();
  await seedSite(t);
});
afterEach(() => t.close());

const stats = async (path: string, query: string) => {
  const res = await t.get(`/api/v1/stats/${path}?site_id=example.com&${query}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (path: string, query: string) => {
  const { status, body } = await stats(path, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body.results;
};
const refused = async (path: string, query: string) => {
  const { status, body } = await stats(path, query);
  expect(status).toBe(400);
  return body.error;
};
/** The 7 days before the 26th: the 19th to the 25th, today included. */
const WEEK = 'period=7d&date=2026-11-26';
const ALL = 'metrics=visitors,visits,pageviews,views_per_visit,bounce_rate,visit_duration,events';

describe('GET /api/v1/stats/realtime/visitors', () => {
  test('the visitors with an event in the last 5 minutes, as a bare number', async () => {
    const res = await t.get('/api/v1/stats/realtime/visitors?site_id=example.com');
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('1'); // D at 11:58; C at 09:00 is not current
    // A crawler's page view at 11:59 is no current visitor (README: bots left out).
    const crawler = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
    await beacon('2026-11-25T11:59:00Z', '198.51.100.66', page('/'), crawler);
    t.clock.set(at(NOW));
    expect(await (await t.get('/api/v1/stats/realtime/visitors?site_id=example.com')).text()).toBe(
      '1',
    );
    t.clock.set(at('2026-11-25T12:04:00Z'));
    expect(await (await t.get('/api/v1/stats/realtime/visitors?site_id=example.com')).text()).toBe(
      '0',
    );
  });
});

describe('GET /api/v1/stats/aggregate', () => {
  test("every metric over a day, each as Plausible's {value}", async () => {
    expect(await ok('aggregate', `period=day&date=2026-11-24&${ALL}`)).toEqual({
      visitors: { value: 2 },
      visits: { value: 2 },
      pageviews: { value: 3 },
      views_per_visit: { value: 1.5 },
      bounce_rate: { value: 50 },
      visit_duration: { value: 150 }, // (300 + 0) / 2
      events: { value: 4 },
    });
  });

  test('periods: 7d and 30d are the days before the date (not it), custom its two days', async () => {
    // As Plausible's query builder: 7d on the 25th is the 18th to the 24th, today left out.
    const yesterday = await ok('aggregate', `period=day&date=2026-11-24&${ALL}`);
    expect(await ok('aggregate', `period=7d&${ALL}`)).toEqual(yesterday);
    expect(await ok('aggregate', `period=30d&${ALL}`)).toEqual(yesterday);
    expect(await ok('aggregate', ALL)).toEqual(yesterday); // the default is 30d
    expect(await ok('aggregate', `period=7d&date=2026-11-26&${ALL}`)).toEqual({
      visitors: { value: 4 },
      visits: { value: 4 },
      pageviews: { value: 5 },
      views_per_visit: { value: 1.25 },
      bounce_rate: { value: 75 },
      visit_duration: { value: 75 },
      events: { value: 6 },
    });
    expect(await ok('aggregate', 'period=7d&date=2026-11-24')).toEqual({ visitors: { value: 0 } });
    expect(await ok('aggregate', 'period=custom&date=2026-11-25,2026-11-25')).toEqual({
      visitors: { value: 2 },
    });
    expect(await ok('aggregate', 'period=month&date=2026-11-01&metrics=events')).toEqual({
      events: { value: 6 },
    });
    // 30d on the 25th begins on October 26th.
    await beacon('2026-10-25T23:59:00Z', '198.51.100.8', page('/early'));
    await beacon('2026-10-26T00:00:00Z', '198.51.100.9', page('/first'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    expect(await ok('aggregate', 'period=30d')).toEqual({ visitors: { value: 3 } });
  });

  test('an empty period is 0 everywhere', async () => {
    const empty = await ok('aggregate', `period=day&date=2026-10-01&${ALL}`);
    expect(Object.values(empty as Json)).toEqual(Array(7).fill({ value: 0 }));
  });

  test('compare=previous_period for a period running past today: as many days as it has had', async () => {
    // November on the 25th is compared with the 25 days before it: October 7th to 31st.
    await beacon('2026-10-06T12:00:00Z', '198.51.100.8', page('/'));
    await beacon('2026-10-07T12:00:00Z', '198.51.100.9', page('/'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    expect(await ok('aggregate', 'period=month&compare=previous_period')).toEqual({
      visitors: { value: 4, comparison_value: 1, change: 300 },
    });
    // A custom range ending after today is compared the same way: 2 days, the 22nd and 23rd.
    await beacon('2026-11-21T12:00:00Z', '198.51.100.10', page('/'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    expect(
      await ok('aggregate', 'period=custom&date=2026-11-24,2026-12-31&compare=previous_period'),
    ).toEqual({ visitors: { value: 4, comparison_value: 0, change: 100 } });
  });

  test('compare=previous_period: the day before, the change in percent (bounce rate: points)', async () => {
    const query = 'period=day&compare=previous_period&metrics=visitors,pageviews,bounce_rate';
    expect(await ok('aggregate', query)).toEqual({
      visitors: { value: 2, comparison_value: 2, change: 0 },
      pageviews: { value: 2, comparison_value: 3, change: -33 },
      bounce_rate: { value: 100, comparison_value: 50, change: 50 },
    });
  });

  test('open mode: site_id with www. names its tenant; with_imported is ignored', async () => {
    // README: site_id is the tenant without a leading www., as the Events API writes `d`.
    const res = await t.get(
      '/api/v1/stats/aggregate?site_id=www.example.com&period=7d&date=2026-11-26',
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ results: { visitors: { value: 4 } } });
    // Parameters Plausible has and Tally needs not are read past, not refused.
    expect(await ok('aggregate', `${WEEK}&with_imported=true&${ALL}`)).toEqual(
      await ok('aggregate', `${WEEK}&${ALL}`),
    );
  });

  test('another compare value asks for no comparison, as Plausible reads it (no 400)', async () => {
    // Plausible's v1 compares only on compare=previous_period and ignores any other value
    // (Legacy.QueryBuilder.parse_comparison_params), so a script's compare=false still reads.
    const plain = await ok('aggregate', 'period=day&metrics=visitors,pageviews');
    for (const value of ['false', 'none', 'year_over_year', 'PREVIOUS_PERIOD']) {
      expect(
        await ok('aggregate', `period=day&metrics=visitors,pageviews&compare=${value}`),
      ).toEqual(plain);
    }
  });

  test('filters: pages with wildcards, sources by name, alternatives and negation', async () => {
    const blog = encodeURIComponent('event:page==/blog/**');
    expect(
      await ok('aggregate', `${WEEK}&filters=${blog}&metrics=visitors,pageviews,events,visits`),
    ).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 2 },
      events: { value: 3 }, // the two page views and the Signup on /blog/hello
      visits: { value: 2 },
    });
    const sources = encodeURIComponent('visit:source==Google|Hacker News');
    expect(await ok('aggregate', `${WEEK}&filters=${sources}&metrics=visitors,pageviews`)).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 3 },
    });
    const notGoogle = encodeURIComponent('visit:source!=Google');
    expect(await ok('aggregate', `${WEEK}&filters=${notGoogle}`)).toEqual({
      visitors: { value: 3 },
    });
    const both = encodeURIComponent('visit:source==Google;event:goal==Signup');
    expect(await ok('aggregate', `${WEEK}&filters=${both}&metrics=visitors,events`)).toEqual({
      visitors: { value: 1 },
      events: { value: 1 },
    });
    const mobile = encodeURIComponent('visit:device==Mobile');
    expect(await ok('aggregate', `${WEEK}&filters=${mobile}`)).toEqual({
      visitors: { value: 1 },
    });
  });

  test('`*` is a wildcard on every property but a goal, whose name is matched whole', async () => {
    // Plausible's v1 parser (LegacyStatsAPIFilterParser) makes `*` a wildcard on every property
    // but event:goal, which it reads as `is`: a goal's name, compared whole.
    await beacon('2026-11-24T10:06:00Z', '198.51.100.1', {
      n: 'Sign*',
      u: 'https://example.com/blog/hello',
    });
    const f = (filters: string) =>
      ok('aggregate', `${WEEK}&metrics=visitors,events&filters=${encodeURIComponent(filters)}`);
    expect(await f('visit:source==Goo*')).toEqual({ visitors: { value: 1 }, events: { value: 4 } });
    expect(await f('event:name==Sign*')).toEqual({ visitors: { value: 1 }, events: { value: 2 } });
    expect(await f('event:props:plan==p*')).toEqual({
      visitors: { value: 1 },
      events: { value: 1 },
    });
    // The goal Sign* is the custom event of that name, not Signup too.
    expect(await f('event:goal==Sign*')).toEqual({ visitors: { value: 1 }, events: { value: 1 } });
    expect(await f('event:goal==Signu*')).toEqual({ visitors: { value: 0 }, events: { value: 0 } });
    expect(await f('event:goal==Signu*|Signup')).toEqual({
      visitors: { value: 1 },
      events: { value: 1 },
    });
    expect(await f('event:goal!=Sign*')).toEqual({ visitors: { value: 4 }, events: { value: 6 } });
    // With `|` too, each alternative is matched whole: /other is no /blog/other (Plausible's
    // regex, ^/pri.*|/other$, would count it; see README).
    expect(await f('event:page==/pri*|/other')).toEqual({
      visitors: { value: 1 },
      events: { value: 1 },
    });
    // A page goal's path keeps its own wildcards, as a Plausible goal "Visit /blog/*" does.
    expect(await f('event:goal==Visit /blog/*')).toEqual({
      visitors: { value: 2 },
      events: { value: 2 },
    });
  });

  test("filters as a JSON list of v2's filters, which Plausible's v1 reads too", async () => {
    const json = (filters: unknown) => `filters=${encodeURIComponent(JSON.stringify(filters))}`;
    const blog = json([['matches_wildcard', 'event:page', ['/blog/**']]]);
    expect(await ok('aggregate', `${WEEK}&${blog}&metrics=visitors,pageviews,events`)).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 2 },
      events: { value: 3 },
    });
    // `|` in a wildcard separates alternatives, each matched whole, as in v1's expressions
    // (which Plausible's v1 parses into this very filter); before, it was read as a literal
    // `|`, and `/pri*|/other` matched no page at all.
    const metrics = '&metrics=visitors,pageviews,events';
    for (const [operator, expression] of [
      ['matches_wildcard', 'event:page==/pri*|/other'],
      ['matches_wildcard', 'event:page==/blog/**|/'],
      ['matches_wildcard_not', 'event:page!=/pri*|/'],
    ] as const) {
      const value = expression.split(/[=!]=/)[1] as string;
      const filter = json([[operator, 'event:page', [value]]]);
      const sent = await ok('aggregate', `${WEEK}${metrics}&${filter}`);
      const expressed = `filters=${encodeURIComponent(expression)}`;
      const alike = await ok('aggregate', `${WEEK}${metrics}&${expressed}`);
      expect({ operator, value, sent }).toEqual({ operator, value, sent: alike });
    }
    const pricing = json([['matches_wildcard', 'event:page', ['/pri*|/other']]]);
    expect(await ok('aggregate', `${WEEK}&${pricing}`)).toEqual({ visitors: { value: 1 } });
    const sources = json([['is', 'visit:source', ['Google', 'Hacker News']]]);
    expect(await ok('aggregate', `${WEEK}&${sources}&metrics=visitors,pageviews`)).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 3 },
    });
    // Every filter of the list holds; contains, matches and case_sensitive as v2's.
    const both = json([
      ['contains', 'visit:source', ['goo'], { case_sensitive: false }],
      ['is', 'event:goal', ['Signup']],
    ]);
    expect(await ok('aggregate', `${WEEK}&${both}&metrics=visitors,events`)).toEqual({
      visitors: { value: 1 },
      events: { value: 1 },
    });
    // Plausible's v1 reads the list with its parser alone (no v2 schema): a null 4th item is
    // no modifiers there.
    const noModifiers = json([['contains', 'visit:source', ['Goo'], null]]);
    expect(await ok('aggregate', `${WEEK}&${noModifiers}&metrics=visitors`)).toEqual({
      visitors: { value: 1 },
    });
    const notBlog = json([['matches_not', 'event:page', ['^/blog/']]]);
    expect(await ok('breakdown', `${WEEK}&property=event:page&${notBlog}`)).toEqual([
      { page: '/', visitors: 2 },
      { page: '/pricing', visitors: 1 },
    ]);
    expect(await ok('timeseries', `${WEEK}&${json([['is', 'visit:device', ['Mobile']]])}`)).toEqual(
      expect.arrayContaining([{ date: '2026-11-25', visitors: 1 }]),
    );
    expect(await ok('aggregate', `${WEEK}&${json([])}`)).toEqual({ visitors: { value: 4 } });
    // v1's properties and rules, in Plausible's words; what the v2 parser refuses, in its own.
    expect(await refused('aggregate', json([['is', 'visit:planet', ['Mars']]]))).toBe(
      "Invalid filter property 'visit:planet'. Please provide a valid filter property: " +
        'https://plausible.io/docs/stats-api#properties',
    );
    // v2's visit:screen and visit:country_name are not v1 properties, in Plausible either.
    for (const name of ['visit:screen', 'visit:country_name']) {
      expect(await refused('aggregate', json([['is', name, ['Mobile']]]))).toStartWith(
        `Invalid filter property '${name}'.`,
      );
      expect(await refused('breakdown', `property=${name}`)).toStartWith(
        `Invalid property '${name}'.`,
      );
    }
    expect(await refused('aggregate', json([['is', 'visit:city', ['Paris']]]))).toBe(
      'Filtering by `visit:city` is not supported by Tally: Tally locates visitors by country only.',
    );
    expect(
      await refused('aggregate', `metrics=bounce_rate&${json([['is', 'event:name', ['Signup']]])}`),
    ).toBe('Session metric `bounce_rate` cannot be queried when using a filter on `event:name`.');
    expect(await refused('aggregate', json([['not', ['is', 'visit:os', ['Mac']]]]))).toStartWith(
      '#/filters/0: The Stats API v1 has no `not` filters',
    );
    expect(await refused('aggregate', json([['equals', 'event:page', ['/']]]))).toBe(
      '#/filters/0: Invalid filter ["equals","event:page",["/"]]',
    );
    expect(await refused('aggregate', json([['matches', 'event:page', ['(']]]))).toStartWith(
      '#/filters/0/2: Invalid regular expression "("',
    );
    expect(await refused('aggregate', json({ page: '/' }))).toStartWith(
      'Invalid filters {"page":"/"}: filters given as JSON are a list',
    );
  });

  test("a page filter: the bounce rate of the visits that entered there (Plausible's)", async () => {
    const hello = encodeURIComponent('event:page==/blog/hello');
    const query = `${WEEK}&filters=${hello}&metrics=visits,bounce_rate,visit_duration`;
    // A read /blog/hello after entering at /: a visit of the page, but no entry there.
    expect(await ok('aggregate', query)).toEqual({
      visits: { value: 1 },
      bounce_rate: { value: 0 },
      visit_duration: { value: 300 },
    });
    // E lands on /blog/hello and leaves: the one visit that entered there, a bounce.
    await beacon('2026-11-25T10:00:00Z', '198.51.100.9', page('/blog/hello'));
    t.clock.set(at(NOW));
    expect(await ok('aggregate', query)).toEqual({
      visits: { value: 2 },
      bounce_rate: { value: 100 }, // not 50: A did not enter at /blog/hello
      visit_duration: { value: 150 }, // of both visits, as Plausible's
    });
    // Everywhere v1 reads the bounce rate: by day, by source, and the previous period.
    const perDay = `${WEEK}&filters=${hello}&metrics=bounce_rate`;
    const days = (await ok('timeseries', perDay)) as Json[];
    expect(days.at(-1)).toEqual({ date: '2026-11-25', bounce_rate: 100 });
    const sources = `${WEEK}&filters=${hello}&property=visit:source&metrics=visits,bounce_rate`;
    expect(await ok('breakdown', sources)).toEqual([
      { source: 'Direct / None', visits: 1, bounce_rate: 100 },
      { source: 'Google', visits: 1, bounce_rate: 0 }, // A: none entered there, Plausible's 0
    ]);
    const compared = `${query}&compare=previous_period`;
    expect(((await ok('aggregate', compared)) as Json).bounce_rate).toEqual({
      value: 100,
      comparison_value: 0,
      change: null,
    });
    // By page: each page's bounce rate is of the visits that entered there (E alone, not A
    // who read it after /), its visits those that viewed it, as Plausible's.
    const by = `${WEEK}&property=event:page&metrics=visits,bounce_rate`;
    expect((await ok('breakdown', by)) as Json[]).toContainEqual({
      page: '/blog/hello',
      visits: 2,
      bounce_rate: 100,
    });
  });
});

describe('GET /api/v1/stats/timeseries', () => {
  test('7d: one row per day before today, empty days 0 (no visit_duration: null)', async () => {
    const query = 'period=7d&metrics=visitors,pageviews,visits,bounce_rate,visit_duration';
    const rows = (await ok('timeseries', query)) as Json[];
    expect(rows.map((r) => r.date)).toEqual([
      '2026-11-18',
      '2026-11-19',
      '2026-11-20',
      '2026-11-21',
      '2026-11-22',
      '2026-11-23',
      '2026-11-24',
    ]);
    expect(rows.at(-1)).toEqual({
      date: '2026-11-24',
      visitors: 2,
      pageviews: 3,
      visits: 2,
      bounce_rate: 50,
      visit_duration: 150,
    });
    // As Plausible's timeseries: a bucket without visits has a null duration, other metrics 0.
    expect(rows[0]).toEqual({
      date: '2026-11-18',
      visitors: 0,
      pageviews: 0,
      visits: 0,
      bounce_rate: 0,
      visit_duration: null,
    });
  });

  test('the hour the clocks put back is one row, as local hours', async () => {
    // 00:30 and 01:30 UTC on 2026-10-25 are both 02:30 in Berlin (summer, then winter time).
    await beacon('2026-10-25T00:30:00Z', '198.51.100.7', page('/'));
    await beacon('2026-10-25T01:30:00Z', '198.51.100.8', page('/'));
    t.clock.set(at(NOW));
    const hours = (await ok(
      'timeseries',
      'period=day&date=2026-10-25&tz=Europe/Berlin&metrics=visitors',
    )) as Json[];
    expect(hours).toHaveLength(24);
    expect(new Set(hours.map((h) => h.date)).size).toBe(24);
    expect(hours.slice(2, 4)).toEqual([
      { date: '2026-10-25 02:00:00', visitors: 2 },
      { date: '2026-10-25 03:00:00', visitors: 0 },
    ]);
  });

  test('an hour the clocks put back in two parts apart is one row (Chatham, +13:45)', async () => {
    // Chatham 2026-04-05: 03:45 +13:45 is 02:45 +12:45, so the local hour 2 is 02:00–03:00
    // +13:45 and again 02:45–03:00 +12:45, with 03:00–03:45 +13:45 (hour 3) between them.
    await beacon('2026-04-04T12:30:00Z', '198.51.100.7', page('/')); // 02:15 +13:45
    await beacon('2026-04-04T13:30:00Z', '198.51.100.8', page('/')); // 03:15 +13:45
    await beacon('2026-04-04T14:05:00Z', '198.51.100.7', page('/')); // 02:50 +12:45
    t.clock.set(at(NOW));
    const hours = (await ok(
      'timeseries',
      'period=day&date=2026-04-05&tz=Pacific/Chatham&metrics=visitors,pageviews',
    )) as Json[];
    expect(hours).toHaveLength(24);
    expect(hours.slice(2, 4)).toEqual([
      { date: '2026-04-05 02:00:00', visitors: 1, pageviews: 2 },
      { date: '2026-04-05 03:00:00', visitors: 1, pageviews: 1 },
    ]);
  });

  test("hours are the wall clock's: one the clocks skip is a row of zeros", async () => {
    // Lord Howe 2026-10-04: 02:00 +10:30 is 02:30 +11:00; 02:45 is in the local hour 2.
    await beacon('2026-10-03T14:45:00Z', '198.51.100.7', page('/')); // 01:15 +10:30
    await beacon('2026-10-03T15:45:00Z', '198.51.100.8', page('/')); // 02:45 +11:00
    // New York 2026-03-08: 02:00 EST is 03:00 EDT; 03:30 EDT is in hour 3.
    await beacon('2026-03-08T07:30:00Z', '198.51.100.9', page('/'));
    t.clock.set(at(NOW));
    const day = async (date: string, tz: string) =>
      (await ok('timeseries', `period=day&date=${date}&tz=${tz}&metrics=visitors`)) as Json[];
    const lordHowe = await day('2026-10-04', 'Australia/Lord_Howe');
    expect(lordHowe.map((h) => h.date)).toEqual(
      Array.from({ length: 24 }, (_, h) => `2026-10-04 ${String(h).padStart(2, '0')}:00:00`),
    );
    expect(lordHowe.slice(1, 4)).toEqual([
      { date: '2026-10-04 01:00:00', visitors: 1 },
      { date: '2026-10-04 02:00:00', visitors: 1 },
      { date: '2026-10-04 03:00:00', visitors: 0 },
    ]);
    const newYork = await day('2026-03-08', 'America/New_York');
    expect(newYork).toHaveLength(24);
    expect(newYork.slice(1, 4)).toEqual([
      { date: '2026-03-08 01:00:00', visitors: 0 },
      { date: '2026-03-08 02:00:00', visitors: 0 },
      { date: '2026-03-08 03:00:00', visitors: 1 },
    ]);
  });

  test('a day the clocks skip is a row of zeros, as Time.time_labels steps dates', async () => {
    // Pacific/Apia skipped 2011-12-30 (23:59:59 -10:00 on the 29th, then 00:00 +14:00 on the
    // 31st); Plausible's day labels are the range's dates, Enum.into(query.date_range, []).
    await beacon('2011-12-29T22:00:00Z', '198.51.100.7', page('/')); // 29th 12:00 -10:00
    await beacon('2011-12-30T22:00:00Z', '198.51.100.8', page('/')); // 31st 12:00 +14:00
    t.clock.set(at(NOW));
    const range = 'period=custom&date=2011-12-28,2012-01-01&tz=Pacific/Apia&metrics=visitors';
    expect(await ok('timeseries', range)).toEqual([
      { date: '2011-12-28', visitors: 0 },
      { date: '2011-12-29', visitors: 1 },
      { date: '2011-12-30', visitors: 0 },
      { date: '2011-12-31', visitors: 1 },
      { date: '2012-01-01', visitors: 0 },
    ]);
  });

  test('a day is by hour; 6mo by month; interval=date is days', async () => {
    const hours = (await ok(
      'timeseries',
      'period=day&date=2026-11-24&metrics=visitors,visits',
    )) as Json[];
    expect(hours).toHaveLength(24);
    expect(hours[10]).toEqual({ date: '2026-11-24 10:00:00', visitors: 1, visits: 1 });
    expect(hours[11]).toEqual({ date: '2026-11-24 11:00:00', visitors: 1, visits: 1 });
    const months = (await ok('timeseries', 'period=6mo&metrics=pageviews')) as Json[];
    expect(months.map((r) => r.date)).toEqual([
      '2026-06-01',
      '2026-07-01',
      '2026-08-01',
      '2026-09-01',
      '2026-10-01',
      '2026-11-01',
    ]);
    expect(months.at(-1)).toEqual({ date: '2026-11-01', pageviews: 5 });
    const days = (await ok(
      'timeseries',
      'period=custom&date=2026-11-24,2026-11-25&interval=date',
    )) as Json[];
    expect(days).toEqual([
      { date: '2026-11-24', visitors: 2 },
      { date: '2026-11-25', visitors: 2 },
    ]);
    // README: `date` (or `day`) or `month`, whatever the period's default.
    const range = 'period=custom&date=2026-11-24,2026-11-25';
    expect(await ok('timeseries', `${range}&interval=day`)).toEqual(days);
    expect(await ok('timeseries', `${range}&interval=month&metrics=pageviews`)).toEqual([
      { date: '2026-11-01', pageviews: 5 },
    ]);
  });

  test('tz (Tally only): days of that zone', async () => {
    // At UTC+14, A's 10:00 UTC is midnight of the 25th, and D's 11:58 UTC is on the 26th.
    const rows = await ok(
      'timeseries',
      'period=custom&date=2026-11-24,2026-11-25&tz=Pacific/Kiritimati&metrics=pageviews',
    );
    expect(rows).toEqual([
      { date: '2026-11-24', pageviews: 0 },
      { date: '2026-11-25', pageviews: 4 },
    ]);
  });
});

describe('GET /api/v1/stats/breakdown', () => {
  test('visit:source: well-known names, ranked by the first metric, then the name', async () => {
    expect(
      await ok('breakdown', `${WEEK}&property=visit:source&metrics=visitors,bounce_rate`),
    ).toEqual([
      { source: 'Direct / None', visitors: 1, bounce_rate: 100 },
      { source: 'Google', visitors: 1, bounce_rate: 0 },
      { source: 'Hacker News', visitors: 1, bounce_rate: 100 },
      { source: 'newsletter', visitors: 1, bounce_rate: 100 },
    ]);
  });

  test('event:page, paged with limit and page', async () => {
    const query = `${WEEK}&property=event:page&metrics=visitors,pageviews`;
    expect(await ok('breakdown', query)).toEqual([
      { page: '/', visitors: 2, pageviews: 2 },
      { page: '/blog/hello', visitors: 1, pageviews: 1 },
      { page: '/blog/other', visitors: 1, pageviews: 1 },
      { page: '/pricing', visitors: 1, pageviews: 1 },
    ]);
    expect(await ok('breakdown', `${query}&limit=2&page=2`)).toEqual([
      { page: '/blog/other', visitors: 1, pageviews: 1 },
      { page: '/pricing', visitors: 1, pageviews: 1 },
    ]);
    // As Plausible's Integer.parse reads them whole: a sign, leading zeros, any digits.
    expect(await ok('breakdown', `${query}&limit=%2B2&page=%2B0000000000002`)).toEqual([
      { page: '/blog/other', visitors: 1, pageviews: 1 },
      { page: '/pricing', visitors: 1, pageviews: 1 },
    ]);
    // A bare + in a query is a space, which Integer.parse refuses, as Tally does.
    expect(await refused('breakdown', 'property=event:page&limit=+2')).toBe(
      'Please provide limit as a number between 1 and 1000.',
    );
    expect(await refused('breakdown', 'property=event:page&page=-1')).toBe(
      'Please provide page as a positive number.',
    );
  });

  test('limit is 100 rows by default', async () => {
    for (let i = 0; i < 101; i++) {
      await beacon(
        '2026-11-25T11:00:00Z',
        '198.51.100.70',
        page(`/p/${String(i).padStart(3, '0')}`),
      );
    }
    t.clock.set(at(NOW));
    const rows = (await ok('breakdown', `${WEEK}&property=event:page`)) as Json[];
    expect(rows).toHaveLength(100);
    expect(await ok('breakdown', `${WEEK}&property=event:page&page=2`)).toHaveLength(5);
  });

  test("Plausible's OS and device names; != with alternatives, and \\| a literal |", async () => {
    const MAC =
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'Version/17.0 Safari/605.1.15';
    const LINUX = 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0';
    const TABLET =
      'Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/131.0.0.0 Safari/537.36';
    const DAY = 'period=day&date=2026-11-26';
    await beacon('2026-11-26T10:00:00Z', '198.51.100.11', page('/post%7C1'), MAC);
    await beacon('2026-11-26T10:00:00Z', '198.51.100.12', page('/blog/post%7C1'), LINUX);
    await beacon('2026-11-26T10:00:00Z', '198.51.100.13', page('/something-else'), TABLET);
    await beacon('2026-11-26T10:00:00Z', '198.51.100.14', page('/post'));
    expect(await ok('breakdown', `${DAY}&property=visit:os`)).toEqual([
      { os: 'Android', visitors: 1 },
      { os: 'GNU/Linux', visitors: 1 },
      { os: 'Mac', visitors: 1 },
      { os: 'Windows', visitors: 1 },
    ]);
    expect(await ok('breakdown', `${DAY}&property=visit:device`)).toEqual([
      { device: 'Desktop', visitors: 3 },
      { device: 'Tablet', visitors: 1 },
    ]);
    const f = async (filter: string) =>
      ok('breakdown', `${DAY}&property=event:page&filters=${encodeURIComponent(filter)}`);
    // Plausible's documented example: paths ending in post|1, and /something-else.
    expect(await f('event:page==**post\\|1|/something-else')).toEqual([
      { page: '/blog/post|1', visitors: 1 },
      { page: '/post|1', visitors: 1 },
      { page: '/something-else', visitors: 1 },
    ]);
    expect(await f('event:page==/post\\|1')).toEqual([{ page: '/post|1', visitors: 1 }]);
    expect(await f('visit:browser!=Chrome|Safari')).toEqual([
      { page: '/blog/post|1', visitors: 1 },
    ]);
    expect(await f('visit:os!=Mac|GNU/Linux')).toEqual([
      { page: '/post', visitors: 1 },
      { page: '/something-else', visitors: 1 },
    ]);
  });

  test('goals, custom props, devices, campaigns and entry pages', async () => {
    expect(await ok('breakdown', `${WEEK}&property=event:goal&metrics=visitors,events`)).toEqual([
      { goal: 'Signup', visitors: 1, events: 1 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=event:props:plan&metrics=events`)).toEqual([
      { plan: '(none)', events: 5 },
      { plan: 'pro', events: 1 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=visit:device`)).toEqual([
      { device: 'Desktop', visitors: 3 },
      { device: 'Mobile', visitors: 1 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=visit:utm_medium`)).toEqual([
      { utm_medium: 'email', visitors: 1 },
    ]);
    // Each row named by the property without its prefix; no campaign, no row.
    expect(await ok('breakdown', `${WEEK}&property=visit:utm_campaign`)).toEqual([]);
    expect(await ok('breakdown', `${WEEK}&property=event:name`)).toEqual([
      { name: 'pageview', visitors: 4 },
      { name: 'Signup', visitors: 1 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=visit:referrer`)).toEqual([
      { referrer: 'Direct / None', visitors: 2 },
      { referrer: 'google.com/search', visitors: 1 },
      { referrer: 'news.ycombinator.com', visitors: 1 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=visit:exit_page&metrics=visits`)).toEqual([
      { exit_page: '/', visits: 1 },
      { exit_page: '/blog/hello', visits: 1 },
      { exit_page: '/blog/other', visits: 1 },
      { exit_page: '/pricing', visits: 1 },
    ]);
    // A visit of a custom event alone has no entry page: no row (README), but it is a visit.
    await beacon('2026-11-24T15:00:00Z', '198.51.100.40', {
      n: 'Download',
      u: 'https://example.com/x',
    });
    t.clock.set(at(NOW));
    expect(
      await ok('breakdown', 'period=day&date=2026-11-24&property=visit:entry_page&metrics=visits'),
    ).toEqual([
      { entry_page: '/', visits: 1 },
      { entry_page: '/blog/other', visits: 1 },
    ]);
    expect(await ok('aggregate', 'period=day&date=2026-11-24&metrics=visits')).toEqual({
      visits: { value: 3 },
    });
  });
});

test('a visit lacking a campaign tag or referrer is filtered as Plausible stores it, empty', async () => {
  // Plausible's WhereBuilder reads "(not set)" (and "Direct / None") as the '' it stores.
  const visitors = async (filter: string) =>
    ((await ok('aggregate', `${WEEK}&filters=${encodeURIComponent(filter)}`)) as Json).visitors;
  expect(await visitors('visit:utm_medium==(not set)')).toEqual({ value: 3 });
  expect(await visitors('visit:utm_medium!=(not set)')).toEqual({ value: 1 });
  expect(await visitors('visit:referrer==Direct / None')).toEqual({ value: 2 });
  expect(await visitors('visit:source==(not set)')).toEqual({ value: 1 });
  // A wildcard reads the empty value, not the label.
  expect(await visitors('visit:source==Direct*')).toEqual({ value: 0 });
});

test('a month before year 1 is labelled as ISO 8601 writes it, -0001-03-01', async () => {
  // Tally keeps events from year 0000 on; 12 months to February 0000 begin in March -0001.
  const months = (await ok('timeseries', 'period=12mo&date=0000-02-01')) as { date: string }[];
  expect(months.map((m) => m.date).slice(0, 2)).toEqual(['-0001-03-01', '-0001-04-01']);
  expect(months.at(-1)?.date).toBe('0000-02-01');
});

describe('visit:channel', () => {
  // A from Google (Organic Search), B from a newsletter tagged utm_medium=email (Email), C from
  // Hacker News (Organic Social), D without a referrer (Direct).
  test("a breakdown by Plausible's channel names", async () => {
    expect(
      await ok('breakdown', `${WEEK}&property=visit:channel&metrics=visitors,visits,bounce_rate`),
    ).toEqual([
      { channel: 'Direct', visitors: 1, visits: 1, bounce_rate: 100 },
      { channel: 'Email', visitors: 1, visits: 1, bounce_rate: 100 },
      { channel: 'Organic Search', visitors: 1, visits: 1, bounce_rate: 0 },
      { channel: 'Organic Social', visitors: 1, visits: 1, bounce_rate: 100 },
    ]);
    expect(await ok('breakdown', `${WEEK}&property=visit:channel&limit=1&page=3`)).toEqual([
      { channel: 'Organic Search', visitors: 1 },
    ]);
    // A's signup converts all of Organic Search's visitors.
    const signup = encodeURIComponent('event:goal==Signup');
    expect(
      await ok(
        'breakdown',
        `${WEEK}&property=visit:channel&metrics=visitors,conversion_rate&filters=${signup}`,
      ),
    ).toEqual([{ channel: 'Organic Search', visitors: 1, conversion_rate: 100 }]);
  });

  test('filters: ==, != and | alternatives, wildcards, with other filters', async () => {
    const f = (filters: string, query = 'metrics=visitors,pageviews') =>
      ok('aggregate', `${WEEK}&${query}&filters=${encodeURIComponent(filters)}`);
    expect(await f('visit:channel==Organic Search')).toEqual({
      visitors: { value: 1 },
      pageviews: { value: 2 },
    });
    expect(await f('visit:channel!=Direct')).toEqual({
      visitors: { value: 3 },
      pageviews: { value: 4 },
    });
    expect(await f('visit:channel==Email|Direct')).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 2 },
    });
    expect(await f('visit:channel!=Email|Direct', 'metrics=visitors')).toEqual({
      visitors: { value: 2 },
    });
    expect(await f('visit:channel==Organic*', 'metrics=visitors')).toEqual({
      visitors: { value: 2 },
    });
    expect(await f('visit:channel==organic search', 'metrics=visitors')).toEqual({
      visitors: { value: 0 },
    });
    expect(await f('visit:channel==Organic*;event:goal==Signup', 'metrics=visitors')).toEqual({
      visitors: { value: 1 },
    });
    const social = encodeURIComponent('visit:channel==Organic Social');
    expect(await ok('breakdown', `${WEEK}&property=visit:source&filters=${social}`)).toEqual([
      { source: 'Hacker News', visitors: 1 },
    ]);
    const hours = (await ok('timeseries', `period=day&date=2026-11-25&filters=${social}`)) as {
      date: string;
      visitors: number;
    }[];
    expect(hours.filter((h) => h.visitors > 0)).toEqual([
      { date: '2026-11-25 09:00:00', visitors: 1 },
    ]);
  });

  test('ad tags and click ids: paid channels', async () => {
    await beacon(
      '2026-11-25T11:00:00Z',
      '198.51.100.5',
      page('/pricing?gclid=EAIaIQ', 'https://www.google.com/'),
    );
    await beacon(
      '2026-11-25T11:01:00Z',
      '198.51.100.6',
      page('/?utm_source=facebook&utm_medium=paid_social&utm_campaign=spring'),
    );
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const paid = encodeURIComponent('visit:channel==Paid *');
    expect(
      await ok('breakdown', `period=day&date=2026-11-25&property=visit:channel&filters=${paid}`),
    ).toEqual([
      { channel: 'Paid Search', visitors: 1 },
      { channel: 'Paid Social', visitors: 1 },
    ]);
  });
});

describe('visit:channel and visit:utm_source read the source tag', () => {
  test("utm_source, else source, else ref: Plausible's utm_source", async () => {
    await beacon('2026-11-25T11:00:00Z', '198.51.100.7', page('/?ref=weekly-newsletter'));
    await beacon('2026-11-25T11:01:00Z', '198.51.100.8', page('/?source=sms'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const channels = await ok('breakdown', 'period=day&date=2026-11-25&property=visit:channel');
    expect(channels).toEqual([
      { channel: 'Direct', visitors: 1 },
      { channel: 'Email', visitors: 1 },
      { channel: 'Organic Social', visitors: 1 },
      { channel: 'SMS', visitors: 1 },
    ]);
    const tags = await ok('breakdown', 'period=day&date=2026-11-25&property=visit:utm_source');
    expect(tags).toEqual([
      { utm_source: 'sms', visitors: 1 },
      { utm_source: 'weekly-newsletter', visitors: 1 },
    ]);
    const filtered = await ok(
      'aggregate',
      `period=day&date=2026-11-25&metrics=visitors&filters=${encodeURIComponent('visit:utm_source==sms')}`,
    );
    expect(filtered).toEqual({ visitors: { value: 1 } });
  });
});

describe('conversion_rate (goal conversions)', () => {
  const signup = `filters=${encodeURIComponent('event:goal==Signup')}`;
  const TWO_DAYS = 'period=custom&date=2026-11-24,2026-11-25';

  test('aggregate with a goal filter: converted visitors of all, 2 decimals', async () => {
    // On the 24th A signed up, B did not.
    expect(
      await ok(
        'aggregate',
        `period=day&date=2026-11-24&${signup}&metrics=visitors,events,conversion_rate`,
      ),
    ).toEqual({ visitors: { value: 1 }, events: { value: 1 }, conversion_rate: { value: 50 } });
    // Today C signs up too, and E only looks: 1 of 3 (33.33) against 50 the day before, a
    // change in points to 1 decimal, as Plausible's.
    await beacon(
      '2026-11-25T09:01:00Z',
      '198.51.100.3',
      { n: 'Signup', u: 'https://example.com/' },
      IPHONE,
    );
    await beacon('2026-11-25T11:00:00Z', '198.51.100.5', page('/'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    expect(
      await ok('aggregate', `period=day&${signup}&metrics=conversion_rate&compare=previous_period`),
    ).toEqual({ conversion_rate: { value: 33.33, comparison_value: 50, change: -16.7 } });
  });

  test('breakdown by goal: unique and total conversions and the rate over all visitors', async () => {
    expect(
      await ok(
        'breakdown',
        `${TWO_DAYS}&property=event:goal&metrics=visitors,events,conversion_rate`,
      ),
    ).toEqual([{ goal: 'Signup', visitors: 1, events: 1, conversion_rate: 25 }]);
    // By a custom property with a goal filter, over all visitors too (Plausible's rule).
    expect(
      await ok(
        'breakdown',
        `period=day&date=2026-11-24&property=event:props:plan&${signup}&metrics=conversion_rate`,
      ),
    ).toEqual([{ plan: 'pro', conversion_rate: 50 }]);
  });

  test("by source and per day: each row over its own visitors (Plausible's group rate)", async () => {
    expect(
      await ok(
        'breakdown',
        `${TWO_DAYS}&property=visit:source&${signup}&metrics=visitors,conversion_rate`,
      ),
    ).toEqual([{ source: 'Google', visitors: 1, conversion_rate: 100 }]);
    expect(await ok('timeseries', `${TWO_DAYS}&${signup}&metrics=conversion_rate`)).toEqual([
      { date: '2026-11-24', conversion_rate: 50 },
      { date: '2026-11-25', conversion_rate: 0 },
    ]);
  });

  test('refused without a goal, and ranked by itself where each row has its own total', async () => {
    expect(await refused('aggregate', 'metrics=conversion_rate')).toBe(
      'Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter',
    );
    expect(await refused('breakdown', 'property=event:page&metrics=visitors,conversion_rate')).toBe(
      'Metric `conversion_rate` can only be queried in a goal breakdown or with a goal filter',
    );
    expect(
      await refused('breakdown', `property=visit:source&${signup}&metrics=conversion_rate`),
    ).toStartWith('Tally cannot rank a breakdown by `visit:source` by `conversion_rate`');
  });
});

describe("Plausible's 400s", () => {
  test('a filter of at most 16 conditions of 100 alternatives; breakdown pages 1,000 rows, 10,000', async () => {
    // README "Limits": the bounds Tally keeps where Plausible's v1 names none.
    const filters = (n: number, values = 1) => {
      const alternatives = Array.from({ length: values }, (_, i) => `v${i}`).join('|');
      const one = (i: number) => `event:props:k${i}==${alternatives}`;
      return `filters=${encodeURIComponent(Array.from({ length: n }, (_, i) => one(i)).join(';'))}`;
    };
    expect(await ok('aggregate', `${WEEK}&${filters(16, 100)}`)).toBeDefined();
    expect(await refused('aggregate', `${WEEK}&${filters(17)}`)).toBe(
      'At most 16 filters may be combined.',
    );
    expect(await refused('aggregate', `${WEEK}&${filters(1, 101)}`)).toBe(
      'A filter may name at most 100 values.',
    );
    const breakdown = `${WEEK}&property=visit:source&limit=1000`;
    expect(await ok('breakdown', `${breakdown}&page=10000`)).toEqual([]);
    expect((await stats('breakdown', `${breakdown}&page=10001`)).status).toBe(400);
  });

  test('unknown or unsupported metrics, periods, dates, properties and filters', async () => {
    expect(await refused('aggregate', 'metrics=visitors,bogus')).toBe(
      'The metric `bogus` is not recognized. Find valid metrics from the documentation: ' +
        'https://plausible.io/docs/stats-api#metrics',
    );
    expect(await refused('aggregate', 'metrics=visitors,visitors')).toBe(
      'Metrics cannot be queried multiple times.',
    );
    expect(await refused('aggregate', 'period=year')).toBe(
      'Error parsing `period` parameter: invalid period `year`. Please find accepted values ' +
        'in our docs: https://plausible.io/docs/stats-api#time-periods',
    );
    expect(await refused('aggregate', 'period=custom')).toStartWith(
      'The `date` parameter is required when using a custom period.',
    );
    expect(await refused('aggregate', 'period=custom&date=2026-11-01')).toStartWith(
      'Invalid format for `date` parameter.',
    );
    // Elixir's reasons, as Plausible quotes them.
    expect(await refused('aggregate', 'date=2026-02-30')).toBe(
      'Error parsing `date` parameter: invalid_date. Please specify a valid date in ISO-8601 format.',
    );
    expect(await refused('aggregate', 'period=month&date=2021-dkjbAS')).toBe(
      'Error parsing `date` parameter: invalid_format. ' +
        'Please specify a valid date in ISO-8601 format.',
    );
    expect(await refused('breakdown', 'period=7d')).toStartWith(
      'The `property` parameter is required.',
    );
    // An empty property is given, so Plausible names it invalid rather than missing.
    expect(await refused('breakdown', 'property=')).toStartWith("Invalid property ''.");
    expect(await refused('breakdown', 'property=visit:planet')).toStartWith(
      "Invalid property 'visit:planet'.",
    );
    expect(await refused('breakdown', 'property=visit:region')).toBe(
      'Breaking down by `visit:region` is not supported by Tally: ' +
        'Tally locates visitors by country only.',
    );
    expect(await refused('aggregate', `filters=${encodeURIComponent('visit:city==Paris')}`)).toBe(
      'Filtering by `visit:city` is not supported by Tally: Tally locates visitors by country only.',
    );
    // README "Limits": every property Tally keeps nothing for is a 400 saying so.
    const unkept = ['visit:browser_version', 'visit:os_version', 'event:hostname'];
    for (const property of unkept) {
      expect(await refused('breakdown', `property=${property}`)).toStartWith(
        `Breaking down by \`${property}\` is not supported by Tally: Tally keeps no `,
      );
    }
    expect(await refused('aggregate', 'filters=nonsense')).toStartWith(
      'Invalid filter expression `nonsense`',
    );
    expect(await refused('breakdown', 'property=event:goal&metrics=bounce_rate')).toBe(
      'Session metric `bounce_rate` cannot be queried for breakdown by `event:goal`.',
    );
    // README: a visit metric with a custom property; views_per_visit with a page filter or
    // in any breakdown, in Plausible's words.
    const plan = `filters=${encodeURIComponent('event:props:plan==pro')}`;
    expect(await refused('aggregate', `${plan}&metrics=visit_duration`)).toBe(
      'Session metric `visit_duration` cannot be queried when using a filter on `event:props:plan`.',
    );
    expect(await refused('breakdown', 'property=event:props:plan&metrics=bounce_rate')).toBe(
      'Session metric `bounce_rate` cannot be queried for breakdown by `event:props:plan`.',
    );
    const home = `filters=${encodeURIComponent('event:page==/')}`;
    expect(await refused('aggregate', `${home}&metrics=views_per_visit`)).toBe(
      'Metric `views_per_visit` cannot be queried with a filter on `event:page`.',
    );
    expect(await refused('breakdown', 'property=visit:source&metrics=views_per_visit')).toBe(
      'Metric `views_per_visit` is not supported in breakdown queries.',
    );
    // Split on commas only, as Plausible's v1 does (its String.split(",")): a space after a
    // comma makes a name it does not know.
    expect(await refused('aggregate', `metrics=${encodeURIComponent('visitors, pageviews')}`)).toBe(
      'The metric ` pageviews` is not recognized. Find valid metrics from the documentation: ' +
        'https://plausible.io/docs/stats-api#metrics',
    );
    expect(await refused('breakdown', 'property=visit:source&limit=1001')).toBe(
      'Please provide limit as a number between 1 and 1000.',
    );
    expect(await refused('timeseries', 'interval=week')).toBe(
      'Error parsing `interval` parameter: invalid interval `week`. Valid intervals are `day`, `month`',
    );
    // v1 has no revenue metrics: they are not recognized, as any unknown name.
    // Nor is average_revenue, nor v2's scroll_depth (README), in Plausible's v1 either.
    for (const metric of ['total_revenue', 'average_revenue', 'scroll_depth']) {
      expect(await refused('aggregate', `metrics=${metric}`)).toBe(
        `The metric \`${metric}\` is not recognized. Find valid metrics from the ` +
          'documentation: https://plausible.io/docs/stats-api#metrics',
      );
    }
    expect(await refused('aggregate', 'tz=Mars/Olympus')).toStartWith(
      'Error parsing `tz` parameter',
    );
    // A zone's + sent unescaped arrives as a space (Etc/GMT 5): the answer says to send %2B.
    expect(await refused('aggregate', 'tz=Etc/GMT+5')).toBe(
      'Error parsing `tz` parameter: tz has a space where its + belongs (got "Etc/GMT 5"): a ' +
        'query string reads an unescaped + as a space; send it as %2B (tz=Etc/GMT%2B5)',
    );
    // A name every JavaScript object has is no property or interval either (was a 500, and
    // an interval of toString read days).
    for (const name of ['constructor', 'toString', '__proto__']) {
      expect(await refused('breakdown', `property=${name}`)).toStartWith(
        `Invalid property '${name}'.`,
      );
      expect(await refused('aggregate', `filters=${encodeURIComponent(`${name}==x`)}`)).toStartWith(
        `Invalid filter property '${name}'.`,
      );
      expect(await refused('timeseries', `interval=${name}`)).toStartWith(
        `Error parsing \`interval\` parameter: invalid interval \`${name}\`.`,
      );
    }
  });

  test('a site_id that cannot name a site is 401, as an unknown site is', async () => {
    const res = await t.get(`/api/v1/stats/aggregate?site_id=${encodeURIComponent('../x y')}`);
    expect(res.status).toBe(401);
    expect(((await res.json()) as Json).error).toStartWith('Invalid API key or site ID.');
  });

  test("a server bug's 500 keeps Tally's {detail, code} and leaks nothing", async () => {
    t.engine.store.snapshot = () => {
      throw new Error('secret cause');
    };
    for (const res of [
      await t.get('/api/v1/stats/aggregate?site_id=example.com'),
      await t.post('/api/v2/query', {
        site_id: 'example.com',
        metrics: ['visitors'],
        date_range: 'day',
      }),
    ]) {
      expect(res.status).toBe(500);
      const body = (await res.json()) as Json;
      expect(Object.keys(body).sort()).toEqual(['code', 'detail']);
      expect(JSON.stringify(body)).not.toContain('secret');
    }
  });

  test('site_id is required', async () => {
    const res = await t.get('/api/v1/stats/aggregate?period=7d');
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      error: 'Missing site ID. Please provide the required site_id parameter with your request.',
    });
  });
});

describe('the read gate', () => {
  test("a read waits for a place of its tenant's reads and leaves when its client goes", async () => {
    const store = t.engine.store;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from({ length: queryLimits.tenantReadsRunningMax }, () =>
      withSnapshot(store, 'example.com', {}, undefined, () => released),
    );
    const client = new AbortController();
    const answer = t.handle(
      new Request('http://localhost/api/v1/stats/aggregate?site_id=example.com', {
        signal: client.signal,
      }),
    );
    for (let i = 0; i < 200 && readsWaiting(store, 'example.com') === 0; i++) await Bun.sleep(5);
    expect(readsWaiting(store, 'example.com')).toBe(1);
    expect(readsWaiting(store, DEFAULT_TENANT)).toBe(0);
    client.abort();
    expect((await answer).status).toBe(499);
    expect(readsWaiting(store, 'example.com')).toBe(0);
    release();
    await Promise.all(held);
  });

  test("past the reads waiting: Plausible's 429 {error} with Retry-After, v1 and v2", async () => {
    const store = t.engine.store;
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const held = Array.from({ length: queryLimits.tenantReadsRunningMax }, () =>
      withSnapshot(store, 'example.com', {}, undefined, () => released),
    );
    const waiting = Array.from({ length: queryLimits.tenantReadsWaitingMax }, () =>
      t.get('/api/v1/stats/aggregate?site_id=example.com'),
    );
    const full = () => readsWaiting(store, 'example.com') === queryLimits.tenantReadsWaitingMax;
    for (let i = 0; i < 200 && !full(); i++) await Bun.sleep(5);
    expect(full()).toBe(true);
    const v1 = await t.get('/api/v1/stats/aggregate?site_id=example.com');
    const v2 = await t.post('/api/v2/query', {
      site_id: 'example.com',
      metrics: ['visitors'],
      date_range: 'day',
    });
    for (const res of [v1, v2]) {
      expect(res.status).toBe(429);
      expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
      expect(Object.keys((await res.json()) as Json)).toEqual(['error']);
    }
    release();
    await Promise.all(held);
    expect((await Promise.all(waiting)).map((res) => res.status)).toEqual(
      Array(queryLimits.tenantReadsWaitingMax).fill(200),
    );
  });
});
