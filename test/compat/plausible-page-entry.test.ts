// Plausible's page breakdowns over Tally's real store (v1 and v2): by event:page, bounce_rate
// and visit_duration are of the visits that ENTERED at each page (Plausible splits the query:
// events by page, sessions by entry page, merged by page), while visitors, visits and page
// views stay of the visits that viewed it; and v2's exit_rate by visit:exit_page. The story
// is one where reading the visits that viewed a page answers otherwise.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;

/**
 * Visits of 2026-11-20 (UTC), each from its own visitor: V1 enters at /a, reads /b and /c
 * (300 s); V2 lands on /b and leaves (a bounce); V3 enters at /b, reads /d and /a (600 s); V4
 * enters at /c and reads /b (60 s); V5 enters at /a at 23:30 and reads /b (600 s: 00:30 on
 * the 21st in Berlin). V0 enters at /c at 23:30 the day before (00:30 on the 20th in Berlin)
 * and reads /a (300 s). Nobody enters at /d.
 */
async function seedVisits(): Promise<void> {
  const visits: [string, string, string[]][] = [
    ['198.51.100.10', '2026-11-19T23:30:00Z', ['/c', '/a']],
    ['198.51.100.11', '2026-11-20T10:00:00Z', ['/a', '/b', '/c']],
    ['198.51.100.12', '2026-11-20T11:00:00Z', ['/b']],
    ['198.51.100.13', '2026-11-20T12:00:00Z', ['/b', '/d', '/a']],
    ['198.51.100.14', '2026-11-20T13:00:00Z', ['/c', '/b']],
    ['198.51.100.15', '2026-11-20T23:30:00Z', ['/a', '/b']],
  ];
  const seconds: Record<string, number[]> = {
    '198.51.100.10': [0, 300],
    '198.51.100.11': [0, 120, 300],
    '198.51.100.12': [0],
    '198.51.100.13': [0, 300, 600],
    '198.51.100.14': [0, 60],
    '198.51.100.15': [0, 600],
  };
  for (const [ip, start, paths] of visits) {
    for (const [i, path] of paths.entries()) {
      const time = new Date(at(start) + (seconds[ip]?.[i] ?? 0) * 1000).toISOString();
      await beacon(t, time, ip, page(path));
    }
  }
  t.clock.set(at('2026-11-26T12:00:00Z'));
}

beforeEach(async () => {
  t = await makeCompatApp();
  await seedVisits();
});
afterEach(() => t.close());

const v1 = async (query: string) => {
  const res = await t.get(`/api/v1/stats/breakdown?site_id=example.com&${query}`);
  return { status: res.status, body: (await res.json()) as Json };
};
const breakdown = async (query: string) => {
  const { status, body } = await v1(query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body.results as Json[];
};
const v2 = async (query: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...query });
  return { status: res.status, body: (await res.json()) as Json };
};
const rows = async (query: Json) => {
  const { status, body } = await v2(query);
  expect(status, JSON.stringify(body)).toBe(200);
  return (body.results as { metrics: unknown[]; dimensions: unknown[] }[]).map((r) => [
    ...r.dimensions,
    ...r.metrics,
  ]);
};
const refusal = async (query: Json) => {
  const { status, body } = await v2(query);
  expect(status).toBe(400);
  return body.error;
};

const DAY = 'period=custom&date=2026-11-20,2026-11-20';
const METRICS = 'metrics=visitors,visits,pageviews,bounce_rate,visit_duration';
const UTC_DAY = ['2026-11-20', '2026-11-20'];

