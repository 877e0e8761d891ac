// Segment: the unmodified @segment/analytics-node client against a real socket (exact counts
// after closeAndFlush, a retried batch stored once), then the HTTP Tracking API's rules at the
// protocol level: write key places, every call type, 400 for limits, 503 for overload.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Analytics } from '@segment/analytics-node';
import { requestLimits } from '../../src/core/index.ts';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

/** An id over 128 characters as stored: its first 111, `~`, 16 hex digits of its SHA-256. */
const fitted = (id: string) =>
  `${id.slice(0, 111)}~${new Bun.CryptoHasher('sha256').update(id).digest('hex').slice(0, 16)}`;

describe('@segment/analytics-node against Tally', () => {
  let server: CompatServer;
  let proxy: FaultProxy;
  beforeAll(async () => {
    server = await startCompatServer();
    proxy = startFaultProxy(server.url);
  });
  afterAll(async () => {
    proxy.close();
    await server.close();
  });

  const client = (host: string) =>
    new Analytics({ writeKey: 'wk_test', host, flushAt: 15, flushInterval: 100, maxRetries: 3 });

  test('N tracks and pages arrive exactly, messageId as event_id', async () => {
    const analytics = client(server.url);
    const statuses: number[] = [];
    const sentIds: string[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.on('http_request', (r) => {
      const sent = JSON.parse(r.body) as { batch: { messageId: string }[] };
      sentIds.push(...sent.batch.map((m) => m.messageId));
    });
    for (let i = 0; i < 40; i++) {
      analytics.track({ userId: `user-${i % 4}`, event: i % 2 ? 'Item Viewed' : 'Signed Up' });
    }
    for (let i = 0; i < 10; i++) {
      analytics.page({
        anonymousId: `anon-${i % 5}`,
        name: 'Pricing',
        properties: { path: '/pricing', url: 'https://example.com/pricing' },
      });
    }
    await analytics.closeAndFlush();
    expect(statuses.length).toBeGreaterThanOrEqual(4);
    expect(statuses.every((s) => s === 200)).toBe(true);
    const stats = await server.getJson('/api/v1/stats?tenant_id=default');
    expect(stats).toMatchObject({
      total_events: 50,
      page_views: 10,
      unique_users: 4,
      unique_visitors: 9,
    });
    expect(stats.top_paths).toEqual([{ path: '/pricing', views: 10, visitors: 5 }]);
    expect(stats.top_events).toEqual([
      { name: 'Item Viewed', events: 20, visitors: 2 },
      { name: 'Signed Up', events: 20, visitors: 2 },
      { name: 'page', events: 10, visitors: 5 },
    ]);
    expect(sentIds).toHaveLength(50);
    const stored = await server.getJson(`/api/v1/events/${sentIds[0]}`);
    expect(stored).toMatchObject({ event_id: sentIds[0], name: 'Signed Up', user_id: 'user-0' });
  });

  test('a batch whose answer was lost is retried by the client and stored once', async () => {
    const analytics = client(proxy.url);
    proxy.failNext('/v1/batch');
    for (let i = 0; i < 12; i++) analytics.track({ userId: 'retry-user', event: 'Retried' });
    await analytics.closeAndFlush();
    expect(proxy.log.map((l) => l.status)).toEqual([502, 200]);
    const stats = await server.getJson('/api/v1/stats?tenant_id=default&name=Retried');
    expect(stats.total_events).toBe(12);
  });

  test('page, then identify and track with userId and anonymousId: one device', async () => {
    // As analytics.js sends it (one anonymousId before and after identify), with the node
    // client, which takes the ids as given: the page is anonymous, the sign-up a user's.
    const analytics = client(server.url);
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    const anonymousId = 'anon-device-1';
    const url = 'https://example.com/plans';
    // The page a day before the sign-up (calls of one millisecond would convert in messageId
    // order, which is random).
    const now = Date.now();
    const ids = { anonymousId, timestamp: new Date(now - 86_400_000) };
    analytics.page({ ...ids, name: 'Plans', properties: { path: '/plans', url } });
    const user = { userId: 'user-ada', anonymousId, timestamp: new Date(now) };
    analytics.identify({ ...user, traits: { email: 'ada@example.com' } });
    analytics.track({ ...user, event: 'Plan Signed Up' });
    await analytics.closeAndFlush();
    expect(statuses.every((s) => s === 200)).toBe(true);
    const funnel = async (by: string) => {
      const answer = await server.getJson<{ steps: { count: number }[] }>(
        `/api/v1/funnel?step=path:/plans&step=name:Plan%20Signed%20Up&by=${by}`,
      );
      return answer.steps.map((step) => step.count);
    };
    expect(await funnel('device')).toEqual([1, 1]);
    expect(await funnel('visitor')).toEqual([1, 0]);
    // Yesterday's and today's cohorts (the 2 days to now): yesterday's viewer came back.
    const cohorts = async (by: string) => {
      const answer = await server.getJson<{ cohorts: { returned: number[] }[] }>(
        `/api/v1/cohorts?start=path:/plans&return=name:Plan%20Signed%20Up&periods=2&by=${by}`,
      );
      return answer.cohorts.map((c) => c.returned);
    };
    expect(await cohorts('device')).toEqual([[1, 1], [0]]);
    expect(await cohorts('visitor')).toEqual([[1, 0], [0]]);
  });

  test("a landing page's long URL, referrer and agent are kept, cut, as Segment keeps them", async () => {
    // Within Segment's 32 KB a message: an ad click's long query string, a webmail referrer
    // with a token, a user agent with many extensions' tokens.
    const analytics = client(server.url);
    const statuses: number[] = [];
    const sentIds: string[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.on('http_request', (r) => {
      sentIds.push(
        ...(JSON.parse(r.body) as { batch: { messageId: string }[] }).batch.map((m) => m.messageId),
      );
    });
    const query = `?utm_source=ads&fbclid=${'f'.repeat(2100)}`;
    analytics.page({
      anonymousId: 'anon-long',
      name: 'Landing',
      properties: {
        path: '/landing',
        url: `https://example.com/landing${query}`,
        search: query,
        referrer: `https://mail.example.net/read?token=${'t'.repeat(2100)}`,
      },
      context: { userAgent: `Mozilla/5.0 (X11; Linux x86_64) ${'Ext/1.0 '.repeat(150)}` },
    });
    await analytics.closeAndFlush();
    expect(statuses).toEqual([200]);
    const stored = await server.getJson(`/api/v1/events/${sentIds[0]}`);
    expect(stored).toMatchObject({
      path: '/landing',
      url: 'https://example.com/landing?utm_source=ads', // its campaign tag kept: its source
      referrer: 'https://mail.example.net/read',
      os: 'Linux',
    });
    expect((stored.user_agent as string).length).toBe(1024);
  });

  test('a message over 32 KB that the client sends in a batch is stored, its properties cut', async () => {
    // analytics-node 3.1 means to keep a message within 32 KB, but measures it as
    // encodeURI(json).split(/%..|i/).length (context-batch.ts): the count of `i`s and escapes,
    // not bytes. So it sends this one and, on the batch's 200, reports it delivered.
    const analytics = client(server.url);
    const sentIds: string[] = [];
    analytics.on('http_request', (r) => {
      sentIds.push(
        ...(JSON.parse(r.body) as { batch: { messageId: string }[] }).batch.map((m) => m.messageId),
      );
    });
    const delivered: (string | undefined)[] = [];
    const notes = ['a'.repeat(40_000), 'short'];
    for (const note of notes) {
      analytics.track(
        { userId: 'big-user', event: 'Note Saved', properties: { note, n: 1 } },
        (err) => delivered.push(err === undefined ? 'ok' : String(err)),
      );
    }
    await analytics.closeAndFlush();
    expect(delivered).toEqual(['ok', 'ok']);
    expect(sentIds).toHaveLength(2);
    const big = await server.getJson(`/api/v1/events/${sentIds[0]}`);
    expect(big.properties).toEqual({ n: 1, $tally_cut: ['note'] });
    const small = await server.getJson(`/api/v1/events/${sentIds[1]}`);
    expect(small.properties).toEqual({ note: 'short', n: 1 });
  });

  test('a messageId over 128 characters is kept as its start and digest: a resend is once', async () => {
    // analytics-node sends any messageId it is given (Segment dedupes on it, whatever its
    // length); left out under the batch's 200, the event was lost without a word.
    const analytics = client(server.url);
    const outcomes: string[] = [];
    const long = (n: number) =>
      `order-7731:line-${n}:${'shipment-2026-11-27T10:00:00Z:'.repeat(5)}`;
    for (const n of [1, 1, 2]) {
      analytics.track({ userId: 'u-long', event: 'Line Shipped', messageId: long(n) }, (err) =>
        outcomes.push(err === undefined ? 'ok' : String(err)),
      );
    }
    await analytics.closeAndFlush();
    expect(outcomes).toEqual(['ok', 'ok', 'ok']);
    expect(long(1).length).toBeGreaterThan(128);
    const stats = await server.getJson('/api/v1/stats?tenant_id=default&name=Line%20Shipped');
    expect(stats.total_events).toBe(2);
    const digest = new Bun.CryptoHasher('sha256').update(long(1)).digest('hex').slice(0, 16);
    const id = `${long(1).slice(0, 111)}~${digest}`;
    const stored = await server.getJson(`/api/v1/events/${encodeURIComponent(id)}`);
    expect(stored).toMatchObject({ event_id: id, name: 'Line Shipped', user_id: 'u-long' });
  });

  test('a userId or anonymousId over 128 characters is kept as its start and digest', async () => {
    // analytics-node sends any id it is given (Segment takes ids of any length within its 32 KB
    // a message); left out under the batch's 200, the event was lost without a word.
    const analytics = client(server.url);
    const outcomes: string[] = [];
    const person = (n: number) => `tenant-9:org-4:${'member-of-the-long-team-name:'.repeat(5)}${n}`;
    const done = (err?: unknown) => outcomes.push(err === undefined ? 'ok' : String(err));
    analytics.track({ userId: person(1), event: 'Long Id', messageId: 'long-u1' }, done);
    analytics.track({ userId: person(2), event: 'Long Id', messageId: 'long-u2' }, done);
    analytics.track({ anonymousId: person(3), event: 'Long Id', messageId: 'long-a3' }, done);
    await analytics.closeAndFlush();
    expect(outcomes).toEqual(['ok', 'ok', 'ok']);
    expect(person(1).slice(0, 128)).toBe(person(2).slice(0, 128));
    const stored = async (id: string) => server.getJson(`/api/v1/events/${id}`);
    expect(await stored('long-u1')).toMatchObject({ user_id: fitted(person(1)) });
    expect(await stored('long-a3')).toMatchObject({
      user_id: null,
      anonymous_id: fitted(person(3)),
    });
    // Two people alike in their first 128 characters stay two.
    const stats = await server.getJson('/api/v1/stats?tenant_id=default&name=Long%20Id');
    expect(stats).toMatchObject({ total_events: 3, unique_users: 2, unique_visitors: 3 });
  });

  test('an event name over 120 characters is kept as its start and digest, never left out', async () => {
    // Segment takes an event name of any length (within its 32 KB a message): a name built from
    // a link's text or a URL is one. Left out under the batch's 200, the event was lost.
    const analytics = client(server.url);
    const outcomes: string[] = [];
    const done = (err?: unknown) => outcomes.push(err === undefined ? 'ok' : String(err));
    const name = (n: number) =>
      `Clicked ${'https://shop.example/collections/winter/'.repeat(3)}${n}`;
    analytics.track({ userId: 'u-name', event: name(1), messageId: 'long-name-1' }, done);
    analytics.track({ userId: 'u-name', event: name(1), messageId: 'long-name-1b' }, done);
    analytics.track({ userId: 'u-name', event: name(2), messageId: 'long-name-2' }, done);
    await analytics.closeAndFlush();
    expect(outcomes).toEqual(['ok', 'ok', 'ok']);
    expect(name(1).length).toBeGreaterThan(120);
    const digest = new Bun.CryptoHasher('sha256').update(name(1)).digest('hex').slice(0, 16);
    const stored = `${name(1).slice(0, 103)}~${digest}`;
    expect(await server.getJson('/api/v1/events/long-name-1')).toMatchObject({ name: stored });
    // One name is one stored name; two alike in their first 120 characters stay two.
    const stats = await server.getJson<{ top_events: unknown[] }>(
      `/api/v1/stats?tenant_id=default&user_id=u-name`,
    );
    expect(stats.top_events).toEqual([
      { name: stored, events: 2, visitors: 1 },
      { name: expect.stringMatching(/~[0-9a-f]{16}$/), events: 1, visitors: 1 },
    ]);
  });

  test('a batch the client sends over 500 KB is stored, not refused whole', async () => {
    // The same measure keeps analytics-node's batches under 480 KB only by their count
    // (flushAt, 15 by default): 15 messages of 40 KB are one 600 KB request. A 400 would drop
    // all 15 (its callbacks get the error); Tally takes a batch up to its own 5 MiB.
    const analytics = client(server.url);
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    const outcomes: string[] = [];
    for (let i = 0; i < 15; i++) {
      analytics.track(
        { userId: 'wide-user', event: 'Wide Batch', properties: { i, note: 'b'.repeat(40_000) } },
        (err) => outcomes.push(err === undefined ? 'ok' : String(err)),
      );
    }
    await analytics.closeAndFlush();
    expect(statuses).toEqual([200]);
    expect(outcomes).toEqual(Array(15).fill('ok'));
    const stats = await server.getJson('/api/v1/stats?tenant_id=default&name=Wide%20Batch');
    expect(stats.total_events).toBe(15);
  });
});

describe('Segment HTTP Tracking API', () => {
  let t: CompatApp;
  const tenancy = keyTenancy({});
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy });
  });
  afterEach(() => t.close());

  const basic = (key: string) => ({
    authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}`,
  });
  const track = (extra: Json = {}) => ({
    type: 'track',
    messageId: `m-${Math.random()}`,
    userId: 'u1',
    event: 'Clicked',
    timestamp: new Date(T0).toISOString(),
    ...extra,
  });

  test('a page URL over the url limit keeps the campaign tags and click ids of its query', async () => {
    const query = `code=${'x'.repeat(3000)}&utm_campaign=winter&msclkid=m1`;
    const page = track({
      type: 'page',
      messageId: 'long-url',
      properties: { url: `https://ex.com/in?${query}`, path: '/in' },
    });
    expect((await t.post('/v1/batch', { batch: [page] }, basic('wk_acme'))).status).toBe(200);
    expect(await t.getJson('/api/v1/events/long-url?tenant_id=acme')).toMatchObject({
      url: 'https://ex.com/in?utm_campaign=winter&msclkid=m1',
      path: '/in',
    });
  });

  test('the write key comes from Basic auth or the body, and picks the project', async () => {
    const viaBasic = await t.post('/v1/batch', { batch: [track()] }, basic('wk_acme'));
    expect(viaBasic.status).toBe(200);
    expect(await viaBasic.json()).toEqual({ success: true });
    const viaBody = await t.post('/v1/batch', { writeKey: 'wk_globex', batch: [track()] });
    expect(viaBody.status).toBe(200);
    expect(tenancy.keys.slice(-2)).toEqual(['wk_acme', 'wk_globex']);
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(1);
    expect((await t.getJson('/api/v1/stats?tenant_id=globex')).total_events).toBe(1);
    const noKey = await t.post('/v1/batch', { batch: [track()] });
    expect(noKey.status).toBe(401);
    const badKey = await t.post('/v1/track', track(), basic('nope'));
    expect(badKey.status).toBe(401);
  });

  test('a messageId of . or .. is stored as sent: only the native API refuses such ids', async () => {
    const batch = [track({ messageId: '.' }), track({ messageId: '..' })];
    expect((await t.post('/v1/batch', { batch }, basic('wk_acme'))).status).toBe(200);
    const listed = await t.getJson<{ events: { event_id: string }[] }>(
      '/api/v1/events?tenant_id=acme',
    );
    expect(listed.events.map((e) => e.event_id).sort()).toEqual(['.', '..']);
  });

  test("/v1/import takes analytics-ruby's batch: Basic key, Ruby's ISO times, a number id", async () => {
    // analytics-ruby's Transport: POST /v1/import, {sentAt, batch}, the write key as the Basic
    // user, each message as its FieldParser writes it (`timestamp` with a zone offset).
    const at = new Date(T0).toISOString().replace('Z', '+00:00');
    const message = {
      type: 'track',
      event: 'Created Account',
      userId: 42,
      properties: { plan: 'pro' },
      context: { library: { name: 'analytics-ruby', version: '2.5.0' } },
      messageId: 'b1a6e3a6-4f2f-4a53-9c1b-3c5a9e0f6d21',
      timestamp: at,
    };
    const res = await t.post('/v1/import', JSON.stringify({ sentAt: at, batch: [message] }), {
      ...basic('wk_acme'),
      accept: 'application/json',
      'user-agent': 'analytics-ruby/2.5.0',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    expect(await t.getJson(`/api/v1/events/${message.messageId}?tenant_id=acme`)).toMatchObject({
      name: 'Created Account',
      user_id: '42',
      timestamp: new Date(T0).toISOString(),
      properties: { plan: 'pro' },
    });
  });

  test('every call type maps onto the unified event', async () => {
    const key = basic('wk_acme');
    const calls: [string, Json][] = [
      ['track', { messageId: 'c-track', event: 'Bought', properties: { price: 9 } }],
      [
        'page',
        {
          messageId: 'c-page',
          name: 'Home',
          properties: { url: 'https://ex.com/home?x=1', referrer: 'https://google.com/' },
        },
      ],
      ['screen', { messageId: 'c-screen', name: 'Settings' }],
      ['identify', { messageId: 'c-identify', traits: { plan: 'pro' } }],
      ['group', { messageId: 'c-group', groupId: 'g1', traits: { size: 10 } }],
      ['alias', { messageId: 'c-alias', previousId: 'anon-1' }],
    ];
    for (const [type, extra] of calls) {
      const res = await t.post(`/v1/${type}`, { userId: 'u1', ...extra }, key);
      expect(res.status).toBe(200);
    }
    const read = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
    expect(await read('c-track')).toMatchObject({ name: 'Bought', properties: { price: 9 } });
    expect(await read('c-page')).toMatchObject({
      name: 'page',
      path: '/home',
      url: 'https://ex.com/home?x=1',
      referrer: 'https://google.com/',
      properties: { name: 'Home' },
    });
    expect(await read('c-screen')).toMatchObject({
      name: 'screen',
      properties: { name: 'Settings' },
    });
    expect(await read('c-identify')).toMatchObject({ name: 'identify', user_id: 'u1' });
    expect(await read('c-group')).toMatchObject({ properties: { groupId: 'g1', size: 10 } });
    expect(await read('c-alias')).toMatchObject({ properties: { previousId: 'anon-1' } });
    // The same messageId again is stored once.
    await t.post('/v1/track', { userId: 'u1', messageId: 'c-track', event: 'Bought' }, key);
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(6);
  });

  test('identify, group and alias end no bounce: a one-page visit that identifies is one', async () => {
    // They say who someone is, not what they did: counted as interactive, a site calling
    // identify at every page load (as analytics.js apps do) had no bounce at all.
    const key = basic('wk_acme');
    const at = (s: number) => new Date(T0 + s * 1000).toISOString();
    const page = (id: string, anonymousId: string, s: number, path: string) => ({
      messageId: id,
      anonymousId,
      timestamp: at(s),
      properties: { path, url: `https://ex.com${path}` },
    });
    const sent = [
      ['page', page('p-a', 'anon-a', 0, '/')],
      [
        'identify',
        { messageId: 'i-a', anonymousId: 'anon-a', traits: { plan: 'pro' }, timestamp: at(1) },
      ],
      ['group', { messageId: 'g-a', anonymousId: 'anon-a', groupId: 'g1', timestamp: at(2) }],
      ['alias', { messageId: 'l-a', anonymousId: 'anon-a', previousId: 'old', timestamp: at(3) }],
      ['page', page('p-b', 'anon-b', 0, '/')],
      ['track', { messageId: 't-b', anonymousId: 'anon-b', event: 'Clicked', timestamp: at(5) }],
    ] as const;
    for (const [type, body] of sent)
      expect((await t.post(`/v1/${type}`, body, key)).status).toBe(200);
    // anon-a: a page and who they are, a bounce; anon-b: a page and a track, no bounce (one
    // visitor each: with a userId, the identify would be another visitor's, its own visit).
    const stats = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25');
    expect(stats).toMatchObject({ total_events: 6, page_views: 2, visits: 2, bounce_rate: 50 });
    for (const id of ['i-a', 'g-a', 'l-a']) {
      const stored = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      expect([id, (stored.properties as Json).$interactive]).toEqual([id, false]);
    }
    const track = await t.getJson('/api/v1/events/t-b?tenant_id=acme');
    expect((track.properties as Json).$interactive).toBeUndefined();
  });

  test('a null name or category is none: the properties keep their own name and category', async () => {
    // analytics.js (classic: `if (name) properties.name = name`) and @segment/analytics-next's
    // EventFactory (`if (page !== null) event.name = page`) never send or copy a null name; an
    // HTTP client's `name: null` names no page and must not overwrite the page's own name.
    const key = basic('wk_acme');
    const own = { name: 'Pricing', category: 'Docs', path: '/pricing' };
    const sends: [string, string, Json][] = [
      ['page', 'n-page', { name: null, category: null, properties: own }],
      ['screen', 'n-screen', { name: null, category: null, properties: own }],
      ['page', 'n-bare', { name: null, properties: { path: '/' } }],
    ];
    for (const [type, messageId, extra] of sends) {
      const res = await t.post(`/v1/${type}`, { userId: 'u1', messageId, ...extra }, key);
      expect(res.status).toBe(200);
    }
    const read = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
    expect(await read('n-page')).toMatchObject({ name: 'page', path: '/pricing', properties: own });
    expect(await read('n-screen')).toMatchObject({ name: 'screen', properties: own });
    expect((await read('n-bare')).properties).toEqual({ path: '/' });
  });

  test("an alias's previousId is its anonymous_id unless it sends an anonymousId", async () => {
    const key = basic('wk_acme');
    const alias = (messageId: string, extra: Json) =>
      t.post('/v1/alias', { type: 'alias', userId: 'u1', messageId, ...extra }, key);
    // analytics-node: userId and previousId only.
    expect((await alias('a-node', { previousId: 'anon-1' })).status).toBe(200);
    // analytics.js: its anonymousId too (the browser), which stays the anonymous_id.
    expect((await alias('a-js', { previousId: 'u0', anonymousId: 'anon-2' })).status).toBe(200);
    // Over 128 characters: its start and a digest, as any Segment id.
    expect((await alias('a-long', { previousId: 'p'.repeat(129) })).status).toBe(200);
    // Another call's previousId is no id of it.
    const track = { type: 'track', event: 'Clicked', previousId: 'anon-3' };
    expect(
      (await t.post('/v1/track', { userId: 'u1', messageId: 't', ...track }, key)).status,
    ).toBe(200);
    const ids = async (id: string) => {
      const e = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      return [e.user_id, e.anonymous_id, e.visitor_id];
    };
    expect(await ids('a-node')).toEqual(['u1', 'anon-1', 'u1']);
    expect(await ids('a-js')).toEqual(['u1', 'anon-2', 'u1']);
    expect(await ids('a-long')).toEqual(['u1', fitted('p'.repeat(129)), 'u1']);
    expect(await ids('t')).toEqual(['u1', null, 'u1']);
    const stored = await t.getJson('/api/v1/events/a-node?tenant_id=acme');
    expect(stored.properties).toEqual({ previousId: 'anon-1', $interactive: false });
  });

  test('bad input and limits are 400 (not retried) and store nothing', async () => {
    const key = basic('wk_acme');
    const cases: Json[] = [
      // Over Tally's 5 MiB a request (Segment documents 500 KB: see the SDK's test).
      {
        batch: Array.from({ length: 180 }, () => track({ properties: { b: 'y'.repeat(30_000) } })),
      },
      { batch: [track({ userId: undefined })] },
      { batch: [track({ type: 'launch' })] },
      { batch: [track({ event: undefined })] },
      { batch: [track({ timestamp: '2030-01-01T00:00:00Z' })] },
      { batch: [track({ event: '   ' }), 'not a message'] },
      { batch: [] },
    ];
    for (const body of cases) {
      const res = await t.post('/v1/batch', body, key);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).code).toBe('bad_request');
    }
    const notJson = await t.post('/v1/track', '{nope', key);
    expect(notJson.status).toBe(400);
    // A single call over Tally's 5 MiB (Segment documents 32 KB: see analytics.js's test).
    const single = track({ type: undefined, properties: { blob: 'x'.repeat(5 * 1024 * 1024) } });
    const tooLarge = await t.post('/v1/track', single, key);
    expect(tooLarge.status).toBe(400);
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(0);
  });

  test('a batch over 5,000 messages is a 400, as every ingest route caps a batch', async () => {
    // Within 5 MiB a request of small messages holds some 100,000 of them: each becomes an
    // event held in memory and one commit, where every other route stops at batchEventsMax.
    const over = requestLimits.batchEventsMax + 1;
    const batch = Array.from({ length: over }, (_, i) => ({
      type: 'track',
      userId: 'u',
      event: 'e',
      messageId: `m${i}`,
    }));
    const res = await t.post('/v1/batch', { batch }, basic('wk_acme'));
    expect(res.status).toBe(400);
    const body = (await res.json()) as Json;
    expect(body.code).toBe('bad_request');
    expect(String(body.detail)).toContain(`at most ${requestLimits.batchEventsMax}`);
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(0);
    const most = await t.post('/v1/batch', { batch: batch.slice(1) }, basic('wk_acme'));
    expect(most.status).toBe(200);
  });
});

