// Segment's analytics.js (@segment/analytics-next) in a real browser: Debian's Chromium
// (playwright-core) opens a local page that imports the npm package, bundled here by Bun.build
// as an app's bundler would (no CDN), loaded with `cdnSettings` (so it never fetches
// cdn.segment.com/v1/projects/<writeKey>/settings) and `apiHost` = Tally behind a recording
// proxy. page(), track() and identify() must arrive once each with their names, ids and page
// fields, through both delivery strategies, and every call the SDK makes must get a 2xx.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type CompatServer, startCompatServer } from '../compat/helpers/compat-server.ts';
import { type FaultProxy, startFaultProxy } from '../compat/helpers/fault-proxy.ts';
import { keyTenancy } from '../compat/helpers/key-tenancy.ts';
import { type LaunchedBrowser, launchChromium } from '../helpers/chromium.ts';
import { type Site, serveSite } from '../helpers/site.ts';

const SDK = path.resolve(
  import.meta.dir,
  '../../node_modules/@segment/analytics-next/dist/pkg/index.js',
);
const ARRIVAL_MS = 15_000;
const REFERRER = 'https://news.example/launch';

let tally: CompatServer;
let proxy: FaultProxy;
let site: Site;
let context: BrowserContext;
let browser: LaunchedBrowser | undefined;
let origin: string;

/**
 * The page loads analytics.js as the README shows. Under /batched/ it takes the batching
 * delivery strategy (one /v1/b request for many calls, flushed at page hide) and a short
 * metrics timer, so its usage metrics (/v1/m, every 30 s by default) are sent during the test.
 */
function page(apiHost: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title></head>
<body>
  <script type="module">
    import { AnalyticsBrowser } from '/analytics.js';
    const batched = location.pathname.startsWith('/batched');
    const writeKey = batched ? 'wk_batched' : 'wk_shop';
    const apiHost = ${JSON.stringify(apiHost)};
    window.analytics = AnalyticsBrowser.load(
      {
        writeKey,
        cdnSettings: {
          integrations: { 'Segment.io': { apiKey: writeKey } },
          ...(batched ? { metrics: { flushTimer: 200 } } : {}),
        },
      },
      {
        integrations: {
          'Segment.io': {
            apiHost,
            protocol: 'http',
            ...(batched
              ? { deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60000 } } }
              : {}),
          },
        },
      },
    );
    window.analytics.page();
  </script>
</body></html>`;
}

beforeAll(async () => {
  tally = await startCompatServer({ tenancy: keyTenancy({}) });
  proxy = startFaultProxy(tally.url);
  const built = await Bun.build({ entrypoints: [SDK], target: 'browser', format: 'esm' });
  if (!built.success || built.outputs.length !== 1) {
    throw new Error(`bundling analytics-next failed: ${built.logs.join('\n')}`);
  }
  const sdk = await (built.outputs[0] as Blob).text();
  const html = page(`${proxy.url.replace('http://', '')}/v1`);
  site = serveSite({ scriptPath: '/analytics.js', script: sdk, html });
  origin = `http://127.0.0.1:${site.port}`;
  browser = await launchChromium();
  context = browser.context;
});

afterAll(async () => {
  await browser?.close();
  site?.stop(true);
  proxy?.close();
  await tally?.close();
});

type Stored = Record<string, unknown> & { name: string; properties: Record<string, unknown> };

/** A project's events once `ready` holds of them (or the deadline passed). */
async function eventsWhen(tenant: string, ready: (events: Stored[]) => boolean) {
  const deadline = Date.now() + ARRIVAL_MS;
  for (;;) {
    const list = await tally.getJson<{ events: Stored[] }>(
      `/api/v1/events?tenant_id=${tenant}&bots=include&limit=100`,
    );
    if (ready(list.events) || Date.now() > deadline) return list.events;
    await Bun.sleep(100);
  }
}

const EXPECTED = ['After Identify', 'Signed Up', 'identify', 'page', 'page'].sort();

/** The calls of both scenarios: a page view at load, then track, identify, track, a navigation. */
async function useTheSite(tab: Page): Promise<string> {
  await tab.waitForFunction(() => (window as { analytics?: unknown }).analytics !== undefined);
  return tab.evaluate(async () => {
    const analytics = (window as unknown as { analytics: SegmentPage }).analytics;
    await analytics.track('Signed Up', { plan: 'pro' });
    await analytics.identify('user_42', { email: 'ada@example.com' });
    await analytics.track('After Identify', { step: 2 });
    history.pushState({}, '', `${location.pathname.replace(/\/pricing$/, '')}/docs`);
    await analytics.page('Docs');
    return (await analytics.user()).anonymousId() as string;
  });
}

