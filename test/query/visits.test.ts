// The visit metrics of getStats: visits cut at 30-minute gaps per visitor or grouped by
// session_id, bounces (Plausible's: at most one interactive event), durations, filters that keep
// the visits containing a match, bots, and a range that cuts a visit at a local midnight.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, resolveRange, type StatsOptions } from '../../src/query/index.ts';
import { VISIT_GAP_MINUTES, VISIT_REACH_MINUTES } from '../../src/query/queries/visit-rows.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const MIN = 60_000;

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const visitsOf = async (filters: StatsOptions['filters'] = {}) => {
  const s = await getStats(source, 'acme', { filters, top: 10 });
  return {
    visits: s.visits,
    bounce_rate: s.bounce_rate,
    visit_duration: s.visit_duration,
    views_per_visit: s.views_per_visit,
  };
};

/** An event of anonymous visitor `visitor` (no session id) `minutes` after T. */
const anon = (visitor: string, minutes: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, ...fields });

describe('visits', () => {
  test('a visitor without session ids starts a new visit after a gap of more than 30 min', async () => {
    expect(VISIT_GAP_MINUTES).toBe(30);
    await source.add([
      anon('v1', 0),
      anon('v1', 10),
      // Exactly 30 minutes after the last event: the same visit.
      anon('v1', 40),
      // 30 min 1 s later: a new one, a bounce.
      anon('v1', 70 + 1 / 60),
      // Another visitor at the same instants: visits are per visitor.
      anon('v2', 0),
      anon('v2', 10),
    ]);
    expect(await visitsOf()).toEqual({
      visits: 3,
      bounce_rate: 33, // 1 of 3, whole percent as Plausible
      visit_duration: 1000, // (2400 + 0 + 600) / 3
      views_per_visit: 2, // 6 / 3
    });
    // The sessions field keeps its meaning: distinct session ids, none here.
    expect((await getStats(source, 'acme', { filters: {}, top: 1 })).sessions).toBe(0);
  });

  test('events of one instant are one visit, whichever order they come in', async () => {
    await source.add([anon('v1', 0), anon('v1', 0), anon('v1', 0)]);
    await source.add([anon('v1', 100), anon('v1', 100)]);
    expect((await visitsOf()).visits).toBe(2);
    expect((await visitsOf()).bounce_rate).toBe(0);
  });

  test('events with a session_id are grouped by it, whatever their gaps', async () => {
    await source.add([
      anon('v1', 0, { session_id: 's1' }),
      anon('v1', 120, { session_id: 's1' }),
      // The same visitor in a second tab at the same time: its own session.
      anon('v1', 1, { session_id: 's2' }),
      // Its event with no session id, a minute after s2's: part of s2's visit.
      anon('v1', 2),
    ]);
    expect(await visitsOf()).toEqual({
      visits: 2,
      bounce_rate: 0,
      visit_duration: 3630, // (7200 + 60) / 2
      views_per_visit: 2,
    });
  });

  test("a bounce is a visit of at most one interactive event (Plausible's)", async () => {
    const nonInteractive = { name: 'scroll', properties: { $interactive: false } };
    await source.add([
      // One page view: a bounce.
      anon('a', 0),
      // A page view and a custom event: not a bounce.
      anon('b', 0),
      anon('b', 1, { name: 'signup' }),
      // A page view and a non-interactive event: a bounce, counted 0 s.
      anon('c', 0),
      anon('c', 5, nonInteractive),
      // Only one custom event: a bounce.
      anon('d', 0, { name: 'download' }),
      // Two page views: not a bounce.
      anon('e', 0, { name: '$pageview' }),
      anon('e', 3, { name: 'pageview' }),
      // An interactive flag of true, or one that is a string, does not make it non-interactive.
      anon('f', 0),
      anon('f', 2, { name: 'x', properties: { $interactive: true, note: '"$interactive":false' } }),
    ]);
    expect(await visitsOf()).toEqual({
      visits: 6,
      bounce_rate: 50,
      visit_duration: 60, // (0 + 60 + 0 + 0 + 180 + 120) / 6
      views_per_visit: 1,
    });
  });

  test('filters keep the visits that contain a matching event, measured whole', async () => {
    await source.add([
      anon('v1', 0, { path: '/' }),
      anon('v1', 1, { path: '/pricing' }),
      anon('v1', 4, { path: '/docs' }),
      anon('v2', 0, { path: '/pricing' }),
      anon('v3', 0, { path: '/' }),
      anon('v3', 2, { name: 'signup', path: '/' }),
    ]);
    expect(await visitsOf({ equals: { path: '/pricing' } })).toEqual({
      visits: 2,
      bounce_rate: 50,
      visit_duration: 120, // v1's 4 min whole, v2's bounce
      views_per_visit: 2, // v1's 3 page views (not only the /pricing one), v2's 1
    });
    expect(await visitsOf({ equals: { name: 'signup' } })).toMatchObject({
      visits: 1,
      bounce_rate: 0,
      visit_duration: 120,
    });
    expect((await visitsOf({ equals: { path: '/nowhere' } })).visits).toBe(0);
  });

  test('bots make no visits unless included', async () => {
    await source.add([
      anon('v1', 0),
      anon('bot', 0, { is_bot: true, device: 'bot' }),
      anon('bot', 1, { is_bot: true, device: 'bot' }),
    ]);
    expect((await visitsOf()).visits).toBe(1);
    expect(await visitsOf({ includeBots: true })).toMatchObject({ visits: 2, bounce_rate: 50 });
    // A bot's events that do not match leave its visit out even when bots are included.
    expect((await visitsOf({ includeBots: true, equals: { device: 'bot' } })).visits).toBe(1);
  });

  test('a visit spanning the start of a local day counts whole in both days', async () => {
    // 23:50, 00:10 and 00:15 in Berlin (UTC+1 in March): one visit over both days. As a
    // Plausible session active in both, each day reads all of it: not a bounce, 25 minutes.
    const lateEvening = Date.parse('2026-03-07T22:50:00Z');
    await source.add([
      makeEvent({ timestamp: lateEvening, visitor_id: 'v1' }),
      makeEvent({ timestamp: lateEvening + 20 * MIN, visitor_id: 'v1', name: 'signup' }),
      makeEvent({ timestamp: lateEvening + 25 * MIN, visitor_id: 'v1' }),
    ]);
    const day = (date: string) => resolveRange({ date, tz: 'Europe/Berlin' });
    const whole = { visits: 1, bounce_rate: 0, visit_duration: 1500, views_per_visit: 2 };
    expect(await visitsOf(day('2026-03-07'))).toEqual(whole);
    expect(await visitsOf(day('2026-03-08'))).toEqual(whole);
    // The events counted are each day's own.
    const views = await getStats(source, 'acme', { filters: day('2026-03-08'), top: 1 });
    expect([views.page_views, views.total_events]).toEqual([1, 2]);
    // A filter keeps the visits with a matching event in the range: the signup is on the 8th.
    const signups = { equals: { name: 'signup' } };
    expect((await visitsOf({ ...day('2026-03-07'), ...signups })).visits).toBe(0);
    expect(await visitsOf({ ...day('2026-03-08'), ...signups })).toEqual(whole);
    // Both days as one range: one visit of 25 minutes.
    const both = { fromMs: day('2026-03-07').fromMs, toMs: day('2026-03-08').toMs };
    expect(await visitsOf(both)).toMatchObject({ visits: 1, visit_duration: 1500 });
  });

  test('a visit is read from VISIT_REACH_MINUTES before the range, not further', async () => {
    expect(VISIT_REACH_MINUTES).toBe(120);
    // One session from 3 hours before the range: its events before the reach are not read.
    const s = (minutes: number, path: string) =>
      anon('v1', minutes, { session_id: 's1', path, name: 'page_view' });
    await source.add([s(-180, '/start'), s(-121, '/early'), s(-60, '/late'), s(10, '/in')]);
    const stats = await getStats(source, 'acme', { filters: { fromMs: T }, top: 10 });
    expect(stats.top_entry_pages.map((r) => r.path)).toEqual(['/late']);
    expect([stats.visits, stats.visit_duration, stats.page_views]).toEqual([1, 70 * 60, 1]);
  });

  test('a visit is read to VISIT_REACH_MINUTES after the range, not further', async () => {
    // One session running on past the range's end: its events past the reach are not read.
    const s = (minutes: number, path: string) =>
      anon('v1', minutes, { session_id: 's1', path, name: 'page_view' });
    await source.add([s(10, '/in'), s(70, '/after'), s(179, '/near'), s(181, '/far')]);
    const stats = await getStats(source, 'acme', {
      filters: { fromMs: T, toMs: T + 60 * MIN },
      top: 10,
    });
    expect(stats.top_exit_pages.map((r) => r.path)).toEqual(['/near']);
    expect([stats.visits, stats.visit_duration, stats.page_views]).toEqual([1, 169 * 60, 1]);
  });

  test('a visit spanning a flushed segment and the hot tier is one visit', async () => {
    await source.add([anon('v1', 0), anon('v1', 10)]);
    await source.flush();
    await source.add([anon('v1', 20, { name: 'signup' })]);
    expect(await visitsOf()).toEqual({
      visits: 1,
      bounce_rate: 0,
      visit_duration: 1200,
      views_per_visit: 2,
    });
  });
});
