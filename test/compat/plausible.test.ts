// Plausible Events API at the protocol level: the tracker's text/plain beacon {n,u,d,r,p}, the
// visitor hash from User-Agent and X-Forwarded-For, domain lists, hash routing, engagement
// (time and scroll depth on events; the tracker's engagement beacons stored but not counted:
// more in plausible-engagement.test.ts), its 400
// `errors` body, domain aliases in required mode, overload. (The real tracker in a real
// browser is test/e2e/plausible.test.ts.)

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { connect } from 'node:net';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { startCompatServer } from './helpers/compat-server.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;
const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/131.0.0.0 Safari/537.36';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const beacon = (body: Json, ip = '203.0.113.7', ua = CHROME) =>
  t.post('/api/event', JSON.stringify(body), {
    'content-type': 'text/plain',
    'user-agent': ua,
    'x-forwarded-for': `${ip}, 10.0.0.1`,
  });
const stats = (site: string) => t.getJson(`/api/v1/stats?tenant_id=${site}`);

describe('Plausible POST /api/event', () => {
  test('a pageview beacon is 202 "ok" and counts as a page view of its domain', async () => {
    const res = await beacon({
      n: 'pageview',
      u: 'https://example.com/pricing?plan=pro',
      d: 'example.com',
      r: 'https://news.ycombinator.com/',
      v: 36,
    });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const s = await stats('example.com');
    expect(s).toMatchObject({ total_events: 1, page_views: 1, unique_visitors: 1 });
    expect(s.top_paths).toEqual([{ path: '/pricing', views: 1, visitors: 1 }]);
    expect(s.top_referrers).toEqual([
      { referrer: 'https://news.ycombinator.com/', events: 1, visitors: 1 },
    ]);
    expect(s.browsers).toEqual([{ browser: 'Chrome', events: 1, visitors: 1 }]);
  });

  test('visitors are told apart by X-Forwarded-For and User-Agent', async () => {
    const view = { n: 'pageview', u: 'https://example.com/', d: 'example.com' };
    await beacon(view, '198.51.100.1');
    await beacon(view, '198.51.100.1');
    await beacon(view, '198.51.100.2');
    await beacon(view, '198.51.100.2', `${CHROME} Edg/131.0`);
    const s = await stats('example.com');
    expect(s).toMatchObject({ page_views: 4, unique_visitors: 3 });
  });

  // Plausible's RemoteIP: the first header sent of X-Plausible-IP, CF-Connecting-IP,
  // B-Forwarded-For, X-Forwarded-For, Forwarded (for=), without port or brackets. Four beacons
  // by two addresses of the header tried, each with another address in every header after it:
  // two visitors when that header is the one read (three by any header after it).
  const ipHeaders = [
    'x-plausible-ip',
    'cf-connecting-ip',
    'b-forwarded-for',
    'x-forwarded-for',
  ] as const;
  for (const [rank, header] of ipHeaders.entries()) {
    test(`visitors are told apart by ${header} before the headers after it`, async () => {
      const view = JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: header });
      const sent = [
        ['198.51.100.1', '203.0.113.1'],
        ['198.51.100.1:8080', '203.0.113.2'],
        ['[2001:db8::1]', '203.0.113.3'],
        ['[2001:DB8::1]:443', '203.0.113.1'],
      ];
      for (const [ip, other] of sent as [string, string][]) {
        const later = ipHeaders.slice(rank + 1).map((name) => [name, `${other}, 10.0.0.1`]);
        const headers = {
          'content-type': 'text/plain',
          'user-agent': CHROME,
          ...Object.fromEntries(later),
          forwarded: `for=${other}`,
          [header]: header.endsWith('-for') ? `${ip}, 10.0.0.9` : ip,
        };
        expect((await t.post('/api/event', view, headers)).status).toBe(202);
      }
      expect(await stats(header)).toMatchObject({ page_views: 4, unique_visitors: 2 });
    });
  }

  test('visitors are told apart by the first for= of Forwarded, without port or quotes', async () => {
    const view = JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' });
    const sent = [
      'for=198.51.100.1',
      'for=198.51.100.1:8080;proto=https, for=203.0.113.1',
      'for="[2001:db8::1]:4711";proto=https',
      'proto=https;for="[2001:db8::1]", for=198.51.100.1',
    ];
    for (const forwarded of sent) {
      const headers = { 'content-type': 'text/plain', 'user-agent': CHROME, forwarded };
      expect((await t.post('/api/event', view, headers)).status).toBe(202);
    }
    expect(await stats('example.com')).toMatchObject({ page_views: 4, unique_visitors: 2 });
  });

  // A header sent on two lines reaches the route joined, "a, b" (the Fetch Headers API, as over
  // a socket): Plausible's RemoteIP takes the first value of each (List.first), so "a" is read.
  test('a header sent twice is read by its first value, one visitor with it sent once', async () => {
    const view = JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' });
    const lines = [
      ['x-plausible-ip', '198.51.100.1:8080'],
      ['x-plausible-ip', '203.0.113.9'],
      ['cf-connecting-ip', '[2001:db8::1]'],
      ['cf-connecting-ip', '203.0.113.9'],
      ['b-forwarded-for', '198.51.100.2, 10.0.0.1'],
      ['b-forwarded-for', '203.0.113.9'],
      ['forwarded', 'for=198.51.100.3;proto=https'],
      ['forwarded', 'for=203.0.113.9'],
    ] as const;
    for (let i = 0; i < lines.length; i += 2) {
      for (const twice of [lines.slice(i, i + 2), lines.slice(i, i + 1)]) {
        const headers = new Headers({ 'content-type': 'text/plain', 'user-agent': CHROME });
        for (const [name, value] of twice) headers.append(name, value);
        const init = { method: 'POST', headers, body: view };
        const res = await t.handle(new Request('http://localhost/api/event', init));
        expect(res.status).toBe(202);
      }
    }
    // Four addresses, each sent once and twice: four visitors, none of them 203.0.113.9.
    expect(await stats('example.com')).toMatchObject({ page_views: 8, unique_visitors: 4 });
  });

  test('an empty header is passed over; a Forwarded without for= is no address, not a 500', async () => {
    const view = JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' });
    const send = (headers: Record<string, string>) =>
      t.post('/api/event', view, {
        'content-type': 'text/plain',
        'user-agent': CHROME,
        ...headers,
      });
    expect((await send({ 'x-plausible-ip': '', 'x-forwarded-for': '198.51.100.1' })).status).toBe(
      202,
    );
    expect((await send({ 'cf-connecting-ip': '', forwarded: 'for=198.51.100.2' })).status).toBe(
      202,
    );
    expect((await send({ forwarded: 'proto=https;by=203.0.113.43' })).status).toBe(202);
    expect(await stats('example.com')).toMatchObject({ page_views: 3, unique_visitors: 3 });
  });

  test('its events make visits without session ids; a non-interactive one leaves a bounce', async () => {
    const view = { n: 'pageview', u: 'https://example.com/', d: 'example.com' };
    // One visitor: a page view and a non-interactive event (still a bounce, as Plausible).
    await beacon(view, '198.51.100.1');
    await beacon(
      { n: 'Scroll', u: 'https://example.com/', d: 'example.com', i: false },
      '198.51.100.1',
    );
    expect(await stats('example.com')).toMatchObject({ sessions: 0, visits: 1, bounce_rate: 100 });
    // Another: a page view and a custom event, not a bounce.
    await beacon(view, '198.51.100.2');
    await beacon({ n: 'Signup', u: 'https://example.com/', d: 'example.com' }, '198.51.100.2');
    expect(await stats('example.com')).toMatchObject({
      visits: 2,
      bounce_rate: 50,
      views_per_visit: 1,
    });
  });

  test('a domain list writes one event per site; long field names work too', async () => {
    const res = await beacon({
      name: 'pageview',
      url: 'https://example.com/',
      domain: 'example.com, rollup.example',
    });
    expect(res.status).toBe(202);
    expect((await stats('example.com')).page_views).toBe(1);
    expect((await stats('rollup.example')).page_views).toBe(1);
  });

  test('a site named twice in a list, with www. or not, gets one event', async () => {
    // Plausible writes an event per domain of `d`, so one site named twice counted the page
    // view twice; one page view is one event of its site.
    const res = await beacon({
      n: 'pageview',
      u: 'https://example.com/',
      d: 'example.com,www.example.com, example.com,rollup.example',
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-plausible-dropped')).toBeNull();
    expect((await stats('example.com')).page_views).toBe(1);
    expect((await stats('rollup.example')).page_views).toBe(1);
  });

  test('a name of a list no site can have is left out and counted; alone it is a 400', async () => {
    // As Plausible drops a domain it has no site of: the list's other sites are written, where
    // the name's 400 lost their page views.
    const view = { n: 'pageview', u: 'https://example.com/' };
    const res = await beacon({ ...view, d: 'example.com,https://rollup.example/,a b' });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('x-plausible-dropped')).toBe('2');
    expect((await stats('example.com')).page_views).toBe(1);
    const alone = await beacon({ ...view, d: 'https://rollup.example/,a b' });
    expect(alone.status).toBe(400);
    expect(Object.keys(((await alone.json()) as { errors: Json }).errors)).toEqual(['domain']);
    expect((await stats('example.com')).page_views).toBe(1);
  });

  test('a domain list names at most 10 sites: 11 are a 400, nothing stored', async () => {
    const sites = Array.from({ length: 11 }, (_, i) => `s${i}.example`);
    const res = await beacon({ n: 'pageview', u: 'https://s0.example/', d: sites.join(',') });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({ errors: { domain: ['names at most 10 sites'] } });
    expect((await stats('s0.example')).total_events).toBe(0);
    const ten = await beacon({
      n: 'pageview',
      u: 'https://s0.example/',
      d: sites.slice(0, 10).join(','),
    });
    expect(ten.status).toBe(202);
  });

  test('more sites than ACTORS_MAX in one beacon: a 400 naming the request, nothing stored', async () => {
    const small = await makeCompatApp({ engine: { actorsMax: 1 } });
    try {
      const res = await small.post(
        '/api/event',
        JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com,b.example' }),
        { 'content-type': 'text/plain', 'user-agent': CHROME },
      );
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        errors: {
          request: [
            'a batch may name at most 1 tenant on this node (ACTORS_MAX); this one names 2: ' +
              'send fewer tenants per batch',
          ],
        },
      });
      for (const site of ['example.com', 'b.example']) {
        expect((await small.getJson(`/api/v1/stats?tenant_id=${site}`)).total_events).toBe(0);
      }
    } finally {
      await small.close();
    }
  });

  test('custom events with props, hash routing, time and scroll depth', async () => {
    await beacon({
      n: 'Signup',
      u: 'https://example.com/',
      d: 'example.com',
      p: JSON.stringify({ plan: 'pro' }),
      $: { amount: '9.99', currency: 'EUR' },
    });
    await beacon({ n: 'pageview', u: 'https://example.com/app#/settings', d: 'example.com', h: 1 });
    await beacon({
      n: 'Video watched',
      u: 'https://example.com/',
      d: 'example.com',
      e: 5000,
      sd: 40,
    });
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    const byName = Object.fromEntries(list.events.map((e) => [e.name, e]));
    expect(byName.Signup?.properties).toEqual({
      plan: 'pro',
      $revenue: { amount: '9.99', currency: 'EUR' },
    });
    expect(byName.pageview?.path).toBe('/app#/settings');
    expect(byName['Video watched']).toMatchObject({
      duration: 5,
      properties: { $scroll_depth: 40 },
    });
    const s = await stats('example.com');
    expect(s).toMatchObject({ total_events: 3, page_views: 1 });
  });

  test("an event's `e` Plausible would not take is no duration, never a 400", async () => {
    // Plausible reads `e` of engagement beacons only; Tally keeps another event's as its
    // duration when a beacon's would be taken (whole ms, 0 up to 30 days). 1e300 was a 400
    // naming `duration`, a field Plausible has not, and the page view was lost.
    const sent = [1e300, -5, 1.5, '7000', 'soon', 30 * 86_400_000, 2500];
    for (const [i, e] of sent.entries()) {
      const view = { n: 'pageview', u: `https://example.com/${i}`, d: 'example.com', e };
      expect((await beacon(view)).status, String(e)).toBe(202);
    }
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    const durations = Object.fromEntries(list.events.map((e) => [e.path, e.duration]));
    expect(durations).toEqual({
      '/0': null,
      '/1': null,
      '/2': null,
      '/3': 7,
      '/4': null,
      '/5': null,
      '/6': 2.5,
    });
  });

  test("the tracker's engagement beacons are stored per site, not counted", async () => {
    // What @plausible-analytics/tracker sends after a page view when the page is hidden or left.
    const pageview = { n: 'pageview', u: 'https://example.com/pricing', d: 'example.com', v: 36 };
    const engagement = { ...pageview, n: 'engagement', sd: 80, e: 12_000, p: {} };
    expect((await beacon(pageview)).status).toBe(202);
    const res = await beacon({ ...engagement, d: 'example.com,rollup.example' });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('ok');
    expect(res.headers.get('x-plausible-dropped')).toBeNull();
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const bad = await beacon({ ...engagement, u: 'https://exa mple.com/' });
    expect(bad.status).toBe(400);
    expect(await stats('example.com')).toMatchObject({ total_events: 1, page_views: 1 });
    const topEvents = (await stats('example.com')).top_events;
    expect(topEvents).toEqual([{ name: 'pageview', events: 1, visitors: 1 }]);
    expect((await stats('rollup.example')).total_events).toBe(0);
    for (const site of ['example.com', 'rollup.example']) {
      const res = await t.get(`/api/v1/export?tenant_id=${site}&format=ndjson`);
      const names = (await res.text())
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line).name);
      expect(names).toContain('$engagement');
    }
  });

  test('m/meta props, revenue, interactive; the domain without www., else the URL host', async () => {
    const sent = [
      { n: 'A', u: 'https://example.com/', d: 'example.com', m: '{"author":"x"}' },
      { n: 'B', u: 'https://example.com/', d: 'www.example.com', meta: { plan: 'pro' } },
      {
        name: 'Purchase',
        url: 'https://example.com/checkout',
        domain: ' www.example.com ',
        props: { plan: 'pro' },
        revenue: { amount: 12.5, currency: 'EUR' },
        interactive: false,
      },
      { n: 'pageview', u: 'https://www.example.com/no-domain' },
    ];
    for (const body of sent) expect((await beacon(body)).status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    const byName = Object.fromEntries(list.events.map((e) => [e.name, e]));
    expect(list.events).toHaveLength(4);
    expect(byName.A?.properties).toEqual({ author: 'x' });
    expect(byName.B?.properties).toEqual({ plan: 'pro' });
    expect(byName.Purchase?.properties).toEqual({
      plan: 'pro',
      $revenue: { amount: 12.5, currency: 'EUR' },
      $interactive: false,
    });
    expect(byName.pageview?.path).toBe('/no-domain');
  });

  test('a page URL with a query string longer than a stored url keeps its page view', async () => {
    const long = `https://example.com/callback?code=${'x'.repeat(3000)}`;
    const res = await beacon({ n: 'pageview', u: long, d: 'example.com' });
    expect(res.status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events[0]).toMatchObject({
      url: 'https://example.com/callback',
      path: '/callback',
    });
  });

  test('a page URL over the url limit keeps the campaign tags and click ids of its query', async () => {
    // Plausible takes utm_* (and source, ref) from the URL before it keeps only the path: the
    // visit's source must not become Direct because a token made the URL long.
    const query = `code=${'x'.repeat(3000)}&utm_source=newsletter&utm_campaign=winter&gclid=g1`;
    const res = await beacon({
      n: 'pageview',
      u: `https://example.com/in?${query}`,
      d: 'example.com',
    });
    expect(res.status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events[0]).toMatchObject({
      url: 'https://example.com/in?utm_source=newsletter&utm_campaign=winter&gclid=g1',
      path: '/in',
    });
    const s = await stats('example.com');
    expect(s.top_utm_sources).toMatchObject([{ utm_source: 'newsletter' }]);
    expect(s.top_utm_campaigns).toMatchObject([{ utm_campaign: 'winter' }]);
  });

  test('a beacon over 32 KB (a page URL with a long token) keeps its page view', async () => {
    // The tracker sends the page's whole URL (fetch with keepalive: up to 64 KB) and never
    // resends: a 413 lost the page view that Plausible stores.
    const long = `https://example.com/sso/callback?state=${'s'.repeat(40_000)}`;
    const res = await beacon({ n: 'pageview', u: long, d: 'example.com' });
    expect(res.status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events[0]).toMatchObject({
      url: 'https://example.com/sso/callback',
      path: '/sso/callback',
    });
  });

  test('a beacon is read up to 5 MiB: within it kept, past it a 413 storing nothing', async () => {
    // README: "a beacon is read up to 5 MiB, not one event's 32 KB".
    const at = (bytes: number) => `https://example.com/a?t=${'t'.repeat(bytes)}`;
    const within = await beacon({ n: 'pageview', u: at(5 * 1024 * 1024 - 200), d: 'example.com' });
    expect(within.status).toBe(202);
    const past = await beacon({ n: 'pageview', u: at(5 * 1024 * 1024), d: 'example.com' });
    expect(past.status).toBe(413);
    expect(await stats('example.com')).toMatchObject({ total_events: 1, page_views: 1 });
  });

  test('a page whose path or hash route is over the limits keeps its page view', async () => {
    // 1,000 'é' are 6,000 characters once percent-encoded: a url within its limit, a path not.
    const accented = `https://example.com/${'é'.repeat(1000)}?q=1`;
    const longPath = `https://example.com/${'p'.repeat(2100)}?q=1`;
    const hashRoute = `https://example.com/app#/${'x'.repeat(2100)}`;
    for (const [u, h] of [
      [accented, 0],
      [longPath, 0],
      [hashRoute, 1],
    ] as const) {
      expect((await beacon({ n: 'pageview', u, d: 'example.com', h })).status).toBe(202);
    }
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    const byUrl = (prefix: string) =>
      list.events.find((e) => String(e.path).startsWith(prefix)) as Json;
    const paths = list.events.map((e) => String(e.path).length);
    expect(paths.every((n) => n <= 2048)).toBe(true);
    // Cut where a whole character ends, then decoded: 341 of the 1,000 'é'.
    expect(byUrl('/é')).toMatchObject({ url: accented, path: `/${'é'.repeat(341)}` });
    // Without its query the url is still over its limit: none is stored, the path is.
    expect(byUrl('/pp')).toMatchObject({ url: null, path: `/${'p'.repeat(2047)}` });
    // The hash route alone is over the path limit: the page is kept without it.
    expect(byUrl('/app')).toMatchObject({ url: 'https://example.com/app', path: '/app' });
  });

  test('the path is stored decoded, as Plausible stores its pathname, and found so', async () => {
    const pages = [
      ['https://example.com/caf%C3%A9/a%20b%20?q=%C3%A9', 0],
      ['https://example.com/tarifs/été', 0],
      ['https://example.com/app#/r%C3%A9glages', 1],
      // Not decodable (a lone %, bytes that are not UTF-8): kept as sent.
      ['https://example.com/100%', 0],
      ['https://example.com/%FF', 0],
    ] as const;
    for (const [u, h] of pages) {
      expect((await beacon({ n: 'pageview', u, d: 'example.com', h })).status).toBe(202);
    }
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events.map((e) => e.path).sort()).toEqual(
      ['/café/a b', '/tarifs/été', '/app#/réglages', '/100%', '/%FF'].sort(),
    );
    // The url stays as sent.
    expect(list.events.map((e) => e.url)).toContain(pages[0][0]);
    // A Stats API client names a page as Plausible shows it.
    const filters = encodeURIComponent('event:page==/café/a b|/tarifs/été');
    const stats = await t.getJson(
      `/api/v1/stats/aggregate?site_id=example.com&period=day&metrics=pageviews&filters=${filters}`,
    );
    expect(stats).toEqual({ results: { pageviews: { value: 2 } } });
  });

  test('what Plausible stores is stored: a long referrer, props that are no object, many props', async () => {
    const page = { n: 'pageview', d: 'example.com' };
    // Plausible cuts a referrer to 2,000 characters; Tally keeps it whole without its query.
    const longRef = `https://mail.example.net/read?token=${'t'.repeat(2100)}`;
    const ref = await beacon({ ...page, u: 'https://example.com/a', r: longRef });
    expect(ref.status).toBe(202);
    // Plausible reads props that are no map (a list, a number, JSON text of a list) as none.
    for (const p of [[1, 2], 5, '["x"]']) {
      expect((await beacon({ ...page, u: 'https://example.com/b', p })).status).toBe(202);
    }
    // Plausible keeps 30 props and drops the rest; Tally cuts the largest past 64 keys (ties in
    // name order), keeps its own keys, and names what it cut.
    const many = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, i]));
    const revenue = { amount: 1, currency: 'EUR' };
    const res = await beacon({ ...page, u: 'https://example.com/c', p: many, $: revenue });
    expect(res.status).toBe(202);
    const { events } = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(events.map((e) => [e.path, e.referrer])).toEqual([
      ['/a', 'https://mail.example.net/read'],
      ['/b', null],
      ['/b', null],
      ['/b', null],
      ['/c', null],
    ]);
    expect(events.slice(1, 4).map((e) => e.properties)).toEqual([{}, {}, {}]);
    const kept = events[4]?.properties as Json;
    expect(Object.keys(kept)).toHaveLength(64);
    const cut = ['k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16', 'k17'];
    expect(kept).toMatchObject({ k0: 0, k9: 9, k18: 18, k69: 69, $revenue: revenue });
    expect(kept.$tally_cut).toEqual(cut);
    for (const key of cut) expect(kept[key]).toBeUndefined();
  });

  test('props Plausible drops are dropped: blank, null, lists and maps (its filter_bad_props)', async () => {
    // plausible/analytics lib/plausible/ingestion/request.ex, filter_bad_props: a prop whose
    // key or value is a list or a map, or whose value is blank (nil, "", spaces), is left out.
    // The npm tracker (@plausible-analytics/tracker 0.4.6) sends the app's props as given:
    // `plausible('Signup', { props: { plan: user.plan ?? '' } })` for a user without a plan.
    const p = { plan: '', coupon: '  ', ref: null, tags: ['a'], meta: { x: 1 }, ok: 'yes', n: 3 };
    const res = await beacon({ n: 'Signup', u: 'https://example.com/s', d: 'example.com', p });
    expect(res.status).toBe(202);
    const { events } = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(events.map((e) => e.properties)).toEqual([{ ok: 'yes', n: 3 }]);
    // So Plausible's Stats API reads the blank plan as no plan, not as a plan named "".
    const breakdown = await t.getJson(
      '/api/v1/stats/breakdown?site_id=example.com&period=day&date=2026-11-25' +
        '&property=event:props:plan&metrics=events',
    );
    expect(breakdown).toEqual({ results: [{ plan: '(none)', events: 1 }] });
  });

  test("a system goal's event without a path prop gets its page there, as Plausible's", async () => {
    // The tracker's form-submission tracking sends `track('Form: Submission')` without props;
    // Plausible's Request (maybe_set_props_path_to_pathname, SystemGoals.goals_with_path) adds
    // the pathname as the prop `path` for it, `404` and `WP Form Completions`, unless the
    // request names a `path` prop: the goal's pages are its `event:props:path` breakdown.
    const sent = [
      { n: 'Form: Submission', u: 'https://example.com/contact?x=1#top' },
      { n: 'Form: Submission', u: 'https://example.com/app#/signup', h: 1 },
      { n: '404', u: 'https://example.com/caf%C3%A9' },
      { n: 'WP Form Completions', u: 'https://example.com/quote', p: { path: '/custom' } },
      { n: 'Signup', u: 'https://example.com/contact' },
    ];
    for (const body of sent) {
      t.clock.advance(1000);
      expect((await beacon({ ...body, d: 'example.com' })).status).toBe(202);
    }
    const { events } = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(events.map((e) => [e.name, e.properties]).reverse()).toEqual([
      ['Form: Submission', { path: '/contact' }],
      ['Form: Submission', { path: '/app#/signup' }],
      ['404', { path: '/café' }],
      ['WP Form Completions', { path: '/custom' }],
      ['Signup', {}],
    ]);
    const res = await t.post('/api/v2/query', {
      site_id: 'example.com',
      metrics: ['events'],
      date_range: 'day',
      dimensions: ['event:props:path'],
      filters: [['is', 'event:goal', ['Form: Submission']]],
    });
    expect(((await res.json()) as Json).results).toEqual([
      { metrics: [1], dimensions: ['/app#/signup'] },
      { metrics: [1], dimensions: ['/contact'] },
    ]);
  });

  test('revenue is kept only as Plausible reads it: an amount and a currency', async () => {
    // @plausible-analytics/tracker 0.4.6 sends `$: {}` with every click on an element tagged
    // `plausible-event-name=…` without revenue classes (its click handler starts revenue at
    // {} and sends any truthy revenue); Plausible's Revenue.put_revenue_source reads
    // `revenue` (else `$`), an object or its JSON text, only with "amount" and "currency".
    const click = { n: 'Signup', u: 'https://example.com/s', d: 'example.com', v: 36 };
    const sent: Json[] = [
      { ...click, p: { url: 'https://example.com/go' }, $: {} },
      { ...click, $: { amount: '5' } },
      { ...click, revenue: '{"amount":"19.90","currency":"USD"}', $: { amount: 1 } },
    ];
    for (const body of sent) expect((await beacon(body)).status).toBe(202);
    const { events } = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(events.map((e) => e.properties)).toEqual([
      { url: 'https://example.com/go' },
      {},
      { $revenue: { amount: '19.90', currency: 'USD' } },
    ]);
  });

  test("a page URL without a host is a page, a data: URL is refused, as Plausible's Request", async () => {
    // Plausible's Ingestion.Request: put_uri takes any `u` URI.parse reads except a data: one
    // ("scheme is not allowed"); put_hostname makes a URI without a host "(none)".
    const relative = '/pricing?utm_source=newsletter';
    expect((await beacon({ n: 'pageview', u: relative, d: 'example.com' })).status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events).toHaveLength(1);
    expect(list.events[0]).toMatchObject({ name: 'pageview', url: relative, path: '/pricing' });
    const read = await t.getJson('/api/v1/stats?tenant_id=example.com');
    expect(read.top_utm_sources).toEqual([{ utm_source: 'newsletter', visitors: 1, visits: 1 }]);
    // Without `d`, the domain is the URL's host: a relative URL has none.
    const noDomain = await beacon({ n: 'pageview', u: '/pricing' });
    expect(await noDomain.json()).toEqual({ errors: { domain: ["can't be blank"] } });
    for (const u of ['data:text/html,<h1>hi</h1>', 'DATA:text/plain,x']) {
      const data = await beacon({ n: 'pageview', u, d: 'example.com' });
      expect(data.status).toBe(400);
      expect(await data.json()).toEqual({ errors: { url: ['scheme is not allowed'] } });
    }
    expect((await stats('example.com')).total_events).toBe(1);
  });

  test("bad input is 400 with Plausible's errors map and stores nothing", async () => {
    // The keys and words of Plausible's Ingestion.Request changeset (put_uri, map_domains,
    // validate_required and validate_length of :event_name, the EventName cast).
    const missing = await beacon({ v: 36 });
    expect(missing.status).toBe(400);
    expect(await missing.json()).toEqual({
      errors: { event_name: ["can't be blank"], url: ['is required'], domain: ["can't be blank"] },
    });
    const emptyDomain = await beacon({ n: 'pageview', u: 'https://example.com/', d: '' });
    expect(await emptyDomain.json()).toEqual({ errors: { domain: ["can't be blank"] } });
    const badUrl = await beacon({ n: 'pageview', u: 'https://exa mple.com/', d: 'example.com' });
    expect(await badUrl.json()).toEqual({ errors: { url: ['must be a valid url'] } });
    const numberUrl = await beacon({ n: 'pageview', u: 5, d: 'example.com' });
    expect(numberUrl.status).toBe(400);
    expect(await numberUrl.json()).toEqual({ errors: { url: ['must be a valid url'] } });
    // validate_required trims: a name of spaces alone is not sent.
    for (const n of ['   ', '\t\n']) {
      const blank = await beacon({ n, u: 'https://example.com/', d: 'example.com' });
      expect(blank.status).toBe(400);
      expect(await blank.json()).toEqual({ errors: { event_name: ["can't be blank"] } });
    }
    for (const n of [{ a: 1 }, ['pageview'], true, 4.5]) {
      const badName = await beacon({ n, u: 'https://example.com/', d: 'example.com' });
      expect(await badName.json()).toEqual({ errors: { event_name: ['is invalid'] } });
    }
    const long = await beacon({ n: 'x'.repeat(121), u: 'https://example.com/', d: 'example.com' });
    expect(long.status).toBe(400);
    expect(await long.json()).toEqual({
      errors: { event_name: ['should be at most 120 character(s)'] },
    });
    const badDomain = await beacon({ n: 'pageview', u: 'https://x.com/', d: '../etc' });
    expect(badDomain.status).toBe(400);
    expect(Object.keys(((await badDomain.json()) as { errors: Json }).errors)).toEqual(['domain']);
    for (const body of ['{"n":', '', '["pageview"]', '"pageview"']) {
      const notJson = await t.post('/api/event', body, { 'content-type': 'text/plain' });
      expect(notJson.status).toBe(400);
      expect(await notJson.json()).toEqual({
        errors: { request: ['Unable to parse request body as json'] },
      });
    }
    expect((await stats('example.com')).total_events).toBe(0);
  });

  test('a whole number as the name is its text, as Plausible casts it (404 tracking)', async () => {
    const res = await beacon({ n: 404, u: 'https://example.com/gone', d: 'example.com' });
    expect(res.status).toBe(202);
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=example.com');
    expect(list.events.map((e) => e.name)).toEqual(['404']);
  });
});

