// The lists of getStats that count visits, as Plausible's Top Pages tabs and Sources panel:
// entry pages (a visit's first page view), exit pages (its last) and sources (its first
// event's), each row with its visitors and visits; filters keep the visits holding a match,
// bots are left out, a visit cut by the range is credited per part, ties are stable.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, resolveRange, type StatsOptions } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const MIN = 60_000;
const SITE = 'https://shop.example';
const GOOGLE = 'https://www.google.com/';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const listsOf = async (filters: StatsOptions['filters'] = {}, top = 10) => {
  const s = await getStats(source, 'acme', { filters, top });
  return {
    visits: s.visits,
    entries: s.top_entry_pages.map((r) => [r.path, r.visitors, r.visits]),
    exits: s.top_exit_pages.map((r) => [r.path, r.visitors, r.visits]),
    sources: s.top_referrer_sources.map((r) => [r.source, r.visitors, r.visits, r.events]),
  };
};

/** An event of `visitor` (no session id unless given) `minutes` after T; a page view. */
const at = (visitor: string, minutes: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, ...fields });

/**
 * Six visits of five visitors, and a bot:
 * - v1, no session id: A = /home (from Google), /pricing, a signup; 34 min later B = /home
 *   (utm_source=newsletter), /docs (from the site itself).
 * - v2, session s-2 whatever its gaps: C = /pricing (from HN), /docs 90 min later, a signup.
 * - v3: D = a signup only (from t.co): no page view, so no entry or exit page.
 * - v4: E = a download without a referrer, then /pricing from Google: Direct / None, as its
 *   first event.
 * - v5: F = /about, no referrer.
 */
function sixVisits(): StoredEvent[] {
  const signup = { name: 'signup' };
  const self = { referrer: `${SITE}/` };
  return [
    at('v1', 0, { path: '/home', url: `${SITE}/home`, referrer: GOOGLE }),
    at('v1', 5, { path: '/pricing', url: `${SITE}/pricing`, ...self }),
    at('v1', 6, { ...signup, path: '/pricing' }),
    at('v1', 40, { path: '/home', url: `${SITE}/home?utm_source=newsletter` }),
    at('v1', 41, { path: '/docs', url: `${SITE}/docs`, ...self }),
    at('v2', 0, { session_id: 's-2', path: '/pricing', referrer: 'https://news.ycombinator.com/' }),
    at('v2', 90, { session_id: 's-2', path: '/docs' }),
    at('v2', 95, { session_id: 's-2', ...signup, path: '/docs' }),
    at('v3', 10, { ...signup, referrer: 'https://t.co/x' }),
    at('v4', 20, { name: 'download' }),
    at('v4', 21, { path: '/pricing', referrer: GOOGLE }),
    at('v5', 30, { path: '/about' }),
    at('bot', 0, { path: '/', referrer: GOOGLE, is_bot: true, device: 'bot' }),
  ];
}

describe('events without a session id beside a session', () => {
  // v1 browses in session s1 from Google; its server sends events without a session id (a
  // purchase during the visit, later ones), as posthog-node beside posthog-js does.
  const mixed = () => [
    at('v1', 0, { session_id: 's1', path: '/a', url: `${SITE}/a`, referrer: GOOGLE }),
    at('v1', 1, { name: 'purchase' }),
    at('v1', 2, { session_id: 's1', path: '/b', url: `${SITE}/b`, referrer: `${SITE}/a` }),
    // 23 minutes after /b, then 25 after that: still s1's visit, as the gap rule chains.
    at('v1', 25, { name: 'refund' }),
    at('v1', 50, { name: 'export' }),
    // 31 minutes after the last one: a new visit.
    at('v1', 81, { name: 'export' }),
    // v2's server event a minute before its session begins: a visit of its own.
    at('v2', 0, { name: 'signup' }),
    at('v2', 1, { session_id: 's2', path: '/x' }),
  ];

  test('join the visit of the session they follow within 30 minutes', async () => {
    await source.add(mixed());
    expect(await listsOf()).toEqual({
      visits: 4,
      entries: [
        ['/a', 1, 1],
        ['/x', 1, 1],
      ],
      exits: [
        ['/b', 1, 1],
        ['/x', 1, 1],
      ],
      sources: [
        ['Direct / None', 2, 3, 3],
        ['Google', 1, 1, 5],
      ],
    });
    const s = await getStats(source, 'acme', { filters: {}, top: 10 });
    // s1's visit: 50 minutes, two page views; the others bounce.
    expect([s.bounce_rate, s.visit_duration, s.views_per_visit]).toEqual([75, 750, 0.75]);
  });

  test('a filter on the server event finds the session it happened in', async () => {
    await source.add(mixed());
    expect(await listsOf({ equals: { name: 'purchase' } })).toEqual({
      visits: 1,
      entries: [['/a', 1, 1]],
      exits: [['/b', 1, 1]],
      sources: [['Google', 1, 1, 5]],
    });
  });
});

