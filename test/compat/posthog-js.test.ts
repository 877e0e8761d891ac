// What posthog-js (the browser SDK) sends besides posthog-node's batches, at the protocol
// level: the remote config and feature flags it asks for at every page load, and its events,
// which carry 50–100 properties of the SDK's own. test/e2e/posthog.test.ts runs the real SDK.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

const ORIGIN = { origin: 'https://shop.example' };

let t: CompatApp;
const tenancy = keyTenancy({});
beforeEach(async () => {
  tenancy.keys.length = 0;
  t = await makeCompatApp({ tenancy });
});
afterEach(() => t.close());

/** posthog-js posts gzip as text/plain, with no `compression` parameter. */
const gzipText = (path: string, body: unknown) =>
  t.post(path, gzipSync(JSON.stringify(body)), { 'content-type': 'text/plain', ...ORIGIN });

describe('posthog-js remote config', () => {
  test('GET /array/{token}/config answers the config of a project with no extras', async () => {
    const res = await t.get('/array/wk_acme/config', ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await res.json()).toMatchObject({
      token: 'wk_acme',
      supportedCompression: ['gzip', 'gzip-js'],
      analytics: { endpoint: '/i/v0/e/' },
      sessionRecording: false,
      surveys: false,
      heatmaps: false,
      capturePerformance: false,
      siteApps: [],
      // README: flags asked (answered with none), autocapture on, the rest of PostHog off.
      hasFeatureFlags: true,
      autocapture_opt_out: false,
      captureDeadClicks: false,
      autocaptureExceptions: false,
      productTours: false,
      conversations: false,
    });
    // The surveys bundle posthog-js fetches unless disable_surveys: not served.
    expect((await t.get('/static/1.200.0/surveys.js', ORIGIN)).status).toBe(404);
  });

  test('the script form sets window._POSTHOG_REMOTE_CONFIG[token], as the SDK reads it', async () => {
    const res = await t.get('/array/phc_Ab-9/config.js', ORIGIN);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toStartWith('application/javascript');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const window: { _POSTHOG_REMOTE_CONFIG?: Record<string, { config: Json; siteApps: [] }> } = {};
    new Function('window', await res.text())(window);
    expect(window._POSTHOG_REMOTE_CONFIG?.phc_Ab_9).toBeUndefined();
    expect(window._POSTHOG_REMOTE_CONFIG?.['phc_Ab-9']).toMatchObject({
      config: { token: 'phc_Ab-9', supportedCompression: ['gzip', 'gzip-js'] },
      siteApps: [],
    });
  });

  test('a token that is no token is a 404, never part of a script', async () => {
    for (const token of ["x'];alert(1);//", '%3C%2Fscript%3E', 'a'.repeat(129)]) {
      const res = await t.get(`/array/${encodeURIComponent(token)}/config.js`);
      expect(res.status).toBe(404);
      const body = await res.text();
      expect(body).not.toContain('alert');
      expect(JSON.parse(body).detail).toContain('letters, digits, _ and - (up to 128)');
    }
  });
});