describe('Plausible domains in required mode', () => {
  test('a registered domain writes to its project without a key; others are left out', async () => {
    const app = await makeCompatApp({ tenancy: keyTenancy({ 'shop.example': 'acme' }) });
    try {
      const post = (d: string) =>
        app.post('/api/event', JSON.stringify({ n: 'pageview', u: 'https://s.example/', d }), {
          'content-type': 'text/plain',
        });
      expect((await post('shop.example')).status).toBe(202);
      const refused = await post('unknown.example');
      expect(refused.status).toBe(403);
      expect(refused.headers.get('access-control-allow-origin')).toBe('*');
      expect(refused.headers.get('x-plausible-dropped')).toBeNull();
      // As Plausible: each site of a list it knows gets its event, the others are left out and
      // counted in x-plausible-dropped; a list of none it knows is refused as one site is.
      const some = await post('shop.example,unknown.example,other.example');
      expect(some.status).toBe(202);
      expect(some.headers.get('x-plausible-dropped')).toBe('2');
      expect((await post('unknown.example,other.example')).status).toBe(403);
      expect((await post('shop.example')).headers.get('x-plausible-dropped')).toBeNull();
      expect((await app.getJson('/api/v1/stats?tenant_id=acme')).page_views).toBe(3);
    } finally {
      await app.close();
    }
  });
});

