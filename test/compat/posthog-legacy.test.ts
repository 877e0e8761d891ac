// PostHog's capture API as older and non-JavaScript clients use it: the /track/ path its
// capture routes as /e/, the lz64 (lz-string) bodies of older posthog-js, the session
// recordings of /s/ (answered but not kept), and the 64-bit integer distinct_ids of server SDKs.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { createLogger } from '../../src/core/index.ts';
import { lz64Decode } from '../../src/http/compat/lz-string.ts';
import { CAPTURE_BODY_MIB_MAX } from '../../src/http/compat/posthog.ts';
import { type CompatApp, makeCompatApp, T0 } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';
import { lz64Run } from './helpers/lz64.ts';

/** posthog-js's own test snapshot (src/__tests__/__snapshots__/compression.js.snap): lz64 of… */
const POSTHOG_JS_LZ64 =
  'N4IgNghgTg5gpgfQNZwJ4gFwggIwMa4H6EnFlEWmXlW033WN1MPNusctfvec/99BvYQJFDRE8VLEzJs6XMULl81UrUr1Wz' +
  'To17t+3QeNHTh8yYtnLN63asPbj+09cv3zz8xABfIA';
/** …this text (posthog-js's compression test). */
const POSTHOG_JS_TEXT = JSON.stringify({ large_key: new Array(500).join('abc') });

/** lz-string 1.5.0's compressToBase64 of LZ64_BATCH (made outside the tests). */
const LZ64_BODY =
  'NobwRApgbhB2AuYBcYAkAHAhgc2gSwgHcwAaMAEzwGd49YBjeAfT3OQoEZSwBXH19gBsAXgFouZWgFsINTFPTsATAAYlAN' +
  'nEdRSgKwAVDhyQqVJlQDpTKgFrd0AJwD26CA9qzk4eE4DWcdkJfJkx6GW5Ueh4HBzhmaMF2AAt4eHQqJAB6TIgADwt6Jyl' +
  'M+kwAMwBL7lp4QQh2AHEHAB+AfYgAAkBeDcBpHbAAX36AXSA';
const LZ64_BATCH = [
  {
    event: '$pageview',
    distinct_id: 'd1',
    uuid: 'lz-1',
    timestamp: '2026-11-25T11:00:00.000Z',
    properties: { token: 'wk_acme', $current_url: 'https://ex.com/café', title: 'Grüße 👋' },
  },
];
/** lz-string 1.5.0's compressToBase64 of 'x' × 820 (a run of 40 tokens). */
const LZ64_RUN_40 = 'B418ZXTt/DFOS1b0c17Pd/wYUcSaWeRZVUA=';

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

type Json = Record<string, unknown>;

