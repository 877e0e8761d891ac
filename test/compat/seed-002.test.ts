// Seed 002 (Ingestion & Aggregation): its curl examples replayed (POST /events, /events/bulk,
// GET /events, GET /metrics, /health, /ready), the documented rules (idempotency, 5,000 per
// bulk, UTC timestamps, payload limit, paging), then the numbers through the native read API.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { exampleBulk, exampleIngestionEvent } from '../../src/http/compat/seed-002-model.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const body = (r: Response) => r.json() as Promise<Json>;

/** The service README's example event, as the OpenAPI docs show it too. */
const example = exampleIngestionEvent;

const event = (i: number, extra: Json = {}) => ({
  event_id: `evt_${String(i).padStart(4, '0')}`,
  tenant_id: 'tenant_1',
  source: i % 2 === 0 ? 'web' : 'mobile',
  event_type: i % 3 === 0 ? 'view' : 'click',
  timestamp: new Date(Date.UTC(2024, 0, 15, 10, 30, i)).toISOString(),
  payload: {},
  ...extra,
});

describe('seed 002: POST /events', () => {
  test('the example is created (201, the stored event); a repeat is 200 with the stored one', async () => {
    const created = await t.post('/events', example);
    expect(created.status).toBe(201);
    const stored = {
      event_id: 'evt_001',
      tenant_id: 'tenant_1',
      source: 'web',
      event_type: 'click',
      timestamp: '2024-01-15T10:30:00.000Z',
      payload: { page: 'home' },
    };
    expect(await body(created)).toMatchObject(stored);
    const repeat = await t.post('/events', { ...example, payload: { page: 'changed' } });
    expect(repeat.status).toBe(200);
    expect(await body(repeat)).toMatchObject(stored);
    const s = await t.getJson('/api/v1/stats?tenant_id=tenant_1&bots=include');
    expect(s.total_events).toBe(1);
    expect(s.top_events).toEqual([{ name: 'click', events: 1, visitors: 1 }]);
  });

  // README Limits: an event_id of . or .. sent through a compatibility route "is stored, not
  // refused …, but cannot be read back through GET /api/v1/events/{event_id} (URLs resolve
  // those path segments); lists and queries show it".
  test('an event_id of . or .. is stored, listed, and out of reach of a read by id', async () => {
    for (const id of ['.', '..']) {
      expect((await t.post('/events', { ...example, event_id: id })).status).toBe(201);
    }
    const listed = await t.getJson<{ events: { event_id: string }[] }>(
      '/api/v1/events?tenant_id=tenant_1',
    );
    expect(listed.events.map((e) => e.event_id).sort()).toEqual(['.', '..']);
    for (const path of ['.', '..', '%2E', '%2E%2E'].map((id) => `/api/v1/events/${id}`)) {
      const res = await t.get(`${path}?tenant_id=tenant_1`);
      // `.` reads as the list (GET /api/v1/events/), `..` as no route (GET /api/v1/).
      const read = (await res.json().catch(() => null)) as { event_id?: string } | null;
      expect([path, read?.event_id]).toEqual([path, undefined]);
    }
  });

  test('a timestamp without a zone is a 422 and nothing is stored', async () => {
    const res = await t.post('/events', { ...example, timestamp: '2024-01-15T10:30:00' });
    expect(res.status).toBe(422);
    const detail = (await body(res)).detail as { loc: unknown[]; type: string }[];
    expect(detail[0]?.loc).toEqual(['body', 'timestamp']);
    // Digits here are Unix seconds (ms above 2·10¹⁰), not the native API's epoch milliseconds.
    expect((detail[0] as { msg?: string }).msg).toBe(
      'timestamp must be ISO 8601 with a zone (e.g. 2024-01-15T10:30:00Z) or Unix time ' +
        '(seconds, or milliseconds above 2·10¹⁰)',
    );
    expect((await t.getJson('/api/v1/stats?tenant_id=tenant_1')).total_events).toBe(0);
  });

  test('a timestamp of Unix time (a number or its text) is UTC, as Pydantic reads it', async () => {
    // 1705314600 s = 2024-01-15T10:30:00Z; above 2·10¹⁰ Pydantic reads milliseconds.
    const sent = [1705314600, '1705314660', 1705314720.5, 1705314780000, '1705314840000'];
    const stored = [
      '2024-01-15T10:30:00.000Z',
      '2024-01-15T10:31:00.000Z',
      '2024-01-15T10:32:00.500Z',
      '2024-01-15T10:33:00.000Z',
      '2024-01-15T10:34:00.000Z',
    ];
    for (const [i, timestamp] of sent.entries()) {
      const res = await t.post('/events', { ...example, event_id: `unix_${i}`, timestamp });
      expect(res.status).toBe(201);
      expect((await body(res)).timestamp).toBe(stored[i]);
    }
    const bulk = await t.post('/events/bulk', { events: [event(1, { timestamp: 1705314900 })] });
    expect(await body(bulk)).toEqual({ received: 1, inserted: 1, duplicates: 0 });
    const page = await t.getJson<{ items: Json[] }>('/events?tenant_id=tenant_1&source=mobile');
    expect(page.items.map((e) => e.timestamp)).toEqual(['2024-01-15T10:35:00.000Z']);
    const wrong = await t.post('/events', { ...example, timestamp: true });
    expect(wrong.status).toBe(422);
    expect(((await body(wrong)).detail as Json[])[0]?.loc).toEqual(['body', 'timestamp']);
  });

  test('missing fields are named in one 422', async () => {
    const sent = { event_id: 'x', payload: {} };
    const res = await t.post('/events', sent);
    expect(res.status).toBe(422);
    // FastAPI on Pydantic v2's words; a field not sent has the object as its input.
    const missing = (field: string) => ({
      loc: ['body', field],
      msg: 'Field required',
      type: 'missing',
      input: sent,
    });
    expect(await body(res)).toEqual({
      detail: ['tenant_id', 'source', 'event_type', 'timestamp'].map(missing),
    });
  });

  test("a value of another type is said in Pydantic v2's words, with its input", async () => {
    const res = await t.post('/events', {
      ...example,
      event_id: 5,
      source: null,
      payload: [],
      timestamp: true,
    });
    expect(res.status).toBe(422);
    expect(await body(res)).toEqual({
      detail: [
        {
          loc: ['body', 'event_id'],
          msg: 'Input should be a valid string',
          type: 'string_type',
          input: 5,
        },
        {
          loc: ['body', 'source'],
          msg: 'Input should be a valid string',
          type: 'string_type',
          input: null,
        },
        {
          loc: ['body', 'timestamp'],
          msg: 'Input should be a valid datetime',
          type: 'datetime_type',
          input: true,
        },
        {
          loc: ['body', 'payload'],
          msg: 'Input should be a valid dictionary',
          type: 'dict_type',
          input: [],
        },
      ],
    });
    const list = await t.post('/events', [example]);
    expect(await body(list)).toEqual({
      detail: [
        {
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          type: 'model_attributes_type',
          input: [example],
        },
      ],
    });
  });

  test('a payload over 32 KB is 413; one over the properties limit a 422 on payload', async () => {
    const big = await t.post('/events', { ...example, payload: { blob: 'x'.repeat(33 * 1024) } });
    expect(big.status).toBe(413);
    const wide = await t.post('/events', { ...example, payload: { blob: 'x'.repeat(9 * 1024) } });
    expect(wide.status).toBe(422);
    const detail = (await body(wide)).detail as { loc: unknown[] }[];
    expect(detail[0]?.loc).toEqual(['body', 'payload']);
    expect((await t.getJson('/api/v1/stats?tenant_id=tenant_1')).total_events).toBe(0);
  });
});

