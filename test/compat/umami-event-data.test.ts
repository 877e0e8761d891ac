// Umami's event data reads (/api/websites/:id/event-data/…) over events sent through Umami's
// collection API and Tally's own, in open mode: only custom events' own properties count
// (a Segment-style page view's url, title and campaign tags do not, nor the tracker's page
// fields), typed and shown as Umami's; filters, the range, another website, hot and flushed
// events. Required mode's 401s are in umami-read-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { WINDOWS_CHROME } from './helpers/user-agents.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
const at = (iso: string) => Date.parse(iso);

let t: CompatApp;

async function send(time: string, payload: Json, site = WEBSITE) {
  const body = {
    type: 'event',
    payload: { website: site, hostname: 'example.com', timestamp: at(time) / 1000, ...payload },
  };
  const headers = { 'user-agent': WINDOWS_CHROME, 'x-forwarded-for': '198.51.100.1' };
  const res = await t.post('/api/send', body, headers);
  expect(res.status).toBe(200);
}

/**
 * 11-24 10:00 a page view; 10:05 signup {plan: pro, seats: 3, trial: true} on /pricing;
 * 10:06 a Segment-style page view (Tally's API, name `page`) with url, title and utm_source
 * properties; flushed. Then (hot) 11-25 09:11 signup {plan: team, seats: 3.5, cart: {total: 9,
 * items: [a, b]}, at: 2026-11-25T08:30:00Z} on /blog, and 11-25 09:12 purchase {plan: pro}.
 * Another website: 11-24 12:01 signup {plan: other}.
 */
beforeEach(async () => {
  t = await makeCompatApp({ trustProxy: true });
  await send('2026-11-24T10:00:00Z', { url: '/', title: 'Home' });
  await send('2026-11-24T10:05:00Z', {
    url: '/pricing',
    name: 'signup',
    data: { plan: 'pro', seats: 3, trial: true },
  });
  const page = await t.post('/api/v1/events', {
    tenant_id: WEBSITE,
    name: 'page',
    timestamp: '2026-11-24T10:06:00Z',
    path: '/pricing',
    properties: { url: 'https://example.com/pricing', title: 'Pricing', utm_source: 'news' },
  });
  expect(page.status).toBe(202);
  await send('2026-11-24T12:01:00Z', { url: '/', name: 'signup', data: { plan: 'other' } }, OTHER);
  await t.engine.store.flusher.flush();
  expect(t.engine.store.catalog.allSegments().length).toBeGreaterThan(0);
  await send('2026-11-25T09:11:00Z', {
    url: '/blog',
    name: 'signup',
    data: {
      plan: 'team',
      seats: 3.5,
      cart: { total: 9, items: ['a', 'b'] },
      at: '2026-11-25T08:30:00Z',
    },
  });
  await send('2026-11-25T09:12:00Z', { url: '/blog', name: 'purchase', data: { plan: 'pro' } });
  t.clock.set(at('2026-11-25T12:00:00Z'));
});
afterEach(() => t.close());

const TWO_DAYS = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-25T23:59:59.999Z')}`;
const FIRST_DAY = `startAt=${at('2026-11-24T00:00:00Z')}&endAt=${at('2026-11-24T23:59:59.999Z')}`;

