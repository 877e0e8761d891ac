// The visit filters and visit groups of the native reads (visit-scope.ts): getStats,
// getTimeSeries and listEvents keep the events of the visits whose source, channel, entry or
// exit page or campaign tags match, every event of such a visit (its other pages too), combined
// with the event filters, the range and bots; a series grouped by a visit property counts each
// event under its visit's value.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  type EventFilters,
  getStats,
  getTimeSeries,
  listEvents,
  parseGroupBy,
  type TimeSeriesOptions,
  type VisitScope,
  visitScopeOf,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const MIN = 60_000;
const SITE = 'https://shop.example';
const GOOGLE = 'https://www.google.com/';
const CAMPAIGN =
  'utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=hero&utm_term=shoes';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
  await source.add(fourVisits());
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const at = (visitor: string, minutes: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, ...fields });

/**
 * - A, v1 in session s1, from Google: /home, /pricing, a signup on /pricing.
 * - B, v1 an hour later without a session: /blog with every campaign tag (Email), /docs.
 * - C, v2 from Hacker News: /pricing.
 * - D, v3, no referrer: /home, /about.
 * - a bot from Google on /home.
 */
function fourVisits(): StoredEvent[] {
  return [
    at('v1', 0, { session_id: 's1', path: '/home', url: `${SITE}/home`, referrer: GOOGLE }),
    at('v1', 2, { session_id: 's1', path: '/pricing', referrer: `${SITE}/home` }),
    at('v1', 3, { session_id: 's1', name: 'signup', path: '/pricing' }),
    at('v1', 60, { path: '/blog', url: `${SITE}/blog?${CAMPAIGN}` }),
    at('v1', 61, { path: '/docs', url: `${SITE}/docs`, referrer: `${SITE}/blog` }),
    at('v2', 10, { path: '/pricing', referrer: 'https://news.ycombinator.com/' }),
    at('v3', 20, { path: '/home', url: `${SITE}/home` }),
    at('v3', 21, { path: '/about', url: `${SITE}/about` }),
    at('bot', 5, { path: '/home', referrer: GOOGLE, is_bot: true, device: 'bot' }),
  ];
}

const scope = (query: Record<string, string>) => visitScopeOf(query) as VisitScope;

const statsOf = (query: Record<string, string>, filters: EventFilters = {}) =>
  getStats(source, 'acme', { filters, top: 10, visits: scope(query) });

/** The paths of the events of a read, sorted. */
const pathsOf = async (query: Record<string, string>, filters: EventFilters = {}) => {
  const s = await statsOf(query, filters);
  return { events: s.total_events, visits: s.visits, paths: s.top_paths.map((r) => r.path) };
};