describe('seed 002: POST /events/bulk', () => {
  test('the example and repeats: received, inserted, duplicates', async () => {
    const [first] = exampleBulk.events; // the README's bulk example: one event
    const res = await t.post('/events/bulk', exampleBulk);
    expect(res.status).toBe(200);
    expect(await body(res)).toEqual({ received: 1, inserted: 1, duplicates: 0 });
    const again = await t.post('/events/bulk', { events: [first, event(1), event(1)] });
    expect(await body(again)).toEqual({ received: 3, inserted: 1, duplicates: 2 });
    const s = await t.getJson('/api/v1/stats?tenant_id=tenant_1&bots=include');
    expect(s.total_events).toBe(2);
  });

  test('5,000 events are taken; 5,001 are a 422 and nothing is stored', async () => {
    const events = Array.from({ length: 5000 }, (_, i) => event(i));
    const ok = await t.post('/events/bulk', { events });
    expect(await body(ok)).toEqual({ received: 5000, inserted: 5000, duplicates: 0 });
    const over = await t.post('/events/bulk', {
      events: [...events, event(5000)].map((e) => ({ ...e, tenant_id: 'tenant_2' })),
    });
    expect(over.status).toBe(422);
    expect((await t.getJson('/api/v1/stats?tenant_id=tenant_2')).total_events).toBe(0);
    expect((await t.getJson('/api/v1/stats?tenant_id=tenant_1')).total_events).toBe(5000);
  });

  test('a body without events is a missing field; a body that is no object says so', async () => {
    // FastAPI on Pydantic v2's words, each issue with its input: a field not sent is `missing`
    // (its input the object it is missing from), not a wrong type.
    const missing = await t.post('/events/bulk', {});
    expect(missing.status).toBe(422);
    expect(await body(missing)).toEqual({
      detail: [{ loc: ['body', 'events'], msg: 'Field required', type: 'missing', input: {} }],
    });
    const list = await t.post('/events/bulk', [event(1)]);
    expect(await body(list)).toEqual({
      detail: [
        {
          loc: ['body'],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          type: 'model_attributes_type',
          input: [event(1)],
        },
      ],
    });
    const notList = await t.post('/events/bulk', { events: {} });
    expect(await body(notList)).toEqual({
      detail: [
        {
          loc: ['body', 'events'],
          msg: 'Input should be a valid list',
          type: 'list_type',
          input: {},
        },
      ],
    });
    const items = await t.post('/events/bulk', {
      events: [event(1), 7, { ...event(2), source: 5 }],
    });
    expect(await body(items)).toEqual({
      detail: [
        {
          loc: ['body', 'events', 1],
          msg: 'Input should be a valid dictionary or object to extract fields from',
          type: 'model_attributes_type',
          input: 7,
        },
        {
          loc: ['body', 'events', 2, 'source'],
          msg: 'Input should be a valid string',
          type: 'string_type',
          input: 5,
        },
      ],
    });
  });

  test('one bad item fails the whole bulk with its index named', async () => {
    const res = await t.post('/events/bulk', {
      events: [event(1), event(2, { timestamp: '2024-01-15 10:30' })],
    });
    expect(res.status).toBe(422);
    const detail = (await body(res)).detail as { loc: unknown[] }[];
    expect(detail[0]?.loc).toEqual(['body', 'events', 1, 'timestamp']);
    expect((await t.getJson('/api/v1/stats?tenant_id=tenant_1')).total_events).toBe(0);
  });
});

