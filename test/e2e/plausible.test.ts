// Plausible in a real browser: Debian's Chromium (playwright-core) opens a local page that loads
// the npm @plausible-analytics/tracker (served from node_modules, no CDN) with `endpoint`
// pointing at Tally. Page loads, a client-side navigation and a custom event must arrive, and
// be counted through the native read API.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext } from 'playwright-core';
import { type CompatServer, startCompatServer } from '../compat/helpers/compat-server.ts';
import { type LaunchedBrowser, launchChromium } from '../helpers/chromium.ts';
import { type Site, serveSite } from '../helpers/site.ts';

const TRACKER = path.resolve(
  import.meta.dir,
  '../../node_modules/@plausible-analytics/tracker/plausible.js',
);
const DOMAIN = 'shop.example';
const ARRIVAL_MS = 5_000;

let tally: CompatServer;
let site: Site;
let context: BrowserContext;
let browser: LaunchedBrowser | undefined;

/** Any path answers the same page, which initialises the tracker against Tally. */
function page(endpoint: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body>
  <button id="signup">Sign up</button>
  <button id="spa">Go to /docs</button>
  <script type="module">
    import { init, track } from '/plausible.js';
    init({ domain: ${JSON.stringify(DOMAIN)}, endpoint: ${JSON.stringify(endpoint)},
      captureOnLocalhost: true });
    document.getElementById('signup').addEventListener('click', () =>
      track('Signup', { props: { plan: 'pro' },
        callback: (r) => { window.signupStatus = r.status ?? String(r.error); } }));
    document.getElementById('spa').addEventListener('click', () =>
      history.pushState({}, '', '/docs'));
    window.trackerReady = true;
  </script>
</body></html>`;
}

beforeAll(async () => {
  tally = await startCompatServer();
  const html = page(`${tally.url}/api/event`);
  const tracker = readFileSync(TRACKER, 'utf8');
  site = serveSite({ scriptPath: '/plausible.js', script: tracker, html });
  browser = await launchChromium();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  site?.stop(true);
  await tally?.close();
});

async function statsWhen(ready: (s: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + ARRIVAL_MS;
  for (;;) {
    const s = await tally.getJson(`/api/v1/stats?tenant_id=${DOMAIN}&bots=include`);
    if (ready(s) || Date.now() > deadline) return s;
    await Bun.sleep(50);
  }
}

describe('@plausible-analytics/tracker in Chromium', () => {
  test('page views, a client-side navigation and a custom event arrive', async () => {
    const tab = await context.newPage();
    const origin = `http://127.0.0.1:${site.port}`;
    await tab.goto(`${origin}/`);
    await tab.waitForFunction(() => (window as unknown as { trackerReady?: boolean }).trackerReady);
    await tab.goto(`${origin}/pricing?ref=e2e`);
    await tab.waitForFunction(() => (window as unknown as { trackerReady?: boolean }).trackerReady);
    await tab.click('#spa');
    await tab.click('#signup');
    await tab.waitForFunction(
      () => (window as unknown as { signupStatus?: unknown }).signupStatus !== undefined,
    );
    // The tracker read the answer across origins: 202, with Access-Control-Allow-Origin.
    expect(
      await tab.evaluate(() => (window as unknown as { signupStatus: unknown }).signupStatus),
    ).toBe(202);
    const s = await statsWhen((x) => x.page_views === 3);
    expect(s.page_views).toBe(3);
    expect(s.top_paths).toEqual([
      { path: '/', views: 1, visitors: 1 },
      { path: '/docs', views: 1, visitors: 1 },
      { path: '/pricing', views: 1, visitors: 1 },
    ]);
    expect(s.top_events).toContainEqual({ name: 'Signup', events: 1, visitors: 1 });
    expect(s.browsers).toContainEqual(expect.objectContaining({ browser: 'Chrome' }));
    const list = await tally.getJson<{ events: Record<string, unknown>[] }>(
      `/api/v1/events?tenant_id=${DOMAIN}&name=Signup`,
    );
    expect(list.events[0]).toMatchObject({
      url: `${origin}/docs`,
      properties: { plan: 'pro' },
    });
    await tab.close();
  });
});