const read = async (path: string, query = TWO_DAYS, site = WEBSITE) => {
  const res = await t.get(`/api/websites/${site}/event-data/${path}?${query}`);
  return { status: res.status, body: (await res.json()) as unknown };
};
const ok = async (path: string, query = TWO_DAYS) => {
  const { status, body } = await read(path, query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as Json[];
};

describe('event data', () => {
  test('events: each custom event property with its type and count, hot and flushed', async () => {
    expect(await ok('events')).toEqual([
      { eventName: 'purchase', propertyName: 'plan', dataType: 1, total: 1 },
      { eventName: 'signup', propertyName: 'at', dataType: 4, total: 1 },
      { eventName: 'signup', propertyName: 'cart.items', dataType: 5, total: 1 },
      { eventName: 'signup', propertyName: 'cart.total', dataType: 2, total: 1 },
      { eventName: 'signup', propertyName: 'plan', dataType: 1, total: 2 },
      { eventName: 'signup', propertyName: 'seats', dataType: 2, total: 2 },
      { eventName: 'signup', propertyName: 'trial', dataType: 3, total: 1 },
    ]);
    // With `event`: that event's values, as Umami stores them.
    const signup = await ok('events', `${TWO_DAYS}&event=signup`);
    expect(signup.filter((r) => r.propertyName === 'seats')).toEqual([
      {
        eventName: 'signup',
        propertyName: 'seats',
        dataType: 2,
        propertyValue: '3.0000',
        total: 1,
      },
      {
        eventName: 'signup',
        propertyName: 'seats',
        dataType: 2,
        propertyValue: '3.5000',
        total: 1,
      },
    ]);
    expect(signup.every((r) => r.eventName === 'signup')).toBe(true);
  });

  test('fields and values: numbers without .0000, dates by their UTC hour', async () => {
    const fields = await ok('fields');
    expect(fields[0]).toEqual({
      propertyName: 'cart.items',
      dataType: 5,
      value: '["a","b"]',
      total: 1,
    });
    expect(fields[1]).toEqual({
      propertyName: 'at',
      dataType: 4,
      value: '2026-11-25 08:00:00',
      total: 1,
    });
    expect(fields).toContainEqual({ propertyName: 'seats', dataType: 2, value: '3', total: 1 });
    expect(fields).toContainEqual({ propertyName: 'plan', dataType: 1, value: 'pro', total: 2 });
    // No page view's properties, no tracker page field.
    const names = new Set(fields.map((f) => f.propertyName));
    for (const name of ['url', 'title', 'utm_source', '$title', '$hostname']) {
      expect(names.has(name)).toBe(false);
    }
    expect(await ok('values', `${TWO_DAYS}&propertyName=plan`)).toEqual([
      { value: 'pro', total: 2 },
      { value: 'team', total: 1 },
    ]);
    expect(await ok('values', `${TWO_DAYS}&propertyName=plan&eventName=signup`)).toEqual([
      { value: 'pro', total: 1 },
      { value: 'team', total: 1 },
    ]);
  });

  test('properties and stats', async () => {
    const properties = await ok('properties');
    expect(properties.slice(0, 3)).toEqual([
      { eventName: 'purchase', propertyName: 'plan', total: 1 },
      { eventName: 'signup', propertyName: 'plan', total: 2 },
      { eventName: 'signup', propertyName: 'seats', total: 2 },
    ]);
    expect(properties).toHaveLength(7);
    const stats = await read('stats');
    expect(stats).toEqual({ status: 200, body: { events: 3, properties: 6, records: 9 } });
    const plan = await read('stats', `${TWO_DAYS}&propertyName=plan`);
    expect(plan.body).toEqual({ events: 3, properties: 1, records: 3 });
    // README: propertyName narrows every route to one property.
    for (const route of ['events', 'fields', 'properties']) {
      const rows = await ok(route, `${TWO_DAYS}&propertyName=plan`);
      expect(rows.length, route).toBeGreaterThan(0);
      expect(new Set(rows.map((r) => r.propertyName)), route).toEqual(new Set(['plan']));
    }
  });

  test('filters hold on each custom event; the range and another website', async () => {
    expect(await ok('values', `${TWO_DAYS}&propertyName=plan&path=/blog`)).toEqual([
      { value: 'pro', total: 1 },
      { value: 'team', total: 1 },
    ]);
    expect(await ok('properties', `${TWO_DAYS}&event=neq.signup`)).toEqual([
      { eventName: 'purchase', propertyName: 'plan', total: 1 },
    ]);
    // The first day only: the flushed signup.
    expect((await read('stats', FIRST_DAY)).body).toEqual({
      events: 1,
      properties: 3,
      records: 3,
    });
    const other = await read('values', `${TWO_DAYS}&propertyName=plan`, OTHER);
    expect(other.body).toEqual([{ value: 'other', total: 1 }]);
  });

  test('values: the top 100; dates by their UTC hour in any zone', async () => {
    const items = Array.from({ length: 101 }, (_, i) => ({
      type: 'event',
      payload: {
        website: WEBSITE,
        url: '/',
        name: 'view_item',
        timestamp: at('2026-11-25T10:00:00Z') / 1000 + i,
        data: { sku: `sku-${String(i).padStart(3, '0')}`, n: i < 2 ? 7 : i },
      },
    }));
    const res = await t.post('/api/batch', items, { 'user-agent': WINDOWS_CHROME });
    expect(res.status).toBe(200);
    const skus = await ok('values', `${TWO_DAYS}&propertyName=sku`);
    expect(skus).toHaveLength(100);
    expect(skus[0]).toEqual({ value: 'sku-000', total: 1 });
    const numbers = await ok('values', `${TWO_DAYS}&propertyName=n&eventName=view_item`);
    expect(numbers[0]).toEqual({ value: '7', total: 3 });
    const berlin = await ok('fields', `${TWO_DAYS}&propertyName=at&timezone=Europe/Berlin`);
    expect(berlin).toEqual([
      { propertyName: 'at', dataType: 4, value: '2026-11-25 08:00:00', total: 1 },
    ]);
  });

  test("the event list's hasData says the same: a page view's properties are no data", async () => {
    const res = await t.get(`/api/websites/${WEBSITE}/events?${FIRST_DAY}`);
    const events = ((await res.json()) as { data: Json[] }).data;
    expect(events.map((e) => [e.urlPath, e.eventType, e.hasData])).toEqual([
      ['/pricing', 1, false],
      ['/pricing', 2, true],
      ['/', 1, false],
    ]);
  });

  test('hasData is false for a custom event whose data is only nulls and empty objects', async () => {
    const day = `startAt=${at('2026-11-25T07:20:00Z')}&endAt=${at('2026-11-25T07:25:00Z')}`;
    const cases: Json[] = [{ gone: null }, { cart: {} }, { cart: { items: null } }, { qty: 0 }];
    for (const [i, data] of cases.entries()) {
      await send(`2026-11-25T07:2${i}:00Z`, { url: '/cart', name: `cart${i}`, data });
    }
    const res = await t.get(`/api/websites/${WEBSITE}/events?${day}`);
    const events = ((await res.json()) as { data: Json[] }).data;
    expect(events.map((e) => [e.eventName, e.hasData])).toEqual([
      ['cart3', true],
      ['cart2', false],
      ['cart1', false],
      ['cart0', false],
    ]);
    expect(await ok('properties', day)).toEqual([
      { eventName: 'cart3', propertyName: 'qty', total: 1 },
    ]);
  });

  test("numbers past 1e21 are JavaScript's, as Umami's toFixed(4) and JSON.stringify write them", async () => {
    // Umami's getStringValue stores a number as parseFloat(value).toFixed(4), which writes
    // 1e+21 from 1e21 up (and 100000000000000000000.0000 below); an array as JSON.stringify.
    // DuckDB writes 1e21: its text of the array was "[1e21,…]".
    const day = `startAt=${at('2026-11-25T07:00:00Z')}&endAt=${at('2026-11-25T07:59:59.999Z')}`;
    const list = [1e21, 'x,1e5,"y"', { k: -2.5e22 }, 1e-7];
    await send('2026-11-25T07:10:00Z', {
      url: '/big',
      name: 'big',
      data: { big: 1e21, neg: -1.5e300, mid: 1e20, list, word: '1e5' },
    });
    await t.engine.store.flusher.flush();
    const stored = await ok('events', `${day}&event=big`);
    expect(Object.fromEntries(stored.map((r) => [r.propertyName, r.propertyValue]))).toEqual({
      big: '1e+21',
      neg: '-1.5e+300',
      mid: '100000000000000000000.0000',
      list: JSON.stringify(list),
      word: '1e5',
    });
    const fields = await ok('fields', day);
    expect(Object.fromEntries(fields.map((r) => [r.propertyName, r.value]))).toEqual({
      big: '1e+21',
      neg: '-1.5e+300',
      mid: '100000000000000000000',
      list: '[1e+21,"x,1e5,\\"y\\"",{"k":-2.5e+22},1e-7]',
      word: '1e5',
    });
    expect(await ok('values', `${day}&propertyName=big`)).toEqual([{ value: '1e+21', total: 1 }]);
  });

  test('events and properties list 500 rows, fields 100; names of 500 characters at most', async () => {
    // 8 events of 63 properties each (an event holds 64 at most): 504 (event, property) pairs,
    // and as many (property, value) pairs.
    for (let i = 0; i < 8; i++) {
      const data = Object.fromEntries(Array.from({ length: 63 }, (_, j) => [`p${j}`, i * 63 + j]));
      await send(`2026-11-25T11:0${i}:00Z`, { url: '/', name: `wide${i}`, data });
    }
    expect(await ok('events')).toHaveLength(500);
    expect(await ok('properties')).toHaveLength(500);
    expect(await ok('fields')).toHaveLength(100);
    for (const name of ['propertyName', 'eventName', 'event']) {
      const long = `${TWO_DAYS}&propertyName=p0&${name}=${'x'.repeat(501)}`;
      const { status, body } = await read('values', long);
      expect(status, name).toBe(400);
      expect(body).toMatchObject({ error: { code: 'bad-request', status: 400 } });
      const fits = `${TWO_DAYS}&propertyName=p0&${name}=${'x'.repeat(500)}`;
      expect((await read('values', fits)).status, name).toBe(200);
    }
  });

  test("bad parameters are Umami's 400", async () => {
    const cases = [
      ['stats', ''],
      ['fields', `startAt=${at('2026-11-25T00:00:00Z')}&endAt=1`],
      ['values', TWO_DAYS],
      ['events', `${TWO_DAYS}&browser=re.Chrome`],
      ['properties', `${TWO_DAYS}&city=Berlin`],
      ['stats', `${TWO_DAYS}&timezone=Mars/Base`],
    ];
    for (const [path, query] of cases) {
      const { status, body } = await read(path as string, query);
      expect(status, `${path}?${query}`).toBe(400);
      expect(body).toMatchObject({ error: { code: 'bad-request', status: 400 } });
    }
  });
});

describe('event data of one event', () => {
  /** The ids of the website's events in the two days, by eventName (null: page views). */
  const idsOf = async (site = WEBSITE) => {
    const res = await t.get(`/api/websites/${site}/events?${TWO_DAYS}&pageSize=50`);
    const { data } = (await res.json()) as { data: Json[] };
    return data.map((e) => ({ id: e.id as string, name: e.eventName, at: String(e.createdAt) }));
  };

  test("each property of one custom event, as Umami's event_data rows, hot and flushed", async () => {
    // Umami's GET …/event-data/:eventId: a 404 in Tally's shape before.
    const events = await idsOf();
    const hot = events.find((e) => e.name === 'signup' && e.at === '2026-11-25T09:11:00.000Z');
    const row = (dataKey: string, dataType: number, stringValue: string) => ({
      websiteId: WEBSITE,
      eventId: hot?.id,
      eventName: 'signup',
      dataKey,
      stringValue,
      numberValue: dataType === 2 ? Number(stringValue) : null,
      dateValue: dataType === 4 ? stringValue : null,
      dataType,
      createdAt: '2026-11-25T09:11:00.000Z',
    });
    expect(await ok(encodeURIComponent(hot?.id as string))).toEqual([
      row('at', 4, '2026-11-25T08:30:00.000Z'),
      row('cart.items', 5, '["a","b"]'),
      row('cart.total', 2, '9.0000'),
      row('plan', 1, 'team'),
      row('seats', 2, '3.5000'),
    ]);
    const flushed = events.find((e) => e.name === 'signup' && e.at.startsWith('2026-11-24'));
    const old = await ok(encodeURIComponent(flushed?.id as string), '');
    expect(old.map((r) => [r.dataKey, r.stringValue, r.createdAt])).toEqual([
      ['plan', 'pro', '2026-11-24T10:05:00.000Z'],
      ['seats', '3.0000', '2026-11-24T10:05:00.000Z'],
      ['trial', 'true', '2026-11-24T10:05:00.000Z'],
    ]);
  });

  test("a page view, an unknown id or another website's event has none", async () => {
    const view = (await idsOf()).find((e) => e.name === null);
    expect(await ok(encodeURIComponent(view?.id as string))).toEqual([]);
    expect(await ok('0193a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b')).toEqual([]);
    expect(await ok('x'.repeat(300))).toEqual([]);
    const [other] = await idsOf(OTHER);
    expect(other?.name).toBe('signup');
    expect(await ok(encodeURIComponent(other?.id as string))).toEqual([]);
    const own = await read(encodeURIComponent(other?.id as string), TWO_DAYS, OTHER);
    expect((own.body as Json[]).map((r) => r.stringValue)).toEqual(['other']);
  });
});

describe('a page of events with their event data', () => {
  type Page = { data: Json[]; count: number; page: number; pageSize: number };
  const list = async (query: string, site = WEBSITE) => {
    const res = await t.get(`/api/websites/${site}/event-data?${query}`);
    return { status: res.status, body: (await res.json()) as Page };
  };

  test("Umami's GET …/event-data: custom events with data, the newest first, paged", async () => {
    // A 404 in Tally's shape before: only …/event-data/:eventId and the lists were served.
    const { status, body } = await list(TWO_DAYS);
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toMatchObject({ count: 3, page: 1, pageSize: 20 });
    const ids = await t.get(`/api/websites/${WEBSITE}/events?${TWO_DAYS}&pageSize=50`);
    const events = ((await ids.json()) as { data: Json[] }).data;
    const idAt = (at: string) => events.find((e) => e.createdAt === at)?.id;
    const prop =
      (createdAt: string) => (dataKey: string, dataType: number, stringValue: string) => ({
        dataKey,
        stringValue,
        numberValue: dataType === 2 ? Number(stringValue) : null,
        dateValue: dataType === 4 ? stringValue : null,
        dataType,
        createdAt,
      });
    const at1 = prop('2026-11-25T09:12:00.000Z');
    const at2 = prop('2026-11-25T09:11:00.000Z');
    const at3 = prop('2026-11-24T10:05:00.000Z');
    const entry = (at: string, eventName: string, eventProperties: unknown[]) => ({
      websiteId: WEBSITE,
      eventId: idAt(at),
      eventName,
      eventProperties,
    });
    expect(body.data).toEqual([
      entry('2026-11-25T09:12:00.000Z', 'purchase', [at1('plan', 1, 'pro')]),
      entry('2026-11-25T09:11:00.000Z', 'signup', [
        at2('at', 4, '2026-11-25T08:30:00.000Z'),
        at2('cart.items', 5, '["a","b"]'),
        at2('cart.total', 2, '9.0000'),
        at2('plan', 1, 'team'),
        at2('seats', 2, '3.5000'),
      ]),
      entry('2026-11-24T10:05:00.000Z', 'signup', [
        at3('plan', 1, 'pro'),
        at3('seats', 2, '3.0000'),
        at3('trial', 3, 'true'),
      ]),
    ]);
    // The second page of two; a page past the last is empty, with the count.
    const second = await list(`${TWO_DAYS}&page=2&pageSize=2`);
    expect(second.body).toMatchObject({ count: 3, page: 2, pageSize: 2 });
    expect(second.body.data.map((e) => e.eventId)).toEqual([idAt('2026-11-24T10:05:00.000Z')]);
    const past = await list(`${TWO_DAYS}&page=9`);
    expect(past.body).toEqual({ data: [], count: 3, page: 9, pageSize: 20 });
  });

  test('the range and filters; another website; bad parameters are a 400', async () => {
    const names = async (query: string, site = WEBSITE) =>
      (await list(query, site)).body.data.map((e) => [e.eventName, e.eventProperties]);
    expect((await list(FIRST_DAY)).body.count).toBe(1);
    expect((await list(`${TWO_DAYS}&path=/blog&event=purchase`)).body).toMatchObject({
      count: 1,
      data: [{ eventName: 'purchase' }],
    });
    const other = await names(TWO_DAYS, OTHER);
    expect(other).toEqual([['signup', [expect.objectContaining({ stringValue: 'other' })]]]);
    for (const query of ['', `${TWO_DAYS}&pageSize=501`, `${TWO_DAYS}&browser=re.Chrome`]) {
      const { status, body } = await list(query);
      expect(status, query).toBe(400);
      expect(body).toMatchObject({ error: { code: 'bad-request', status: 400 } });
    }
  });
});
