// Umami's session data reads (/api/websites/:id/sessions/:sessionId/properties,
// /session-data/properties and /values) over the data of Umami identify items, which Tally
// stores as uncounted events: each key of a session holds its latest value; the lists count
// the sessions with an event in the range that matches the filters; identify counts in no
// other read. Open mode; required mode's 401 is the read gate every Umami read shares.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { WINDOWS_CHROME } from './helpers/user-agents.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const at = (iso: string) => Date.parse(iso);
const RANGE = `startAt=${at('2026-11-25T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;

let t: CompatApp;
/** The session /api/send answered the visitor at 198.51.100.1. */
let ana = '';
/** The sessionId /api/send answered user-9's items (sent with its id: the visitor is user-9). */
let user9 = '';

async function send(ip: string, time: string, type: string, payload: Json): Promise<Json> {
  const body = {
    type,
    payload: { website: WEBSITE, hostname: 'example.com', timestamp: at(time) / 1000, ...payload },
  };
  const headers = { 'user-agent': WINDOWS_CHROME, 'x-forwarded-for': ip };
  const res = await t.post('/api/send', body, headers);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
}

/**
 * ana (198.51.100.1): a page view of /pricing at 10:00, identify {plan: pro, seats: 3,
 * company: {size: 10}} at 10:01 (flushed), then identify {plan: team} at 10:02 (hot).
 * user-9 (198.51.100.2): identify {plan: pro} and a page view of /blog, both with its id.
 */
beforeEach(async () => {
  t = await makeCompatApp({ trustProxy: true });
  const ip = '198.51.100.1';
  ana = (await send(ip, '2026-11-25T10:00:00Z', 'event', { url: '/pricing' })).sessionId as string;
  const data = { plan: 'pro', seats: 3, company: { size: 10 } };
  await send(ip, '2026-11-25T10:01:00Z', 'identify', { data });
  await t.engine.store.flusher.flush();
  await send(ip, '2026-11-25T10:02:00Z', 'identify', { data: { plan: 'team' } });
  const user = { id: 'user-9' };
  const identified = await send('198.51.100.2', '2026-11-25T11:00:00Z', 'identify', {
    ...user,
    data: { plan: 'pro' },
  });
  user9 = identified.sessionId as string;
  await send('198.51.100.2', '2026-11-25T11:01:00Z', 'event', { ...user, url: '/blog' });
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const ok = async (path: string) => {
  const res = await t.get(`/api/websites/${WEBSITE}/${path}`);
  const body = (await res.json()) as unknown;
  expect(res.status, JSON.stringify(body)).toBe(200);
  return body;
};

describe('Umami session data', () => {
  test("a session's properties: each key's latest value, typed as Umami's", async () => {
    // Umami's GET …/sessions/:sessionId/properties: a 404 before, identify data not kept.
    const row = (dataKey: string, dataType: number, stringValue: string, time: string) => ({
      websiteId: WEBSITE,
      sessionId: ana,
      dataKey,
      dataType,
      stringValue,
      numberValue: dataType === 2 ? Number(stringValue) : null,
      dateValue: null,
      createdAt: time,
    });
    expect(await ok(`sessions/${ana}/properties`)).toEqual([
      row('company.size', 2, '10', '2026-11-25T10:01:00.000Z'),
      row('plan', 1, 'team', '2026-11-25T10:02:00.000Z'),
      row('seats', 2, '3', '2026-11-25T10:01:00.000Z'),
    ]);
    expect(await ok('sessions/user-9/properties')).toMatchObject([
      { sessionId: 'user-9', dataKey: 'plan', stringValue: 'pro' },
    ]);
    expect(await ok('sessions/nobody/properties')).toEqual([]);
  });

  test('the sessionId answered an identified visitor names its data too', async () => {
    // Umami keeps the data under that session; Tally's visitor is user-9 (README).
    expect(user9).not.toBe('user-9');
    const byUser = (await ok('sessions/user-9/properties')) as Json[];
    const answered = (await ok(`sessions/${user9}/properties`)) as Json[];
    expect(answered).toEqual(byUser.map((row) => ({ ...row, sessionId: user9 })));
    expect(answered).toMatchObject([{ dataKey: 'plan', stringValue: 'pro' }]);
    // An id of no session's events still has none.
    expect(await ok('sessions/0f0e0d0c-0000-5000-8000-000000000001/properties')).toEqual([]);
  });

  test('session-data keys and values count the sessions of the range and filters', async () => {
    expect(await ok(`session-data/properties?${RANGE}`)).toEqual([
      { propertyName: 'plan', dataType: 1, total: 2 },
      { propertyName: 'company.size', dataType: 2, total: 1 },
      { propertyName: 'seats', dataType: 2, total: 1 },
    ]);
    expect(await ok(`session-data/properties?${RANGE}&propertyName=seats`)).toEqual([
      { propertyName: 'seats', dataType: 2, total: 1 },
    ]);
    expect(await ok(`session-data/values?${RANGE}&propertyName=plan`)).toEqual([
      { value: 'pro', total: 1 },
      { value: 'team', total: 1 },
    ]);
    // A filter holds on the sessions' events: only user-9 viewed /blog.
    expect(await ok(`session-data/values?${RANGE}&propertyName=plan&path=/blog`)).toEqual([
      { value: 'pro', total: 1 },
    ]);
    // A range without their events has no sessions.
    const before = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-24T23:59:59Z')}`;
    expect(await ok(`session-data/properties?${before}`)).toEqual([]);
    const missing = await t.get(`/api/websites/${WEBSITE}/session-data/values?${RANGE}`);
    expect(missing.status).toBe(400);
    expect(((await missing.json()) as { error: Json }).error.code).toBe('bad-request');
    const noRange = await t.get(`/api/websites/${WEBSITE}/session-data/properties`);
    expect(noRange.status).toBe(400);
  });

  test('session-data values: numbers and dates as Umami shows them, the top 100', async () => {
    const ip = '198.51.100.3';
    await send(ip, '2026-11-25T11:10:00Z', 'event', { url: '/' });
    await send(ip, '2026-11-25T11:11:00Z', 'identify', {
      data: { since: '2026-11-20T08:30:00Z', seats: 3 },
    });
    const values = (name: string, more = '') =>
      ok(`session-data/values?${RANGE}&propertyName=${name}${more}`);
    expect(await values('seats')).toEqual([{ value: '3', total: 2 }]);
    // dataType is ignored, as Umami ignores it.
    expect(await values('seats', '&dataType=1')).toEqual(await values('seats'));
    expect(await values('since')).toEqual([{ value: '2026-11-20 08:00:00', total: 1 }]);
    for (let i = 0; i < 101; i++) {
      const who = `198.51.101.${i}`;
      await send(who, '2026-11-25T11:20:00Z', 'event', { url: '/' });
      await send(who, '2026-11-25T11:21:00Z', 'identify', { data: { code: `c${i}` } });
    }
    expect(((await values('code')) as unknown[]).length).toBe(100);
  });

  test('session-data/properties lists 500 keys at most', async () => {
    for (let i = 0; i < 10; i++) {
      const who = `198.51.102.${i}`;
      const data = Object.fromEntries(Array.from({ length: 60 }, (_, k) => [`k${i}_${k}`, k]));
      await send(who, '2026-11-25T11:30:00Z', 'event', { url: '/' });
      await send(who, '2026-11-25T11:31:00Z', 'identify', { data });
    }
    const rows = (await ok(`session-data/properties?${RANGE}`)) as unknown[];
    expect(rows.length).toBe(500);
  });

  test('identify items count in no read: not events, visitors, sessions or event data', async () => {
    const stats = (await ok(`stats?${RANGE}`)) as Json;
    expect(stats).toMatchObject({ pageviews: 2, visitors: 2, visits: 2 });
    const events = (await ok(`events?${RANGE}`)) as { count: number };
    expect(events.count).toBe(2);
    expect(await ok(`event-data/events?${RANGE}`)).toEqual([]);
    const native = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}&date=2026-11-25`);
    expect(native.total_events).toBe(2);
    // An identify without data keeps nothing, and is not stored.
    const exported = async () =>
      (await (await t.get(`/api/v1/export?tenant_id=${WEBSITE}&format=ndjson`)).text())
        .trim()
        .split('\n').length;
    const stored = await exported();
    await send('198.51.100.3', '2026-11-25T11:30:00Z', 'identify', { id: 'user-10' });
    expect(await exported()).toBe(stored);
  });
});
