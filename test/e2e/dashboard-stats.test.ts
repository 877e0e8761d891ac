// The dashboard's stats panel in Chromium against the real server: events of known paths,
// referrers, user agents and users over two days, sent over HTTP, and the numbers and tables
// the panel shows for Today, Yesterday and a custom range in New York, where the local day
// is not the UTC day, the pages table's tabs (Top, Entry, Exit pages), the sources
// table's (Channels, Sources) and the campaigns table's (UTM Medium … Term). The browser's clock is fixed (Playwright's clock), so "Today"
// is known; a 429 of the read gate is retried on its own; a read that hangs is given up after
// READ_TIMEOUT_MS; a 401 a refresh cannot cure asks for a key. At 320 px wide every panel fits the screen: the page never scrolls sideways; beside
// a long path, no count is broken over lines (at 1280 or 400 px); counts of ten digits fit
// their cards, longer ones (up to 2^53) compact.

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { AppError, DEFAULT_TENANT, type TenantResolver } from '../../src/core/index.ts';
import { READ_TIMEOUT_MS } from '../../web/deadline.ts';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';
import { ALL_PLACES, holdReads } from './read-gate.ts';

const cleanups = cleanupsAfterEach();

/** The browser's now: 22:30 on Nov 24 in New York (EST, UTC-5), already Nov 25 in UTC. */
const NOW = '2025-11-25T03:30:00Z';
const NY = 'America/New_York';

const UA = {
  chromeWindows:
    'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
    'Chrome/120.0.0.0 Safari/537.36',
  safariIphone:
    'Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 ' +
    '(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0',
};

const HN = 'https://news.ycombinator.com/item?id=1';
const GOOGLE = 'https://www.google.com/';
const SITE = 'https://shop.example';
const BULK_VIEWS = 1200;

/**
 * New York's Nov 24 ("Today"): alice (Chrome, Windows, from HN) views /pricing, then /docs
 * from /pricing (a self-referral: no source), and signs up; bob (Safari, iPhone, from Google, with
 * utm_source=Newsletter) views /pricing at 20:00, already Nov 25 in UTC.
 * Nov 23 ("Yesterday"): carol (Firefox, Linux) views / at 21:00, Nov 24 in UTC; dave views
 * /blog 1,200 times. Durations 60, 70 and 65 s: 1m 05s on average.
 */
function twoDays() {
  const alice = { user_id: 'alice', session_id: 's-a', user_agent: UA.chromeWindows };
  const bob = { user_id: 'bob', session_id: 's-b', user_agent: UA.safariIphone };
  const carol = { user_id: 'carol', session_id: 's-c', user_agent: UA.firefoxLinux };
  const dave = { user_id: 'dave', session_id: 's-d', user_agent: UA.chromeWindows };
  const view = { name: 'page_view' };
  return [
    { ...alice, ...view, path: '/pricing', referrer: HN, duration: 60, timestamp: at('T15:00') },
    {
      ...alice,
      ...view,
      path: '/docs',
      url: `${SITE}/docs`,
      referrer: `${SITE}/pricing`,
      duration: 70,
      timestamp: at('T15:01'),
    },
    { ...alice, name: 'signup', path: '/docs', referrer: HN, timestamp: at('T15:02') },
    {
      ...bob,
      ...view,
      path: '/pricing',
      url: `${SITE}/pricing?utm_source=Newsletter`,
      referrer: GOOGLE,
      duration: 65,
      timestamp: '2025-11-25T01:00:00Z',
    },
    { ...carol, ...view, path: '/', referrer: 'https://duckduckgo.com/', timestamp: at('T02:00') },
    ...Array.from({ length: BULK_VIEWS }, (_, i) => ({
      ...dave,
      ...view,
      path: '/blog',
      timestamp: new Date(Date.parse('2025-11-23T18:00:00Z') + i * 1000).toISOString(),
    })),
  ];
}

/** A UTC time of Nov 24, 2025 ("T15:00"). */
const at = (time: string) => `2025-11-24${time}:00Z`;

