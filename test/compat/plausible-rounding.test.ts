// How Plausible's Stats APIs (v1 and v2) round a tie, over Tally's real store. Plausible
// computes its rates in ClickHouse, whose round on a Float64 takes a tie to the even
// neighbour (x × 10^n, to even, ÷ 10^n): bounce_rate, visit_duration, views_per_visit,
// percentage, conversion_rate, group_conversion_rate (and exit_rate: page-entry tests). v1's
// comparisons are Elixir's: round/1 takes a tie away from zero (−12.5 is −13), Float.round/2
// rounds the float's exact value (54.55 is 54.549999… so 54.5). Tally's own /api/v1/stats
// keeps its rounding (half away from zero).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;

beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const DAY = '2026-11-20';
const ip = (n: number) => `198.51.100.${n}`;
const time = (hour: number, seconds: number, day = DAY) =>
  new Date(at(`${day}T${String(hour).padStart(2, '0')}:00:00Z`) + seconds * 1000).toISOString();

/** A visit of visitor `n`: its pages at the seconds given, from `hour` o'clock. */
async function visit(n: number, hour: number, pages: [string, number][], day = DAY) {
  for (const [path, seconds] of pages) await beacon(t, time(hour, seconds, day), ip(n), page(path));
}

const stop = () => t.clock.set(at('2026-11-26T12:00:00Z'));

const v1 = async (path: string, query: string) => {
  const res = await t.get(`/api/v1/stats/${path}?site_id=example.com&${query}`);
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body.results;
};
const ONE_DAY = `period=custom&date=${DAY},${DAY}`;
const v2 = async (query: Json) => {
  const res = await t.post('/api/v2/query', {
    site_id: 'example.com',
    date_range: [DAY, DAY],
    ...query,
  });
  const body = (await res.json()) as Json;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return (body.results as { metrics: unknown[]; dimensions: unknown[] }[]).map((r) => [
    ...r.dimensions,
    ...r.metrics,
  ]);
};

describe('visit rates of 8 visits: 1 bounce (12.5 %), 420 s (52.5 s), 17 views (2.125)', () => {
  beforeEach(async () => {
    // V1 lands on / and leaves; V2–V6 read / then /a a minute later; V7 and V8 read /, /a
    // and /b, a minute in all. Each visit enters at /.
    await visit(1, 9, [['/', 0]]);
    for (let n = 2; n <= 6; n += 1) {
      await visit(n, 9 + n, [
        ['/', 0],
        ['/a', 60],
      ]);
    }
    for (const n of [7, 8]) {
      await visit(n, 9 + n, [
        ['/', 0],
        ['/a', 30],
        ['/b', 60],
      ]);
    }
    stop();
  });
  const rates = 'bounce_rate,visit_duration';

  test('v1 aggregate, timeseries and breakdowns: 12, 52 and 2.12', async () => {
    expect(await v1('aggregate', `${ONE_DAY}&metrics=visits,${rates},views_per_visit`)).toEqual({
      visits: { value: 8 },
      bounce_rate: { value: 12 },
      visit_duration: { value: 52 },
      views_per_visit: { value: 2.12 },
    });
    expect(await v1('timeseries', `${ONE_DAY}&metrics=${rates},views_per_visit`)).toEqual([
      { date: DAY, bounce_rate: 12, visit_duration: 52, views_per_visit: 2.12 },
    ]);
    expect(await v1('breakdown', `${ONE_DAY}&property=visit:source&metrics=${rates}`)).toEqual([
      { source: 'Direct / None', bounce_rate: 12, visit_duration: 52 },
    ]);
    // By page, the rates are of the visits that entered at it: all 8 at /.
    const byPage = await v1('breakdown', `${ONE_DAY}&property=event:page&metrics=visits,${rates}`);
    expect((byPage as Json[])[0]).toEqual({
      page: '/',
      visits: 8,
      bounce_rate: 12,
      visit_duration: 52,
    });
    // A page filter: the bounce rate of the visits that entered at /.
    const filtered = `${ONE_DAY}&filters=event:page%3D%3D%2F&metrics=bounce_rate`;
    expect(await v1('aggregate', filtered)).toEqual({ bounce_rate: { value: 12 } });
  });

  test('v2 in total, by a visit dimension, by page and by day', async () => {
    const metrics = ['visits', 'bounce_rate', 'visit_duration'];
    expect(await v2({ metrics: [...metrics, 'views_per_visit'] })).toEqual([[8, 12, 52, 2.12]]);
    expect(await v2({ metrics, dimensions: ['visit:device'] })).toEqual([['Desktop', 8, 12, 52]]);
    expect((await v2({ metrics, dimensions: ['event:page'] }))[0]).toEqual(['/', 8, 12, 52]);
    expect(await v2({ metrics, dimensions: ['time:day'] })).toEqual([[DAY, 8, 12, 52]]);
    const pageFilter = [['is', 'event:page', ['/']]];
    expect(await v2({ metrics: ['bounce_rate'], filters: pageFilter })).toEqual([[12]]);
  });

  test("Tally's own /api/v1/stats keeps a tie away from zero: 13, 53 and 2.13", async () => {
    const stats = await t.getJson(
      `/api/v1/stats?tenant_id=example.com&from=${DAY}T00:00:00Z&to=2026-11-21T00:00:00Z`,
    );
    expect(stats).toMatchObject({
      visits: 8,
      bounce_rate: 13,
      visit_duration: 53,
      views_per_visit: 2.13,
    });
  });
});