describe('entry pages, exit pages and sources by visit', () => {
  test('credited per visit: first and last page view, first event source', async () => {
    await source.add(sixVisits());
    expect(await listsOf()).toEqual({
      visits: 6,
      // Ranked by visitors, then visits (/home's 2 before /about's 1), then path.
      entries: [
        ['/pricing', 2, 2],
        ['/home', 1, 2],
        ['/about', 1, 1],
      ],
      exits: [
        ['/docs', 2, 2],
        ['/pricing', 2, 2],
        ['/about', 1, 1],
      ],
      // [source, visitors, visits, events of those visits]; v4's Google view is not its
      // visit's first event, and v1's move within the site is no new source.
      sources: [
        ['Direct / None', 2, 2, 3],
        ['Google', 1, 1, 3],
        ['Hacker News', 1, 1, 3],
        ['Twitter', 1, 1, 1],
        ['newsletter', 1, 1, 2],
      ],
    });
  });

  test('top N of each list', async () => {
    await source.add(sixVisits());
    expect(await listsOf({}, 1)).toEqual({
      visits: 6,
      entries: [['/pricing', 2, 2]],
      exits: [['/docs', 2, 2]],
      sources: [['Direct / None', 2, 2, 3]],
    });
  });

  test('filters keep the visits holding a matching event, credited whole', async () => {
    await source.add(sixVisits());
    // B and C viewed /docs: C still entered at /pricing.
    expect(await listsOf({ equals: { path: '/docs' } })).toEqual({
      visits: 2,
      entries: [
        ['/home', 1, 1],
        ['/pricing', 1, 1],
      ],
      exits: [['/docs', 2, 2]],
      sources: [
        ['Hacker News', 1, 1, 3],
        ['newsletter', 1, 1, 2],
      ],
    });
    // A, C and D hold a signup; D has no page view, so no entry or exit page.
    expect(await listsOf({ equals: { name: 'signup' } })).toEqual({
      visits: 3,
      entries: [
        ['/home', 1, 1],
        ['/pricing', 1, 1],
      ],
      exits: [
        ['/docs', 1, 1],
        ['/pricing', 1, 1],
      ],
      sources: [
        ['Google', 1, 1, 3],
        ['Hacker News', 1, 1, 3],
        ['Twitter', 1, 1, 1],
      ],
    });
  });

  test('filter values and property keys with quotes are values, not SQL', async () => {
    const key = `a'b"c); DROP TABLE hot_events; --`;
    const value = `x'); DELETE FROM hot_events; --`;
    await source.add([
      at('v1', 0, { path: "/it's", properties: { [key]: value } }),
      at('v1', 1, { path: '/z' }),
      at('v2', 0, { path: '/q', properties: { plan: 'pro' } }),
    ]);
    const first = { visits: 1, entries: [["/it's", 1, 1]], exits: [['/z', 1, 1]] };
    expect(await listsOf({ properties: { [key]: value } })).toMatchObject(first);
    expect(await listsOf({ equals: { path: "/it's" } })).toMatchObject(first);
    expect(await listsOf({ properties: { plan: 'pro' } })).toMatchObject({
      visits: 1,
      entries: [['/q', 1, 1]],
    });
    expect((await listsOf()).visits).toBe(2);
  });

  test('a visit across the end of summer time is one visit of its real duration', async () => {
    // New York, 2026-11-01: 01:50 EDT, then 01:10 EST twenty minutes later; 00:30 EDT and
    // 23:30 EST are the 25-hour day's first and last half hours (23 hours apart: two visits).
    const utc = (iso: string) => Date.parse(iso);
    await source.add([
      makeEvent({ timestamp: utc('2026-11-01T05:50:00Z'), visitor_id: 'v', path: '/a' }),
      makeEvent({ timestamp: utc('2026-11-01T06:10:00Z'), visitor_id: 'v', path: '/b' }),
      makeEvent({ timestamp: utc('2026-11-01T04:30:00Z'), visitor_id: 'w', path: '/c' }),
      makeEvent({ timestamp: utc('2026-11-02T04:30:00Z'), visitor_id: 'w', path: '/d' }),
      makeEvent({ timestamp: utc('2026-11-02T05:30:00Z'), visitor_id: 'w', path: '/e' }),
    ]);
    const day = resolveRange({ date: '2026-11-01', tz: 'America/New_York' });
    expect(await listsOf(day)).toMatchObject({
      visits: 3,
      entries: [
        ['/a', 1, 1],
        ['/c', 1, 1],
        ['/d', 1, 1],
      ],
      exits: [
        ['/b', 1, 1],
        ['/c', 1, 1],
        ['/d', 1, 1],
      ],
    });
    const s = await getStats(source, 'acme', { filters: day, top: 10 });
    expect([s.bounce_rate, s.visit_duration]).toEqual([67, 400]); // (1200 + 0 + 0) / 3
  });

  test('bots are left out unless included', async () => {
    await source.add(sixVisits());
    const withBots = await listsOf({ includeBots: true });
    expect(withBots.visits).toBe(7);
    expect(withBots.entries).toContainEqual(['/', 1, 1]);
    expect(withBots.exits).toContainEqual(['/', 1, 1]);
    expect(withBots.sources).toContainEqual(['Google', 2, 2, 4]);
    const without = await listsOf();
    expect(without.entries.map((r) => r[0])).not.toContain('/');
  });

  test('a visit spanning the start of a local day is credited whole in both days', async () => {
    // 23:50 and 00:10 in Berlin (UTC+1 in March): one visit over two days, the second view
    // reached from the first (a self-referral).
    const lateEvening = Date.parse('2026-03-07T22:50:00Z');
    await source.add([
      makeEvent({ timestamp: lateEvening, visitor_id: 'v1', path: '/a', referrer: GOOGLE }),
      makeEvent({
        timestamp: lateEvening + 20 * MIN,
        visitor_id: 'v1',
        path: '/b',
        url: `${SITE}/b`,
        referrer: `${SITE}/a`,
      }),
    ]);
    const day = (date: string) => resolveRange({ date, tz: 'Europe/Berlin' });
    // As Plausible's session: entered at /a from Google on both days (not at /b, Direct / None,
    // on the 8th), left at /b; its events counted are each day's own.
    for (const date of ['2026-03-07', '2026-03-08']) {
      expect(await listsOf(day(date))).toEqual({
        visits: 1,
        entries: [['/a', 1, 1]],
        exits: [['/b', 1, 1]],
        sources: [['Google', 1, 1, 1]],
      });
    }
    const both = { fromMs: day('2026-03-07').fromMs, toMs: day('2026-03-08').toMs };
    expect(await listsOf(both)).toEqual({
      visits: 1,
      entries: [['/a', 1, 1]],
      exits: [['/b', 1, 1]],
      sources: [['Google', 1, 1, 2]],
    });
  });

  test('page views of one instant: one the entry, the other the exit, on every read', async () => {
    await source.add([at('v1', 0, { path: '/x' }), at('v1', 0, { path: '/y' })]);
    await source.flush();
    await source.add([at('v1', 0, { path: '/y' }), at('v1', 0, { path: '/x' })]);
    const first = await listsOf();
    expect(first.visits).toBe(1);
    const entry = first.entries.map((r) => r[0]);
    const exit = first.exits.map((r) => r[0]);
    expect([...entry, ...exit].sort()).toEqual(['/x', '/y']);
    for (let i = 0; i < 5; i += 1) expect(await listsOf()).toEqual(first);
  });

  test("page views of one instant: the entry page and the source are one event's", async () => {
    // The same two events, one flushed and one hot, in either order.
    const x = at('v1', 0, { path: '/x', url: `${SITE}/x`, referrer: 'https://bing.com/' });
    const y = at('v1', 0, { path: '/y', url: `${SITE}/y`, referrer: GOOGLE });
    const reads: string[][] = [];
    for (const [flushed, hot] of [
      [x, y],
      [y, x],
    ] as const) {
      const other = await createMemorySource();
      await other.add([flushed]);
      await other.flush();
      await other.add([hot]);
      const s = await getStats(other, 'acme', { filters: {}, top: 10 });
      other.close();
      reads.push([String(s.top_entry_pages[0]?.path), String(s.top_referrer_sources[0]?.source)]);
    }
    expect(reads[0]).toEqual(reads[1]);
    expect([
      ['/x', 'Bing'],
      ['/y', 'Google'],
    ]).toContainEqual(reads[0] as string[]);
  });

  test('a page view without a path names no page; the visit still has its source', async () => {
    await source.add([
      at('v1', 0, { referrer: GOOGLE }),
      at('v1', 1, { path: '/pricing' }),
      at('v2', 0, { path: '' }),
    ]);
    expect(await listsOf()).toEqual({
      visits: 2,
      entries: [['/pricing', 1, 1]],
      exits: [['/pricing', 1, 1]],
      sources: [
        ['Direct / None', 1, 1, 1],
        ['Google', 1, 1, 2],
      ],
    });
  });
});
