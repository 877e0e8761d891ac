// Umami's event and session lists (query/'s listWebEvents and listWebSessions) read the fields
// they show for a page's rows only, by each row's key: an event id sent twice (a retry after
// the dedup window) or by another tenant never lends its fields to another row.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { listWebEvents, listWebSessions } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-04-01T12:00:00Z');
const RANGE = { fromMs: T - 3_600_000, toMs: T + 3_600_000, filters: [] };

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
  const twice = (timestamp: number, path: string, browser: string, tenant = 'acme') =>
    makeEvent({ event_id: 'same', tenant, timestamp, path, browser, visitor_id: `v-${path}` });
  await source.add([twice(T, '/first', 'Firefox'), twice(T + 1000, '/other', 'Edge', 'other')]);
  await source.flush();
  await source.add([twice(T + 60_000, '/again', 'Chrome')]);
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

test('an event id stored twice: each event with its own fields, once', async () => {
  const page = await listWebEvents(source, 'acme', { ...RANGE, limit: 10, offset: 0 });
  expect(page.total).toBe(2);
  expect(page.events.map((e) => [e.path, e.visitorId, e.timestampMs])).toEqual([
    ['/again', 'v-/again', T + 60_000],
    ['/first', 'v-/first', T],
  ]);
  const second = await listWebEvents(source, 'acme', { ...RANGE, limit: 1, offset: 1 });
  expect(second.events.map((e) => e.path)).toEqual(['/first']);
});

test("each session's first event's fields, by its own key", async () => {
  const page = await listWebSessions(source, 'acme', { ...RANGE, limit: 10, offset: 0 });
  expect(page.total).toBe(2);
  expect(page.sessions.map((s) => [s.id, s.browser, s.firstMs])).toEqual([
    ['v-/again', 'Chrome', T + 60_000],
    ['v-/first', 'Firefox', T],
  ]);
});

test('pages of one id stored many times at one instant hold each copy once', async () => {
  // An id sent again after its dedup window, at the same time: copies differ only by receipt.
  const copy = (i: number) =>
    makeEvent({ event_id: 'tie', timestamp: T - 60_000, path: `/copy-${i}`, visitor_id: 'v' });
  for (let batch = 0; batch < 3; batch++) {
    await source.add(Array.from({ length: 12 }, (_, i) => copy(batch * 12 + i)));
    if (batch < 2) await source.flush();
  }
  const first = await listWebEvents(source, 'acme', { ...RANGE, limit: 100, offset: 0 });
  const paged: (string | null)[] = [];
  for (let offset = 0; offset < first.total; offset += 5) {
    const page = await listWebEvents(source, 'acme', { ...RANGE, limit: 5, offset });
    paged.push(...page.events.map((e) => e.path));
  }
  expect(paged).toEqual(first.events.map((e) => e.path));
  expect(new Set(paged).size).toBe(first.total);
});

test("an event list's search finds a name or path with itself, as DuckDB lowers both", async () => {
  // DuckDB's lower() is not JavaScript's toLowerCase: İ → i (JS: i̇), a final Σ → σ (JS: ς).
  await source.add([
    makeEvent({ event_id: 'greek', name: 'ΣΟΦΟΣ', timestamp: T - 120_000, visitor_id: 'g' }),
    makeEvent({
      event_id: 'city',
      name: 'pageview',
      path: '/İstanbul',
      timestamp: T - 180_000,
      visitor_id: 'c',
    }),
  ]);
  const found = async (search: string) =>
    (await listWebEvents(source, 'acme', { ...RANGE, search, limit: 10, offset: 0 })).events.map(
      (e) => e.id,
    );
  expect(await found('ΣΟΦΟΣ')).toEqual(['greek']);
  expect(await found('İstanbul')).toEqual(['city']);
});

test("a session's first event is the same on every read when two share its first instant", async () => {
  // Two events of one visitor at one millisecond: the one of the smaller event_id is first,
  // whichever was stored (or is scanned) first, so every read shows the same fields.
  const at = T - 30_000;
  const event = (id: string, visitor: string, browser: string) =>
    makeEvent({ event_id: id, timestamp: at, path: '/tie', browser, visitor_id: visitor });
  await source.add([event('b-1', 'v-tie-1', 'Firefox'), event('a-1', 'v-tie-1', 'Safari')]);
  await source.add([event('a-2', 'v-tie-2', 'Safari'), event('b-2', 'v-tie-2', 'Firefox')]);
  await source.flush();
  await source.add([event('b-3', 'v-tie-3', 'Firefox')]);
  await source.flush();
  await source.add([event('a-3', 'v-tie-3', 'Safari')]);
  const page = await listWebSessions(source, 'acme', { ...RANGE, limit: 10, offset: 0 });
  const tied = page.sessions.filter((s) => s.id.startsWith('v-tie-'));
  expect(tied.map((s) => [s.id, s.browser]).sort()).toEqual([
    ['v-tie-1', 'Safari'],
    ['v-tie-2', 'Safari'],
    ['v-tie-3', 'Safari'],
  ]);
});