describe('seed 002: GET /events', () => {
  test('filters by source, pages in (timestamp, event_id) order, reports the total', async () => {
    const events = Array.from({ length: 30 }, (_, i) => event(i));
    // Two events at one instant: event_id breaks the tie.
    events.push(event(100, { timestamp: events[4]?.timestamp, source: 'web' }));
    await t.post('/events/bulk', { events });
    const page1 = await t.getJson('/events?tenant_id=tenant_1&source=web&page=1&page_size=10');
    expect(page1.total).toBe(16);
    expect(page1.page).toBe(1);
    expect(page1.page_size).toBe(10);
    const ids1 = (page1.items as Json[]).map((e) => e.event_id);
    expect(ids1.slice(0, 4)).toEqual(['evt_0000', 'evt_0002', 'evt_0004', 'evt_0100']);
    const page2 = await t.getJson('/events?tenant_id=tenant_1&source=web&page=2&page_size=10');
    const ids2 = (page2.items as Json[]).map((e) => e.event_id);
    expect(ids2).toHaveLength(6);
    expect(new Set([...ids1, ...ids2]).size).toBe(16);
    expect((page2.items as Json[])[0]).toMatchObject({
      tenant_id: 'tenant_1',
      source: 'web',
      payload: {},
    });
  });

  test('event_type, start and end (inclusive) filter; page_size over 1,000 is a 422', async () => {
    await t.post('/events/bulk', { events: Array.from({ length: 12 }, (_, i) => event(i)) });
    const views = await t.getJson('/events?tenant_id=tenant_1&event_type=view');
    expect(views.total).toBe(4);
    const start = encodeURIComponent('2024-01-15T10:30:02Z');
    const end = encodeURIComponent('2024-01-15T10:30:05Z');
    const ranged = await t.getJson(`/events?tenant_id=tenant_1&start=${start}&end=${end}`);
    expect(ranged.total).toBe(4);
    // Events are whole milliseconds: a start inside one takes none of its events, an end
    // inside one all of them.
    const inside = async (start: string, end: string) =>
      (await t.getJson(`/events?tenant_id=tenant_1&start=${start}&end=${end}`)).total;
    expect(await inside('2024-01-15T10:30:02.0005Z', '2024-01-15T10:30:05Z')).toBe(3);
    expect(await inside('2024-01-15T10:30:02Z', '2024-01-15T10:30:05.0005Z')).toBe(4);
    // Digits are Unix time, as a FastAPI datetime parameter reads them: 1705314602 s is
    // 10:30:02Z; above 2·10¹⁰ they are milliseconds.
    expect(await inside('1705314602', '1705314605000')).toBe(4);
    const metrics = await t.getJson<{ buckets: Json[] }>(
      '/metrics?tenant_id=tenant_1&start=1705314602&end=1705314605',
    );
    expect(metrics.buckets.reduce((n, b) => n + (b.count as number), 0)).toBe(4);
    const far = await t.get('/events?tenant_id=tenant_1&start=999999999999999');
    expect(far.status).toBe(422);
    const notTime = await t.get('/events?tenant_id=tenant_1&end=yesterday');
    expect(await notTime.json()).toEqual({
      detail: [
        {
          loc: ['query', 'end'],
          msg:
            'end must be ISO 8601 with a zone (e.g. 2024-01-15T10:30:00Z) or Unix time ' +
            '(seconds, or milliseconds above 2·10¹⁰) within the years 0000 to 9999',
          type: 'datetime_parsing',
        },
      ],
    });
    expect((await t.get('/events?tenant_id=tenant_1&page_size=1001')).status).toBe(422);
    expect((await t.get('/events?tenant_id=tenant_1&start=2024-01-15T10:30:00')).status).toBe(422);
    // A tenant_id not sent is FastAPI's `Field required` for a query parameter, on both reads.
    for (const path of ['/events', '/metrics?bucket_size=hour']) {
      expect(await (await t.get(path)).json()).toEqual({
        detail: [
          { loc: ['query', 'tenant_id'], msg: 'Field required', type: 'missing', input: null },
        ],
      });
    }
    // A query string reads an unescaped + as a space: the 422 says so, on either end.
    for (const path of ['/events', '/metrics']) {
      const res = await t.get(`${path}?tenant_id=tenant_1&end=2024-01-15T11:30:00+01:00`);
      expect(res.status).toBe(422);
      expect(await res.json()).toEqual({
        detail: [
          {
            loc: ['query', 'end'],
            msg:
              'end has a space where its offset\'s + belongs (got "2024-01-15T11:30:00 01:00"): ' +
              'a query string reads an unescaped + as a space; send it as %2B (e.g. ' +
              '2026-03-08T00:00:00%2B01:00)',
            type: 'datetime_parsing',
          },
        ],
      });
    }
    const spaced = await t.get('/events?tenant_id=tenant_1&start=2024-01-15T11:30:02+01:00');
    expect(JSON.stringify(await spaced.json())).toContain('start has a space where');
    const plus = await t.getJson('/events?tenant_id=tenant_1&start=2024-01-15T11:30:02%2B01:00');
    expect(plus.total).toBe(10);
    // A tenant no event can carry is a 422 on every read, as on ingest.
    for (const path of ['/events', '/metrics']) {
      const res = await t.get(`${path}?tenant_id=a%2Fb`);
      expect(res.status).toBe(422);
      expect(JSON.stringify(await res.json())).toContain('tenant_id');
    }
  });
});