describe('v1 breakdown by event:page', () => {
  test('visit metrics of the visits that entered at the page; the others of those that viewed it', async () => {
    expect(await breakdown(`${DAY}&property=event:page&${METRICS}`)).toEqual([
      // V2 (a bounce) and V3 entered at /b; V1, V4 and V5 viewed it later (no bounce).
      { page: '/b', visitors: 5, visits: 5, pageviews: 5, bounce_rate: 50, visit_duration: 300 },
      { page: '/a', visitors: 3, visits: 3, pageviews: 3, bounce_rate: 0, visit_duration: 450 },
      { page: '/c', visitors: 2, visits: 2, pageviews: 2, bounce_rate: 0, visit_duration: 60 },
      // Viewed (by V3) but entered by none: Plausible's 0 (its sessions side has no row).
      { page: '/d', visitors: 1, visits: 1, pageviews: 1, bounce_rate: 0, visit_duration: 0 },
    ]);
  });

  test('ranked by bounce_rate (then the page), paged', async () => {
    const by = `${DAY}&property=event:page&metrics=bounce_rate,visitors`;
    const all = await breakdown(by);
    expect(all.map((r) => [r.page, r.bounce_rate])).toEqual([
      ['/b', 50],
      ['/a', 0],
      ['/c', 0],
      ['/d', 0],
    ]);
    expect(await breakdown(`${by}&limit=2&page=2`)).toEqual([
      { page: '/c', bounce_rate: 0, visitors: 2 },
      { page: '/d', bounce_rate: 0, visitors: 1 },
    ]);
  });

  test('only entry metrics: the rows are the entry pages, as Plausible reads its sessions alone', async () => {
    expect(
      await breakdown(`${DAY}&property=event:page&metrics=bounce_rate,visit_duration`),
    ).toEqual([
      { page: '/b', bounce_rate: 50, visit_duration: 300 },
      { page: '/a', bounce_rate: 0, visit_duration: 450 },
      { page: '/c', bounce_rate: 0, visit_duration: 60 },
    ]);
  });

  test('a page filter is read on the entry page too', async () => {
    const filters = encodeURIComponent('event:page==/b|/c');
    // V4 entered at /c (filtered) and viewed /b: counted under /c only (not /b's 33 and 220).
    expect(await breakdown(`${DAY}&property=event:page&${METRICS}&filters=${filters}`)).toEqual([
      { page: '/b', visitors: 5, visits: 5, pageviews: 5, bounce_rate: 50, visit_duration: 300 },
      { page: '/c', visitors: 2, visits: 2, pageviews: 2, bounce_rate: 0, visit_duration: 60 },
    ]);
    const notB = encodeURIComponent('event:page!=/b');
    expect(
      await breakdown(`${DAY}&property=event:page&metrics=visits,bounce_rate&filters=${notB}`),
    ).toEqual([
      { page: '/a', visits: 3, bounce_rate: 0 },
      { page: '/c', visits: 2, bounce_rate: 0 },
      { page: '/d', visits: 1, bounce_rate: 0 },
    ]);
  });

  test('days of a time zone: the visits entered that local day', async () => {
    // Berlin's 20th: V0 (entered at /c at 00:30) in, V5 (00:30 on the 21st) out.
    expect(await breakdown(`${DAY}&tz=Europe/Berlin&property=event:page&${METRICS}`)).toEqual([
      { page: '/b', visitors: 4, visits: 4, pageviews: 4, bounce_rate: 50, visit_duration: 300 },
      { page: '/a', visitors: 3, visits: 3, pageviews: 3, bounce_rate: 0, visit_duration: 300 },
      { page: '/c', visitors: 3, visits: 3, pageviews: 3, bounce_rate: 0, visit_duration: 180 },
      { page: '/d', visitors: 1, visits: 1, pageviews: 1, bounce_rate: 0, visit_duration: 0 },
    ]);
  });

  test('other breakdowns keep the visits of every row (an entry page breakdown alike)', async () => {
    const entries = await breakdown(`${DAY}&property=visit:entry_page&metrics=visits,bounce_rate`);
    expect(entries).toEqual([
      { entry_page: '/a', visits: 2, bounce_rate: 0 },
      { entry_page: '/b', visits: 2, bounce_rate: 50 },
      { entry_page: '/c', visits: 1, bounce_rate: 0 },
    ]);
  });

  test('exit_rate is not a v1 metric, as in Plausible', async () => {
    const { status, body } = await v1(`${DAY}&property=visit:exit_page&metrics=exit_rate`);
    expect(status).toBe(400);
    expect(body.error).toBe(
      'The metric `exit_rate` is not recognized. Find valid metrics from the documentation: ' +
        'https://plausible.io/docs/stats-api#metrics',
    );
  });
});