test('v2 percentage, 1 decimal: 1 visitor of 16 is 6.2 % (6.25 to even)', async () => {
  // V1 comes from Google, V2–V16 directly.
  await beacon(t, time(9, 0), ip(1), page('/', 'https://www.google.com/'));
  for (let n = 2; n <= 16; n += 1) await visit(n, 9, [['/', n]]);
  stop();
  expect(await v2({ metrics: ['visitors', 'percentage'], dimensions: ['visit:source'] })).toEqual([
    ['Direct / None', 15, 93.8],
    ['Google', 1, 6.2],
  ]);
});

describe('conversion rates, 2 decimals: 1 sign-up of 32 visitors is 3.12 % (3.125 to even)', () => {
  beforeEach(async () => {
    for (let n = 1; n <= 32; n += 1) await visit(n, 9, [['/', n]]);
    await beacon(t, time(10, 0), ip(1), { n: 'Signup', u: 'https://example.com/' });
    stop();
  });
  const goal = 'filters=event:goal%3D%3DSignup';
  const RATE = 'conversion_rate';

  test('v1 aggregate, goal breakdown, source breakdown and timeseries', async () => {
    expect(await v1('aggregate', `${ONE_DAY}&${goal}&metrics=conversion_rate`)).toEqual({
      conversion_rate: { value: 3.12 },
    });
    const byGoal = `${ONE_DAY}&property=event:goal&metrics=visitors,conversion_rate`;
    expect(await v1('breakdown', byGoal)).toEqual([
      { goal: 'Signup', visitors: 1, conversion_rate: 3.12 },
    ]);
    const bySource = `${ONE_DAY}&${goal}&property=visit:source&metrics=visitors,${RATE}`;
    expect(await v1('breakdown', bySource)).toEqual([
      { source: 'Direct / None', visitors: 1, conversion_rate: 3.12 },
    ]);
    expect(await v1('timeseries', `${ONE_DAY}&${goal}&metrics=conversion_rate`)).toEqual([
      { date: DAY, conversion_rate: 3.12 },
    ]);
  });

  test('v2 conversion_rate and group_conversion_rate', async () => {
    const query = {
      metrics: ['visitors', 'conversion_rate', 'group_conversion_rate'],
      filters: [['is', 'event:goal', ['Signup']]],
    };
    expect(await v2(query)).toEqual([[1, 3.12, 3.12]]);
    expect(await v2({ ...query, dimensions: ['visit:source'] })).toEqual([
      ['Direct / None', 1, 3.12, 3.12],
    ]);
  });
});

describe("v1 aggregate compare: Elixir's rounding of the change", () => {
  const compare = (day: string, metrics: string, filters = '') =>
    v1('aggregate', `period=day&date=${day}&compare=previous_period&metrics=${metrics}${filters}`);

  test('a percent change of −12.5 is −13 (round/1: a tie away from zero)', async () => {
    // One visitor reads 8 pages on the 19th, another 7 on the 20th.
    const pages = (n: number): [string, number][] =>
      Array.from({ length: n }, (_, i) => [`/p${i}`, i * 10]);
    await visit(1, 9, pages(8), '2026-11-19');
    await visit(2, 9, pages(7));
    stop();
    expect(await compare(DAY, 'pageviews')).toEqual({
      pageviews: { value: 7, comparison_value: 8, change: -13 },
    });
  });

  test('a conversion rate change of 54.55 points is 54.5 (Float.round/2, exact)', async () => {
    // The 19th: 11 visitors, 5 sign up (45.45 %); the 20th: 1 visitor, who signs up (100 %).
    for (let n = 1; n <= 11; n += 1) await visit(n, 9, [['/', n]], '2026-11-19');
    for (let n = 1; n <= 5; n += 1) {
      await beacon(t, time(10, n, '2026-11-19'), ip(n), { n: 'Signup', u: 'https://example.com/' });
    }
    await visit(20, 9, [['/', 0]]);
    await beacon(t, time(9, 30), ip(20), { n: 'Signup', u: 'https://example.com/' });
    stop();
    expect(await compare(DAY, 'conversion_rate', '&filters=event:goal%3D%3DSignup')).toEqual({
      conversion_rate: { value: 100, comparison_value: 45.45, change: 54.5 },
    });
  });
});
