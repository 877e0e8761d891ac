// The tracker's engagement beacons end to end over the real store: stored as `$engagement`
// (sd and e read as Plausible reads them, the name refused from clients), never counted by
// any read (Tally's stats, series and event lists, Plausible's v1 and v2 counts and visits,
// Umami's stats), shown by raw access (the export, one event by id), and read by Plausible's
// v2 scroll_depth and by time_on_page (v1 and v2) as Plausible computes them.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { at, beacon, page } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;

const engaged = (path: string, sd: unknown, e: unknown) => ({
  n: 'engagement',
  u: `https://example.com${path}`,
  sd,
  e,
});

/** Page views and beacons by visitor (its address), at UTC times on 2026-11-20. */
const SENT: [string, string, Json][] = [
  // From Google: /a, its beacon, /b with two beacons (100 sent as 150, then 60): one visit.
  ['10:00', '198.51.100.21', page('/a', 'https://www.google.com/')],
  ['10:01', '198.51.100.21', engaged('/a', 40, 50_000)],
  ['10:02', '198.51.100.21', page('/b')],
  ['10:03', '198.51.100.21', engaged('/b', 150, '30000')],
  ['10:04', '198.51.100.21', engaged('/b', '60', 10_000)],
  // Direct: /a with a beacon, and again 58 minutes later (a second visit).
  ['10:00', '198.51.100.22', page('/a')],
  ['10:02', '198.51.100.22', engaged('/a', 80, 120_000)],
  ['11:00', '198.51.100.22', page('/a')],
  ['11:01', '198.51.100.22', engaged('/a', 20, 20_000)],
  // A beacon two hours after its visit's last event: no live visit, as Plausible drops it.
  ['10:00', '198.51.100.23', page('/c')],
  ['12:00', '198.51.100.23', engaged('/c', 90, 5_000)],
];
const DAY = '2026-11-20';

beforeEach(async () => {
  t = await makeCompatApp();
  const sorted = [...SENT].sort((a, b) => a[0].localeCompare(b[0]));
  for (const [time, ip, body] of sorted) await beacon(t, `${DAY}T${time}:00Z`, ip, body);
  // Counted by the live rollups as of their day (held while the actor's rebuild ran, they are
  // counted as of its end), before the clock moves on five days.
  await t.engine.registry.peek('example.com')?.whenReady();
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const RANGE = `from=${DAY}T00:00:00Z&to=2026-11-21T00:00:00Z`;

async function exported(): Promise<Json[]> {
  const res = await t.get(`/api/v1/export?tenant_id=example.com&format=ndjson`);
  expect(res.status).toBe(200);
  return (await res.text())
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Json);
}

const v2 = async (query: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...query });
  return { status: res.status, body: (await res.json()) as Json };
};
const rows = async (query: Json) => {
  const { status, body } = await v2({ date_range: [DAY, DAY], ...query });
  expect(status, JSON.stringify(body)).toBe(200);
  return (body.results as { dimensions: unknown[]; metrics: unknown[] }[]).map((r) => [
    ...r.dimensions,
    ...r.metrics,
  ]);
};

