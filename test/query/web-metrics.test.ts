// getWebMetrics (Plausible's Stats API metrics) over a hand-made set of visits: totals, event
// and visit filters (alternatives, negation, wildcards, goals), buckets, breakdowns by event
// and visit properties with paging, the realtime count, and getGoalMetrics' conversion rates;
// and what v2 adds: nested conditions, contains and RE2 matches, rankings by any order with
// a row count, `(not set)` labels, global and group rates, bad patterns, the first event.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  bucketStarts,
  conversionRateOf,
  countCurrentVisitors,
  findBadPattern,
  type GoalMetric,
  getFirstEventMs,
  getGoalMetrics,
  getWebMetrics,
  type WebCondition,
  type WebDimension,
  type WebFilter,
  type WebMetric,
  type WebOrder,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-11-24T10:00:00Z');
const DAY = Date.parse('2026-11-24T00:00:00Z');
const MIN = 60_000;
const ALL: WebMetric[] = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
];

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
  const view = (visitor: string, minutes: number, path: string, extra: Partial<StoredEvent> = {}) =>
    makeEvent({
      timestamp: T + minutes * MIN,
      visitor_id: visitor,
      name: 'pageview',
      path,
      url: `https://example.com${path}`,
      ...extra,
    });
  await source.add([
    // v1: Google → / → /blog/a, then signs up there: one visit of 6 minutes, not a bounce.
    view('v1', 0, '/', { referrer: 'https://www.google.com/', os: 'MacOS' }),
    view('v1', 5, '/blog/a', { os: 'MacOS' }),
    view('v1', 6, '/blog/a', { name: 'Signup', os: 'MacOS', properties: { plan: 'pro' } }),
    // v2: a newsletter link to /blog/b, a bounce.
    view('v2', 1, '/blog/b', {
      url: 'https://example.com/blog/b?utm_source=newsletter&utm_medium=email',
      os: 'Windows',
      device: 'mobile',
    }),
    // v3: from Hacker News (a bounce), and 93 minutes later again, direct (another bounce).
    view('v3', 2, '/', { referrer: 'https://news.ycombinator.com/item?id=1', os: 'Linux' }),
    view('v3', 95, '/', { os: 'Linux' }),
    // A bot: never counted.
    view('bot', 3, '/', { is_bot: true, device: 'bot' }),
  ]);
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const total: WebDimension = { kind: 'total' };
const read = (
  filters: WebCondition[] = [],
  metrics = ALL,
  dimension: WebDimension = total,
  notSet = false,
) =>
  getWebMetrics(source, 'acme', {
    fromMs: DAY,
    toMs: DAY + 86_400_000,
    metrics,
    filters,
    dimension,
    notSet,
  });
const only = async (filters: WebCondition[] = [], metrics = ALL) =>
  (await read(filters, metrics))[0]?.values;
const filter = (property: WebFilter['property'], values: string[], more = {}): WebFilter => ({
  property,
  values,
  match: values.some((v) => v.includes('*')) ? 'glob' : 'is',
  negated: false,
  ...more,
});