describe('posthog-js feature flags', () => {
  const request = { token: 'wk_acme', distinct_id: 'd1', groups: {} };

  test('/flags/?v=2 with a gzip body answers no flags in the v2 shape', async () => {
    const res = await gzipText('/flags/?v=2', request);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({ flags: {}, errorsWhileComputingFlags: false });
    expect(body.featureFlags).toBeUndefined();
    expect(tenancy.keys).toEqual(['wk_acme']);
  });

  test('older SDKs: /flags/ v1 and /decide/ get featureFlags; /decide/ the config too', async () => {
    const form = `data=${encodeURIComponent(Buffer.from(JSON.stringify(request)).toString('base64'))}`;
    const formType = { 'content-type': 'application/x-www-form-urlencoded' };
    const v1 = (await (await t.post('/flags/', form, formType)).json()) as Json;
    expect(v1).toMatchObject({ featureFlags: {}, featureFlagPayloads: {} });
    expect(v1.flags).toBeUndefined();
    expect(v1.supportedCompression).toBeUndefined();
    const decide = await t.post('/decide/?v=3', request);
    expect(await decide.json()).toMatchObject({
      featureFlags: {},
      errorsWhileComputingFlags: false,
      supportedCompression: ['gzip', 'gzip-js'],
      sessionRecording: false,
    });
    const withConfig = await t.post('/flags/?v=2&config=true', request);
    expect(await withConfig.json()).toMatchObject({ flags: {}, sessionRecording: false });
  });

  test("/decide/ keeps PostHog's fields for older SDKs: autocapture stays on in them", async () => {
    // posthog-js of 2023 (src/autocapture.ts, afterDecideResponse) adds its click, change
    // and submit handlers only when the /decide/ answer has config.enable_collect_everything
    // (else it sets __autocapture = false): PostHog's /decide/ always sends it.
    for (const v of ['2', '3']) {
      const decide = (await (await t.post(`/decide/?v=${v}`, request)).json()) as Json;
      expect(decide).toMatchObject({
        config: { enable_collect_everything: true },
        toolbarParams: {},
        isAuthenticated: false,
        autocapture_opt_out: false,
      });
    }
    // posthog-js that asks /flags/ reads autocapture_opt_out instead (the remote config).
    const flags = (await (await t.post('/flags/?v=2&config=true', request)).json()) as Json;
    expect(flags.autocapture_opt_out).toBe(false);
  });

  test('a flags body over 256 KiB is a 413, read no further', async () => {
    const big = { ...request, pad: 'x'.repeat(256 * 1024) };
    const res = await t.post('/flags/?v=2', big);
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ code: 'payload_too_large' });
    expect((await t.post('/flags/?v=2', request)).status).toBe(200);
  });

  test('no token or a key the resolver refuses is a 401; a preflight is answered', async () => {
    const none = await t.post('/flags/?v=2', { distinct_id: 'd1' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ type: 'authentication_error' });
    expect((await t.post('/flags/?v=2', { ...request, token: 'phc_unknown' })).status).toBe(401);
    expect((await t.post('/flags/?v=2', '{"token": ')).status).toBe(400);
    const preflight = await t.handle(
      new Request('http://localhost/flags/?v=2', {
        method: 'OPTIONS',
        headers: { ...ORIGIN, 'access-control-request-method': 'POST' },
      }),
    );
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*');
  });
});

/** The properties posthog-js puts on a `$pageview` after a client-side navigation. */
function browserProperties(extra: Json = {}): Json {
  const sdk = [
    ...['$os', '$browser', '$device_type', '$timezone', '$timezone_offset', '$host'],
    ...['$browser_version', '$browser_language', '$browser_language_prefix'],
    ...['$screen_height', '$screen_width', '$viewport_height', '$viewport_width', '$lib'],
    ...['$lib_version', '$insert_id', '$time', '$sdk_dist_channel', '$initialization_time'],
    ...['$configured_session_timeout_ms', '$device_id', '$user_id', '$referring_domain'],
    ...['$autocapture_disabled_server_side', '$web_vitals_enabled_server_side'],
    ...['$exception_capture_enabled_server_side', '$dead_clicks_enabled_server_side'],
    ...['$sdk_debug_extensions_init_method', '$sdk_debug_extensions_init_time_ms'],
    ...['$active_feature_flags', '$feature_flag_payloads', '$feature_flag_request_id'],
    ...['$config_defaults', '$window_id', '$session_entry_referrer', '$session_entry_url'],
    ...['$session_entry_referring_domain', '$session_entry_host', '$session_entry_pathname'],
    ...['$recording_status', '$sdk_debug_retry_queue_size', '$lib_custom_api_host'],
    ...['$pageview_id', '$prev_pageview_id', '$prev_pageview_last_scroll'],
    ...['$prev_pageview_last_scroll_percentage', '$prev_pageview_max_scroll'],
    ...['$prev_pageview_max_scroll_percentage', '$prev_pageview_last_content'],
    ...['$prev_pageview_last_content_percentage', '$prev_pageview_max_content'],
    ...['$prev_pageview_max_content_percentage', '$prev_pageview_pathname'],
    ...['$prev_pageview_duration', '$browser_type', '$is_identified'],
    ...['$process_person_profile', '$lib_rate_limit_remaining_tokens'],
  ];
  return {
    ...Object.fromEntries(sdk.map((key, i) => [key, `v${i}`])),
    $is_identified: true,
    $current_url: 'https://shop.example/docs',
    $pathname: '/docs',
    $raw_user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36',
    $referrer: '$direct',
    $session_id: 's1',
    distinct_id: 'user_42',
    token: 'wk_acme',
    title: 'Docs',
    navigation_type: 'history_change',
    ...extra,
  };
}