describe('v2 by event:page', () => {
  const pages = {
    metrics: ['visitors', 'visits', 'bounce_rate', 'visit_duration'],
    date_range: UTC_DAY,
    dimensions: ['event:page'],
  };

  test('entered for the visit rates, viewed for visitors and visits; ordered and paged', async () => {
    expect(await rows(pages)).toEqual([
      ['/b', 5, 5, 50, 300],
      ['/a', 3, 3, 0, 450],
      ['/c', 2, 2, 0, 60],
      ['/d', 1, 1, 0, 0],
    ]);
    const byDuration = {
      ...pages,
      order_by: [['visit_duration', 'asc']],
      pagination: { limit: 2, offset: 1 },
      include: { total_rows: true },
    };
    const { body } = await v2(byDuration);
    expect(body.results).toEqual([
      { metrics: [2, 2, 0, 60], dimensions: ['/c'] },
      { metrics: [5, 5, 50, 300], dimensions: ['/b'] },
    ]);
    expect(body.meta).toEqual({ total_rows: 4 });
  });

  test('a top-level page filter and a nested one, both read on the entry page', async () => {
    const filters = [['is', 'event:page', ['/b', '/c']]];
    expect(await rows({ ...pages, filters })).toEqual([
      ['/b', 5, 5, 50, 300],
      ['/c', 2, 2, 0, 60],
    ]);
    const nested = [['not', ['is', 'event:page', ['/b']]]];
    expect(await rows({ ...pages, filters: nested })).toEqual([
      ['/a', 3, 3, 0, 450],
      ['/c', 2, 2, 0, 60],
      ['/d', 1, 1, 0, 0],
    ]);
  });

  test('bounce_rate with an event:page filter in a top-level and: of every visit (no entry)', async () => {
    // Top level, the visits that entered at /b (V2 bounced, V3 did not): 50. In an `and`,
    // Plausible's get_toplevel_filter does not see it: the visits that viewed /b (V1–V5, one
    // bounce): 20.
    const total = { metrics: ['visits', 'bounce_rate'], date_range: UTC_DAY };
    const atB = ['is', 'event:page', ['/b']];
    expect(await rows({ ...total, filters: [atB] })).toEqual([[5, 50]]);
    expect(await rows({ ...total, filters: [['and', [atB]]] })).toEqual([[5, 20]]);
    const withDevice = [['and', [atB, ['is', 'visit:device', ['Desktop']]]]];
    expect(await rows({ ...total, filters: withDevice })).toEqual([[5, 20]]);
  });

  test('with a visit dimension and a time zone', async () => {
    expect(
      await rows({ ...pages, dimensions: ['event:page', 'visit:device'], tz: 'Europe/Berlin' }),
    ).toEqual([
      ['/b', 'Desktop', 4, 4, 50, 300],
      ['/a', 'Desktop', 3, 3, 0, 300],
      ['/c', 'Desktop', 3, 3, 0, 180],
      ['/d', 'Desktop', 1, 1, 0, 0],
    ]);
    expect(await rows({ ...pages, metrics: ['bounce_rate'] })).toEqual([
      ['/b', 50],
      ['/a', 0],
      ['/c', 0],
    ]);
  });
});