describe('Plausible overload', () => {
  test('a store that cannot take writes answers 503, never 202', async () => {
    const full = await makeCompatApp({ engine: { diskFreeBytesMin: 2 ** 60 } });
    try {
      const res = await full.post(
        '/api/event',
        JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' }),
        { 'content-type': 'text/plain' },
      );
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('1');
    } finally {
      await full.close();
    }
  });
});

describe('Plausible visitor address over a socket', () => {
  test('X-Plausible-IP on two header lines is read by its first, as over app.handle', async () => {
    // Bun's server joins the lines ("a, b") as the Headers API does: the route reads the first.
    const server = await startCompatServer();
    try {
      const { hostname, port } = new URL(server.url);
      const body = JSON.stringify({ n: 'pageview', u: 'https://example.com/', d: 'example.com' });
      const send = (lines: string[]) =>
        new Promise<string>((resolve, reject) => {
          const socket = connect(Number(port), hostname);
          let answer = '';
          socket.on('data', (chunk) => {
            answer += chunk;
          });
          socket.on('end', () => resolve(answer.split('\r\n')[0] as string));
          socket.on('error', reject);
          const head = ['POST /api/event HTTP/1.1', `Host: ${hostname}`, ...lines];
          head.push('Content-Type: text/plain', `User-Agent: ${CHROME}`, 'Connection: close');
          socket.write(
            `${[...head, `Content-Length: ${body.length}`].join('\r\n')}\r\n\r\n${body}`,
          );
        });
      const twice = ['X-Plausible-IP: 198.51.100.1', 'X-Plausible-IP: 203.0.113.9'];
      expect(await send(twice)).toBe('HTTP/1.1 202 Accepted');
      expect(await send(['X-Plausible-IP: 198.51.100.1'])).toBe('HTTP/1.1 202 Accepted');
      const s = await server.getJson('/api/v1/stats?tenant_id=example.com');
      expect(s).toMatchObject({ page_views: 2, unique_visitors: 1 });
    } finally {
      await server.close();
    }
  });
});