async function serve(tenancy?: TenantResolver): Promise<LiveServer> {
  const server = await serveFor(cleanups, tenancy);
  const res = await server.post('/api/v1/events/batch', { events: twoDays() });
  expect(res.status).toBe(202);
  return server;
}

/** A page whose clock stands at NOW, its read answers' statuses logged; `prepare` before load. */
async function openPage(
  server: LiveServer,
  prepare: (page: Page) => Promise<unknown> = async () => undefined,
): Promise<{ page: Page; statuses: number[] }> {
  const browser = await chromiumFor(cleanups);
  const page = await browser.context.newPage();
  await page.clock.setFixedTime(NOW);
  await prepare(page);
  const statuses: number[] = [];
  page.on('response', (r) => {
    if (r.url().includes('/api/v1/stats')) statuses.push(r.status());
  });
  await page.goto(`${server.url}/dashboard`);
  return { page, statuses };
}

/** Waits until the panel shows the answer for these local days in `tz`. */
async function statsShown(page: Page, tz: string, from: string, to: string) {
  await page.waitForSelector(`#stats[data-shown="${tz} ${from}/${to}"]`, { timeout: 10_000 });
}

/**
 * Resolves once each chart is as wide as its panel again: after a resize the charts follow on
 * the next rendered frame (a ResizeObserver). Not two requestAnimationFrame callbacks in the
 * page: its fake clock (setFixedTime) runs those on a timer of its own, not with the frames, so
 * a busy renderer may not have drawn one yet (a chart still 1,116 px wide in a 400 px page).
 */
async function chartsFollowPanels(page: Page): Promise<void> {
  await page.waitForFunction(
    () =>
      Array.from(document.querySelectorAll<HTMLElement>('.chart')).every((el) => {
        const canvas = el.querySelector('canvas');
        return (
          canvas === null || Math.round(canvas.getBoundingClientRect().width) === el.clientWidth
        );
      }),
    null,
    { timeout: 10_000 },
  );
}

const totals = (page: Page) =>
  page.$$eval('#stats-totals dd', (dds) =>
    Object.fromEntries(dds.map((dd) => [(dd as HTMLElement).dataset.stat, dd.textContent])),
  );

/** A note's role and whether it is styled as an error. */
const noteOf = (page: Page, id: string) =>
  page.$eval(`#${id}`, (note) => ({
    role: note.getAttribute('role'),
    error: note.classList.contains('error'),
  }));

const rows = (page: Page, table: string) =>
  page.$$eval(`#${table} tbody tr`, (trs) =>
    trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent)),
  );

