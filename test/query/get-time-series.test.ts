import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { AppError } from '../../src/core/index.ts';
import { getTimeSeries, parseGroupBy, type TimeSeriesOptions } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const at = (iso: string) => Date.parse(iso);
const NY = 'America/New_York';

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

function series(options: Partial<TimeSeriesOptions> & Pick<TimeSeriesOptions, 'fromMs' | 'toMs'>) {
  return getTimeSeries(source, 'acme', {
    metric: 'count',
    bucket: 'day',
    tz: 'UTC',
    filters: {},
    seriesMax: 10,
    fill: false,
    ...options,
  });
}

const points = (result: Awaited<ReturnType<typeof series>>, i = 0) =>
  (result.series[i]?.points ?? []).map((p) => [p.bucket, p.value]);

describe('getTimeSeries buckets', () => {
  test('hours of New York 2026-03-08 (23 h) and 2026-11-01 (25 h), DST-correct', async () => {
    await source.add([
      makeEvent({ timestamp: at('2026-03-08T06:59:00Z') }), // 01:59 EST
      makeEvent({ timestamp: at('2026-03-08T07:00:00Z') }), // 03:00 EDT
      makeEvent({ timestamp: at('2026-11-01T05:30:00Z') }), // 01:30 EDT
      makeEvent({ timestamp: at('2026-11-01T06:30:00Z') }), // 01:30 EST, the repeated hour
      makeEvent({ timestamp: at('2026-11-01T06:45:00Z') }),
    ]);
    const spring = await series({
      bucket: 'hour',
      tz: NY,
      fromMs: at('2026-03-08T05:00:00Z'),
      toMs: at('2026-03-09T04:00:00Z'),
      fill: true,
    });
    expect(spring.series[0]?.points).toHaveLength(23);
    expect(points(spring).slice(0, 3)).toEqual([
      ['2026-03-08T00:00:00-05:00', 0],
      ['2026-03-08T01:00:00-05:00', 1],
      ['2026-03-08T03:00:00-04:00', 1],
    ]);
    const fall = await series({
      bucket: 'hour',
      tz: NY,
      fromMs: at('2026-11-01T04:00:00Z'),
      toMs: at('2026-11-02T05:00:00Z'),
      fill: true,
    });
    expect(fall.series[0]?.points).toHaveLength(25);
    expect(points(fall).slice(1, 4)).toEqual([
      ['2026-11-01T01:00:00-04:00', 1],
      ['2026-11-01T01:00:00-05:00', 2],
      ['2026-11-01T02:00:00-05:00', 0],
    ]);
  });

  test('days start at local midnight, labelled with their offset', async () => {
    await source.add([
      makeEvent({ timestamp: at('2026-03-08T05:00:00Z') }), // 8 March 00:00 EST
      makeEvent({ timestamp: at('2026-03-09T03:30:00Z') }), // 8 March 23:30 EDT
      makeEvent({ timestamp: at('2026-03-09T04:30:00Z') }), // 9 March 00:30 EDT
    ]);
    const result = await series({
      tz: NY,
      fromMs: at('2026-03-07T05:00:00Z'),
      toMs: at('2026-03-10T04:00:00Z'),
    });
    expect(points(result)).toEqual([
      ['2026-03-08T00:00:00-05:00', 2],
      ['2026-03-09T00:00:00-04:00', 1],
    ]);
    const utc = await series({
      fromMs: at('2026-03-07T00:00:00Z'),
      toMs: at('2026-03-10T00:00:00Z'),
    });
    expect(points(utc)).toEqual([
      ['2026-03-08T00:00:00+00:00', 1],
      ['2026-03-09T00:00:00+00:00', 2],
    ]);
  });

  test('Berlin days across both DST changes, with empty days filled', async () => {
    await source.add([
      makeEvent({ timestamp: at('2026-03-29T22:30:00Z') }), // 30 March 00:30 CEST
      makeEvent({ timestamp: at('2026-10-25T22:30:00Z') }), // 25 October 23:30 CET
    ]);
    const spring = await series({
      tz: 'Europe/Berlin',
      fromMs: at('2026-03-28T23:00:00Z'),
      toMs: at('2026-03-30T22:00:00Z'),
      fill: true,
    });
    expect(points(spring)).toEqual([
      ['2026-03-29T00:00:00+01:00', 0],
      ['2026-03-30T00:00:00+02:00', 1],
    ]);
    const fall = await series({
      tz: 'Europe/Berlin',
      fromMs: at('2026-10-24T22:00:00Z'),
      toMs: at('2026-10-25T23:00:00Z'),
      fill: true,
    });
    expect(points(fall)).toEqual([['2026-10-25T00:00:00+02:00', 1]]);
  });

  test('days of an offset with seconds (Monrovia −00:44:30 until 1972) split a minute', async () => {
    // Both events are in the UTC minute 00:44, on either side of Monrovia's local midnight.
    await source.add([
      makeEvent({ timestamp: at('1971-03-01T00:44:15Z'), value: 1 }), // 28 Feb 23:59:45
      makeEvent({ timestamp: at('1971-03-01T00:44:45Z'), value: 2 }), // 1 March 00:00:15
    ]);
    const range = { fromMs: at('1971-02-27T00:00:00Z'), toMs: at('1971-03-03T00:00:00Z') };
    for (const options of [
      { metric: 'count' },
      { metric: 'count', useMinuteCounts: false },
      { metric: 'sum' },
    ] as const) {
      const result = await series({ ...options, ...range, tz: 'Africa/Monrovia' });
      const [before, after] = options.metric === 'sum' ? [1, 2] : [1, 1];
      expect([options, points(result)]).toEqual([
        options,
        [
          ['1971-02-28T00:00:00-00:44:30', before],
          ['1971-03-01T00:00:00-00:44:30', after],
        ],
      ]);
    }
  });

  test('a day begun inside a gap holds its first half hour (Toronto 1919)', async () => {
    // 23:30 -05:00 on 30 March 1919 became 00:30 -04:00: 31 March began at 04:30Z.
    await source.add([makeEvent({ timestamp: at('1919-03-31T04:45:00Z') })]); // 00:45 -04:00
    for (const fromMs of [at('1919-03-30T05:00:00Z'), at('1919-03-31T04:40:00Z')]) {
      const result = await series({
        tz: 'America/Toronto',
        fromMs,
        toMs: at('1919-04-02T04:00:00Z'),
      });
      expect(points(result)).toEqual([['1919-03-31T00:30:00-04:00', 1]]);
    }
  });

  test('week and month buckets', async () => {
    await source.add([
      makeEvent({ timestamp: at('2026-03-01T12:00:00Z') }), // Sunday
      makeEvent({ timestamp: at('2026-03-02T12:00:00Z') }), // Monday
      makeEvent({ timestamp: at('2026-04-15T12:00:00Z') }),
    ]);
    const weeks = await series({
      bucket: 'week',
      fromMs: at('2026-02-23T00:00:00Z'),
      toMs: at('2026-03-09T00:00:00Z'),
    });
    expect(points(weeks)).toEqual([
      ['2026-02-23T00:00:00+00:00', 1],
      ['2026-03-02T00:00:00+00:00', 1],
    ]);
    const months = await series({
      bucket: 'month',
      tz: NY,
      fromMs: at('2026-03-01T05:00:00Z'),
      toMs: at('2026-05-01T04:00:00Z'),
    });
    expect(points(months)).toEqual([
      ['2026-03-01T00:00:00-05:00', 2],
      ['2026-04-01T00:00:00-04:00', 1],
    ]);
  });

  test('more than 10,000 buckets is a 422', async () => {
    const run = series({ bucket: 'minute', fromMs: 0, toMs: at('2026-01-01T00:00:00Z') });
    await expect(run).rejects.toBeInstanceOf(AppError);
    await expect(run).rejects.toMatchObject({ status: 422 });
  });
});

