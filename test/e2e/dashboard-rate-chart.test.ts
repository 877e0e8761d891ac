// The live events/s chart in a real browser while the socket is down: the page samples no rate
// then (it knows none), and the chart must show that span as a gap, not a line drawn from the
// last rate before the outage to the first after it as if the rate had been measured between.
// The page's clock is paused and run by the test; the socket goes through a relay that the
// test takes down (closing the page's socket, refusing its reconnects) and brings back. What
// the chart drew is read from its canvas: the line's pixels in a column of the outage. So is
// a span while the server's error message is shown on an open socket: the page is not live.

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const cleanups = cleanupsAfterEach();

/** The chart's span (web/charts.ts RATE_SPAN_S): its x axis ends at the page's now. */
const RATE_SPAN_S = 300;

/**
 * Pixels of the rate line (#2f6fde, opaque: the fill under it is 12 % alpha) in the canvas
 * column of the instant `secondsAgo` before the page's now.
 */
function linePixelsAt(page: Page, secondsAgo: number): Promise<number> {
  return page.evaluate(
    ([ago, span]) => {
      const chart = document.querySelector('#rate-chart') as HTMLElement;
      const canvas = chart.querySelector('canvas') as HTMLCanvasElement;
      const over = chart.querySelector('.u-over') as HTMLElement;
      const scale = canvas.width / canvas.clientWidth;
      const left = over.offsetLeft + over.clientWidth * (1 - (ago as number) / (span as number));
      const x = Math.round(left * scale);
      const ctx = canvas.getContext('2d') as CanvasRenderingContext2D;
      const { data } = ctx.getImageData(x, 0, 1, canvas.height);
      let pixels = 0;
      for (let i = 0; i < data.length; i += 4) {
        const [r, g, b, a] = [data[i] ?? 0, data[i + 1] ?? 0, data[i + 2] ?? 0, data[i + 3] ?? 0];
        if (a > 200 && b > 180 && r < 120 && g < 160) pixels++;
      }
      return pixels;
    },
    [secondsAgo, RATE_SPAN_S],
  );
}

/** uPlot's draw of the last sample is on the canvas (its frames run on the page's clock). */
const drawn = (page: Page) => page.clock.runFor(100);

describe('the live events/s chart', () => {
  test('a span with the socket down is a gap, not a line from the rate before to the one after', async () => {
    const server = await serveFor(cleanups);
    const browser = await chromiumFor(cleanups);
    const page = await browser.context.newPage();
    await page.clock.install();
    await page.clock.pauseAt(Date.now() + 1000);
    let down = false;
    let toPage: { close(options?: { code?: number; reason?: string }): Promise<void> } | null =
      null;
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      if (down) return void ws.close({ code: 1013, reason: 'relay down' });
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => ws.send(message));
      toPage = ws;
    });
    // 60 events in the last minute: a rate of 1/s, which stays while the page's clock runs.
    const events = Array.from({ length: 60 }, (_, i) => ({ name: 'page_view', path: `/${i}` }));
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    await Bun.sleep(1100); // a whole second holds them: the rate of the first snapshot counts them
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-window="1m"] [data-field="events"]')?.textContent === '60',
      undefined,
      { timeout: 10_000 },
    );
    await page.clock.runFor(30_000); // 30 s of samples before the outage
    down = true;
    await (toPage as { close(): Promise<void> } | null)?.close();
    await page.waitForSelector('#status[data-state="offline"]', { timeout: 5000 });
    await page.clock.runFor(60_000); // the outage: reconnects refused
    down = false;
    await page.clock.runFor(16_000); // the longest backoff: connected again
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.clock.runFor(20_000); // samples after it
    await drawn(page);
    // Measured before the outage and after it: the line is drawn there.
    expect(await linePixelsAt(page, 110)).toBeGreaterThan(0);
    expect(await linePixelsAt(page, 5)).toBeGreaterThan(0);
    // In the middle of the outage (about 65 s before now): nothing was measured, nothing drawn.
    expect(await linePixelsAt(page, 65)).toBe(0);
  }, 60_000);

  test("a span with the server's error message shown is a gap too, though the socket is open", async () => {
    const server = await serveFor(cleanups);
    const browser = await chromiumFor(cleanups);
    const page = await browser.context.newPage();
    await page.clock.install();
    await page.clock.pauseAt(Date.now() + 1000);
    let toPage: ((message: string) => void) | null = null;
    await page.routeWebSocket(/\/api\/v1\/live/, (ws) => {
      const upstream = ws.connectToServer();
      upstream.onMessage((message) => ws.send(message));
      toPage = (message) => ws.send(message);
    });
    const events = Array.from({ length: 60 }, (_, i) => ({ name: 'page_view', path: `/${i}` }));
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    await Bun.sleep(1100); // a whole second holds them: the rate of the first snapshot counts them
    await page.goto(`${server.url}/dashboard`);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.waitForFunction(
      () =>
        document.querySelector('[data-window="1m"] [data-field="events"]')?.textContent === '60',
      undefined,
      { timeout: 10_000 },
    );
    await page.clock.runFor(30_000); // 30 s of samples before the error
    // What the hub sends when it has no room for the tenant's counters; the socket stays open.
    const error = { type: 'error', code: 'overloaded', detail: 'no room for more tenants' };
    (toPage as ((message: string) => void) | null)?.(JSON.stringify(error));
    await page.waitForSelector('#status[data-state="error"]', { timeout: 5000 });
    await page.clock.runFor(40_000);
    // The next snapshot (an event counted) makes the page live again.
    expect((await server.post('/api/v1/events', { name: 'signup' })).status).toBe(202);
    await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
    await page.clock.runFor(20_000); // samples after it
    await drawn(page);
    expect(await linePixelsAt(page, 75)).toBeGreaterThan(0); // before the error
    expect(await linePixelsAt(page, 5)).toBeGreaterThan(0); // after it
    expect(await linePixelsAt(page, 40)).toBe(0); // while it was shown: nothing sampled
  }, 60_000);
});
