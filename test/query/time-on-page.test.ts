// getWebMetrics' time_on_page, Plausible's legacy one, over hand-built visits: each event with
// a page (page views and custom events) is timed to the next one of its visit (a session's,
// or one cut by 30 minutes without an event), in whole seconds; a page's time is its seconds ÷
// its moves to another page (one per visit and next page; a reload is none), a row's the mean
// of its pages'; null without a move, and in time buckets or beside other keys; visit filters
// keep whole visits, a nested page filter narrows the sequence, and the range cuts a visit.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  getWebMetrics,
  type WebCondition,
  type WebDimension,
  type WebFilter,
  type WebMetric,
} from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const DAY = Date.parse('2026-11-24T00:00:00Z');
const T = DAY + 10 * 3_600_000;
const S = 1000;
const MIN = 60 * S;

let source: MemorySource;
const view = (visitor: string, ms: number, path: string, extra: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + ms, visitor_id: visitor, name: 'pageview', path, ...extra });

beforeEach(async () => {
  source = await createMemorySource();
  const s1 = { session_id: 's1' };
  await source.add([
    // A session: /a 60 s, /b 40 s (a custom event on it does not end it), /a again 60 s, then
    // /c, its last page view, untimed.
    view('a', 0, '/a', s1),
    view('a', 60 * S, '/b', s1),
    view('a', 80 * S, '/b', { ...s1, name: 'Signup' }),
    view('a', 100 * S, '/a', s1),
    view('a', 160 * S, '/c', s1),
    // No session id: /a 10 minutes, then /b ends that visit (45 minutes without an event cut
    // it); the next visit is /c 120 s, then /a, its last.
    view('b', 0, '/a', { referrer: 'https://news.ycombinator.com/' }),
    view('b', 10 * MIN, '/b'),
    view('b', 55 * MIN, '/c'),
    view('b', 57 * MIN, '/a'),
    // A bounce on /d: a page view nothing follows.
    view('c', 0, '/d'),
  ]);
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const read = (
  filters: WebCondition[],
  dimension: WebDimension = { kind: 'total' },
  metrics: WebMetric[] = ['time_on_page'],
  range = { fromMs: DAY, toMs: DAY + 86_400_000 },
) => getWebMetrics(source, 'acme', { ...range, metrics, filters, dimension });
const pages = (values: string[], more: Partial<WebFilter> = {}): WebFilter => ({
  property: { event: 'page' },
  values,
  match: 'is',
  negated: false,
  ...more,
});
/** Each page's time on page, by page in page order. */
const byPage = async (filters: WebCondition[]) => {
  const rows = await read(filters, {
    kind: 'property',
    property: { event: 'page' },
    limit: 10,
    offset: 0,
    order: [{ by: { key: 0 }, desc: false }],
  });
  return rows.map((r) => [r.key, r.values.time_on_page]);
};
const total = async (filters: WebCondition[], range?: { fromMs: number; toMs: number }) =>
  (await read(filters, { kind: 'total' }, ['time_on_page'], range))[0]?.values.time_on_page;

describe('time on page', () => {
  test("a page's timed seconds ÷ its timed page views, each to the next page view", async () => {
    expect(await total([pages(['/a'])])).toBe(240); // (60 + 60 + 600) / 3
    expect(await total([pages(['/b'])])).toBe(40); // b's /b ends its visit
    expect(await total([pages(['/c'])])).toBe(120); // a's /c ends its visit
    expect(await total([pages(['/d'])])).toBeNull(); // never followed
    expect(await read([pages(['/none'])])).toEqual([]); // no row at all, as every metric
  });

  test('over several pages, the mean of their times (Plausible averages the pages)', async () => {
    expect(await total([pages(['/a', '/b'])])).toBe(140); // (240 + 40) / 2
    expect(await total([pages(['/b', '/d'])])).toBe(40); // /d has no time to average
    expect(await total([pages(['/*'], { match: 'glob' })])).toBeCloseTo(400 / 3, 9);
  });

  test('by page: each row its own time, null for a page never followed', async () => {
    expect(await byPage([])).toEqual([
      ['/a', 240],
      ['/b', 40],
      ['/c', 120],
      ['/d', null],
    ]);
  });

  test('ranked by time on page alone, with other metrics beside it', async () => {
    const rows = await read(
      [],
      { kind: 'property', property: { event: 'page' }, limit: 2, offset: 0 },
      ['time_on_page', 'visitors', 'pageviews'],
    );
    expect(rows.map((r) => [r.key, r.values])).toEqual([
      ['/a', { time_on_page: 240, visitors: 2, pageviews: 4 }],
      ['/c', { time_on_page: 120, visitors: 2, pageviews: 2 }],
    ]);
  });

  test('a visit filter keeps whole visits; the other page views still time a page', async () => {
    const fromNews: WebFilter = {
      property: { visit: 'source' },
      values: ['Hacker News'],
      match: 'is',
      negated: false,
    };
    // Only b's first visit: /a for 10 minutes; /b ends it.
    expect(await total([fromNews, pages(['/a'])])).toBe(600);
    expect(await total([fromNews, pages(['/b'])])).toBeNull();
  });

  test('the range cuts visits: a page view whose next one is outside it is not timed', async () => {
    // Up to 10:02 (160 s after 10:00 excluded): a's /a 60 + 60 wait for /c at 10:02:40.
    const early = { fromMs: DAY, toMs: T + 2 * MIN };
    expect(await total([pages(['/a'])], early)).toBe(60); // a's first /a only; b's /b is out
    // From 10:01: a's visit starts on /b (40 s), b's on /c.
    const late = { fromMs: T + MIN, toMs: DAY + 86_400_000 };
    expect(await total([pages(['/b'])], late)).toBe(40);
    expect(await total([pages(['/a'])], late)).toBe(60);
  });

  test('by time bucket or beside another key: null, as Plausible answers there', async () => {
    const starts = [T, T + 30 * MIN];
    const rows = await read([pages(['/a', '/c'])], { kind: 'bucket', starts });
    expect(rows.map((r) => r.values.time_on_page)).toEqual([null, null]);
    const keys = [{ property: { event: 'page' } }, { property: { visit: 'source' } }] as const;
    const grouped = await read([], { kind: 'group', keys: [...keys], limit: 10, offset: 0 });
    expect(grouped.length).toBeGreaterThan(0);
    expect(grouped.every((r) => r.values.time_on_page === null)).toBe(true);
    const byPage = await read([], { kind: 'group', keys: [keys[0]], limit: 1, offset: 0 });
    expect(byPage.map((r) => [r.key, r.values.time_on_page])).toEqual([['/a', 240]]);
  });
});

/** Plausible's legacy query, step by step: its moves per visit, page and next page. */
describe("time on page as Plausible's legacy query counts it", () => {
  const at = (visitor: string, s: number, path: string, extra: Partial<StoredEvent> = {}) =>
    view(visitor, s * S, path, { session_id: `s-${visitor}`, ...extra });
  const only = async (events: StoredEvent[]) => {
    source.close();
    source = await createMemorySource();
    await source.add(events);
  };

  test('a reload adds its seconds to the page but no move', async () => {
    // /a 10 s, reloaded, 20 s more, then /b: one stay of 30 s on /a.
    await only([at('r', 0, '/a'), at('r', 10, '/a'), at('r', 30, '/b'), at('r', 40, '/c')]);
    expect(await total([pages(['/a'])])).toBe(30);
  });

  test('a move from one page to another counts once per visit and next page', async () => {
    // /a → /b twice (10 s, then 30 s): 40 s over one move.
    await only([
      at('m', 0, '/a'),
      at('m', 10, '/b'),
      at('m', 20, '/a'),
      at('m', 50, '/b'),
      at('m', 60, '/c'),
    ]);
    expect(await total([pages(['/a'])])).toBe(40);
  });

  test('custom events are in the sequence: one ending a visit times its page', async () => {
    await only([
      // /y, then a sign-up on it 30 s later ends the visit: 30 s on /y, no move.
      at('x', 0, '/x'),
      at('x', 10, '/y'),
      at('x', 40, '/y', { name: 'Signup' }),
      // Another visit: /y 10 s, then /z.
      at('y', 0, '/y'),
      at('y', 10, '/z'),
      // An event without a page is in no sequence.
      at('y', 12, '', { name: 'Server' }),
    ]);
    expect(await total([pages(['/y'])])).toBe(40); // (30 + 10) ÷ 1 move
    expect(await total([pages(['/z'])])).toBeNull();
  });

  test('timed in whole seconds, as Plausible stores its timestamps', async () => {
    await only([at('w', 0.9, '/a'), at('w', 2.1, '/b'), at('w', 3, '/c')]);
    expect(await total([pages(['/a'])])).toBe(2); // 2 − 0, not 1.2
  });

  test('a nested page filter narrows the sequence; a top-level one picks the pages', async () => {
    await only([at('n', 0, '/a'), at('n', 10, '/b'), at('n', 30, '/a'), at('n', 35, '/c')]);
    // Top level: the page is timed over every event.
    expect(await total([pages(['/b'])])).toBe(20);
    // Nested (Plausible keeps it in its event query): /a's events leave the sequence, so /b
    // runs to /c.
    const notA: WebCondition = { not: pages(['/a']) };
    expect(await total([{ all: [notA] }, pages(['/b'])])).toBe(25);
  });

  test('a custom property filter narrows the sequence in total, not by page', async () => {
    const plan = (value: string) => ({ properties: { plan: value } });
    await only([
      at('p', 0, '/a', plan('pro')),
      at('p', 10, '/b', plan('free')),
      at('p', 30, '/c', plan('pro')),
      at('p', 40, '/d', plan('pro')),
    ]);
    const pro = pages(['pro'], { property: { prop: 'plan' } });
    // In total: /b's event leaves the sequence, so /a runs to /c (Plausible's aggregate).
    expect(await total([pro, pages(['/a'])])).toBe(30);
    // By page: the property filter picks the rows, but every event is timed (its breakdown).
    expect(await byPage([pro])).toEqual([
      ['/a', 10],
      ['/c', 10],
      ['/d', null],
    ]);
  });
});
