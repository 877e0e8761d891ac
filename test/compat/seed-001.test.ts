// Seed 001 (PulseBoard): the native /api/v1 API is this service. Its README's event, metric and
// health endpoints are checked route by route through the full app, each writing and reading
// real stored data. Its auth, users/me and WebSocket endpoints are checked against the real
// server in seed-001-accounts.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const body = (r: Response) => r.json() as Promise<Json>;
const iso = (ms: number) => new Date(ms).toISOString();

describe('seed 001: events', () => {
  test('POST /api/v1/events - Ingest single event', async () => {
    const res = await t.post('/api/v1/events', {
      event_id: 'pb-1',
      name: 'order_placed',
      user_id: 'u1',
      properties: { amount: 42 },
    });
    expect(res.status).toBe(202);
    expect(await body(res)).toEqual({ status: 'accepted', event_id: 'pb-1', duplicate: false });
  });

  test('POST /api/v1/events/batch - Batch ingest events', async () => {
    const events = Array.from({ length: 3 }, (_, i) => ({ event_id: `b-${i}`, name: 'tick' }));
    const res = await t.post('/api/v1/events/batch', { events });
    expect(res.status).toBe(202);
    expect(await body(res)).toMatchObject({ accepted: 3, duplicates: 0 });
  });

  test('GET /api/v1/events - Query user events', async () => {
    await t.post('/api/v1/events/batch', {
      events: [
        { event_id: 'q-1', name: 'login', user_id: 'alice' },
        { event_id: 'q-2', name: 'login', user_id: 'bob' },
      ],
    });
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?user_id=alice');
    expect(list.events.map((e) => e.event_id)).toEqual(['q-1']);
  });

  test('GET /api/v1/events/{id} - Get specific event', async () => {
    await t.post('/api/v1/events', { event_id: 'one', name: 'signup', user_id: 'u9' });
    const res = await t.get('/api/v1/events/one');
    expect(res.status).toBe(200);
    expect(await body(res)).toMatchObject({ event_id: 'one', name: 'signup', user_id: 'u9' });
    expect((await t.get('/api/v1/events/none')).status).toBe(404);
  });
});

describe('seed 001: metrics', () => {
  const point = (id: string, value: number, at: number) =>
    t.post('/api/v1/metrics', {
      id,
      name: 'cpu_load',
      value,
      tags: { host: 'web-1' },
      timestamp: iso(at),
    });

  test('POST /api/v1/metrics - Create metric data point', async () => {
    const res = await point('m-1', 0.5, T0);
    expect(res.status).toBe(202);
    expect(await body(res)).toEqual({ status: 'accepted', id: 'm-1', duplicate: false });
  });

  test('GET /api/v1/metrics and /api/v1/metrics/{id} - Query metrics, get one', async () => {
    await point('m-1', 0.5, T0 - 60_000);
    await point('m-2', 1.5, T0);
    const list = await t.getJson<{ metrics: Json[] }>('/api/v1/metrics?name=cpu_load');
    expect(list.metrics.map((m) => m.id)).toEqual(['m-2', 'm-1']);
    const one = await t.getJson('/api/v1/metrics/m-1');
    expect(one).toMatchObject({ id: 'm-1', name: 'cpu_load', value: 0.5, tags: { host: 'web-1' } });
  });

  test('GET /api/v1/metrics/aggregate/{name} - Get aggregated metrics', async () => {
    await point('m-1', 1, T0 - 120_000);
    await point('m-2', 3, T0 - 60_000);
    const from = encodeURIComponent(iso(T0 - 3_600_000));
    const agg = await t.getJson<{ buckets: Json[] }>(
      `/api/v1/metrics/aggregate/cpu_load?bucket=hour&from=${from}&to=${encodeURIComponent(iso(T0))}`,
    );
    expect(agg.buckets).toHaveLength(1);
    expect(agg.buckets[0]).toMatchObject({ count: 2, sum: 4, avg: 2, min: 1, max: 3 });
  });

  test('GET /api/v1/metrics/latest/{name} - Get latest cached metric', async () => {
    await point('m-1', 1, T0 - 60_000);
    await point('m-2', 2, T0);
    await point('m-3', 9, T0 - 120_000);
    expect(await t.getJson('/api/v1/metrics/latest/cpu_load')).toEqual({
      name: 'cpu_load',
      value: 2,
      timestamp: iso(T0),
      id: 'm-2',
    });
    expect((await t.get('/api/v1/metrics/latest/unknown')).status).toBe(404);
  });
});

describe('seed 001: monitoring', () => {
  test('Health Check: GET /health', async () => {
    expect(await body(await t.get('/health'))).toEqual({ status: 'ok' });
  });
});