describe('seed 002: GET /metrics', () => {
  test('counts per UTC bucket, source and event type', async () => {
    await t.post('/events/bulk', {
      events: [
        event(1, { timestamp: '2024-01-15T10:30:05Z', source: 'web', event_type: 'click' }),
        event(2, { timestamp: '2024-01-15T10:30:55Z', source: 'web', event_type: 'click' }),
        event(3, { timestamp: '2024-01-15T10:31:00Z', source: 'web', event_type: 'click' }),
        event(4, { timestamp: '2024-01-15T11:30:00+01:00', source: 'mobile', event_type: 'view' }),
        event(5, { timestamp: '2024-01-15T12:00:00Z', source: 'web', event_type: 'view' }),
      ],
    });
    const minute = await t.getJson('/metrics?tenant_id=tenant_1&bucket_size=minute');
    expect(minute).toEqual({
      tenant_id: 'tenant_1',
      bucket_size: 'minute',
      buckets: [
        {
          bucket_start: '2024-01-15T10:30:00.000Z',
          source: 'mobile',
          event_type: 'view',
          count: 1,
        },
        { bucket_start: '2024-01-15T10:30:00.000Z', source: 'web', event_type: 'click', count: 2 },
        { bucket_start: '2024-01-15T10:31:00.000Z', source: 'web', event_type: 'click', count: 1 },
        { bucket_start: '2024-01-15T12:00:00.000Z', source: 'web', event_type: 'view', count: 1 },
      ],
    });
    const hour = await t.getJson('/metrics?tenant_id=tenant_1&bucket_size=hour&source=web');
    expect(hour.buckets).toEqual([
      { bucket_start: '2024-01-15T10:00:00.000Z', source: 'web', event_type: 'click', count: 3 },
      { bucket_start: '2024-01-15T12:00:00.000Z', source: 'web', event_type: 'view', count: 1 },
    ]);
    const day = await t.getJson(
      '/metrics?tenant_id=tenant_1&bucket_size=day&event_type=view' +
        `&start=${encodeURIComponent('2024-01-15T11:00:00Z')}`,
    );
    expect(day.buckets).toEqual([
      { bucket_start: '2024-01-15T00:00:00.000Z', source: 'web', event_type: 'view', count: 1 },
    ]);
    expect((await t.get('/metrics?tenant_id=tenant_1&bucket_size=week')).status).toBe(422);
  });
});

