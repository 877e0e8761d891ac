// SDK events over the unified event's property limits (64 keys, 8 KB) are kept with values cut
// to fit and the marker `$tally_cut` naming what was cut, driven by the unmodified clients
// (posthog-node, analytics-node, @umami/node) and a Plausible body over a real socket; reads
// (by id, property filters, SQL) see them. The native API and the seed services, whose clients
// read errors, still answer 422.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Analytics } from '@segment/analytics-node';
import { Umami } from '@umami/node';
import { PostHog } from 'posthog-node';
import { createLogger, fitProperties, propertyFitLimits } from '../../src/core/index.ts';
import { PLAUSIBLE_FIT } from '../../src/http/compat/plausible.ts';
import { POSTHOG_FIT } from '../../src/http/compat/posthog.ts';
import { SEGMENT_FIT } from '../../src/http/compat/segment.ts';
import { UMAMI_FIT } from '../../src/http/compat/umami-events.ts';
import { makeCompatApp } from './helpers/compat-app.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';

type Json = Record<string, unknown>;
const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';

/**
 * A stack `depth` frames deep: a walk whose steps call on from 12 call sites (posthog-node folds
 * a recursion repeating up to 10 frames into one; calls in tail position leave no frame).
 */
function descend(depth: number): number {
  if (depth === 0) throw new Error('failed to render the checkout page');
  switch (depth % 12) {
    case 0:
      return descend(depth - 1) + 1;
    case 1:
      return descend(depth - 1) + 2;
    case 2:
      return descend(depth - 1) + 3;
    case 3:
      return descend(depth - 1) + 4;
    case 4:
      return descend(depth - 1) + 5;
    case 5:
      return descend(depth - 1) + 6;
    case 6:
      return descend(depth - 1) + 7;
    case 7:
      return descend(depth - 1) + 8;
    case 8:
      return descend(depth - 1) + 9;
    case 9:
      return descend(depth - 1) + 10;
    case 10:
      return descend(depth - 1) + 11;
    default:
      return descend(depth - 1) + 12;
  }
}

