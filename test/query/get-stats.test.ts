import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import type { StoredEvent } from '../../src/core/index.ts';
import { getStats, resolveRange, type StatsOptions } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const T = Date.parse('2026-03-08T15:00:00Z');
const MIN = 60_000;

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const stats = (options: Partial<StatsOptions> = {}, tenant = 'acme') =>
  getStats(source, tenant, { filters: {}, top: 10, ...options });

/** Two visitors on the web, one on iOS, a bot, an API event, and noise from another tenant. */
function fixture(): StoredEvent[] {
  const web = { source: 'web', os: 'macOS', browser: 'Chrome', device: 'desktop' };
  const ios = { source: 'ios', os: 'iOS', browser: 'Mobile Safari', device: 'mobile' };
  return [
    makeEvent({
      ...web,
      timestamp: T,
      user_id: 'u1',
      session_id: 's1',
      path: '/',
      referrer: 'https://news.ycombinator.com/',
      duration: 10,
    }),
    makeEvent({
      ...web,
      timestamp: T + MIN,
      user_id: 'u1',
      session_id: 's1',
      name: 'pageview',
      path: '/pricing',
      duration: 20,
    }),
    makeEvent({
      ...web,
      timestamp: T + 2 * MIN,
      user_id: 'u1',
      session_id: 's1',
      name: 'signup',
      path: '/pricing',
      properties: { plan: 'pro', seats: 5 },
    }),
    makeEvent({
      ...web,
      timestamp: T + 3 * MIN,
      anonymous_id: 'a7',
      visitor_id: 'a7',
      session_id: 's2',
      name: '$pageview',
      path: '/pricing',
      referrer: 'https://google.com/',
    }),
    makeEvent({
      ...ios,
      timestamp: T + 4 * MIN,
      user_id: 'u2',
      session_id: 's3',
      name: 'page',
      path: '/docs',
      referrer: 'https://google.com/',
      properties: { plan: 'free' },
    }),
    makeEvent({
      ...ios,
      timestamp: T + 5 * MIN,
      user_id: 'u2',
      session_id: 's3',
      name: 'signup',
      properties: { plan: 'pro' },
    }),
    makeEvent({
      timestamp: T + 6 * MIN,
      path: '/pricing',
      is_bot: true,
      os: 'Linux',
      browser: 'Googlebot',
      device: 'bot',
      visitor_id: 'bot-1',
    }),
    makeEvent({
      timestamp: T + 7 * MIN,
      source: 'api',
      name: 'invoice_paid',
      value: 42,
      user_id: 'u3',
    }),
    makeEvent({ timestamp: T, tenant: 'globex', path: '/pricing', user_id: 'x1' }),
  ];
}

