// Segment fills in `context.ip` from the request "for client side events only" (Spec: Common
// Fields): the unmodified @segment/analytics-node client, whose requests come from the app's
// server, must not give its users the server's country (GEOIP_DB), address (STORE_IP) or
// agent; analytics.js, whose request is the browser's, and a raw HTTP call still do.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { Analytics, FetchHTTPClient, type HTTPClientRequest } from '@segment/analytics-node';
import { CountryDb } from '../../src/engine/index.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { type CompatServer, startCompatServer } from './helpers/compat-server.ts';

type Json = Record<string, unknown>;

/** The address the app's server sends from (GB in the test database) and a user's (SE). */
const SERVER_IP = '81.2.69.160';
const USER_IP = '89.160.20.112';
const BROWSER_AGENT = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15';

/** analytics-node's own fetch client, from SERVER_IP as a proxy in front of Tally names it. */
class FromServer extends FetchHTTPClient {
  override makeRequest(options: HTTPClientRequest) {
    return super.makeRequest({
      ...options,
      headers: { ...options.headers, 'x-forwarded-for': SERVER_IP },
    });
  }
}

describe('the request address and agent of a Segment call', () => {
  const geo = makeTempDir('tally-segment-geoip-');
  let server: CompatServer;
  beforeAll(async () => {
    const countries = CountryDb.open(writeTestCountryDb(geo.dir));
    server = await startCompatServer({ trustProxy: true, engine: { countries, storeIp: true } });
  });
  afterAll(async () => {
    await server.close();
    geo.remove();
  });
  const stored = (id: string) => server.getJson<Json>(`/api/v1/events/${id}`);

  test("analytics-node's calls take neither the server's address nor its agent", async () => {
    const analytics = new Analytics({
      writeKey: 'wk_test',
      host: server.url,
      flushInterval: 100,
      httpClient: new FromServer(),
    });
    const statuses: number[] = [];
    analytics.on('http_response', (r) => statuses.push(r.status));
    analytics.track({ userId: 'u-1', event: 'Order Completed', messageId: 'node-bare' });
    analytics.track({
      userId: 'u-1',
      event: 'Order Completed',
      messageId: 'node-relayed',
      context: { ip: USER_IP, userAgent: BROWSER_AGENT },
    });
    await analytics.closeAndFlush();
    expect(statuses).toEqual([200]);
    expect(await stored('node-bare')).toMatchObject({ ip: null, country: null, user_agent: null });
    expect(await stored('node-relayed')).toMatchObject({
      ip: USER_IP,
      country: 'SE',
      user_agent: BROWSER_AGENT,
    });
  });

  test("analytics.js's call and a raw HTTP call still take the request's", async () => {
    const send = (path: string, body: Json) =>
      fetch(`${server.url}${path}`, {
        method: 'POST',
        headers: {
          'content-type': 'text/plain',
          'x-forwarded-for': SERVER_IP,
          'user-agent': BROWSER_AGENT,
        },
        body: JSON.stringify({ writeKey: 'wk_test', anonymousId: 'a-1', ...body }),
      });
    const library = { name: 'analytics.js', version: 'npm:next-1.84.3' };
    expect(
      (await send('/v1/t', { event: 'Clicked', messageId: 'js', context: { library } })).status,
    ).toBe(200);
    expect((await send('/v1/track', { event: 'Clicked', messageId: 'raw' })).status).toBe(200);
    // A server-side library named in the batch's own context (analytics-go's batches).
    const batch = {
      context: { library: { name: 'analytics-go', version: '3.3.0' } },
      batch: [{ type: 'track', anonymousId: 'a-1', event: 'Clicked', messageId: 'go' }],
    };
    expect((await send('/v1/batch', batch)).status).toBe(200);
    for (const id of ['js', 'raw']) {
      expect(await stored(id)).toMatchObject({
        ip: SERVER_IP,
        country: 'GB',
        user_agent: BROWSER_AGENT,
      });
    }
    expect(await stored('go')).toMatchObject({ ip: null, country: null, user_agent: null });
  });

  test('every server-side library the README names takes neither', async () => {
    // README: `@segment/analytics-node`, `analytics-node`, `-python`, `-ruby`, `-go`, `-java`,
    // `-php`, `Analytics.NET` (each library's own `context.library.name`).
    const names = [
      '@segment/analytics-node',
      'analytics-node',
      'analytics-python',
      'analytics-ruby',
      'analytics-go',
      'analytics-java',
      'analytics-php',
      'Analytics.NET',
    ];
    const batch = names.map((name, i) => ({
      type: 'track',
      anonymousId: 'a-2',
      event: 'Clicked',
      messageId: `lib-${i}`,
      context: { library: { name, version: '1.0.0' } },
    }));
    const res = await fetch(`${server.url}/v1/batch`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${btoa('wk_test:')}`,
        'x-forwarded-for': SERVER_IP,
        'user-agent': BROWSER_AGENT,
      },
      body: JSON.stringify({ batch }),
    });
    expect(res.status).toBe(200);
    for (const [i, name] of names.entries()) {
      expect(await stored(`lib-${i}`), name).toMatchObject({
        ip: null,
        country: null,
        user_agent: null,
      });
    }
  });
});