describe('SDK events over the property limits are stored, cut to fit', () => {
  let server: CompatServer;
  const logged: Json[] = [];
  const cutLines = () => logged.filter((line) => line.msg === 'event properties cut to fit');
  beforeAll(async () => {
    const log = createLogger('warn', (line) => logged.push(JSON.parse(line) as Json));
    server = await startCompatServer({ log });
  });
  afterAll(() => server.close());

  const event = (id: string, tenant = 'default') =>
    server.getJson<{ properties: Json } & Json>(`/api/v1/events/${id}?tenant_id=${tenant}`);
  const listed = async (tenant: string, query: string) =>
    (await server.getJson<{ events: Json[] }>(`/api/v1/events?tenant_id=${tenant}&${query}`))
      .events;

  test('posthog-node: captureException with a deep stack keeps the event, not its stack', async () => {
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 100;
    const posthog = new PostHog('phc_project_key', {
      host: server.url,
      flushAt: 1,
      flushInterval: 0,
    });
    const answers: unknown[] = [];
    posthog.on('error', (error) => answers.push(error));
    try {
      descend(60);
    } catch (error) {
      posthog.captureException(error, 'user-ex', { plan: 'pro', utm_source: 'newsletter' });
    } finally {
      Error.stackTraceLimit = limit;
    }
    await posthog.shutdown();
    expect(answers).toEqual([]);
    const [stored] = await listed('default', 'name=$exception');
    expect(stored).toBeDefined();
    const properties = stored?.properties as Json;
    // 50 frames with their source lines are far over 8 KB: the stack is cut, the rest kept.
    expect(properties.$tally_cut).toEqual(['$posthog.$exception_list']);
    expect(properties).toMatchObject({ plan: 'pro', utm_source: 'newsletter' });
    expect(properties.$posthog).toMatchObject({ $exception_level: 'error', $lib: 'posthog-node' });
    expect((properties.$posthog as Json).$exception_list).toBeUndefined();
    expect(stored).toMatchObject({ user_id: 'user-ex' });
    const byId = await event(String(stored?.event_id));
    expect(byId.properties).toEqual(properties);
    const filtered = await listed('default', 'property.$lib=posthog-node&property.plan=pro');
    expect(filtered.map((e) => e.event_id)).toEqual([stored?.event_id]);
    expect(cutLines()).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        api: 'posthog',
        events: 1,
        first: [
          {
            tenant: 'default',
            event_id: stored?.event_id,
            name: '$exception',
            cut: ['$posthog.$exception_list'],
          },
        ],
      }),
    );
  });

  test("analytics-node: an 'Order Completed' with 200 products keeps its order", async () => {
    const analytics = new Analytics({ writeKey: 'wk_test', host: server.url, flushAt: 1 });
    const statuses: number[] = [];
    let messageId = '';
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.on('http_request', (r) => {
      messageId =
        (JSON.parse(r.body) as { batch: { messageId: string }[] }).batch[0]?.messageId ?? '';
    });
    const products = Array.from({ length: 200 }, (_, i) => ({
      product_id: `p-${i}`,
      sku: `SKU-${1000 + i}`,
      name: `Product ${i}`,
      price: 9.99,
      quantity: 1,
    }));
    analytics.track({
      userId: 'buyer-1',
      event: 'Order Completed',
      properties: { order_id: 'o_1093', revenue: 1998, currency: 'EUR', products },
    });
    await analytics.closeAndFlush();
    expect(statuses).toEqual([200]);
    const stored = await event(messageId);
    expect(stored).toMatchObject({ name: 'Order Completed', user_id: 'buyer-1' });
    expect(stored.properties).toEqual({
      order_id: 'o_1093',
      revenue: 1998,
      currency: 'EUR',
      $tally_cut: ['products'],
    });
    const byOrder = await listed('default', 'property.order_id=o_1093');
    expect(byOrder.map((e) => e.event_id)).toEqual([messageId]);
    // The marker is a property like any other: a filter on its JSON text finds what was cut.
    const cut = await listed(
      'default',
      `property.$tally_cut=${encodeURIComponent('["products"]')}`,
    );
    expect(cut.map((e) => e.event_id)).toEqual([messageId]);
    const sql = await fetch(`${server.url}/api/v1/query?tenant_id=default`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        sql: `SELECT event_id, properties->'$."$tally_cut"' AS cut FROM events
          WHERE (properties->'$."$tally_cut"') IS NOT NULL AND name = ?`,
        params: ['Order Completed'],
      }),
    });
    expect(sql.status).toBe(200);
    expect(((await sql.json()) as { rows: unknown[] }).rows).toEqual([[messageId, ['products']]]);
    expect(cutLines()).toContainEqual(
      expect.objectContaining({
        api: 'segment',
        events: 1,
        first: [expect.objectContaining({ event_id: messageId, cut: ['products'] })],
      }),
    );
    // The log names the keys, never the values.
    expect(JSON.stringify(cutLines())).not.toContain('SKU-1000');
  });

  test('@umami/node: event data over 8 KB keeps the event and its page fields', async () => {
    const umami = new Umami({ websiteId: WEBSITE, hostUrl: server.url });
    const data = { plan: 'pro', answer: 'a'.repeat(6000), notes: 'n'.repeat(3000) };
    const res = await umami.track({
      url: '/survey',
      title: 'Survey',
      hostname: 'example.com',
      name: 'survey-sent',
      data,
    });
    expect(res.status).toBe(200);
    const [stored] = await listed(WEBSITE, 'name=survey-sent');
    expect(stored).toMatchObject({ path: '/survey' });
    expect(stored?.properties).toEqual({
      plan: 'pro',
      notes: 'n'.repeat(3000),
      $title: 'Survey',
      $hostname: 'example.com',
      $tally_cut: ['answer'],
    });
    expect(await listed(WEBSITE, 'property.plan=pro')).toHaveLength(1);
  });

  test('Plausible: props over 64 keys and 8 KB are cut, the page view kept', async () => {
    const props: Json = { plan: 'pro' };
    for (let i = 0; i < 80; i++) props[`answer_${String(i).padStart(2, '0')}`] = 'x'.repeat(90);
    props.essay = 'e'.repeat(5000);
    const res = await fetch(`${server.url}/api/event`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64)' },
      body: JSON.stringify({
        n: 'pageview',
        u: 'https://plausible.example/form',
        d: 'plausible.example',
        p: props,
        $: { amount: '10', currency: 'EUR' },
      }),
    });
    expect(res.status).toBe(202);
    const [stored] = await listed('plausible.example', 'name=pageview');
    const properties = stored?.properties as Json;
    expect(Object.keys(properties)).toHaveLength(64);
    expect(properties).toMatchObject({ plan: 'pro', $revenue: { amount: '10', currency: 'EUR' } });
    expect(properties.essay).toBeUndefined();
    // 84 keys with the marker: 20 go, the essay first, then answers in name order; 15 listed.
    const marker = properties.$tally_cut as string[];
    expect(marker.slice(0, 3)).toEqual(['essay', 'answer_00', 'answer_01']);
    expect(marker.at(-1)).toBe('+5 more');
    expect(properties.answer_19).toBe('x'.repeat(90));
    expect(properties.answer_18).toBeUndefined();
  });

  test('an event still refused is left out of its batch, named in dropped and logged at warn', async () => {
    // README "Limits": a number past the double range in a value that is kept (1e400), which
    // JSON.stringify cannot write, so the body is written by hand.
    const ok = '{"event":"kept","distinct_id":"u-drop","uuid":"drop-ok"}';
    const bad =
      '{"event":"huge","distinct_id":"u-drop","uuid":"drop-bad","properties":{"n":1e400}}';
    const post = (batch: string) =>
      fetch(`${server.url}/batch/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: `{"api_key":"phc_project_key","batch":[${batch}]}`,
      });
    const before = logged.length;
    const res = await post(`${ok},${bad}`);
    expect(res.status).toBe(200);
    const dropped = ((await res.json()) as { dropped: Json[] }).dropped;
    expect(dropped.map((d) => d.index)).toEqual([1]);
    const lines = logged.slice(before).filter((l) => l.msg === 'batch items left out');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', api: 'posthog', stored: 1 });
    expect((await event('drop-ok')).name).toBe('kept');
    // A batch of only such events is a 400, which the SDK drops with an error.
    expect((await post(bad)).status).toBe(400);
  });

  test('Segment, Umami and Plausible: such an event alone is their 400, nothing stored', async () => {
    const send = (path: string, body: string) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 Firefox/133.0' },
        body,
      });
    const sent = [
      [
        '/v1/track',
        '{"writeKey":"k","event":"e","userId":"u","messageId":"seg-1e400","properties":{"n":1e400}}',
      ],
      [
        '/api/send',
        `{"type":"event","payload":{"website":"${WEBSITE}","url":"/","name":"e","data":{"n":1e400}}}`,
      ],
      [
        '/api/event',
        '{"n":"pageview","u":"https://example.com/","d":"example.com","p":{"n":1e400}}',
      ],
    ] as const;
    for (const [path, body] of sent) {
      const res = await send(path, body);
      expect([path, res.status]).toEqual([path, 400]);
      expect(await res.text()).toContain('must be a finite number');
    }
    expect((await fetch(`${server.url}/api/v1/events/seg-1e400`)).status).toBe(404);
  });

  test('a batch of thousands of cut events is one log line, naming the first few', async () => {
    const before = cutLines().length;
    // 70 keys each: 7 go, the largest first (`"k10":1` before `"k9":1`), ties in name order.
    const properties = Object.fromEntries(Array.from({ length: 70 }, (_, i) => [`k${i}`, 1]));
    const batch = Array.from({ length: 3000 }, (_, i) => ({
      event: 'bulk',
      distinct_id: 'user-bulk',
      uuid: `bulk-${i}`,
      properties,
    }));
    const res = await fetch(`${server.url}/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'phc_project_key', batch }),
    });
    expect(res.status).toBe(200);
    const lines = cutLines().slice(before);
    expect(lines).toHaveLength(1);
    const [line] = lines as [Json];
    expect(line).toMatchObject({ api: 'posthog', events: 3000 });
    const first = line.first as Json[];
    expect(first).toHaveLength(propertyFitLimits.cutLoggedEventsMax);
    const cut = ['k10', 'k11', 'k12', 'k13', 'k14', 'k15', 'k16'];
    expect(first[0]).toEqual({ tenant: 'default', event_id: 'bulk-0', name: 'bulk', cut });
    expect(JSON.stringify(line).length).toBeLessThan(2 * 1024);
    // The next request has its own line.
    const again = await fetch(`${server.url}/batch/`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ api_key: 'phc_project_key', batch: batch.slice(0, 2) }),
    });
    expect(again.status).toBe(200);
    const counts = cutLines()
      .slice(before)
      .map((l) => l.events);
    expect(counts).toEqual([3000, 2]);
  });
});

