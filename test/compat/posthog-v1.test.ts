// PostHog's capture v1 (/i/v1/analytics/events): the unmodified posthog-node client in its v1
// mode (POSTHOG_CAPTURE_MODE=v1) against a real socket (stored once, as the classic route
// stores the same event; a retried batch deduplicated; a bad key dropped without a retry; a
// malformed event named in the results), then the protocol's edge cases over raw HTTP.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from 'bun:test';
import { deflateRawSync, deflateSync, gzipSync, zstdCompressSync } from 'node:zlib';
import { PostHog } from 'posthog-node';
import { AppError, requestLimits } from '../../src/core/index.ts';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';
import { type FaultProxy, startFaultProxy } from './helpers/fault-proxy.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;
const V1 = '/i/v1/analytics/events';
const REFUSED = '0193b5c4-7a1e-7c3a-9d2e-00000000000a';
const KEPT = '0193b5c4-7a1e-7c3a-9d2e-00000000000b';
const BAD = '0193b5c4-7a1e-7c3a-9d2e-00000000000c';

/** A posthog-node client in v1 mode: the mode is read from the env in the constructor. */
function v1Client(key: string, host: string, options: Json = {}): PostHog {
  const before = process.env.POSTHOG_CAPTURE_MODE;
  process.env.POSTHOG_CAPTURE_MODE = 'v1';
  try {
    return new PostHog(key, {
      host,
      flushAt: 10,
      flushInterval: 0,
      fetchRetryDelay: 20,
      ...options,
    });
  } finally {
    if (before === undefined) delete process.env.POSTHOG_CAPTURE_MODE;
    else process.env.POSTHOG_CAPTURE_MODE = before;
  }
}