/** Once a URL has any campaign parameter, posthog-js sends all of them, null but those. */
const CAMPAIGN_KEYS = [
  ...['utm_source', 'utm_medium', 'utm_campaign', 'utm_content', 'utm_term', 'gad_source'],
  ...['mc_cid', 'gclid', 'gclsrc', 'dclid', 'gbraid', 'wbraid', 'fbclid', 'msclkid', 'twclid'],
  ...['li_fat_id', 'igshid', 'ttclid', 'rdt_cid', 'epik', 'qclid', 'sccid', 'irclid', '_kx'],
];

describe('posthog-js events', () => {
  test("a navigation's $pageview (67 properties) and a campaign visit's (90) are stored", async () => {
    const campaign = {
      ...Object.fromEntries(CAMPAIGN_KEYS.map((key) => [key, null])),
      utm_source: 'news',
      gclid: 'abc',
      ...Object.fromEntries(CAMPAIGN_KEYS.map((key) => [`$session_entry_${key}`, null])),
      $session_entry_utm_source: 'news',
    };
    const at = new Date(T0).toISOString();
    const pageview = (uuid: string, properties: Json) => ({
      uuid,
      event: '$pageview',
      timestamp: at,
      properties,
    });
    const plain = browserProperties();
    const landing = browserProperties({ ...campaign, $set: { plan: 'pro' }, plan: 'pro' });
    expect(Object.keys(plain).length).toBeGreaterThan(64);
    expect(Object.keys(landing).length).toBeGreaterThan(90);
    const res = await gzipText('/i/v0/e/', [pageview('nav', plain), pageview('utm', landing)]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ page_views: 2 });

    const stored = await t.getJson('/api/v1/events/utm?tenant_id=acme');
    expect(stored).toMatchObject({ user_id: 'user_42', path: '/docs', session_id: 's1' });
    const properties = stored.properties as Json;
    // The page's and the campaign's own properties at the top, nulls nowhere, PostHog's
    // `$` properties under $posthog, person updates where PostHog reads them.
    expect(Object.keys(properties).sort()).toEqual(
      ['$posthog', '$set', 'gclid', 'navigation_type', 'plan', 'title', 'utm_source'].sort(),
    );
    const sdk = properties.$posthog as Json;
    expect(sdk).toMatchObject({ $browser_version: 'v6', $session_entry_utm_source: 'news' });
    expect(Object.values(sdk)).not.toContain(null);
    expect(sdk.$current_url).toBeUndefined(); // it is the url field
    expect(properties.$set).toEqual({ plan: 'pro' });
    const filtered = await t.getJson('/api/v1/stats?tenant_id=acme&property.utm_source=news');
    expect(filtered).toMatchObject({ page_views: 1 });
  });

  test("the $pageleave beacon of a one-page visit leaves it a bounce, as Plausible's does", async () => {
    // posthog-js sends $pageleave by sendBeacon at every page hide (capture_pageleave, on with
    // capture_pageview): counted as interactive, no posthog-js visit was ever a bounce.
    const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    const event = (uuid: string, name: string, s: number, session: string, path: string) => ({
      uuid,
      event: name,
      timestamp: at(s),
      properties: browserProperties({
        $session_id: session,
        $current_url: `https://shop.example${path}`,
        $pathname: path,
      }),
    });
    const beacon = (events: unknown[]) =>
      t.post('/i/v0/e/?compression=gzip-js&beacon=1', gzipSync(JSON.stringify(events)), {
        'content-type': 'text/plain',
        ...ORIGIN,
      });
    const views = await gzipText('/i/v0/e/', [
      event('a1', '$pageview', 0, 'sa', '/'),
      event('b1', '$pageview', 0, 'sb', '/'),
      event('b2', '$pageview', 20, 'sb', '/pricing'),
    ]);
    expect(views.status).toBe(200);
    const leaves = await beacon([
      event('a2', '$pageleave', 40, 'sa', '/'),
      event('b3', '$pageleave', 60, 'sb', '/pricing'),
    ]);
    expect(leaves.status).toBe(200);
    const stats = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25');
    // sa: one page view and its page leave, a bounce; sb: two page views, no bounce.
    expect(stats).toMatchObject({ total_events: 5, page_views: 3, visits: 2, bounce_rate: 50 });
    const pageleave = await t.getJson('/api/v1/events/a2?tenant_id=acme');
    expect((pageleave.properties as Json).$interactive).toBe(false);
  });

  test('cookieless mode: the sentinel distinct_id is no one, each browser its own visitor', async () => {
    // posthog-js with cookieless_mode sends every event under the distinct_id
    // "$posthog_cookieless", $cookieless_mode: true, no $device_id and a $session_id that lives
    // as long as the page (memory persistence). PostHog's ingestion replaces all three by a hash
    // of the address and agent; stored as sent, every visitor of the site was one.
    const CHROME = 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36';
    const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0';
    const at = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
    const cookieless = (uuid: string, name: string, min: number, agent: string, extra: Json) => ({
      uuid,
      event: name,
      timestamp: at(min),
      properties: {
        token: 'wk_acme',
        distinct_id: '$posthog_cookieless',
        $cookieless_mode: true,
        $device_id: null,
        $is_identified: false,
        $process_person_profile: false,
        $raw_user_agent: agent,
        ...extra,
      },
    });
    const view = (uuid: string, min: number, agent: string, session: string, path: string) =>
      cookieless(uuid, '$pageview', min, agent, {
        $session_id: session,
        $current_url: `https://shop.example${path}`,
        $pathname: path,
      });
    const res = await gzipText('/i/v0/e/', [
      // Chrome: two page loads five minutes apart (a new $session_id each), one visit.
      view('c1', 0, CHROME, 'page-load-1', '/'),
      view('c2', 5, CHROME, 'page-load-2', '/pricing'),
      view('f1', 1, FIREFOX, 'page-load-3', '/'),
      // Chrome signs up: identify's $anon_distinct_id is the sentinel too.
      {
        ...cookieless('id', '$identify', 6, CHROME, {
          distinct_id: 'user_42',
          $anon_distinct_id: '$posthog_cookieless',
          $is_identified: true,
          $process_person_profile: true,
          $session_id: 'page-load-2',
        }),
        distinct_id: 'user_42',
      },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const stats = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25&path=/');
    expect(stats).toMatchObject({ page_views: 2, unique_visitors: 2, visits: 2 });
    const all = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25');
    expect(all).toMatchObject({ page_views: 3, unique_users: 1 });
    // Chrome's two page loads are one visit, entered at /.
    expect(all.top_entry_pages).toEqual([{ path: '/', visitors: 2, visits: 2 }]);
    const stored = async (id: string) => {
      const e = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      return [e.user_id, e.anonymous_id, e.session_id];
    };
    expect(await stored('c1')).toEqual([null, null, null]);
    expect(await stored('id')).toEqual(['user_42', null, null]);
    // Firefox's visitor is no one's person: by=person links no one to user_42 by the sentinel.
    const funnel = await t.getJson<{ steps: { count: number }[] }>(
      '/api/v1/funnel?tenant_id=acme&date=2026-11-25&step=path:/&step=name:$identify&by=person',
    );
    expect(funnel.steps.map((s) => s.count)).toEqual([2, 0]);
  });

  test('identify, flag checks, web vitals and errors end no bounce; autocapture does', async () => {
    // posthog-js sends these of itself (identify at sign-in, $feature_flag_called when a flag
    // is read, $web_vitals after each page load): counted as interactive, no visit bounced.
    const at = (seconds: number) => new Date(T0 + seconds * 1000).toISOString();
    const event = (uuid: string, name: string, s: number, session: string) => ({
      uuid,
      event: name,
      timestamp: at(s),
      properties: browserProperties({
        $session_id: session,
        $current_url: 'https://shop.example/',
        $pathname: '/',
      }),
    });
    const sent = await gzipText('/i/v0/e/', [
      event('a1', '$pageview', 0, 'sa'),
      event('a2', '$identify', 1, 'sa'),
      event('a3', '$feature_flag_called', 2, 'sa'),
      event('a4', '$web_vitals', 3, 'sa'),
      event('a5', '$exception', 4, 'sa'),
      event('a6', '$set', 5, 'sa'),
      event('b1', '$pageview', 0, 'sb'),
      event('b2', '$autocapture', 5, 'sb'),
    ]);
    expect(sent.status).toBe(200);
    const stats = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25');
    // sa: a page view and what posthog-js sent of itself, a bounce; sb: a click, no bounce.
    expect(stats).toMatchObject({ total_events: 8, page_views: 2, visits: 2, bounce_rate: 50 });
    const click = await t.getJson('/api/v1/events/b2?tenant_id=acme');
    expect((click.properties as Json).$interactive).toBeUndefined();
    // The rest of the README's list (Bounce rate): a one-page visit with them stays a bounce.
    const more = ['$create_alias', '$groupidentify', '$$heatmap', '$opt_in'];
    const rest = await gzipText('/i/v0/e/', [
      event('c1', '$pageview', 0, 'sc'),
      ...more.map((name, i) => {
        const e = event(`c${i + 2}`, name, i + 1, 'sc');
        if (name === '$create_alias') Object.assign(e.properties, { alias: 'someone' });
        if (name === '$groupidentify') {
          Object.assign(e.properties, { $group_type: 'company', $group_key: 'acme' });
        }
        return e;
      }),
    ]);
    expect(rest.status).toBe(200);
    const three = await t.getJson('/api/v1/stats?tenant_id=acme&date=2026-11-25');
    // $groupidentify is never counted (Known limits); the other four are, in sc's bounce.
    expect(three).toMatchObject({ total_events: 12, visits: 3, bounce_rate: 67 });
    // Nor listed (README "Reads": the event list leaves it out); its id still shows it.
    const list = await t.getJson('/api/v1/events?tenant_id=acme&limit=50');
    const listed = (list.events as { event_id: string }[]).map((e) => e.event_id);
    expect([listed.length, listed.includes('c3')]).toEqual([12, false]);
    for (const [i, name] of more.entries()) {
      const stored = await t.getJson(`/api/v1/events/c${i + 2}?tenant_id=acme`);
      expect([name, (stored.properties as Json).$interactive]).toEqual([name, false]);
    }
  });

  test('property.$<key> filters and group_by=property:$<key> find them under $posthog', async () => {
    // posthog-node's events carry `$lib` and friends; a filter or breakdown on them worked
    // before they moved under $posthog and must still find them there.
    const node = (uuid: string, lib: string) => ({
      uuid,
      event: 'signed_up',
      distinct_id: 'u1',
      properties: { $lib: lib, $lib_version: '5.0.0', plan: 'pro' },
    });
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [node('n1', 'posthog-node'), node('n2', 'posthog-node'), node('p1', 'posthog-python')],
    });
    expect(res.status).toBe(200);
    const filtered = await t.getJson('/api/v1/stats?tenant_id=acme&property.$lib=posthog-node');
    expect(filtered).toMatchObject({ total_events: 2 });
    const list = await t.getJson<{ events: unknown[] }>(
      '/api/v1/events?tenant_id=acme&property.$lib=posthog-python',
    );
    expect(list.events).toHaveLength(1);
    const series = await t.getJson<{ series: { key: string | null; events: number }[] }>(
      '/api/v1/timeseries?tenant_id=acme&from=2026-11-25&to=2026-11-26&group_by=property:$lib',
    );
    expect(series.series.map((s) => [s.key, s.events])).toEqual([
      ['posthog-node', 2],
      ['posthog-python', 1],
    ]);
  });

  test("the app's own properties past the 64-key limit are cut to fit, and named", async () => {
    const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`p${i}`, i]));
    const res = await gzipText('/e/', [
      { event: 'x', uuid: 'many', properties: { ...browserProperties(), ...many } },
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const stored = await t.getJson<{ properties: Json }>('/api/v1/events/many?tenant_id=acme');
    // 67 of the page's and the app's, the `$posthog` bag and the marker: the five largest
    // (ties in name order) are cut; the SDK's own stay in the bag.
    expect(Object.keys(stored.properties)).toHaveLength(64);
    const cut = ['navigation_type', 'title', 'p10', 'p11', 'p12'];
    expect(stored.properties.$tally_cut).toEqual(cut);
    expect(stored.properties).toMatchObject({ p0: 0, p13: 13, p64: 64 });
    expect(stored.properties.$posthog).toMatchObject({ $os: 'v0', $lib: 'v13' });
  });

  test('older posthog-js posts people.set to /engage/: stored as $identify, as PostHog does', async () => {
    // posthog-js of 2023 (src/posthog-people.ts, _send_request) posts people.set and
    // people.set_once, and identify()'s properties once identified, to /engage/: a form whose
    // `data` is the base64 of {$set | $set_once, $token, $distinct_id, $device_id, $user_id}.
    // PostHog's capture names such a call `$identify`.
    const engage = (update: Json) => {
      const data = { ...update, $token: 'wk_acme', $distinct_id: 'user_42', $device_id: 'd-1' };
      const base64 = Buffer.from(JSON.stringify(data)).toString('base64');
      return t.post(
        '/engage/?ip=1&_=1795600800000&ver=1.57.2',
        `data=${encodeURIComponent(base64)}`,
        {
          'content-type': 'application/x-www-form-urlencoded',
          ...ORIGIN,
        },
      );
    };
    for (const update of [{ $set: { plan: 'pro' } }, { $set_once: { first_plan: 'free' } }]) {
      const res = await engage({ ...update, $user_id: 'user_42' });
      expect(res.status).toBe(200);
      expect(res.headers.get('access-control-allow-origin')).toBe('*');
      expect(await res.json()).toEqual({ status: 1 });
    }
    const list = await t.getJson<{ events: Json[] }>('/api/v1/events?tenant_id=acme');
    expect(list.events).toHaveLength(2);
    for (const e of list.events) {
      expect(e).toMatchObject({ name: '$identify', user_id: 'user_42' });
      expect((e.properties as Json).$interactive).toBe(false);
    }
    const updates = list.events.map((e) => e.properties as Json);
    expect(updates).toContainEqual(expect.objectContaining({ $set: { plan: 'pro' } }));
    expect(updates).toContainEqual(expect.objectContaining({ $set_once: { first_plan: 'free' } }));
    expect(tenancy.keys).toEqual(['wk_acme', 'wk_acme']);
  });
});