describe('getStats with visit filters', () => {
  test('referrer_source keeps every event of the visits from that source, bots per filter', async () => {
    const google = await statsOf({ referrer_source: 'Google' });
    expect([google.total_events, google.visits, google.unique_visitors]).toEqual([3, 1, 1]);
    expect(google.top_events.map((r) => [r.name, r.events])).toEqual([
      ['page_view', 2],
      ['signup', 1],
    ]);
    expect(google.top_referrer_sources.map((r) => r.source)).toEqual(['Google']);
    const withBots = await statsOf({ referrer_source: 'Google' }, { includeBots: true });
    expect([withBots.total_events, withBots.visits]).toEqual([4, 2]);
    expect((await statsOf({ referrer_source: 'Direct / None' })).total_events).toBe(2);
    expect((await statsOf({ referrer_source: 'google' })).total_events).toBe(0);
  });

  test('the visits are formed once for the four statements, in a table dropped after', async () => {
    const statements: string[] = [];
    const snapshot = source.snapshot.bind(source);
    source.snapshot = async (tenant, range) => {
      const taken = await snapshot(tenant, range);
      const { connection } = taken;
      // Every statement goes through run (runAndReadAll too).
      const run = connection.run.bind(connection);
      connection.run = (sql, ...rest) => {
        statements.push(sql);
        return run(sql, ...rest);
      };
      return taken;
    };
    const google = await statsOf({ referrer_source: 'Google' });
    expect([google.total_events, google.visits]).toEqual([3, 1]);
    const forming = statements.filter((sql) => sql.includes('kept AS'));
    expect(forming).toHaveLength(1);
    const table = /CREATE TEMP TABLE (visit_scope_\d+) AS/.exec(forming[0] ?? '')?.[1];
    expect(table).toBeDefined();
    // Totals, visits, ranks and visitors read it; then it is dropped.
    expect(statements.filter((sql) => sql.includes(`JOIN ${table} AS`))).toHaveLength(4);
    expect(statements.at(-1)).toBe(`DROP TABLE IF EXISTS ${table}`);
    statements.length = 0;
    await getStats(source, 'acme', { filters: {}, top: 10 });
    expect(statements.filter((sql) => sql.includes('TEMP TABLE'))).toEqual([]);
  });

  test('an id sent again after its dedup window is two events of the visit, each once', async () => {
    // An event of C's visit sent twice, the second time 8 days later: two events of one id
    // and time, apart only by their receipt.
    await source.add([
      at('v2', 11, {
        event_id: 'again',
        path: '/pricing',
        referrer: 'https://news.ycombinator.com/',
        received_at: T + 8 * 86_400_000,
      }),
      at('v2', 11, { event_id: 'again', path: '/pricing', name: 'signup' }),
    ]);
    const hn = await statsOf({ referrer_source: 'Hacker News' });
    expect([hn.total_events, hn.visits]).toEqual([3, 1]);
    expect(hn.top_events.map((r) => [r.name, r.events])).toEqual([
      ['page_view', 2],
      ['signup', 1],
    ]);
    const visits = scope({ referrer_source: 'Hacker News' });
    const listed = await listEvents(source, 'acme', { limit: 10, visits });
    const shown = listed.events.map((e) => `${e.event_id === 'again'} ${e.name}`).sort();
    expect(shown).toEqual(['false page_view', 'true page_view', 'true signup']);
  });

  test('entry_page keeps the visits entering there with all their pages', async () => {
    expect(await pathsOf({ entry_page: '/home' })).toEqual({
      events: 5,
      visits: 2,
      paths: ['/home', '/about', '/pricing'],
    });
    expect(await pathsOf({ entry_page: '/pricing' })).toEqual({
      events: 1,
      visits: 1,
      paths: ['/pricing'],
    });
  });

  test('exit_page keeps the visits leaving there', async () => {
    const exits = await statsOf({ exit_page: '/pricing' });
    expect([exits.total_events, exits.visits]).toEqual([4, 2]);
    expect(exits.top_entry_pages.map((r) => r.path)).toEqual(['/home', '/pricing']);
    expect((await statsOf({ exit_page: '/docs' })).total_events).toBe(2);
  });

  test('channel', async () => {
    const email = await statsOf({ channel: 'Email' });
    expect([email.total_events, email.visits]).toEqual([2, 1]);
    expect(email.top_channels.map((r) => r.channel)).toEqual(['Email']);
    expect((await statsOf({ channel: 'Organic Search' })).total_events).toBe(3);
    expect((await statsOf({ channel: 'Organic Social' })).total_events).toBe(1);
    expect((await statsOf({ channel: 'Direct' })).total_events).toBe(2);
  });

  test('each campaign tag of the entry URL', async () => {
    for (const [tag, value] of [
      ['utm_source', 'newsletter'],
      ['utm_medium', 'email'],
      ['utm_campaign', 'spring'],
      ['utm_content', 'hero'],
      ['utm_term', 'shoes'],
    ] as const) {
      expect(await pathsOf({ [tag]: value })).toEqual({
        events: 2,
        visits: 1,
        paths: ['/blog', '/docs'],
      });
    }
    expect((await statsOf({ utm_term: 'shoe' })).total_events).toBe(0);
  });

  test('visit filters combine with each other, event filters and the range', async () => {
    expect((await statsOf({ entry_page: '/home', exit_page: '/about' })).total_events).toBe(2);
    expect((await statsOf({ utm_medium: 'email', referrer_source: 'Google' })).total_events).toBe(
      0,
    );
    // The events on /pricing of the visits entering at /home: A's view and signup.
    const pricing = await statsOf({ entry_page: '/home' }, { equals: { path: '/pricing' } });
    expect([pricing.total_events, pricing.visits, pricing.page_views]).toEqual([2, 1, 1]);
    // From 15:15 on, A and C are out of the range: D alone entered at /home.
    const later = await statsOf({ entry_page: '/home' }, { fromMs: T + 15 * MIN });
    expect([later.total_events, later.visits]).toEqual([2, 1]);
    // A range that cuts a visit reads it whole: A entered at /home before the range (its view
    // and signup on /pricing counted), C at /pricing.
    const cut = { fromMs: T + MIN, toMs: T + 30 * MIN };
    const pricing2 = await statsOf({ entry_page: '/pricing' }, cut);
    expect([pricing2.total_events, pricing2.visits]).toEqual([1, 1]);
    const home = await statsOf({ entry_page: '/home' }, cut);
    expect([home.total_events, home.visits]).toEqual([4, 2]);
    expect(home.top_entry_pages).toEqual([{ path: '/home', visitors: 2, visits: 2 }]);
  });
});

