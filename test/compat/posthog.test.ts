// PostHog: the unmodified posthog-node client against a real socket (gzip bodies, exact counts
// after shutdown, a retried batch stored once, an oversized batch halved on 413), then the
// capture API's other forms and rules at the protocol level.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { PostHog } from 'posthog-node';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

describe('posthog-node against Tally', () => {
  let server: CompatServer;
  let proxy: FaultProxy;
  beforeAll(async () => {
    server = await startCompatServer();
    proxy = startFaultProxy(server.url);
  });
  afterAll(async () => {
    proxy.close();
    await server.close();
  });
  afterEach(() => {
    proxy.log.length = 0;
  });

  const client = (options: Json = {}) =>
    new PostHog('phc_project_key', {
      host: proxy.url,
      flushAt: 10,
      flushInterval: 0,
      fetchRetryDelay: 20,
      ...options,
    });
  const stats = (query: string) => server.getJson(`/api/v1/stats?tenant_id=default&${query}`);

  test('captures arrive gzipped and are counted exactly; $pageview is a page view', async () => {
    const posthog = client();
    for (let i = 0; i < 25; i++) {
      posthog.capture({
        distinctId: `user-${i % 5}`,
        event: '$pageview',
        properties: { $current_url: `https://shop.example/p/${i % 3}`, source: 'test-1' },
      });
    }
    for (let i = 0; i < 15; i++) {
      posthog.capture({
        distinctId: 'user-0',
        event: 'added_to_cart',
        properties: { source: 'test-1' },
      });
    }
    await posthog.shutdown();
    expect(proxy.log.length).toBeGreaterThanOrEqual(1);
    expect(proxy.log.every((l) => l.status === 200 && l.encoding === 'gzip')).toBe(true);
    const s = await stats('property.source=test-1');
    expect(s).toMatchObject({ total_events: 40, page_views: 25, unique_users: 5 });
    expect(s.top_paths).toEqual([
      { path: '/p/0', views: 9, visitors: 5 },
      { path: '/p/1', views: 8, visitors: 5 },
      { path: '/p/2', views: 8, visitors: 5 },
    ]);
  });

  test('groupIdentify is stored as sent, never counted as an event, a user or a visitor', async () => {
    // posthog-node sends `$groupidentify` under the made-up distinct_id `$company_acme`:
    // PostHog upserts the group from it. Counted, every group was one more user and visitor.
    const before = await stats('');
    const posthog = client();
    posthog.groupIdentify({ groupType: 'company', groupKey: 'acme', properties: { plan: 'pro' } });
    posthog.capture({ distinctId: 'member-1', event: 'report_run', groups: { company: 'acme' } });
    await posthog.shutdown();
    const after = await stats('');
    expect(after.total_events).toBe(Number(before.total_events) + 1);
    expect(after.unique_users).toBe(Number(before.unique_users) + 1);
    expect(after.unique_visitors).toBe(Number(before.unique_visitors) + 1);
    const names = (after.top_events as { name: string }[]).map((e) => e.name);
    expect(names).toContain('report_run');
    expect(names).not.toContain('$groupidentify');
    const res = await fetch(`${server.url}/api/v1/query`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sql:
          'SELECT user_id, properties->>\'$."$posthog"."$group_key"\' AS group_key ' +
          'FROM events WHERE name = ?',
        params: ['$groupidentify'],
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { rows: unknown[] }).rows).toEqual([['$company_acme', 'acme']]);
  });

  test('a batch whose answer was lost (5xx) is retried with the same uuids and stored once', async () => {
    const posthog = client();
    proxy.failNext('/batch/');
    for (let i = 0; i < 10; i++) {
      posthog.capture({ distinctId: 'retry', event: 'retried', properties: { source: 'test-2' } });
    }
    await posthog.shutdown();
    expect(proxy.log.map((l) => l.status)).toEqual([502, 200]);
    expect((await stats('property.source=test-2')).total_events).toBe(10);
  });

  test('a batch resent after a 503 keeps its times, and a later event stays later', async () => {
    // posthog-node resends a refused batch as it was, the `sent_at` of its first try in it,
    // after fetchRetryDelay: read whole as the client's clock skew, that wait moved each of its
    // events later, past an event the app captured after them, and the funnel broke.
    const posthog = client({ fetchRetryDelay: 1_500 });
    const at = Date.now() - 60_000;
    const step = (uuid: string, event: string, ms: number) =>
      posthog.capture({ distinctId: 'resent', event, uuid, timestamp: new Date(ms) });
    proxy.refuseNext('/batch/');
    step('0193b5c4-0000-7000-8000-00000000a001', 'resent_1', at);
    await posthog.flush();
    step('0193b5c4-0000-7000-8000-00000000a002', 'resent_2', at + 1_000);
    await posthog.shutdown();
    expect(proxy.log.map((l) => l.status)).toEqual([503, 200, 200]);
    const timeOf = async (uuid: string) =>
      Date.parse(String((await server.getJson(`/api/v1/events/${uuid}`)).timestamp));
    expect(await timeOf('0193b5c4-0000-7000-8000-00000000a001')).toBe(at);
    expect(await timeOf('0193b5c4-0000-7000-8000-00000000a002')).toBe(at + 1_000);
    const funnel = await server.getJson<{ steps: { count: number }[] }>(
      '/api/v1/funnel?step=name:resent_1&step=name:resent_2',
    );
    expect(funnel.steps.map((s) => s.count)).toEqual([1, 1]);
  });

  test('an oversized batch gets 413; the client halves it and every event arrives once', async () => {
    const count = 6000;
    const posthog = client({ flushAt: count, maxBatchSize: count, maxQueueSize: 2 * count });
    for (let i = 0; i < count; i++) {
      posthog.capture({
        distinctId: `bulk-${i % 7}`,
        event: 'bulk',
        properties: { source: 'test-3' },
      });
    }
    await posthog.shutdown();
    expect(proxy.log.map((l) => l.status)).toEqual([413, 200, 200]);
    expect((await stats('property.source=test-3')).total_events).toBe(count);
  });

  test("a page's long URL, referrer and agent are kept, cut, as PostHog keeps them", async () => {
    const posthog = client();
    const uuid = '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8dff';
    posthog.capture({
      distinctId: 'long-url',
      event: '$pageview',
      uuid,
      properties: {
        source: 'test-5',
        $current_url: `https://shop.example/landing?gclid=${'g'.repeat(2100)}`,
        $pathname: '/landing',
        $referrer: `https://mail.example.net/read?token=${'t'.repeat(2100)}`,
        $raw_user_agent: `Mozilla/5.0 (X11; Linux x86_64) ${'Ext/1.0 '.repeat(150)}`,
      },
    });
    await posthog.shutdown();
    expect(proxy.log.map((l) => l.status)).toEqual([200]);
    const stored = await server.getJson(`/api/v1/events/${uuid}?tenant_id=default`);
    expect(stored).toMatchObject({
      path: '/landing',
      url: 'https://shop.example/landing',
      referrer: 'https://mail.example.net/read',
      os: 'Linux',
    });
    expect((stored.user_agent as string).length).toBe(1024);
  });

  test('captureAi events go to /i/v0/ai/batch/ and are stored beside the others', async () => {
    const posthog = client();
    const errors: unknown[] = [];
    posthog.on('error', (error) => errors.push(error));
    posthog.capture({ distinctId: 'ai-user', event: 'asked', properties: { source: 'test-4' } });
    const uuid = posthog.captureAi({
      distinctId: 'ai-user',
      event: '$ai_generation',
      properties: { source: 'test-4', $ai_model: 'gpt-4o-mini', $ai_input_tokens: 812 },
    });
    await posthog.shutdown();
    expect(errors).toEqual([]);
    expect(proxy.log.map((l) => [l.path, l.status, l.encoding])).toEqual([
      ['/batch/', 200, 'gzip'],
      ['/i/v0/ai/batch/', 200, 'gzip'],
    ]);
    const s = await stats('property.source=test-4');
    expect(s.top_events).toEqual([
      { name: '$ai_generation', events: 1, visitors: 1 },
      { name: 'asked', events: 1, visitors: 1 },
    ]);
    const stored = await server.getJson(`/api/v1/events/${uuid}?tenant_id=default`);
    expect(stored).toMatchObject({ user_id: 'ai-user', name: '$ai_generation' });
    expect((stored.properties as Json).$posthog).toMatchObject({ $ai_model: 'gpt-4o-mini' });
  });

  test('local evaluation of flags is not served (404); captures go on through /batch/', async () => {
    // README "Limits": a personal API key makes posthog-node load the flags' definitions, from
    // /flags/definitions (older releases: /api/feature_flag/local_evaluation).
    const posthog = client({ personalApiKey: 'phx_personal_key' });
    const errors: unknown[] = [];
    posthog.on('error', (error) => errors.push(error));
    posthog.capture({ distinctId: 'flags-user', event: 'ran', properties: { source: 'test-6' } });
    await posthog.shutdown();
    const paths = proxy.log.map((l) => [l.path.split('?')[0], l.status]);
    expect(paths).toContainEqual(['/flags/definitions', 404]);
    expect(paths).toContainEqual(['/batch/', 200]);
    expect(errors).toEqual([]); // posthog-node passes over a 404 there without a word
    expect((await stats('property.source=test-6')).total_events).toBe(1);
  });
});

