// The dashboard in a real browser: Debian's Chromium driven by playwright-core against the real
// server (in this process, port 0). Events sent over HTTP must show in the page's counters and
// top paths within 2 s; the page must load nothing from other hosts; a server that needs a key
// gets the key prompt, a check of access that gets no answer (or hangs) is retried instead; an
// error message on the socket is shown as an error until the next snapshot; counts of 9
// digits fit the window cards at any width in full, those of 10 digits up to 2^53 compact
// (their exact value in the title), and the time series' y labels of 7 digits. Leaves
// a screenshot in test-artifacts/dashboard.png.

import { describe, expect, test } from 'bun:test';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type Auth, createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import {
  AppError,
  DEFAULT_TENANT,
  ManualClock,
  type TenantResolver,
} from '../../src/core/index.ts';
import { CREDENTIALS_RECHECK_MS, type LiveLimits } from '../../src/live/index.ts';
import { READ_TIMEOUT_MS, SIGN_IN_TIMEOUT_MS } from '../../web/deadline.ts';
import { LIVE_SILENCE_MAX_MS } from '../../web/live.ts';
import { TEST_PASSWORD_COST } from '../auth/harness.ts';
import { LiveClient, type LiveServer, startLiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const ARTIFACTS = path.resolve(import.meta.dir, '../../test-artifacts');
const VISIBLE_WITHIN_MS = 2000;

interface Browser {
  context: BrowserContext;
  page: Page;
  /** Requests the page made to any other host (all are refused). */
  external: string[];
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
}

const cleanups = cleanupsAfterEach();

async function serve(tenancy?: TenantResolver): Promise<LiveServer> {
  const server = await serveFor(cleanups, tenancy);
  return server;
}

async function openBrowser(server: LiveServer): Promise<Browser> {
  const browser = await chromiumFor(cleanups);
  const { context } = browser;
  const external: string[] = [];
  const ownHost = new URL(server.url).host;
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.host === ownHost) return route.continue();
    external.push(url.href);
    return route.abort();
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return { context, page, external, errors };
}

const counter = (window: string, field: string) =>
  `[data-window="${window}"] [data-field="${field}"]`;

/** Resolves when the selector's text equals `text`; fails after `timeoutMs`. */
async function textBecomes(page: Page, selector: string, text: string, timeoutMs: number) {
  await page.waitForFunction(
    ([sel, want]) => document.querySelector(sel as string)?.textContent === want,
    [selector, text],
    { timeout: Math.max(1, timeoutMs) },
  );
}

/**
 * Installs the page's fake clock paused: its timers run only by runFor. Installed but running, it
 * also follows real time whenever the page reads it between two runFor calls, so the waits a
 * test counts in page time would shrink by however long a busy machine takes between steps.
 */
async function pauseClock(page: Page): Promise<void> {
  await page.clock.install();
  await page.clock.pauseAt(Date.now() + 1000);
}

const pageViews = (paths: string[]) => ({
  events: paths.map((p) => ({ name: 'page_view', path: p, user_id: `u-${p}` })),
});

