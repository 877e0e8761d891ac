// posthog-js in a real browser: Debian's Chromium (playwright-core) opens a local page that
// imports the npm posthog-js module build (dist/module.mjs, what a bundler takes; served from
// node_modules, no CDN) with `api_host` = Tally behind a recording proxy. Every call the SDK
// makes (remote config, flags, captures, the page-hide beacon) must get a 2xx, and the page
// view, custom event, identify and client-side navigation must be stored exactly once, each
// with the browser's $device_id as its anonymous_id (before identify and after it).

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { type CompatServer, startCompatServer } from '../compat/helpers/compat-server.ts';
import { type FaultProxy, startFaultProxy } from '../compat/helpers/fault-proxy.ts';
import { keyTenancy } from '../compat/helpers/key-tenancy.ts';
import { type LaunchedBrowser, launchChromium } from '../helpers/chromium.ts';
import { type Site, serveSite } from '../helpers/site.ts';

const SDK = path.resolve(import.meta.dir, '../../node_modules/posthog-js/dist/module.mjs');
/** A write key of project `shop` (the test resolver maps wk_<project> to <project>). */
const KEY = 'wk_shop';
const ARRIVAL_MS = 15_000;

let tally: CompatServer;
let proxy: FaultProxy;
let site: Site;
let context: BrowserContext;
let browser: LaunchedBrowser | undefined;

/** The page: records each sendBeacon (in localStorage, which outlives the page), then PostHog. */
function page(apiHost: string): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Shop</title>
<script>
  const send = navigator.sendBeacon.bind(navigator);
  navigator.sendBeacon = (url, data) => {
    const seen = JSON.parse(localStorage.getItem('beacons') || '[]');
    seen.push({ url: String(url), type: data && data.type });
    localStorage.setItem('beacons', JSON.stringify(seen));
    return send(url, data);
  };
</script></head>
<body>
  <nav class="top"><button id="buy" class="btn primary">Buy</button></nav>
  <script type="module">
    import posthog from '/posthog.js';
    posthog.init(${JSON.stringify(KEY)}, {
      api_host: ${JSON.stringify(apiHost)},
      capture_pageview: 'history_change',
      disable_surveys: true,
      // Headless Chromium says HeadlessChrome, which posthog-js drops as a bot unless told.
      opt_out_useragent_filter: true,
    });
    posthog.onFeatureFlags((flags) => { window.flagsSeen = flags; });
    window.posthog = posthog;
  </script>
