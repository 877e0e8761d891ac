// The API reference in a real browser with no way out: Debian's Chromium opens /openapi of a
// real server while every request to another host is refused, and Swagger UI must still
// render Tally's operations from files this server serves.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { BrowserContext } from 'playwright-core';
import { type LaunchedBrowser, launchChromium } from '../helpers/chromium.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

let server: RunningServer;
let browser: LaunchedBrowser | undefined;
let context: BrowserContext;
const data = makeTempDir();

beforeAll(async () => {
  server = await startServer(data.dir);
  browser = await launchChromium();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  await killServers();
  data.remove();
});

/** How long Swagger UI may take to render the document's operations. */
const SWAGGER_RENDER_MS = 60_000;

describe('/openapi in Chromium, offline', () => {
  test('renders every tag and the native ingest operation from local files only', async () => {
    const origin = new URL(server.url).origin;
    const outside: string[] = [];
    await context.route('**/*', (route) => {
      const url = route.request().url();
      if (new URL(url).origin === origin) return route.continue();
      outside.push(url);
      return route.abort();
    });
    const tab = await context.newPage();
    const errors: string[] = [];
    tab.on('pageerror', (error) => errors.push(error.message));
    await tab.goto(`${origin}/openapi`);
    // Swagger UI renders every operation of the document at once: 20 s was short on a loaded
    // host (two files at a time).
    await tab.waitForSelector('.opblock-tag-section', { timeout: SWAGGER_RENDER_MS });
    expect(await tab.textContent('.info .title')).toContain('Tally');
    const tags = await tab.$$eval('.opblock-tag', (nodes) =>
      nodes.map((n) => n.getAttribute('data-tag')),
    );
    expect(tags).toEqual(expect.arrayContaining(['events', 'reads', 'compatibility']));
    const paths = await tab.$$eval('.opblock-summary-path', (nodes) =>
      nodes.map((n) => n.getAttribute('data-path')),
    );
    expect(paths).toContain('/api/v1/events');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await tab.close();
  });
});