describe('PostHog capture: legacy paths and encodings', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy: keyTenancy({}) });
  });
  afterEach(() => t.close());

  const at = new Date(T0).toISOString();
  const event = (extra: Json = {}) => ({
    event: 'signed_up',
    distinct_id: 'd1',
    timestamp: at,
    properties: { plan: 'pro' },
    ...extra,
  });
  const stored = (id: string) => t.getJson(`/api/v1/events/${id}?tenant_id=acme`);

  test('/track/ (and /track) is a capture path, as /e/ is on PostHog', async () => {
    const one = await t.post('/track/', { api_key: 'wk_acme', ...event({ uuid: 't-1' }) });
    expect(one.status).toBe(200);
    expect(await one.json()).toEqual({ status: 1 });
    const batch = [event({ uuid: 't-2', properties: { token: 'wk_acme' } })];
    expect((await t.post('/track', batch)).status).toBe(200);
    expect(await stored('t-1')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
    expect(await stored('t-2')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
    const preflight = await t.handle(new Request('http://localhost/track/', { method: 'OPTIONS' }));
    expect(preflight.status).toBe(204);
  });

  test('lz64 bodies (lz-string, older posthog-js) are read, in a form or the query', async () => {
    expect(lz64Decode(Buffer.from(POSTHOG_JS_LZ64), 1e6)).toBe(POSTHOG_JS_TEXT);
    expect(lz64Decode(Buffer.from(LZ64_BODY), 1e6)).toBe(JSON.stringify(LZ64_BATCH));
    // Older posthog-js: a form naming its compression beside `data` (escaped, as it sends it).
    const form = `data=${encodeURIComponent(LZ64_BODY)}&compression=lz64`;
    const viaForm = await t.post('/e/?ver=1.10.0', form, FORM);
    expect(viaForm.status).toBe(200);
    expect(await stored('lz-1')).toMatchObject({
      url: 'https://ex.com/café',
      user_id: 'd1',
      properties: { title: 'Grüße 👋' },
    });
    // Its `+`s sent unescaped read as spaces: restored, as PostHog's capture restores them.
    expect(LZ64_BODY).toContain('+');
    expect((await t.post('/e/', `compression=lz-string&data=${LZ64_BODY}`, FORM)).status).toBe(200);
    const viaQuery = await t.post('/e/?compression=LZ64', LZ64_BODY, {
      'content-type': 'text/plain',
    });
    expect(viaQuery.status).toBe(200);
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 1 });
  });

  test("a GET's body is its query's data (base64, JSON or lz64), as on PostHog", async () => {
    // Older posthog-js, where a browser had no XMLHttpRequest, and an <img> pixel: the mixpanel
    // shape `?data=<base64>&ip=1&_=<ms>`. Its `_` (a client clock an hour slow) sets the skew.
    const HOUR = 3_600_000;
    const sent = (uuid: string, pad: string) =>
      Buffer.from(
        JSON.stringify({
          ...event({ uuid, timestamp: new Date(T0 - HOUR - 1_000).toISOString() }),
          properties: { token: 'wk_acme', $current_url: 'https://ex.com/get', pad },
        }),
      ).toString('base64');
    // A `+` of base64 sent unescaped (it reads as a space) is restored, as in a form.
    const plus = ['~~~', 'x~~~', 'xx~~~']
      .map((pad) => sent('g-1', pad))
      .find((b) => b.includes('+'));
    expect(plus).toBeDefined();
    const res = await t.get(`/e/?data=${plus}&ip=1&_=${T0 - HOUR}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: 1 });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(await stored('g-1')).toMatchObject({
      name: 'signed_up',
      user_id: 'd1',
      path: '/get',
      timestamp: new Date(T0 - 1_000).toISOString(),
    });
    // The JSON itself, escaped; a batch; the lz64 of older posthog-js; and a HEAD, which stores
    // nothing (a link checker's look at a pixel).
    const batch = { api_key: 'wk_acme', batch: [event({ uuid: 'g-2' })] };
    const json = await t.get(`/batch/?data=${encodeURIComponent(JSON.stringify(batch))}`);
    expect(json.status).toBe(200);
    const lz64 = await t.get(`/e/?compression=lz64&data=${encodeURIComponent(LZ64_BODY)}`);
    expect(lz64.status).toBe(200);
    const head = new Request(`http://localhost/capture/?data=${sent('g-3', '')}`, {
      method: 'HEAD',
    });
    expect((await t.handle(head)).status).toBe(200);
    expect(await stored('g-2')).toMatchObject({ name: 'signed_up', user_id: 'd1' });
    expect(await stored('lz-1')).toMatchObject({ url: 'https://ex.com/café' });
    expect((await t.get('/api/v1/events/g-3?tenant_id=acme')).status).toBe(404);
    // No data (or an empty one) is a capture of no body: 400; no key, 401.
    expect((await t.get('/e/')).status).toBe(400);
    expect((await t.get('/e/?data=&_=1')).status).toBe(400);
    const keyless = encodeURIComponent(JSON.stringify(event({ uuid: 'g-4' })));
    expect((await t.get(`/e/?data=${keyless}`)).status).toBe(401);
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 3 });
  });

  test('an lz64 bomb is a 413 once the text passes the limit; a broken stream a 400', async () => {
    expect(lz64Run('x', 40)).toBe(LZ64_RUN_40); // the bomb is lz-string's own text for its run
    expect(lz64Decode(Buffer.from(LZ64_RUN_40), 820)).toBe('x'.repeat(820));
    expect(() => lz64Decode(Buffer.from(LZ64_RUN_40), 819)).toThrow('larger than 819 bytes');
    // 50,000 tokens, 122 KB: 1.25 billion characters (2.5 GB as UTF-16) if decoded whole.
    const bomb = lz64Run('A', 50_000);
    const headers = { 'content-type': 'text/plain' };
    for (const res of [
      await t.post('/e/?compression=lz64', bomb, headers),
      await t.post('/batch/', `data=${encodeURIComponent(bomb)}&compression=lz64`, FORM),
    ]) {
      expect(res.status).toBe(413);
      expect(((await res.json()) as Json).detail).toBe(
        `the decompressed body is larger than ${CAPTURE_BODY_MIB_MAX * 1024 * 1024} bytes`,
      );
    }
    // lz-string 1.5.0's text of `[{"event":"e","distinct_id":"d\uD800"}]`: no Unicode (400).
    const loneSurrogate = 'NobwRApgbhB2AuYBckwBowBMCWBne2sAxvAPrabJaAAG2AL4C6QA';
    for (const broken of [LZ64_BODY.slice(0, 60), 'not*lz64', '', loneSurrogate]) {
      const res = await t.post('/e/?compression=lz64', broken, headers);
      expect(res.status).toBe(400);
    }
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 0 });
  });

  test('/s/ (session recordings) is answered as on PostHog; nothing is stored', async () => {
    // posthog-js's recorder: `$snapshot` events, gzip-js, posted to /s/ (PostHog's replay store).
    const snapshot = (token?: string) => [
      {
        event: '$snapshot',
        properties: {
          ...(token === undefined ? {} : { token }),
          distinct_id: 'd1',
          $session_id: 's1',
          $window_id: 'w1',
          $snapshot_data: [{ type: 3, data: { source: 2 }, timestamp: T0 }],
        },
      },
    ];
    const gz = gzipSync(JSON.stringify(snapshot('wk_acme')));
    const res = await t.post('/s/?compression=gzip-js&ver=1.200.0', gz, {
      'content-type': 'text/plain',
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const answer = (await res.json()) as { status: number; dropped: Json[] };
    expect(answer).toMatchObject({ status: 1, dropped: [{ index: 0 }] });
    expect(answer.dropped[0]?.reason).toContain('session recordings are not stored');
    // The key is checked as a capture's is; a body that is no capture body is a 400.
    expect((await t.post('/s/', snapshot())).status).toBe(401);
    expect((await t.post('/s/', snapshot('pk_other'))).status).toBe(401);
    for (const bad of ['[{"event":', '5', '{}', '[{"properties":{}}]']) {
      expect((await t.post('/s/', bad)).status).toBe(400);
    }
    const preflight = await t.handle(new Request('http://localhost/s/', { method: 'OPTIONS' }));
    expect(preflight.status).toBe(204);
    expect(await t.getJson('/api/v1/stats?tenant_id=acme')).toMatchObject({ total_events: 0 });
  });

  test('/s/ says in the log that recordings were left out, once a minute per tenant', async () => {
    // posthog-js posts a page's recording every few seconds: a warn line each was a flood.
    const lines: Json[] = [];
    await t.close();
    t = await makeCompatApp({
      tenancy: keyTenancy({}),
      log: createLogger('warn', (line) => lines.push(JSON.parse(line) as Json)),
    });
    const snapshots = (n: number) =>
      Array.from({ length: n }, () => ({
        event: '$snapshot',
        properties: { token: 'wk_acme', distinct_id: 'd1', $snapshot_data: [] },
      }));
    const warned = () => lines.filter((l) => l.msg === 'session recordings left out');
    expect((await t.post('/s/', snapshots(2))).status).toBe(200);
    expect(warned()).toMatchObject([{ level: 'warn', tenant: 'acme', requests: 1, items: 2 }]);
    t.clock.advance(30_000);
    for (let i = 0; i < 3; i++) expect((await t.post('/s/', snapshots(1))).status).toBe(200);
    expect(warned()).toHaveLength(1);
    t.clock.advance(30_000);
    expect((await t.post('/s/', snapshots(5))).status).toBe(200);
    // The second line stands for the three counted since the first, and itself.
    expect(warned()).toHaveLength(2);
    expect(warned()[1]).toMatchObject({ tenant: 'acme', requests: 4, items: 8 });
  });

  test('a distinct_id of any other JSON type is its JSON text, as PostHog makes it', async () => {
    // PostHog's capture stores such an event under the id's text (serde_json's, keys sorted);
    // read as no id, each was left out ("distinct_id is required").
    const withId = (uuid: string, distinct_id: unknown, properties: Json = {}) =>
      event({ uuid, distinct_id, properties: { token: 'wk_acme', ...properties } });
    const res = await t.post('/e/', [
      withId('j-1', true),
      withId('j-2', ['a', 'b']),
      withId('j-3', { string: 'a', number: 3, nested: { z: 1, y: [{ b: 2, a: 1 }] } }),
      withId('j-4', null, { distinct_id: false }),
      withId('j-5', 23.4),
    ]);
    expect(await res.json()).toEqual({ status: 1 });
    expect(await stored('j-1')).toMatchObject({ user_id: 'true' });
    expect(await stored('j-2')).toMatchObject({ user_id: '["a","b"]' });
    expect(await stored('j-3')).toMatchObject({
      user_id: '{"nested":{"y":[{"a":1,"b":2}],"z":1},"number":3,"string":"a"}',
    });
    expect(await stored('j-4')).toMatchObject({ user_id: 'false' });
    expect(await stored('j-5')).toMatchObject({ user_id: '23.4' });
  });

  test('an integer distinct_id past 2^53 keeps its digits, as PostHog reads it', async () => {
    // A server SDK (posthog-python, -go, -java …) sends a database id as it is. PostHog's
    // capture keeps 64-bit integers exact (serde_json) and makes the id their text; JSON.parse
    // rounds both ids below to 12345678901234567000: one person, where PostHog has two.
    const raw = (uuid: string, id: string, where: 'top' | 'properties' = 'top') =>
      `{"event":"signed_up","uuid":"${uuid}","timestamp":"${at}",` +
      (where === 'top' ? `"distinct_id":${id},"properties":{` : '"properties":{') +
      `"token":"wk_acme","order_id":12345678901234567890` +
      (where === 'properties' ? `,"distinct_id":${id}}}` : '}}');
    const batch = [
      raw('b-1', '12345678901234567890'),
      raw('b-2', '12345678901234567891'),
      raw('b-3', '-9223372036854775808', 'properties'),
      raw('b-4', '42'),
    ];
    const body = `[${batch.join(',')}]`;
    expect((await t.post('/e/', body, { 'content-type': 'text/plain' })).status).toBe(200);
    expect(await stored('b-1')).toMatchObject({ user_id: '12345678901234567890' });
    expect(await stored('b-2')).toMatchObject({ user_id: '12345678901234567891' });
    expect(await stored('b-3')).toMatchObject({ user_id: '-9223372036854775808' });
    expect(await stored('b-4')).toMatchObject({ user_id: '42' });
    // A property is read as PostHog's ingestion reads it (JSON.parse): rounded past 2^53.
    expect(((await stored('b-1')).properties as Json).order_id).toBe(12345678901234567000);
    // /engage/'s $distinct_id too.
    const engage = `{"$set":{"plan":"pro"},"$token":"wk_acme","$distinct_id":12345678901234567893}`;
    expect((await t.post('/engage/', engage)).status).toBe(200);
    const events = await t.getJson('/api/v1/events?tenant_id=acme&user_id=12345678901234567893');
    expect(events.events).toMatchObject([
      { name: '$identify', properties: { $set: { plan: 'pro' } } },
    ]);
    const users = await t.getJson('/api/v1/stats?tenant_id=acme');
    expect(users).toMatchObject({ total_events: 5, unique_users: 5 });
  });
});