describe('stored', () => {
  test('as $engagement with integer $scroll_depth and $engagement_time, raw access shows them', async () => {
    const beacons = (await exported()).filter((e) => e.name === '$engagement');
    expect(beacons).toHaveLength(6);
    const b = beacons.filter((e) => e.path === '/b').map((e) => e.properties);
    expect(b).toEqual([
      { $scroll_depth: 100, $engagement_time: 30_000 },
      { $scroll_depth: 60, $engagement_time: 10_000 },
    ]);
    const id = String(beacons[0]?.event_id);
    const one = await t.getJson(`/api/v1/events/${id}?tenant_id=example.com`);
    expect(one).toMatchObject({ event_id: id, name: '$engagement' });
  });

  test('with one of sd and e unreadable: no $scroll_depth, or an $engagement_time of 0', async () => {
    // README: $scroll_depth absent when sd is missing or negative; $engagement_time 0 when e is
    // missing, negative or 30 days or more, as Plausible reads them.
    const sent: [string, unknown, unknown][] = [
      ['/e-missing', 50, undefined],
      ['/e-negative', 50, -5],
      ['/e-30-days', 50, 30 * 24 * 3_600_000],
      ['/e-under-30-days', 50, 30 * 24 * 3_600_000 - 1],
      ['/sd-missing', undefined, 1_000],
      ['/sd-negative', -1, 1_000],
    ];
    for (const [path, sd, e] of sent) {
      await beacon(t, `${DAY}T10:05:00Z`, '198.51.100.21', engaged(path, sd, e));
    }
    const stored = Object.fromEntries(
      (await exported())
        .filter((e) => sent.some(([path]) => path === e.path))
        .map((e) => [e.path, e.properties]),
    );
    expect(stored).toEqual({
      '/e-missing': { $scroll_depth: 50, $engagement_time: 0 },
      '/e-negative': { $scroll_depth: 50, $engagement_time: 0 },
      '/e-30-days': { $scroll_depth: 50, $engagement_time: 0 },
      '/e-under-30-days': { $scroll_depth: 50, $engagement_time: 30 * 24 * 3_600_000 - 1 },
      '/sd-missing': { $engagement_time: 1_000 },
      '/sd-negative': { $engagement_time: 1_000 },
    });
  });

  test('props over the key limit are cut before its scroll depth and engagement time', async () => {
    const props = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 'v']));
    await beacon(t, `${DAY}T10:05:00Z`, '198.51.100.21', {
      ...engaged('/b', 70, 12_000),
      p: props,
    });
    const cut = (await exported()).find((e) => '$tally_cut' in ((e.properties ?? {}) as Json));
    expect(cut?.name).toBe('$engagement');
    expect(cut?.properties).toMatchObject({ $scroll_depth: 70, $engagement_time: 12_000 });
  });

  test('a beacon with neither a valid sd nor e is 400, as Plausible; nothing is stored', async () => {
    for (const [sd, e] of [
      [undefined, undefined],
      [-1, 'x'],
      ['4.5', 30 * 24 * 3_600_000],
    ]) {
      t.clock.set(at(`${DAY}T10:05:00Z`));
      const res = await t.post(
        '/api/event',
        JSON.stringify({ d: 'example.com', ...engaged('/a', sd, e) }),
        { 'content-type': 'text/plain' },
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        errors: {
          event_name: [
            "engagement event requires a valid integer value for at least one of 'sd' or 'e' " +
              'fields',
          ],
        },
      });
    }
    expect(await exported()).toHaveLength(11);
  });

  test('no client may send the reserved name: 422 natively, 400 through Plausible', async () => {
    const native = await t.post('/api/v1/events', { name: '$engagement', tenant_id: 'x' });
    expect(native.status).toBe(422);
    const body = (await native.json()) as { detail: { loc: unknown[]; msg: string }[] };
    expect(body.detail[0]?.loc).toEqual(['body', 'name']);
    expect(body.detail[0]?.msg).toContain('reserved');
    const plausible = await t.post(
      '/api/event',
      JSON.stringify({ n: '$engagement', u: 'https://example.com/', d: 'example.com' }),
      { 'content-type': 'text/plain' },
    );
    expect(plausible.status).toBe(400);
    expect(Object.keys((await plausible.json()) as Json)).toEqual(['errors']);
    expect(await exported()).toHaveLength(11);
  });
});