describe('web metrics', () => {
  test('totals: visitors, visits, page views, events and the visit measures', async () => {
    expect(await only()).toEqual({
      visitors: 3,
      visits: 4,
      pageviews: 5,
      views_per_visit: 1.25, // 5 page views in 4 visits
      bounce_rate: 75, // 3 of 4 visits bounced
      visit_duration: 90, // (360 + 0 + 0 + 0) / 4 seconds
      events: 6,
    });
  });

  test('an empty range counts nothing and has no visit measures', async () => {
    const rows = await getWebMetrics(source, 'acme', {
      fromMs: DAY - 86_400_000,
      toMs: DAY,
      metrics: ALL,
      filters: [],
      dimension: total,
    });
    expect(rows).toEqual([]);
  });

  test('an event filter counts its events and the visits that hold one', async () => {
    const blog = filter({ event: 'page' }, ['/blog/**']);
    expect(await only([blog])).toEqual({
      visitors: 2,
      visits: 2,
      pageviews: 2,
      views_per_visit: 1.5, // all page views of those visits: (2 + 1) / 2
      bounce_rate: 50,
      visit_duration: 180,
      events: 3,
    });
    const exact = filter({ event: 'page' }, ['/', '/blog/b']);
    expect(await only([exact], ['visitors', 'pageviews'])).toEqual({ visitors: 3, pageviews: 4 });
    const notRoot = filter({ event: 'page' }, ['/'], { negated: true });
    expect(await only([notRoot], ['events'])).toEqual({ events: 3 });
  });

  test('goals: a custom event by name, a page view by "Visit <path>"', async () => {
    expect(await only([filter({ event: 'goal' }, ['Signup'])], ['visitors', 'events'])).toEqual({
      visitors: 1,
      events: 1,
    });
    const pageGoal = filter({ event: 'goal' }, ['Visit /blog/*'], { glob: true });
    expect(await only([pageGoal], ['visitors', 'events'])).toEqual({ visitors: 2, events: 2 });
    const props = filter({ prop: 'plan' }, ['pro']);
    expect(await only([props], ['events'])).toEqual({ events: 1 });
  });

  test('a wildcard on a custom property matches only events that have it, negated too', async () => {
    // Only the Signup has a plan; the 5 other events are listed as (none) but match no `*`.
    expect(await only([filter({ prop: 'plan' }, ['*'])], ['events'])).toEqual({ events: 1 });
    const notP = filter({ prop: 'plan' }, ['p*'], { negated: true });
    expect(await only([notP], ['events'])).toBeUndefined(); // no row: nothing counted
    const notX = filter({ prop: 'plan' }, ['x*'], { negated: true });
    expect(await only([notX], ['events'])).toEqual({ events: 1 });
    // Without a wildcard, (none) still names the events without it.
    expect(await only([filter({ prop: 'plan' }, ['(none)'])], ['events'])).toEqual({ events: 5 });
  });

  test('a visit filter counts the events and visits of the visits it keeps', async () => {
    const google = filter({ visit: 'source' }, ['Google']);
    expect(await only([google])).toEqual({
      visitors: 1,
      visits: 1,
      pageviews: 2,
      views_per_visit: 2,
      bounce_rate: 0,
      visit_duration: 360,
      events: 3,
    });
    const others = filter({ visit: 'source' }, ['Google'], { negated: true });
    expect(await only([others], ['visitors', 'visits', 'pageviews', 'bounce_rate'])).toEqual({
      visitors: 2,
      visits: 3,
      pageviews: 3,
      bounce_rate: 100,
    });
    const mac = filter({ visit: 'os' }, ['Mac']);
    expect(await only([mac, filter({ event: 'page' }, ['/blog/a'])], ['events'])).toEqual({
      events: 2,
    });
    const email = filter({ visit: 'utm_medium' }, ['email']);
    expect(await only([email], ['visitors'])).toEqual({ visitors: 1 });
  });

  test('per bucket: events by their time, visits by their start', async () => {
    const starts = bucketStarts(DAY + 10 * 60 * MIN, DAY + 12 * 60 * MIN, 'hour', 'UTC');
    const rows = await read([], ['visitors', 'visits'], { kind: 'bucket', starts });
    expect(rows.sort((a, b) => Number(a.key) - Number(b.key))).toEqual([
      { key: T, values: { visitors: 3, visits: 3 } },
      { key: T + 60 * MIN, values: { visitors: 1, visits: 1 } },
    ]);
  });

  test('breakdowns by a visit property, ranked by the first metric, then the value', async () => {
    const by = (property: WebFilter['property'], metrics: WebMetric[], limit = 10, offset = 0) =>
      read([], metrics, { kind: 'property', property, limit, offset });
    expect(await by({ visit: 'source' }, ['visitors', 'visits', 'bounce_rate'])).toEqual([
      { key: 'Direct / None', values: { visitors: 1, visits: 1, bounce_rate: 100 } },
      { key: 'Google', values: { visitors: 1, visits: 1, bounce_rate: 0 } },
      { key: 'Hacker News', values: { visitors: 1, visits: 1, bounce_rate: 100 } },
      { key: 'newsletter', values: { visitors: 1, visits: 1, bounce_rate: 100 } },
    ]);
    expect(await by({ visit: 'source' }, ['visitors'], 2, 2)).toEqual([
      { key: 'Hacker News', values: { visitors: 1 } },
      { key: 'newsletter', values: { visitors: 1 } },
    ]);
    expect(await by({ visit: 'entry_page' }, ['visits'])).toEqual([
      { key: '/', values: { visits: 3 } },
      { key: '/blog/b', values: { visits: 1 } },
    ]);
    expect(await by({ visit: 'utm_medium' }, ['visitors'])).toEqual([
      { key: 'email', values: { visitors: 1 } },
    ]);
    expect(await by({ visit: 'device' }, ['visitors'])).toEqual([
      { key: 'Desktop', values: { visitors: 2 } },
      { key: 'Mobile', values: { visitors: 1 } },
    ]);
    expect(await by({ visit: 'referrer' }, ['visitors'])).toEqual([
      { key: 'Direct / None', values: { visitors: 2 } },
      { key: 'google.com', values: { visitors: 1 } },
      { key: 'news.ycombinator.com/item', values: { visitors: 1 } },
    ]);
  });

  test('by a visit property: each visitor of a visit counts, events and views by row', async () => {
    // One session from Google whose user logged in on its way (two visitor ids), beside the
    // fixture's visits; a visit whose only counted events are filtered out counts nothing.
    const at = (minutes: number, visitor: string, extra: Partial<StoredEvent> = {}) =>
      makeEvent({
        timestamp: T + minutes * MIN,
        visitor_id: visitor,
        session_id: 's-login',
        name: 'pageview',
        path: '/login',
        ...extra,
      });
    await source.add([
      at(10, 'anon-1', { referrer: 'https://google.com/' }),
      at(11, 'user-9', { path: '/account' }),
      at(12, 'user-9', { name: 'Purchase', path: '/account' }),
      at(13, 'anon-1', { path: '/account' }),
    ]);
    const metrics: WebMetric[] = ['visitors', 'visits', 'pageviews', 'events'];
    const bySource = (filters: WebCondition[] = []) =>
      read(filters, metrics, {
        kind: 'property',
        property: { visit: 'source' },
        limit: 10,
        offset: 0,
      });
    const google = (await bySource()).find((row) => row.key === 'Google');
    expect(google?.values).toEqual({ visitors: 3, visits: 2, pageviews: 5, events: 7 });
    // Only the page views of /account: of the login session, two visitors, two views.
    const account = await bySource([filter({ event: 'page' }, ['/account'])]);
    expect(account).toEqual([
      { key: 'Google', values: { visitors: 2, visits: 1, pageviews: 2, events: 3 } },
    ]);
    // The purchase alone: one visitor of the session.
    const purchase = await bySource([filter({ event: 'name' }, ['Purchase'])]);
    expect(purchase).toEqual([
      { key: 'Google', values: { visitors: 1, visits: 1, pageviews: 0, events: 1 } },
    ]);
  });

  test('breakdowns by an event property', async () => {
    const by = (property: WebFilter['property'], metrics: WebMetric[]) =>
      read([], metrics, { kind: 'property', property, limit: 10, offset: 0 });
    expect(await by({ event: 'page' }, ['visitors', 'pageviews', 'visits'])).toEqual([
      { key: '/', values: { visitors: 2, pageviews: 3, visits: 3 } },
      { key: '/blog/a', values: { visitors: 1, pageviews: 1, visits: 1 } },
      { key: '/blog/b', values: { visitors: 1, pageviews: 1, visits: 1 } },
    ]);
    expect(await by({ event: 'goal' }, ['events'])).toEqual([
      { key: 'Signup', values: { events: 1 } },
    ]);
    expect(await by({ prop: 'plan' }, ['events'])).toEqual([
      { key: '(none)', values: { events: 5 } },
      { key: 'pro', values: { events: 1 } },
    ]);
  });

  test('current visitors: distinct visitors with an event in the window', async () => {
    const now = T + 6 * MIN;
    expect(await countCurrentVisitors(source, 'acme', { nowMs: now, windowMs: 5 * MIN })).toBe(3);
    expect(await countCurrentVisitors(source, 'acme', { nowMs: now, windowMs: 2 * MIN })).toBe(2);
  });
});

