// The time axis of the dashboard's series chart in a real browser whose own zone is not the
// page's: the hour labels must be the page zone's hours across the browser zone's DST change
// (uPlot's own labels, from a Date shifted into the browser's zone, named 01:00Z and 02:00Z
// 12am and 1am in a Berlin browser on 2026-03-29). The series read is answered by the test
// (page.route) with hour buckets around that change; the labels are read from the canvas
// (fillText) of the chart's last draw. Its y axis counts events in whole steps.

import { describe, expect, test } from 'bun:test';
import type { Page } from 'playwright-core';
import type { LiveServer } from '../live/support.ts';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const cleanups = cleanupsAfterEach();

async function serve(): Promise<LiveServer> {
  const server = await serveFor(cleanups);
  return server;
}

/** Berlin's clocks go from 02:00 CET to 03:00 CEST at 2026-03-29T01:00Z. */
const DST_CHANGE_MS = Date.UTC(2026, 2, 29, 1);
const HOUR_MS = 3_600_000;
/** Hour buckets from 3 hours before the change to 5 hours after it. */
const BUCKETS = Array.from({ length: 9 }, (_, i) => DST_CHANGE_MS + (i - 3) * HOUR_MS);

/** Keeps, per draw of the series chart's canvas, the texts drawn on it (window.__drawn). */
function recordChartTexts(): void {
  const w = window as unknown as { __drawn: string[] };
  w.__drawn = [];
  const proto = CanvasRenderingContext2D.prototype;
  const inChart = (ctx: CanvasRenderingContext2D) => ctx.canvas.closest('#series-chart') !== null;
  const clearRect = proto.clearRect;
  proto.clearRect = function (this: CanvasRenderingContext2D, ...args) {
    if (inChart(this)) w.__drawn = [];
    return clearRect.apply(this, args);
  };
  const fillText = proto.fillText;
  proto.fillText = function (this: CanvasRenderingContext2D, ...args) {
    if (inChart(this)) w.__drawn.push(String(args[0]));
    return fillText.apply(this, args);
  };
}

/** Opens the dashboard with the series read answered by `points`; the page and its browser. */
async function openWithSeries(
  points: { bucket: string; value: number }[],
  browserZone: string,
): Promise<Page> {
  const server = await serve();
  const browser = await chromiumFor(cleanups);
  const page = await browser.context.newPage();
  const cdp = await browser.context.newCDPSession(page);
  await cdp.send('Emulation.setTimezoneOverride', { timezoneId: browserZone });
  await page.addInitScript(recordChartTexts);
  await page.route('**/api/v1/timeseries?**', (route) =>
    route.fulfill({ json: { series: [{ points }] } }),
  );
  await page.goto(`${server.url}/dashboard`);
  await page.waitForSelector('#status[data-state="live"]', { timeout: 10_000 });
  return page;
}

/** The texts of the series chart's last draw, once the note says `shown` and it is drawn. */
async function drawnOnceShown(page: Page, shown: RegExp): Promise<string[]> {
  await page.waitForFunction(
    (source) => new RegExp(source).test(document.querySelector('#series-note')?.textContent ?? ''),
    shown.source,
    { timeout: 10_000 },
  );
  // Two frames: the chart's draw (uPlot draws in a frame of its own) is done.
  await page.evaluate(
    () => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))),
  );
  return page.evaluate(() => (window as unknown as { __drawn: string[] }).__drawn);
}

const pointsOf = (buckets: number[], value: number) =>
  buckets.map((ms) => ({ bucket: new Date(ms).toISOString(), value }));

describe('the series chart', () => {
  test("hour labels across the browser zone's DST change are the page zone's hours", async () => {
    const page = await openWithSeries(pointsOf(BUCKETS, 1), 'Europe/Berlin');
    expect(await page.evaluate(() => Intl.DateTimeFormat().resolvedOptions().timeZone)).toBe(
      'Europe/Berlin',
    );
    await page.selectOption('#tz', 'UTC');
    await page.selectOption('#series-bucket', 'hour');
    const drawn = await drawnOnceShown(page, /9 hour buckets in UTC/);
    // The hour labels (not the y axis' counts, nor the days below some hours), in order.
    const hourLabels = drawn
      .map((text) => text.split('\n')[0] ?? '')
      .filter((line) => /^\d{1,2}(:\d\d)?\s?([ap]\.?m\.?)?$/i.test(line) && /\D/.test(line));
    // No tick named as another (uPlot's: 12:00am, 12:30am twice, then 1:00am, 1:30am, 3:00am).
    expect(hourLabels.length).toBeGreaterThanOrEqual(BUCKETS.length);
    expect(new Set(hourLabels).size).toBe(hourLabels.length);
    const hours = await page.evaluate((buckets) => {
      const format = new Intl.DateTimeFormat(undefined, {
        hour: 'numeric',
        minute: '2-digit',
        timeZone: 'UTC',
      });
      return buckets.map((ms) => format.format(ms));
    }, BUCKETS);
    // Each bucket's hour is a tick's label (ticks may come every half hour too).
    for (const hour of hours) expect(hourLabels).toContain(hour);
  }, 60_000);

  test('a series of a few events counts up y in whole events, not 0.25 or 0.5', async () => {
    const page = await openWithSeries(pointsOf(BUCKETS, 1), 'UTC');
    await page.selectOption('#series-bucket', 'hour');
    const drawn = await drawnOnceShown(page, /9 hour buckets in UTC/);
    const counts = drawn.filter((text) => /^[\d.,]+$/.test(text));
    expect(counts).toEqual(['0', '1']);
  }, 60_000);
});