describe('v2 by event:page with a visit dimension, an entry page filter, a goal', () => {
  const metrics = ['visitors', 'bounce_rate', 'visit_duration'];

  test('beside visit:source, each (page, source) of the entered visits; 0 where none entered', async () => {
    // V6 comes from Google at 14:00, enters at /b and reads /a 120 s later.
    await beacon(t, '2026-11-20T14:00:00Z', '198.51.100.16', page('/b', 'https://www.google.com/'));
    await beacon(t, '2026-11-20T14:02:00Z', '198.51.100.16', page('/a'));
    t.clock.set(at('2026-11-26T12:00:00Z'));
    const query = { metrics, date_range: UTC_DAY, dimensions: ['event:page', 'visit:source'] };
    expect(await rows(query)).toEqual([
      ['/b', 'Direct / None', 5, 50, 300],
      ['/a', 'Direct / None', 3, 0, 450],
      ['/c', 'Direct / None', 2, 0, 60],
      ['/a', 'Google', 1, 0, 0],
      ['/b', 'Google', 1, 0, 120],
      ['/d', 'Direct / None', 1, 0, 0],
    ]);
    expect(await rows({ ...query, metrics: ['bounce_rate'] })).toEqual([
      ['/b', 'Direct / None', 50],
      ['/a', 'Direct / None', 0],
      ['/b', 'Google', 0],
      ['/c', 'Direct / None', 0],
    ]);
  });

  test('a visit:entry_page filter: the pages its visits viewed, the rates of those entered', async () => {
    const filters = [['is', 'visit:entry_page', ['/b']]];
    expect(
      await rows({ metrics, date_range: UTC_DAY, dimensions: ['event:page'], filters }),
    ).toEqual([
      ['/b', 2, 50, 300],
      ['/a', 1, 0, 0],
      ['/d', 1, 0, 0],
    ]);
  });

  test('a goal filter: the goal pages as rows, the rates of the converting visits by entry', async () => {
    // V6 enters at /b, reads /e and signs up there.
    await beacon(t, '2026-11-20T14:00:00Z', '198.51.100.16', page('/b'));
    await beacon(t, '2026-11-20T14:01:00Z', '198.51.100.16', page('/e'));
    await beacon(t, '2026-11-20T14:02:00Z', '198.51.100.16', {
      n: 'Signup',
      u: 'https://example.com/e',
    });
    t.clock.set(at('2026-11-26T12:00:00Z'));
    const query = {
      metrics: [...metrics, 'conversion_rate'],
      date_range: UTC_DAY,
      dimensions: ['event:page'],
      filters: [['is', 'event:goal', ['Signup']]],
    };
    // Nobody entered at /e: 0; 1 of the day's 6 visitors converted.
    expect(await rows(query)).toEqual([['/e', 1, 0, 0, 16.67]]);
    expect(await rows({ ...query, metrics: ['bounce_rate', 'visit_duration'] })).toEqual([
      ['/b', 0, 120],
    ]);
  });
});

test('v2: a custom property filter keeps the entered visits that hold a matching event', async () => {
  // V6 enters at /b at 14:00 and signs up there a minute later (plan: pro).
  await beacon(t, '2026-11-20T14:00:00Z', '198.51.100.16', page('/b'));
  await beacon(t, '2026-11-20T14:01:00Z', '198.51.100.16', {
    n: 'Signup',
    u: 'https://example.com/b',
    p: { plan: 'pro' },
  });
  t.clock.set(at('2026-11-26T12:00:00Z'));
  const query = {
    metrics: ['visitors', 'bounce_rate', 'visit_duration'],
    date_range: UTC_DAY,
    dimensions: ['event:page'],
  };
  // Of the visits that entered at /b (V2, V3, V6), only V6 holds the sign-up.
  expect(await rows({ ...query, filters: [['is', 'event:props:plan', ['pro']]] })).toEqual([
    ['/b', 1, 0, 60],
  ]);
  expect((await rows(query))[0]).toEqual(['/b', 6, 33, 220]);
});

