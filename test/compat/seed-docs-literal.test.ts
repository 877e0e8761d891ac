// Each reference service's curl examples sent as its document writes them (the same bodies,
// byte for byte, the same query strings) and each answer checked against what the document
// shows: status, fields and their JSON types. Seed 001 is the native API (seed-001*.test.ts).

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const JSON_TYPE = { 'content-type': 'application/json' };
const send = (path: string, raw: string) => t.post(path, raw, JSON_TYPE);

describe('seed 000 (Data Pulse), as its README writes it', () => {
  test('the curl example answers the documented response; the invalid example its 422', async () => {
    const res = await send(
      '/ingest',
      '{"name":"signup", "user_id":"abc_123", "properties":{"ref":"linkedin"}}',
    );
    expect(res.status).toBe(202);
    expect(await res.text()).toBe(
      '{"status":"accepted","received_event":{"name":"signup","user_id":"abc_123",' +
        '"properties":{"ref":"linkedin"}}}',
    );
    const bad = await send('/ingest', ' {\n  "name": "login",\n  "user_id": "user@42"\n}');
    expect(bad.status).toBe(422);
    expect(await bad.json()).toEqual({
      detail: [
        {
          loc: ['body', 'user_id'],
          msg: 'user_id must be alphanumeric with optional _ or -',
          type: 'value_error',
        },
      ],
    });
  });
});

describe('seed 002 (Ingestion and Aggregation), as its README writes it', () => {
  test('POST /events, /events/bulk, GET /events, /metrics, /health, /ready', async () => {
    const one = await send(
      '/events',
      `{
    "event_id": "evt_001",
    "tenant_id": "tenant_1",
    "source": "web",
    "event_type": "click",
    "timestamp": "2024-01-15T10:30:00Z",
    "payload": {"page": "home"}
  }`,
    );
    expect(one.status).toBe(201);
    const bulk = await send(
      '/events/bulk',
      `{
    "events": [
      {
        "event_id": "evt_001",
        "tenant_id": "tenant_1",
        "source": "mobile",
        "event_type": "view",
        "timestamp": "2024-01-15T10:30:00Z",
        "payload": {}
      }
    ]
  }`,
    );
    expect(bulk.status).toBe(200);
    // evt_001 is stored already: the service ignores the duplicate.
    expect(await bulk.json()).toEqual({ received: 1, inserted: 0, duplicates: 1 });
    const page = await t.getJson('/events?tenant_id=tenant_1&source=web&page=1&page_size=100');
    expect(page).toMatchObject({ page: 1, page_size: 100, total: 1 });
    expect((page.items as Json[]).map((e) => [e.event_id, e.source, e.payload])).toEqual([
      ['evt_001', 'web', { page: 'home' }],
    ]);
    const metrics = await t.getJson('/metrics?tenant_id=tenant_1&bucket_size=minute');
    expect(metrics).toEqual({
      tenant_id: 'tenant_1',
      bucket_size: 'minute',
      buckets: [
        {
          bucket_start: '2024-01-15T10:30:00.000Z',
          source: 'web',
          event_type: 'click',
          count: 1,
        },
      ],
    });
    expect((await t.get('/health')).status).toBe(200);
    expect((await t.get('/ready')).status).toBe(200);
  });
});

describe('seed 003 (Analytics API), as its README writes it', () => {
  test('the EventCreateSchema example, the buckets, by id, hello and health', async () => {
    // The README's example without its // comments (JSON has none).
    const created = await send(
      '/api/events/',
      `{
          "page": "/homepage",
          "ip_address": "192.168.1.1",
          "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) ...",
          "referrer": "https://google.com",
          "session_id": "xyz789",
          "duration": 15,
          "description": "User viewed homepage"
        }`,
    );
    expect(created.status).toBe(200);
    const model = (await created.json()) as Json;
    expect(Object.keys(model).sort()).toEqual([
      'description',
      'duration',
      'id',
      'ip_address',
      'page',
      'referrer',
      'session_id',
      'time',
      'user_agent',
    ]);
    expect(model).toMatchObject({ page: '/homepage', duration: 15, session_id: 'xyz789' });
    const rows = await t.get('/api/events/?pages=/homepage');
    // The README's row: a bucket without a zone, avg_duration a float (15.0), count an integer,
    // and the `ua` its note says the schema defines (the query fills none: its default, "").
    expect(await rows.text()).toBe(
      '[{"bucket":"2026-11-25T00:00:00","page":"/homepage","ua":"","operating_system":"Windows",' +
        '"avg_duration":15.0,"count":1}]',
    );
    // ?pages=/&pages=/about, the README's example of the parameter.
    expect(await t.getJson<Json[]>('/api/events/?pages=/&pages=/about')).toEqual([]);
    const byId = await t.get(`/api/events/${model.id}/`);
    expect(await byId.json()).toEqual(model);
    const missing = await t.get('/api/events/8e8a999d-3a02-4311-8940-0c14ba726b56/');
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({
      detail: 'Event with id: 8e8a999d-3a02-4311-8940-0c14ba726b56 not found.',
    });
    expect(await (await t.get('/')).json()).toEqual({ hello: 'world' });
    expect(await (await t.get('/healthz')).json()).toEqual({ status: 'ok' });
  });
});

describe('seed 004 (Analytics Backend), as its README writes it', () => {
  test('both POST /event examples are 202 with its body; GET /stats has its fields', async () => {
    const first = await send(
      '/event',
      `{
"site_id": "site-abc-123",
"event_type": "page_view",
"path": "/pricing",
"user_id": "user-xyz-789",
"timestamp": "2025-11-15T18:30:01Z"
}`,
    );
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({
      status: 'success',
      message: 'Event queued for processing',
    });
    const test2 = await send(
      '/event',
      '{"site_id":"site-test","event_type":"page_view","path":"/home","user_id":"user-123",' +
        '"timestamp":"2025-11-15T19:00:00Z"}',
    );
    expect(test2.status).toBe(202);
    expect(await t.getJson('/stats?site_id=site-abc-123&date=2025-11-15')).toEqual({
      site_id: 'site-abc-123',
      date: '2025-11-15',
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/pricing', views: 1 }],
    });
    expect(await t.getJson('/stats?site_id=site-test')).toEqual({
      site_id: 'site-test',
      date: null,
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/home', views: 1 }],
    });
  });
});