// README "Limits": the keys each API's events keep as long as possible, beside the campaign
// keys (utm_*) and the `$posthog` bag every event keeps so.
describe("the keys each SDK's events keep longest", () => {
  test('as the README lists them, per API', () => {
    const kept = (fit: { keep: ReadonlySet<string> }) => [...fit.keep].sort();
    expect(kept(SEGMENT_FIT)).toEqual(['$interactive']);
    expect(kept(POSTHOG_FIT)).toEqual(['$groups', '$interactive', '$set', '$set_once', '$unset']);
    expect(kept(UMAMI_FIT)).toEqual(['$hostname', '$language', '$screen', '$tag', '$title']);
    expect(kept(PLAUSIBLE_FIT)).toEqual([
      '$engagement_time',
      '$interactive',
      '$revenue',
      '$scroll_depth',
    ]);
  });

  test('a kept key goes only after every other value, campaign keys among the kept', () => {
    const big = { note: 'n'.repeat(3000), utm_campaign: 'u'.repeat(3000) };
    const fitted = fitProperties(
      { ...big, $interactive: false, pad: 'p'.repeat(3000) },
      SEGMENT_FIT,
    );
    expect(fitted.cut).toEqual(['note']);
    expect(fitted.properties).toMatchObject({
      $interactive: false,
      utm_campaign: big.utm_campaign,
    });
  });
});

