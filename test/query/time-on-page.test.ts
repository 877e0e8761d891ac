// getWebMetrics' time_on_page, Plausible's legacy one of page views, over hand-built visits:
// each page view is timed to the next page view of its visit (a session's, or one cut by 30
// minutes without an event), a revisit of a page is timed again, a visit's last page view and
// custom events are not; a page's time is its timed seconds ÷ its timed views, a row's the mean
// of its pages'; null without a timed view; visit filters keep whole visits, and the range
// cuts a visit at its edges.

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
    const rows = await read([], {
      kind: 'property',
      property: { event: 'page' },
      limit: 10,
      offset: 0,
      order: [{ by: { key: 0 }, desc: false }],
    });
    expect(rows.map((r) => [r.key, r.values.time_on_page])).toEqual([
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

  test('per time bucket: a page view in the bucket of its own time', async () => {
    const starts = [T, T + 30 * MIN];
    const rows = await read([pages(['/a', '/c'])], { kind: 'bucket', starts });
    const byStart = new Map(rows.map((r) => [r.key, r.values.time_on_page]));
    expect(byStart.get(T)).toBe(240); // /a's (60 + 60 + 600) / 3; a's /c ends its visit
    expect(byStart.get(T + 30 * MIN)).toBe(120); // b's /c; its /a is its visit's last
  });
});