describe('never counted', () => {
  test("Tally's stats, time series and event list", async () => {
    const stats = await t.getJson(`/api/v1/stats?tenant_id=example.com&${RANGE}`);
    expect(stats).toMatchObject({ total_events: 5, page_views: 5, visits: 4, bounce_rate: 75 });
    expect(stats.top_events).toEqual([{ name: 'pageview', events: 5, visitors: 3 }]);
    type Series = { series: { events: number; points: { value: number | null }[] }[] };
    const total = (s: Series) =>
      s.series.flatMap((one) => one.points).reduce((sum, p) => sum + (p.value ?? 0), 0);
    const hourly = await t.getJson<Series>(
      `/api/v1/timeseries?tenant_id=example.com&${RANGE}&bucket=hour`,
    );
    expect(total(hourly)).toBe(5);
    // A long range is counted from the per-minute counts.
    const daily = await t.getJson<Series>(
      '/api/v1/timeseries?tenant_id=example.com&from=2026-11-01&to=2026-11-25&bucket=day',
    );
    expect(total(daily)).toBe(5);
    const list = await t.getJson<{ events: Json[] }>(
      '/api/v1/events?tenant_id=example.com&limit=100',
    );
    expect(list.events.map((e) => e.name)).toEqual(Array(5).fill('pageview'));
  });

  test("Plausible's counts and visits: a beacon neither counts nor lengthens a visit", async () => {
    expect(
      await rows({ metrics: ['events', 'pageviews', 'visits', 'bounce_rate', 'visit_duration'] }),
    ).toEqual([[5, 5, 4, 75, 30]]);
    expect(await rows({ metrics: ['events'], dimensions: ['event:name'] })).toEqual([
      ['pageview', 5],
    ]);
    const v1 = await t.getJson<{ results: Json }>(
      `/api/v1/stats/aggregate?site_id=example.com&period=day&date=${DAY}` +
        '&metrics=events,visits,visit_duration',
    );
    expect(v1.results).toEqual({
      events: { value: 5 },
      visits: { value: 4 },
      visit_duration: { value: 30 },
    });
  });

  test('the live rollups', async () => {
    const actor = t.engine.registry.actorFor('example.com');
    expect(actor).not.toBeNull();
    await actor?.whenReady();
    const live = actor?.rollups.snapshot(at(`${DAY}T12:00:30Z`));
    expect(live?.names.map((n) => n.name)).toEqual(['pageview']);
  });
});

describe("Plausible's v2 scroll_depth", () => {
  test('each visit’s greatest depth of the page, averaged; by page and with a page filter', async () => {
    const byPage = { metrics: ['visitors', 'scroll_depth'], dimensions: ['event:page'] };
    expect(await rows(byPage)).toEqual([
      ['/a', 2, 47],
      ['/b', 1, 100],
      ['/c', 1, null],
    ]);
    const filtered = (values: string[]) =>
      rows({ metrics: ['scroll_depth'], filters: [['is', 'event:page', values]] });
    expect(await filtered(['/a'])).toEqual([[47]]);
    // One visit reading /a and /b counts once, with its greatest depth of either.
    expect(await filtered(['/a', '/b'])).toEqual([[67]]);
    expect(await filtered(['/c'])).toEqual([[null]]);
  });

  test('a visit filter picks the beacons of its visits', async () => {
    const google = [['is', 'visit:source', ['Google']]];
    expect(
      await rows({ metrics: ['scroll_depth'], dimensions: ['event:page'], filters: google }),
    ).toEqual([
      ['/b', 100],
      ['/a', 40],
    ]);
  });

  test('refused as Plausible refuses it, and beside dimensions Tally cannot read it by', async () => {
    const error = async (query: Json) => {
      const { status, body } = await v2({ date_range: 'all', ...query });
      expect(status).toBe(400);
      return body.error;
    };
    const needsPage =
      'Metric `scroll_depth` can only be queried with event:page filters or dimensions.';
    expect(await error({ metrics: ['scroll_depth'] })).toBe(needsPage);
    const nested = [['not', ['is', 'event:page', ['/a']]]];
    expect(await error({ metrics: ['scroll_depth'], filters: nested })).toBe(needsPage);
    expect(
      await error({ metrics: ['scroll_depth'], dimensions: ['event:page', 'visit:source'] }),
    ).toBe(
      'Tally reads `scroll_depth` in total or by `event:page` alone, not by ' +
        '`event:page`, `visit:source`.',
    );
    const v1 = await t.get(
      `/api/v1/stats/aggregate?site_id=example.com&metrics=scroll_depth&filters=event:page==/a`,
    );
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as Json).error).toContain('`scroll_depth` is not recognized');
  });
});