describe('PostHog capture API', () => {
  let t: CompatApp;
  const tenancy = keyTenancy({});
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy });
  });
  afterEach(() => t.close());

  const at = new Date(T0).toISOString();
  const event = (extra: Json = {}) => ({
    event: '$pageview',
    distinct_id: 'd1',
    timestamp: at,
    properties: { $current_url: 'https://ex.com/a?b=1', $session_id: 's1' },
    ...extra,
  });
  const stats = () => t.getJson('/api/v1/stats?tenant_id=acme');

  test('every route and body form: batch, single, array with token, gzip-js, form data', async () => {
    const single = await t.post('/capture/', { api_key: 'wk_acme', ...event({ uuid: 'u-1' }) });
    expect(single.status).toBe(200);
    expect(await single.json()).toEqual({ status: 1 });
    expect(single.headers.get('access-control-allow-origin')).toBe('*');
    const tokenInProps = [
      event({ uuid: 'u-2', properties: { token: 'wk_acme', $current_url: 'https://ex.com/b' } }),
    ];
    const gz = gzipSync(JSON.stringify(tokenInProps));
    const viaGzipJs = await t.post('/e/?compression=gzip-js', gz, { 'content-type': 'text/plain' });
    expect(viaGzipJs.status).toBe(200);
    // Both Content-Encoding and ?compression=gzip-js: inflated once, as PostHog's capture does.
    const both = await t.post('/e/?compression=gzip-js', gz, {
      'content-type': 'text/plain',
      'content-encoding': 'gzip',
    });
    expect(both.status).toBe(200);
    const data = Buffer.from(JSON.stringify({ api_key: 'wk_acme', ...event({ uuid: 'u-3' }) }));
    const form = `data=${encodeURIComponent(data.toString('base64'))}`;
    const viaForm = await t.post('/i/v0/e/', form, {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(viaForm.status).toBe(200);
    const batch = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [event({ uuid: 'u-4' }), event({ uuid: 'u-1' })],
    });
    expect(batch.status).toBe(200);
    expect(tenancy.keys).toEqual(['wk_acme', 'wk_acme', 'wk_acme', 'wk_acme', 'wk_acme']);
    expect(await stats()).toMatchObject({ total_events: 4, page_views: 4, sessions: 1 });
    const stored = await t.getJson('/api/v1/events/u-2?tenant_id=acme');
    expect(stored).toMatchObject({ path: '/b', url: 'https://ex.com/b', user_id: 'd1' });
    expect((stored.properties as Json).token).toBeUndefined();
  });

  test('the key as token or $token, the person as $distinct_id, on any capture path', async () => {
    // README: "`api_key`/`token`/`$token` = write key", "`distinct_id` (or `$distinct_id`)".
    const { distinct_id: _, ...anonymous } = event();
    const before = tenancy.keys.length; // one tenancy for the whole describe
    const res = await t.post('/e/', [
      { ...anonymous, uuid: 'k-1', $token: 'wk_acme', $distinct_id: 'u-dollar' },
    ]);
    expect(res.status).toBe(200);
    const top = await t.post('/capture/', { ...event({ uuid: 'k-2' }), token: 'wk_acme' });
    expect(top.status).toBe(200);
    expect(tenancy.keys.slice(before)).toEqual(['wk_acme', 'wk_acme']);
    expect(await t.getJson('/api/v1/events/k-1?tenant_id=acme')).toMatchObject({
      user_id: 'u-dollar',
    });
    expect(await t.getJson('/api/v1/events/k-2?tenant_id=acme')).toMatchObject({ user_id: 'd1' });
  });

  // README Limits: an event_id of . or .. sent through a compatibility route (a PostHog `uuid`)
  // is stored, not refused: the SDK's client would lose it. Lists show it.
  test('a uuid of . or .. is stored as sent: only the native API refuses such ids', async () => {
    const batch = [event({ uuid: '.' }), event({ uuid: '..' })];
    expect((await t.post('/batch/', { api_key: 'wk_acme', batch })).status).toBe(200);
    const listed = await t.getJson<{ events: { event_id: string }[] }>(
      '/api/v1/events?tenant_id=acme',
    );
    expect(listed.events.map((e) => e.event_id).sort()).toEqual(['.', '..']);
  });

  test('a $current_url over the url limit keeps the campaign tags and click ids of its query', async () => {
    // A landing page made long by a token must not lose the utm_source its visit is credited to.
    const query = `code=${'x'.repeat(3000)}&utm_source=newsletter&gclid=g1`;
    const properties = { $current_url: `https://ex.com/in?${query}`, $pathname: '/in' };
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [event({ uuid: 'long-url', properties })],
    });
    expect(res.status).toBe(200);
    expect(await t.getJson('/api/v1/events/long-url?tenant_id=acme')).toMatchObject({
      url: 'https://ex.com/in?utm_source=newsletter&gclid=g1',
      path: '/in',
    });
  });

  test('a form whose data is not UTF-8 is a 400, never stored with U+FFFD', async () => {
    // Percent-escapes decode to bytes: %FF and %FE are no UTF-8, and read as U+FFFD the two
    // uuids would be one (the second answered as stored, and lost as a duplicate).
    const form = (uuid: string) => {
      const json = JSON.stringify({ api_key: 'wk_acme', ...event({ uuid: 'UUID' }) });
      return `data=${encodeURIComponent(json).replace('UUID', uuid)}`;
    };
    const headers = { 'content-type': 'application/x-www-form-urlencoded' };
    for (const uuid of ['id-%FF', 'id-%FE']) {
      const res = await t.post('/i/v0/e/', form(uuid), headers);
      expect(res.status).toBe(400);
      expect(((await res.json()) as Json).detail).toContain('not valid UTF-8');
    }
    expect(await stats()).toMatchObject({ total_events: 0 });
    // UTF-8 escapes are taken as sent.
    expect((await t.post('/i/v0/e/', form('id-%C3%A9'), headers)).status).toBe(200);
    expect(await t.getJson('/api/v1/events/id-%C3%A9?tenant_id=acme')).toMatchObject({
      event_id: 'id-é',
    });
  });

  test('anonymous distinct ids, $set and the raw user agent map to their fields', async () => {
    await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({
          uuid: 'anon',
          properties: { $is_identified: false, $raw_user_agent: 'Mozilla/5.0 (iPhone; x)' },
          $set: { plan: 'pro' },
        }),
      ],
    });
    const stored = await t.getJson('/api/v1/events/anon?tenant_id=acme');
    expect(stored).toMatchObject({
      anonymous_id: 'd1',
      user_id: null,
      os: 'iOS',
      properties: { $set: { plan: 'pro' } },
    });
  });

  test('$unset and $groups stay at the top, other $ properties go under $posthog, nulls nowhere', async () => {
    // README: "PostHog's other `$` properties under one key, `$posthog` (`$set`, `$set_once`,
    // `$unset`, `$groups` stay at the top ...), the rest as sent, null values left out".
    await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({
          uuid: 'tops',
          event: 'signed_up',
          properties: {
            $unset: ['trial'],
            $groups: { company: 'acme' },
            $lib: 'posthog-node',
            $browser: null,
            plan: 'pro',
            coupon: null,
          },
        }),
      ],
    });
    const stored = await t.getJson('/api/v1/events/tops?tenant_id=acme');
    expect(stored.properties).toEqual({
      $unset: ['trial'],
      $groups: { company: 'acme' },
      $posthog: { $lib: 'posthog-node' },
      plan: 'pro',
    });
  });

  test('a top-level $set or $set_once is merged into the properties one, winning', async () => {
    // posthog-js puts its initial person info in a top-level $set_once on a first event, while
    // PostHog's docs have the app send its own in properties: PostHog's ingestion merges them.
    await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({
          uuid: 'both',
          properties: { $set_once: { first_plan: 'free', source: 'app' }, $set: 'not an object' },
          $set_once: { $initial_referrer: '$direct', source: 'sdk' },
          $set: { plan: 'pro' },
        }),
      ],
    });
    const stored = await t.getJson('/api/v1/events/both?tenant_id=acme');
    expect(stored.properties).toEqual({
      $set_once: { first_plan: 'free', source: 'sdk', $initial_referrer: '$direct' },
      $set: { plan: 'pro' },
    });
  });

  test("an identified event's $device_id is its anonymous_id too; a bad one is left there", async () => {
    const device = '0193b5c4-0000-7000-8000-00000000d001';
    const identified = (uuid: string, properties: Json) =>
      event({ uuid, distinct_id: 'user_42', properties: { $is_identified: true, ...properties } });
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        identified('with', { $device_id: device }),
        identified('without', {}),
        identified('empty', { $device_id: '' }),
        identified('number', { $device_id: 42 }),
        identified('object', { $device_id: { id: device } }),
        identified('longest', { $device_id: 'd'.repeat(128) }),
        identified('too-long', { $device_id: 'd'.repeat(129) }),
        // An anonymous event keeps its distinct_id as anonymous_id (after posthog.reset(),
        // posthog-js sends a new distinct_id with the old $device_id).
        event({ uuid: 'anon', properties: { $is_identified: false, $device_id: device } }),
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 }); // none refused for its $device_id
    const read = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
    const ids = async (id: string) => {
      const { user_id, anonymous_id, visitor_id, properties } = await read(id);
      const kept = ((properties as Json | null)?.$posthog as Json | undefined)?.$device_id;
      return { user_id, anonymous_id, visitor_id, kept };
    };
    // The visitor stays the user id (user_id first), so visitor counts do not change.
    const user = { user_id: 'user_42', visitor_id: 'user_42' };
    expect(await ids('with')).toEqual({ ...user, anonymous_id: device, kept: device });
    expect(await ids('without')).toEqual({ ...user, anonymous_id: null, kept: undefined });
    // Not an id: no anonymous_id; the value stays in $posthog as sent (an empty string too).
    expect(await ids('empty')).toEqual({ ...user, anonymous_id: null, kept: '' });
    expect(await ids('number')).toEqual({ ...user, anonymous_id: null, kept: 42 });
    expect(await ids('object')).toEqual({ ...user, anonymous_id: null, kept: { id: device } });
    const longest = 'd'.repeat(128);
    expect(await ids('longest')).toEqual({ ...user, anonymous_id: longest, kept: longest });
    const tooLong = 'd'.repeat(129);
    expect(await ids('too-long')).toEqual({ ...user, anonymous_id: null, kept: tooLong });
    expect(await ids('anon')).toEqual({
      user_id: null,
      anonymous_id: 'd1',
      visitor_id: 'd1',
      kept: device,
    });
  });

  test('$identify keeps the id it merges as anonymous_id, $create_alias its alias', async () => {
    const device = '0193b5c4-0000-7000-8000-00000000d001';
    const as = (uuid: string, name: string, distinct: string, properties: Json) =>
      event({
        uuid,
        event: name,
        distinct_id: distinct,
        properties: { $device_id: device, ...properties },
      });
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        // After posthog.reset() the anonymous distinct id is no longer the $device_id.
        as('identify', '$identify', 'user_42', { $anon_distinct_id: 'anon-after-reset' }),
        as('identify-bad', '$identify', 'user_42', { $anon_distinct_id: { id: 'a' } }),
        as('identify-none', '$identify', 'user_42', {}),
        // posthog-node's alias({ distinctId, alias }) and posthog-js's alias() once identified.
        as('alias', '$create_alias', 'user_42', { distinct_id: 'user_42', alias: 'old-id' }),
        // posthog-js's alias(user) while anonymous: the anonymous id is linked to the alias.
        as('alias-anon', '$create_alias', 'anon-9', { $is_identified: false, alias: 'user_9' }),
        // Another event's alias or $anon_distinct_id is no id of it.
        as('other', 'clicked', 'user_42', { alias: 'x', $anon_distinct_id: 'y' }),
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const ids = async (id: string) => {
      const e = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      return [e.user_id, e.anonymous_id, e.visitor_id];
    };
    expect(await ids('identify')).toEqual(['user_42', 'anon-after-reset', 'user_42']);
    expect(await ids('identify-bad')).toEqual(['user_42', device, 'user_42']);
    expect(await ids('identify-none')).toEqual(['user_42', device, 'user_42']);
    expect(await ids('alias')).toEqual(['user_42', 'old-id', 'user_42']);
    expect(await ids('alias-anon')).toEqual(['user_9', 'anon-9', 'user_9']);
    expect(await ids('other')).toEqual(['user_42', device, 'user_42']);
    // The names stay where they were: the alias at the top, $anon_distinct_id in $posthog.
    const identify = await t.getJson('/api/v1/events/identify?tenant_id=acme');
    expect(identify.properties).toMatchObject({
      $posthog: { $anon_distinct_id: 'anon-after-reset' },
    });
    const alias = await t.getJson('/api/v1/events/alias?tenant_id=acme');
    expect(alias.properties).toMatchObject({ alias: 'old-id', distinct_id: 'user_42' });
  });

  test('$merge_dangerously links its alias as $create_alias does, and ends no bounce', async () => {
    // PostHog merges a $merge_dangerously's `alias` into its distinct_id as it merges a
    // $create_alias's (apps send it where identify or alias would be refused): the same link.
    const merge = (uuid: string, distinct: string, properties: Json) =>
      event({ uuid, event: '$merge_dangerously', distinct_id: distinct, properties });
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        merge('merge', 'user_42', { alias: 'machine-7', $device_id: 'dev-1' }),
        merge('merge-anon', 'anon-3', { $is_identified: false, alias: 'user_3' }),
      ],
    });
    expect(await res.json()).toEqual({ status: 1 });
    const stored = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
    expect(await stored('merge')).toMatchObject({
      user_id: 'user_42',
      anonymous_id: 'machine-7',
      properties: { alias: 'machine-7', $interactive: false },
    });
    expect(await stored('merge-anon')).toMatchObject({ user_id: 'user_3', anonymous_id: 'anon-3' });
  });

  test('a number as the id $identify or $create_alias merges is that id, as distinct_id', async () => {
    // PostHog merges String(alias) and String($anon_distinct_id); posthog-python and other
    // server SDKs pass a database id as it is.
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({
          uuid: 'i',
          event: '$identify',
          distinct_id: 7,
          properties: { $anon_distinct_id: 41 },
        }),
        event({ uuid: 'a', event: '$create_alias', distinct_id: 'u8', properties: { alias: 42 } }),
        event({ uuid: 'n', event: '$create_alias', distinct_id: 'u9', properties: { alias: NaN } }),
      ],
    });
    expect(res.status).toBe(200);
    const ids = async (id: string) => {
      const e = await t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
      return [e.user_id, e.anonymous_id];
    };
    expect(await ids('i')).toEqual(['7', '41']);
    expect(await ids('a')).toEqual(['u8', '42']);
    expect(await ids('n')).toEqual(['u9', null]);
  });

  test('a distinct_id over the id limit is cut to it, not dropped, as PostHog cuts it', async () => {
    // PostHog's capture (rust/capture, RawEvent::extract_distinct_id) keeps a distinct_id of
    // any length, cut to 200 characters; posthog-node 5.x sends whatever id the app passes
    // (here a composite key), and takes the 200 as delivered: the event must not be dropped.
    const long = `org_4f1c:team_9b2e:${'u'.repeat(140)}`;
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({ uuid: 'long-user', distinct_id: long }),
        event({ uuid: 'long-anon', distinct_id: long, properties: { $is_identified: false } }),
      ],
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const user = await t.getJson(`/api/v1/events/long-user?tenant_id=acme`);
    const cut = String(user.user_id);
    expect(cut).toHaveLength(128);
    expect(cut.startsWith(long.slice(0, 100))).toBe(true);
    expect(user.anonymous_id).toBeNull();
    const anon = await t.getJson(`/api/v1/events/long-anon?tenant_id=acme`);
    expect([anon.user_id, anon.anonymous_id]).toEqual([null, cut]);
  });

  // PostHog's ingestion takes an event name up to 200 characters: one over Tally's 120 was a 400
  // on /capture/ (posthog-node drops the event) and left out of a /batch/ under its 200.
  test('an event name over 120 characters is kept as its start and a digest, not refused', async () => {
    const name = `checkout_step_completed:${'payment_method_selected:'.repeat(5)}`;
    const names = [`${name}card`, `${name}bank`];
    expect(names[0]?.length).toBeGreaterThan(120);
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: names.map((n, i) => event({ uuid: `long-name-${i}`, event: n })),
    });
    expect(await res.json()).toEqual({ status: 1 });
    const one = await t.post('/capture/', {
      api_key: 'wk_acme',
      ...event({ uuid: 'long-name-2', event: names[0] }),
    });
    expect(one.status).toBe(200);
    const stored = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const e = await t.getJson(`/api/v1/events/long-name-${i}?tenant_id=acme`);
        return String(e.name);
      }),
    );
    for (const n of stored) {
      expect(n).toHaveLength(120);
      expect(n.startsWith(name.slice(0, 100))).toBe(true);
    }
    // Two names alike in their start stay two; one name is always the same stored name.
    expect(stored[0]).not.toBe(stored[1]);
    expect(stored[2]).toBe(stored[0]);
  });

  test('two long distinct_ids alike in their first 128 characters stay two people', async () => {
    // Composite ids differ at their end: cut to 128 alone, every user of the team was one
    // user_id (one unique user, one visitor, one person in funnels), merged for good.
    const team = `org_4f1c:team_9b2e:${'x'.repeat(120)}:user_`;
    const batch = ['alice', 'bob', 'alice'].map((who, i) =>
      event({ uuid: `team-${i}`, distinct_id: `${team}${who}` }),
    );
    const res = await t.post('/batch/', { api_key: 'wk_acme', batch });
    expect(res.status).toBe(200);
    const ids = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const stored = await t.getJson(`/api/v1/events/team-${i}?tenant_id=acme`);
        return String(stored.user_id);
      }),
    );
    for (const id of ids) expect(id.length).toBeLessThanOrEqual(128);
    expect(ids[0]).not.toBe(ids[1]);
    expect(ids[2]).toBe(ids[0]);
    const s = await stats();
    expect([s.unique_users, s.unique_visitors]).toEqual([2, 2]);
  });

  test('a $session_id over the id limit is kept as a long distinct_id is, not dropped', async () => {
    // PostHog keeps `$session_id` as an event property of any length; posthog-node sends what
    // the app passes. Refused, the event was dropped from the batch; cut to 128, two sessions
    // alike in their start would be one visit.
    const prefix = `svc:checkout:${'s'.repeat(130)}:`;
    const batch = ['a', 'b', 'a'].map((which, i) =>
      event({ uuid: `sess-${i}`, properties: { $session_id: `${prefix}${which}` } }),
    );
    const res = await t.post('/batch/', { api_key: 'wk_acme', batch });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const sessions = await Promise.all(
      [0, 1, 2].map(async (i) => {
        const stored = await t.getJson(`/api/v1/events/sess-${i}?tenant_id=acme`);
        return String(stored.session_id);
      }),
    );
    // Its start, `~` and a digest of the whole id: the same fitting as a distinct_id's.
    const distinct = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [event({ uuid: 'as-distinct', distinct_id: `${prefix}a` })],
    });
    expect(distinct.status).toBe(200);
    const asDistinct = await t.getJson('/api/v1/events/as-distinct?tenant_id=acme');
    expect(sessions[0]).toBe(String(asDistinct.user_id));
    expect(sessions[0]).toHaveLength(128);
    expect(sessions[0]?.startsWith(prefix.slice(0, 100))).toBe(true);
    expect(sessions[1]).not.toBe(sessions[0]);
    expect(sessions[2]).toBe(sessions[0]);
  });

  test('an $identify or $create_alias naming a long distinct_id links the events of it', async () => {
    // The anonymous events of a distinct_id over 128 characters are stored under its fitted
    // form; the id an $identify merges (or an alias) must be that same id, else by=person
    // never joins them to the user.
    const long = `anon:${'a'.repeat(150)}`;
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({ uuid: 'before', distinct_id: long, properties: { $is_identified: false } }),
        event({
          uuid: 'identify',
          event: '$identify',
          distinct_id: 'user_42',
          properties: { $anon_distinct_id: long },
        }),
        event({
          uuid: 'alias',
          event: '$create_alias',
          distinct_id: 'user_42',
          properties: { alias: long },
        }),
      ],
    });
    expect(res.status).toBe(200);
    const read = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);
    const before = await read('before');
    expect(String(before.anonymous_id)).toHaveLength(128);
    expect((await read('identify')).anonymous_id).toBe(before.anonymous_id);
    expect((await read('alias')).anonymous_id).toBe(before.anonymous_id);
  });

  test('a "__proto__" property is kept as a property, and cut by its own size', async () => {
    // Assigned instead of defined, it became the prototype of the stored properties: the
    // property vanished, and the fitting read a `$posthog` bag through it that was not there.
    const bag = `{"$posthog":{"a":"${'x'.repeat(8000)}"}}`;
    const big = 'z'.repeat(4500);
    const body =
      `{"api_key":"wk_acme","batch":[` +
      `{"event":"p","distinct_id":"d1","uuid":"proto-1","properties":{"__proto__":{"x":1}}},` +
      `{"event":"p","distinct_id":"d1","uuid":"proto-2",` +
      `"properties":{"__proto__":${bag},"big1":"${big}","big2":"${big}"}}]}`;
    const res = await t.post('/batch/', body, { 'content-type': 'application/json' });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    const read = (id: string) =>
      t.getJson<{ properties: Json }>(`/api/v1/events/${id}?tenant_id=acme`);
    const small = (await read('proto-1')).properties;
    expect(Object.keys(small)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(small, '__proto__')?.value).toEqual({ x: 1 });
    const cut = (await read('proto-2')).properties;
    expect(cut.$tally_cut).toEqual(['__proto__', 'big1']);
    expect(Object.keys(cut)).toEqual(['big2', '$tally_cut']);
  });

  test('a batch as posthog-python fills it, past 5 MiB by its last event, is taken', async () => {
    // posthog-python (consumer.py) adds events to a batch until their JSON reaches 5 MiB, the
    // event that crossed it (up to 900 KiB) included, and drops a batch answered 413 (it
    // resends none but a 408, a 429 or a 5xx). PostHog's capture takes up to 20 MiB.
    const large = (i: number) =>
      event({
        uuid: `py-${i}`,
        event: '$ai_generation',
        properties: { $ai_input: 'z'.repeat(900_000) },
      });
    const body = JSON.stringify({
      api_key: 'wk_acme',
      batch: Array.from({ length: 6 }, (_, i) => large(i)),
    });
    expect(body.length).toBeGreaterThan(5 * 1024 * 1024);
    const res = await t.post('/batch/', body);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    expect((await stats()).total_events).toBe(6);
    // Each is cut to the event limits, as any event is.
    const stored = await t.getJson<{ properties: Json }>('/api/v1/events/py-5?tenant_id=acme');
    expect(stored.properties.$tally_cut).toBeDefined();
  });

  test('bad input is 400, too many events or bytes 413, no key 401; nothing stored', async () => {
    const bad = [
      { api_key: 'wk_acme', batch: [event({ event: undefined })] },
      { api_key: 'wk_acme', batch: [event({ distinct_id: undefined })] },
      { api_key: 'wk_acme', batch: [event({ uuid: 'u'.repeat(129) })] },
      { api_key: 'wk_acme', batch: ['not an event'] },
    ];
    for (const body of bad) expect((await t.post('/batch/', body)).status).toBe(400);
    expect((await t.post('/batch/', '{"api_key":')).status).toBe(400);
    const many = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: Array.from({ length: 5001 }, () => event()),
    });
    expect(many.status).toBe(413);
    const huge = gzipSync(
      JSON.stringify({ api_key: 'wk_acme', batch: [event({ pad: 'x'.repeat(21 * 1024 * 1024) })] }),
    );
    const tooBig = await t.post('/batch/', huge, { 'content-encoding': 'gzip' });
    expect(tooBig.status).toBe(413);
    const noKey = await t.post('/batch/', { batch: [event()] });
    expect(noKey.status).toBe(401);
    expect(await noKey.json()).toMatchObject({ type: 'authentication_error' });
    expect((await stats()).total_events).toBe(0);
  });

  test('events that break a rule are left out and named; the rest of the batch is stored', async () => {
    const res = await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({ uuid: 'ok-1' }),
        event({ uuid: 'bad-1', event: '$umami_identify' }),
        event({ uuid: 'ok-2' }),
        event({ uuid: 'bad-2', distinct_id: undefined }),
      ],
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: number; dropped: Json[] };
    expect(body.status).toBe(1);
    expect(body.dropped.map((d) => d.index)).toEqual([1, 3]);
    // Named by the SDK's field, `event`, not the unified event's `name`.
    expect(String(body.dropped[0]?.reason)).toContain('batch.1.event: event $umami_identify');
    expect(String(body.dropped[1]?.reason)).toContain('batch.3.distinct_id is required');
    expect((await stats()).total_events).toBe(2);
    const read = (id: string) => t.get(`/api/v1/events/${id}?tenant_id=acme`);
    expect((await read('ok-2')).status).toBe(200);
    expect((await read('bad-1')).status).toBe(404);
  });

  test("timestamps are read as PostHog's ingestion reads them", async () => {
    const iso = (ms: number) => new Date(ms).toISOString();
    const HOUR = 3_600_000;
    const timeOf = async (uuid: string) =>
      Date.parse(
        String(((await t.getJson(`/api/v1/events/${uuid}?tenant_id=acme`)) as Json).timestamp),
      );
    // A client clock 2 days fast: the skew sent_at shows is taken off every event.
    const fast = T0 + 48 * HOUR;
    const skewed = await t.post('/batch/', {
      api_key: 'wk_acme',
      sent_at: iso(fast),
      batch: [
        event({ uuid: 's-1', timestamp: iso(fast - 5_000) }),
        event({ uuid: 's-2', timestamp: iso(fast - 60_000) }),
      ],
    });
    expect(skewed.status).toBe(200);
    expect(await timeOf('s-1')).toBe(T0 - 5_000);
    expect(await timeOf('s-2')).toBe(T0 - 60_000);
    // The skew is taken off in steps of 5 minutes, as PostHog's capture takes it: a request
    // 40 s on its way (or resent) moves nothing; a clock 3 h 1 min slow is moved by 3 h.
    for (const [uuid, skew] of [
      ['d-1', -40_000],
      ['d-2', -(3 * HOUR + 60_000)],
    ] as const) {
      const sent = await t.post('/batch/', {
        api_key: 'wk_acme',
        sent_at: iso(T0 + skew),
        batch: [event({ uuid, timestamp: iso(T0 + skew - 1_000) })],
      });
      expect(sent.status).toBe(200);
    }
    expect(await timeOf('d-1')).toBe(T0 - 41_000);
    expect(await timeOf('d-2')).toBe(T0 - 61_000);
    // posthog-js sends the time of sending as the `_` query parameter (epoch ms).
    await t.post(`/e/?_=${T0 - HOUR}`, [
      event({ uuid: 'q-1', timestamp: iso(T0 - HOUR - 1_000), properties: { token: 'wk_acme' } }),
    ]);
    expect(await timeOf('q-1')).toBe(T0 - 1_000);
    // Older SDKs sent it in seconds: ignored, as PostHog's capture ignores one before 2021.
    await t.post(`/e/?_=${Math.floor((T0 - HOUR) / 1000)}`, [
      event({ uuid: 'q-2', timestamp: iso(T0 - HOUR - 1_000), properties: { token: 'wk_acme' } }),
    ]);
    expect(await timeOf('q-2')).toBe(T0 - HOUR - 1_000);
    // No sent_at: more than 23 h ahead or invalid is the receive time; no zone is UTC.
    await t.post('/batch/', {
      api_key: 'wk_acme',
      batch: [
        event({ uuid: 'f-1', timestamp: iso(T0 + 30 * HOUR) }),
        event({ uuid: 'f-2', timestamp: iso(T0 + 2 * HOUR) }),
        event({ uuid: 'f-3', timestamp: 'yesterday-ish' }),
        event({ uuid: 'f-4', timestamp: '2026-11-20T08:30:00' }),
        event({ uuid: 'f-5', timestamp: undefined, offset: 90_000 }),
        event({ uuid: 'f-6', timestamp: iso(T0 - HOUR), offset: 60_000 }), // offset wins
      ],
    });
    expect(await timeOf('f-1')).toBe(T0);
    expect(await timeOf('f-2')).toBe(T0 + 2 * HOUR);
    expect(await timeOf('f-3')).toBe(T0);
    expect(await timeOf('f-4')).toBe(Date.parse('2026-11-20T08:30:00Z'));
    expect(await timeOf('f-5')).toBe(T0 - 90_000);
    expect(await timeOf('f-6')).toBe(T0 - 60_000);
  });

  test("posthog-node's OpenTelemetry routes and flag definitions are not served: 404", async () => {
    // README "Limits": each a 404 the SDK reports; the capture routes above stay.
    for (const path of ['/flags/definitions', '/api/feature_flag/local_evaluation']) {
      expect((await t.get(`${path}?token=wk_acme&send_cohorts`)).status, path).toBe(404);
    }
    for (const path of ['/i/v1/logs', '/i/v1/metrics', '/i/v1/traces']) {
      expect((await t.post(path, { resourceLogs: [] })).status, path).toBe(404);
    }
    expect((await stats()).total_events).toBe(0);
  });

  test('browsers get a CORS preflight answer', async () => {
    const res = await t.handle(new Request('http://localhost/e/', { method: 'OPTIONS' }));
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });
});