describe('dashboard in Chromium', () => {
  test('counters and top paths follow events sent over HTTP within 2 s', async () => {
    const server = await serve();
    const { page, external, errors } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.textContent(counter('1m', 'events'))).toBe('0');

    const wave = pageViews(['/pricing', '/pricing', '/pricing', '/docs', '/docs', '/']);
    const res = await server.post('/api/v1/events/batch', wave);
    const ackAt = performance.now();
    expect(res.status).toBe(202);
    await textBecomes(page, counter('1m', 'events'), '6', VISIBLE_WITHIN_MS);
    const firstRow = '#top-paths tbody tr:first-child';
    const left = VISIBLE_WITHIN_MS - (performance.now() - ackAt);
    await textBecomes(page, `${firstRow} td:first-child`, '/pricing', left);
    expect(performance.now() - ackAt).toBeLessThan(VISIBLE_WITHIN_MS);
    expect(await page.textContent(`${firstRow} td:last-child`)).toBe('3');
    expect(await page.textContent(counter('1h', 'uniques'))).toBe('3');

    await server.post('/api/v1/events', { name: 'signup', user_id: 'u-new' });
    await server.post('/api/v1/events', { name: 'cpu_load', value: 0.42 });
    const secondAck = performance.now();
    await textBecomes(page, counter('5m', 'events'), '8', VISIBLE_WITHIN_MS);
    expect(performance.now() - secondAck).toBeLessThan(VISIBLE_WITHIN_MS);
    await textBecomes(page, '#top-events tbody tr:first-child td:first-child', 'page_view', 500);
    await textBecomes(page, '#metrics tbody tr:first-child td:first-child', 'cpu_load', 500);

    // The time series from the query API, in minutes of another zone.
    await page.selectOption('#tz', 'America/New_York');
    await page.selectOption('#series-bucket', 'minute');
    await page.waitForFunction(
      () =>
        /minute buckets in America\/New_York; 8 in all/.test(
          document.querySelector('#series-note')?.textContent ?? '',
        ),
      null,
      { timeout: 5000 },
    );
    expect(await page.locator('#series-chart canvas').count()).toBe(1);
    expect(await page.locator('#rate-chart canvas').count()).toBe(1);
    // Distinct visitors are not summed across buckets (three visitors of 8 events here).
    await page.selectOption('#series-metric', 'uniques');
    await page.waitForFunction(
      () =>
        /minute buckets in America\/New_York; visitors distinct within each bucket/.test(
          document.querySelector('#series-note')?.textContent ?? '',
        ),
      null,
      { timeout: 5000 },
    );
    // The metric's time follows the chosen zone too (New York is UTC-5 or UTC-4).
    const metricTime = await page.textContent('#metrics tbody tr:first-child td:last-child');
    expect(metricTime).toMatch(/\b(EST|EDT|GMT-5|GMT-4)\b/);
    // So does the time of the last update in the header (the browser's own zone is UTC here).
    const inNewYork = (ms: number) =>
      new Intl.DateTimeFormat('en-US', { timeStyle: 'medium', timeZone: 'America/New_York' })
        .format(ms)
        .replace(/:\d\d /, ' ');
    const updated = (await page.textContent('#updated'))?.replace(/:\d\d /, ' ') ?? '';
    const now = Date.now();
    expect([now - 60_000, now].map((ms) => `updated ${inNewYork(ms)}`)).toContain(updated);

    mkdirSync(ARTIFACTS, { recursive: true });
    await page.waitForTimeout(1200);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
  }, 60_000);

  test('a project deleted under the page stops it: no reconnects, the reason shown', async () => {
    const server = await serve();
    const { page, errors } = await openBrowser(server);
    await page.clock.install();
    let sockets = 0;
    page.on('websocket', () => sockets++);
    let reads = 0;
    page.on('request', (r) => {
      if (/\/api\/v1\/(stats|timeseries)\?/.test(r.url())) reads++;
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForSelector('#stats[data-shown]', { timeout: 10_000 });
    expect(sockets).toBe(1);
    server.hub.closeTenant(DEFAULT_TENANT); // what DELETE /api/v1/projects/{id} does to sockets
    await textBecomes(
      page,
      '#status',
      'the project was deleted; pick another project',
      VISIBLE_WITHIN_MS,
    );
    // Any other close is retried after 1 s; this one never is; nor is the deleted project
    // read again (the series every 30 s, the stats every 60 s), nor any of it left on screen.
    const readsThen = reads;
    await page.clock.runFor(2500);
    await Bun.sleep(300);
    expect(sockets).toBe(1);
    await page.clock.runFor(65_000);
    await Bun.sleep(300);
    expect(reads).toBe(readsThen);
    expect(await page.getAttribute('#status', 'data-state')).toBe('offline');
    expect(await page.isHidden('#main')).toBe(true);
    expect(await page.textContent(counter('1m', 'events'))).toBe('–');
    expect(errors).toEqual([]);
  });

  test('a connection that dies without a close is dropped and reopened, not shown as live', async () => {
    const server = await serve();
    const { page, errors } = await openBrowser(server);
    await pauseClock(page);
    let sockets = 0;
    let linkDown = false;
    // The page's socket goes through a relay that can stop passing messages on, as a NAT that
    // dropped the connection or a laptop that slept: nothing arrives and nothing says so.
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      sockets++;
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        if (!linkDown) ws.send(message);
      });
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    linkDown = true;
    await page.clock.runFor(LIVE_SILENCE_MAX_MS - 1000);
    expect(await page.getAttribute('#status', 'data-state')).toBe('live');
    await page.clock.runFor(1000);
    await page.waitForSelector('#status[data-state="offline"]', { timeout: VISIBLE_WITHIN_MS });
    expect(await page.textContent('#status')).toBe('nothing heard for 45 s; retrying in 1 s');
    linkDown = false;
    await page.clock.runFor(1000);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(sockets).toBe(2);
    expect(errors).toEqual([]);
  }, 60_000);

  test("the server's error message is shown as an error with its reason until a snapshot", async () => {
    const server = await serve();
    const { page, errors } = await openBrowser(server);
    let toPage: ((message: string) => void) | null = null;
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => ws.send(message));
      toPage = (message) => ws.send(message);
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // What the hub sends when it has no room for the tenant's counters (src/live/hub.ts).
    const error = { type: 'error', code: 'overloaded', detail: 'no room for more tenants' };
    (toPage as ((message: string) => void) | null)?.(JSON.stringify(error));
    await page.waitForSelector('#status[data-state="error"]', { timeout: VISIBLE_WITHIN_MS });
    expect(await page.textContent('#status')).toBe('no room for more tenants (overloaded)');
    // A heartbeat is no snapshot: the error stays; the next snapshot is live again.
    (toPage as ((message: string) => void) | null)?.(
      JSON.stringify({ type: 'heartbeat', at: Date.now() }),
    );
    await Bun.sleep(200);
    expect(await page.getAttribute('#status', 'data-state')).toBe('error');
    expect((await server.post('/api/v1/events', { name: 'signup' })).status).toBe(202);
    await page.waitForSelector('#status[data-state="live"]', { timeout: VISIBLE_WITHIN_MS });
    expect(await page.textContent('#status')).toBe('live');
    expect(errors).toEqual([]);
  }, 60_000);

  test('a check of access with no answer (a restart, a proxy 502) is retried, no key asked', async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The page's check of access (a stats read of the last minute, no zone) meets a server
    // that is away: first no connection at all, then a proxy's 502, then the server again.
    let away: 'no connection' | 'proxy' | null = 'no connection';
    let checks = 0;
    await page.route(/\/api\/v1\/stats\?/, (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.has('tz') || away === null) return route.fallback();
      checks++;
      if (away === 'no connection') return route.abort('connectionrefused');
      return route.fulfill({ status: 502, contentType: 'text/html', body: '<h1>502</h1>' });
    });
    // Another project is picked while the server restarts.
    await page.fill('#project', 'shop');
    await page.dispatchEvent('#project', 'change');
    await page.waitForFunction(
      () =>
        /did not answer.*; retrying in 1 s$/.test(
          document.querySelector('#status')?.textContent ?? '',
        ),
      null,
      { timeout: 10_000 },
    );
    expect(await page.getAttribute('#status', 'data-state')).toBe('offline');
    expect(await page.isHidden('#auth')).toBe(true);
    // Meanwhile the last project's socket is closed: its events do not show as the new one's.
    const before = await page.textContent(counter('1m', 'events'));
    expect((await server.post('/api/v1/events/batch', pageViews(['/old']))).status).toBe(202);
    await Bun.sleep(500);
    // Offline, or checking again if the 1 s retry came meanwhile (a loaded machine): not live.
    expect(await page.getAttribute('#status', 'data-state')).not.toBe('live');
    expect(await page.textContent(counter('1m', 'events'))).toBe(before);
    away = 'proxy';
    await page.waitForFunction(
      () =>
        /^502 .*; retrying in \d+ s$/.test(document.querySelector('#status')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(await page.isHidden('#auth')).toBe(true);
    away = null;
    await page.waitForSelector('#status[data-state="live"]', { timeout: 20_000 });
    expect(checks).toBeGreaterThanOrEqual(2);
    expect(await page.isHidden('#auth')).toBe(true);
    expect(await page.getAttribute('#project', 'placeholder')).toBe('shop');
  }, 60_000);

  test('a check of access that hangs without an answer is given up and retried', async () => {
    const server = await serve();
    const { page, errors } = await openBrowser(server);
    await pauseClock(page);
    // The first check of access meets a connection that never answers nor closes.
    let checks = 0;
    await page.route(/\/api\/v1\/stats\?/, (route) => {
      if (new URL(route.request().url()).searchParams.has('tz')) return route.fallback();
      if (checks++ > 0) return route.fallback();
      // Held: neither answered nor aborted.
    });
    await page.goto(`${server.url}/dashboard`);
    const deadline = performance.now() + 10_000;
    while (checks === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(await page.textContent('#status')).toBe('checking access…');
    await page.clock.runFor(READ_TIMEOUT_MS - 1000);
    expect(await page.textContent('#status')).toBe('checking access…');
    await page.clock.runFor(1000);
    const waited = Math.round(READ_TIMEOUT_MS / 1000);
    await textBecomes(
      page,
      '#status',
      `the server did not answer within ${waited} s; retrying in 1 s`,
      VISIBLE_WITHIN_MS,
    );
    expect(await page.getAttribute('#status', 'data-state')).toBe('offline');
    expect(await page.isHidden('#auth')).toBe(true);
    await page.clock.runFor(1000);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(checks).toBe(2);
    expect(errors).toEqual([]);
  }, 60_000);

  test('a check of access that fails on the server (500, 408) is retried, no key asked', async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    // The page's first checks of access fail on the server: an internal error, then a query
    // that ran out of time; neither says anything about the key.
    const failures = [
      { status: 500, detail: 'internal error', code: 'internal' },
      { status: 408, detail: 'the query took longer than 10 s', code: 'query_timeout' },
    ];
    await page.route(/\/api\/v1\/stats\?/, (route) => {
      const failure = failures.shift();
      if (new URL(route.request().url()).searchParams.has('tz') || failure === undefined) {
        return route.fallback();
      }
      return route.fulfill({
        status: failure.status,
        contentType: 'application/json',
        body: JSON.stringify({ detail: failure.detail, code: failure.code }),
      });
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForFunction(
      () =>
        /^internal error; retrying in 1 s$/.test(
          document.querySelector('#status')?.textContent ?? '',
        ),
      null,
      { timeout: 10_000 },
    );
    expect(await page.isHidden('#auth')).toBe(true);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(failures).toEqual([]);
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test("another project's first check is retried after 1 s, not the last one's grown backoff", async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    await pauseClock(page);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // From now on the page's check of access finds no server (a restart that lasts).
    let checks = 0;
    await page.route(/\/api\/v1\/stats\?/, (route) => {
      if (new URL(route.request().url()).searchParams.has('tz')) return route.fallback();
      checks++;
      return route.abort('connectionrefused');
    });
    const retryingIn = (seconds: number) =>
      page.waitForFunction(
        (s) =>
          (document.querySelector('#status')?.textContent ?? '').endsWith(`retrying in ${s} s`),
        seconds,
        { timeout: 10_000 },
      );
    await page.fill('#project', 'shop');
    await page.dispatchEvent('#project', 'change');
    // Its checks back off: 1, 2, 4, then 8 s.
    for (const seconds of [1, 2, 4]) {
      await retryingIn(seconds);
      await page.clock.runFor(seconds * 1000);
    }
    await retryingIn(8);
    // Another project: its first check waits 1 s again, and is sent after 1 s.
    await page.fill('#project', 'blog');
    await page.dispatchEvent('#project', 'change');
    await retryingIn(1);
    const before = checks;
    await page.clock.runFor(1000);
    await retryingIn(2);
    expect(checks).toBe(before + 1);
  }, 60_000);

  test("while another project's check waits, nothing of the last project is shown", async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect((await server.post('/api/v1/events/batch', pageViews(['/a', '/b']))).status).toBe(202);
    await textBecomes(page, counter('1m', 'events'), '2', VISIBLE_WITHIN_MS);
    await page.waitForSelector('#stats[data-shown]', { timeout: 10_000 });
    await page.selectOption('#series-bucket', 'minute');
    await page.waitForFunction(
      () => /; 2 in all$/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    // A read of the default project's series by the hour and of its stats for yesterday are
    // held in flight across the switch, and answer after it.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    cleanups.push(() => release());
    const held: string[] = [];
    await page.route(
      (url) =>
        (url.pathname === '/api/v1/timeseries' && url.searchParams.get('bucket') === 'hour') ||
        (url.pathname === '/api/v1/stats' && url.searchParams.has('date')),
      async (route) => {
        held.push(new URL(route.request().url()).pathname);
        await released;
        await route.fallback();
      },
    );
    await page.selectOption('#series-bucket', 'hour');
    await page.selectOption('#stats-period', 'yesterday');
    while (held.length < 2) await Bun.sleep(20);
    // The next check of access is answered busy (a minute's Retry-After).
    await page.route(/\/api\/v1\/stats\?/, (route) =>
      new URL(route.request().url()).searchParams.has('tz')
        ? route.fallback()
        : route.fulfill({
            status: 503,
            headers: { 'retry-after': '60' },
            contentType: 'application/json',
            body: JSON.stringify({ detail: 'overloaded', code: 'overloaded' }),
          }),
    );
    await page.fill('#project', 'shop');
    await page.dispatchEvent('#project', 'change');
    await page.waitForSelector('#status[data-state="busy"]', { timeout: 10_000 });
    release();
    await page.waitForSelector('#stats[aria-busy="false"]', { timeout: 10_000 });
    await Bun.sleep(300);
    // Under the name of "shop", none of the default project's counters, paths, stats or series.
    const shown = await page.evaluate(() => ({
      counters: Array.from(document.querySelectorAll('.card dd'), (dd) => dd.textContent),
      paths: document.querySelector('#top-paths tbody')?.textContent,
      stats: document.querySelector('#stats-totals [data-stat="total_events"]')?.textContent,
      statsShown: document.querySelector<HTMLElement>('#stats')?.dataset.shown ?? null,
      series: document.querySelector('#series-note')?.textContent,
      seriesCharts: document.querySelectorAll('#series-chart canvas').length,
      updated: document.querySelector('#updated')?.textContent,
    }));
    expect(shown).toEqual({
      counters: Array(12).fill('–'),
      paths: 'Not loaded',
      stats: '–',
      statsShown: null,
      series: '',
      seriesCharts: 0,
      updated: '',
    });
  }, 60_000);

  test("a busy site's counts (9 digits) fit the window cards at any width", async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    // The server's snapshots, passed on with 123,456,789 events and visitors in each window.
    const big = 123_456_789;
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        const body = JSON.parse(String(message));
        if (body.type === 'snapshot') {
          for (const counters of Object.values(body.windows) as { events: number }[]) {
            Object.assign(counters, { events: big, uniques: big });
          }
        }
        ws.send(JSON.stringify(body));
      });
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await textBecomes(page, counter('24h', 'events'), '123,456,789', VISIBLE_WITHIN_MS);
    for (const width of [1280, 1100, 1000, 800, 520, 400, 320]) {
      await page.setViewportSize({ width, height: 900 });
      await page.evaluate(
        () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
      );
      // How far each count runs past its card's inner edge (px), and the page's width.
      const shown = await page.evaluate(() => ({
        past: Array.from(document.querySelectorAll<HTMLElement>('.card dd'))
          .map((dd) => {
            const card = dd.closest('.card') as HTMLElement;
            const edge =
              card.getBoundingClientRect().right - parseFloat(getComputedStyle(card).paddingRight);
            const range = document.createRange();
            range.selectNodeContents(dd);
            return Math.round(range.getBoundingClientRect().right - edge);
          })
          .filter((past) => past > 0),
        scrollWidth: document.documentElement.scrollWidth,
      }));
      expect({ width, ...shown }).toEqual({ width, past: [], scrollWidth: width });
    }
  }, 60_000);

  test('counts up to 2^53 fit the window cards at any width: compact, the exact count its title', async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    // Each window's count (events, visitors) passed on from 10 digits to 2^53 - 1, its rate a
    // sixtieth of it (up to 150 trillion events a second).
    const counts: Record<string, number> = {
      '1m': 1_234_567_890,
      '5m': 99_999_999_999,
      '1h': 999_999_999_999_999,
      '24h': Number.MAX_SAFE_INTEGER,
    };
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => {
        const body = JSON.parse(String(message));
        if (body.type === 'snapshot') {
          for (const [window, n] of Object.entries(counts)) {
            Object.assign(body.windows[window], {
              events: n,
              uniques: n,
              events_per_second: n / 60,
            });
          }
        }
        ws.send(JSON.stringify(body));
      });
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await textBecomes(page, counter('1m', 'events'), '1.23B', VISIBLE_WITHIN_MS);
    // The exact count stays one hover (and one accessible description) away.
    expect(await page.getAttribute(counter('1m', 'events'), 'title')).toBe('1,234,567,890');
    expect(await page.getAttribute(counter('24h', 'uniques'), 'title')).toBe(
      '9,007,199,254,740,991',
    );
    // A rate of 1,000/s or more is whole (20,576,131.5/s here), compact from 10 digits.
    expect(await page.textContent(counter('1m', 'rate'))).toBe('20,576,132');
    expect(await page.textContent(counter('5m', 'rate'))).toBe('1.67B');
    for (const width of [1280, 1100, 1000, 800, 520, 400, 320]) {
      await page.setViewportSize({ width, height: 900 });
      await page.evaluate(
        () => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))),
      );
      // Each card and count whose content is wider than its box, and the page's width.
      const shown = await page.evaluate(() => ({
        overflowing: Array.from(document.querySelectorAll<HTMLElement>('.card, .card dd'))
          .filter((el) => el.scrollWidth > el.clientWidth)
          .map((el) => {
            const card = el.closest('.card')?.querySelector('h2')?.textContent;
            return `${card} ${el.dataset.field ?? 'card'}: ${el.scrollWidth} > ${el.clientWidth}`;
          }),
        scrollWidth: document.documentElement.scrollWidth,
      }));
      expect({ width, ...shown }).toEqual({ width, overflowing: [], scrollWidth: width });
    }
  }, 60_000);

  test("the time series' y axis is as wide as its labels: 2,000,000 is not cut", async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    // The hours of a big site: the server's buckets, given 1,000,000 to 1,888,000 events.
    await page.route(/\/api\/v1\/timeseries\?/, async (route) => {
      const response = await route.fetch();
      const answer = await response.json();
      const points = answer.series[0].points as { value: number }[];
      points.forEach((point, i) => {
        point.value = 1_000_000 + i * 37_000;
      });
      await route.fulfill({ response, json: answer });
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#series-chart .uplot', { timeout: 10_000 });
    // The top label is 2,000,000 (the axis goes to 110% of the largest count); uPlot draws it
    // right-aligned 15 px (ticks and gap) left of the plot, in its default font.
    const room = await page.evaluate(() => {
      const chart = document.querySelector('#series-chart .uplot') as HTMLElement;
      const plot = chart.querySelector('.u-over') as HTMLElement;
      const left = plot.getBoundingClientRect().left - chart.getBoundingClientRect().left;
      const ctx = document.createElement('canvas').getContext('2d') as CanvasRenderingContext2D;
      ctx.font =
        '12px system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, ' +
        '"Noto Sans", sans-serif, "Apple Color Emoji", "Segoe UI Emoji", "Segoe UI Symbol", ' +
        '"Noto Color Emoji"';
      return { left, label: ctx.measureText('2,000,000').width + 15 };
    });
    expect(room.left).toBeGreaterThanOrEqual(room.label);
    // The note's sum is written as every other count is, with the thousands separators
    // (25 hourly buckets: 25,000,000 + 37,000 × 300).
    expect(await page.textContent('#series-note')).toBe(
      '25 hour buckets in UTC; 36,100,000 in all',
    );
  }, 60_000);

  test("a project's check answered after another project was picked is not acted on", async () => {
    const server = await serve();
    const { page } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // A mistyped project's check is slow and refused; the corrected project's passes at once.
    await page.route(/\/api\/v1\/stats\?/, async (route) => {
      const url = new URL(route.request().url());
      if (url.searchParams.has('tz') || url.searchParams.get('tenant_id') !== 'shpo') {
        return route.fallback();
      }
      await Bun.sleep(1500);
      return route.fulfill({
        status: 403,
        contentType: 'application/json',
        body: JSON.stringify({ detail: 'no access to shpo', code: 'forbidden' }),
      });
    });
    // Typed and left with Tab, as a user does (the field's change event on leaving it).
    await page.fill('#project', 'shpo');
    await page.press('#project', 'Tab');
    await Bun.sleep(200);
    await page.fill('#project', 'shop');
    await page.press('#project', 'Tab');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The mistyped project's refusal arrives now: it says nothing of the project on screen.
    await Bun.sleep(2500);
    expect(await page.isHidden('#auth')).toBe(true);
    expect(await page.getAttribute('#status', 'data-state')).toBe('live');
    expect(await page.getAttribute('#project', 'placeholder')).toBe('shop');
  }, 60_000);

  test('a check of access while a sign-in is typed leaves the focus where it is', async () => {
    const server = await serve(keyTenancy);
    const { page } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.focus('#email');
    await page.keyboard.type('ana@');
    // Another project is checked meanwhile (its field changed): the prompt comes again.
    const checked = page.waitForResponse((r) => r.url().includes('tenant_id=acme'));
    await page.$eval('#project', (el) => {
      (el as HTMLInputElement).value = 'acme';
      el.dispatchEvent(new Event('change'));
    });
    expect((await checked).status()).toBe(401);
    await page.waitForSelector('#status[data-state="locked"]', { timeout: 10_000 });
    await page.keyboard.type('example.com');
    expect(await page.inputValue('#email')).toBe('ana@example.com');
    expect(await page.inputValue('#key')).toBe('');
  }, 60_000);

  test('a server that needs a key shows the prompt; a pasted read key opens the page', async () => {
    const server = await serve(keyTenancy);
    const { page, external } = await openBrowser(server);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(await page.isHidden('#main')).toBe(true);
    // Every field of the prompt has a label (the placeholders vanish once typed into).
    for (const label of ['Read key or access token', 'Email', 'Password']) {
      expect(await page.getByLabel(label, { exact: true }).count()).toBe(1);
    }
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-prompt.png') });
    // No key sent yet: the prompt asks for one, no reason shown.
    expect(await page.textContent('#auth-error')).toBe('');
    expect(await page.textContent('#status')).toBe('key needed');
    await page.fill('#key', 'rk_wrong');
    await page.click('#key-form button');
    await page.waitForSelector('#status[data-state="locked"]:text("key refused")');
    // The server's reason is the prompt's error line, an alert.
    expect(await page.textContent('#auth-error')).toBe('unknown or revoked read key');
    expect(await page.getAttribute('#auth-error', 'role')).toBe('alert');
    await page.fill('#key', 'rk_acme');
    await page.click('#key-form button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('tally.token'))).toBe('rk_acme');
    await server.post('/api/v1/events', { name: 'signup', tenant_id: 'acme' });
    await textBecomes(page, counter('1m', 'events'), '1', VISIBLE_WITHIN_MS);
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard-key.png') });
    // Forget key: the tab drops the pasted key and asks again; nothing is sent to revoke it.
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.method() !== 'GET') sent.push(`${r.method()} ${new URL(r.url()).pathname}`);
    });
    await page.click('#forget');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('tally.token'))).toBeNull();
    // Gone from the prompt too (a click on Use key would take it again), with Forget key.
    expect(await page.inputValue('#key')).toBe('');
    expect(await page.isHidden('#forget')).toBe(true);
    await Bun.sleep(300); // room for a request that should not be sent
    expect(sent).toEqual([]);
    expect(external).toEqual([]);
  }, 60_000);
});

