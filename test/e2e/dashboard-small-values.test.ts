// Small numbers on the dashboard in a real browser: a quiet project's rates (6 events in a day
// is 0.0000694 events/s, which the server sends with 4 significant digits so that it is not
// rounded to 0) and metric values under a thousandth must not be shown as 0 beside the
// events that made them.

import { describe, expect, test } from 'bun:test';
import { chromiumFor, cleanupsAfterEach, serveFor } from './harness.ts';

const cleanups = cleanupsAfterEach();

const card = (window: string, field: string) => `[data-window="${window}"] [data-field="${field}"]`;

describe('small values on the dashboard', () => {
  test("a quiet project's rates and a small metric value are not shown as 0", async () => {
    const server = await serveFor(cleanups);
    const browser = await chromiumFor(cleanups);
    const page = await browser.context.newPage();
    const events = Array.from({ length: 4 }, (_, i) => ({ name: 'page_view', path: `/${i}` }));
    expect((await server.post('/api/v1/events/batch', { events })).status).toBe(202);
    // Under 0.00001 a value is written in scientific notation (README: `1.23E-7`).
    const tiny = { name: 'leak_rate', value: 1.234e-7, timestamp: Date.now() - 60_000 };
    expect((await server.post('/api/v1/events', tiny)).status).toBe(202);
    const metric = { name: 'error_rate', value: 0.0004 };
    expect((await server.post('/api/v1/events', metric)).status).toBe(202);
    await page.goto(`${server.url}/dashboard`);
    await page.waitForFunction(
      (sel) => document.querySelector(sel)?.textContent === '6',
      card('24h', 'events'),
      { timeout: 10_000 },
    );
    const rates = await page.$$eval('[data-window] [data-field="rate"]', (els) =>
      els.map((el) => el.textContent),
    );
    // 6 events: 0.1/s over a minute, 0.02/s over 5 minutes, 0.00167/s over an hour and
    // 0.0000694/s over 24 hours.
    expect(rates).toEqual(['0.1', '0.02', '0.00167', '0.0000694']);
    // Newest first: the 0.0004 point, then the tiny one.
    const values = await page.$$eval('#metrics tbody tr td:nth-child(2)', (els) =>
      els.map((el) => el.textContent),
    );
    expect(values).toEqual(['0.0004', '1.23E-7']);
  }, 60_000);
});
