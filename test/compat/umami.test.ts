// Umami: the unmodified @umami/node client against a real socket (page views, custom events and
// identify, with Umami's {cache, sessionId, visitId} answer), then /api/send and /api/batch at
// the protocol level: per-item errors, the 500-item limit, site aliases in required mode, and
// the item types that count as no event (identify, stored uncounted with data; performance and
// error, not stored).

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { Umami } from '@umami/node';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
/** An id over 128 characters as Segment and PostHog store it: its start, `~`, a digest. */
const fitted = (id: string) =>
  `${id.slice(0, 111)}~${new Bun.CryptoHasher('sha256').update(id).digest('hex').slice(0, 16)}`;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('@umami/node against Tally', () => {
  let server: CompatServer;
  beforeAll(async () => {
    server = await startCompatServer();
  });
  afterAll(() => server.close());

  test('page views and events arrive, identify is no event; answers carry session and visit', async () => {
    const umami = new Umami({ websiteId: WEBSITE, hostUrl: server.url });
    const answers: Json[] = [];
    const pages = ['/', '/pricing', '/pricing', '/docs'];
    for (const url of pages) {
      const res = await umami.track({ url, hostname: 'example.com', title: `Page ${url}` });
      expect(res.status).toBe(200);
      answers.push((await res.json()) as Json);
    }
    for (let i = 0; i < 3; i++) {
      const res = await umami.track('signup-button', { plan: i === 0 ? 'pro' : 'free' });
      expect(res.status).toBe(200);
      answers.push((await res.json()) as Json);
    }
    const identify = await umami.identify({ company: 'acme' });
    expect(identify.status).toBe(200);
    for (const a of answers) {
      expect(Object.keys(a).sort()).toEqual(['cache', 'sessionId', 'visitId']);
      expect(a.sessionId).toMatch(UUID);
      expect(a.visitId).toMatch(UUID);
    }
    // One client address and agent: one Umami session, one visit.
    expect(new Set(answers.map((a) => a.sessionId)).size).toBe(1);
    const stats = await server.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`);
    expect(stats).toMatchObject({
      total_events: 7,
      page_views: 4,
      unique_visitors: 1,
      sessions: 1,
    });
    expect(stats.top_paths).toEqual([
      { path: '/pricing', views: 2, visitors: 1 },
      { path: '/', views: 1, visitors: 1 },
      { path: '/docs', views: 1, visitors: 1 },
    ]);
    expect(stats.top_events).toContainEqual({ name: 'signup-button', events: 3, visitors: 1 });
    const names = (stats.top_events as Json[]).map((e) => e.name);
    expect(names.sort()).toEqual(['pageview', 'signup-button']);
    // The identify's data is the session's properties, as Umami's session data reads answer.
    const session = answers[0]?.sessionId as string;
    const properties = await server.getJson(
      `/api/websites/${WEBSITE}/sessions/${session}/properties`,
    );
    expect(properties).toMatchObject([
      { sessionId: session, dataKey: 'company', stringValue: 'acme' },
    ]);
  });

  test("a page named by its path is on its hostname: a referrer there is the site's own", async () => {
    // @umami/node's documented form names the page by its path and the host apart; Umami reads
    // it as https://<hostname><url>, so a referrer on that host is no referrer (self-referral).
    const umami = new Umami({ websiteId: OTHER, hostUrl: server.url });
    const res = await umami.track({
      url: '/docs?x=1',
      hostname: 'www.example.com',
      title: 'Docs',
      referrer: 'https://example.com/pricing',
    });
    expect(res.status).toBe(200);
    const stats = await server.getJson(`/api/v1/stats?tenant_id=${OTHER}`);
    expect(stats.top_referrer_sources).toEqual([
      {
        source: 'Direct / None',
        referrer_source: 'Direct / None',
        visitors: 1,
        visits: 1,
        events: 1,
      },
    ]);
    const { events } = await server.getJson<{ events: Json[] }>(
      `/api/v1/events?tenant_id=${OTHER}`,
    );
    expect(events.map((e) => [e.url, e.path])).toEqual([
      ['https://www.example.com/docs?x=1', '/docs'],
    ]);
    const now = Date.now();
    const range = `startAt=${now - 3_600_000}&endAt=${now + 3_600_000}`;
    const referrers = await server.getJson<unknown>(
      `/api/websites/${OTHER}/metrics?type=referrer&${range}`,
    );
    expect(referrers).toEqual([]);
  });

  test('a landing URL over the url limit keeps its campaign tags and click id', async () => {
    // Umami saves utm_* and the click ids apart from the URL, so its campaign reads keep them
    // whatever the length of the rest of the query (a sign-in token, say).
    const THIRD = '0c1f6e2a-3b4d-4c5e-8f60-718293a4b5c6';
    const umami = new Umami({ websiteId: THIRD, hostUrl: server.url });
    const query = `token=${'t'.repeat(2100)}&utm_source=newsletter&utm_medium=email&gclid=abc`;
    const res = await umami.track({ url: `/landing?${query}`, hostname: 'example.com' });
    expect(res.status).toBe(200);
    const { events } = await server.getJson<{ events: Json[] }>(
      `/api/v1/events?tenant_id=${THIRD}`,
    );
    expect(events.map((e) => [e.url, e.path])).toEqual([
      ['https://example.com/landing?utm_source=newsletter&utm_medium=email&gclid=abc', '/landing'],
    ]);
    const stats = await server.getJson(`/api/v1/stats?tenant_id=${THIRD}`);
    expect(stats.top_utm_sources).toMatchObject([{ utm_source: 'newsletter' }]);
  });
});

describe('Umami collection API', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp();
  });
  afterEach(() => t.close());

  const item = (payload: Json = {}, type = 'event') => ({
    type,
    payload: { website: WEBSITE, url: '/x', hostname: 'ex.com', ...payload },
  });

  test('/api/send maps payload fields; id is the user; a different agent is a new session', async () => {
    const ua = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15' };
    const first = (await (await t.post('/api/send', item({ id: 'user-7' }), ua)).json()) as Json;
    const second = (await (
      await t.post('/api/send', item({ name: 'clicked', data: { n: 1 } }), {
        'user-agent': 'curl/8.0',
      })
    ).json()) as Json;
    expect(first.sessionId).not.toBe(second.sessionId);
    const timestamp = Math.floor(T0 / 1000) - 3600;
    await t.post('/api/send', item({ referrer: 'https://google.com/', timestamp }), ua);
    const events = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.events.map((e) => [e.name, e.path, e.user_id, e.os])).toEqual([
      ['pageview', '/x', 'user-7', 'MacOS'],
      ['clicked', '/x', null, 'Other'],
      ['pageview', '/x', null, 'MacOS'],
    ]);
    const older = events.events[2] as Json;
    expect(older.timestamp).toBe(new Date(T0 - 3_600_000).toISOString());
    expect(older.referrer).toBe('https://google.com/');
    expect((events.events[1] as Json).properties).toEqual({ n: 1, $hostname: 'ex.com' });
  });

  test("an empty ip or userAgent is none: the request's stand in, as Umami's `||` reads them", async () => {
    // Umami's getClientInfo: `payload?.ip || getIpAddress(headers)`, and so the userAgent. A
    // server-side sender forwarding `ip: req.ip ?? ''` must not make its visitors one session.
    const proxied = await makeCompatApp({ trustProxy: true });
    try {
      const chrome = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0 Safari/537.36';
      const send = async (payload: Json, address: string) => {
        const headers = { 'x-forwarded-for': address, 'user-agent': chrome };
        proxied.clock.advance(1000);
        const res = await proxied.post('/api/send', item(payload), headers);
        expect(res.status).toBe(200);
        return ((await res.json()) as Json).sessionId;
      };
      const a = await send({}, '198.51.100.1');
      expect(await send({ ip: '' }, '198.51.100.1')).toBe(a);
      expect(await send({ ip: '', userAgent: '' }, '198.51.100.1')).toBe(a);
      const b = await send({ ip: '', userAgent: '' }, '198.51.100.2');
      expect(b).not.toBe(a);
      const { events } = await proxied.getJson<{ events: Json[] }>(
        `/api/v1/events?tenant_id=${WEBSITE}`,
      );
      expect(events.map((e) => [e.anonymous_id, e.user_agent, e.browser])).toEqual([
        [b, chrome, 'Chrome'],
        [a, chrome, 'Chrome'],
        [a, chrome, 'Chrome'],
        [a, chrome, 'Chrome'],
      ]);
    } finally {
      await proxied.close();
    }
  });

  test("a page sent without a hostname (or an empty one) has its URL's, as Umami saves it", async () => {
    // Umami's send route saves `hostname || urlDomain` (the URL's host without www.): a sender
    // naming the page by its whole URL alone (@umami/node's `track({ url })`) is on that host
    // for the hostname metric and filter.
    const page = (payload: Json, ip: string) =>
      t.post(
        '/api/send',
        { type: 'event', payload: { website: WEBSITE, ip, ...payload } },
        {
          'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0',
        },
      );
    const sent = [
      { url: 'https://www.shop.example/a' },
      { url: 'https://shop.example/b', hostname: '' },
      { url: '/c', hostname: 'docs.example' },
      { url: '/d' },
    ];
    for (const [i, payload] of sent.entries()) {
      expect((await page(payload, `198.51.100.${i + 1}`)).status).toBe(200);
    }
    const range = `startAt=${T0 - 3_600_000}&endAt=${T0 + 3_600_000}`;
    const base = `/api/websites/${WEBSITE}`;
    expect(await t.getJson<Json[]>(`${base}/metrics?type=hostname&${range}`)).toEqual([
      { x: 'shop.example', y: 2 },
      { x: 'docs.example', y: 1 },
    ]);
    expect(await t.getJson(`${base}/stats?hostname=shop.example&${range}`)).toMatchObject({
      pageviews: 2,
      visitors: 2,
    });
  });

  test('a restart keeps the session of the month and the visit its cache carries', async () => {
    // Umami's session is (website, address, agent, month) under its persisted secret: one
    // visitor across a restart. Before, the key was drawn at each start, so a restart made
    // every visitor of the month a new session, a second visitor in every read.
    const ua = { 'user-agent': 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15' };
    const before = (await (await t.post('/api/send', item(), ua)).json()) as Json;
    await t.restart();
    t.clock.advance(10 * 60_000);
    const cache = { ...ua, 'x-umami-cache': before.cache as string };
    const after = (await (await t.post('/api/send', item({ url: '/y' }), cache)).json()) as Json;
    expect(after.sessionId).toBe(before.sessionId);
    expect(after.visitId).toBe(before.visitId);
    const stats = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`);
    expect(stats).toMatchObject({ page_views: 2, unique_visitors: 1, visits: 1 });
  });

  test('text over a limit is cut as Umami cuts it, not refused; the path keeps the hash', async () => {
    // The tracker sends location.href whole: an ad click's long query, a hash-routed page.
    const tail = `gclid=${'g'.repeat(2100)}`;
    const res = await t.post('/api/send', {
      type: 'event',
      payload: {
        website: WEBSITE,
        hostname: 'example.com',
        url: `https://example.com/app?${tail}#/settings`,
        referrer: `https://mail.example.net/read?${tail}`,
        name: `n${'x'.repeat(150)}`,
        id: `u${'y'.repeat(150)}`,
        title: 'T'.repeat(600),
        userAgent: `Mozilla/5.0 (X11; Linux x86_64) ${'Ext/1.0 '.repeat(150)}`,
      },
    });
    expect(res.status).toBe(200);
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events).toHaveLength(1);
    const [stored] = events as [Json];
    expect(stored).toMatchObject({
      url: 'https://example.com/app',
      path: '/app#/settings',
      referrer: 'https://mail.example.net/read',
      name: `n${'x'.repeat(119)}`,
      user_id: fitted(`u${'y'.repeat(150)}`),
    });
    expect((stored.properties as Json).$title).toBe('T'.repeat(500));
    expect((stored.user_agent as string).length).toBe(1024);
    // Umami's url_path is the path and hash: each hash route is a page of its own (an empty
    // id is none, as in Umami).
    await t.post('/api/send', item({ url: 'https://example.com/app#/billing' }));
    await t.post('/api/send', item({ url: '/app#/billing', id: '' }));
    await t.post('/api/send', item({ url: '/app#/team' }));
    const stats = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`);
    expect(stats.top_paths).toEqual([
      { path: '/app#/billing', views: 2, visitors: 1 },
      { path: '/app#/team', views: 1, visitors: 1 },
    ]);
    // A path filter names the page with its hash, `#` escaped in the query string; the path
    // alone is another page, as in Umami.
    const team = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}&path=/app%23/team`);
    expect(team.total_events).toBe(1);
    const bare = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}&path=/app`);
    expect(bare.total_events).toBe(0);
  });

  test('hostname, screen, language and tag over 500 characters are cut to 500, as title is', async () => {
    const long = (c: string) => c.repeat(600);
    const res = await t.post('/api/send', {
      type: 'event',
      payload: {
        website: WEBSITE,
        url: 'https://example.com/a',
        hostname: `${long('h')}.example`,
        screen: long('s'),
        language: long('l'),
        tag: long('t'),
      },
    });
    expect(res.status).toBe(200);
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events[0]?.properties).toMatchObject({
      $hostname: 'h'.repeat(500),
      $screen: 's'.repeat(500),
      $language: 'l'.repeat(500),
      $tag: 't'.repeat(500),
    });
  });

  test('two ids over 128 characters alike in their first 128 stay two people and sessions', async () => {
    // A plain cut to 128 made them one user_id and one Umami session (its key is the id).
    const prefix = `org:acme:team:${'t'.repeat(120)}:user:`;
    const answers: Json[] = [];
    for (const id of [`${prefix}alice`, `${prefix}bob`, `${prefix}alice`]) {
      const res = await t.post('/api/send', item({ id }));
      expect(res.status).toBe(200);
      answers.push((await res.json()) as Json);
    }
    expect(answers[0]?.sessionId).not.toBe(answers[1]?.sessionId);
    expect(answers[2]?.sessionId).toBe(answers[0]?.sessionId);
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.map((e) => e.user_id).sort()).toEqual(
      [fitted(`${prefix}alice`), fitted(`${prefix}alice`), fitted(`${prefix}bob`)].sort(),
    );
    expect(fitted(`${prefix}alice`)).toHaveLength(128);
    const stats = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`);
    expect(stats.unique_visitors).toBe(2);
  });

  test('a timestamp in digits and an engagement item are taken, as Umami coerces them', async () => {
    const seconds = Math.floor(T0 / 1000) - 60;
    const res = await t.post('/api/send', item({ timestamp: String(seconds) }));
    expect(res.status).toBe(200);
    const engagement = await t.post('/api/send', item({ engagement: 42_000 }, 'engagement'));
    expect(engagement.status).toBe(200);
    expect(Object.keys((await engagement.json()) as Json).sort()).toEqual([
      'cache',
      'sessionId',
      'visitId',
    ]);
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.map((e) => [e.name, e.timestamp])).toEqual([
      ['pageview', new Date(seconds * 1000).toISOString()],
    ]);
  });

  test('a timestamp of "" or null is 0, as Umami\'s z.coerce.number() reads it', async () => {
    // Umami (src/app/api/send/request-schema.ts): `timestamp: z.coerce.number().int()
    // .optional()`, so Number("") and Number(null), 0, are its time: 1970-01-01.
    const sent: [unknown, string][] = [
      ['', '1970-01-01T00:00:00.000Z'],
      [null, '1970-01-01T00:00:00.000Z'],
      [' 60 ', '1970-01-01T00:01:00.000Z'],
      ['-60', '1969-12-31T23:59:00.000Z'],
    ];
    for (const [timestamp] of sent) {
      const res = await t.post('/api/send', item({ timestamp }));
      expect(res.status).toBe(200);
    }
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.map((e) => e.timestamp).sort()).toEqual(sent.map(([, at]) => at).sort());
    for (const timestamp of [1.5, 'soon', {}]) {
      expect((await t.post('/api/send', item({ timestamp }))).status).toBe(400);
    }
  });

  test("bad items are 400 in Umami's error shape and store nothing", async () => {
    const cases = [
      item({ website: 'not-a-uuid' }),
      { type: 'pageleave', payload: { website: WEBSITE } },
      { type: 'error', payload: { website: 'not-a-uuid' } },
      { type: 'event' },
      item({ timestamp: 'yesterday' }),
    ];
    for (const body of cases) {
      const res = await t.post('/api/send', body);
      expect(res.status).toBe(400);
      const error = ((await res.json()) as { error: Json }).error;
      expect(error).toMatchObject({ code: 'bad-request', status: 400 });
    }
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(0);
  });

  test('a timestamp past the year 9999 is a 400 naming it, and costs a batch no item', async () => {
    // 15 digits pass the shape Umami coerces, but as milliseconds they are no date: deriving
    // the item's session from that time threw, a 500 for the request (a whole batch lost).
    const seconds = 999_999_999_999_999;
    const one = await t.post('/api/send', item({ timestamp: seconds }));
    expect(one.status).toBe(400);
    const error = ((await one.json()) as { error: Json }).error;
    expect(error).toMatchObject({ code: 'bad-request', status: 400 });
    expect(error.message).toContain('timestamp');
    const res = await t.post('/api/batch', [
      item({ url: '/a' }),
      item({ timestamp: String(seconds) }),
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ size: 2, processed: 1, errors: 1 });
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(1);
  });

  test('a timestamp before the year 0000 is a 400 too; its first second is taken', async () => {
    // README: within the years 0000 to 9999, a 400 beyond. -62167219200 is 0000-01-01T00:00:00Z.
    const first = await t.post('/api/send', item({ timestamp: -62_167_219_200 }));
    expect(first.status).toBe(200);
    const before = await t.post('/api/send', item({ timestamp: -62_167_219_201 }));
    expect(before.status).toBe(400);
    const error = ((await before.json()) as { error: Json }).error;
    expect(error).toMatchObject({ code: 'bad-request', status: 400 });
    expect(error.message).toContain('timestamp');
    const { events } = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${WEBSITE}`);
    expect(events.map((e) => e.timestamp)).toEqual(['0000-01-01T00:00:00.000Z']);
  });

  test('/api/batch stores the good items and reports each bad one by index', async () => {
    const res = await t.post('/api/batch', [
      item({ url: '/a' }),
      item({ website: 'nope' }),
      item({ url: '/b' }, 'identify'),
      item({ website: OTHER, url: '/c' }),
    ]);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ size: 4, processed: 3, errors: 1 });
    const details = body.details as { index: number; response: { error: Json } }[];
    expect(details.map((d) => [d.index, d.response.error.status])).toEqual([[1, 400]]);
    // The identify item is processed, as Umami does, but is no event.
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(1);
    expect((await t.getJson(`/api/v1/stats?tenant_id=${OTHER}`)).total_events).toBe(1);
    const over = await t.post(
      '/api/batch',
      Array.from({ length: 501 }, () => item()),
    );
    expect(over.status).toBe(413);
    expect(((await over.json()) as { error: Json }).error.code).toBe('payload-too-large');
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(1);
  });

  test('on /api/batch, performance, engagement and error items count as processed', async () => {
    // README: "`identify`, `performance`, `engagement` and `error` items count as processed, as
    // in Umami"; none is an event.
    const res = await t.post('/api/batch', [
      item({ url: '/a' }),
      item({ lcp: 1200, inp: 80 }, 'performance'),
      item({ engagement: 42_000 }, 'engagement'),
      { type: 'error', payload: { website: WEBSITE, name: 'TypeError', message: 'x' } },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ size: 4, processed: 4, errors: 0 });
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(1);
  });

  test('a 413 for an event too large once stored names its item in the request', async () => {
    // The 413 named the event's place among the events stored (body.0 here: the identify item
    // without data is not stored), not its item in the request (body.1). The engine is made to
    // find `heavy` too large once encoded (no Umami field reaches 40 KB stored: each is cut).
    const ingestor = t.engine.ingestor;
    const ingest = ingestor.ingest.bind(ingestor);
    ingestor.ingest = async (events) => {
      const index = events.findIndex((e) => e.name === 'heavy');
      if (index === -1) return ingest(events);
      return { kind: 'too_large', index, bytes: 41_000 };
    };
    const res = await t.post('/api/batch', [
      item({}, 'identify'),
      item({ url: '/a' }),
      item({ name: 'heavy' }),
    ]);
    expect(res.status).toBe(413);
    const error = ((await res.json()) as { error: Json }).error;
    expect(error.message).toStartWith('the event at body.2 is 41000 bytes stored');
    expect((await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`)).total_events).toBe(0);
  });

  test('identify, performance and error items are answered as Umami does, counted as no event', async () => {
    const ua = { 'user-agent': 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/131.0.0.0' };
    const page = (await (await t.post('/api/send', item(), ua)).json()) as Json;
    const identify = await t.post(
      '/api/send',
      item({ id: 'user-7', data: { plan: 'pro' } }, 'identify'),
      ua,
    );
    expect(identify.status).toBe(200);
    expect(Object.keys((await identify.json()) as Json).sort()).toEqual([
      'cache',
      'sessionId',
      'visitId',
    ]);
    // What the tracker sends with data-performance="true": web vitals of the page.
    const vitals = { lcp: 1200, inp: 80, cls: 0.02, fcp: 900, ttfb: 120, duration: 15_000 };
    const performance = await t.post('/api/send', item(vitals, 'performance'), ua);
    expect(performance.status).toBe(200);
    expect(((await performance.json()) as Json).sessionId).toBe(page.sessionId);
    const report = {
      version: 1,
      website: WEBSITE,
      eventId: 'b7f1c1de-2f6d-4c55-9a0e-7f3c2a1d9e10',
      timestamp: T0,
      name: 'TypeError',
      message: 'x is undefined',
      url: 'https://ex.com/x',
    };
    const error = await t.post('/api/send', { type: 'error', payload: report }, ua);
    expect(error.status).toBe(200);
    expect(await error.json()).toEqual({ ok: false, reason: 'errors_disabled' });
    const stats = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}`);
    expect(stats).toMatchObject({ total_events: 1, page_views: 1 });
    expect(stats.top_events).toEqual([{ name: 'pageview', events: 1, visitors: 1 }]);
  });

  test('overload is a 503 for the whole request, nothing stored', async () => {
    const full = await makeCompatApp({ engine: { diskFreeBytesMin: 2 ** 60 } });
    try {
      const res = await full.post('/api/batch', [item(), item()]);
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    } finally {
      await full.close();
    }
  });

  test('CORS: the JSON beacon gets its preflight and the allow-origin header', async () => {
    const pre = await t.handle(new Request('http://localhost/api/send', { method: 'OPTIONS' }));
    expect(pre.status).toBe(204);
    // The tracker's fetch sends these beside its JSON; the browser asks for each.
    const trackerHeaders = 'content-type,x-umami-website-id,x-umami-hostname,x-umami-cache';
    const allowed = (pre.headers.get('access-control-allow-headers') ?? '').replaceAll(' ', '');
    for (const name of trackerHeaders.split(',')) expect(allowed.split(',')).toContain(name);
    const browser = await t.handle(
      new Request('http://localhost/api/send', {
        method: 'OPTIONS',
        headers: {
          origin: 'https://example.com',
          'access-control-request-method': 'POST',
          'access-control-request-headers': trackerHeaders,
        },
      }),
    );
    expect(browser.status).toBe(204);
    expect(browser.headers.get('access-control-allow-origin')).toBe('*');
    expect(browser.headers.get('access-control-allow-headers')).toBe(trackerHeaders);
    const res = await t.post('/api/send', item());
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});

describe('Umami website aliases in required mode', () => {
  test('a registered website writes to its project; an unknown one is 403', async () => {
    const t = await makeCompatApp({ tenancy: keyTenancy({ [WEBSITE]: 'acme' }) });
    try {
      const ok = await t.post('/api/send', { type: 'event', payload: { website: WEBSITE } });
      expect(ok.status).toBe(200);
      const refused = await t.post('/api/send', { type: 'event', payload: { website: OTHER } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: Json }).error.code).toBe('forbidden');
      const batch = await t.post('/api/batch', [
        { type: 'event', payload: { website: OTHER } },
        { type: 'event', payload: { website: WEBSITE } },
      ]);
      expect(await batch.json()).toMatchObject({ size: 2, processed: 1, errors: 1 });
      expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(2);
    } finally {
      await t.close();
    }
  });
});
