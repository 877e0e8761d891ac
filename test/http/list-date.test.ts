// `date=YYYY-MM-DD` on every native read that takes a from/to range, by the rule stats has: the
// whole local day of `tz` (23 or 25 hours across DST), a 422 naming `date` beside from or to,
// a 422 for a day that is not a calendar date. The lists and the export ignored it and answered
// over all time, so `/api/v1/events?date=…` listed every event without a word.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { operationsOf } from '../helpers/openapi.ts';
import { parquetOf } from '../helpers/parquet.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const ok = async (path: string): Promise<Json> => {
  const res = await t.get(path);
  const body = (await res.json()) as Json;
  expect(res.status, `${path}: ${JSON.stringify(body)}`).toBe(200);
  return body;
};
const send = async (events: Json[]) => {
  expect((await t.post('/api/v1/events/batch', { events })).status).toBe(202);
};

const NY = 'tz=America/New_York';
// New York's 2026-03-08 has 23 hours: 05:00Z (midnight EST) to 2026-03-09 04:00Z (midnight
// EDT). Its 2026-11-01 has 25: 04:00Z (midnight EDT) to 2026-11-02 05:00Z (midnight EST).
const SPRING = [
  { event_id: 's-before', timestamp: '2026-03-08T04:59:59.999Z' }, // 03-07 23:59:59.999 EST
  { event_id: 's-first', timestamp: '2026-03-08T05:00:00Z' }, // 03-08 00:00 EST
  { event_id: 's-mid', timestamp: '2026-03-08T12:00:00Z' }, // 03-08 08:00 EDT
  { event_id: 's-last', timestamp: '2026-03-09T03:59:59.999Z' }, // 03-08 23:59:59.999 EDT
  { event_id: 's-after', timestamp: '2026-03-09T04:00:00Z' }, // 03-09 00:00 EDT
];
const FALL = [
  { event_id: 'f-before', timestamp: '2026-11-01T03:59:59Z' }, // 10-31 23:59:59 EDT
  { event_id: 'f-first', timestamp: '2026-11-01T04:00:00Z' }, // 11-01 00:00 EDT
  { event_id: 'f-late', timestamp: '2026-11-02T04:30:00Z' }, // 11-01 23:30 EST (hour 25)
  { event_id: 'f-after', timestamp: '2026-11-02T05:00:00Z' }, // 11-02 00:00 EST
];
const sendDays = (extra: Json = {}) =>
  send([...SPRING, ...FALL].map((e) => ({ name: 'page_view', ...e, ...extra })));

const eventIds = async (query: string): Promise<unknown[]> =>
  ((await ok(`/api/v1/events?${query}`)).events as Json[]).map((e) => e.event_id);

describe('GET /api/v1/events?date=', () => {
  test('lists the local day of tz: 23 hours in spring, 25 in autumn', async () => {
    await sendDays();
    expect(await eventIds(`date=2026-03-08&${NY}`)).toEqual(['s-last', 's-mid', 's-first']);
    expect(await eventIds(`date=2026-11-01&${NY}`)).toEqual(['f-late', 'f-first']);
    // The same as from=D&to=D, as on stats.
    expect(await eventIds(`date=2026-03-08&${NY}`)).toEqual(
      await eventIds(`from=2026-03-08&to=2026-03-08&${NY}`),
    );
    // Without tz the day is UTC's: 03-08 00:00Z to 03-09 00:00Z.
    expect(await eventIds('date=2026-03-08')).toEqual(['s-mid', 's-first', 's-before']);
    // A cache-buster beside it is still ignored, as any unknown parameter.
    expect(await eventIds(`date=2026-11-01&${NY}&_=1764072000000`)).toEqual(['f-late', 'f-first']);
  });

  test('cursor pages stay inside the day, and the last page has no cursor', async () => {
    await sendDays();
    const seen: unknown[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const after: string = cursor === null ? '' : `&cursor=${cursor}`;
      const body = await ok(`/api/v1/events?date=2026-03-08&${NY}&limit=2${after}`);
      seen.push(...(body.events as Json[]).map((e) => e.event_id));
      cursor = body.next_cursor as string | null;
      if (cursor === null) break;
    }
    expect(seen).toEqual(['s-last', 's-mid', 's-first']);
    // A cursor read without date pages on over all time: the range is the request's, not the
    // cursor's (the cursor is a position only).
    const first = await ok(`/api/v1/events?date=2026-03-08&${NY}&limit=1`);
    const rest = await ok(`/api/v1/events?limit=100&cursor=${first.next_cursor}`);
    expect((rest.events as Json[]).map((e) => e.event_id)).toEqual([
      's-mid',
      's-first',
      's-before',
    ]);
  });

  test('flushed and unflushed events alike', async () => {
    await sendDays({ name: 'early' });
    await t.engine.store.flusher.flush();
    await send([{ name: 'late', event_id: 's-hot', timestamp: '2026-03-08T20:00:00Z' }]);
    expect(await eventIds(`date=2026-03-08&${NY}`)).toEqual([
      's-last',
      's-hot',
      's-mid',
      's-first',
    ]);
  });
});

describe('GET /api/v1/metrics?date=', () => {
  test('lists the points of the local day of tz', async () => {
    await send([
      { name: 'cpu', value: 1, timestamp: '2026-03-08T04:59:59Z' },
      { name: 'cpu', value: 2, timestamp: '2026-03-08T05:00:00Z' },
      { name: 'cpu', value: 3, timestamp: '2026-03-09T03:59:59Z' },
      { name: 'cpu', value: 4, timestamp: '2026-03-09T04:00:00Z' },
    ]);
    const values = async (query: string) =>
      ((await ok(`/api/v1/metrics?name=cpu&${query}`)).metrics as Json[]).map((m) => m.value);
    expect(await values(`date=2026-03-08&${NY}`)).toEqual([3, 2]);
    expect(await values('date=2026-03-08')).toEqual([2, 1]);
    const first = await ok(`/api/v1/metrics?name=cpu&date=2026-03-08&${NY}&limit=1`);
    expect((first.metrics as Json[]).map((m) => m.value)).toEqual([3]);
    const next = await ok(
      `/api/v1/metrics?name=cpu&date=2026-03-08&${NY}&limit=1&cursor=${first.next_cursor}`,
    );
    expect((next.metrics as Json[]).map((m) => m.value)).toEqual([2]);
  });
});

