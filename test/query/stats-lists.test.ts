// The seven top lists of getStats against a plain reference over random events: the ranking
// (paths by page views, the rest by events, ties by value) and the distinct visitors of each
// value, which stats-lists.ts counts with one bit mask per visitor. Ranks past 64 are checked
// too: the masks are then 128 bits wide (64 up to rank 64).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, PAGE_VIEW_NAMES } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-03-08T00:00:00Z');

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  source.close();
});

const LISTS = [
  { list: 'top_paths', column: 'path' },
  { list: 'top_referrers', column: 'referrer' },
  { list: 'top_events', column: 'name' },
  { list: 'os', column: 'os' },
  { list: 'browsers', column: 'browser' },
  { list: 'devices', column: 'device' },
  { list: 'countries', column: 'country' },
] as const;

type Column = (typeof LISTS)[number]['column'];

function randomEvents(seed: number, count: number, paths: number): StoredEvent[] {
  const random = seededRandom(seed);
  const pick = <T>(values: readonly T[]): T => values[Math.floor(random() * values.length)] as T;
  const names = ['page_view', 'pageview', '$pageview', 'page', 'signup', 'click', 'buy'];
  return Array.from({ length: count }, (_, i) =>
    makeEvent({
      timestamp: T + i * 1000,
      visitor_id: `v${Math.floor(random() * 60)}`,
      name: pick(names),
      // Skewed so that ranks differ, with ties left to the value order.
      path: random() < 0.05 ? pick([null, '']) : `/p/${Math.floor(random() ** 2 * paths)}`,
      referrer: pick([null, '', 'https://a.example/', 'https://b.example/', 'https://c.example/']),
      os: pick(['macOS', 'Windows', 'iOS', 'Android']),
      browser: pick(['Chrome', 'Firefox', 'Safari']),
      device: pick(['desktop', 'mobile']),
      country: pick([null, 'DE', 'FR', 'US', 'JP']),
    }),
  );
}

/** The lists as defined: per value its events, views and distinct visitors, ranked, top N. */
function reference(events: StoredEvent[], top: number) {
  const lists: Record<string, Record<string, string | number>[]> = {};
  for (const { list, column } of LISTS) {
    const byValue = new Map<string, { events: number; views: number; v: Set<string> }>();
    for (const e of events) {
      const value = e[column as Column];
      if (value === null || value === '') continue;
      const isView = PAGE_VIEW_NAMES.includes(e.name);
      const entry = byValue.get(value) ?? { events: 0, views: 0, v: new Set<string>() };
      entry.events += 1;
      if (isView) entry.views += 1;
      if (list !== 'top_paths' || isView) entry.v.add(e.visitor_id);
      byValue.set(value, entry);
    }
    const rows = [...byValue]
      .filter(([, c]) => list !== 'top_paths' || c.views > 0)
      .map(([value, c]) => ({ value, ...c, rank: list === 'top_paths' ? c.views : c.events }))
      .sort((a, b) => b.rank - a.rank || (a.value < b.value ? -1 : a.value > b.value ? 1 : 0))
      .slice(0, top);
    lists[list] = rows.map(
      (r): Record<string, string | number> =>
        list === 'top_paths'
          ? { path: r.value, views: r.views, visitors: r.v.size }
          : { [column]: r.value, events: r.events, visitors: r.v.size },
    );
  }
  return lists;
}

describe('getStats top lists', () => {
  for (const { seed, count, paths, top } of [
    { seed: 1, count: 600, paths: 12, top: 5 },
    { seed: 2, count: 600, paths: 12, top: 10 },
    { seed: 3, count: 3000, paths: 110, top: 100 },
  ]) {
    test(`match the reference (seed ${seed}, ${count} events, top ${top})`, async () => {
      const events = randomEvents(seed, count, paths);
      await source.add(events);
      const stats = await getStats(source, 'acme', { filters: {}, top });
      const expected = reference(events, top);
      for (const { list } of LISTS) {
        expect({ list, rows: stats[list] }).toEqual({ list, rows: expected[list] ?? [] });
      }
      if (top > 64) expect(stats.top_paths.length).toBeGreaterThan(64);
    });
  }

  test('filters apply to the ranking and to the visitors alike', async () => {
    const events = randomEvents(4, 800, 20);
    await source.add(events);
    const stats = await getStats(source, 'acme', { filters: { equals: { os: 'iOS' } }, top: 10 });
    const expected = reference(
      events.filter((e) => e.os === 'iOS'),
      10,
    );
    for (const { list } of LISTS) expect(stats[list]).toEqual(expected[list] as never);
  });
});