describe('posthog-js across identify', () => {
  // As posthog-js (1.449) sends them: `$device_id` (its first anonymous distinct_id) on every
  // event, `distinct_id` inside the properties switching to the user id at `$identify`, which
  // names the old one in `$anon_distinct_id`; `$is_identified` and `$process_person_profile`
  // false until then (person_profiles 'identified_only', the default); `$set`/`$set_once` at
  // the top of `$identify`. A reset() (without true) keeps `$device_id`.
  const DEVICE = '0193b5c4-6f00-7a3b-8c4d-000000000d01';
  const sdkEvent = (uuid: string, event: string, at: string, identified: boolean, extra: Json) => ({
    uuid,
    event,
    timestamp: at,
    properties: {
      token: 'wk_acme',
      distinct_id: identified ? 'user_42' : DEVICE,
      $device_id: DEVICE,
      $is_identified: identified,
      $process_person_profile: identified,
      $lib: 'web',
      $lib_version: '1.449.2',
      $session_id: '0193b5c4-6f00-7a3b-8c4d-5e6f7a8b9c0d',
      $raw_user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0.0.0 Safari/537.36',
      ...extra,
    },
  });
  const page = (path: string) => ({
    $current_url: `https://shop.example${path}`,
    $pathname: path,
    $host: 'shop.example',
  });

  /** Views /pricing anonymously on the 24th, identifies and signs up on the 25th. */
  async function signUp() {
    const day1 = '2026-11-24T10:00:00.000Z';
    const day2 = '2026-11-25T10:00:00.000Z';
    const res = await gzipText('/e/', [
      sdkEvent('view', '$pageview', day1, false, page('/pricing')),
      {
        ...sdkEvent('identify', '$identify', day2, true, {
          ...page('/signup'),
          $anon_distinct_id: DEVICE,
        }),
        $set: { email: 'ada@example.com' },
        $set_once: { $initial_pathname: '/pricing' },
      },
      sdkEvent('signup', 'signed_up', day2, true, { ...page('/signup'), plan: 'pro' }),
    ]);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
  }

  test('the sign-up funnel converts by device, not by visitor', async () => {
    await signUp();
    const stored = async (id: string) => {
      const e = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      return [e.user_id, e.anonymous_id, e.visitor_id];
    };
    expect(await stored('view')).toEqual([null, DEVICE, DEVICE]);
    expect(await stored('identify')).toEqual(['user_42', DEVICE, 'user_42']);
    expect(await stored('signup')).toEqual(['user_42', DEVICE, 'user_42']);
    const funnel = async (by: string) => {
      const res = await t.getJson<{ steps: { count: number }[] }>(
        `/api/v1/funnel?tenant_id=acme&step=path:/pricing&step=name:signed_up&by=${by}`,
      );
      return res.steps.map((s) => s.count);
    };
    expect(await funnel('device')).toEqual([1, 1]);
    expect(await funnel('person')).toEqual([1, 1]); // $identify links the view's distinct_id
    expect(await funnel('visitor')).toEqual([1, 0]);
    expect(await funnel('user')).toEqual([0, 0]); // the view carries no user id
  });

  test('a cohort of /pricing viewers returns by device, not by visitor', async () => {
    await signUp();
    const cohorts = async (by: string) => {
      const res = await t.getJson<{ cohorts: { returned: number[] }[] }>(
        '/api/v1/cohorts?tenant_id=acme&start=path:/pricing&return=name:signed_up' +
          `&from=2026-11-24&to=2026-11-25&by=${by}`,
      );
      return res.cohorts.map((c) => c.returned);
    };
    expect(await cohorts('device')).toEqual([[1, 1], [0]]);
    expect(await cohorts('person')).toEqual([[1, 1], [0]]);
    expect(await cohorts('visitor')).toEqual([[1, 0], [0]]);
  });
});
