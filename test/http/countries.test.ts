// Countries (GEOIP_DB): each event's country derived at ingest from the client address Tally
// uses for visitor_id (X-Forwarded-For under TRUST_PROXY, else the socket peer; an `ip` in the
// body), the address then dropped unless STORE_IP; and the reads: /stats `countries`, the
// `country` filter, timeseries `group_by=country`, stored events and the SQL view.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { CountryDb, type EngineOptions } from '../../src/engine/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const geo = makeTempDir('tally-geoip-');
afterAll(geo.remove);
const countries = CountryDb.open(writeTestCountryDb(geo.dir));

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

type Json = Record<string, unknown>;
const json = async (res: Response) => {
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};

/** Sends one event from `ip` (X-Forwarded-For) and returns it as stored. */
async function sendFrom(app: TestApp, ip: string, event: Json = {}): Promise<Json> {
  const id = `ev-${Math.random().toString(36).slice(2)}`;
  const res = await app.post(
    '/api/v1/events',
    { event_id: id, name: 'page_view', path: '/', ...event },
    { 'x-forwarded-for': `198.18.0.1, ${ip}` },
  );
  expect(res.status).toBe(202);
  return json(await app.get(`/api/v1/events/${id}`));
}

describe('ingest', () => {
  test('behind a trusted proxy: the country of the last X-Forwarded-For hop', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    expect((await sendFrom(t, '81.2.69.160')).country).toBe('GB');
    expect((await sendFrom(t, '[2a02:ffc0::8]:443')).country).toBe('GI');
    expect((await sendFrom(t, '::ffff:89.160.20.112')).country).toBe('SE');
    expect((await sendFrom(t, '8.8.8.8')).country).toBeNull(); // not in the database
  });

  test('private, loopback and reserved addresses have no country', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    for (const ip of ['10.0.0.7', '127.0.0.1', '192.168.1.2', '::1', 'fd00::1', 'unknown']) {
      expect([ip, (await sendFrom(t, ip)).country]).toEqual([ip, null]);
    }
  });

  test('without TRUST_PROXY, X-Forwarded-For is not the client (no socket here: none)', async () => {
    t = await makeTestApp({ countries });
    expect((await sendFrom(t, '81.2.69.160')).country).toBeNull();
  });

  test('an ip in the body is located; the address is dropped unless STORE_IP', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    const stored = await sendFrom(t, '8.8.8.8', { ip: '216.160.83.57', user_id: 'u1' });
    expect(stored).toMatchObject({ country: 'US', ip: null, visitor_id: 'u1' });
    // An event with a user id is located too (it needs no address for its visitor_id).
    expect(await sendFrom(t, '81.2.69.160', { user_id: 'u2' })).toMatchObject({
      country: 'GB',
      ip: null,
    });
  });

  test('with STORE_IP the address is kept beside its country', async () => {
    t = await makeTestApp({ countries, storeIp: true }, { trustProxy: true });
    expect(await sendFrom(t, '81.2.69.160')).toMatchObject({ country: 'GB', ip: '81.2.69.160' });
  });

  test('a country field in the body is not taken: it is derived only', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    expect(await sendFrom(t, '81.2.69.160', { country: 'FR' })).toMatchObject({ country: 'GB' });
    expect(await sendFrom(t, '10.0.0.1', { country: 'FR' })).toMatchObject({ country: null });
    expect(await sendFrom(t, '81.2.69.160', { properties: { country: 'FR' } })).toMatchObject({
      country: 'GB',
      properties: { country: 'FR' },
    });
  });

  test('without GEOIP_DB no event has a country', async () => {
    t = await makeTestApp({}, { trustProxy: true });
    expect((await sendFrom(t, '81.2.69.160')).country).toBeNull();
    expect((await json(await t.get('/api/v1/stats'))).countries).toEqual([]);
  });

  test('a database configured later applies to new events only: those before keep null', async () => {
    // README "Limits": fixed at ingest; the address is not stored, so nothing is looked up again.
    const options: Partial<EngineOptions> = {};
    t = await makeTestApp(options, { trustProxy: true });
    const before = await sendFrom(t, '81.2.69.160');
    expect(before.country).toBeNull();
    options.countries = countries; // read at the next start, as GEOIP_DB is
    await t.restart();
    expect((await json(await t.get(`/api/v1/events/${before.event_id}`))).country).toBeNull();
    expect((await sendFrom(t, '81.2.69.160')).country).toBe('GB');
  });
});

