// The dashboard against the per-tenant read gate (src/query/tenant-reads.ts: 2 reads of one
// tenant run, 32 wait, then 429 with Retry-After), in Chromium against the real server. The
// test holds places of the gate itself (withSnapshot on the server's own store), so the 429s
// are the server's. A tab must not fire more reads than it shows, must not take a busy
// tenant for a refused key, and must retry a refused read after Retry-After on its own.

import { describe, expect, test } from 'bun:test';
import type { Page, Request } from 'playwright-core';
import { queryLimits } from '../../src/query/index.ts';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';
import { ALL_PLACES, holdReads as holdPlaces } from './read-gate.ts';

const cleanups = cleanupsAfterEach();

const holdReads = (server: LiveServer, count: number) => holdPlaces(server, count, cleanups);

async function serve(): Promise<LiveServer> {
  const server = await serveFor(cleanups);
  return server;
}

interface ReadLog {
  /** Statuses of the page's read API answers, in order. */
  statuses: number[];
  /** Read requests the page made, of one route or of both. */
  sent: (route?: 'stats' | 'timeseries') => number;
  /** Those of them whose answer the page has whole (or whose request failed). */
  ended: (route?: 'stats' | 'timeseries') => number;
}

function logReads(page: Page): ReadLog {
  const statuses: number[] = [];
  const sent = { stats: 0, timeseries: 0 };
  const ended = { stats: 0, timeseries: 0 };
  const routeOf = (url: string) =>
    /\/api\/v1\/(stats|timeseries)\b/.exec(url)?.[1] as keyof typeof sent | undefined;
  page.on('request', (r) => {
    const route = routeOf(r.url());
    if (route !== undefined) sent[route]++;
  });
  page.on('response', (r) => {
    if (routeOf(r.url()) !== undefined) statuses.push(r.status());
  });
  const end = (r: Request) => {
    const route = routeOf(r.url());
    if (route !== undefined) ended[route]++;
  };
  page.on('requestfinished', end);
  page.on('requestfailed', end);
  const count = (of: typeof sent) => (route?: keyof typeof sent) =>
    route === undefined ? of.stats + of.timeseries : of[route];
  return { statuses, sent: count(sent), ended: count(ended) };
}

const seriesShown = (page: Page, timeoutMs: number) =>
  page.waitForFunction(
    () =>
      /buckets in .*; \d+ in all/.test(document.querySelector('#series-note')?.textContent ?? ''),
    null,
    { timeout: timeoutMs },
  );

/**
 * Resolves once `total` reads of the route were sent and each was answered (its body in, or
 * failed), or after 10 s; the caller's expect says which.
 */
async function readsEnded(
  reads: ReadLog,
  route: 'stats' | 'timeseries',
  total: number,
): Promise<void> {
  const deadline = performance.now() + 10_000;
  const done = () => reads.sent(route) >= total && reads.ended(route) >= reads.sent(route);
  while (!done() && performance.now() < deadline) await Bun.sleep(20);
}

const seriesReadsEnded = (reads: ReadLog, total: number) => readsEnded(reads, 'timeseries', total);