describe('v2 exit_rate', () => {
  const exits = { metrics: ['visits', 'exit_rate'], date_range: UTC_DAY };

  test('the visits that left at the page ÷ its page views, 1 decimal, by visit:exit_page', async () => {
    // Left at /b: V2, V4, V5 of its 5 views; /c: V1 of 2; /a: V3 of 3.
    expect(await rows({ ...exits, dimensions: ['visit:exit_page'] })).toEqual([
      ['/b', 3, 60],
      ['/a', 1, 33.3],
      ['/c', 1, 50],
    ]);
    const ranked = {
      ...exits,
      dimensions: ['visit:exit_page'],
      order_by: [['exit_rate', 'desc']],
      pagination: { limit: 2, offset: 1 },
    };
    expect(await rows(ranked)).toEqual([
      ['/c', 1, 50],
      ['/a', 1, 33.3],
    ]);
  });

  test('an exit page filter leaves the page views of every visit; other filters narrow both', async () => {
    const dimensions = ['visit:exit_page'];
    const atB = [['is', 'visit:exit_page', ['/b']]];
    expect(await rows({ ...exits, dimensions, filters: atB })).toEqual([['/b', 3, 60]]);
    // V2 and V3 entered at /b: /b left once of 2 views, /a once of 1.
    const enteredB = [['is', 'visit:entry_page', ['/b']]];
    expect(await rows({ ...exits, dimensions, filters: enteredB })).toEqual([
      ['/a', 1, 100],
      ['/b', 1, 50],
    ]);
  });

  test('beside visitors, percentage and bounce_rate; only a top-level exit page filter is set apart', async () => {
    const dimensions = ['visit:exit_page'];
    const atBC = [['is', 'visit:exit_page', ['/b', '/c']]];
    const mixed = ['visitors', 'percentage', 'exit_rate', 'bounce_rate'];
    expect(await rows({ ...exits, metrics: mixed, dimensions, filters: atBC })).toEqual([
      ['/b', 3, 75, 60, 33],
      ['/c', 1, 25, 50, 0],
    ]);
    // Top level, the page views are of every visit; nested, of V1 and V3 alone.
    const notB = ['is_not', 'visit:exit_page', ['/b']];
    expect(await rows({ ...exits, dimensions, filters: [notB] })).toEqual([
      ['/a', 1, 33.3],
      ['/c', 1, 50],
    ]);
    const nested = [['not', ['is', 'visit:exit_page', ['/b']]]];
    expect(await rows({ ...exits, dimensions, filters: nested })).toEqual([
      ['/a', 1, 50],
      ['/c', 1, 100],
    ]);
  });

  test('an exit page filter in a top-level and is not set apart (Plausible keeps the and)', async () => {
    // Plausible's remove_top_level_filters drops a top-level filter only, not an `and` holding
    // one: the page views are then of the visits that left at /b (V2, V4, V5), 3 of /b.
    const dimensions = ['visit:exit_page'];
    const inAnd = [['and', [['is', 'visit:exit_page', ['/b']]]]];
    expect(await rows({ ...exits, dimensions, filters: inAnd })).toEqual([['/b', 3, 100]]);
    const withSource = [
      [
        'and',
        [
          ['is', 'visit:exit_page', ['/b']],
          ['is', 'visit:source', ['Direct / None']],
        ],
      ],
    ];
    expect(await rows({ ...exits, dimensions, filters: withSource })).toEqual([['/b', 3, 100]]);
  });

  test('rounded half to even, as ClickHouse rounds a Float64: 1 exit of 16 views is 6.2', async () => {
    // V7 reads /e 16 times (a minute apart) and leaves there: 6.25 % is a tie at 1 decimal.
    for (let i = 0; i < 16; i += 1) {
      const time = new Date(at('2026-11-20T15:00:00Z') + i * 60_000).toISOString();
      await beacon(t, time, '198.51.100.17', page('/e'));
    }
    t.clock.set(at('2026-11-26T12:00:00Z'));
    const atE = [['is', 'visit:exit_page', ['/e']]];
    expect(await rows({ ...exits, dimensions: ['visit:exit_page'], filters: atE })).toEqual([
      ['/e', 1, 6.2],
    ]);
  });

  test("Plausible's refusals, in its words", async () => {
    const needsExitPage =
      'Metric `exit_rate` requires a `"visit:exit_page"` dimension. No other dimensions are allowed.';
    expect(await refusal({ ...exits, dimensions: ['event:page'] })).toBe(needsExitPage);
    expect(await refusal(exits)).toBe(needsExitPage);
    expect(await refusal({ ...exits, dimensions: ['visit:exit_page', 'visit:device'] })).toBe(
      needsExitPage,
    );
    expect(
      await refusal({
        ...exits,
        dimensions: ['visit:exit_page'],
        filters: [['not', ['is', 'event:page', ['/a']]]],
      }),
    ).toBe('Metric `exit_rate` cannot be queried when filtering on event dimensions.');
  });
});