describe('Segment batches, clocks and analytics.js paths', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy: keyTenancy({}) });
  });
  afterEach(() => t.close());

  const key = { authorization: `Basic ${Buffer.from('wk_acme:').toString('base64')}` };
  const read = (id: string) => t.get(`/api/v1/events/${id}?tenant_id=acme`);
  const msg = (messageId: string, extra: Json = {}) => ({
    type: 'track',
    messageId,
    userId: 'u1',
    event: 'Clicked',
    ...extra,
  });

  test("a batch's own context is every message's context, under the message's own", async () => {
    // Segment's HTTP Tracking API: a batch body has `context` and `integrations` beside
    // `batch`, applying to every call in it (its BatchCall schema; Customer.io's compatible
    // API documents the same); the Rust `segment` crate (docs.rs, message::Batch { batch,
    // context, integrations }) sends them there: a device's `userAgent` and `page` once.
    const safari =
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
      '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1';
    const firefox = 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0';
    const page = {
      url: 'https://ex.com/pricing?plan=pro',
      referrer: 'https://news.ycombinator.com/',
    };
    const res = await t.post(
      '/v1/batch',
      {
        batch: [
          msg('ctx-shared'),
          msg('ctx-own', { context: { userAgent: firefox, page: { url: 'https://ex.com/docs' } } }),
        ],
        context: { userAgent: safari, page, device: { type: 'phone' } },
        integrations: { All: true },
      },
      { ...key, 'user-agent': 'analytics-go (version: 3.3.0)' },
    );
    expect(res.status).toBe(200);
    expect(await (await read('ctx-shared')).json()).toMatchObject({
      user_agent: safari,
      os: 'iOS',
      device: 'mobile',
      url: page.url,
      path: '/pricing',
      referrer: page.referrer,
    });
    expect(await (await read('ctx-own')).json()).toMatchObject({
      user_agent: firefox,
      browser: 'Firefox',
      url: 'https://ex.com/docs',
      path: '/docs',
      referrer: null,
    });
  });

  test("a track's page is its context.page, not the url or path among its properties", async () => {
    // @segment/analytics-next 1.84.3, core/page/add-page-context.js: only a `page` call's
    // properties are page fields; every call gets the current page in context.page. A track's
    // properties are the app's: Segment's e-commerce spec gives "Product Clicked" a `url`
    // (the product's page), clicked on a listing page.
    const page = {
      path: '/shop',
      referrer: 'https://www.google.com/',
      search: '?sort=new',
      title: 'Shop',
      url: 'https://ex.com/shop?sort=new',
    };
    const product = { product_id: 'p-42', url: 'https://ex.com/p/42', path: '/p/42' };
    const res = await t.post(
      '/v1/batch',
      {
        batch: [
          msg('clicked', { event: 'Product Clicked', properties: product, context: { page } }),
          msg('viewed', { type: 'page', properties: { ...page, path: '/p/42', url: product.url } }),
          msg('both', {
            type: 'page',
            properties: { path: '/p/42', url: product.url, referrer: 'https://ex.com/shop' },
            context: { page },
          }),
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    expect(await (await read('clicked')).json()).toMatchObject({
      url: page.url,
      path: '/shop',
      referrer: page.referrer,
      properties: product,
    });
    // A page call's properties are its page, before its context.page.
    expect(await (await read('viewed')).json()).toMatchObject({ url: product.url, path: '/p/42' });
    // Also where it has a context.page of its own (another page's): its properties win.
    expect(await (await read('both')).json()).toMatchObject({
      url: product.url,
      path: '/p/42',
      referrer: 'https://ex.com/shop',
    });
  });

  test("context.campaign is the event's utm_* properties, its own properties first", async () => {
    // analytics-next 1.84 (plugins/env-enrichment): context.campaign is the page query's utm_*
    // keys without the prefix, utm_campaign as `name`; a mobile library sends it with no URL.
    const campaign = {
      name: 'spring',
      source: 'newsletter',
      medium: 'email',
      term: 'shoes',
      content: 'hero',
      id: 42,
      empty: '',
    };
    const res = await t.post(
      '/v1/batch',
      {
        batch: [
          msg('camp-track', { properties: { plan: 'pro' }, context: { campaign } }),
          msg('camp-own', { properties: { utm_source: 'ads' }, context: { campaign } }),
          msg('camp-screen', { type: 'screen', name: 'Home', context: { campaign } }),
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    const tags = {
      utm_campaign: 'spring',
      utm_source: 'newsletter',
      utm_medium: 'email',
      utm_term: 'shoes',
      utm_content: 'hero',
      utm_id: '42',
    };
    expect((await (await read('camp-track')).json()).properties).toEqual({ ...tags, plan: 'pro' });
    expect((await (await read('camp-own')).json()).properties).toEqual({
      ...tags,
      utm_source: 'ads',
    });
    expect((await (await read('camp-screen')).json()).properties).toEqual({
      ...tags,
      name: 'Home',
    });
    const byTag = await t.getJson<{ events: Json[] }>(
      '/api/v1/events?tenant_id=acme&property.utm_campaign=spring',
    );
    expect(byTag.events).toHaveLength(3);
  });

  test('messages that break a rule are left out and named; the rest are stored', async () => {
    const res = await t.post(
      '/v1/batch',
      {
        batch: [
          msg('ok-1'),
          msg('bad-1', { timestamp: '2030-01-01T00:00:00Z' }),
          'not a message',
          msg('ok-2'),
          msg('bad-2', { userId: undefined }),
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    const body = (await res.json()) as { success: boolean; dropped: Json[] };
    expect(body.success).toBe(true);
    expect(body.dropped.map((d) => d.index)).toEqual([1, 2, 4]);
    expect(String(body.dropped[0]?.reason)).toContain('batch.1.timestamp');
    expect(String(body.dropped[1]?.reason)).toBe('batch.2 must be an object');
    expect(String(body.dropped[2]?.reason)).toBe('batch.4 needs a userId or an anonymousId');
    expect((await read('ok-1')).status).toBe(200);
    expect((await read('ok-2')).status).toBe(200);
    expect((await read('bad-1')).status).toBe(404);
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(2);
  });

  // README "The event": property keys that become one as U+FFFD are the native API's 422; the
  // SDK protocols, which take no 422, keep the event with the keys merged.
  test('property keys that differ only in lone surrogates are merged, the message kept', async () => {
    const sent =
      '{"type":"track","messageId":"lone","userId":"u1","event":"E",' +
      '"properties":{"\\ud800":1,"\\ud801":2}}';
    const res = await t.post('/v1/track', sent, { ...key, 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    const stored = (await (await read('lone')).json()) as Json;
    expect(Object.keys(stored.properties as Json)).toEqual(['\ufffd']);
  });

  test('a message too large only once stored is left out like any other', async () => {
    // Its url, path, referrer and user agent at their limits in characters, each escaped to 6
    // bytes (`\u0001`): over the 40 KB an event may take stored, which nothing cuts further.
    const control = '\u0001';
    const heavy = msg('heavy', {
      type: 'page',
      properties: { url: `https://ex.com/${control.repeat(2030)}` },
      context: {
        page: { path: `/${control.repeat(2040)}`, referrer: `https://r/${control.repeat(2030)}` },
        userAgent: control.repeat(1024),
      },
    });
    const res = await t.post('/v1/batch', { batch: [msg('good-1'), heavy, msg('good-2')] }, key);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { dropped: { index: number; reason: string }[] };
    expect(body.dropped.map((d) => d.index)).toEqual([1]);
    expect(body.dropped[0]?.reason).toContain('bytes stored; an event may be at most 40960 bytes');
    expect((await read('good-1')).status).toBe(200);
    expect((await read('good-2')).status).toBe(200);
    expect((await read('heavy')).status).toBe(404);
  });

  test('the client time is corrected for the client clock by sentAt, as Segment does', async () => {
    const HOUR = 3_600_000;
    const iso = (ms: number) => new Date(ms).toISOString();
    const fast = T0 + 30 * HOUR; // a client clock 30 h fast
    const slow = T0 - 2 * HOUR; // a client clock 2 h slow
    const res = await t.post(
      '/v1/batch',
      {
        sentAt: iso(fast),
        batch: [
          msg('skew-1', { originalTimestamp: iso(fast - 10_000) }),
          msg('skew-2', { originalTimestamp: iso(fast - 1_000), sentAt: iso(fast + HOUR) }),
          // What analytics-node, analytics.js and the mobile SDKs send: `timestamp`, no
          // originalTimestamp; it is the client's time and wins over originalTimestamp.
          msg('sdk-fast', { timestamp: iso(fast - 10_000) }),
          msg('sdk-slow', { timestamp: iso(slow - 60_000), sentAt: iso(slow) }),
          msg('both', { timestamp: iso(fast - 5_000), originalTimestamp: iso(fast - HOUR) }),
          // Without a zone a time is UTC.
          msg('naive', { timestamp: '2026-11-20T08:30:00', sentAt: '2026-11-20T08:30:05' }),
        ],
      },
      key,
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ success: true });
    const timeOf = async (id: string) =>
      Date.parse(String(((await (await read(id)).json()) as Json).timestamp));
    expect(await timeOf('skew-1')).toBe(T0 - 10_000);
    expect(await timeOf('skew-2')).toBe(T0 - HOUR - 1_000);
    expect(await timeOf('sdk-fast')).toBe(T0 - 10_000);
    expect(await timeOf('sdk-slow')).toBe(T0 - 60_000);
    expect(await timeOf('both')).toBe(T0 - 5_000);
    expect(await timeOf('naive')).toBe(T0 - 5_000);
  });

  test('without sentAt the client time is kept as sent (an import through the HTTP API)', async () => {
    const res = await t.post(
      '/v1/batch',
      {
        batch: [
          msg('kept', { timestamp: new Date(T0 - 3_600_000).toISOString() }),
          msg('naive', { timestamp: '2026-11-20T08:30:00' }),
          msg('naive-original', { originalTimestamp: '2026-11-20T09:00:00' }),
        ],
      },
      key,
    );
    expect(await res.json()).toEqual({ success: true });
    const timeOf = async (id: string) =>
      Date.parse(String(((await (await read(id)).json()) as Json).timestamp));
    expect(await timeOf('kept')).toBe(T0 - 3_600_000);
    expect(await timeOf('naive')).toBe(Date.parse('2026-11-20T08:30:00Z'));
    expect(await timeOf('naive-original')).toBe(Date.parse('2026-11-20T09:00:00Z'));
  });

  test("analytics.js's short paths (/v1/t, p, i, s, g, a, b) take text/plain with the body's key", async () => {
    const text = { 'content-type': 'text/plain' };
    const calls: [string, Json][] = [
      ['t', { event: 'Clicked' }],
      ['p', { name: 'Home', properties: { url: 'https://ex.com/home' } }],
      ['i', { traits: { plan: 'pro' } }],
      ['s', { name: 'Settings' }],
      ['g', { groupId: 'g1' }],
      ['a', { previousId: 'anon-1' }],
    ];
    for (const [short, extra] of calls) {
      const body = JSON.stringify({
        writeKey: 'wk_acme',
        userId: 'u1',
        messageId: short,
        ...extra,
      });
      const res = await t.post(`/v1/${short}`, body, text);
      expect(res.status).toBe(200);
    }
    const batch = JSON.stringify({ writeKey: 'wk_acme', batch: [msg('b-1'), msg('b-2')] });
    expect((await t.post('/v1/b', batch, text)).status).toBe(200);
    const names = await Promise.all(
      ['t', 'p', 'i', 's', 'g', 'a', 'b-1'].map(async (id) => {
        return ((await (await read(id)).json()) as Json).name;
      }),
    );
    expect(names).toEqual(['Clicked', 'page', 'identify', 'screen', 'group', 'alias', 'Clicked']);
    const preflight = await t.handle(
      new Request('http://localhost/v1/t', {
        method: 'OPTIONS',
        headers: { origin: 'https://shop.example', 'access-control-request-method': 'POST' },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });

  test('a single call over 32 KB, as analytics.js sends it, is stored with its properties cut', async () => {
    // analytics.js measures no single call (fetch-dispatcher.js) and drops one answered 400
    // (NonRetryableError): refused, the event was lost in the browser.
    const text = { 'content-type': 'text/plain' };
    const body = JSON.stringify({
      writeKey: 'wk_acme',
      anonymousId: 'anon-wide',
      event: 'Form Saved',
      messageId: 'wide-single',
      properties: { form: 'f'.repeat(40_000), step: 2 },
    });
    const res = await t.post('/v1/t', body, text);
    expect(res.status).toBe(200);
    const stored = (await (await read('wide-single')).json()) as Json;
    expect(stored.properties).toEqual({ step: 2, $tally_cut: ['form'] });
  });
});

describe("analytics.js's usage metrics", () => {
  test('/v1/m is answered as Segment answers it, across origins, and nothing is stored', async () => {
    const t = await makeCompatApp();
    try {
      // What analytics-next posts every 30 s to the apiHost it was given for Segment.io.
      const series = [
        {
          type: 'Counter',
          metric: 'analytics_js.invoke',
          value: 1,
          tags: { method: 'track', library: 'analytics.js', library_version: 'npm:next-1.84.3' },
        },
      ];
      const text = { 'content-type': 'text/plain', origin: 'https://shop.example' };
      const res = await t.post('/v1/m', JSON.stringify({ series }), text);
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ success: true });
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect((await t.post('/v1/m', '{"series": 1}', text)).status).toBe(400);
      expect((await t.post('/v1/m', '{"series": [', text)).status).toBe(400);
      // Over 64 KiB: a 400, as Segment answers a body too large.
      const oversize = JSON.stringify({ series: [], pad: 'x'.repeat(64 * 1024) });
      expect((await t.post('/v1/m', oversize, text)).status).toBe(400);
      const stats = await t.getJson('/api/v1/stats?tenant_id=default&bots=include');
      expect(stats.total_events).toBe(0);
    } finally {
      await t.close();
    }
  });
});

describe('Segment overload', () => {
  test('a store that cannot take writes answers 503 with Retry-After (clients retry)', async () => {
    const t = await makeCompatApp({ engine: { diskFreeBytesMin: 2 ** 60 } });
    try {
      const res = await t.post('/v1/batch', {
        writeKey: 'any',
        batch: [{ type: 'track', userId: 'u', event: 'e' }],
      });
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    } finally {
      await t.close();
    }
  });
});