const ACCESS_TTL_MS = 60_000;
const ANA = { email: 'ana@example.com', password: 'long enough password' };

/** A server with sign-in whose user ana owns project acme; `limits` of its live hub. */
async function signedInServer(limits: Partial<LiveLimits> = {}) {
  const clock = new ManualClock(Date.now());
  let auth: Auth | null = null;
  const server = await startLiveServer({
    clock,
    limits,
    auth: (engine) => {
      const options = { passwordCost: TEST_PASSWORD_COST, accessTtlMs: ACCESS_TTL_MS };
      auth = createAuth({
        db: engine.store.sqlite,
        clock,
        options,
        tenantHoldsEvents: storedEventsProbe(engine.store),
      });
      return auth;
    },
  });
  cleanups.push(() => server.close());
  const accounts = (auth as Auth | null)?.accounts;
  if (accounts === undefined) throw new Error('no auth module');
  await accounts.register(ANA, null, null);
  const pair = await accounts.login(ANA, null);
  await (auth as unknown as Auth).projects.create(accounts.verifyAccess(pair.access_token), {
    id: 'acme',
    name: 'acme',
  });
  return { server, clock, accessToken: pair.access_token, auth: auth as unknown as Auth };
}

async function signIn(page: Page, server: LiveServer): Promise<void> {
  await page.goto(`${server.url}/dashboard`);
  await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
  await page.fill('#email', ANA.email);
  await page.fill('#password', ANA.password);
  await page.click('#login-form button');
}

