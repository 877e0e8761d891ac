// Segment's Tracking Pixel API (GET /v1/pixel/<call>?data=…): the call as its docs write it
// (base64 JSON with the write key inside, URL-safe, no padding), as JSON, or as the query's own
// fields; stored as the POST of the same call, and always answered with a 1×1 GIF.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { keyTenancy } from './helpers/key-tenancy.ts';

type Json = Record<string, unknown>;

/** The call of Segment's example, in project acme. */
const EMAIL_OPENED = {
  writeKey: 'wk_acme',
  userId: 'user_123',
  event: 'Email Opened',
  properties: { subject: 'The Electric Daily', email: 'jane.kim@example.com' },
};

describe('Segment Tracking Pixel API', () => {
  let t: CompatApp;
  beforeEach(async () => {
    t = await makeCompatApp({ tenancy: keyTenancy({}) });
  });
  afterEach(() => t.close());

  /** GETs a pixel and checks that it is a GIF, whatever became of the call. */
  const pixel = async (path: string) => {
    const res = await t.get(path);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(res.headers.get('cache-control')).toContain('no-store');
    const bytes = Buffer.from(await res.arrayBuffer());
    expect(bytes.subarray(0, 6).toString('latin1')).toBe('GIF89a');
  };
  const stored = async (id: string) => {
    const res = await t.get(`/api/v1/events/${id}?tenant_id=acme`);
    return res.status === 200 ? ((await res.json()) as Json) : res.status;
  };
  const total = async () => (await t.getJson('/api/v1/stats?tenant_id=acme')).total_events;

  test("the docs' email-open call, base64 in `data`, is stored as the POST stores it", async () => {
    const call = { ...EMAIL_OPENED, messageId: 'open-1' };
    const data = Buffer.from(JSON.stringify(call)).toString('base64url');
    expect(data.endsWith('=')).toBe(false);
    await pixel(`/v1/pixel/track?data=${data}`);
    // Opened again (an email client loads the image each time): one messageId is one event.
    await pixel(`/v1/pixel/track?data=${data}`);
    expect(await stored('open-1')).toMatchObject({
      name: 'Email Opened',
      user_id: 'user_123',
      properties: EMAIL_OPENED.properties,
    });
    expect(await total()).toBe(1);
  });

  // Elysia answers HEAD with the GET route: a link checker's HEAD stored an open.
  test('a HEAD gets the GIF headers and stores nothing', async () => {
    const data = Buffer.from(JSON.stringify({ ...EMAIL_OPENED, messageId: 'h-1' })).toString(
      'base64url',
    );
    const res = await t.handle(
      new Request(`http://localhost/v1/pixel/track?data=${data}`, { method: 'HEAD' }),
    );
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/gif');
    expect(await stored('h-1')).toBe(404);
    await pixel(`/v1/pixel/track?data=${data}`);
    expect(await stored('h-1')).toMatchObject({ name: 'Email Opened' });
  });

  test('standard base64 (a `+` unescaped reads as a space), plain JSON, and query fields', async () => {
    // A subject whose base64 holds a `+`, sent unescaped as an img src may hold it.
    let subject = 'Weekly digest';
    let data = '';
    for (let i = 0; !data.includes('+'); i++) {
      subject = `Weekly digest ${'>'.repeat(i % 7)}${i}`;
      const call = { ...EMAIL_OPENED, messageId: 'b64', properties: { subject } };
      data = Buffer.from(JSON.stringify(call)).toString('base64');
    }
    await pixel(`/v1/pixel/track?data=${data}`);
    expect(await stored('b64')).toMatchObject({ properties: { subject } });
    const json = encodeURIComponent(JSON.stringify({ ...EMAIL_OPENED, messageId: 'json' }));
    await pixel(`/v1/pixel/track?data=${json}`);
    expect(await stored('json')).toMatchObject({ name: 'Email Opened' });
    await pixel(
      '/v1/pixel/page?anonymousId=anon-1&messageId=fields&name=Pricing&writeKey=wk_acme' +
        '&properties.url=https%3A%2F%2Fexample.com%2Fpricing&properties.plan=pro&__proto__.x=1',
    );
    expect(await stored('fields')).toMatchObject({
      name: 'page',
      anonymous_id: 'anon-1',
      path: '/pricing',
      properties: { url: 'https://example.com/pricing', plan: 'pro', name: 'Pricing' },
    });
  });

  test('a refused call is still answered with the GIF, and nothing is stored', async () => {
    const b64 = (call: Json) => Buffer.from(JSON.stringify(call)).toString('base64url');
    await pixel(`/v1/pixel/track?data=${b64({ ...EMAIL_OPENED, writeKey: 'nope' })}`);
    await pixel(`/v1/pixel/track?data=${b64({ ...EMAIL_OPENED, userId: undefined })}`);
    await pixel(`/v1/pixel/track?data=${b64({ ...EMAIL_OPENED, event: undefined })}`);
    await pixel('/v1/pixel/track?data=not-json');
    await pixel('/v1/pixel/identify');
    expect(await total()).toBe(0);
    // Each call type has its pixel.
    for (const type of ['identify', 'group', 'alias', 'screen']) {
      const call = { writeKey: 'wk_acme', userId: 'u1', messageId: type, previousId: 'a1' };
      await pixel(`/v1/pixel/${type}?data=${b64(call)}`);
      expect(await stored(type)).toMatchObject({ name: type });
    }
  });
});
