// time_on_page through Plausible's Stats APIs, over tracker beacons (no session ids: visits
// cut by 30 minutes without an event), as Plausible's legacy query counts it (a move per
// visit, page and next page): v1's aggregate (whole seconds, with compare), its timeseries
// (null, as Plausible's) and its page breakdown (the fraction kept, ranked by visitors), v2's
// aggregate and page rows (null beside other dimensions), a visit across local midnight read
// by local days, and Plausible's refusals, in its words. (With engagement beacons in the
// range the time is theirs: plausible-engagement.test.ts.)

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;

/** Each visitor's page views (or a custom event `name@path`), at UTC times. */
const VISITS: Record<string, [string, string][]> = {
  // /a 60 s, /b 40 s (a sign-up on it does not end it), /a again 60 s; /c ends the visit.
  '198.51.100.11': [
    ['2026-11-20T10:00:00Z', '/a'],
    ['2026-11-20T10:01:00Z', '/b'],
    ['2026-11-20T10:01:20Z', 'Signup@/b'],
    ['2026-11-20T10:01:40Z', '/a'],
    ['2026-11-20T10:02:40Z', '/c'],
  ],
  // /a 600 s, /b ends that visit (45 minutes pass); then /c 120 s, and /a ends that one.
  '198.51.100.12': [
    ['2026-11-20T10:00:00Z', '/a'],
    ['2026-11-20T10:10:00Z', '/b'],
    ['2026-11-20T10:55:00Z', '/c'],
    ['2026-11-20T10:57:00Z', '/a'],
  ],
  // A bounce on /d.
  '198.51.100.13': [['2026-11-20T10:00:00Z', '/d']],
  // /e → /f twice (10 s, 5 s: one move), /f → /e twice (10 s, 5 s), /e → /g 6 s: /e is
  // (15 + 6) ÷ 2 moves, /f 15 s.
  '198.51.100.14': [
    ['2026-11-20T10:00:00Z', '/e'],
    ['2026-11-20T10:00:10Z', '/f'],
    ['2026-11-20T10:00:20Z', '/e'],
    ['2026-11-20T10:00:25Z', '/f'],
    ['2026-11-20T10:00:30Z', '/e'],
    ['2026-11-20T10:00:36Z', '/g'],
  ],
  // New York's 23:50 on the 21st to 00:11 on the 22nd: /x 20 minutes, /y 60 s, /z.
  '198.51.100.15': [
    ['2026-11-22T04:50:00Z', '/x'],
    ['2026-11-22T05:10:00Z', '/y'],
    ['2026-11-22T05:11:00Z', '/z'],
  ],
};