</body></html>`;
}

beforeAll(async () => {
  tally = await startCompatServer({ tenancy: keyTenancy({}) });
  proxy = startFaultProxy(tally.url);
  const html = page(proxy.url);
  const sdk = readFileSync(SDK, 'utf8');
  site = serveSite({ scriptPath: '/posthog.js', script: sdk, html });
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

/** Project shop's events once `ready` holds of them (or the deadline passed), oldest first. */
async function eventsWhen(ready: (events: Stored[]) => boolean): Promise<Stored[]> {
  const deadline = Date.now() + ARRIVAL_MS;
  for (;;) {
    const list = await tally.getJson<{ events: Stored[] }>(
      '/api/v1/events?tenant_id=shop&bots=include&limit=100',
    );
    const events = list.events.toReversed();
    if (ready(events) || Date.now() > deadline) return events;
    await Bun.sleep(100);
  }
}

const named = (events: Stored[], name: string) => events.filter((e) => e.name === name);

function inPage<T>(tab: Page, fn: (posthog: PostHogPage) => T | Promise<T>): Promise<T> {
  return tab.evaluate(`(${fn.toString()})(window.posthog)` as unknown as () => T) as Promise<T>;
}

interface PostHogPage {
  capture(event: string, properties?: Record<string, unknown>): void;
  identify(id: string, set?: Record<string, unknown>): void;
  isFeatureEnabled(key: string, options?: { send_event: boolean }): boolean | undefined;
  get_distinct_id(): string;
}

describe('posthog-js in Chromium', () => {
  test('page views, a capture, identify and a navigation arrive once each', async () => {
    const tab = await context.newPage();
    const origin = `http://127.0.0.1:${site.port}`;
    // A campaign landing page: posthog-js then sends ~90 properties with every event.
    await tab.goto(`${origin}/?utm_source=newsletter&utm_campaign=launch`);
    await tab.waitForFunction(() => (window as { flagsSeen?: unknown }).flagsSeen !== undefined);
    expect(await tab.evaluate(() => (window as { flagsSeen?: unknown }).flagsSeen)).toEqual([]);
    expect(
      await inPage(tab, (ph) => ph.isFeatureEnabled('new-checkout', { send_event: false })),
    ).toBeFalsy();
    const anonymous = await inPage(tab, (ph) => ph.get_distinct_id());
    await eventsWhen((e) => named(e, '$pageview').length === 1);

    await inPage(tab, (ph) => ph.capture('signed_up', { plan: 'pro' }));
    await tab.click('#buy'); // autocapture is on, as in a new PostHog project
    await inPage(tab, (ph) => ph.identify('user_42', { email: 'ada@example.com' }));
    await inPage(tab, (ph) => ph.capture('upgraded', { plan: 'team' }));
    await tab.evaluate(() => history.pushState({}, '', '/docs'));
    await eventsWhen((e) => named(e, '$pageview').length === 2 && named(e, 'upgraded').length > 0);
    // Page hide: posthog-js sends $pageleave and what it still holds by sendBeacon.
    await tab.goto(`${origin}/bye`);
    const events = await eventsWhen((e) => named(e, '$pageleave').length > 0);

    // Exactly once each (the client's clock orders events of the same millisecond any way).
    expect(events.map((e) => e.name).sort()).toEqual(
      [
        '$autocapture',
        '$identify',
        '$pageleave',
        '$pageview',
        '$pageview',
        'signed_up',
        'upgraded',
      ].sort(),
    );
    expect(new Set(events.map((e) => e.event_id)).size).toBe(events.length);
    const one = (name: string) => named(events, name)[0] as Stored;
    const [landing, navigation] = named(events, '$pageview') as [Stored, Stored];
    const [signedUp, identify, upgraded, leave] = [
      one('signed_up'),
      one('$identify'),
      one('upgraded'),
      one('$pageleave'),
    ];
    expect(landing).toMatchObject({
      path: '/',
      url: `${origin}/?utm_source=newsletter&utm_campaign=launch`,
      anonymous_id: anonymous,
      user_id: null,
      properties: { utm_source: 'newsletter', utm_campaign: 'launch', title: 'Shop' },
    });
    expect(landing.properties.$posthog).toMatchObject({ $lib: 'web', $host: expect.any(String) });
    expect(signedUp).toMatchObject({ anonymous_id: anonymous, properties: { plan: 'pro' } });
    const click = one('$autocapture').properties.$posthog as Record<string, unknown>;
    expect(click).toMatchObject({ $event_type: 'click', $el_text: 'Buy' });
    expect(String(click.$elements_chain)).toContain('button.btn.primary');
    expect(identify).toMatchObject({ user_id: 'user_42', properties: { $set: expect.anything() } });
    expect(upgraded).toMatchObject({ user_id: 'user_42', path: '/', properties: { plan: 'team' } });
    expect(navigation).toMatchObject({ user_id: 'user_42', path: '/docs', url: `${origin}/docs` });
    expect(leave).toMatchObject({ user_id: 'user_42', path: '/docs' });
    expect(new Set(events.map((e) => e.session_id)).size).toBe(1);
    // The browser's $device_id (its first distinct_id) stays through identify: every event's
    // anonymous_id, so a funnel by device follows it from the anonymous view to the upgrade.
    expect(new Set(events.map((e) => e.anonymous_id))).toEqual(new Set([anonymous]));
    expect((identify.properties.$posthog as Record<string, unknown>).$device_id).toBe(anonymous);
    const funnel = async (by: string) => {
      const answer = await tally.getJson<{ steps: { count: number }[] }>(
        `/api/v1/funnel?tenant_id=shop&bots=include&step=path:/&step=name:upgraded&by=${by}`,
      );
      return answer.steps.map((step) => step.count);
    };
    expect(await funnel('device')).toEqual([1, 1]);
    expect(await funnel('visitor')).toEqual([1, 0]);

    // The page-hide batch went by sendBeacon, gzip as text/plain, and Tally took it.
    const beacons = JSON.parse(
      await tab.evaluate(() => localStorage.getItem('beacons') ?? '[]'),
    ) as { url: string; type: string }[];
    expect(beacons.length).toBeGreaterThan(0);
    expect(beacons.every((b) => b.url.startsWith(`${proxy.url}/i/v0/e/`))).toBe(true);
    expect(beacons.every((b) => b.type === 'text/plain')).toBe(true);

    // Every call posthog-js made was answered with a 2xx: nothing 404s, nothing is refused.
    const calls = proxy.log.map((l) => `${l.method} ${l.path} ${l.status}`);
    expect(proxy.log.filter((l) => l.status < 200 || l.status >= 300)).toEqual([]);
    expect(calls).toContain(`GET /array/${KEY}/config.js 200`);
    expect(calls).toContain('POST /flags/ 200');
    expect(calls).toContain('POST /i/v0/e/ 200');
    expect(proxy.log.some((l) => l.path.startsWith('/static/'))).toBe(false);
    await tab.close();
  });
});
