import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { metricLimits } from '../../src/core/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

describe('POST /api/v1/metrics', () => {
  test('a point is stored as an event with a value; tags become properties', async () => {
    const res = await t.post('/api/v1/metrics', {
      id: 'p1',
      name: 'cpu_load',
      value: 0.73,
      tags: { host: 'web-1' },
      timestamp: T0 - 1000,
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ status: 'accepted', id: 'p1', duplicate: false });
    // README "Ingest": a point sent again with its id is answered as an event is, and kept once.
    const again = await t.post('/api/v1/metrics', { id: 'p1', name: 'cpu_load', value: 0.9 });
    expect(await again.json()).toEqual({ status: 'duplicate', id: 'p1', duplicate: true });
    const stored = (await (await t.get('/api/v1/events/p1')).json()) as Record<string, unknown>;
    expect(stored).toMatchObject({ name: 'cpu_load', value: 0.73, properties: { host: 'web-1' } });
    const latest = await (await t.get('/api/v1/metrics/latest/cpu_load')).json();
    expect(latest).toMatchObject({ name: 'cpu_load', value: 0.73, id: 'p1' });
  });

  test('a missing value or a non-string tag is 422 naming the field, and nothing is stored', async () => {
    const noValue = await t.post('/api/v1/metrics', { name: 'cpu_load' });
    expect(noValue.status).toBe(422);
    expect(await noValue.json()).toEqual({
      detail: [{ loc: ['body', 'value'], msg: 'value is required', type: 'missing' }],
    });
    const badTag = await t.post('/api/v1/metrics', { name: 'x', value: 1, tags: { n: 5 } });
    expect(badTag.status).toBe(422);
    expect(JSON.stringify(await badTag.json())).toContain('"loc":["body","tags","n"]');
    expect(await t.count()).toBe(0);
    expect((await t.get('/api/v1/metrics/latest/cpu_load')).status).toBe(404);
  });

  test('errors of the event rules name the fields as the client sent them (tags, id)', async () => {
    const tags = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 'v']));
    const manyTags = await t.post('/api/v1/metrics', { name: 'm', value: 1, tags });
    expect(manyTags.status).toBe(422);
    expect(await manyTags.json()).toEqual({
      detail: [
        {
          loc: ['body', 'tags'],
          msg: 'tags must have at most 64 keys (got 65)',
          type: 'too_long',
        },
      ],
    });
    const badId = await t.post('/api/v1/metrics', '{"name":"m","value":1,"id":"\\ud800"}');
    expect(badId.status).toBe(422);
    expect(await badId.json()).toEqual({
      detail: [
        {
          loc: ['body', 'id'],
          msg: 'id must be well-formed Unicode (it holds a lone UTF-16 surrogate)',
          type: 'string_unicode',
        },
      ],
    });
    expect(await t.count()).toBe(0);
  });

  test('a name or id of . or .. is a 422 naming each: a URL could never read it back', async () => {
    const segments = '(escaped too), so GET /api/v1/';
    const res = await t.post('/api/v1/metrics', { name: '..', value: 1, id: '.' });
    expect(res.status).toBe(422);
    expect(await res.json()).toEqual({
      detail: [
        {
          loc: ['body', 'id'],
          msg: `id . cannot be read back: a URL resolves . and .. as path segments (escaped too), so neither GET /api/v1/events/{event_id} nor GET /api/v1/metrics/{id} reaches it`,
          type: 'value_error',
        },
        {
          loc: ['body', 'name'],
          msg: `name .. cannot be read back: a URL resolves . and .. as path segments ${segments}metrics/latest/{name} never reaches it`,
          type: 'value_error',
        },
      ],
    });
    expect(await t.count()).toBe(0);
    // Without a value an event is no metric point, and its name is never read by URL.
    expect((await t.post('/api/v1/events', { name: '.' })).status).toBe(202);
  });

  // TypeBox's words were passed on: 'name: Expected string length less or equal to 120'.
  test('a path parameter over its limit is a 422 saying the limit plainly', async () => {
    const cases: [string, string, string][] = [
      [`/api/v1/metrics/latest/${'x'.repeat(121)}`, 'name', 'name: must be at most 120 characters'],
      [`/api/v1/events/${'x'.repeat(129)}`, 'event_id', 'event_id: must be at most 128 characters'],
    ];
    for (const [path, param, msg] of cases) {
      const res = await t.get(path);
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        detail: [{ loc: ['path', param], msg, type: 'value_error' }],
      });
    }
  });

  // An event with a value is a metric point whichever route took it: named . or .., it was
  // stored through POST /api/v1/events but never reached by /metrics/latest or /aggregate.
  test('an event with a value named . or .. is a 422 on the event routes too', async () => {
    const msg = (name: string) =>
      `name ${name} cannot be read back: a URL resolves . and .. as path segments ` +
      '(escaped too), so GET /api/v1/metrics/latest/{name} never reaches it';
    for (const name of ['.', '..']) {
      const one = await t.post('/api/v1/events', { name, value: 1 });
      expect(one.status).toBe(422);
      expect(await one.json()).toEqual({
        detail: [{ loc: ['body', 'name'], msg: msg(name), type: 'value_error' }],
      });
      const batch = await t.post('/api/v1/events/batch', {
        events: [{ name: 'cpu', value: 1 }, { name }, { name, value: 0 }],
      });
      expect(batch.status).toBe(422);
      expect(await batch.json()).toEqual({
        detail: [{ loc: ['body', 'events', 2, 'name'], msg: msg(name), type: 'value_error' }],
      });
    }
    expect(await t.count()).toBe(0);
    // OpenAPI says so of an event's value.
    const spec = JSON.stringify(await (await t.get('/openapi/json')).json());
    expect(spec).toContain('so its name is not . or ..');
  });

  test('a value too large to sum is refused: sums and averages of stored points stay numbers', async () => {
    // Two points of 1e308 were accepted, and their bucket's sum and avg read as null (the
    // double sum overflowed to Infinity, which JSON writes as null).
    const huge = await t.post('/api/v1/metrics', { name: 'big', value: 1e308 });
    expect(huge.status).toBe(422);
    expect(await huge.json()).toEqual({
      detail: [
        {
          loc: ['body', 'value'],
          msg: `value must be within ±${metricLimits.valueAbsMax} (sums of values must stay finite)`,
          type: 'value_error',
        },
      ],
    });
    const asEvent = await t.post('/api/v1/events', { name: 'big', value: -1e300 });
    expect(asEvent.status).toBe(422);
    const max = metricLimits.valueAbsMax;
    const points = [max, max, max, -max, max].map((value, i) => ({
      name: 'big',
      value,
      timestamp: T0 - 1000 * (i + 1),
    }));
    for (const point of points) expect((await t.post('/api/v1/metrics', point)).status).toBe(202);
    const aggregate = (await (
      await t.get('/api/v1/metrics/aggregate/big?bucket=day&date=2026-11-25')
    ).json()) as { buckets: Record<string, number>[] };
    const near = (got: number | undefined, want: number) =>
      expect(Math.abs((got ?? 0) / want - 1)).toBeLessThan(1e-12);
    expect(aggregate.buckets[0]?.count).toBe(5);
    near(aggregate.buckets[0]?.sum, 3 * max);
    near(aggregate.buckets[0]?.avg, (3 * max) / 5);
    const sum = (await (
      await t.get('/api/v1/timeseries?metric=sum&bucket=day&date=2026-11-25&name=big')
    ).json()) as { series: { points: { value: number }[] }[] };
    near(sum.series[0]?.points[0]?.value, 3 * max);
  });

  test('percentiles interpolate linearly, the same in aggregates and time series (README)', async () => {
    for (const [i, value] of [4, 1, 3, 2].entries()) {
      await t.post('/api/v1/metrics', { name: 'lat', value, timestamp: T0 - 1000 * (i + 1) });
    }
    const day = 'bucket=day&date=2026-11-25';
    const aggregate = (await (await t.get(`/api/v1/metrics/aggregate/lat?${day}`)).json()) as {
      buckets: Record<string, number>[];
    };
    const p95 = aggregate.buckets[0]?.p95;
    expect(aggregate.buckets[0]?.p50).toBe(2.5);
    expect(p95).toBeCloseTo(3.85, 9);
    const series = async (metric: string) => {
      const res = await t.get(`/api/v1/timeseries?metric=${metric}&name=lat&${day}`);
      const body = (await res.json()) as { series: { points: { value: number }[] }[] };
      return body.series[0]?.points[0]?.value;
    };
    expect(await series('p50')).toBe(2.5);
    expect(await series('p95')).toBe(p95 as number);
    expect(await series('p99')).toBeCloseTo(3.97, 9);
  });

  test("aggregates hold a bot's points too; the time series leaves them out unless asked (README)", async () => {
    const bot = {
      'user-agent': 'Mozilla/5.0 (compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)',
    };
    const human = {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 Firefox/132.0',
    };
    const at = T0 - 1000;
    expect(
      (await t.post('/api/v1/metrics', { name: 'up', value: 10, timestamp: at }, bot)).status,
    ).toBe(202);
    expect(
      (await t.post('/api/v1/metrics', { name: 'up', value: 20, timestamp: at }, human)).status,
    ).toBe(202);
    const day = 'bucket=day&date=2026-11-25';
    const aggregate = (await (await t.get(`/api/v1/metrics/aggregate/up?${day}`)).json()) as {
      buckets: Record<string, number>[];
    };
    expect(aggregate.buckets[0]?.count).toBe(2);
    const series = async (extra: string) => {
      const res = await t.get(`/api/v1/timeseries?metric=sum&name=up&${day}${extra}`);
      const body = (await res.json()) as { series: { points: { value: number }[] }[] };
      return body.series[0]?.points[0]?.value;
    };
    expect(await series('')).toBe(20);
    expect(await series('&bots=include')).toBe(30);
  });

  test('a metric the live rollups no longer track is answered from the store', async () => {
    for (const [id, value] of [
      ['d1', 42],
      ['d2', 41],
    ] as const) {
      t.clock.advance(1);
      const res = await t.post('/api/v1/metrics', { id, name: 'disk_free', value });
      expect(res.status).toBe(202);
    }
    // The rollups keep the 100 (namesMax) metrics with the most recent points.
    for (let i = 0; i < 100; i++) {
      t.clock.advance(1);
      const res = await t.post('/api/v1/metrics', { name: `cpu.host${i}`, value: i });
      expect(res.status).toBe(202);
    }
    const actor = t.engine.registry.peek('default');
    await actor?.whenReady();
    expect(actor?.rollups.latestMetric('disk_free')).toBeUndefined();
    const res = await t.get('/api/v1/metrics/latest/disk_free');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      name: 'disk_free',
      value: 41,
      timestamp: new Date(T0 + 2).toISOString(),
      id: 'd2',
    });
  });

  test('points with the same timestamp: the latest is the same before and after a restart', async () => {
    // Points stamped to the second share timestamps; several arrive in one receive ms.
    for (let m = 0; m < 5; m++) {
      const points = Array.from({ length: 5 }, (_, p) => ({
        // '😀' sorts after '～' by UTF-8 bytes (as DuckDB orders text), before it by UTF-16
        // units (JavaScript's <): the latest must be the same by both sides' order.
        event_id: p === 4 ? `m${m}-😀` : p === 3 ? `m${m}-～` : `m${m}-p${p}`,
        name: `metric_${m}`,
        value: p,
        timestamp: T0 - 1000,
      }));
      const res = await t.post('/api/v1/events/batch', { events: points.reverse() });
      expect(res.status).toBe(202);
    }
    const latest = async () =>
      Promise.all(
        Array.from({ length: 5 }, async (_, m) =>
          (await t.get(`/api/v1/metrics/latest/metric_${m}`)).json(),
        ),
      );
    const before = await latest();
    expect(before.map((l) => (l as { id: string }).id)).toEqual(
      Array.from({ length: 5 }, (_, m) => `m${m}-😀`),
    );
    await t.restart();
    expect(await latest()).toEqual(before);
    await t.engine.store.flusher.flush();
    await t.restart();
    expect(await latest()).toEqual(before);
  });
});

