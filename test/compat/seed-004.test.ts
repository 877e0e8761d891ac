// Seed 004 (Analytics Backend): its curl examples replayed against POST /event and GET /stats,
// the stats rules (views, distinct users, top 10 paths with ties by path, date filter), the
// durability of the 202, then the numbers through the native read API.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const body = (r: Response) => r.json() as Promise<Json>;

const send = (path: string, userId: string | undefined, timestamp = '2025-11-15T18:30:01Z') =>
  t.post('/event', {
    site_id: 'site-abc-123',
    event_type: 'page_view',
    path,
    ...(userId === undefined ? {} : { user_id: userId }),
    timestamp,
  });

describe('seed 004: POST /event', () => {
  test('the documented example: 202 with its body, durable at that point', async () => {
    const res = await t.post('/event', {
      site_id: 'site-abc-123',
      event_type: 'page_view',
      path: '/pricing',
      user_id: 'user-xyz-789',
      timestamp: '2025-11-15T18:30:01Z',
    });
    expect(res.status).toBe(202);
    expect(await body(res)).toEqual({ status: 'success', message: 'Event queued for processing' });
    // Durable at the 202: a restart of the engine over the same directory keeps it.
    await t.restart();
    const s = await t.getJson('/api/v1/stats?tenant_id=site-abc-123');
    expect(s).toMatchObject({ total_events: 1, page_views: 1, unique_users: 1 });
  });

  test('the test example, and the required fields', async () => {
    const res = await t.post('/event', {
      site_id: 'site-test',
      event_type: 'page_view',
      path: '/home',
      user_id: 'user-123',
      timestamp: '2025-11-15T19:00:00Z',
    });
    expect(res.status).toBe(202);
    const stats = await t.getJson('/stats?site_id=site-test');
    expect(stats).toEqual({
      site_id: 'site-test',
      date: null,
      total_views: 1,
      unique_users: 1,
      top_paths: [{ path: '/home', views: 1 }],
    });
    const missing = await t.post('/event', { path: '/x' });
    expect(missing.status).toBe(422);
    const locs = ((await body(missing)).detail as { loc: unknown[] }[]).map((d) => d.loc);
    expect(locs).toEqual([
      ['body', 'site_id'],
      ['body', 'event_type'],
      ['body', 'timestamp'],
    ]);
    const notATime = await t.post('/event', {
      site_id: 'site-test',
      event_type: 'page_view',
      timestamp: 'last tuesday',
    });
    expect(notATime.status).toBe(422);
    const badSite = await t.post('/event', {
      site_id: '../etc',
      event_type: 'page_view',
      timestamp: '2025-11-15T19:00:00Z',
    });
    expect(badSite.status).toBe(422);
    const issue = ((await body(badSite)).detail as { loc: unknown[]; msg: string }[])[0];
    expect(issue?.loc).toEqual(['body', 'site_id']);
    expect(issue?.msg).toStartWith('site_id ');
  });
});

