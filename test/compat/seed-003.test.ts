// Seed 003 (FastAPI Analytics API): its request example replayed against POST /api/events/, the
// aggregation of GET /api/events/ (buckets, pages, OS by the service's user-agent rules),
// GET /api/events/{id}/, GET / and GET /healthz, then the numbers through the native read API.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/index.ts';
import { withSnapshot } from '../../src/query/read.ts';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

type Json = Record<string, unknown>;
const body = (r: Response) => r.json() as Promise<Json>;
/** A row's first fields: its bucket, its page and the schema's ua, which is always "". */
const row = (bucket: string, page: string) => ({ bucket, page, ua: '' });

const UA = {
  windows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0 Safari/537.36',
  mac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Version/17.1 Safari/605.1.15',
  iphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
  android:
    'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/120.0 Mobile Safari/537.36',
  linux: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  ipad: 'Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148',
};

const example = {
  page: '/homepage',
  ip_address: '192.168.1.1',
  user_agent: UA.windows,
  referrer: 'https://google.com',
  session_id: 'xyz789',
  duration: 15,
  description: 'User viewed homepage',
};

const visit = (page: string, userAgent: string, duration: number) =>
  t.post('/api/events/', { page, user_agent: userAgent, duration, session_id: 's' });

describe('seed 003: POST /api/events/ and GET /api/events/{id}/', () => {
  test('the example is stored and returned as the model; it reads back by id', async () => {
    const res = await t.post('/api/events/', example);
    expect(res.status).toBe(200);
    const created = await body(res);
    expect(created.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(created).toEqual({
      id: created.id,
      time: new Date(T0).toISOString(),
      page: '/homepage',
      // Client addresses are not stored unless the operator configures it (DESIGN.md §2).
      ip_address: '',
      user_agent: UA.windows,
      referrer: 'https://google.com',
      session_id: 'xyz789',
      duration: 15,
      description: 'User viewed homepage',
    });
    const byId = await t.get(`/api/events/${created.id}/`);
    expect(byId.status).toBe(200);
    expect(await body(byId)).toEqual(created);
    const s = await t.getJson('/api/v1/stats');
    expect(s).toMatchObject({ total_events: 1, page_views: 1, avg_duration: 15 });
    expect(s.top_paths).toEqual([{ path: '/homepage', views: 1, visitors: 1 }]);
    expect(s.os).toEqual([{ os: 'Windows', events: 1, visitors: 1 }]);
  });

  test("a write is not refused by the tenant's read places: 200 once, stored once", async () => {
    // The tenant's reads take every place (running and waiting): a read would be a 429 now.
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const places = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;
    const held = Array.from({ length: places }, () =>
      withSnapshot(t.engine.store, DEFAULT_TENANT, {}, undefined, () => released),
    );
    const res = await t.post('/api/events/', example);
    const refusedRead = await t.get('/api/events/');
    release();
    await Promise.all(held);
    // The service has no event_id of the client's: a 429 here after storing the event would
    // make its retry a second visit.
    expect(refusedRead.status).toBe(429);
    expect(res.status).toBe(200);
    const created = await body(res);
    expect(created).toMatchObject({ page: '/homepage', ip_address: '', duration: 15 });
    expect(await body(await t.get(`/api/events/${created.id}/`))).toEqual(created);
    expect(await t.getJson('/api/v1/stats')).toMatchObject({ total_events: 1 });
  });

  test('an ip_address that is no IP address counts as none, as on the SDK routes', async () => {
    // The model's ip_address is any text; refused, the visit was lost (422 naming `ip`).
    for (const ip_address of ['unknown', `10.0.0.1, ${'10.0.0.2, '.repeat(8)}10.0.0.3`]) {
      const res = await t.post('/api/events/', { ...example, ip_address });
      expect(res.status, ip_address).toBe(200);
    }
    const visitors = (await t.getJson('/api/v1/stats')) as Json;
    expect(visitors).toMatchObject({ total_events: 2 });
  });

  test('with STORE_IP the model shows the body’s ip_address only, never the connection’s', async () => {
    // The service stores its body's ip_address ('' when absent) and never reads the request's
    // address. Tally still hashes the connection's into the visitor (and locates it), but a
    // visit sent without one reads back as the service's, with ''.
    await t.close();
    t = await makeCompatApp({ engine: { storeIp: true }, trustProxy: true });
    const from = (ip: string) => ({ 'x-forwarded-for': ip });
    const sent = await body(await t.post('/api/events/', example, from('203.0.113.9')));
    expect(sent.ip_address).toBe('192.168.1.1');
    for (const [visit, ip] of [
      [{ page: '/' }, '203.0.113.10'],
      [{ page: '/', ip_address: 'unknown' }, '203.0.113.11'],
    ] as const) {
      const answer = await body(await t.post('/api/events/', visit, from(ip)));
      expect({ answer: answer.ip_address }).toEqual({ answer: '' });
      const read = await t.getJson(`/api/events/${answer.id as string}/`);
      expect({ read: read.ip_address }).toEqual({ read: '' });
    }
    const again = await t.getJson(`/api/events/${sent.id as string}/`);
    expect(again.ip_address).toBe('192.168.1.1');
    // The connection's address still tells the two visitors apart, as without STORE_IP.
    expect(await t.getJson('/api/v1/stats')).toMatchObject({ total_events: 3, unique_visitors: 3 });
  });

  test('page is required; optional fields default as in the model', async () => {
    const missing = await t.post('/api/events/', { user_agent: UA.mac });
    expect(missing.status).toBe(422);
    expect(await body(missing)).toEqual({
      // FastAPI on Pydantic v2 names each issue's input: for a field not sent, the body.
      detail: [
        {
          loc: ['body', 'page'],
          msg: 'Field required',
          type: 'missing',
          input: { user_agent: UA.mac },
        },
      ],
    });
    const minimal = await body(await t.post('/api/events/', { page: '/' }));
    expect(minimal).toMatchObject({
      page: '/',
      referrer: '',
      session_id: null,
      duration: 0,
      description: '',
    });
    const nullPage = await t.post('/api/events/', { page: null });
    expect(await body(nullPage)).toEqual({
      detail: [
        {
          loc: ['body', 'page'],
          msg: 'Input should be a valid string',
          type: 'string_type',
          input: null,
        },
      ],
    });
    const emptyPage = await t.post('/api/events/', { page: '' });
    expect(((await body(emptyPage)).detail as Json[])[0]).toMatchObject({
      loc: ['body', 'page'],
      type: 'string_too_short',
    });
    const bad = await t.post('/api/events/', { page: '/', duration: 1.5 });
    expect(bad.status).toBe(422);
  });

  test("a 422 names the service's fields: page and description, not Tally's path and properties", async () => {
    const longPage = await t.post('/api/events/', { page: `/${'a'.repeat(3000)}` });
    expect(longPage.status).toBe(422);
    expect(await body(longPage)).toEqual({
      detail: [
        {
          loc: ['body', 'page'],
          msg: 'page must be at most 2048 characters',
          type: 'string_too_long',
          input: `/${'a'.repeat(3000)}`,
        },
      ],
    });
    const longText = await t.post('/api/events/', { page: '/', description: 'd'.repeat(9000) });
    expect(longText.status).toBe(422);
    const [issue] = (await body(longText)).detail as { loc: unknown[]; msg: string }[];
    expect(issue?.loc).toEqual(['body', 'description']);
    expect(issue?.msg).toStartWith('description ');
    expect((await t.getJson('/api/v1/stats')).total_events).toBe(0);
  });

  test('a body that is no object gets the error of a SQLModel schema (from_attributes)', async () => {
    for (const sent of ['[]', '"x"', '5']) {
      const res = await t.post('/api/events/', sent, { 'content-type': 'application/json' });
      expect(res.status).toBe(422);
      expect(await body(res)).toEqual({
        detail: [
          {
            loc: ['body'],
            msg: 'Input should be a valid dictionary or object to extract fields from',
            type: 'model_attributes_type',
            input: JSON.parse(sent),
          },
        ],
      });
    }
  });

  test('a null duration is stored as none: null in the model, left out of avg_duration', async () => {
    // The model's `duration: Optional[int] = 0`: absent is 0, null is NULL, which SQL's avg
    // leaves out (it was stored as 0, halving this page's mean duration).
    const res = await t.post('/api/events/', { page: '/', user_agent: UA.mac, duration: null });
    expect(res.status).toBe(200);
    const created = await body(res);
    expect(created.duration).toBeNull();
    expect((await body(await t.get(`/api/events/${created.id}/`))).duration).toBeNull();
    await visit('/', UA.mac, 30);
    const rows = await t.getJson<Json[]>('/api/events/?pages=/');
    expect(rows).toEqual([
      {
        bucket: '2026-11-25T00:00:00',
        page: '/',
        ua: '',
        operating_system: 'MacOS',
        avg_duration: 30,
        count: 2,
      },
    ]);
    await t.post('/api/events/', { page: '/about', duration: null });
    const none = await t.getJson<Json[]>('/api/events/?pages=/about');
    expect(none).toMatchObject([{ page: '/about', avg_duration: null, count: 1 }]);
  });

  test('duration is read as Pydantic reads an int: its text, a whole float, a boolean', async () => {
    // Lax mode: the text of an integer is one, so a client that sends "15" is answered 200.
    for (const [sent, stored] of [
      ['15', 15],
      [' +15 ', 15],
      ['1_000', 1000],
      ['15.00', 15],
      [15.0, 15],
      [true, 1],
      [false, 0],
    ] as const) {
      const res = await t.post('/api/events/', { page: '/', duration: sent });
      expect(res.status).toBe(200);
      expect((await body(res)).duration).toBe(stored);
    }
    const refused = async (sent: unknown) => {
      const res = await t.post('/api/events/', { page: '/', duration: sent });
      expect(res.status).toBe(422);
      return ((await body(res)).detail as Json[])[0];
    };
    expect(await refused('15s')).toEqual({
      loc: ['body', 'duration'],
      msg: 'Input should be a valid integer, unable to parse string as an integer',
      type: 'int_parsing',
      input: '15s',
    });
    expect(await refused(1.5)).toEqual({
      loc: ['body', 'duration'],
      msg: 'Input should be a valid integer, got a number with a fractional part',
      type: 'int_from_float',
      input: 1.5,
    });
    expect(await refused([15])).toEqual({
      loc: ['body', 'duration'],
      msg: 'Input should be a valid integer',
      type: 'int_type',
      input: [15],
    });
    for (const bad of ['1.5', '1__0', '_1', ''])
      expect((await refused(bad))?.type).toBe('int_parsing');
  });

  test("user_agent is the body's: a request's own User-Agent is not the visit's", async () => {
    // The service stores the body's user_agent ('' when absent) and reads the OS from it; a
    // client relaying visits from its server sends its own agent in the header.
    const headers = { 'user-agent': UA.windows };
    const res = await t.post('/api/events/', { page: '/', duration: 5 }, headers);
    expect(res.status).toBe(200);
    const created = await body(res);
    expect(created.user_agent).toBe('');
    expect((await body(await t.get(`/api/events/${created.id}/`))).user_agent).toBe('');
    await t.post('/api/events/', { page: '/', duration: 7, user_agent: UA.mac }, headers);
    const rows = await t.getJson<Json[]>('/api/events/?pages=/');
    expect(rows.map((r) => [r.operating_system, r.count])).toEqual([
      ['MacOS', 1],
      ['Other', 1],
    ]);
  });

  test('the id is read as a UUID: upper case, without hyphens, braced or as a URN', async () => {
    // The service's path parameter is a UUID (Pydantic parses it): every spelling of the id
    // names the same event, and its 404 writes the id in its canonical form.
    const created = await body(await t.post('/api/events/', example));
    const id = created.id as string;
    const hex = id.replaceAll('-', '');
    for (const spelling of [
      id.toUpperCase(),
      hex,
      hex.toUpperCase(),
      `{${id}}`,
      `urn:uuid:${id}`,
    ]) {
      const res = await t.get(`/api/events/${encodeURIComponent(spelling)}/`);
      expect([spelling, res.status]).toEqual([spelling, 200]);
      expect(await body(res)).toEqual(created);
    }
    const unknown = '0193B5C47A1E4C3A9D2E4F5A6B7C8D9E';
    const res = await t.get(`/api/events/${unknown}/`);
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({
      detail: 'Event with id: 0193b5c4-7a1e-4c3a-9d2e-4f5a6b7c8d9e not found.',
    });
    for (const bad of [`${hex}0`, `${id.slice(0, 8)}${id.slice(9)}`, `{${hex}`]) {
      const r = await t.get(`/api/events/${encodeURIComponent(bad)}/`);
      expect([bad, r.status]).toEqual([bad, 422]);
    }
  });

  test('an unknown id is 404 with the documented detail; a malformed one is 422', async () => {
    const id = '0193b5c4-7a1e-4c3a-9d2e-4f5a6b7c8d9e';
    const res = await t.get(`/api/events/${id}/`);
    expect(res.status).toBe(404);
    expect(await body(res)).toEqual({ detail: `Event with id: ${id} not found.` });
    const bad = await t.get('/api/events/not-a-uuid/');
    expect(bad.status).toBe(422);
    expect(((await body(bad)).detail as Json[])[0]).toMatchObject({
      loc: ['path', 'event_id'],
      input: 'not-a-uuid',
    });
  });
});

describe('seed 003: GET /api/events/', () => {
  test('buckets by duration, filtered to pages, OS by the service rules, ordered', async () => {
    await visit('/', UA.windows, 10);
    await visit('/', UA.windows, 20);
    await visit('/', UA.mac, 30);
    await visit('/about', UA.iphone, 5);
    await visit('/about', UA.android, 7);
    await visit('/about', UA.linux, 9);
    await visit('/about', UA.ipad, 11);
    await visit('/elsewhere', UA.windows, 100);
    t.clock.advance(24 * 3600_000);
    await visit('/', UA.windows, 40);
    const rows = await t.getJson<Json[]>('/api/events/?duration=1%20day&pages=/&pages=/about');
    const day1 = '2026-11-25T00:00:00';
    expect(rows).toEqual([
      { ...row(day1, '/'), operating_system: 'MacOS', avg_duration: 30, count: 1 },
      { ...row(day1, '/'), operating_system: 'Windows', avg_duration: 15, count: 2 },
      { ...row(day1, '/about'), operating_system: 'Android', avg_duration: 7, count: 1 },
      { ...row(day1, '/about'), operating_system: 'iOS', avg_duration: 5, count: 1 },
      { ...row(day1, '/about'), operating_system: 'Linux', avg_duration: 9, count: 1 },
      { ...row(day1, '/about'), operating_system: 'Other', avg_duration: 11, count: 1 },
      {
        bucket: '2026-11-26T00:00:00',
        page: '/',
        ua: '',
        operating_system: 'Windows',
        avg_duration: 40,
        count: 1,
      },
    ]);
    const weekly = await t.getJson<Json[]>('/api/events/?duration=1%20week&pages=/');
    // time_bucket weeks start on Monday: 2026-11-23.
    expect(weekly.map((r) => [r.bucket, r.operating_system, r.count])).toEqual([
      ['2026-11-23T00:00:00', 'MacOS', 1],
      ['2026-11-23T00:00:00', 'Windows', 3],
    ]);
  });

  test('a duration of months or years buckets by UTC calendar month from 2000-01', async () => {
    // TimescaleDB's time_bucket('1 month', time): the first of the month, in UTC; N months count
    // from January 2000, so quarters start in January, April, July and October.
    const at = async (iso: string, duration: number) => {
      t.clock.set(Date.parse(iso));
      await visit('/', UA.windows, duration);
    };
    await at('2026-11-30T23:59:59Z', 10);
    await at('2026-12-01T00:00:00Z', 20);
    await at('2026-12-31T12:00:00Z', 30);
    await at('2027-01-15T08:00:00Z', 40);
    const rows = async (duration: string) =>
      (await t.getJson<Json[]>(`/api/events/?duration=${duration}&pages=/`)).map((r) => [
        r.bucket,
        r.count,
        r.avg_duration,
      ]);
    const monthly = [
      ['2026-11-01T00:00:00', 1, 10],
      ['2026-12-01T00:00:00', 2, 25],
      ['2027-01-01T00:00:00', 1, 40],
    ];
    for (const month of ['1%20month', '1%20mon', 'P1M', '@%201%20month']) {
      expect(await rows(month)).toEqual(monthly);
    }
    for (const quarter of ['3%20months', '3%20mons']) {
      expect(await rows(quarter)).toEqual([
        ['2026-10-01T00:00:00', 3, 20],
        ['2027-01-01T00:00:00', 1, 40],
      ]);
    }
    const yearly = [
      ['2026-01-01T00:00:00', 3, 20],
      ['2027-01-01T00:00:00', 1, 40],
    ];
    expect(await rows('1%20year')).toEqual(yearly);
    expect(await rows('12%20months')).toEqual(yearly);
    expect(await rows('P1Y')).toEqual(yearly);
    // 18 months from January 2000: July 2025 to December 2026, then from January 2027.
    expect(await rows('1%20year%206%20months')).toEqual([
      ['2025-07-01T00:00:00', 3, 20],
      ['2027-01-01T00:00:00', 1, 40],
    ]);
  });

  test('a width of several units, or of a day and a time, is one interval', async () => {
    // README: `1 hour 30 minutes`, `1 day 02:00:00`: 90-minute and 26-hour buckets counted
    // from Monday 2000-01-03 UTC, time_bucket's origin.
    t.clock.set(Date.parse('2026-11-25T10:07:00Z'));
    await visit('/', UA.linux, 1);
    for (const [duration, bucket] of [
      ['1%20hour%2030%20minutes', '2026-11-25T09:00:00'],
      ['1%20day%2002:00:00', '2026-11-24T14:00:00'],
    ] as const) {
      const rows = await t.getJson<Json[]>(`/api/events/?duration=${duration}&pages=/`);
      expect(rows.map((r) => r.bucket)).toEqual([bucket]);
    }
  });

  test("every row has the schema's ua, '' (its README's note: defined, not filled)", async () => {
    // EventBucketSchema declares `ua: Optional[str] = ""` between page and operating_system; the
    // query selects no ua, so the service's response model writes its default in every row.
    await visit('/', UA.mac, 30);
    const text = await (await t.get('/api/events/?pages=/')).text();
    expect(text).toBe(
      '[{"bucket":"2026-11-25T00:00:00","page":"/","ua":"","operating_system":"MacOS",' +
        '"avg_duration":30.0,"count":1}]',
    );
  });

  test("avg_duration is written as the schema's float: 30.0, not 30", async () => {
    // EventBucketSchema.avg_duration is Optional[float]: Python's JSON writes 25.0 (its README's
    // example), and a client reading it as a float gets one; JavaScript's would write 25.
    await visit('/', UA.mac, 30);
    await visit('/about', UA.mac, 10);
    await visit('/about', UA.mac, 15);
    await t.post('/api/events/', { page: '/blog', duration: null });
    const res = await t.get('/api/events/?pages=/&pages=/about&pages=/blog');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('application/json;charset=utf-8');
    const text = await res.text();
    expect(text).toBe(
      '[{"bucket":"2026-11-25T00:00:00","page":"/","ua":"","operating_system":"MacOS",' +
        '"avg_duration":30.0,"count":1},' +
        '{"bucket":"2026-11-25T00:00:00","page":"/about","ua":"","operating_system":"MacOS",' +
        '"avg_duration":12.5,"count":2},' +
        '{"bucket":"2026-11-25T00:00:00","page":"/blog","ua":"","operating_system":"Other",' +
        '"avg_duration":null,"count":1}]',
    );
    expect(await (await t.get('/api/events/?pages=/none')).text()).toBe('[]');
  });

  test('without pages the default lookup list applies; duration defaults to 1 day', async () => {
    await visit('/pricing', UA.mac, 1);
    await visit('/settings', UA.mac, 3);
    await visit('/not-listed', UA.mac, 5);
    const rows = await t.getJson<Json[]>('/api/events/');
    expect(rows.map((r) => r.page)).toEqual(['/pricing', '/settings']);
  });

  test('hour and 15-minute buckets; an invalid duration is 422', async () => {
    t.clock.set(Date.parse('2026-11-25T10:07:00Z'));
    await visit('/', UA.linux, 1);
    t.clock.set(Date.parse('2026-11-25T10:20:00Z'));
    await visit('/', UA.linux, 3);
    const quarter = await t.getJson<Json[]>('/api/events/?duration=15%20minutes&pages=/');
    expect(quarter.map((r) => r.bucket)).toEqual(['2026-11-25T10:00:00', '2026-11-25T10:15:00']);
    const hour = await t.getJson<Json[]>('/api/events/?duration=1%20hour&pages=/');
    expect(hour).toEqual([
      {
        bucket: '2026-11-25T10:00:00',
        page: '/',
        ua: '',
        operating_system: 'Linux',
        avg_duration: 2,
        count: 2,
      },
    ]);
    // PostgreSQL's other spellings of the same widths.
    for (const same of [
      '1h',
      '60%20min',
      '3600%20seconds',
      '30%20mins%2030%20minutes',
      '1.0%20hr',
      '01:00:00',
      '3600',
      '@%201%20hour',
      'PT1H',
      '.5%20hours',
      '0%20days%2001:00',
    ]) {
      const rows = await t.getJson<Json[]>(`/api/events/?duration=${same}&pages=/`);
      expect(rows).toEqual(hour);
    }
    const ninety = await t.getJson<Json[]>('/api/events/?duration=90%20s&pages=/');
    expect(ninety.map((r) => r.bucket)).toEqual(['2026-11-25T10:06:00', '2026-11-25T10:19:30']);
    for (const bad of [
      '1%20fortnight',
      'daily',
      '0%20days',
      '1%20month%202%20days',
      '1.5%20months',
      'P1M1D',
      '1%20hour%20and',
      '',
      'hour',
    ]) {
      const res = await t.get(`/api/events/?duration=${bad}`);
      expect(res.status).toBe(422);
      // Its input is the text sent, as FastAPI on Pydantic v2 names it.
      expect(((await body(res)).detail as Json[])[0]?.input).toBe(decodeURIComponent(bad));
    }
    // Over Tally's length bound (32) it is refused before the route reads it: no input.
    const long = await t.get(`/api/events/?duration=${'1'.repeat(33)}`);
    expect(long.status).toBe(422);
    expect((await body(long)).detail).toEqual([
      {
        loc: ['query', 'duration'],
        msg: 'duration: must be at most 32 characters',
        type: 'value_error',
      },
    ]);
    // A tenant no event can carry is a 422, as on ingest and the native reads.
    for (const tenant of ['a%2Fb', '', '%00']) {
      expect((await t.get(`/api/events/?tenant_id=${tenant}`)).status).toBe(422);
    }
    const byId = '/api/events/00000000-0000-4000-8000-000000000000/?tenant_id=a%2Fb';
    expect((await t.get(byId)).status).toBe(422);
  });
});

describe('seed 003: CORS (README Limits)', () => {
  test('a visit is taken from any origin; the reads answer only CORS_ORIGINS', async () => {
    const origin = { origin: 'https://dashboard.example' };
    const posted = await t.post('/api/events/', { page: '/' }, origin);
    expect(posted.headers.get('access-control-allow-origin')).toBe('*');
    const read = await t.get('/api/events/?pages=/', origin);
    expect(read.status).toBe(200);
    expect(read.headers.get('access-control-allow-origin')).toBeNull();
    expect(read.headers.get('vary')).toBe('Origin');
    // The other reads too: one event by id, the greeting and the health check.
    const id = (await body(posted)).id as string;
    for (const path of [`/api/events/${id}/`, '/', '/healthz']) {
      const other = await t.get(path, origin);
      expect(other.status, path).toBe(200);
      expect(other.headers.get('access-control-allow-origin'), path).toBeNull();
    }
  });
});

// README "Limits": where Tally keeps the event's limits on the service's text and reads.
describe('seed 003: the limits Tally keeps (README Limits)', () => {
  const issues = async (res: Response) => {
    expect(res.status).toBe(422);
    return ((await body(res)).detail as { loc: unknown[]; msg: string }[]).map((d) => [
      d.loc,
      d.msg,
    ]);
  };

  test('referrer 2,048, user_agent 1,024, session_id 128 characters; duration at least 0', async () => {
    const over = [
      ['referrer', 2048],
      ['user_agent', 1024],
      ['session_id', 128],
    ] as const;
    for (const [field, max] of over) {
      expect(
        await issues(await t.post('/api/events/', { page: '/', [field]: 'x'.repeat(max + 1) })),
      ).toEqual([[['body', field], `${field} must be at most ${max} characters`]]);
      const at = await t.post('/api/events/', { page: '/', [field]: 'x'.repeat(max) });
      expect(at.status, field).toBe(200);
    }
    expect(await issues(await t.post('/api/events/', { page: '/', duration: -1 }))).toEqual([
      [['body', 'duration'], 'duration must be ≥ 0'],
    ]);
  });

  test('a read takes at most 100 pages of at most 2,048 characters', async () => {
    const pages = (list: string[]) => list.map((p) => `pages=${encodeURIComponent(p)}`).join('&');
    const hundred = Array.from({ length: 100 }, (_, i) => `/p${i}`);
    expect((await t.get(`/api/events/?${pages(hundred)}`)).status).toBe(200);
    const expected = [[['query', 'pages'], 'at most 100 pages of at most 2048 characters']];
    expect(await issues(await t.get(`/api/events/?${pages([...hundred, '/p100'])}`))).toEqual(
      expected,
    );
    expect(await issues(await t.get(`/api/events/?${pages([`/${'a'.repeat(2048)}`])}`))).toEqual(
      expected,
    );
  });

  test('a read answers at most 10,000 rows: more is a 422 naming duration', async () => {
    // 10,001 seconds of visits to one page: a row a second, 167 a minute.
    const visits = Array.from({ length: 10_001 }, (_, i) => ({
      name: 'page_view',
      path: '/',
      timestamp: new Date(T0 - 20_000_000 + i * 1000).toISOString(),
    }));
    for (let i = 0; i < visits.length; i += 5000) {
      const res = await t.post('/api/v1/events/batch', { events: visits.slice(i, i + 5000) });
      expect(res.status).toBe(202);
    }
    expect(await issues(await t.get('/api/events/?pages=/&duration=1%20second'))).toEqual([
      [['query', 'duration'], 'the answer would hold more than 10000 rows; use a longer duration'],
    ]);
    const minutes = await t.getJson<Json[]>('/api/events/?pages=/&duration=1%20minute');
    expect(minutes.reduce((n, row) => n + (row.count as number), 0)).toBe(10_001);
  });
});

describe('seed 003: GET / and GET /healthz', () => {
  test('greeting and health', async () => {
    expect(await body(await t.get('/'))).toEqual({ hello: 'world' });
    expect(await body(await t.get('/healthz'))).toEqual({ status: 'ok' });
  });
});
