// Count series read from per-minute counts must equal counting the events themselves, from
// the hot tier, from flushed segments and from compacted ones, in any zone and bucket.

import { afterEach, describe, expect, test } from 'bun:test';
import { getTimeSeries, type TimeSeriesOptions } from '../../src/query/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const START = Date.parse('2026-10-30T00:00:00Z'); // spans the end of DST in Europe and the US
const BOT = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';

function events(n: number) {
  return Array.from({ length: n }, (_, i) => ({
    event_id: `e${i}`,
    name: ['page_view', 'signup', 'click'][i % 3],
    path: `/p${i % 4}`,
    timestamp: START + ((i * 7_919_993) % (6 * 86_400_000)),
    user_agent: i % 10 === 0 ? BOT : 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
  }));
}

const CASES: Partial<TimeSeriesOptions>[] = [
  { bucket: 'hour', tz: 'America/New_York' },
  { bucket: 'day', tz: 'Europe/Berlin' },
  { bucket: 'day', tz: 'Asia/Kathmandu', filters: { equals: { name: 'signup' } } },
  { bucket: 'minute', tz: 'UTC', fromMs: START, toMs: START + 3 * 3_600_000 },
  { bucket: 'day', tz: 'UTC', filters: { includeBots: true } },
  { bucket: 'hour', tz: 'Europe/Berlin', groupBy: { column: 'name' } },
];

async function both(app: TestApp, c: Partial<TimeSeriesOptions>) {
  const options: TimeSeriesOptions = {
    metric: 'count',
    bucket: 'day',
    tz: 'UTC',
    fromMs: START,
    toMs: START + 6 * 86_400_000,
    filters: {},
    seriesMax: 10,
    fill: true,
    ...c,
  };
  const fast = await getTimeSeries(app.engine.store, 'default', options);
  const slow = await getTimeSeries(app.engine.store, 'default', {
    ...options,
    useMinuteCounts: false,
  });
  return { fast, slow };
}

describe('count series from minute counts', () => {
  test('equal counting events, from the hot tier, segments and compacted segments', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
    const all = events(900);
    await t.post('/api/v1/events/batch', { events: all.slice(0, 300) });
    const check = async () => {
      for (const c of CASES) {
        const { fast, slow } = await both(t as TestApp, c);
        expect(fast).toEqual(slow);
        expect(fast.series.reduce((n, s) => n + s.events, 0)).toBeGreaterThan(0);
      }
    };
    await check(); // hot tier only
    await t.engine.store.flusher.flush();
    await t.post('/api/v1/events/batch', { events: all.slice(300, 600) });
    await check(); // segments with minute counts + hot
    await t.engine.store.flusher.flush();
    await t.post('/api/v1/events/batch', { events: all.slice(600) });
    await t.engine.store.flusher.flush();
    expect(await t.engine.store.compactor.compact()).toBeGreaterThan(0);
    await check(); // compacted segments
    await t.restart();
    await check();
  });

  test('times before 1970 fall in their own minute and bucket (DuckDB // rounds toward 0)', async () => {
    t = await makeTestApp();
    const day = Date.parse('1969-12-31T00:00:00Z');
    await t.post('/api/v1/events/batch', {
      events: [
        { event_id: 'a', name: 'click', timestamp: -30_000 }, // 1969-12-31T23:59:30Z
        { event_id: 'b', name: 'click', timestamp: Date.parse('1969-12-31T23:59:00Z') },
        { event_id: 'c', name: 'click', timestamp: 30_000 }, // 1970-01-01T00:00:30Z
      ],
    });
    const perDay = async () => {
      for (const c of [
        { bucket: 'day', fromMs: day, toMs: day + 2 * 86_400_000 },
        { bucket: 'minute', fromMs: -120_000, toMs: 120_000 },
      ] as const) {
        const { fast, slow } = await both(t as TestApp, c);
        expect(fast).toEqual(slow);
        const counts = (fast.series[0]?.points ?? []).map((p) => p.value);
        expect(counts).toEqual(c.bucket === 'day' ? [2, 1] : [0, 2, 1, 0]);
      }
    };
    await perDay(); // hot tier
    await t.engine.store.flusher.flush();
    await perDay(); // segments and their minute counts
  });
});