describe('reads', () => {
  /** Visitors from GB (3, one of them twice), SE (1), US (1) and an unknown address (1). */
  async function seed(app: TestApp): Promise<void> {
    const from = [
      '81.2.69.1',
      '81.2.69.1',
      '81.2.69.2',
      '81.2.69.3',
      '89.160.20.1',
      '2001:480::1',
      '10.0.0.1',
    ];
    for (const [i, ip] of from.entries()) {
      const res = await app.post(
        '/api/v1/events',
        { name: 'page_view', path: i < 4 ? '/uk' : '/', timestamp: T0 - 3_600_000 + i * 60_000 },
        { 'x-forwarded-for': ip, 'user-agent': 'Mozilla/5.0 (Macintosh) Firefox/133.0' },
      );
      expect(res.status).toBe(202);
    }
  }

  const range = 'from=2026-11-25&to=2026-11-26';

  test('/stats lists countries by events with their visitors, like os/browsers/devices', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    await seed(t);
    const stats = await json(await t.get(`/api/v1/stats?${range}`));
    expect(stats.countries).toEqual([
      { country: 'GB', events: 4, visitors: 3 },
      { country: 'SE', events: 1, visitors: 1 },
      { country: 'US', events: 1, visitors: 1 },
    ]);
    expect(stats.total_events).toBe(7);
  });

  test('the country filter, on /stats and /timeseries; lower case asks the same', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    await seed(t);
    for (const code of ['GB', 'gb']) {
      const stats = await json(await t.get(`/api/v1/stats?${range}&country=${code}`));
      expect(stats).toMatchObject({ total_events: 4, unique_visitors: 3 });
      expect(stats.top_paths).toEqual([{ path: '/uk', views: 4, visitors: 3 }]);
    }
    const series = await json(
      await t.get(`/api/v1/timeseries?${range}&bucket=day&country=SE&metric=uniques`),
    );
    expect(series.series).toEqual([
      { key: null, events: 1, points: [{ bucket: '2026-11-25T00:00:00+00:00', value: 1 }] },
    ]);
    const bad = await t.get(`/api/v1/stats?${range}&country=GBR`);
    expect(bad.status).toBe(422);
    expect(JSON.stringify(await bad.json())).toContain('country');
  });

  test('/timeseries group_by=country: one series per country, by events', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    await seed(t);
    const series = await json(await t.get(`/api/v1/timeseries?${range}&group_by=country`));
    expect(series.group_by).toBe('country');
    const day = '2026-11-25T00:00:00+00:00';
    expect(series.series).toEqual([
      { key: 'GB', events: 4, points: [{ bucket: day, value: 4 }] },
      { key: 'SE', events: 1, points: [{ bucket: day, value: 1 }] },
      { key: 'US', events: 1, points: [{ bucket: day, value: 1 }] },
    ]);
  });

  test('stored events show their country, and the SQL view has the column', async () => {
    t = await makeTestApp({ countries }, { trustProxy: true });
    await seed(t);
    await t.engine.store.flusher.flush(); // from a segment as from the hot tier
    await t.post('/api/v1/events', { name: 'late' }, { 'x-forwarded-for': '89.160.20.9' });
    const page = await json(await t.get('/api/v1/events?limit=3'));
    expect((page.events as Json[]).map((e) => e.country)).toEqual(['SE', null, 'US']);
    // The list filters by country too (any case), over segments and the hot tier alike.
    const swedish = await json(await t.get('/api/v1/events?country=se'));
    expect((swedish.events as Json[]).map((e) => [e.name, e.country])).toEqual([
      ['late', 'SE'],
      [expect.any(String), 'SE'],
    ]);
    expect((await t.get('/api/v1/events?country=SWE')).status).toBe(422);
    const sql = await json(
      await t.post('/api/v1/query', {
        sql: 'SELECT country, count(*) AS n FROM events GROUP BY country ORDER BY country',
      }),
    );
    expect(sql.rows).toEqual([
      ['GB', 4],
      ['SE', 2],
      ['US', 1],
      [null, 1],
    ]);
    expect((sql.columns as Json[])[0]).toEqual({ name: 'country', type: 'VARCHAR' });
  });
});