describe('a signed-in dashboard', () => {
  test('refreshes its access token and reconnects when the socket closes with 1008', async () => {
    const { server, clock } = await signedInServer();
    const { page, errors } = await openBrowser(server);
    const refreshes: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/auth/refresh')) refreshes.push(r.method());
    });
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const first = await page.evaluate(() => sessionStorage.getItem('tally.token'));

    // The access token expires; the next credentials check closes the socket with 1008.
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS);
    await page.waitForRequest((r) => r.url().endsWith('/api/v1/auth/refresh'), {
      timeout: 10_000,
    });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(refreshes).toEqual(['POST']);
    expect(await page.isHidden('#auth')).toBe(true);
    const second = await page.evaluate(() => sessionStorage.getItem('tally.token'));
    expect(second).not.toBe(first);
    expect(server.hub.stats()).toMatchObject({ connections: 1, revokedClosed: 1 });
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  }, 60_000);

  test('a refresh the server cannot answer (503) keeps the sign-in: the next try succeeds', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The first refresh meets a server restarting; later ones reach it.
    let refused = 0;
    await page.route('**/api/v1/auth/refresh', (route) => {
      if (refused++ === 0) return route.fulfill({ status: 503, body: '{"detail":"restarting"}' });
      return route.continue();
    });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    await page.waitForSelector('#status[data-state="offline"]', { timeout: 10_000 });
    await page.waitForSelector('#status[data-state="live"]', { timeout: 20_000 });
    expect(refused).toBeGreaterThanOrEqual(2); // the 503, then the refresh that worked
    expect(await page.isHidden('#auth')).toBe(true); // never asked to sign in again
  }, 60_000);

  test("a refresh answered 429 is not sent again before its Retry-After, though the socket's retries come sooner", async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    // Real time leaking in between the steps below (the more, the busier the machine) would
    // run the 60 s out before the test means to.
    await pauseClock(page);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The user's refreshes are rate limited for 60 s; later ones pass.
    let limited = true;
    let refreshes = 0;
    await page.route('**/api/v1/auth/refresh', (route) => {
      refreshes++;
      if (!limited) return route.fallback();
      return route.fulfill({
        status: 429,
        headers: { 'retry-after': '60', 'content-type': 'application/json' },
        body: '{"detail":"too many refreshes","code":"rate_limited"}',
      });
    });
    const limitedAnswer = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh'));
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    const deadline = performance.now() + 10_000;
    while (refreshes === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(refreshes).toBe(1);
    // The 429 reaches the page's code before its clock runs on: its 60 s start at this time,
    // not a second later (a busy machine would otherwise make the wait left below 3 s).
    await limitedAnswer;
    await Bun.sleep(100);
    // The socket retries at 1, 3, 7, 15, 30 and 45 s, each checked with a read: none refreshes.
    for (let s = 0; s < 58; s++) {
      await page.clock.runFor(1000);
      await Bun.sleep(40);
    }
    expect(refreshes).toBe(1);
    expect(await page.isHidden('#auth')).toBe(true); // the sign-in is held
    // The panels that read meanwhile say why they wait: the refresh, not a busy project.
    const waiting =
      /^The access token could not be refreshed yet: too many refreshes; retrying in \d+ s$/;
    expect(await page.textContent('#series-note')).toMatch(waiting); // its 30 s refresh
    await page.$eval('#retention-form', (f) => (f as HTMLFormElement).requestSubmit());
    await page.selectOption('#tz', 'UTC'); // the stats read again
    for (const note of ['#stats-note', '#retention-note']) {
      for (let i = 0; i < 100 && !waiting.test((await page.textContent(note)) ?? ''); i++) {
        await Bun.sleep(40);
      }
      expect(await page.textContent(note)).toMatch(waiting);
    }
    // Another project's check meanwhile waits as the server asked, not the 1 s backoff.
    await page.fill('#project', 'acme');
    await page.dispatchEvent('#project', 'change');
    await page.waitForSelector('#status[data-state="busy"]', { timeout: 10_000 });
    // 60 s - 58 s; 3 s when the page took the 429 only once the clock had run on a second
    // (its processing is not in the test's hands), never the backoff's 1 s.
    expect(await page.textContent('#status')).toMatch(
      /could not be refreshed yet: too many refreshes\); retrying in [23] s$/,
    );
    expect(refreshes).toBe(1);
    // Past the 60 s, the next check refreshes, and the page is live again.
    limited = false;
    for (let s = 0; s < 20 && refreshes < 2; s++) {
      await page.clock.runFor(1000);
      await Bun.sleep(40);
    }
    expect(refreshes).toBe(2);
    for (let s = 0; s < 30; s++) {
      if (await page.isVisible('#status[data-state="live"]')) break;
      await page.clock.runFor(1000);
      await Bun.sleep(40);
    }
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a sign-in that gets no answer is given up: its reason shown, the button usable again', async () => {
    const { server } = await signedInServer();
    const { page } = await openBrowser(server);
    await pauseClock(page);
    // The first sign-in meets a connection that never answers nor closes.
    let logins = 0;
    await page.route('**/api/v1/auth/login', (route) => {
      if (logins++ > 0) return route.fallback();
      // Held: neither answered nor aborted.
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.fill('#email', ANA.email);
    await page.fill('#password', ANA.password);
    await page.click('#login-button');
    const deadline = performance.now() + 10_000;
    while (logins === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(await page.isDisabled('#login-button')).toBe(true); // one sign-in at a time
    await page.clock.runFor(SIGN_IN_TIMEOUT_MS - 1000);
    expect(await page.textContent('#auth-error')).toBe('');
    await page.clock.runFor(1000);
    const waited = Math.round(SIGN_IN_TIMEOUT_MS / 1000);
    await textBecomes(
      page,
      '#auth-error',
      `the server did not answer within ${waited} s; try again`,
      VISIBLE_WITHIN_MS,
    );
    expect(await page.isEnabled('#login-button')).toBe(true);
    await page.click('#login-button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(logins).toBe(2);
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a refresh whose answer was lost is sent once more: its refusal asks to sign in, saying why', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The first refresh reaches the server, which rotates the token; its answer is lost.
    const answered: number[] = [];
    await page.route('**/api/v1/auth/refresh', async (route) => {
      const response = await route.fetch();
      answered.push(response.status());
      if (answered.length === 1) return route.abort('connectionreset');
      return route.fulfill({ response });
    });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    // Sent again at once with the same token: a reuse, which ended the session.
    expect(answered).toEqual([200, 401]);
    expect(await page.textContent('#auth-error')).toBe(
      'your sign-in ended (refresh token already used; the session is revoked); sign in again',
    );
    expect(await page.textContent('#status')).toBe('sign-in ended');
    // Signing in again opens the page; the reason is gone with the ended sign-in.
    await page.unroute('**/api/v1/auth/refresh');
    await page.fill('#email', ANA.email);
    await page.fill('#password', ANA.password);
    await page.click('#login-button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a refresh that hangs is given up after 30 s and sent once more at once', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await pauseClock(page); // no real time counts toward the 30 s
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The first refresh meets a connection that never answers nor closes; later ones pass.
    let refreshes = 0;
    await page.route('**/api/v1/auth/refresh', (route) => {
      if (refreshes++ > 0) return route.fallback();
      // Held: neither answered nor aborted.
    });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    const deadline = performance.now() + 10_000;
    while (refreshes === 0 && performance.now() < deadline) await Bun.sleep(20);
    await page.clock.runFor(SIGN_IN_TIMEOUT_MS - 1000);
    expect(refreshes).toBe(1);
    await page.clock.runFor(1000);
    while (refreshes === 1 && performance.now() < deadline) await Bun.sleep(20);
    expect(refreshes).toBe(2); // no later reconnect waited for: sent again at once
    // The socket's next retry: 2 to 15 s away, as many retries as the 29 s above let through
    // (each waits for its refused handshake's close, which a busy machine delivers later).
    for (let s = 0; s < 20; s++) {
      if (await page.isVisible('#status[data-state="live"]')) break;
      await page.clock.runFor(1000);
      await Bun.sleep(40);
    }
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a project picked while the refresh cannot be answered is checked again, not locked', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The server restarts: its refreshes are 503 until it is back.
    let restarting = true;
    let refused = 0;
    await page.route('**/api/v1/auth/refresh', (route) => {
      if (!restarting) return route.continue();
      refused++;
      return route.fulfill({ status: 503, body: '{"detail":"restarting"}' });
    });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    const deadline = performance.now() + 10_000;
    while (refused === 0 && performance.now() < deadline) await Bun.sleep(20);
    // Another project is picked meanwhile: its check meets the expired access token.
    await page.fill('#project', 'acme');
    await page.dispatchEvent('#project', 'change');
    await page.waitForFunction(
      () =>
        /could not be refreshed.*; retrying in \d+ s$/.test(
          document.querySelector('#status')?.textContent ?? '',
        ),
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.isHidden('#auth')).toBe(true); // the sign-in is held: no key asked
    restarting = false;
    await page.waitForSelector('#status[data-state="live"]', { timeout: 20_000 });
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a member removed while watching is told so, not left reconnecting for ever', async () => {
    const { server, clock, auth, accessToken } = await signedInServer();
    const BO = { email: 'bo@example.com', password: 'another long password' };
    await auth.accounts.register(BO, null, null);
    const bo = auth.accounts.verifyAccess((await auth.accounts.login(BO, null)).access_token);
    const owner = auth.accounts.verifyAccess(accessToken);
    const invited = auth.invitations.invite(owner, 'acme', { email: BO.email });
    auth.invitations.accept(bo, { token: invited.token });
    const { page } = await openBrowser(server);
    // The tab reads project acme (bo's only one; named, so the refusal names it too).
    await page.addInitScript(() => sessionStorage.setItem('tally.project', 'acme'));
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.fill('#email', BO.email);
    await page.fill('#password', BO.password);
    await page.click('#login-button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // The owner removes bo: the next credentials check closes his socket with 1008.
    auth.projects.removeMember(owner, 'acme', bo.user.id);
    clock.advance(CREDENTIALS_RECHECK_MS);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#auth-error')).toBe(
      'these credentials may not read tenant acme',
    );
    expect(await page.textContent('#status')).toBe('key refused');
    expect(await page.isHidden('#main')).toBe(true);
  }, 60_000);

  test('an address with non-ASCII letters signs in as typed (no punycode, not refused)', async () => {
    const { server, auth, accessToken } = await signedInServer();
    const JOSE = { email: 'josé@exämple.com', password: 'another long password' };
    await auth.accounts.register(JOSE, null, null);
    const jose = auth.accounts.verifyAccess((await auth.accounts.login(JOSE, null)).access_token);
    const owner = auth.accounts.verifyAccess(accessToken);
    const invited = auth.invitations.invite(owner, 'acme', { email: JOSE.email });
    auth.invitations.accept(jose, { token: invited.token });
    const { page } = await openBrowser(server);
    const sent: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/auth/login')) sent.push(JSON.parse(r.postData() ?? '').email);
    });
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    await page.fill('#email', JOSE.email);
    await page.fill('#password', JOSE.password);
    await page.click('#login-button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    expect(sent).toEqual([JOSE.email]);
  }, 60_000);

  test('Forget key ends the session on the server: its tokens stop working', async () => {
    const { server } = await signedInServer();
    const { page, errors } = await openBrowser(server);
    const logouts: string[] = [];
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/auth/logout')) logouts.push(r.postData() ?? '');
    });
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const token = await page.evaluate(() => sessionStorage.getItem('tally.token'));
    const me = () =>
      fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me()).status).toBe(200);
    await page.click('#forget');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(await page.evaluate(() => sessionStorage.getItem('tally.token'))).toBeNull();
    // Nothing of the sign-in is left in the prompt to sign in again with, and no Forget key.
    expect(await page.inputValue('#password')).toBe('');
    expect(await page.isHidden('#forget')).toBe(true);
    const deadline = performance.now() + 5000;
    while ((await me()).status !== 401 && performance.now() < deadline) await Bun.sleep(50);
    expect((await me()).status).toBe(401); // the session's access token ends with it
    expect(logouts).toHaveLength(1);
    expect(Object.keys(JSON.parse(logouts[0] as string))).toEqual(['refresh_token']);
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  }, 60_000);

  test('after a reload, Forget key still ends the session: with its access token', async () => {
    const { server } = await signedInServer();
    const { page, errors } = await openBrowser(server);
    const logouts: { body: string | null; bearer: boolean }[] = [];
    page.on('request', (r) => {
      if (!r.url().endsWith('/api/v1/auth/logout')) return;
      logouts.push({
        body: r.postData(),
        bearer: /^Bearer /.test(r.headers().authorization ?? ''),
      });
    });
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    // A reload keeps the access token (sessionStorage), not the refresh token (memory).
    await page.reload();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const token = await page.evaluate(() => sessionStorage.getItem('tally.token'));
    const me = () =>
      fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect((await me()).status).toBe(200);
    await page.click('#forget');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    const deadline = performance.now() + 5000;
    while ((await me()).status !== 401 && performance.now() < deadline) await Bun.sleep(50);
    expect((await me()).status).toBe(401); // the session ended with it
    expect(logouts).toEqual([{ body: null, bearer: true }]);
    expect(errors.filter((e) => !e.includes('401'))).toEqual([]);
  }, 60_000);

  test('after a reload, the expired access token asks to sign in again, saying why', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.reload();
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect(await page.textContent('#auth-error')).toBe(
      'your sign-in ended (invalid access token; a reloaded tab keeps no refresh token); ' +
        'sign in again',
    );
    expect(await page.textContent('#status')).toBe('sign-in ended');
  }, 60_000);

  test('a sign-in in the prompt ends the session the tab held until then', async () => {
    const { server } = await signedInServer();
    const { page } = await openBrowser(server);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const first = await page.evaluate(() => sessionStorage.getItem('tally.token'));
    const me = (token: string | null) =>
      fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    // A project ana may not read: the prompt comes while her session is still held.
    await page.fill('#project', 'elsewhere');
    await page.dispatchEvent('#project', 'change');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    expect((await me(first)).status).toBe(200);
    await page.fill('#email', ANA.email);
    await page.fill('#password', ANA.password);
    const loggedIn = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    await page.click('#login-form button');
    expect((await loggedIn).status()).toBe(200);
    const deadline = performance.now() + 5000;
    while ((await me(first)).status !== 401 && performance.now() < deadline) await Bun.sleep(50);
    expect((await me(first)).status).toBe(401); // the replaced session ended
    const second = await page.evaluate(() => sessionStorage.getItem('tally.token'));
    expect(second).not.toBe(first);
    expect((await me(second)).status).toBe(200); // the new one did not
  }, 60_000);

  test('a key pasted while a sign-in waits stays; the sign-in, answered late, is ended', async () => {
    const { server, accessToken } = await signedInServer();
    const { page } = await openBrowser(server);
    // The sign-in's answer is held until the key is in use.
    let release: (() => void) | null = null;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let lateAccess: string | null = null;
    await page.route('**/api/v1/auth/login', async (route) => {
      const response = await route.fetch();
      lateAccess = ((await response.json()) as { access_token: string }).access_token;
      await released;
      await route.fulfill({ response });
    });
    await signIn(page, server);
    await page.fill('#key', accessToken);
    await page.click('#key-form button');
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/login'));
    (release as (() => void) | null)?.();
    expect((await answered).status()).toBe(200);
    await Bun.sleep(300);
    // The key chosen last is kept: the page does not switch to the older sign-in.
    expect(await page.evaluate(() => sessionStorage.getItem('tally.token'))).toBe(accessToken);
    expect(await page.evaluate(() => sessionStorage.getItem('tally.signed-in'))).toBeNull();
    expect(await page.isVisible('#status[data-state="live"]')).toBe(true);
    // The late sign-in's session was ended on the server, not left alive unheld.
    const me = (token: string | null) =>
      fetch(`${server.url}/api/v1/users/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(lateAccess).not.toBeNull();
    const deadline = performance.now() + 5000;
    while ((await me(lateAccess)).status !== 401 && performance.now() < deadline) {
      await Bun.sleep(50);
    }
    expect((await me(lateAccess)).status).toBe(401);
    expect((await me(accessToken)).status).toBe(200);
  }, 60_000);

  test('Forget key with no answer and a refresh in flight drops the sign-in in the tab', async () => {
    const { server, clock } = await signedInServer();
    const { page } = await openBrowser(server);
    await page.route('**/api/v1/auth/logout', (route) => route.abort('connectionrefused'));
    // The access token's refresh is held on its way until the sign-in is forgotten.
    let release: (() => void) | null = null;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    let refreshes = 0;
    await page.route('**/api/v1/auth/refresh', async (route) => {
      refreshes++;
      await released;
      await route.continue();
    });
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    clock.advance(ACCESS_TTL_MS + CREDENTIALS_RECHECK_MS); // the socket closes with 1008
    const deadline = performance.now() + 10_000;
    while (refreshes === 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(refreshes).toBe(1);
    await page.click('#forget');
    await page.waitForSelector('#auth:not([hidden])', { timeout: 10_000 });
    const answered = page.waitForResponse((r) => r.url().endsWith('/api/v1/auth/refresh'));
    (release as (() => void) | null)?.();
    expect((await answered).status()).toBe(200); // the logout never reached the server
    await Bun.sleep(300);
    // The refresh's new tokens are not the tab's: nothing is saved, the prompt stays.
    expect(await page.evaluate(() => sessionStorage.getItem('tally.token'))).toBeNull();
    expect(await page.isHidden('#auth')).toBe(false);
    expect(await page.textContent('#status')).toBe('key needed');
  }, 60_000);

  test('a handshake refused for overload backs off: no storm of refreshes or sockets', async () => {
    // The tenant's only subscriber place is taken: every handshake of the page gets 429.
    const { server, accessToken } = await signedInServer({ subscribersPerTenantMax: 1 });
    const holder = await LiveClient.connect(`${server.wsUrl}/api/v1/live?token=${accessToken}`);
    cleanups.push(() => holder.close());
    const { page } = await openBrowser(server);
    let refreshes = 0;
    let sockets = 0;
    page.on('request', (r) => {
      if (r.url().endsWith('/api/v1/auth/refresh')) refreshes++;
    });
    page.on('websocket', () => sockets++);
    await signIn(page, server);
    await page.waitForSelector('#status[data-state="offline"]', { timeout: 10_000 });
    // Backoff 1 s, then 2 s: the first retry comes ~1 s after the first socket, the next ~2 s
    // after that (later on a busy machine, never sooner). A storm opens several a second.
    const deadline = performance.now() + 10_000;
    while (sockets < 2 && performance.now() < deadline) await Bun.sleep(20);
    expect(sockets).toBe(2);
    await Bun.sleep(1500);
    expect(sockets).toBeLessThanOrEqual(3);
    expect(refreshes).toBe(0); // the token is fine: the probe says so, nothing is refreshed
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);
});

/** Reads need the read key rk_acme (tenant acme), as a Bearer token. */
const keyTenancy: TenantResolver = {
  forIngest: () => (claimed) => claimed ?? DEFAULT_TENANT,
  forRead: (request) => {
    const token = /^Bearer (\S+)$/i.exec(request.headers.get('authorization') ?? '')?.[1];
    if (token === undefined) throw new AppError('unauthorized', 'a read key is needed');
    if (token !== 'rk_acme') throw new AppError('unauthorized', 'unknown or revoked read key');
    return 'acme';
  },
};