beforeEach(async () => {
  t = await makeCompatApp();
  const sent = Object.entries(VISITS).flatMap(([ip, views]) =>
    views.map(([time, what]) => ({ ip, time, what })),
  );
  sent.sort((a, b) => a.time.localeCompare(b.time));
  for (const { ip, time, what } of sent) {
    const [name, path] = what.includes('@') ? what.split('@') : ['pageview', what];
    const body = name === 'pageview' ? page(path as string) : { ...page(path as string), n: name };
    await beacon(t, time, ip, body);
  }
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const v1 = async (path: string, query: string) => {
  const res = await t.get(`/api/v1/stats/${path}?site_id=example.com&${query}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (path: string, query: string) => {
  const { status, body } = await v1(path, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body.results;
};
const refused = async (path: string, query: string) => {
  const { status, body } = await v1(path, query);
  expect(status).toBe(400);
  return body.error;
};
const DAY = 'period=day&date=2026-11-20';
const aggregate = async (filters: string, more = '') =>
  ((await ok('aggregate', `${DAY}&metrics=time_on_page&filters=${filters}${more}`)) as Json)
    .time_on_page;

describe('v1', () => {
  test("aggregate with a page filter: the page's seconds ÷ its timed views, whole", async () => {
    expect(await aggregate('event:page==/a')).toEqual({ value: 240 }); // (60 + 60 + 600) / 3
    expect(await aggregate('event:page==/b')).toEqual({ value: 40 });
    expect(await aggregate('event:page==/c')).toEqual({ value: 120 });
    expect(await aggregate('event:page==/e')).toEqual({ value: 11 }); // 10.5, rounded
    expect(await aggregate('event:page==/d')).toEqual({ value: null }); // never followed
  });

  test('several pages: the mean of their times, as Plausible averages them', async () => {
    expect(await aggregate('event:page==/a|/b')).toEqual({ value: 140 });
    expect(await aggregate('event:page==/b|/c|/d')).toEqual({ value: 80 });
    // /b 40, /c 120, /e 10.5, /f 15.
    expect(await aggregate('event:page!=/a;event:page!=/x|/y|/z')).toEqual({ value: 46 });
    const compared = await aggregate('event:page==/a', '&compare=previous_period');
    expect(compared).toEqual({ value: 240, comparison_value: null, change: null });
  });

  test('breakdown by event:page: the fraction kept, null where never followed', async () => {
    const results = await ok(
      'breakdown',
      `${DAY}&property=event:page&metrics=visitors,time_on_page`,
    );
    expect(results).toEqual([
      { page: '/a', visitors: 2, time_on_page: 240 },
      { page: '/b', visitors: 2, time_on_page: 40 },
      { page: '/c', visitors: 2, time_on_page: 120 },
      { page: '/d', visitors: 1, time_on_page: null },
      { page: '/e', visitors: 1, time_on_page: 10.5 },
      { page: '/f', visitors: 1, time_on_page: 15 },
      { page: '/g', visitors: 1, time_on_page: null },
    ]);
    // Alone, it is ranked as Plausible ranks it: by visitors, then the page.
    const alone = await ok('breakdown', `${DAY}&property=event:page&metrics=time_on_page&limit=2`);
    expect(alone).toEqual([
      { page: '/a', time_on_page: 240 },
      { page: '/b', time_on_page: 40 },
    ]);
    // Asked first, it ranks by the metric after it: page views (/e's 3 before /b's 2).
    const next = await ok('breakdown', `${DAY}&property=event:page&metrics=time_on_page,pageviews`);
    expect((next as Json[]).map((row) => [row.page, row.pageviews])).toEqual([
      ['/a', 4],
      ['/e', 3],
      ['/b', 2],
      ['/c', 2],
      ['/f', 2],
      ['/d', 1],
      ['/g', 1],
    ]);
  });

  test('a custom property filter narrows the events timed in aggregate, not by page', async () => {
    // On the 21st: V1 on /k 30 s, a Click (plan: pro) on it 30 s, then /m; V2 on /k 120 s.
    await beacon(t, '2026-11-21T10:00:00Z', '198.51.100.21', page('/k'));
    await beacon(t, '2026-11-21T10:00:00Z', '198.51.100.22', page('/k'));
    const click = { ...page('/k'), n: 'Click', p: { plan: 'pro' } };
    await beacon(t, '2026-11-21T10:00:30Z', '198.51.100.21', click);
    await beacon(t, '2026-11-21T10:01:00Z', '198.51.100.21', page('/m'));
    await beacon(t, '2026-11-21T10:02:00Z', '198.51.100.22', page('/m'));
    t.clock.set(at('2026-11-25T12:00:00Z'));
    const day = 'period=day&date=2026-11-21&metrics=time_on_page';
    const f = (filters: string) => `filters=${encodeURIComponent(filters)}`;
    const total = async (filters: string) => ok('aggregate', `${day}&${f(filters)}`);
    expect(await total('event:page==/k')).toEqual({ time_on_page: { value: 90 } });
    // Only the Click is timed, and nothing of the filter follows it: no time.
    expect(await total('event:page==/k;event:props:plan==pro')).toEqual({
      time_on_page: { value: null },
    });
    // By page, the filter picks the rows; each page keeps all its time.
    const rows = await ok('breakdown', `${day}&property=event:page&${f('event:props:plan==pro')}`);
    expect(rows).toEqual([{ page: '/k', time_on_page: 90 }]);
  });

  test("timeseries with a page filter: null every day, as Plausible's v1 answers", async () => {
    const results = await ok(
      'timeseries',
      'period=custom&date=2026-11-19,2026-11-20&metrics=time_on_page&filters=event:page==/a',
    );
    expect(results).toEqual([
      { date: '2026-11-19', time_on_page: null },
      { date: '2026-11-20', time_on_page: null },
    ]);
  });

  test('a visit across local midnight: timed only where its next page view is read', async () => {
    const ny = '&tz=America/New_York&property=event:page&metrics=time_on_page';
    // The 21st in New York holds /x alone: the last page view read, untimed.
    expect(await ok('breakdown', `period=day&date=2026-11-21${ny}`)).toEqual([
      { page: '/x', time_on_page: null },
    ]);
    // Both local days: /x until /y after midnight, 20 minutes.
    const both = `period=custom&date=2026-11-21,2026-11-22${ny}`;
    expect(await ok('breakdown', both)).toEqual([
      { page: '/x', time_on_page: 1200 },
      { page: '/y', time_on_page: 60 },
      { page: '/z', time_on_page: null },
    ]);
    // The 22nd there: /y and /z only.
    const next =
      'period=day&date=2026-11-22&tz=America/New_York&metrics=time_on_page&' +
      'filters=event:page==/x|/y';
    expect(await ok('aggregate', next)).toEqual({ time_on_page: { value: 60 } });
  });

  test("Plausible's refusals, in its words", async () => {
    expect(await refused('aggregate', `${DAY}&metrics=time_on_page`)).toBe(
      'Metric `time_on_page` can only be queried in a page breakdown or with a page filter.',
    );
    expect(await refused('timeseries', `${DAY}&metrics=visitors,time_on_page`)).toBe(
      'Metric `time_on_page` can only be queried in a page breakdown or with a page filter.',
    );
    const goal = 'filters=event:page==/b;event:goal==Signup';
    expect(await refused('aggregate', `${DAY}&metrics=time_on_page&${goal}`)).toBe(
      'Metric `time_on_page` cannot be queried when filtering by `event:goal`',
    );
    const name = 'filters=event:name==pageview';
    expect(
      await refused('breakdown', `${DAY}&property=event:page&metrics=time_on_page&${name}`),
    ).toBe('Metric `time_on_page` cannot be queried when filtering by `event:name`');
    expect(await refused('breakdown', `${DAY}&property=visit:source&metrics=time_on_page`)).toBe(
      'Metric `time_on_page` is not supported in breakdown queries (except `event:page` breakdown)',
    );
  });
});

const v2 = async (query: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...query });
  return { status: res.status, body: (await res.json()) as Json };
};
const rows = async (query: Json) => {
  const { status, body } = await v2({ date_range: ['2026-11-20', '2026-11-20'], ...query });
  expect(status, JSON.stringify(body)).toBe(200);
  return (body.results as { dimensions: unknown[]; metrics: unknown[] }[]).map((r) => [
    ...r.dimensions,
    ...r.metrics,
  ]);
};

describe('v2', () => {
  test('by event:page: each page its time, as computed; ordered by it too', async () => {
    const byPage = { metrics: ['visitors', 'time_on_page'], dimensions: ['event:page'] };
    expect(await rows(byPage)).toEqual([
      ['/a', 2, 240],
      ['/b', 2, 40],
      ['/c', 2, 120],
      ['/d', 1, null],
      ['/e', 1, 10.5],
      ['/f', 1, 15],
      ['/g', 1, null],
    ]);
    const ordered = await rows({ ...byPage, order_by: [['time_on_page', 'desc']] });
    expect(ordered.map((r) => r[0])).toEqual(['/a', '/c', '/b', '/f', '/e', '/d', '/g']);
    // Beside another dimension, null, as Plausible's legacy query answers there.
    const bySource = await rows({ ...byPage, dimensions: ['event:page', 'visit:source'] });
    expect(bySource.every((r) => r[3] === null)).toBe(true);
  });

  test('a top-level page filter picks the pages; a nested one narrows the events', async () => {
    const filtered = (filters: unknown[]) => rows({ metrics: ['time_on_page'], filters });
    expect(await filtered([['is', 'event:page', ['/e']]])).toEqual([[10.5]]);
    expect(await filtered([['is', 'event:page', ['/a', '/b']]])).toEqual([[140]]);
    // Without /a's events: /b runs to /c (20 s to the sign-up on it, 80 s more: 100 s),
    // /e 10.5, /f 15 (Plausible keeps a nested filter in its event query).
    const notA = await filtered([['not', ['is', 'event:page', ['/a']]]]);
    expect(notA[0]?.[0]).toBeCloseTo(125.5 / 3, 9);
    // In a top-level `and` it is nested too (Plausible keeps the `and` whole): it narrows the
    // events, as in an `or`, and picks no page.
    const atE = ['is', 'event:page', ['/e']];
    const inAnd = await filtered([['and', [atE]]]);
    expect(inAnd).toEqual(await filtered([['or', [atE]]]));
    expect(inAnd).not.toEqual([[10.5]]);
    expect(await filtered([['is', 'event:page', ['/d']]])).toEqual([[null]]);
  });

  test('refused without an event:page filter or dimension', async () => {
    const error = async (query: Json) => {
      const { status, body } = await v2({ date_range: 'all', ...query });
      expect(status).toBe(400);
      return body.error;
    };
    expect(await error({ metrics: ['time_on_page'], dimensions: ['visit:source'] })).toBe(
      'Metric `time_on_page` can only be queried with event:page filters or dimensions.',
    );
  });
});