describe('posthog-node in capture v1 mode against Tally', () => {
  let server: CompatServer;
  let proxy: FaultProxy;
  beforeAll(async () => {
    server = await startCompatServer({ tenancy: keyTenancy({}) });
    proxy = startFaultProxy(server.url);
  });
  afterAll(async () => {
    proxy.close();
    await server.close();
  });
  afterEach(() => {
    proxy.log.length = 0;
  });
  const stats = (query: string) => server.getJson(`/api/v1/stats?tenant_id=acme&${query}`);
  const stored = (uuid: string) => server.getJson(`/api/v1/events/${uuid}?tenant_id=acme`);
  const errorsOf = (posthog: PostHog) => {
    const errors: Json[] = [];
    posthog.on('error', (error) => errors.push(error as Json));
    return errors;
  };

  test('events go gzipped to v1 and are stored once, as /batch/ stores them', async () => {
    const posthog = v1Client('wk_acme', proxy.url);
    const errors = errorsOf(posthog);
    for (let i = 0; i < 12; i++) {
      posthog.capture({
        distinctId: `user-${i % 3}`,
        event: '$pageview',
        properties: { $current_url: `https://shop.example/p/${i % 2}`, source: 'v1-1' },
      });
    }
    await posthog.shutdown();
    expect(errors).toEqual([]);
    expect(proxy.log.map((l) => [l.path, l.status, l.encoding])).toEqual([[V1, 200, 'gzip']]);
    expect(await stats('property.source=v1-1')).toMatchObject({
      total_events: 12,
      page_views: 12,
      unique_users: 3,
    });
    // The same event through the classic client and the v1 one: stored alike.
    const classic = new PostHog('wk_acme', { host: proxy.url, flushAt: 1, flushInterval: 0 });
    const v1 = v1Client('wk_acme', proxy.url);
    const timestamp = new Date(Date.now() - 60_000);
    const properties = { $session_id: 'sess-1', $window_id: 'win-1', plan: 'pro' };
    const uuids: [string, string] = [
      '0193b5c4-7a1e-7c3a-9d2e-000000000001',
      '0193b5c4-7a1e-7c3a-9d2e-000000000002',
    ];
    for (const [posthog, uuid] of [
      [classic, uuids[0]],
      [v1, uuids[1]],
    ] as const) {
      posthog.capture({ distinctId: 'same', event: 'paid', uuid, timestamp, properties });
      await posthog.shutdown();
    }
    expect(proxy.log.slice(1).map((l) => l.path)).toEqual(['/batch/', V1]);
    // Alike but for the id and the times, each shifted by its own request's clock skew.
    const { event_id: _a, received_at: _ra, timestamp: ta, ...left } = await stored(uuids[0]);
    const { event_id: _b, received_at: _rb, timestamp: tb, ...right } = await stored(uuids[1]);
    expect(right).toEqual(left);
    expect(Math.abs(Date.parse(tb as string) - Date.parse(ta as string))).toBeLessThan(1000);
    expect(right).toMatchObject({ session_id: 'sess-1', user_id: 'same', name: 'paid' });
    expect((right.properties as Json).$posthog).toMatchObject({
      $lib: 'posthog-node',
      $window_id: 'win-1',
    });
  });

  test('a batch whose answer was lost (5xx) is sent again and stored once', async () => {
    const posthog = v1Client('wk_acme', proxy.url);
    const errors = errorsOf(posthog);
    proxy.failNext(V1);
    for (let i = 0; i < 5; i++) {
      posthog.capture({ distinctId: 'retry', event: 'retried', properties: { source: 'v1-2' } });
    }
    await posthog.shutdown();
    expect(errors).toEqual([]);
    expect(proxy.log.map((l) => l.status)).toEqual([502, 200]);
    expect((await stats('property.source=v1-2')).total_events).toBe(5);
  });

  test('a bad key is a 401 the client does not resend: the batch is reported lost', async () => {
    const posthog = v1Client('phc_not_a_write_key', proxy.url);
    const errors = errorsOf(posthog);
    posthog.capture({ distinctId: 'x', event: 'refused', uuid: REFUSED });
    await posthog.shutdown();
    expect(proxy.log.map((l) => [l.path, l.status])).toEqual([[V1, 401]]);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.name).toBe('CaptureV1Error');
    expect(errors[0]?.retryExhausted).toEqual([REFUSED]);
    expect(String(errors[0]?.message)).toContain('HTTP 401: {"error":"unauthorized"');
  });

  test('a malformed event is dropped by its uuid; the rest of the batch is stored', async () => {
    // posthog-node sends what it is given; properties that are no object reach Tally through
    // the client's fetch, as a hand-built or older client would send them.
    const posthog = v1Client('wk_acme', proxy.url, {
      disableCompression: true,
      fetch: (url: string, options: RequestInit & { body: string }) => {
        const body = JSON.parse(options.body);
        body.batch[1].properties = 'not an object';
        return fetch(url, { ...options, body: JSON.stringify(body) });
      },
    });
    const errors = errorsOf(posthog);
    posthog.capture({ distinctId: 'm', event: 'kept', uuid: KEPT, properties: {} });
    posthog.capture({ distinctId: 'm', event: 'bad', uuid: BAD, properties: {} });
    await posthog.shutdown();
    expect(errors).toHaveLength(1);
    expect(errors[0]?.drops).toEqual([
      { uuid: BAD, details: 'batch.1.properties must be an object' },
    ]);
    expect(errors[0]?.retryExhausted).toEqual([]);
    expect(await stored(KEPT)).toMatchObject({ name: 'kept' });
    const missing = await fetch(`${server.url}/api/v1/events/${BAD}?tenant_id=acme`);
    expect(missing.status).toBe(404);
  });
});