interface SegmentPage {
  track(event: string, properties?: Record<string, unknown>): Promise<unknown>;
  identify(id: string, traits?: Record<string, unknown>): Promise<unknown>;
  page(name?: string): Promise<unknown>;
  user(): Promise<{ anonymousId(): string | null }>;
}

function expectTheCalls(events: Stored[], anonymousId: string, base: string) {
  expect(events.map((e) => e.name).sort()).toEqual(EXPECTED);
  // messageId is the event_id: each call stored once, under the id analytics.js gave it.
  expect(events.every((e) => String(e.event_id).startsWith('ajs-next-'))).toBe(true);
  expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
  const pages = events.filter((e) => e.name === 'page');
  const landing = pages.find((e) => e.path === `${base}/pricing`);
  expect(landing).toMatchObject({
    url: `${origin}${base}/pricing?plan=pro`,
    referrer: REFERRER,
    anonymous_id: anonymousId,
    user_id: null,
    properties: { title: 'Shop', search: '?plan=pro' },
  });
  const docs = pages.find((e) => e.path === `${base}/docs`);
  expect(docs).toMatchObject({ user_id: 'user_42', url: `${origin}${base}/docs` });
  expect(docs?.properties.name).toBe('Docs');
  const named = (name: string) => events.find((e) => e.name === name);
  expect(named('Signed Up')).toMatchObject({
    anonymous_id: anonymousId,
    user_id: null,
    path: `${base}/pricing`,
    referrer: REFERRER,
    properties: { plan: 'pro' },
  });
  expect(named('identify')).toMatchObject({
    user_id: 'user_42',
    anonymous_id: anonymousId,
    properties: { email: 'ada@example.com' },
  });
  expect(named('After Identify')).toMatchObject({ user_id: 'user_42', properties: { step: 2 } });
}

describe('@segment/analytics-next in Chromium', () => {
  test('page, track and identify arrive once each, one request per call', async () => {
    const tab = await context.newPage();
    await tab.goto(`${origin}/pricing?plan=pro`, { referer: REFERRER });
    const anonymousId = await useTheSite(tab);
    const events = await eventsWhen('shop', (e) => e.length >= EXPECTED.length);
    expectTheCalls(events, anonymousId, '');
    // One request per call; analytics.js also sends the key as Basic auth, so each path is
    // preflighted once (answered 204 with CORS headers).
    const posts = proxy.log.filter((l) => l.method === 'POST').map((l) => l.path);
    expect(posts.sort()).toEqual(['/v1/i', '/v1/p', '/v1/p', '/v1/t', '/v1/t']);
    expect(proxy.log.filter((l) => l.status !== (l.method === 'OPTIONS' ? 204 : 200))).toEqual([]);
    await tab.close();
  });

  test('the batching strategy: held calls are flushed at page hide; metrics answered', async () => {
    proxy.log.length = 0;
    const tab = await context.newPage();
    // A new visitor: forget the first test's user (cookies and localStorage of this origin).
    await context.clearCookies();
    await tab.goto(`${origin}/bye`);
    await tab.evaluate(() => localStorage.clear());
    await tab.goto(`${origin}/batched/pricing?plan=pro`, { referer: REFERRER });
    const anonymousId = await useTheSite(tab);
    // While the page lives, its usage metrics go to /v1/m every 200 ms (here).
    const deadline = Date.now() + ARRIVAL_MS;
    while (!proxy.log.some((l) => l.path === '/v1/m') && Date.now() < deadline) {
      await Bun.sleep(50);
    }
    expect((await eventsWhen('batched', () => true)).length).toBe(0); // held for the batch
    await tab.goto(`${origin}/bye`);
    const events = await eventsWhen('batched', (e) => e.length >= EXPECTED.length);
    expectTheCalls(events, anonymousId, '/batched');
    expect(proxy.log.filter((l) => l.path === '/v1/b').length).toBeGreaterThan(0);
    expect(proxy.log.some((l) => l.path === '/v1/m')).toBe(true);
    expect(proxy.log.filter((l) => l.status !== (l.method === 'OPTIONS' ? 204 : 200))).toEqual([]);
    await tab.close();
  });
});