function series(options: Partial<TimeSeriesOptions>) {
  return getTimeSeries(source, 'acme', {
    metric: 'count',
    bucket: 'hour',
    tz: 'UTC',
    fromMs: T,
    toMs: T + 2 * 60 * MIN,
    filters: {},
    seriesMax: 10,
    fill: false,
    ...options,
  });
}

const summary = (result: Awaited<ReturnType<typeof series>>) =>
  result.series.map((s) => [
    s.key,
    s.events,
    s.points.map((p) => [p.bucket.slice(11, 16), p.value]),
  ]);

describe('getTimeSeries with visit filters and groups', () => {
  test('group_by a visit property counts each event under its visit value', async () => {
    expect(summary(await series({ groupBy: parseGroupBy('channel') }))).toEqual([
      ['Organic Search', 3, [['15:00', 3]]],
      ['Direct', 2, [['15:00', 2]]],
      ['Email', 2, [['16:00', 2]]],
      ['Organic Social', 1, [['15:00', 1]]],
    ]);
    expect(summary(await series({ groupBy: parseGroupBy('entry_page') }))).toEqual([
      ['/home', 5, [['15:00', 5]]],
      ['/blog', 2, [['16:00', 2]]],
      ['/pricing', 1, [['15:00', 1]]],
    ]);
    const bySource = await series({ groupBy: parseGroupBy('referrer_source') });
    expect(bySource.series.map((s) => [s.key, s.events])).toEqual([
      ['Google', 3],
      ['Direct / None', 2],
      ['newsletter', 2],
      ['Hacker News', 1],
    ]);
    const exits = await series({ groupBy: parseGroupBy('exit_page') });
    expect(exits.series.map((s) => [s.key, s.events])).toEqual([
      ['/pricing', 4],
      ['/about', 2],
      ['/docs', 2],
    ]);
    // Visits without the tag are left out, as any empty group.
    for (const tag of ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term']) {
      const tagged = await series({ groupBy: parseGroupBy(tag) });
      expect(tagged.series.map((s) => s.events)).toEqual([2]);
    }
  });

  test('visit filters with a metric, a group, event filters and a time zone', async () => {
    const google = await series({ visits: scope({ referrer_source: 'Google' }), fill: true });
    expect(summary(google)).toEqual([
      [
        null,
        3,
        [
          ['15:00', 3],
          ['16:00', 0],
        ],
      ],
    ]);
    const uniques = await series({ metric: 'uniques', visits: scope({ entry_page: '/home' }) });
    expect(summary(uniques)).toEqual([[null, 5, [['15:00', 2]]]]);
    const byPath = await series({
      visits: scope({ channel: 'Email' }),
      groupBy: parseGroupBy('path'),
    });
    expect(byPath.series.map((s) => [s.key, s.events])).toEqual([
      ['/blog', 1],
      ['/docs', 1],
    ]);
    const named = await series({
      visits: scope({ entry_page: '/home' }),
      filters: { equals: { name: 'signup' } },
      groupBy: parseGroupBy('channel'),
    });
    expect(named.series.map((s) => [s.key, s.events])).toEqual([['Organic Search', 1]]);
    const newYork = await series({
      bucket: 'day',
      tz: 'America/New_York',
      fromMs: Date.parse('2026-03-08T05:00:00Z'),
      toMs: Date.parse('2026-03-09T04:00:00Z'),
      visits: scope({ channel: 'Email' }),
    });
    expect(newYork.series.map((s) => s.points)).toEqual([
      [{ bucket: '2026-03-08T00:00:00-05:00', value: 2 }],
    ]);
  });
});

describe('listEvents with visit filters', () => {
  test('the events of the matching visits, newest first, with the other filters', async () => {
    const list = async (query: Record<string, string>, more = {}) =>
      (await listEvents(source, 'acme', { limit: 50, visits: scope(query), ...more })).events.map(
        (e) => `${e.visitor_id} ${e.path}`,
      );
    // Bots are listed, as the list always does: the bot's visit from Google too.
    expect(await list({ referrer_source: 'Google' })).toEqual([
      'bot /home',
      'v1 /pricing',
      'v1 /pricing',
      'v1 /home',
    ]);
    expect(await list({ entry_page: '/home' }, { name: 'page_view' })).toEqual([
      'v3 /about',
      'v3 /home',
      'bot /home',
      'v1 /pricing',
      'v1 /home',
    ]);
    expect(await list({ utm_campaign: 'spring' }, { limit: 1 })).toEqual(['v1 /docs']);
  });
});