describe("v2's conditions, matches and rankings", () => {
  const page = (values: string[], more: Partial<WebFilter> = {}) =>
    filter({ event: 'page' }, values, more);
  const pageviews = async (filters: WebCondition[]) =>
    (await only(filters, ['pageviews']))?.pageviews ?? 0; // no row when nothing matched

  test('contains, RE2 matches (anywhere in the value), case ignored, negated', async () => {
    expect(await pageviews([page(['blog'], { match: 'contains' })])).toBe(2);
    expect(await pageviews([page(['BLOG'], { match: 'contains' })])).toBe(0);
    expect(await pageviews([page(['BLOG'], { match: 'contains', ignoreCase: true })])).toBe(2);
    expect(await pageviews([page(['/BLOG/A'], { ignoreCase: true })])).toBe(1);
    expect(await pageviews([page(['blog', 'x'], { match: 'contains', negated: true })])).toBe(3);
    expect(await pageviews([page(['^/blog/(a|b)$'], { match: 'regex' })])).toBe(2);
    expect(await pageviews([page(['g/'], { match: 'regex' })])).toBe(2); // not anchored
    expect(await pageviews([page(['^/blog'], { match: 'regex', negated: true })])).toBe(3);
    // A literal: regex characters in a contains value are no pattern.
    expect(await pageviews([page(['.*'], { match: 'contains' })])).toBe(0);
  });

  test('and, or and not nest, each side read on its own', async () => {
    const google = filter({ visit: 'source' }, ['Google']);
    const email = filter({ visit: 'utm_medium' }, ['email']);
    expect(await only([{ any: [google, email] }], ['visitors'])).toEqual({ visitors: 2 });
    expect(await only([{ not: { any: [google, email] } }], ['visitors'])).toEqual({
      visitors: 1,
    });
    const pages = { any: [page(['/']), { all: [page(['/blog/*']), { not: page(['/blog/b']) }] }] };
    // Events: v1's /, /blog/a and its Signup, v3's two /; visits: v1's and v3's two.
    expect(await only([pages, { not: email }], ['events', 'visits'])).toEqual({
      events: 5,
      visits: 3,
    });
  });

  test('a ranking by any order, with the number of rows before its page', async () => {
    const byPage = (order: WebOrder[]) =>
      read([], ['visitors', 'pageviews'], {
        kind: 'property',
        property: { event: 'page' },
        limit: 2,
        offset: 1,
        order,
        countRows: true,
      });
    expect(
      await byPage([
        { by: 'pageviews', desc: false },
        { by: { key: 0 }, desc: true },
      ]),
    ).toEqual([
      { key: '/blog/a', values: { visitors: 1, pageviews: 1 }, totalRows: 3 },
      { key: '/', values: { visitors: 2, pageviews: 3 }, totalRows: 3 },
    ]);
  });

  test('a group of keys: a row per combination with data, ranked by a key, then the keys', async () => {
    const starts = bucketStarts(DAY, DAY + 86_400_000, 'hour', 'UTC');
    const rows = await read([], ['visits', 'pageviews'], {
      kind: 'group',
      keys: [{ property: { visit: 'source' } }, { starts }],
      limit: 10,
      offset: 0,
      order: [{ by: { key: 1 }, desc: false }],
    });
    expect(
      rows.map((row) => [...(row.keys ?? []), row.values.visits, row.values.pageviews]),
    ).toEqual([
      ['Google', T, 1, 2],
      ['Hacker News', T, 1, 1],
      ['newsletter', T, 1, 1],
      ['Direct / None', T + 60 * MIN, 1, 1],
    ]);
  });

  test('notSet: a visit without a tag is (not set), listed and filtered', async () => {
    const byMedium: WebDimension = {
      kind: 'property',
      property: { visit: 'utm_medium' },
      limit: 10,
      offset: 0,
    };
    expect(await read([], ['visits'], byMedium, true)).toEqual([
      { key: '(not set)', values: { visits: 3 } },
      { key: 'email', values: { visits: 1 } },
    ]);
    expect(await read([], ['visits'], byMedium)).toEqual([{ key: 'email', values: { visits: 1 } }]);
    const notSet = filter({ visit: 'utm_medium' }, ['(not set)']);
    expect((await read([notSet], ['visits'], total, true))[0]?.values).toEqual({ visits: 3 });
  });

  test('a pattern RE2 refuses is found with its reason, before any read', async () => {
    expect(await findBadPattern(source, 'acme', ['^/blog$', 'a(b', 'c{2,1}'])).toEqual({
      pattern: 'a(b',
      reason: 'missing ): a(b',
    });
    expect(await findBadPattern(source, 'acme', ['^/(?i)blog/\\d+$'])).toBeNull();
    expect(await findBadPattern(source, 'acme', [])).toBeNull();
  });

  test('the first event: the earliest stored one, bots left out', async () => {
    await source.add([makeEvent({ timestamp: T - 5 * MIN, tenant: 'acme', is_bot: true })]);
    expect(await getFirstEventMs(source, 'acme')).toBe(T);
    expect(await getFirstEventMs(source, 'nobody')).toBeNull();
  });
});