describe('seed 002: /health and /ready', () => {
  test('both answer 200 while the store is writable', async () => {
    expect(await body(await t.get('/health'))).toEqual({ status: 'ok' });
    const ready = await t.get('/ready');
    expect(ready.status).toBe(200);
    expect(await body(ready)).toEqual({ status: 'ready' });
  });

  test('/ready is 503 when the store cannot take writes, and writes are refused', async () => {
    const full = await makeCompatApp({ engine: { diskFreeBytesMin: 2 ** 60 } });
    try {
      const ready = await full.get('/ready');
      expect(ready.status).toBe(503);
      expect(((await body(ready)).detail as string).includes('bytes free')).toBe(true);
      const write = await full.post('/events', example);
      expect(write.status).toBe(503);
      expect(write.headers.get('retry-after')).toBe('1');
      const bulk = await full.post('/events/bulk', { events: [example] });
      expect(bulk.status).toBe(503);
    } finally {
      await full.close();
    }
  });
});

// README "Limits": where Tally keeps its own limits on the service's fields and reads.
describe('seed 002: the limits Tally keeps (README Limits)', () => {
  const issues = async (res: Response) => {
    expect(res.status).toBe(422);
    return ((await body(res)).detail as { loc: unknown[]; msg: string }[]).map((d) => [
      d.loc,
      d.msg,
    ]);
  };

  test('source is at most 128 characters and event_type 120: a 422 naming the field', async () => {
    expect(await issues(await t.post('/events', event(1, { source: 's'.repeat(129) })))).toEqual([
      [['body', 'source'], 'source must be at most 128 characters'],
    ]);
    const longType = await t.post('/events', event(1, { event_type: 'e'.repeat(121) }));
    expect(await issues(longType)).toEqual([
      [['body', 'event_type'], 'event_type must be at most 120 characters'],
    ]);
    expect((await t.post('/events', event(1, { source: 's'.repeat(128) }))).status).toBe(201);
  });

  test("tenant_id follows the tenant id's rule, where the service took any text", async () => {
    for (const tenant_id of ['acme corp', '_acme', 'example.com/blog']) {
      expect(await issues(await t.post('/events', event(1, { tenant_id })))).toEqual([
        [['body', 'tenant_id'], 'tenant_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]*$'],
      ]);
    }
    expect(await issues(await t.post('/events', event(1, { tenant_id: 't'.repeat(129) })))).toEqual(
      [[['body', 'tenant_id'], 'tenant_id must be at most 128 characters']],
    );
    expect((await t.post('/events', event(1, { tenant_id: 'acme.corp:eu-1' }))).status).toBe(201);
  });

  test('5,000 events of 1.1 KB each are over the 5 MiB of a batch (413): two requests take them', async () => {
    const events = Array.from({ length: 5000 }, (_, i) =>
      event(i, { payload: { pad: 'p'.repeat(1000) } }),
    );
    expect(JSON.stringify(events[0]).length).toBeGreaterThan(1100);
    const whole = await t.post('/events/bulk', { events });
    expect(whole.status).toBe(413);
    expect(await t.getJson('/api/v1/stats?tenant_id=tenant_1&bots=include')).toMatchObject({
      total_events: 0,
    });
    for (const half of [events.slice(0, 2500), events.slice(2500)]) {
      expect(await body(await t.post('/events/bulk', { events: half }))).toMatchObject({
        inserted: 2500,
      });
    }
  });

  test('GET /metrics answers at most 10,000 rows: more is a 422 naming bucket_size', async () => {
    // 10,001 minutes of one source and type: one row each by minute, 167 by hour.
    const minutes = Array.from({ length: 10_001 }, (_, i) =>
      event(i, {
        event_id: `m${i}`,
        source: 'web',
        event_type: 'view',
        timestamp: new Date(Date.UTC(2024, 0, 1) + i * 60_000).toISOString(),
      }),
    );
    for (let i = 0; i < minutes.length; i += 5000) {
      expect((await t.post('/events/bulk', { events: minutes.slice(i, i + 5000) })).status).toBe(
        200,
      );
    }
    expect(await issues(await t.get('/metrics?tenant_id=tenant_1&bucket_size=minute'))).toEqual([
      [
        ['query', 'bucket_size'],
        'the answer would hold more than 10000 buckets; use a larger bucket_size or a shorter ' +
          'start–end range',
      ],
    ]);
    const end = encodeURIComponent(new Date(Date.UTC(2024, 0, 1) + 9_999 * 60_000).toISOString());
    const ranged = await t.getJson<{ buckets: Json[] }>(
      `/metrics?tenant_id=tenant_1&bucket_size=minute&end=${end}`,
    );
    expect(ranged.buckets).toHaveLength(10_000);
    const hourly = await t.getJson<{ buckets: Json[] }>(
      '/metrics?tenant_id=tenant_1&bucket_size=hour',
    );
    expect(hourly.buckets).toHaveLength(167);
  });

  test('GET /events: pages up to 1,000,000, of at most 1,000 events', async () => {
    expect((await t.get('/events?tenant_id=tenant_1&page=1000000&page_size=1000')).status).toBe(
      200,
    );
    expect((await t.get('/events?tenant_id=tenant_1&page=1000001')).status).toBe(422);
    expect((await t.get('/events?tenant_id=tenant_1&page_size=1001')).status).toBe(422);
  });
});