describe('getTimeSeries metrics, groups and filters', () => {
  const day = { fromMs: at('2026-05-01T00:00:00Z'), toMs: at('2026-05-02T00:00:00Z') };

  async function addValues() {
    const values = [1, 2, 3, 4, 10];
    await source.add(
      values.map((value, i) =>
        makeEvent({
          timestamp: at('2026-05-01T10:00:00Z') + i,
          name: 'latency',
          value,
          visitor_id: `v${i % 2}`,
        }),
      ),
    );
    await source.add([makeEvent({ timestamp: at('2026-05-01T11:00:00Z'), name: 'latency' })]);
  }

  test('every metric over value, uniques over visitors', async () => {
    await addValues();
    const expected: Record<string, number> = {
      count: 6,
      uniques: 3,
      sum: 20,
      avg: 4,
      min: 1,
      max: 10,
      p50: 3,
      p95: 8.8,
      p99: 9.76,
    };
    for (const [metric, value] of Object.entries(expected)) {
      const result = await series({ ...day, metric: metric as TimeSeriesOptions['metric'] });
      const got = result.series[0]?.points[0]?.value;
      expect([metric, Math.round((got ?? Number.NaN) * 1e9) / 1e9]).toEqual([metric, value]);
    }
  });

  test('fill=zero gives empty buckets 0 for counts and sums, null for value statistics', async () => {
    await addValues();
    const range = { fromMs: at('2026-05-01T00:00:00Z'), toMs: at('2026-05-03T00:00:00Z') };
    const count = await series({ ...range, fill: true });
    expect(points(count)).toEqual([
      ['2026-05-01T00:00:00+00:00', 6],
      ['2026-05-02T00:00:00+00:00', 0],
    ]);
    // README: `0` for count, uniques and sum (a sum of nothing), `null` for avg … p99.
    const metrics = ['count', 'uniques', 'sum', 'avg', 'min', 'max', 'p50', 'p95', 'p99'] as const;
    const empty: [string, unknown][] = [];
    for (const metric of metrics) {
      empty.push([metric, points(await series({ ...range, fill: true, metric }))[1]?.[1]]);
    }
    expect(empty).toEqual(
      metrics.map((m) => [m, ['count', 'uniques', 'sum'].includes(m) ? 0 : null]),
    );
    const none = await series({
      fromMs: at('2027-01-01T00:00:00Z'),
      toMs: at('2027-01-03T00:00:00Z'),
      fill: true,
    });
    expect(none.series).toEqual([
      {
        key: null,
        events: 0,
        points: [
          { bucket: '2027-01-01T00:00:00+00:00', value: 0 },
          { bucket: '2027-01-02T00:00:00+00:00', value: 0 },
        ],
      },
    ]);
  });

  test('a grouped read of an empty range has no series, with fill=zero too', async () => {
    await addValues();
    const empty = { fromMs: at('2027-01-01T00:00:00Z'), toMs: at('2027-01-03T00:00:00Z') };
    for (const fill of [false, true]) {
      const grouped = await series({ ...empty, fill, groupBy: { column: 'name' } });
      expect([fill, grouped.series]).toEqual([fill, []]);
    }
  });

  test('group_by keeps the top N groups by events, in rank order', async () => {
    const paths = ['/a', '/a', '/a', '/b', '/b', '/c', '/d'];
    await source.add(
      paths.map((path, i) => makeEvent({ timestamp: day.fromMs + i * 3_600_000, path })),
    );
    await source.add([makeEvent({ timestamp: day.fromMs, name: 'no_path' })]);
    const result = await series({
      ...day,
      bucket: 'hour',
      groupBy: { column: 'path' },
      seriesMax: 3,
    });
    expect(result.series.map((s) => [s.key, s.events, s.points.length])).toEqual([
      ['/a', 3, 3],
      ['/b', 2, 2],
      ['/c', 1, 1],
    ]);
    expect(result.series[1]?.points[0]).toEqual({ bucket: '2026-05-01T03:00:00+00:00', value: 1 });
  });

  test('groups tied on events come in the order the top N cut them: by code point', async () => {
    // DuckDB orders text by its UTF-8 bytes (code points); JavaScript's < by UTF-16 units,
    // which puts a character past U+FFFF before U+FF5A. The 2 kept are the first 2 of the 3.
    const names = ['ｚ', '😀', 'a'];
    await source.add(names.map((name) => makeEvent({ timestamp: day.fromMs, name })));
    const keys = async (seriesMax: number) =>
      (await series({ ...day, groupBy: { column: 'name' }, seriesMax })).series.map((s) => s.key);
    expect(await keys(3)).toEqual(['a', 'ｚ', '😀']);
    expect(await keys(2)).toEqual(['a', 'ｚ']);
  });

  test('an event without the grouped field is in no series; an empty text is a series', async () => {
    await source.add([
      makeEvent({ timestamp: day.fromMs, referrer: 'https://a.example/' }),
      makeEvent({ timestamp: day.fromMs, referrer: '' }),
      makeEvent({ timestamp: day.fromMs, referrer: '' }),
      makeEvent({ timestamp: day.fromMs }),
    ]);
    const result = await series({ ...day, groupBy: { column: 'referrer' }, seriesMax: 10 });
    expect(result.series.map((s) => s.key)).toEqual(['', 'https://a.example/']);
  });

  test('group_by a property, filtered by property and column, bots excluded', async () => {
    await source.add([
      makeEvent({ timestamp: day.fromMs, properties: { plan: 'pro' }, os: 'iOS' }),
      makeEvent({ timestamp: day.fromMs, properties: { plan: 'pro' }, os: 'macOS' }),
      makeEvent({ timestamp: day.fromMs, properties: { plan: 'free' }, os: 'iOS' }),
      makeEvent({ timestamp: day.fromMs, properties: { plan: 'free' }, os: 'iOS', is_bot: true }),
    ]);
    const byPlan = await series({ ...day, groupBy: { property: 'plan' } });
    expect(byPlan.series.map((s) => [s.key, s.events])).toEqual([
      ['pro', 2],
      ['free', 1],
    ]);
    const iosPro = await series({
      ...day,
      filters: { equals: { os: 'iOS' }, properties: { plan: 'pro' } },
    });
    expect(points(iosPro)).toEqual([['2026-05-01T00:00:00+00:00', 1]]);
    const withBots = await series({ ...day, filters: { includeBots: true } });
    expect(points(withBots)).toEqual([['2026-05-01T00:00:00+00:00', 4]]);
  });

  test('group_by names are checked', () => {
    expect(parseGroupBy('referrer')).toEqual({ column: 'referrer' });
    expect(parseGroupBy('property:plan')).toEqual({ property: 'plan' });
    expect(parseGroupBy(undefined)).toBeUndefined();
    for (const bad of ['ip', 'property:', 'user_agent; DROP TABLE x']) {
      expect(() => parseGroupBy(bad)).toThrow(AppError);
    }
  });
});