describe('seed 004: what FastAPI and Pydantic accept', () => {
  test('a datetime without a zone is UTC; a bare date, epoch seconds and ms work too', async () => {
    const sent: [string, unknown, string][] = [
      ['naive', '2025-11-15T19:00:00', '2025-11-15T19:00:00.000Z'],
      ['date', '2025-11-14', '2025-11-14T00:00:00.000Z'],
      ['seconds', 1_763_233_201, '2025-11-15T19:00:01.000Z'],
      ['millis', 1_763_233_201_500, '2025-11-15T19:00:01.500Z'],
      ['text', '1763233201', '2025-11-15T19:00:01.000Z'],
    ];
    for (const [path, timestamp] of sent) {
      const res = await t.post('/event', {
        site_id: 'site-time',
        event_type: 'page_view',
        path: `/${path}`,
        timestamp,
      });
      expect(res.status).toBe(202);
    }
    const list = await t.getJson<{ events: { path: string; timestamp: string }[] }>(
      '/api/v1/events?tenant_id=site-time',
    );
    const byPath = Object.fromEntries(list.events.map((e) => [e.path, e.timestamp]));
    for (const [path, , stored] of sent) expect(byPath[`/${path}`]).toBe(stored);
  });

  test('every field is checked in one pass, as Pydantic checks the model', async () => {
    // A null required field is the wrong type (not missing), and an optional one that is no
    // string is named beside the missing ones: one 422 lists them all.
    // Each names its input, as FastAPI on Pydantic v2 does: for a field not sent, the body.
    const sent = { site_id: null, event_type: 5, path: 7, user_id: null };
    const res = await t.post('/event', sent);
    expect(res.status).toBe(422);
    const str = { msg: 'Input should be a valid string', type: 'string_type' };
    expect(await body(res)).toEqual({
      detail: [
        { loc: ['body', 'site_id'], ...str, input: null },
        { loc: ['body', 'event_type'], ...str, input: 5 },
        { loc: ['body', 'timestamp'], msg: 'Field required', type: 'missing', input: sent },
        { loc: ['body', 'path'], ...str, input: 7 },
      ],
    });
    const time = await t.post('/event', { site_id: 's', event_type: 'e', timestamp: {} });
    expect(await body(time)).toEqual({
      detail: [
        {
          loc: ['body', 'timestamp'],
          msg: 'Input should be a valid datetime',
          type: 'datetime_type',
          input: {},
        },
      ],
    });
    expect((await t.getJson('/api/v1/stats?tenant_id=s&bots=include')).total_events).toBe(0);
  });

  test('an empty path or user_id is taken (the model sets no min_length): stored as none', async () => {
    // `path: Optional[str] = None` and `user_id` alike take "" in the service; a 422 lost the
    // event. No event path or user id is empty here, so "" is none: the event counts in
    // total_views, but in neither top_paths nor unique_users.
    for (const extra of [{ path: '' }, { user_id: '' }, { path: '', user_id: '' }]) {
      const res = await t.post('/event', {
        site_id: 'site-empty',
        event_type: 'page_view',
        timestamp: '2025-11-15T19:00:00Z',
        ...extra,
      });
      expect([extra, res.status]).toEqual([extra, 202]);
    }
    expect(await t.getJson('/stats?site_id=site-empty')).toEqual({
      site_id: 'site-empty',
      date: null,
      total_views: 3,
      unique_users: 0,
      top_paths: [],
    });
  });

  test('path 2,048, user_id 128 and event_type 120 characters at most: a 422 naming the field', async () => {
    // README "Limits": the service takes text of any length; Tally keeps the event's limits.
    const at = { site_id: 'site-long', event_type: 'page_view', timestamp: '2025-11-15T19:00:00Z' };
    const over = [
      ['path', 2048],
      ['user_id', 128],
      ['event_type', 120],
    ] as const;
    for (const [field, max] of over) {
      const res = await t.post('/event', { ...at, [field]: `/${'x'.repeat(max)}` });
      expect(res.status, field).toBe(422);
      expect(await body(res)).toMatchObject({
        detail: [{ loc: ['body', field], msg: `${field} must be at most ${max} characters` }],
      });
      const fits = await t.post('/event', { ...at, [field]: `/${'x'.repeat(max - 1)}` });
      expect(fits.status, field).toBe(202);
    }
  });

  test("site_id follows the tenant id's rule: a 422 naming it, where the service took any text", async () => {
    const at = { event_type: 'page_view', timestamp: '2025-11-15T19:00:00Z' };
    for (const site_id of ['acme corp', '_acme', 'example.com/blog']) {
      const res = await t.post('/event', { ...at, site_id });
      expect(res.status, site_id).toBe(422);
      expect(await body(res)).toMatchObject({
        detail: [
          { loc: ['body', 'site_id'], msg: 'site_id must match ^[A-Za-z0-9][A-Za-z0-9._:-]*$' },
        ],
      });
    }
    expect((await t.post('/event', { ...at, site_id: 'site-abc-123' })).status).toBe(202);
  });

  test("malformed JSON is FastAPI's 422 json_invalid, not a 400", async () => {
    const res = await t.post('/event', '{"site_id":', { 'content-type': 'application/json' });
    expect(res.status).toBe(422);
    const detail = (await body(res)).detail as Record<string, unknown>[];
    expect(detail).toHaveLength(1);
    // FastAPI names where Python's json stopped: after '{"site_id":', at character 11.
    expect(detail[0]).toEqual({
      loc: ['body', 11],
      msg: 'JSON decode error',
      type: 'json_invalid',
      ctx: { error: 'Expecting value' },
      input: {},
    });
  });
});