describe('GET /api/v1/export?date=', () => {
  const lines = (text: string) =>
    text === ''
      ? []
      : text
          .trimEnd()
          .split('\n')
          .map((l) => JSON.parse(l) as Json);

  test('exports the local day of tz, oldest first, in every format', async () => {
    await sendDays();
    await t.engine.store.flusher.flush();
    const res = await t.get(`/api/v1/export?date=2026-11-01&${NY}`);
    expect(res.status).toBe(200);
    expect(lines(await res.text()).map((e) => e.event_id)).toEqual(['f-first', 'f-late']);
    const csv = await (await t.get(`/api/v1/export?format=csv&date=2026-03-08&${NY}`)).text();
    const ids = csv
      .trimEnd()
      .split('\n')
      .slice(1)
      .map((row) => row.split(',')[0]);
    expect(ids).toEqual(['s-first', 's-mid', 's-last']);
    const parquet = await t.get(`/api/v1/export?format=parquet&date=2026-03-08&${NY}`);
    expect(parquet.status).toBe(200);
    expect((await parquetOf(parquet)).rows.map((e) => e.event_id)).toEqual([
      's-first',
      's-mid',
      's-last',
    ]);
  });
});

/** Every native read that takes a from/to range, with what else it needs. */
const RANGE_READS = [
  '/api/v1/stats?x=1',
  '/api/v1/timeseries?x=1',
  '/api/v1/events?x=1',
  '/api/v1/metrics?x=1',
  '/api/v1/metrics/aggregate/cpu?x=1',
  '/api/v1/export?x=1',
  '/api/v1/export?format=csv',
  '/api/v1/funnel?step=name:a&step=name:b',
  '/api/v1/cohorts?start=name:a&return=any',
];

describe('every read with a range takes date by one rule', () => {
  test('date beside from or to is the 422 stats gives', async () => {
    for (const extra of ['from=2026-03-08', 'to=2026-03-09', 'from=2026-03-01&to=2026-03-09']) {
      const query = `date=2026-03-08&${extra}`;
      const expected = await t.get(`/api/v1/stats?${query}`);
      expect(expected.status).toBe(422);
      const body = (await expected.json()) as { detail: Json[] };
      expect(body.detail).toEqual([
        {
          loc: ['query', 'date'],
          msg: 'give either date or from/to, not both',
          type: 'value_error',
        },
      ]);
      for (const path of RANGE_READS) {
        const res = await t.get(`${path}&${query}`);
        expect({ path, status: res.status }).toEqual({ path, status: 422 });
        expect(await res.json()).toEqual(body);
      }
    }
  });

  test('a date that is not a calendar day is a 422 naming date', async () => {
    for (const path of RANGE_READS) {
      for (const bad of ['2026-02-30', '2026-3-8', 'today']) {
        const res = await t.get(`${path}&date=${bad}`);
        expect({ path, bad, status: res.status }).toEqual({ path, bad, status: 422 });
        const { detail } = (await res.json()) as { detail: Json[] };
        expect(detail.map((d) => d.loc)).toEqual([['query', 'date']]);
      }
    }
  });

  test('the ranged reads answer for the day: the same as from=D&to=D', async () => {
    await sendDays({ value: 1 });
    for (const path of RANGE_READS) {
      if (path.includes('format=csv')) continue;
      const byDate = await t.get(`${path}&date=2026-03-08&${NY}`);
      const byRange = await t.get(`${path}&from=2026-03-08&to=2026-03-08&${NY}`);
      expect({ path, status: byDate.status }).toEqual({ path, status: 200 });
      const [a, b] = [await byDate.text(), await byRange.text()];
      // An export's answer is the same bytes; the JSON reads' too.
      expect({ path, body: a }).toEqual({ path, body: b });
      const all = await (await t.get(path)).text();
      if (path.startsWith('/api/v1/events') || path.startsWith('/api/v1/export')) {
        expect({ path, differs: a !== all }).toEqual({ path, differs: true });
      }
    }
  });
});

test('/openapi/json documents date on every native read that documents from', async () => {
  type Param = { in: string; name: string; schema?: { description?: string } };
  type Op = { parameters?: Param[] };
  const ranged = (await operationsOf<Op>(t)).filter(
    (o) =>
      o.path.startsWith('/api/v1/') &&
      (o.op.parameters ?? []).some((p) => p.in === 'query' && p.name === 'from'),
  );
  const paths = ranged.map((o) => `${o.method.toUpperCase()} ${o.path}`).sort();
  expect(paths).toEqual([
    'GET /api/v1/cohorts',
    'GET /api/v1/events',
    'GET /api/v1/export',
    'GET /api/v1/funnel',
    'GET /api/v1/metrics',
    'GET /api/v1/metrics/aggregate/{name}',
    'GET /api/v1/stats',
    'GET /api/v1/timeseries',
  ]);
  for (const o of ranged) {
    const date = (o.op.parameters ?? []).find((p) => p.in === 'query' && p.name === 'date');
    expect({ path: o.path, date: date?.schema?.description }).toEqual({
      path: o.path,
      date: expect.stringContaining('instead of from/to'),
    });
  }
});