describe('the stats panel', () => {
  test('Today, Yesterday and a custom range in New York: totals and tables', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });

    // In UTC, "Today" is Nov 25: bob's view only.
    await page.selectOption('#tz', 'UTC');
    await statsShown(page, 'UTC', '2025-11-25', '2025-11-25');
    expect(await totals(page)).toMatchObject({ unique_visitors: '1', total_events: '1' });

    // In New York it is still Nov 24: alice's three events and bob's view.
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    // Alice's visit lasts 2 min, bob's is a bounce (0 s).
    expect(await totals(page)).toEqual({
      unique_visitors: '2',
      visits: '2',
      page_views: '3',
      views_per_visit: '1.5',
      bounce_rate: '50%',
      visit_duration: '1m 00s',
      total_events: '4',
      sessions: '2',
      unique_users: '2',
      avg_duration: '1m 05s',
    });
    expect(await page.textContent('#stats-days')).toBe(`Mon, Nov 24, 2025 · ${NY}`);
    expect(await rows(page, 'stats-pages')).toEqual([
      ['/pricing', '2', '2'],
      ['/docs', '1', '1'],
    ]);
    // Sources by visit, with visitors and visits: each visit is credited to its first event,
    // bob's to utm_source (over the referrer), alice's to HN, whatever her later events.
    expect(await rows(page, 'stats-sources')).toEqual([
      ['Hacker News', '1', '1'],
      ['Newsletter', '1', '1'],
    ]);
    expect(
      await page.$$eval('#stats-sources th', (ths) => ths.map((th) => th.textContent)),
    ).toEqual(['Source', 'Visitors', 'Visits']);
    expect(await rows(page, 'stats-browsers')).toEqual([
      ['Chrome', '1', '3'],
      ['Safari', '1', '1'],
    ]);
    expect(await rows(page, 'stats-os')).toEqual([
      ['Windows', '1', '3'],
      ['iOS', '1', '1'],
    ]);
    expect(await rows(page, 'stats-devices')).toEqual([
      ['desktop', '1', '3'],
      ['mobile', '1', '1'],
    ]);
    expect(await rows(page, 'stats-events')).toEqual([
      ['page_view', '2', '3'],
      ['signup', '1', '1'],
    ]);

    // Yesterday: carol's view and dave's 1,200, no durations, no referrer but carol's.
    await page.selectOption('#stats-period', 'yesterday');
    await statsShown(page, NY, '2025-11-23', '2025-11-23');
    // Carol's bounce and dave's visit of 1,199 s: 599.5 s on average, 600 rounded.
    expect(await totals(page)).toMatchObject({
      unique_visitors: '2',
      visits: '2',
      page_views: '1,201',
      views_per_visit: '600.5',
      bounce_rate: '50%',
      visit_duration: '10m 00s',
      avg_duration: '–',
    });
    expect(await rows(page, 'stats-pages')).toEqual([
      ['/blog', '1', '1,200'],
      ['/', '1', '1'],
    ]);
    // Dave's 1,200 views are one visit.
    expect(await rows(page, 'stats-sources')).toEqual([
      ['Direct / None', '1', '1'],
      ['DuckDuckGo', '1', '1'],
    ]);

    // A custom range of both days; the accessible names of its fields.
    await page.selectOption('#stats-period', 'custom');
    await page.getByLabel('From', { exact: true }).fill('2025-11-23');
    await page.getByLabel('To', { exact: true }).fill('2025-11-24');
    await statsShown(page, NY, '2025-11-23', '2025-11-24');
    // (120 + 0 + 0 + 1,199) / 4 = 329.75 s, 330 rounded.
    expect(await totals(page)).toEqual({
      unique_visitors: '4',
      visits: '4',
      page_views: '1,204',
      views_per_visit: '301',
      bounce_rate: '50%',
      visit_duration: '5m 30s',
      total_events: '1,205',
      sessions: '4',
      unique_users: '4',
      avg_duration: '1m 05s',
    });
    expect(await page.textContent('#stats-days')).toBe(`Nov 23 – 24, 2025 · ${NY}`);
    expect((await rows(page, 'stats-pages'))[0]).toEqual(['/blog', '1', '1,200']);

    // A day with nothing: every table says so.
    await page.getByLabel('From', { exact: true }).fill('2025-11-10');
    await page.getByLabel('To', { exact: true }).fill('2025-11-10');
    await statsShown(page, NY, '2025-11-10', '2025-11-10');
    expect(await totals(page)).toMatchObject({
      total_events: '0',
      visits: '0',
      bounce_rate: '–',
      visit_duration: '–',
      views_per_visit: '–',
      avg_duration: '–',
    });
    expect(await rows(page, 'stats-sources')).toEqual([['No sources in this period']]);
    expect(await page.locator('#stats-pages th[scope="col"]').count()).toBe(3);

    // The end before the start: nothing is read, and no table says it is loading.
    await page.getByLabel('To', { exact: true }).fill('2025-11-09');
    await page.waitForFunction(
      () => /Pick a start/.test(document.querySelector('#stats-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    const bodies = await page.$$eval('#stats tbody', (tbodies) =>
      tbodies.map((tbody) => tbody.textContent),
    );
    expect(bodies.length).toBe(8);
    expect(new Set(bodies)).toEqual(new Set(['No period chosen']));
    expect(await page.textContent('#stats-days')).toBe('');
    expect(await totals(page)).toMatchObject({ total_events: '–', visits: '–' });
  }, 60_000);

  test('the pages tabs: entry and exit pages of the visits, kept across periods', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    const tab = (name: string) => page.getByRole('button', { name, exact: true });
    const pressed = async () =>
      Promise.all(
        ['Top pages', 'Entry pages', 'Exit pages'].map((n) => tab(n).getAttribute('aria-pressed')),
      );
    const heads = () =>
      page.$$eval('#stats-pages caption, #stats-pages th', (els) => els.map((e) => e.textContent));
    expect(await pressed()).toEqual(['true', 'false', 'false']);

    // Alice enters at /pricing and leaves from /docs; bob's visit is /pricing alone.
    await tab('Entry pages').click();
    expect(await pressed()).toEqual(['false', 'true', 'false']);
    expect(await heads()).toEqual(['Entry pages', 'Entry page', 'Unique entrances', 'Entrances']);
    expect(await rows(page, 'stats-pages')).toEqual([['/pricing', '2', '2']]);
    await tab('Exit pages').click();
    expect(await pressed()).toEqual(['false', 'false', 'true']);
    expect(await heads()).toEqual(['Exit pages', 'Exit page', 'Unique exits', 'Exits']);
    expect(await rows(page, 'stats-pages')).toEqual([
      ['/docs', '1', '1'],
      ['/pricing', '1', '1'],
    ]);

    // Another period keeps the tab: carol's visit and dave's 1,200 views of /blog, one each.
    await page.selectOption('#stats-period', 'yesterday');
    await statsShown(page, NY, '2025-11-23', '2025-11-23');
    expect(await pressed()).toEqual(['false', 'false', 'true']);
    expect(await rows(page, 'stats-pages')).toEqual([
      ['/', '1', '1'],
      ['/blog', '1', '1'],
    ]);
    await tab('Top pages').click();
    expect(await heads()).toEqual(['Top pages', 'Page', 'Visitors', 'Views']);
    expect(await rows(page, 'stats-pages')).toEqual([
      ['/blog', '1', '1,200'],
      ['/', '1', '1'],
    ]);
    // The tabs are reached and pressed from the keyboard like any button.
    await tab('Entry pages').focus();
    await page.keyboard.press('Enter');
    expect(await pressed()).toEqual(['false', 'true', 'false']);
  }, 60_000);

  test('the sources tabs: channels of the visits, kept across periods', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    const tab = (name: string) =>
      page.locator('#stats-sources-tabs').getByRole('button', { name, exact: true });
    const pressed = async () =>
      Promise.all(['Channels', 'Sources'].map((n) => tab(n).getAttribute('aria-pressed')));
    const heads = () =>
      page.$$eval('#stats-sources caption, #stats-sources th', (els) =>
        els.map((e) => e.textContent),
      );
    const firstTitle = () => page.getAttribute('#stats-sources th', 'title');
    // Sources first, as before the tabs.
    expect(await pressed()).toEqual(['false', 'true']);
    expect(await firstTitle()).toStartWith('where a visit came from');

    // Alice came from Hacker News (Organic Social); bob's utm_source=Newsletter is Email,
    // whatever his Google referrer.
    await tab('Channels').click();
    expect(await pressed()).toEqual(['true', 'false']);
    expect(await heads()).toEqual(['Channels', 'Channel', 'Visitors', 'Visits']);
    expect(await firstTitle()).toStartWith('the kind of traffic');
    expect(await rows(page, 'stats-sources')).toEqual([
      ['Email', '1', '1'],
      ['Organic Social', '1', '1'],
    ]);

    // The campaigns table (Plausible's Campaigns): bob's utm_source, no utm_medium.
    const campaign = (name: string) =>
      page.locator('#stats-campaigns-tabs').getByRole('button', { name, exact: true });
    expect(await page.textContent('#stats-campaigns caption')).toBe('UTM Mediums');
    expect(await rows(page, 'stats-campaigns')).toEqual([
      ['No visits with a utm_medium in this period'],
    ]);
    await campaign('Source').click();
    expect(await campaign('Source').getAttribute('aria-pressed')).toBe('true');
    expect(await page.textContent('#stats-campaigns th')).toBe('UTM Source');
    expect(await rows(page, 'stats-campaigns')).toEqual([['Newsletter', '1', '1']]);

    // Another period keeps the tab: carol from DuckDuckGo, dave without a referrer.
    await page.selectOption('#stats-period', 'yesterday');
    await statsShown(page, NY, '2025-11-23', '2025-11-23');
    expect(await pressed()).toEqual(['true', 'false']);
    expect(await rows(page, 'stats-sources')).toEqual([
      ['Direct', '1', '1'],
      ['Organic Search', '1', '1'],
    ]);
    await tab('Sources').click();
    expect(await heads()).toEqual(['Sources', 'Source', 'Visitors', 'Visits']);
    expect(await rows(page, 'stats-sources')).toEqual([
      ['Direct / None', '1', '1'],
      ['DuckDuckGo', '1', '1'],
    ]);
    // The pages tabs are their own: still Top pages.
    expect(await page.textContent('#stats-pages caption')).toBe('Top pages');
    await tab('Channels').focus();
    await page.keyboard.press('Enter');
    expect(await pressed()).toEqual(['true', 'false']);
  }, 60_000);

  test('a stats read refused with 429 is shown as busy and retried without a click', async () => {
    const server = await serve();
    const { page, statuses } = await openPage(server);
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    const free = holdReads(server, ALL_PLACES, cleanups);
    await page.selectOption('#stats-period', '7d');
    await page.waitForFunction(
      () => /busy/.test(document.querySelector('#stats-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(statuses).toContain(429);
    expect(await page.isHidden('#auth')).toBe(true);
    await free();
    // The panel's own refresh is every 60 s: only the retry after Retry-After (1 s) gets here.
    await statsShown(page, NY, '2025-11-18', '2025-11-24');
    expect(await totals(page)).toMatchObject({ total_events: '1,205', unique_visitors: '4' });
  }, 60_000);

  test('a stats read that hangs is given up after its timeout; the next period is read', async () => {
    const server = await serve();
    let held = 0;
    const { page } = await openPage(server, async (page) => {
      // Paused: only runFor moves it, so no real time between the steps counts toward the
      // read's deadline (a busy machine's slow step would otherwise reach it early).
      await page.clock.install({ time: NOW });
      await page.clock.pauseAt(Date.parse(NOW) + 1000);
      // The panel's first read meets a connection that never answers nor closes.
      await page.route(/\/api\/v1\/stats\?/, (route) => {
        if (!new URL(route.request().url()).searchParams.has('tz') || held++ > 0) {
          return route.fallback();
        }
      });
    });
    const deadline = performance.now() + 10_000;
    while (held === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(held).toBe(1);
    const note = () => page.textContent('#stats-note');
    await page.clock.runFor(READ_TIMEOUT_MS - 1000);
    expect(await page.getAttribute('#stats', 'aria-busy')).toBe('true');
    await page.clock.runFor(1000);
    const waited = Math.round(READ_TIMEOUT_MS / 1000);
    await page.waitForSelector('#stats[aria-busy="false"]', { timeout: 10_000 });
    expect(await note()).toBe(
      `The stats could not be loaded: the server did not answer within ${waited} s`,
    );
    expect(await noteOf(page, 'stats-note')).toEqual({ role: 'alert', error: true });
    expect((await rows(page, 'stats-pages'))[0]).toEqual(['Not loaded']);
    // The panel reads again: another period is read and shown.
    await page.selectOption('#tz', NY);
    await page.selectOption('#stats-period', 'yesterday');
    await statsShown(page, NY, '2025-11-23', '2025-11-23');
    expect(held).toBeGreaterThanOrEqual(2);
  }, 60_000);

  test('a stats read answered 401 with no sign-in to refresh asks for a key', async () => {
    let statsRefused = false;
    // Reads need rk_acme; once `statsRefused`, a stats read of whole days is refused (the
    // page's probe, its socket and its series still pass: only the panel meets the 401).
    const tenancy: TenantResolver = {
      forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
      forRead: (request) => {
        const token = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
        const url = new URL(request.url);
        const days = url.pathname === '/api/v1/stats' && !url.searchParams.has('from');
        if (token !== 'rk_acme') throw new AppError('unauthorized', 'a read key is needed');
        if (statsRefused && days) throw new AppError('unauthorized', 'the read key was revoked');
        return DEFAULT_TENANT;
      },
    };
    const server = await serve(tenancy);
    const { page, statuses } = await openPage(server);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.fill('#key', 'rk_acme');
    await page.click('#key-form button');
    await page.waitForSelector('#stats[data-shown]', { timeout: 10_000 });
    statsRefused = true;
    await page.selectOption('#stats-period', 'yesterday');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(statuses.at(-1)).toBe(401);
    expect(await page.isHidden('#main')).toBe(true);
    expect(await page.textContent('#auth-error')).toBe('the read key was revoked'); // the reason
  }, 60_000);
});

describe('a stats read that fails', () => {
  test('leaves no table saying "Loading…": they say not loaded; the next period shows', async () => {
    let refused = false;
    // Once `refused`, a stats read of several days is forbidden (403): not busy, not a key.
    const tenancy: TenantResolver = {
      forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
      forRead: (request) => {
        const url = new URL(request.url);
        if (refused && url.pathname === '/api/v1/stats' && url.searchParams.has('to')) {
          throw new AppError('forbidden', 'ranges are not for this key');
        }
        return DEFAULT_TENANT;
      },
    };
    const server = await serve(tenancy);
    const { page, statuses } = await openPage(server);
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    refused = true;
    await page.selectOption('#stats-period', '7d');
    await page.waitForFunction(
      () => /could not be loaded/.test(document.querySelector('#stats-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(statuses.at(-1)).toBe(403);
    expect(await page.getAttribute('#stats', 'aria-busy')).toBe('false');
    // A failure is announced (role="alert") and styled as one, as the other panels' are.
    expect(await noteOf(page, 'stats-note')).toEqual({ role: 'alert', error: true });
    const bodies = () =>
      page.$$eval('#stats tbody', (tbodies) => tbodies.map((tbody) => tbody.textContent));
    const failed = await bodies();
    expect(failed.length).toBe(8);
    expect(new Set(failed)).toEqual(new Set(['Not loaded']));
    expect(await totals(page)).toMatchObject({ total_events: '–', unique_visitors: '–' });
    // A period that reads shows its tables again.
    await page.selectOption('#stats-period', 'yesterday');
    await statsShown(page, NY, '2025-11-23', '2025-11-23');
    expect(await bodies()).not.toContain('Not loaded');
    expect(await rows(page, 'stats-pages')).toContainEqual(['/blog', '1', '1,200']);
    expect(await noteOf(page, 'stats-note')).toEqual({ role: 'status', error: false });
  }, 60_000);

  test("the time series' failure note is an alert too; its next answer a status", async () => {
    const server = await serve();
    let failing = true;
    const { page } = await openPage(server, (page) =>
      page.route('**/api/v1/timeseries?**', (route) =>
        failing
          ? route.fulfill({
              status: 500,
              contentType: 'application/json',
              body: JSON.stringify({ detail: 'the query failed', code: 'internal' }),
            })
          : route.continue(),
      ),
    );
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(
      () => /could not be loaded/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(await noteOf(page, 'series-note')).toEqual({ role: 'alert', error: true });
    // The server's reason, as the other panels give it (not the error's class name).
    expect(await page.textContent('#series-note')).toBe(
      'The time series could not be loaded: the query failed',
    );
    failing = false;
    await page.selectOption('#series-bucket', 'day');
    await page.waitForFunction(
      () => /day buckets/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(await noteOf(page, 'series-note')).toEqual({ role: 'status', error: false });
  }, 60_000);
});

describe('on a narrow screen', () => {
  test('at 320 px every panel fits: no sideways scroll of the page, charts as wide as theirs', async () => {
    const server = await serve();
    // A long path, today in New York and now (the live top paths), wraps in its cell.
    const long = `/docs/${'getting-started-with-tally-'.repeat(4)}end`;
    const events = [
      { name: 'page_view', path: long, user_id: 'erin', timestamp: at('T16:00') },
      { name: 'page_view', path: long, user_id: 'erin' },
    ];
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    const { page } = await openPage(server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    await page.waitForSelector('#series-chart .uplot', { timeout: 10_000 });
    await page.waitForFunction(
      (path) => document.querySelector('#top-paths tbody')?.textContent?.includes(path),
      long,
      { timeout: 10_000 },
    );
    expect((await rows(page, 'stats-pages')).map((row) => row[0])).toContain(long);
    // On a desktop the stats tables sit side by side, the charts as wide as their panels.
    const layout = () =>
      page.evaluate(() => {
        const lefts = Array.from(document.querySelectorAll('#stats .split > *'), (el) =>
          Math.round(el.getBoundingClientRect().left),
        );
        const charts = Array.from(document.querySelectorAll<HTMLElement>('.chart'), (el) => {
          const canvas = el.querySelector('canvas') as HTMLCanvasElement;
          return Math.round(canvas.getBoundingClientRect().width) - el.clientWidth;
        });
        return { columns: new Set(lefts).size, charts };
      });
    const desktop = await layout();
    expect(desktop.columns).toBeGreaterThan(1);
    expect(desktop.charts).toEqual([0, 0]);

    await page.setViewportSize({ width: 320, height: 800 });
    await chartsFollowPanels(page);
    const wide = await page.evaluate(() =>
      Array.from(document.querySelectorAll('body *'))
        .filter((el) => el.getBoundingClientRect().right > innerWidth + 0.5)
        .filter((el) => el.closest('.scroll') === null)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? `#${el.id}` : ''}`),
    );
    expect(wide).toEqual([]);
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      320,
    );
    const phone = await layout();
    expect(phone.columns).toBe(1);
    expect(phone.charts).toEqual([0, 0]);
  }, 60_000);
});

describe('counts beside a long path', () => {
  test('at 320 px counts of 10 digits up to 2^53 in the tables are compact and fit', async () => {
    const server = await serve();
    const { page } = await openPage(server, async (page) => {
      // Every count of every stats list made 10 digits (visitors) or 2^53 - 1 (the others),
      // and the views of the live top paths 2^53 - 1.
      await page.route(/\/api\/v1\/stats\?.*tz=/, async (route) => {
        const response = await route.fetch();
        const answer = await response.json();
        for (const list of Object.values(answer).filter(Array.isArray) as object[][]) {
          for (const row of list as Record<string, unknown>[]) {
            for (const key of Object.keys(row).filter((k) => typeof row[k] === 'number')) {
              row[key] = key === 'visitors' ? 1_234_567_890 : Number.MAX_SAFE_INTEGER;
            }
          }
        }
        await route.fulfill({ response, json: answer });
      });
      await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
        const upstream = ws.connectToServer();
        upstream.onMessage((message) => {
          const body = JSON.parse(String(message));
          if (body.type === 'snapshot') {
            for (const window of Object.values(body.windows) as {
              top_paths: { views: number }[];
            }[]) {
              for (const path of window.top_paths) path.views = Number.MAX_SAFE_INTEGER;
            }
          }
          ws.send(JSON.stringify(body));
        });
      });
    });
    await page.setViewportSize({ width: 320, height: 800 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    await page.waitForSelector('#top-paths tbody td[title]', { timeout: 10_000 });
    // The first visitors and views of the top pages, as shown and as titled.
    const first = await page.$$eval('#stats-pages tbody tr:first-child td', (tds) =>
      tds.slice(1).map((td) => [td.textContent, td.getAttribute('title')]),
    );
    expect(first).toEqual([
      ['1.23B', '1,234,567,890'],
      ['9010T', '9,007,199,254,740,991'],
    ]);
    expect(await page.getAttribute('#top-paths tbody td.num', 'title')).toBe(
      '9,007,199,254,740,991',
    );
    // No table is wider than its box, and no label is squeezed to a letter a line.
    const shown = await page.evaluate(() => ({
      wide: Array.from(document.querySelectorAll<HTMLElement>('table'))
        .filter((table) => table.scrollWidth > (table.parentElement as HTMLElement).clientWidth)
        .map((table) => table.id),
      narrowLabels: Array.from(
        document.querySelectorAll<HTMLTableCellElement>('tbody td:first-child'),
      )
        .filter((td) => td.offsetParent !== null && td.colSpan === 1 && td.clientWidth < 60)
        .map((td) => td.textContent),
      scrollWidth: document.documentElement.scrollWidth,
    }));
    expect(shown).toEqual({ wide: [], narrowLabels: [], scrollWidth: 320 });
  }, 60_000);

  test('at 1280 and 400 px no count or count heading is broken over lines', async () => {
    const server = await serve();
    // A long path viewed 1,234 times today in New York (and now: the live top paths).
    const long = `/docs/${'getting-started-with-tally-'.repeat(4)}end`;
    const views = Array.from({ length: 1234 }, (_, i) => ({
      name: 'page_view',
      path: long,
      user_id: 'erin',
      timestamp: new Date(Date.parse(at('T16:00')) + i * 1000).toISOString(),
    }));
    expect((await server.post('/api/v1/events/batch', { events: views })).status).toBe(202);
    const { page } = await openPage(server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    await page.waitForFunction(
      () => document.querySelector('#top-paths tbody')?.textContent?.includes('1,234'),
      null,
      { timeout: 10_000 },
    );
    expect(await rows(page, 'stats-pages')).toContainEqual([long, '1', '1,234']);
    // Each count cell and count heading of the tables, with the lines its text is set on.
    const broken = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll<HTMLElement>('#stats .num, #top-paths .num'))
          .filter((cell) => cell.textContent !== '')
          .map((cell) => {
            const range = document.createRange();
            range.selectNodeContents(cell);
            const tops = new Set(Array.from(range.getClientRects(), (r) => Math.round(r.top)));
            return { text: cell.textContent, lines: tops.size };
          })
          .filter((cell) => cell.lines > 1 && !/\s/.test(cell.text ?? '')),
      );
    expect(await broken()).toEqual([]);
    await page.setViewportSize({ width: 400, height: 800 });
    await chartsFollowPanels(page);
    expect(await broken()).toEqual([]);
    // The page still does not scroll sideways: the path wraps instead.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
      400,
    );
  }, 60_000);
});

describe('the totals of a big site', () => {
  test('counts of ten digits fit their cards in full at 1280, 400 and 320 px, longer compact', async () => {
    const server = await serve();
    const { page } = await openPage(server);
    // The answer of a site with a billion events in the period (not sent: read from the API
    // and given its counts).
    const big = 1_234_567_890;
    await page.route(/\/api\/v1\/stats\?.*tz=/, async (route) => {
      const response = await route.fetch();
      const answer = await response.json();
      for (const field of ['unique_visitors', 'visits', 'page_views', 'total_events']) {
        answer[field] = big;
      }
      // Longer counts, up to 2^53 - 1, are shown compact, the exact count in their title.
      Object.assign(answer, {
        sessions: 99_999_999_999,
        unique_users: Number.MAX_SAFE_INTEGER,
        avg_duration: 443_000,
      });
      await route.fulfill({ response, json: answer });
    });
    await page.selectOption('#tz', NY);
    await statsShown(page, NY, '2025-11-24', '2025-11-24');
    expect(await totals(page)).toMatchObject({
      total_events: '1,234,567,890',
      sessions: '100B',
      unique_users: '9010T',
    });
    const titleOf = (stat: string) =>
      page.getAttribute(`#stats-totals [data-stat="${stat}"]`, 'title');
    expect(await titleOf('total_events')).toBeNull();
    expect(await titleOf('sessions')).toBe('99,999,999,999');
    expect(await titleOf('unique_users')).toBe('9,007,199,254,740,991');
    // Each card's number, and how far it runs past its card's inner edge (px).
    const overflowing = () =>
      page.$$eval('#stats-totals dd', (dds) =>
        dds
          .map((dd) => {
            const card = dd.parentElement as HTMLElement;
            const inner =
              card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
            const range = document.createRange();
            range.selectNodeContents(dd);
            const text = range.getBoundingClientRect();
            return { text: dd.textContent, past: Math.round(text.right - inner) };
          })
          .filter((shown) => shown.past > 0),
      );
    for (const width of [1280, 400, 320]) {
      await page.setViewportSize({ width, height: 900 });
      expect({ width, overflowing: await overflowing() }).toEqual({ width, overflowing: [] });
    }
  }, 60_000);
});