describe('seed 004: GET /stats', () => {
  test('total views, distinct users and the ten most viewed paths, ties by path', async () => {
    const paths = ['/a', '/b', '/c', '/d', '/e', '/f', '/g', '/h', '/i', '/j', '/k', '/l'];
    for (const [i, path] of paths.entries()) {
      for (let n = 0; n <= i % 3; n++) await send(path, `user-${n}`);
    }
    await send('/pricing', undefined);
    const stats = await t.getJson('/stats?site_id=site-abc-123');
    expect(stats.total_views).toBe(25);
    expect(stats.unique_users).toBe(3);
    expect(stats.top_paths).toEqual([
      { path: '/c', views: 3 },
      { path: '/f', views: 3 },
      { path: '/i', views: 3 },
      { path: '/l', views: 3 },
      { path: '/b', views: 2 },
      { path: '/e', views: 2 },
      { path: '/h', views: 2 },
      { path: '/k', views: 2 },
      { path: '/a', views: 1 },
      { path: '/d', views: 1 },
    ]);
    const native = await t.getJson('/api/v1/stats?tenant_id=site-abc-123');
    expect(native).toMatchObject({ total_events: 25, page_views: 25, unique_users: 3 });
  });

  test('date keeps one UTC day; site_id is required; sites are separate', async () => {
    await send('/pricing', 'u1', '2025-11-15T18:30:01Z');
    await send('/pricing', 'u2', '2025-11-15T23:59:59Z');
    await send('/features', 'u1', '2025-11-16T00:00:00Z');
    await t.post('/event', {
      site_id: 'other-site',
      event_type: 'page_view',
      path: '/pricing',
      timestamp: '2025-11-15T12:00:00Z',
    });
    const day = await t.getJson('/stats?site_id=site-abc-123&date=2025-11-15');
    expect(day).toEqual({
      site_id: 'site-abc-123',
      date: '2025-11-15',
      total_views: 2,
      unique_users: 2,
      top_paths: [{ path: '/pricing', views: 2 }],
    });
    expect((await t.getJson('/stats?site_id=site-abc-123')).total_views).toBe(3);
    // FastAPI's answer for a required parameter not sent (Pydantic v2's `Field required`, as
    // for a body field), not a value_error about `undefined`.
    const missing = await t.get('/stats?date=2025-11-15');
    expect(missing.status).toBe(422);
    expect(await missing.json()).toEqual({
      detail: [{ loc: ['query', 'site_id'], msg: 'Field required', type: 'missing', input: null }],
    });
    const badDay = await t.get('/stats?site_id=site-abc-123&date=2025-13-01');
    expect(badDay.status).toBe(422);
    expect(((await body(badDay)).detail as Record<string, unknown>[])[0]).toMatchObject({
      loc: ['query', 'date'],
      input: '2025-13-01',
    });
    // A parameter over Tally's length bound is refused before the route reads it: its issue
    // names no input (README "Errors follow each client's expectations").
    const long = await t.get(`/stats?site_id=${'a'.repeat(129)}`);
    expect(long.status).toBe(422);
    expect(await long.json()).toEqual({
      detail: [
        {
          loc: ['query', 'site_id'],
          msg: 'site_id: must be at most 128 characters',
          type: 'value_error',
        },
      ],
    });
  });

  test('an empty date is no filter, echoed as sent (the service tests `if date:`)', async () => {
    // An HTML form with an optional date field sends `date=` when it is left blank.
    await send('/pricing', 'u1', '2025-11-15T18:30:01Z');
    await send('/features', 'u2', '2025-11-16T10:00:00Z');
    const res = await t.get('/stats?site_id=site-abc-123&date=');
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      site_id: 'site-abc-123',
      date: '',
      total_views: 2,
      unique_users: 2,
      top_paths: [
        { path: '/features', views: 1 },
        { path: '/pricing', views: 1 },
      ],
    });
  });

  test("date is read as the service's strptime('%Y-%m-%d'): a one-digit month or day", async () => {
    await send('/pricing', 'u1', '2025-01-05T10:00:00Z');
    await send('/pricing', 'u2', '2025-01-06T10:00:00Z');
    const day = await t.getJson('/stats?site_id=site-abc-123&date=2025-1-5');
    // The date echoed as asked, as the service echoes its parameter.
    expect(day).toMatchObject({ date: '2025-1-5', total_views: 1, unique_users: 1 });
    expect((await t.getJson('/stats?site_id=site-abc-123&date=2025-01-5')).total_views).toBe(1);
    // strptime strips no whitespace, and takes no year 0 or day a month lacks.
    for (const date of ['%202025-1-5', '2025-1-5%20', '0000-01-01', '2025-2-29', '2025-1-5T1']) {
      const res = await t.get(`/stats?site_id=site-abc-123&date=${date}`);
      expect([date, res.status]).toEqual([date, 422]);
      const detail = ((await res.json()) as { detail: { loc: unknown[] }[] }).detail;
      expect(detail[0]?.loc).toEqual(['query', 'date']);
    }
  });
});

describe('seed 004: site_id as a site alias in required mode', () => {
  test('a registered site_id writes to its project without a key; others are 403', async () => {
    const app = await makeCompatApp({ tenancy: keyTenancy({ 'site-abc-123': 'acme' }) });
    try {
      const post = (siteId: string) =>
        app.post('/event', {
          site_id: siteId,
          event_type: 'page_view',
          path: '/',
          timestamp: '2025-11-15T18:30:01Z',
        });
      expect((await post('site-abc-123')).status).toBe(202);
      expect((await post('site-unknown')).status).toBe(403);
      expect((await app.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(1);
    } finally {
      await app.close();
    }
  });
});