describe('getStats', () => {
  test('counts exactly, with page view aliases, distinct users/visitors/sessions', async () => {
    await source.add(fixture());
    const s = await stats();
    expect(s).toMatchObject({
      total_events: 7,
      page_views: 4,
      unique_users: 3,
      unique_visitors: 4,
      sessions: 3,
      avg_duration: 15,
      // s1 (3 events over 2 min), s2 (a bounce), s3 (1 min), u3's API event (a bounce).
      visits: 4,
      bounce_rate: 50,
      visit_duration: 45,
      views_per_visit: 1,
    });
    expect(s.top_paths).toEqual([
      { path: '/pricing', views: 2, visitors: 2 },
      { path: '/', views: 1, visitors: 1 },
      { path: '/docs', views: 1, visitors: 1 },
    ]);
    expect(s.top_referrers).toEqual([
      { referrer: 'https://google.com/', events: 2, visitors: 2 },
      { referrer: 'https://news.ycombinator.com/', events: 1, visitors: 1 },
    ]);
    // Each visit credited to its first event's source, well-known ones by name: s1 to Hacker
    // News (3 events), s2 and s3 to Google (1 + 2), u3's API event to Direct / None; the bot's
    // is left out.
    const sourceRow = (name: string, visitors: number, visits: number, events: number) => ({
      source: name,
      referrer_source: name,
      visitors,
      visits,
      events,
    });
    expect(s.top_referrer_sources).toEqual([
      sourceRow('Google', 2, 2, 3),
      sourceRow('Direct / None', 1, 1, 1),
      sourceRow('Hacker News', 1, 1, 3),
    ]);
    // s1 enters at / and leaves at /pricing; s2 and s3 view one page each; u3 views none.
    expect(s.top_entry_pages).toEqual([
      { path: '/', visitors: 1, visits: 1 },
      { path: '/docs', visitors: 1, visits: 1 },
      { path: '/pricing', visitors: 1, visits: 1 },
    ]);
    expect(s.top_exit_pages).toEqual([
      { path: '/pricing', visitors: 2, visits: 2 },
      { path: '/docs', visitors: 1, visits: 1 },
    ]);
    expect(s.top_events[0]).toEqual({ name: 'signup', events: 2, visitors: 2 });
    expect(s.os).toEqual([
      { os: 'macOS', events: 5, visitors: 3 },
      { os: 'iOS', events: 2, visitors: 1 },
    ]);
    expect(s.browsers.map((b) => b.browser)).toEqual(['Chrome', 'Mobile Safari']);
    expect(s.devices).toEqual([
      { device: 'desktop', events: 5, visitors: 3 },
      { device: 'mobile', events: 2, visitors: 1 },
    ]);
  });

  test('bots are left out unless included', async () => {
    await source.add(fixture());
    const s = await stats({ filters: { includeBots: true } });
    expect(s.total_events).toBe(8);
    expect(s.top_paths[0]).toEqual({ path: '/pricing', views: 3, visitors: 3 });
    expect(s.devices.map((d) => d.device)).toContain('bot');
  });

  test('reads the hot table and Parquet segments as one, per tenant', async () => {
    const events = fixture();
    await source.add(events.slice(0, 4));
    const files = await source.flush();
    expect(files).toHaveLength(1);
    await source.add(events.slice(4));
    expect((await stats()).total_events).toBe(7);
    await source.flush();
    expect(source.segmentsOf('acme')).toHaveLength(2);
    expect((await stats()).page_views).toBe(4);
    const other = await stats({}, 'globex');
    expect(other).toMatchObject({ total_events: 1, unique_users: 1 });
    expect(other.top_paths).toEqual([{ path: '/pricing', views: 1, visitors: 1 }]);
    expect((await stats({}, 'nobody')).total_events).toBe(0);
  });

  test('filters by column, property and time', async () => {
    await source.add(fixture());
    const by = async (filters: StatsOptions['filters']) => (await stats({ filters })).total_events;
    expect(await by({ equals: { name: 'signup' } })).toBe(2);
    expect(await by({ equals: { path: '/pricing' } })).toBe(3);
    expect(await by({ equals: { source: 'ios' } })).toBe(2);
    expect(await by({ equals: { user_id: 'u1' } })).toBe(3);
    expect(await by({ equals: { os: 'iOS', browser: 'Mobile Safari', device: 'mobile' } })).toBe(2);
    expect(await by({ properties: { plan: 'pro' } })).toBe(2);
    expect(await by({ properties: { plan: 'pro', seats: '5' } })).toBe(1);
    expect(await by({ properties: { 'no/such~key': 'x' } })).toBe(0);
    expect(await by({ fromMs: T + 2 * MIN, toMs: T + 5 * MIN })).toBe(3);
    expect(await by({ equals: { name: 'page_view', user_id: 'u2' } })).toBe(0);
  });

  test('property keys with / and ~ are matched literally (JSON pointer escaping)', async () => {
    await source.add([
      makeEvent({ timestamp: T, properties: { 'a/b': 'x', 'c~d': 1, a: { b: 'x' } } }),
      makeEvent({ timestamp: T, properties: { a: { b: 'x' } } }),
    ]);
    const count = async (properties: Record<string, string>) =>
      (await stats({ filters: { properties } })).total_events;
    expect(await count({ 'a/b': 'x' })).toBe(1);
    expect(await count({ 'c~d': '1' })).toBe(1);
    expect(await count({ 'a/b': 'x', 'c~d': '2' })).toBe(0);
  });

  test('a date is a local day in the zone', async () => {
    // 2026-03-09T03:30Z is still 8 March in New York; 04:30Z is 9 March there.
    await source.add([
      makeEvent({ timestamp: Date.parse('2026-03-08T05:00:00Z') }),
      makeEvent({ timestamp: Date.parse('2026-03-09T03:30:00Z') }),
      makeEvent({ timestamp: Date.parse('2026-03-09T04:30:00Z') }),
      makeEvent({ timestamp: Date.parse('2026-03-08T04:59:59Z') }),
    ]);
    const day = resolveRange({ date: '2026-03-08', tz: 'America/New_York' });
    expect((await stats({ filters: day })).page_views).toBe(2);
    const utc = resolveRange({ date: '2026-03-08' });
    expect((await stats({ filters: utc })).page_views).toBe(2);
  });

  test('top lists keep the top N, ties broken by value', async () => {
    const paths = ['/e', '/d', '/c', '/b', '/a'];
    await source.add(paths.map((path, i) => makeEvent({ timestamp: T + i, path })));
    await source.add([makeEvent({ timestamp: T, path: '/d' })]);
    const s = await stats({ top: 3 });
    expect(s.top_paths.map((p) => p.path)).toEqual(['/d', '/a', '/b']);
    expect(s.total_events).toBe(6);
  });

  test('an empty tenant has zero counts, null duration and rates, empty lists', async () => {
    expect(await stats()).toEqual({
      total_events: 0,
      page_views: 0,
      unique_users: 0,
      unique_visitors: 0,
      sessions: 0,
      avg_duration: null,
      visits: 0,
      bounce_rate: null,
      visit_duration: null,
      views_per_visit: null,
      top_paths: [],
      top_referrers: [],
      top_referrer_sources: [],
      top_channels: [],
      top_entry_pages: [],
      top_exit_pages: [],
      top_utm_mediums: [],
      top_utm_sources: [],
      top_utm_campaigns: [],
      top_utm_contents: [],
      top_utm_terms: [],
      top_events: [],
      os: [],
      browsers: [],
      devices: [],
      countries: [],
    });
  });

  describe('top_referrer_sources', () => {
    const PAGE = 'https://shop.example/pricing';
    const sourcesOf = async (events: { url?: string; referrer?: string }[], top = 10) => {
      await source.add(
        events.map((e, i) => makeEvent({ timestamp: T + i, visitor_id: `v${i}`, ...e })),
      );
      return (await stats({ top })).top_referrer_sources.map((r) => [r.source, r.visits]);
    };

    test('utm_source wins over the referrer, decoded and trimmed, case as sent', async () => {
      expect(
        await sourcesOf([
          { url: `${PAGE}?utm_source=Newsletter`, referrer: 'https://google.com/' },
          { url: `${PAGE}?x=1&utm_source=%20Newsletter+&utm_medium=email#top` },
          { url: `${PAGE}?utm_source=newsletter` },
          { url: `${PAGE}?utm_source=&ref=producthunt` },
          { url: `${PAGE}?ref=producthunt&source=Hacker%20News` },
          { url: `${PAGE}#utm_source=hash`, referrer: 'https://bing.com/' },
          { url: `${PAGE}?utm_source=%E2%82` },
        ]),
      ).toEqual([
        ['Newsletter', 2],
        ['%E2%82', 1], // not UTF-8 once decoded: kept as sent
        ['Bing', 1],
        ['Hacker News', 1],
        ['newsletter', 1],
        ['producthunt', 1],
      ]);
    });

    test('the referrer host: lower-case, no www., no port, user or path', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'https://www.google.com/search?q=a' },
          { url: PAGE, referrer: 'https://google.com/' },
          { url: PAGE, referrer: 'HTTPS://WWW.Google.COM:443/' },
          { url: PAGE, referrer: 'https://user@news.ycombinator.com/item?id=1' },
          { url: PAGE, referrer: 'https://www2.example.org/' },
          // A fully qualified name (trailing dot) is the same host.
          { url: PAGE, referrer: 'https://www.google.com./' },
        ]),
      ).toEqual([
        ['Google', 4],
        ['Hacker News', 1],
        ['www2.example.org', 1],
      ]);
    });

    test('no referrer, an empty one and a self-referral are Direct / None', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'https://shop.example/' },
          { url: 'https://www.shop.example/docs', referrer: 'https://SHOP.example/pricing' },
          { url: PAGE },
          { url: PAGE, referrer: '' },
          { referrer: 'https://shop.example/' },
          { url: '/relative', referrer: 'https://shop.example/' },
          { url: PAGE, referrer: 'https://shop.example./' },
          { url: 'https://shop.example.:8443/', referrer: 'https://shop.example/' },
        ]),
      ).toEqual([
        // Each event is a visit of its own: one that arrives from the site itself (the first
        // two and the last two: an internal referrer, which Plausible drops) is Direct / None.
        ['Direct / None', 6],
        ['shop.example', 2],
      ]);
    });

    test('a referrer that is no http URL gives its host part: app ids, bare hosts', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'android-app://com.google.android.gm/' },
          { url: PAGE, referrer: 'google.com/search?q=x' },
          { url: PAGE, referrer: 'http://[2001:db8::1]:8080/' },
          { url: PAGE, referrer: '  Newsletter ' },
        ]),
      ).toEqual([
        ['Gmail', 1],
        ['Google', 1],
        ['[2001:db8::1]', 1],
        ['newsletter', 1],
      ]);
    });

    test('well-known sources by name: their hosts and their tags count together', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'https://www.google.co.uk/' },
          { url: PAGE, referrer: 'https://google.de/search?q=x' },
          { url: `${PAGE}?utm_source=GOOGLE` },
          { url: `${PAGE}?utm_source=ig` },
          { url: PAGE, referrer: 'https://l.instagram.com/' },
          { url: PAGE, referrer: 'https://t.co/abc' },
          { url: PAGE, referrer: 'https://google.example.com/' },
        ]),
      ).toEqual([
        ['Google', 3],
        ['Instagram', 2],
        ['Twitter', 1],
        ['google.example.com', 1],
      ]);
    });

    test('a localhost referrer is Direct / None, as Plausible counts it', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'http://localhost:3000/' },
          { url: PAGE, referrer: 'http://localhost.example/' },
        ]),
      ).toEqual([
        ['Direct / None', 1],
        ['localhost.example', 1],
      ]);
    });

    test('a referrer naming no place (null, undefined, about:blank) is Direct / None', async () => {
      expect(
        await sourcesOf([
          { url: PAGE, referrer: 'null' },
          { url: PAGE, referrer: 'Undefined' },
          { url: PAGE, referrer: 'about:blank' },
          { url: PAGE, referrer: 'https://nullsoft.example/' },
        ]),
      ).toEqual([
        ['Direct / None', 3],
        ['nullsoft.example', 1],
      ]);
    });

    test('ranked by visitors, visits, name (as Plausible ranks sources), top N', async () => {
      await source.add([
        makeEvent({ timestamp: T, visitor_id: 'a', referrer: 'https://b.example/' }),
        makeEvent({ timestamp: T, visitor_id: 'a', referrer: 'https://b.example/x' }),
        makeEvent({ timestamp: T, visitor_id: 'b', referrer: 'https://c.example/' }),
      ]);
      const rows = await sourcesOf([
        { referrer: 'https://a.example/' },
        { referrer: 'https://c.example/' },
        { referrer: 'https://d.example/' },
      ]);
      // Visitor a's two events of one instant are one visit, credited to b.example.
      expect(rows).toEqual([
        ['c.example', 2],
        ['a.example', 1],
        ['b.example', 1],
        ['d.example', 1],
      ]);
      expect((await stats({ top: 2 })).top_referrer_sources).toEqual([
        { source: 'c.example', referrer_source: 'c.example', visitors: 2, visits: 2, events: 2 },
        { source: 'a.example', referrer_source: 'a.example', visitors: 1, visits: 1, events: 1 },
      ]);
    });
  });
});