describe('GET /api/v1/metrics/latest/:name', () => {
  const point = (tenant: string, id: string, value: number, timestamp = T0 - 1000) => ({
    event_id: id,
    name: 'cpu_load',
    value,
    timestamp,
    tenant_id: tenant,
  });
  const latestOf = (tenant: string) => t.get(`/api/v1/metrics/latest/cpu_load?tenant_id=${tenant}`);

  test('a tenant with events is made resident once; a made-up one costs no actor', async () => {
    const stored = Array.from({ length: 5 }, (_, i) => point(`s${i}`, `p${i}`, i));
    expect((await t.post('/api/v1/events/batch', { events: stored })).status).toBe(202);
    await t.restart(); // no actor resident, the points only in the store
    const tenants = [...stored.map((p) => p.tenant_id), ...stored.map((_, i) => `unknown${i}`)];
    const answers = await Promise.all(tenants.map(latestOf));
    // The tenants that hold events, and only those: later polls are answered from memory.
    expect([...tenants].filter((x) => t?.engine.registry.peek(x) !== undefined)).toEqual(
      stored.map((p) => p.tenant_id),
    );
    expect(answers.map((r) => r.status)).toEqual([
      200, 200, 200, 200, 200, 404, 404, 404, 404, 404,
    ]);
    expect(await answers[3]?.json()).toEqual({
      name: 'cpu_load',
      value: 3,
      timestamp: new Date(T0 - 1000).toISOString(),
      id: 'p3',
    });
  });

  test('a name no point has is a 404 from memory: polling it never reads the store', async () => {
    const res = await t.post('/api/v1/metrics', { id: 'p1', name: 'cpu_load', value: 1 });
    expect(res.status).toBe(202);
    await t.restart(); // the rollups rebuilt from the store know every metric there is
    expect((await latestOf('default')).status).toBe(200);
    const { store } = t.engine;
    const snapshot = store.snapshot.bind(store);
    let snapshots = 0;
    store.snapshot = (...args: Parameters<typeof store.snapshot>) => {
      snapshots++;
      return snapshot(...args);
    };
    for (let i = 0; i < 5; i++)
      expect((await t.get('/api/v1/metrics/latest/mem_used')).status).toBe(404);
    store.snapshot = snapshot;
    expect(snapshots).toBe(0);
  });

  test('a read makes a tenant resident only while ACTORS_MAX has room: it evicts nobody', async () => {
    await t.close();
    t = await makeTestApp({ actorsMax: 1 });
    for (const p of [point('a', 'pa', 1), point('b', 'pb', 2)]) {
      expect((await t.post('/api/v1/events', p)).status).toBe(202); // one tenant at a time
    }
    await t.restart();
    expect((await latestOf('a')).status).toBe(200); // a resident: the one place
    expect(await (await latestOf('b')).json()).toMatchObject({ id: 'pb', value: 2 }); // the store
    expect(t.engine.registry.peek('a')).toBeDefined();
    expect(t.engine.registry.peek('b')).toBeUndefined();
  });

  test('a resident actor whose rebuild failed does not hide a later stored point', async () => {
    expect((await t.post('/api/v1/metrics', { id: 'p1', name: 'cpu_load', value: 1 })).status).toBe(
      202,
    );
    await t.restart();
    const { store, registry } = t.engine;
    const snapshot = store.snapshot.bind(store);
    store.snapshot = () => Promise.reject(new Error('Out of Memory Error'));
    const older = point('default', 'p0', 0, T0 - 60_000);
    const res = await t.post('/api/v1/events', older); // its actor starts from empty counters
    store.snapshot = snapshot;
    expect(res.status).toBe(202);
    const actor = registry.peek('default');
    await actor?.whenReady(); // its failure is known then (the commit may come before it)
    expect(actor !== undefined && registry.rebuildFailed(actor)).toBe(true);
    expect(actor?.rollups.latestMetric('cpu_load')?.event_id).toBe('p0');
    expect(await (await latestOf('default')).json()).toMatchObject({ id: 'p1', value: 1 });
  });
});
