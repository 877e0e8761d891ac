// Countries (GEOIP_DB) through the compatibility APIs: each API's own rule for the client
// address applies, as it does for visitor_id: Plausible's headers (X-Plausible-IP,
// CF-Connecting-IP, B-Forwarded-For, the first X-Forwarded-For hop, Forwarded), PostHog's
// `$ip`, Segment's `context.ip`, Umami's `payload.ip`, else the request's address. None of them
// documents a country code a client may send, so the country is derived only.

import { afterAll, afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { CountryDb } from '../../src/engine/index.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

const geo = makeTempDir('tally-geoip-');
afterAll(geo.remove);
const countries = CountryDb.open(writeTestCountryDb(geo.dir));

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp({ engine: { countries } });
});
afterEach(() => t.close());

/** The countries of a tenant's stored events, in code order (null last). */
async function countriesOf(tenant: string): Promise<unknown[]> {
  const page = await t.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${tenant}`);
  return page.events.map((e) => e.country).sort();
}

describe('countries through the compatibility APIs', () => {
  test("Plausible: the first X-Forwarded-For hop, as Plausible's Events API takes it", async () => {
    const beacon = (ip: string) =>
      t.post('/api/event', JSON.stringify({ n: 'pageview', u: 'https://ex.com/', d: 'ex.com' }), {
        'content-type': 'text/plain',
        'x-forwarded-for': `${ip}, 10.0.0.1`,
      });
    for (const ip of ['81.2.69.160', '2a02:ffc0::1', '192.168.0.4']) {
      expect((await beacon(ip)).status).toBe(202);
    }
    expect(await countriesOf('ex.com')).toEqual(['GB', 'GI', null]);
    const stats = await t.getJson('/api/v1/stats?tenant_id=ex.com&country=GI');
    expect(stats).toMatchObject({ page_views: 1, countries: [{ country: 'GI' }] });
  });

  test('Plausible: X-Plausible-IP, CF-Connecting-IP, B-Forwarded-For, Forwarded first', async () => {
    // Plausible's RemoteIP order, each header before the ones after it; without port or
    // brackets. 81.2.69.160 is GB, 2a02:ffc0::1 GI.
    const sent: [string, Record<string, string>][] = [
      ['a.com', { 'x-plausible-ip': '81.2.69.160:8080', 'cf-connecting-ip': '2a02:ffc0::1' }],
      ['b.com', { 'cf-connecting-ip': '[2a02:ffc0::1]', 'b-forwarded-for': '81.2.69.160' }],
      ['c.com', { 'b-forwarded-for': '81.2.69.160, 10.0.0.1', 'x-forwarded-for': '2a02:ffc0::1' }],
      ['d.com', { 'x-forwarded-for': '2a02:ffc0::1', forwarded: 'for=81.2.69.160' }],
      ['e.com', { forwarded: 'for="[2a02:ffc0::1]:4711";proto=https, for=81.2.69.160' }],
    ];
    for (const [d, headers] of sent) {
      const body = JSON.stringify({ n: 'pageview', u: 'https://ex.com/', d });
      const res = await t.post('/api/event', body, { 'content-type': 'text/plain', ...headers });
      expect(res.status).toBe(202);
    }
    const found = await Promise.all(sent.map(([d]) => countriesOf(d)));
    expect(found).toEqual([['GB'], ['GI'], ['GB'], ['GI'], ['GI']]);
  });

  test("Plausible's Stats API: visit:country, the country of a visit's first event", async () => {
    const beacon = async (ip: string, path: string) => {
      const body = { n: 'pageview', u: `https://ex.com${path}`, d: 'ex.com' };
      const res = await t.post('/api/event', JSON.stringify(body), {
        'content-type': 'text/plain',
        'x-forwarded-for': ip,
      });
      expect(res.status).toBe(202);
    };
    await beacon('81.2.69.160', '/');
    await beacon('81.2.69.160', '/pricing');
    await beacon('81.2.69.161', '/');
    await beacon('89.160.20.112', '/');
    await beacon('10.0.0.1', '/'); // a private address: no country
    const read = (path: string, query: string) =>
      t.getJson<{ results: unknown }>(`/api/v1/stats/${path}?site_id=ex.com&period=day&${query}`);
    const breakdown = await read('breakdown', 'property=visit:country&metrics=visitors,pageviews');
    expect(breakdown.results).toEqual([
      { country: 'GB', visitors: 2, pageviews: 3 },
      { country: 'SE', visitors: 1, pageviews: 1 },
    ]);
    const filter = (f: string) => `filters=${encodeURIComponent(f)}&metrics=visitors`;
    expect((await read('aggregate', filter('visit:country==SE'))).results).toEqual({
      visitors: { value: 1 },
    });
    expect((await read('aggregate', filter('visit:country==GB|SE'))).results).toEqual({
      visitors: { value: 3 },
    });
    // Not GB: Sweden's visitor and the one without a country.
    expect((await read('aggregate', filter('visit:country!=GB'))).results).toEqual({
      visitors: { value: 2 },
    });
    // A country by name is no code (Plausible drops such a filter and reads every visit).
    const named = await t.get(
      `/api/v1/stats/aggregate?site_id=ex.com&period=day&${filter('visit:country==GB|Sweden')}`,
    );
    expect(named.status).toBe(400);
    expect(((await named.json()) as Json).error).toBe(
      'Invalid filter expression `visit:country==GB|Sweden`: visit:country needs to be a ' +
        'valid 2-letter country code.',
    );
    // A wildcard is a code's pattern (G* is GB); with `|` Plausible's parser keeps the value
    // whole, G*|SE, which is no code: Plausible drops the filter, Tally says so.
    expect((await read('aggregate', filter('visit:country==G*'))).results).toEqual({
      visitors: { value: 2 },
    });
    const both = await t.get(
      `/api/v1/stats/aggregate?site_id=ex.com&period=day&${filter('visit:country==G*|SE')}`,
    );
    expect(both.status).toBe(400);
    expect(((await both.json()) as Json).error).toBe(
      'Invalid filter expression `visit:country==G*|SE`: visit:country needs to be a ' +
        'valid 2-letter country code.',
    );
  });

  test("Plausible's Stats API v2: visit:country_name, the country by Plausible's name", async () => {
    for (const ip of ['81.2.69.160', '81.2.69.161', '89.160.20.112', '2a02:ffc0::1', '10.0.0.1']) {
      const body = { n: 'pageview', u: 'https://ex.com/', d: 'ex.com' };
      const headers = { 'content-type': 'text/plain', 'x-forwarded-for': ip };
      expect((await t.post('/api/event', JSON.stringify(body), headers)).status).toBe(202);
    }
    const query = async (body: Json) => {
      const res = await t.post('/api/v2/query', {
        site_id: 'ex.com',
        metrics: ['visitors'],
        date_range: 'day',
        ...body,
      });
      return { status: res.status, body: (await res.json()) as Json };
    };
    const rows = (body: Json) => query(body).then((r) => r.body.results);
    // As Plausible's v2: the name beside the code; a visit without a country is (not set).
    expect(await rows({ dimensions: ['visit:country_name', 'visit:country'] })).toEqual([
      { metrics: [2], dimensions: ['United Kingdom', 'GB'] },
      { metrics: [1], dimensions: ['(not set)', '(not set)'] },
      { metrics: [1], dimensions: ['Gibraltar', 'GI'] },
      { metrics: [1], dimensions: ['Sweden', 'SE'] },
    ]);
    const filtered = (...filters: unknown[]) => rows({ filters });
    expect(await filtered(['is', 'visit:country_name', ['Sweden', 'Gibraltar']])).toEqual([
      { metrics: [2], dimensions: [] },
    ]);
    expect(await filtered(['contains', 'visit:country_name', ['united']])).toEqual([
      { metrics: [0], dimensions: [] },
    ]);
    expect(
      await filtered(['contains', 'visit:country_name', ['united'], { case_sensitive: false }]),
    ).toEqual([{ metrics: [2], dimensions: [] }]);
    expect(await filtered(['not', ['is', 'visit:country_name', ['United Kingdom']]])).toEqual([
      { metrics: [3], dimensions: [] },
    ]);
    // Regions and cities Tally has not; Plausible's v1 has no name properties.
    expect((await query({ dimensions: ['visit:city_name'] })).body.error).toBe(
      '#/dimensions/0: The dimension `visit:city_name` is not supported by Tally: ' +
        'Tally locates visitors by country only.',
    );
    expect((await query({ filters: [['is', 'visit:region_name', ['Berlin']]] })).body.error).toBe(
      '#/filters/0: Filtering by `visit:region_name` is not supported by Tally: ' +
        'Tally locates visitors by country only.',
    );
    const v1 = await t.get('/api/v1/stats/breakdown?site_id=ex.com&property=visit:country_name');
    expect(v1.status).toBe(400);
    expect(((await v1.json()) as Json).error).toBe(
      "Invalid property 'visit:country_name'. Please provide a valid property for the " +
        'breakdown endpoint: https://plausible.io/docs/stats-api#properties',
    );
  });

  test("PostHog: the event's $ip; a $geoip_country_code property is not the country", async () => {
    const capture = (properties: Json) =>
      t.post('/capture/', { api_key: 'k', event: '$pageview', distinct_id: 'd1', properties });
    expect((await capture({ $ip: '89.160.20.112' })).status).toBe(200);
    expect((await capture({ $ip: '81.2.69.1', $geoip_country_code: 'FR' })).status).toBe(200);
    expect(await countriesOf('default')).toEqual(['GB', 'SE']);
  });

  test("PostHog: $geoip_disable (posthog-node's default) locates nothing", async () => {
    const capture = (properties: Json, forwarded = '81.2.69.160') =>
      t.post(
        '/capture/',
        { api_key: 'k', event: 'server_side', distinct_id: 'd2', properties },
        { 'x-forwarded-for': forwarded },
      );
    expect((await capture({ $geoip_disable: true, $ip: '89.160.20.112' })).status).toBe(200);
    expect((await capture({ $geoip_disable: true })).status).toBe(200);
    expect((await capture({ $geoip_disable: false, $ip: '89.160.20.112' })).status).toBe(200);
    expect(await countriesOf('default')).toEqual(['SE', null, null]);
    // The flag is not an event field: the stored event has none, its property stays.
    const page = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=default');
    for (const event of page.events) expect('geoip' in event).toBe(false);
  });

  test('the native API: geoip false derives no country; a non-boolean is a 422', async () => {
    const send = (body: Json) =>
      t.post('/api/v1/events', { name: 'n', user_id: 'u', ip: '81.2.69.160', ...body });
    expect((await send({ geoip: false })).status).toBe(202);
    expect((await send({ geoip: true })).status).toBe(202);
    expect((await send({ geoip: 'no' })).status).toBe(422);
    expect(await countriesOf('default')).toEqual(['GB', null]);
  });

  test('Segment: context.ip; context.location.country (a name) is not the country', async () => {
    const track = (context: Json) =>
      t.post('/v1/track', { writeKey: 'k', userId: 'u1', event: 'Clicked', context });
    expect((await track({ ip: '216.160.83.58' })).status).toBe(200);
    expect((await track({ ip: '81.2.69.1', location: { country: 'France' } })).status).toBe(200);
    expect(await countriesOf('default')).toEqual(['GB', 'US']);
  });

  test("Umami: the payload's ip", async () => {
    const send = (ip: string) =>
      t.post('/api/send', {
        type: 'event',
        payload: { website: WEBSITE, url: '/x', hostname: 'ex.com', ip },
      });
    expect((await send('2001:480::5')).status).toBe(200);
    expect(await countriesOf(WEBSITE)).toEqual(['US']);
  });

  // Umami's getLocation reads a country from its proxy's headers when the payload names no ip;
  // Tally read none, so a site behind Cloudflare or Vercel had no countries without GEOIP_DB.
  test("Umami: a proxy's country header (CF-IPCountry, Vercel's, CloudFront's) without an ip", async () => {
    const send = (ip: string | undefined, headers: Record<string, string>) =>
      t.post(
        '/api/send',
        { type: 'event', payload: { website: WEBSITE, url: '/x', hostname: 'ex.com', ip } },
        headers,
      );
    const cases: [string | undefined, Record<string, string>, string | null][] = [
      [undefined, { 'cf-ipcountry': 'de' }, 'DE'],
      [undefined, { 'cf-ipcountry': 'FR', 'x-vercel-ip-country': 'IT' }, 'FR'],
      [undefined, { 'x-vercel-ip-country': 'IT', 'cloudfront-viewer-country': 'ES' }, 'IT'],
      [undefined, { 'cloudfront-viewer-country': 'ES' }, 'ES'],
      // Cloudflare's unknown and Tor: the next header, else none.
      [undefined, { 'cf-ipcountry': 'XX', 'x-vercel-ip-country': 'NL' }, 'NL'],
      [undefined, { 'cf-ipcountry': 'T1' }, null],
      // ZZ (unknown) names none either: the next header is asked.
      [undefined, { 'cf-ipcountry': 'ZZ', 'cloudfront-viewer-country': 'pt' }, 'PT'],
      // A payload ip is located by the database, the header unread, as Umami reads it.
      ['2001:480::5', { 'cf-ipcountry': 'DE' }, 'US'],
    ];
    for (const [ip, headers] of cases) expect((await send(ip, headers)).status).toBe(200);
    expect(await countriesOf(WEBSITE)).toEqual(
      ['DE', 'ES', 'FR', 'IT', 'NL', 'PT', 'US', null].sort() as unknown[],
    );
    // Without a database as well; other APIs read no such header (none of them documents one).
    await t.close();
    t = await makeCompatApp({});
    expect((await send(undefined, { 'cf-ipcountry': 'SE' })).status).toBe(200);
    expect(await countriesOf(WEBSITE)).toEqual(['SE']);
    const beacon = JSON.stringify({ n: 'pageview', u: 'https://ex.com/', d: 'ex.com' });
    const headers = { 'content-type': 'text/plain', 'cf-ipcountry': 'SE' };
    expect((await t.post('/api/event', beacon, headers)).status).toBe(202);
    expect(await countriesOf('ex.com')).toEqual([null]);
    const native = await t.post('/api/v1/events', { name: 'x' }, { 'cf-ipcountry': 'SE' });
    expect(native.status).toBe(202);
    expect(await countriesOf('default')).toEqual([null]);
    const stats = await t.getJson(`/api/v1/stats?tenant_id=${WEBSITE}&country=se`);
    expect(stats).toMatchObject({ page_views: 1, countries: [{ country: 'SE' }] });
  });

  test("Plausible's v2 country names: the README's examples, (not set) for a code without one", async () => {
    // README: Germany, United States, Russian Federation, South Korea, Türkiye, Kosovo for XK;
    // AA is two letters a proxy may name but no country Plausible has a name for.
    const codes = ['DE', 'US', 'RU', 'KR', 'TR', 'XK', 'AA'];
    for (const code of codes) {
      const payload = { website: WEBSITE, url: '/x', hostname: 'ex.com', ip: undefined };
      // One visitor per code (Umami tells them apart by their agent here).
      const headers = { 'cf-ipcountry': code, 'user-agent': `Mozilla/5.0 Firefox/${code}` };
      const res = await t.post('/api/send', { type: 'event', payload }, headers);
      expect(res.status).toBe(200);
    }
    const res = await t.post('/api/v2/query', {
      site_id: WEBSITE,
      metrics: ['visitors'],
      date_range: 'day',
      dimensions: ['visit:country', 'visit:country_name'],
      order_by: [['visit:country', 'asc']],
    });
    const rows = ((await res.json()) as { results: { dimensions: string[] }[] }).results;
    expect(rows.map((r) => r.dimensions)).toEqual([
      ['AA', '(not set)'],
      ['DE', 'Germany'],
      ['KR', 'South Korea'],
      ['RU', 'Russian Federation'],
      ['TR', 'Türkiye'],
      ['US', 'United States'],
      ['XK', 'Kosovo'],
    ]);
  });

  test('an SDK address over 64 characters, or no address at all, counts as none sent', async () => {
    // Refused, the whole message was lost (`ip must be at most 64 characters`), and the SDKs
    // take the 200 of a batch as delivered. The request's address stands in, as for an event
    // that names none: here GB, where 89.160.20.112 (the first of the hops) is SE.
    await t.close();
    t = await makeCompatApp({ engine: { countries }, trustProxy: true });
    const from = { 'x-forwarded-for': '81.2.69.160' };
    const hops = `89.160.20.112, ${'10.0.0.1, '.repeat(6)}10.0.0.2`;
    const bad = [hops, '89.160.20.112, 10.0.0.1', 'unknown', ` ${'1'.repeat(70)} `];
    const posthog = await t.post(
      '/batch/',
      {
        api_key: 'k',
        batch: bad.map((ip) => ({ event: 'e', distinct_id: 'd', properties: { $ip: ip } })),
      },
      from,
    );
    expect(await posthog.json()).toEqual({ status: 1 });
    const segment = await t.post(
      '/v1/batch',
      {
        writeKey: 'k',
        batch: bad.map((ip) => ({ type: 'track', event: 'e', userId: 'u', context: { ip } })),
      },
      from,
    );
    expect(await segment.json()).toEqual({ success: true });
    expect(await countriesOf('default')).toEqual(Array(8).fill('GB'));
    for (const ip of bad) {
      const payload = { website: WEBSITE, url: '/x', hostname: 'ex.com', ip };
      expect((await t.post('/api/send', { type: 'event', payload }, from)).status).toBe(200);
    }
    expect(await countriesOf(WEBSITE)).toEqual(Array(4).fill('GB'));
  });

  test("Umami's read API: metrics type=country and the country filter", async () => {
    const send = (ip: string, url: string) =>
      t.post('/api/send', {
        type: 'event',
        payload: { website: WEBSITE, url, hostname: 'ex.com', ip },
      });
    for (const [ip, url] of [
      ['81.2.69.160', '/a'],
      ['81.2.69.161', '/b'],
      ['2001:480::5', '/a'],
      ['192.168.0.4', '/a'],
    ] as const) {
      expect((await send(ip, url)).status).toBe(200);
    }
    const range = `startAt=${t.clock.now() - 86_400_000}&endAt=${t.clock.now() + 1}`;
    const read = (path: string) => t.getJson<unknown>(`/api/websites/${WEBSITE}/${path}&${range}`);
    // Visitors by country, as Umami lists them; the private address has none and is left out.
    expect(await read('metrics?type=country')).toEqual([
      { x: 'GB', y: 2 },
      { x: 'US', y: 1 },
    ]);
    expect(await read('stats?country=GB')).toMatchObject({ pageviews: 2, visitors: 2 });
    expect(await read('metrics?type=path&country=neq.GB')).toEqual([{ x: '/a', y: 2 }]);
  });
});
