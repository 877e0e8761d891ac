// The API reference in a real browser with no way out: Debian's Chromium opens /openapi of a
// real server while every request to another host is refused, and Swagger UI must still
// render every operation of the document from files this server serves.
//
// Swagger UI 5 (5.35, the swagger-ui-dist served) renders a list of 150 rows or more (tags and
// the operations of the open ones) virtualized: only the rows near the viewport are in the
// page, each in an `.operations-virtual__item`, and no `.opblock-tag-section` at all (waiting
// for one timed out: the page looked blank to this test, not to a reader). Tally's document has
// more than that, so the page is scrolled through and the operations collected on the way.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import type { BrowserContext, Page } from 'playwright-core';
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

/** How long Swagger UI may take to render the document's first operations. */
const SWAGGER_RENDER_MS = 60_000;
/** The methods Swagger UI lists as operations. */
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** What the page shows so far: each tag, and each operation as `method path`. */
interface Shown {
  tags: Set<string>;
  operations: Set<string>;
}

/** Adds the tags and operations in the page now (virtualized: those near the viewport). */
async function collect(tab: Page, shown: Shown): Promise<void> {
  const found = await tab.evaluate(() => ({
    tags: Array.from(document.querySelectorAll('.opblock-tag')).map((n) =>
      n.getAttribute('data-tag'),
    ),
    operations: Array.from(document.querySelectorAll('.opblock-summary')).map((n) => {
      const method = n.querySelector('.opblock-summary-method')?.textContent ?? '';
      const path = n.querySelector('[data-path]')?.getAttribute('data-path') ?? '';
      return `${method.toLowerCase()} ${path}`;
    }),
  }));
  for (const tag of found.tags) if (tag !== null) shown.tags.add(tag);
  for (const op of found.operations) shown.operations.add(op);
}

/** Scrolls the page from top to bottom, half a viewport at a time, collecting what it shows. */
async function scrollThrough(tab: Page): Promise<Shown> {
  const shown: Shown = { tags: new Set(), operations: new Set() };
  for (;;) {
    await collect(tab, shown);
    const atEnd = await tab.evaluate(async () => {
      const bottom = window.scrollY + window.innerHeight;
      if (bottom >= document.documentElement.scrollHeight - 1) return true;
      const before = window.scrollY;
      window.scrollBy(0, window.innerHeight / 2);
      // The virtualizer renders the rows of the new position on the next frames.
      await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
      await new Promise((resolve) => setTimeout(resolve, 0));
      return window.scrollY === before; // the page does not scroll further
    });
    if (atEnd) return shown;
  }
}

describe('/openapi in Chromium, offline', () => {
  test('renders every tag and every operation of the document from local files only', async () => {
    const origin = new URL(server.url).origin;
    const spec = (await (await fetch(`${origin}/openapi/json`)).json()) as {
      paths: Record<string, Record<string, { tags?: string[] }>>;
    };
    const documented = Object.entries(spec.paths).flatMap(([path, ops]) =>
      Object.entries(ops).flatMap(([method, op]) =>
        METHODS.includes(method) ? [{ at: `${method} ${path}`, tags: op.tags ?? [] }] : [],
      ),
    );
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
    // Swagger UI resolves the whole document before it shows an operation: 20 s was short on a
    // loaded host (two files at a time).
    await tab.waitForSelector('.opblock-summary-path', { timeout: SWAGGER_RENDER_MS });
    expect(await tab.textContent('.info .title')).toContain('Tally');
    const shown = await scrollThrough(tab);
    expect([...shown.tags]).toEqual(expect.arrayContaining(['events', 'reads', 'compatibility']));
    const missing = documented.filter(({ at }) => !shown.operations.has(at)).map((d) => d.at);
    expect(missing).toEqual([]);
    // PostHog's capture by GET (older posthog-js, `<img>` pixels), documented with the rest.
    expect(shown.operations).toContain('get /capture/');
    expect(shown.operations).toContain('post /api/v1/events');
    expect(outside).toEqual([]);
    expect(errors).toEqual([]);
    await tab.close();
  }, 120_000);
});