/** Sets the tab's visibility as a browser does when the user switches tabs. */
const setVisibility = (page: Page, state: 'hidden' | 'visible') =>
  page.evaluate((s) => {
    Object.defineProperty(document, 'visibilityState', { get: () => s, configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  }, state);

/** A browser (closed after the test) and a fresh page whose reads are logged. */
async function openPage(): Promise<{ page: Page; reads: ReadLog }> {
  const browser = await chromiumFor(cleanups);
  const page = await browser.context.newPage();
  return { page, reads: logReads(page) };
}

/** Opens the dashboard and waits until it is live with its series and stats shown. */
async function openLive(server: LiveServer): Promise<{ page: Page; reads: ReadLog }> {
  const opened = await openPage();
  await opened.page.goto(`${server.url}/dashboard`);
  await opened.page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
  await seriesShown(opened.page, 10_000);
  await opened.page.waitForSelector('#stats[data-shown]', { timeout: 10_000 });
  return opened;
}

describe('the dashboard and the per-tenant read gate', () => {
  test('a tab opened while the tenant is busy waits and retries, asks no key', async () => {
    const server = await serve();
    const free = holdReads(server, ALL_PLACES);
    const { page, reads } = await openPage();
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="busy"]', { timeout: 10_000 });
    expect(await page.isHidden('#auth')).toBe(true);
    expect(reads.statuses).toContain(429);
    await free();
    // Retry-After is 1 s here: the tab comes up on its own.
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await seriesShown(page, 10_000);
    expect(await page.isHidden('#auth')).toBe(true);
  }, 60_000);

  test('a series read refused with 429 is retried after Retry-After without a click', async () => {
    const server = await serve();
    const { page, reads } = await openLive(server);
    const free = holdReads(server, ALL_PLACES);
    await page.selectOption('#series-bucket', 'minute');
    await page.waitForFunction(
      () => /busy/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 },
    );
    expect(reads.statuses).toContain(429);
    await free();
    await page.waitForFunction(
      () => /minute buckets in/.test(document.querySelector('#series-note')?.textContent ?? ''),
      null,
      { timeout: 10_000 }, // the page's own refresh is every 30 s: only a retry gets here
    );
  }, 60_000);

  test('quick selector changes keep one read in flight; the last one shows', async () => {
    const server = await serve();
    const { page, reads } = await openLive(server);
    // The running places are taken: the tab's reads wait in the gate's queue, none ends.
    const free = holdReads(server, queryLimits.tenantReadsRunningMax);
    const before = { series: reads.sent('timeseries'), stats: reads.sent('stats') };
    // Someone runs the arrow keys down the time-zone list: a change event per zone.
    await page.evaluate((count) => {
      const select = document.querySelector('#tz') as HTMLSelectElement;
      const zones = Array.from(select.options, (o) => o.value).filter((z) => z !== 'UTC');
      for (const zone of zones.slice(0, count)) {
        select.value = zone;
        select.dispatchEvent(new Event('change', { bubbles: true }));
      }
    }, ALL_PLACES + 6);
    // The first change's reads are seen sent, then a second for room to send one too many.
    const deadline = performance.now() + 10_000;
    while (
      (reads.sent('timeseries') === before.series || reads.sent('stats') === before.stats) &&
      performance.now() < deadline
    ) {
      await Bun.sleep(20);
    }
    await Bun.sleep(1000);
    const want = await page.inputValue('#tz');
    // One read of each panel waits (the zone is the page's); the changes behind them ask for
    // one more of each, sent once it ends.
    expect(reads.sent('timeseries') - before.series).toBe(1);
    expect(reads.sent('stats') - before.stats).toBe(1);
    await free();
    await page.waitForFunction(
      (zone) => (document.querySelector('#series-note')?.textContent ?? '').includes(`in ${zone};`),
      want,
      { timeout: 10_000 },
    );
    await page.waitForFunction(
      (zone) => document.querySelector('#stats')?.getAttribute('data-shown')?.includes(zone),
      want,
      { timeout: 10_000 },
    );
    expect(reads.statuses.filter((s) => s === 429)).toEqual([]);
    expect(reads.sent('timeseries') - before.series).toBe(2);
    expect(reads.sent('stats') - before.stats).toBe(2);
  }, 60_000);

  test('a hidden tab reads no series; shown again, it reads once, then every 30 s', async () => {
    const server = await serve();
    const { page, reads } = await openPage();
    await page.clock.install();
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await seriesShown(page, 10_000);
    const before = reads.sent('timeseries');
    /**
     * The series reads sent since, once `want` were sent and answered (a read still in flight
     * would make the next refresh skip, as it should) or 10 s passed, then room for one more.
     */
    const sentSince = async (want: number) => {
      await seriesReadsEnded(reads, before + want);
      await Bun.sleep(300); // room for a read too many
      return reads.sent('timeseries') - before;
    };
    await setVisibility(page, 'hidden');
    // Three of the series' 30 s refreshes pass in the background: none is read.
    for (let i = 0; i < 3; i++) {
      await page.clock.runFor(30_000);
      await Bun.sleep(300); // a read sent would end before the next refresh
    }
    expect(await sentSince(0)).toBe(0);
    // Shown again: one read at once, not one per refresh missed.
    await setVisibility(page, 'visible');
    expect(await sentSince(1)).toBe(1);
    // Back on screen, the refresh goes on at its pace.
    await page.clock.runFor(30_000);
    expect(await sentSince(2)).toBe(2);
  }, 60_000);

  test('a hidden tab reads no stats; shown again after 60 s, it reads once, then every 60 s', async () => {
    const server = await serve();
    const { page, reads } = await openPage();
    await page.clock.install();
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForSelector('#stats[data-shown]', { timeout: 10_000 });
    await readsEnded(reads, 'stats', reads.sent('stats'));
    // Visible, the panel is read again every 60 s (a minute: one read, not the series' two).
    let before = reads.sent('stats');
    await page.clock.runFor(60_000);
    await readsEnded(reads, 'stats', before + 1);
    await Bun.sleep(300); // room for a read too many
    expect(reads.sent('stats') - before).toBe(1);
    // Hidden, three of its refreshes pass: none is read.
    await setVisibility(page, 'hidden');
    before = reads.sent('stats');
    for (let i = 0; i < 3; i++) {
      await page.clock.runFor(60_000);
      await Bun.sleep(300); // a read sent would end before the next refresh
    }
    expect(reads.sent('stats') - before).toBe(0);
    // Shown again after more than 60 s: one read at once, not one per refresh missed.
    await setVisibility(page, 'visible');
    await readsEnded(reads, 'stats', before + 1);
    await Bun.sleep(300);
    expect(reads.sent('stats') - before).toBe(1);
    // A tab hidden and shown again within the 60 s reads nothing more.
    await setVisibility(page, 'hidden');
    await setVisibility(page, 'visible');
    await Bun.sleep(300);
    expect(reads.sent('stats') - before).toBe(1);
  }, 60_000);

  test('a series refresh failing as the last one did leaves its alert as it is', async () => {
    const server = await serve();
    const { page, reads } = await openPage();
    await page.clock.install();
    await page.route('**/api/v1/timeseries?**', (route) =>
      route.fulfill({
        status: 500,
        contentType: 'application/json',
        body: JSON.stringify({ detail: 'the query failed', code: 'internal' }),
      }),
    );
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#series-note[role="alert"]', { timeout: 10_000 });
    // Every change of the note's text is announced again by a screen reader: count them.
    await page.evaluate(() => {
      const note = document.querySelector('#series-note') as HTMLElement;
      const changes = { count: 0 };
      (window as unknown as { noteChanges: typeof changes }).noteChanges = changes;
      new MutationObserver((records) => {
        changes.count += records.length;
      }).observe(note, { childList: true, characterData: true, subtree: true, attributes: true });
    });
    const before = reads.sent('timeseries');
    for (let i = 0; i < 2; i++) {
      await page.clock.runFor(30_000);
      // Answered before the next refresh: one still in flight would make it skip.
      await seriesReadsEnded(reads, before + i + 1);
      await Bun.sleep(300);
    }
    expect(reads.sent('timeseries') - before).toBe(2);
    const changes = await page.evaluate(
      () => (window as unknown as { noteChanges: { count: number } }).noteChanges.count,
    );
    expect(changes).toBe(0);
  }, 60_000);

  test('eight tabs of one project go live and load series; closed, no socket is left', async () => {
    const server = await serve();
    const browser = await chromiumFor(cleanups);
    const pages = await Promise.all(Array.from({ length: 8 }, () => browser.context.newPage()));
    const logs = pages.map(logReads);
    await Promise.all(pages.map((p) => p.goto(`${server.url}/dashboard`)));
    for (const page of pages) {
      await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
      await seriesShown(page, 10_000);
    }
    expect(server.hub.stats().connections).toBe(8);
    await server.post('/api/v1/events', { name: 'signup', user_id: 'u1' });
    for (const page of pages) {
      await page.waitForFunction(
        () =>
          document.querySelector('[data-window="1m"] [data-field="events"]')?.textContent === '1',
        null,
        { timeout: 2000 },
      );
    }
    expect(logs.flatMap((l) => l.statuses).filter((s) => s !== 200)).toEqual([]);
    await Promise.all(pages.map((p) => p.close()));
    const deadline = performance.now() + 5000;
    while (server.hub.stats().connections > 0 && performance.now() < deadline) await Bun.sleep(20);
    expect(server.hub.stats()).toMatchObject({ connections: 0, tenants: 0, topics: 0 });
  }, 60_000);
});
