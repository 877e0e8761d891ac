// getStats with visit filters (its visits formed once, in a temporary table: visit-scope.ts's
// materializedVisitScope) against getStats as it was before, which formed them again in each of
// its four statements (test/helpers/get-stats-old.ts): the whole answer, totals and visit
// stats too, alike for every visit filter alone and together, with event filters, ranges and
// bots, over random visits, on a memory source (hot rows and segments) and on the real store.

import { afterEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { type EventFilters, getStats, type VisitScope } from '../../src/query/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { oldGetStats } from '../helpers/get-stats-old.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

/** Two days before the test apps' clock (T0), so that the real store takes every event. */
const MIN = 60_000;
const HOUR = 60 * MIN;
const T = T0 - 48 * HOUR;
const SITE = 'https://shop.example';
const PATHS = ['/', '/home', '/pricing', '/blog', "/it's", '/é'];
const REFERRERS = [
  'https://www.google.com/',
  'https://news.ycombinator.com/',
  'https://t.co/x',
  `${SITE}/home`,
];
const TAGS = ['newsletter', 'email', 'spring', 'cpc', 'x y'];

let memory: MemorySource | undefined;
let app: TestApp | undefined;
afterEach(async () => {
  expect(memory?.openSnapshots ?? 0).toBe(0);
  memory?.close();
  memory = undefined;
  await app?.close();
  app = undefined;
});

/** Visits of random visitors over two days: pages, other events, gaps that split visits. */
function randomVisits(seed: number, count: number): StoredEvent[] {
  const random = seededRandom(seed);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)] as V;
  const events: StoredEvent[] = [];
  for (let v = 0; v < count; v += 1) {
    const visitor = `v${Math.floor(random() * (count / 2))}`;
    let at = T + Math.floor(random() * 48 * HOUR);
    const session = random() < 0.4 ? `s${v}` : null;
    const tags = TAGS.map((tag) => (random() < 0.3 ? tag : null));
    const query = ['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term']
      .map((name, i) => {
        const tag = tags[i];
        return tag === null || tag === undefined ? null : `${name}=${encodeURIComponent(tag)}`;
      })
      .filter((part) => part !== null)
      .join('&');
    const bot = random() < 0.1;
    for (let i = 0; i < 1 + Math.floor(random() * 5); i += 1) {
      const path = pick(PATHS);
      const first = i === 0;
      events.push(
        makeEvent({
          timestamp: at,
          visitor_id: visitor,
          session_id: session,
          name: random() < 0.75 ? 'page_view' : pick(['signup', 'click', '$engagement']),
          path,
          url: `${SITE}${path}${first && query !== '' ? `?${query}` : ''}`,
          referrer: first && random() < 0.7 ? pick(REFERRERS) : null,
          duration: random() < 0.3 ? Math.floor(random() * 100) : null,
          user_id: random() < 0.2 ? `u${Math.floor(random() * 5)}` : null,
          is_bot: bot,
          ...(bot ? { device: 'bot' } : {}),
        }),
      );
      // Mostly within a visit, sometimes past its 30 minutes.
      at += random() < 0.15 ? 45 * MIN : Math.floor(random() * 10 * MIN);
    }
  }
  return events;
}

/** Every visit filter alone, some together, with event filters, ranges and bots. */
function scopes(): { visits: VisitScope; filters: EventFilters }[] {
  const alone: VisitScope['equals'][] = [
    { referrer_source: 'Google' },
    { referrer_source: 'Direct / None' },
    { channel: 'Organic Search' },
    { channel: 'Direct' },
    { channel: 'Email' },
    { entry_page: '/home' },
    { entry_page: "/it's" },
    { exit_page: '/pricing' },
    { utm_source: 'newsletter' },
    { utm_medium: 'email' },
    { utm_campaign: 'spring' },
    { utm_content: 'cpc' },
    { utm_term: 'x y' },
    { entry_page: '/nowhere' },
  ];
  const together: VisitScope['equals'][] = [
    { entry_page: '/', referrer_source: 'Hacker News' },
    { utm_source: 'newsletter', exit_page: '/blog', channel: 'Email' },
  ];
  const filters: EventFilters[] = [
    {},
    { includeBots: true },
    { fromMs: T + 6 * HOUR, toMs: T + 30 * HOUR },
    { equals: { name: 'page_view' }, fromMs: T + 20 * HOUR },
    { equals: { path: '/blog' }, includeBots: true, toMs: T + 24 * HOUR },
  ];
  return [...alone, ...together].map((equals, i) => ({
    visits: { equals },
    filters: filters[i % filters.length] as EventFilters,
  }));
}

describe('getStats with visit filters against the statements that formed visits each', () => {
  test('the same answer over random visits, hot and flushed', async () => {
    for (const seed of [1]) {
      memory?.close();
      memory = await createMemorySource();
      const events = randomVisits(seed, 100);
      const half = Math.floor(events.length / 2);
      await memory.add(events.slice(0, half));
      await memory.flush();
      await memory.add(events.slice(half));
      let nonEmpty = 0;
      for (const { visits, filters } of scopes()) {
        const options = { filters, top: 3 + seed, visits };
        const stats = await getStats(memory, 'acme', options);
        const old = await oldGetStats(memory, 'acme', options);
        expect({ seed, options, stats }).toEqual({ seed, options, stats: old });
        if (stats.total_events > 0) nonEmpty += 1;
      }
      // Most scopes keep some events: the comparison is not of empty answers.
      expect(nonEmpty).toBeGreaterThan(scopes().length / 2);
    }
  });

  test('the same answer on the real store, its snapshot a transaction', async () => {
    app = await makeTestApp();
    const events = randomVisits(7, 100).map((e) => ({
      event_id: e.event_id,
      // The beacons' name is the store's own: sent, they are clicks.
      name: e.name === '$engagement' ? 'click' : e.name,
      timestamp: e.timestamp,
      anonymous_id: e.visitor_id,
      ...(e.session_id === null ? {} : { session_id: e.session_id }),
      ...(e.path === null ? {} : { path: e.path }),
      ...(e.url === null ? {} : { url: e.url }),
      ...(e.referrer === null ? {} : { referrer: e.referrer }),
      ...(e.duration === null ? {} : { duration: e.duration }),
      user_agent: e.is_bot ? 'curl/8.0' : 'Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0',
    }));
    const half = Math.floor(events.length / 2);
    for (const batch of [events.slice(0, half), events.slice(half)]) {
      expect((await app.post('/api/v1/events/batch', { events: batch })).status).toBe(202);
      if (batch.length === half) await app.engine.store.flusher.flush();
    }
    const store = app.engine.store;
    let nonEmpty = 0;
    for (const { visits, filters } of scopes()) {
      const options = { filters, top: 5, visits };
      const [stats, old] = await Promise.all([
        getStats(store, 'default', options),
        oldGetStats(store, 'default', options),
      ]);
      expect({ options, stats }).toEqual({ options, stats: old });
      if (stats.total_events > 0) nonEmpty += 1;
    }
    expect(nonEmpty).toBeGreaterThan(scopes().length / 2);
  });
});