describe('time_on_page from engagement time', () => {
  test('v2: engaged seconds of the page ÷ its visits that sent a beacon', async () => {
    expect(await rows({ metrics: ['time_on_page'], dimensions: ['event:page'] })).toEqual([
      ['/a', 63],
      ['/b', 40],
      ['/c', null],
    ]);
    const filtered = await rows({
      metrics: ['time_on_page'],
      filters: [['is', 'event:page', ['/a', '/b']]],
    });
    expect(filtered).toEqual([[77]]);
  });

  test('v1: the page breakdown and the aggregate with a page filter', async () => {
    const breakdown = await t.getJson<{ results: Json[] }>(
      `/api/v1/stats/breakdown?site_id=example.com&period=day&date=${DAY}` +
        '&property=event:page&metrics=visitors,time_on_page',
    );
    expect(breakdown.results).toEqual([
      { page: '/a', visitors: 2, time_on_page: 63 },
      { page: '/b', visitors: 1, time_on_page: 40 },
      { page: '/c', visitors: 1, time_on_page: null },
    ]);
    const aggregate = await t.getJson<{ results: Json }>(
      `/api/v1/stats/aggregate?site_id=example.com&period=day&date=${DAY}` +
        '&metrics=time_on_page&filters=event:page%3D%3D/b',
    );
    expect(aggregate.results).toEqual({ time_on_page: { value: 40 } });
  });

  test('a range without beacons keeps the legacy time between page views', async () => {
    const other = async (time: string, body: Json) => {
      t.clock.set(at(`${DAY}T${time}:00Z`));
      const res = await t.post('/api/event', JSON.stringify({ ...body, d: 'other.example' }), {
        'content-type': 'text/plain',
        'x-forwarded-for': '198.51.100.31',
      });
      expect(res.status).toBe(202);
    };
    const timed = async () => {
      const res = await t.post('/api/v2/query', {
        site_id: 'other.example',
        date_range: [DAY, DAY],
        metrics: ['time_on_page'],
        filters: [['is', 'event:page', ['/x']]],
      });
      return ((await res.json()) as { results: { metrics: unknown[] }[] }).results[0]?.metrics;
    };
    await other('10:00', page('/x'));
    await other('10:01', page('/y'));
    expect(await timed()).toEqual([60]);
    await other('10:02', engaged('/x', 50, 5_000));
    expect(await timed()).toEqual([5]);
  });
});

describe("a beacon keeps its visit live, as one refreshes Plausible's session", () => {
  test('a beacon within 30 minutes of the one before counts, past 30 minutes of the page view', async () => {
    const send = async (time: string, body: Json) => {
      t.clock.set(at(`${DAY}T${time}:00Z`));
      const res = await t.post('/api/event', JSON.stringify({ ...body, d: 'long.example' }), {
        'content-type': 'text/plain',
        'x-forwarded-for': '198.51.100.41',
      });
      expect(res.status).toBe(202);
    };
    // The tracker sends a beacon at every blur or hidden tab, each with the time since the last.
    await send('10:00', page('/long'));
    await send('10:20', engaged('/long', 30, 600_000));
    await send('10:45', engaged('/long', 90, 900_000));
    // 45 minutes after the last beacon: no live session, as Plausible drops it.
    await send('11:30', engaged('/long', 100, 5_000));
    const res = await t.post('/api/v2/query', {
      site_id: 'long.example',
      date_range: [DAY, DAY],
      metrics: ['visits', 'time_on_page', 'scroll_depth'],
      dimensions: ['event:page'],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { results: { dimensions: unknown[]; metrics: unknown[] }[] };
    expect(body.results).toEqual([{ dimensions: ['/long'], metrics: [1, 1500, 90] }]);
  });
});

describe('raw SQL', () => {
  test('the SQL view `events` holds the beacons', async () => {
    const res = await t.post('/api/v1/query?tenant_id=example.com', {
      sql: 'SELECT name, count(*) AS n FROM events GROUP BY name ORDER BY name',
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as Json).rows).toEqual([
      ['$engagement', 6],
      ['pageview', 5],
    ]);
  });
});