describe('the native API and the seed services still refuse properties over the limits', () => {
  const many = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, `v${i}`]));
  const big = { blob: 'x'.repeat(9 * 1024) };

  test('422, and nothing is stored', async () => {
    const t = await makeCompatApp();
    try {
      const refusals: [string, unknown, unknown[]][] = [
        ['/api/v1/events', { name: 'x', properties: many }, ['body', 'properties']],
        ['/api/v1/events', { name: 'x', properties: big }, ['body', 'properties']],
        [
          '/api/v1/events/batch',
          { events: [{ name: 'ok' }, { name: 'x', properties: big }] },
          ['body', 'events', 1, 'properties'],
        ],
        [
          '/ingest',
          { name: 'signup', user_id: 'abc_123', properties: many },
          ['body', 'properties'],
        ],
        [
          '/events',
          {
            event_id: 'e1',
            tenant_id: 'tenant_1',
            source: 'web',
            event_type: 'click',
            timestamp: '2026-11-25T10:30:00Z',
            payload: many,
          },
          ['body', 'payload'],
        ],
        // Seed 003's description is its one property, named as the client sent it.
        [
          '/api/events/',
          { page: '/p', description: 'd'.repeat(9 * 1024) },
          ['body', 'description'],
        ],
      ];
      for (const [path, body, loc] of refusals) {
        const res = await t.post(path, body);
        expect({ path, status: res.status }).toEqual({ path, status: 422 });
        const detail = ((await res.json()) as { detail: { loc: unknown[] }[] }).detail;
        expect(detail[0]?.loc).toEqual(loc);
      }
      for (const tenant of ['default', 'tenant_1']) {
        const stats = await t.getJson(`/api/v1/stats?tenant_id=${tenant}&bots=include`);
        expect(stats.total_events).toBe(0);
      }
    } finally {
      await t.close();
    }
  });
});