describe('PostHog capture v1 over HTTP', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy: keyTenancy({}) });
  });
  afterEach(() => t.close());

  const at = new Date(T0 - 60_000).toISOString();
  const event = (uuid: string, extra: Json = {}) => ({
    event: 'signed_up',
    uuid,
    distinct_id: 'd1',
    timestamp: at,
    options: {},
    properties: { plan: 'pro' },
    ...extra,
  });
  /** The headers posthog-python's v1 sender puts on every request. */
  const headers = (extra: Record<string, string> = {}) => ({
    authorization: 'Bearer wk_acme',
    'user-agent': 'posthog-python/7.0.0',
    'posthog-sdk-info': 'posthog-python/7.0.0',
    'posthog-attempt': '1',
    'posthog-request-id': '0193b5c4-7a1e-7c3a-9d2e-0000000000ff',
    'posthog-request-timestamp': new Date(T0).toISOString(),
    ...extra,
  });
  const send = (body: unknown, extra: Record<string, string> = {}) =>
    t.post(V1, body, headers(extra));
  const stored = (uuid: string) => t.getJson(`/api/v1/events/${uuid}?tenant_id=acme`);

  test('each compression is undone: gzip, deflate (zlib and raw), zstd', async () => {
    const body = (uuid: string) => Buffer.from(JSON.stringify({ batch: [event(uuid)] }));
    for (const [encoding, pack, uuid] of [
      ['gzip', gzipSync, 'c-gzip'],
      ['deflate', deflateSync, 'c-zlib'],
      ['deflate', deflateRawSync, 'c-raw'],
      ['zstd', zstdCompressSync, 'c-zstd'],
    ] as const) {
      const res = await send(pack(body(uuid)), { 'content-encoding': encoding });
      expect(res.status, encoding).toBe(200);
      expect(await res.json()).toEqual({ results: { [uuid]: { result: 'ok' } } });
    }
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 4 });
    const lz4 = await send(body('c-lz4'), { 'content-encoding': 'lz4' });
    expect(lz4.status).toBe(415);
    expect(await lz4.json()).toMatchObject({
      error: 'unsupported_media_type',
      error_description: expect.stringContaining('lz4'),
    });
    const broken = await send(Buffer.from('not zstd'), { 'content-encoding': 'zstd' });
    expect(broken.status).toBe(400);
  });

  test('top-level fields, options and PostHog-Sdk-Info become the classic properties', async () => {
    const res = await send({
      created_at: at,
      batch: [
        event('f-1', {
          session_id: 'sess-9',
          window_id: 'win-9',
          options: { process_person_profile: false, product_tour_id: 'tour-1' },
        }),
      ],
    });
    expect(res.status).toBe(200);
    const e = await stored('f-1');
    expect(e).toMatchObject({ session_id: 'sess-9', name: 'signed_up' });
    expect((e.properties as Json).$posthog).toMatchObject({
      $lib: 'posthog-python',
      $lib_version: '7.0.0',
      $window_id: 'win-9',
      $process_person_profile: false,
      $product_tour_id: 'tour-1',
    });
  });

  test('options are read as PostHog reads them; one it cannot read drops the event', async () => {
    const res = await send({
      batch: [
        event('o-1', {
          options: { process_person_profile: 'False', cookieless_mode: 0, product_tour_id: 7 },
        }),
        event('o-2', { options: { process_person_profile: 'maybe' } }),
        event('o-3', { options: 'none' }),
        event('o-4', { options: null }),
      ],
    });
    expect(await res.json()).toEqual({
      results: {
        'o-1': { result: 'ok' },
        'o-2': { result: 'drop', details: 'batch.1.options.process_person_profile is invalid' },
        'o-3': { result: 'drop', details: 'batch.2.options is invalid' },
        'o-4': { result: 'ok' },
      },
    });
    const e = await stored('o-1');
    // process_person_profile false: an anonymous event, as PostHog processes no person for it.
    expect(e).toMatchObject({ user_id: null, anonymous_id: 'd1' });
    expect((e.properties as Json).$posthog).toMatchObject({
      $process_person_profile: false,
      $cookieless_mode: false,
      $product_tour_id: '7',
    });
  });

  test("PostHog-Request-Timestamp corrects the client's clock, unless told not to", async () => {
    // The client's clock is an hour ahead: its times are moved back by the hour.
    const ahead = new Date(T0 + 3_600_000).toISOString();
    const late = new Date(T0 + 3_600_000 - 60_000).toISOString();
    const res = await send(
      {
        batch: [
          event('t-1', { timestamp: late }),
          event('t-2', { timestamp: at, options: { disable_skew_correction: true } }),
        ],
      },
      { 'posthog-request-timestamp': ahead },
    );
    expect(res.status).toBe(200);
    expect((await stored('t-1')).timestamp).toBe(at);
    expect((await stored('t-2')).timestamp).toBe(at);
  });

  test('a retried event is stored once; each event is answered by its uuid', async () => {
    const body = { batch: [event('r-1'), event('r-2', { distinct_id: '' })] };
    for (let attempt = 1; attempt <= 2; attempt++) {
      const res = await send(body, { 'posthog-attempt': String(attempt) });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({
        results: {
          'r-1': { result: 'ok' },
          'r-2': { result: 'drop', details: 'batch.1.distinct_id is required' },
        },
      });
    }
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 1 });
  });

  test('a batch no event of which can be stored is still a 200 naming each', async () => {
    const res = await send({ batch: [event('n-1', { event: '' })] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      results: { 'n-1': { result: 'drop', details: 'batch.0.event is required' } },
    });
    // Too large only once stored (its url, path, referrer and agent at their limits, each
    // character escaped to 6 bytes): dropped by its uuid too, as PostHog drops an event too big.
    const c = '\u0001';
    const heavy = event('n-2', {
      properties: {
        $current_url: `https://ex.com/${c.repeat(2030)}`,
        $pathname: `/${c.repeat(2040)}`,
        $referrer: `https://r/${c.repeat(2030)}`,
        $raw_user_agent: c.repeat(1024),
      },
    });
    const big = await send({ batch: [heavy] });
    expect(big.status).toBe(200);
    const results = ((await big.json()) as { results: Record<string, Json> }).results;
    expect(results['n-2']).toMatchObject({ result: 'drop' });
    expect(results['n-2']?.details).toContain('bytes stored; an event may be at most');
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(0);
  });

  test('what cannot be answered by uuid is a 400 for the batch', async () => {
    const cases: [unknown, string][] = [
      [{}, 'the body must have a batch array'],
      [{ batch: [] }, 'the batch holds no events'],
      [{ batch: [event('a'), 'x'] }, 'batch.1 must be an object'],
      [{ batch: [event('a'), { ...event('b'), uuid: undefined }] }, 'batch.1.uuid is required'],
      [{ batch: [event('a'), event('a')] }, 'batch.1.uuid a is twice'],
    ];
    for (const [body, description] of cases) {
      const res = await send(body);
      expect(res.status).toBe(400);
      expect(await res.json()).toEqual({
        error: 'bad_request',
        error_description: description,
        error_uri: 'https://posthog.com/docs/api',
      });
    }
    expect((await send('{"batch": [')).status).toBe(400);
    expect((await send(Buffer.alloc(0))).status).toBe(400);
  });

  test("a header PostHog's v1 requires, missing or unreadable, is a 400 for the batch", async () => {
    const answer = async (res: Response) => [res.status, (await res.json()).error_description];
    const without = (...names: string[]) => {
      const all: Record<string, string> = { 'content-type': 'application/json', ...headers() };
      for (const name of names) delete all[name];
      return all;
    };
    const body = Buffer.from(JSON.stringify({ batch: [event('h-1')] }));
    const post = (all: Record<string, string>) =>
      t.handle(new Request(`http://localhost${V1}`, { method: 'POST', headers: all, body }));
    expect(await answer(await post(without('posthog-sdk-info', 'user-agent')))).toEqual([
      400,
      'request is missing required headers: ["PostHog-Sdk-Info", "user-agent"]',
    ]);
    expect(await answer(await post(without('content-type')))).toEqual([
      400,
      'request is missing required headers: ["content-type"]',
    ]);
    const cases: [Record<string, string>, string][] = [
      [{ 'posthog-attempt': '0' }, 'PostHog-Attempt must be a positive integer: 0'],
      [{ 'posthog-request-id': 'req-1' }, 'PostHog-Request-Id is not a valid UUID: req-1'],
      [
        { 'posthog-request-timestamp': 'yesterday' },
        'PostHog-Request-Timestamp is not valid RFC 3339: yesterday',
      ],
      // chrono's parse_from_rfc3339 holds the fields to their ranges (Date.parse took these).
      ...['2024-02-30T10:00:00Z', '2024-01-01T24:00:00Z'].map(
        (sent): [Record<string, string>, string] => [
          { 'posthog-request-timestamp': sent },
          `PostHog-Request-Timestamp is not valid RFC 3339: ${sent}`,
        ],
      ),
    ];
    for (const [extra, description] of cases) {
      expect(await answer(await send({ batch: [event('h-1')] }, extra))).toEqual([
        400,
        `invalid header value: ${description}`,
      ]);
    }
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(0);
    // What the SDKs send is read: a simple UUID, an offset time, a later attempt.
    const ok = await send(
      { batch: [event('h-2')] },
      {
        'posthog-request-id': '0193b5c47a1e7c3a9d2e0000000000ff',
        'posthog-request-timestamp': '2026-11-25T13:00:00.123456+01:00',
        'posthog-attempt': '3',
      },
    );
    expect(ok.status).toBe(200);
    // A leap second is a time to chrono (Date.parse refused it).
    const leap = await send(
      { batch: [event('h-3')] },
      { 'posthog-request-timestamp': '2016-12-31T23:59:60Z' },
    );
    expect(leap.status).toBe(200);
  });

  test('the key is the Bearer token: none or an unknown one is a 401', async () => {
    const { authorization: _, ...keyless } = headers();
    const none = await t.post(V1, { batch: [event('k-1')] }, keyless);
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ error: 'unauthorized' });
    const unknown = await send({ batch: [event('k-2')] }, { authorization: 'Bearer phc_x' });
    expect(unknown.status).toBe(401);
    const lower = await send({ batch: [event('k-3')] }, { authorization: 'bearer  wk_acme' });
    expect(lower.status).toBe(200);
  });

  test('a 429 (write rate, backlog) is a 503 with Retry-After, which every v1 sender resends', async () => {
    // posthog-python and posthog-js take a v1 429 as final (their RETRYABLE_STATUSES are 408
    // and 5xx) and would drop the batch; a 503 with Retry-After is resent by all three SDKs.
    const busy = await makeCompatApp({
      tenancy: {
        ...keyTenancy({}),
        forIngest: () => {
          throw new AppError('rate_limited', 'the write rate is spent', { retryAfterMs: 7000 });
        },
      },
    });
    try {
      const res = await busy.post(V1, { batch: [event('b-1')] }, headers());
      expect(res.status).toBe(503);
      expect(res.headers.get('retry-after')).toBe('7');
      expect(await res.json()).toMatchObject({ error: 'rate_limited' });
    } finally {
      await busy.close();
    }
  });

  test('a body over 20 MiB, as sent or once decompressed, is a 413 and stores nothing', async () => {
    // README: "gzip, deflate or zstd by Content-Encoding, up to 20 MiB"; the JSON is padded with
    // whitespace, so only the limit refuses it. A bomb of a few KiB must not be undone whole.
    const padded = (uuid: string) =>
      Buffer.from(`${' '.repeat(20 * 1024 * 1024)}${JSON.stringify({ batch: [event(uuid)] })}`);
    const sent = await send(padded('z-raw'));
    expect(sent.status).toBe(413);
    for (const [encoding, pack] of [
      ['gzip', gzipSync],
      ['deflate', deflateSync],
      ['zstd', zstdCompressSync],
    ] as const) {
      const packed = pack(padded(`z-${encoding}`));
      expect(packed.length).toBeLessThan(1024 * 1024);
      const res = await send(packed, { 'content-encoding': encoding });
      expect(res.status, encoding).toBe(413);
    }
    expect((await t.getJson('/api/v1/stats?tenant_id=acme')).total_events).toBe(0);
  });

  test('historical_migration: true is stored as any other batch', async () => {
    // PostHog sends such a batch down its historical pipeline; Tally has one path.
    const res = await send({ historical_migration: true, batch: [event('hm-1')] });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ results: { 'hm-1': { result: 'ok' } } });
    expect(await stored('hm-1')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
  });

  test('a body that is not JSON is a 415; over the events limit a 413', async () => {
    const xml = await send('<batch/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    const many = Array.from({ length: requestLimits.batchEventsMax + 1 }, (_, i) =>
      event(`m-${i}`),
    );
    const res = await send({ batch: many });
    expect(res.status).toBe(413);
  });
});