describe('goal conversion rates', () => {
  // Besides v1's Signup: v2 signs up on /blog/b, and v4 comes from Google and leaves. So 2 of
  // the 4 visitors converted; from Google 1 of 2, from the newsletter 1 of 1.
  beforeEach(async () => {
    const event = (visitor: string, minutes: number, extra: Partial<StoredEvent>) =>
      makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, ...extra });
    await source.add([
      event('v2', 3, { name: 'Signup', path: '/blog/b', url: 'https://example.com/blog/b' }),
      event('v4', 4, {
        name: 'pageview',
        path: '/',
        url: 'https://example.com/',
        referrer: 'https://google.com/',
      }),
    ]);
  });
  const signup = filter({ event: 'goal' }, ['Signup']);
  const goals = (
    filters: WebFilter[],
    metrics: GoalMetric[],
    dimension: WebDimension = { kind: 'total' },
  ) =>
    getGoalMetrics(source, 'acme', {
      fromMs: DAY,
      toMs: DAY + 86_400_000,
      metrics,
      filters,
      dimension,
    });

  test('converted visitors ÷ visitors × 100, 2 decimals (a tie to even), 0 without visitors', () => {
    expect(conversionRateOf(2, 3)).toBe(66.67);
    expect(conversionRateOf(1, 8)).toBe(12.5);
    expect(conversionRateOf(1, 32)).toBe(3.12);
    expect(conversionRateOf(3, 32)).toBe(9.38);
    expect(conversionRateOf(0, 0)).toBe(0);
  });

  test('in total: the goal filter converts, the others also scope the denominator', async () => {
    expect(await goals([signup], ['conversion_rate', 'visitors', 'events'])).toEqual([
      { key: null, values: { conversion_rate: 50, visitors: 2, events: 2 } },
    ]);
    // Desktop: v1 converted, v3 and v4 did not (v2 is on a phone).
    const desktop = filter({ visit: 'device' }, ['Desktop']);
    expect(await goals([signup, desktop], ['conversion_rate'])).toEqual([
      { key: null, values: { conversion_rate: 33.33 } },
    ]);
    // A custom property filter narrows the conversions only: 1 of the 4 visitors.
    const pro = filter({ prop: 'plan' }, ['pro']);
    expect(await goals([signup, pro], ['conversion_rate'])).toEqual([
      { key: null, values: { conversion_rate: 25 } },
    ]);
  });

  test('by goal and by custom property: each row over all the visitors', async () => {
    const byGoal: WebDimension = {
      kind: 'property',
      property: { event: 'goal' },
      limit: 10,
      offset: 0,
    };
    expect(await goals([], ['visitors', 'events', 'conversion_rate'], byGoal)).toEqual([
      { key: 'Signup', values: { visitors: 2, events: 2, conversion_rate: 50 } },
    ]);
    const byPlan: WebDimension = {
      kind: 'property',
      property: { prop: 'plan' },
      limit: 10,
      offset: 0,
    };
    expect(await goals([signup], ['conversion_rate', 'visitors'], byPlan)).toEqual([
      { key: '(none)', values: { conversion_rate: 25, visitors: 1 } },
      { key: 'pro', values: { conversion_rate: 25, visitors: 1 } },
    ]);
  });

  test('by source and per bucket: each row over its own visitors', async () => {
    const bySource: WebDimension = {
      kind: 'property',
      property: { visit: 'source' },
      limit: 10,
      offset: 0,
    };
    expect(await goals([signup], ['visitors', 'conversion_rate'], bySource)).toEqual([
      { key: 'Google', values: { visitors: 1, conversion_rate: 50 } },
      { key: 'newsletter', values: { visitors: 1, conversion_rate: 100 } },
    ]);
    const starts = bucketStarts(DAY + 10 * 60 * MIN, DAY + 12 * 60 * MIN, 'hour', 'UTC');
    // 10:00 holds 4 visitors, 2 converting; 11:00 only v3's second visit, no conversion row.
    expect(await goals([signup], ['conversion_rate'], { kind: 'bucket', starts })).toEqual([
      { key: T, values: { conversion_rate: 50 } },
    ]);
  });

  test("v2's rates: conversion_rate over the range's visitors, group_conversion_rate the row's", async () => {
    const bySource: WebDimension = {
      kind: 'property',
      property: { visit: 'source' },
      limit: 10,
      offset: 0,
    };
    const rows = await getGoalMetrics(source, 'acme', {
      fromMs: DAY,
      toMs: DAY + 86_400_000,
      metrics: ['visitors', 'conversion_rate', 'group_conversion_rate'],
      filters: [signup],
      dimension: { ...bySource, order: [{ by: 'conversion_rate', desc: true }] },
      globalConversionRate: true,
    });
    expect(rows).toEqual([
      { key: 'Google', values: { visitors: 1, conversion_rate: 25, group_conversion_rate: 50 } },
      {
        key: 'newsletter',
        values: { visitors: 1, conversion_rate: 25, group_conversion_rate: 100 },
      },
    ]);
  });
});
