// The SDK ingest routes (Segment, PostHog, Umami, Plausible) against the real AUTH_MODE=required
// resolver: the SDK's own key place (Basic user, body api_key / token / writeKey, capture v1's
// Bearer) takes only a live write key, and a keyless beacon only a registered alias; a read
// key, a member's access token, a revoked write key or a project id that is no alias write
// nothing.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import {
  type AuthApp,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

let t: AuthApp;
let ada: Tokens;
let write: { key: string; id: string };
let read: { key: string; id: string };

beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  await makeProject(t, ada.access_token, 'acme');
  write = await makeKey(t, ada.access_token, 'acme', 'write');
  read = await makeKey(t, ada.access_token, 'acme', 'read');
});
afterEach(() => t.close());

const basic = (user: string) => `Basic ${Buffer.from(`${user}:`).toString('base64')}`;

const segment = (key: string) =>
  t.call('POST', '/v1/track', {
    headers: { authorization: basic(key) },
    body: { userId: 'u1', event: 'signup' },
  });
const segmentBody = (key: string) =>
  t.call('POST', '/v1/batch', {
    body: { writeKey: key, batch: [{ type: 'track', userId: 'u1', event: 'signup' }] },
  });
const posthog = (key: string) =>
  t.call('POST', '/batch/', {
    body: { api_key: key, batch: [{ event: 'signup', distinct_id: 'u1' }] },
  });
const posthogToken = (key: string) =>
  t.call('POST', '/i/v0/e/', {
    body: [{ event: 'signup', distinct_id: 'u1', properties: { token: key } }],
  });

/** PostHog's capture v1: the key is the Bearer token, beside the headers every SDK sends. */
const posthogV1 = (key: string) =>
  t.call('POST', '/i/v1/analytics/events', {
    headers: {
      authorization: `Bearer ${key}`,
      'user-agent': 'posthog-python/7.0.0',
      'posthog-sdk-info': 'posthog-python/7.0.0',
      'posthog-attempt': '1',
      'posthog-request-id': crypto.randomUUID(),
      'posthog-request-timestamp': new Date().toISOString(),
    },
    body: { batch: [{ event: 'signup', uuid: crypto.randomUUID(), distinct_id: 'u1' }] },
  });

const SDK_SENDS = { segment, segmentBody, posthog, posthogToken, posthogV1 };

describe('SDK key places take a live write key only', () => {
  test('the project’s write key is stored (the control)', async () => {
    for (const [sdk, send] of Object.entries(SDK_SENDS)) {
      const res = await send(write.key);
      expect({ sdk, status: res.status }).toEqual({ sdk, status: 200 });
    }
    expect(await t.count('acme')).toBe(Object.keys(SDK_SENDS).length);
  });

  test('a read key, an access token or a revoked write key writes nothing', async () => {
    const revoke = await t.call('DELETE', `/api/v1/projects/acme/keys/${write.id}`, {
      token: ada.access_token,
    });
    expect(revoke.status).toBe(204);
    const expected: [string, number][] = [
      [read.key, 403],
      [ada.access_token, 403],
      [write.key, 401],
    ];
    for (const [sdk, send] of Object.entries(SDK_SENDS)) {
      for (const [key, status] of expected) {
        const res = await send(key);
        expect({ sdk, key: key.slice(0, 3), status: res.status }).toEqual({
          sdk,
          key: key.slice(0, 3),
          status,
        });
      }
    }
    expect(await t.count('acme')).toBe(0);
  });
});

describe('keyless beacons take a registered alias only', () => {
  test('a project id that is no alias is refused on Umami and Plausible', async () => {
    // Umami names a website by UUID: a project with such an id, and no alias.
    const website = '0d9bb5a4-8e3c-4b1f-9f5e-2a7c6d3e1b40';
    await makeProject(t, ada.access_token, website);
    const umami = await t.call('POST', '/api/send', {
      body: { type: 'event', payload: { website, url: '/' } },
    });
    const plausible = await t.call('POST', '/api/event', {
      body: { n: 'pageview', d: 'acme', u: 'https://acme.example/' },
    });
    expect([umami.status, plausible.status]).toEqual([403, 403]);
    expect(await t.count('acme')).toBe(0);
    expect(await t.count(website)).toBe(0);
  });
});

describe("Plausible's domain list, each site its own", () => {
  test('the sites a beacon may write to get their event; the others are left out', async () => {
    // As Plausible's Events API: an event per site it knows, the others dropped and counted
    // in x-plausible-dropped (a 202); a list of none the request may write to is refused.
    await makeProject(t, ada.access_token, 'zed');
    for (const [project, alias] of [
      ['acme', 'acme.example'],
      ['zed', 'zed.example'],
    ]) {
      const res = await t.call('POST', `/api/v1/projects/${project}/aliases`, {
        token: ada.access_token,
        body: { alias, kind: 'plausible_domain' },
      });
      expect(res.status).toBe(201);
    }
    const send = (d: string, headers: Record<string, string> = {}) =>
      t.call('POST', '/api/event', {
        headers,
        body: { n: 'pageview', d, u: 'https://x.example/' },
      });
    // Keyless: every registered alias is written, an unknown one left out.
    const keyless = await send('acme.example,unknown.example,zed.example');
    expect(keyless.status).toBe(202);
    expect(keyless.headers.get('x-plausible-dropped')).toBe('1');
    // A write key writes to its project's aliases only: zed's is left out.
    const keyed = await send('acme.example,zed.example', { 'x-tally-key': write.key });
    expect(keyed.status).toBe(202);
    expect(keyed.headers.get('x-plausible-dropped')).toBe('1');
    expect((await send('zed.example', { 'x-tally-key': write.key })).status).toBe(403);
    expect((await send('unknown.example,other.example')).status).toBe(403);
    expect([await t.count('acme'), await t.count('zed')]).toEqual([2, 1]);
  });

  test("a site over its keyless write rate is left out; the list's others are written", async () => {
    // Plausible's GateKeeper throttles per site (`:throttle`) and drops that site's event as
    // it drops an unknown one (202, x-plausible-dropped). Before, one site's 429 refused the
    // whole beacon: the page view of the rollup's other site, still within its rate, was lost.
    const burst = 2;
    const tight = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, write: { perSecond: 1, burst } } },
    });
    try {
      const owner = await signUp(tight, 'pl@example.com');
      for (const project of ['acme', 'zed']) {
        await makeProject(tight, owner.access_token, project);
        const res = await tight.call('POST', `/api/v1/projects/${project}/aliases`, {
          token: owner.access_token,
          body: { alias: `${project}.example`, kind: 'plausible_domain' },
        });
        expect(res.status).toBe(201);
      }
      const send = (d: string) =>
        tight.call('POST', '/api/event', { body: { n: 'pageview', d, u: 'https://x.example/' } });
      for (let i = 0; i < burst; i++) expect((await send('zed.example')).status).toBe(202);
      // zed's beacons are over their rate; acme's are not.
      const list = await send('zed.example,acme.example');
      expect(list.status).toBe(202);
      expect(list.headers.get('x-plausible-dropped')).toBe('1');
      // Alone, a site over its rate is still Tally's 429 with Retry-After (README "When Tally
      // refuses"); so is a list none of whose sites is taken, one of them only for its rate.
      for (const d of ['zed.example', 'unknown.example,zed.example']) {
        const refused = await send(d);
        expect({ d, status: refused.status }).toEqual({ d, status: 429 });
        expect(refused.headers.get('retry-after')).not.toBeNull();
        expect(((await refused.json()) as { code: string }).code).toBe('rate_limited');
      }
      expect([await tight.count('acme'), await tight.count('zed')]).toEqual([1, burst]);
    } finally {
      await tight.close();
    }
  });

  test("X-RateLimit-* show the taken sites' bucket with the least remaining", async () => {
    // The resolver wrote the headers of each bucket it asked, the last one shown: a 202 whose
    // last site was left out for its rate said remaining 0, of a bucket it took nothing from.
    const burst = 3;
    const tight = await tightPlausible(burst, {
      acme: ['acme.example'],
      yon: ['yon.example'],
      zed: ['zed.example'],
    });
    try {
      for (let i = 0; i < burst; i++) expect((await tight.send('zed.example')).status).toBe(202);
      expect((await tight.send('yon.example')).status).toBe(202);
      // yon is charged to 1 left, acme to 2, zed (empty) is left out: yon's bucket is shown.
      const list = await tight.send('yon.example,acme.example,zed.example');
      expect(list.status).toBe(202);
      expect(list.headers.get('x-plausible-dropped')).toBe('1');
      expect(rateHeaders(list)).toEqual({ limit: '3', remaining: '1', reset: '2' });
      // Nothing charged: the refusal's own bucket, as a single site over its rate shows it.
      const refused = await tight.send('unknown.example,zed.example');
      expect(refused.status).toBe(429);
      expect(rateHeaders(refused)).toEqual({ limit: '3', remaining: '0', reset: '3' });
    } finally {
      await tight.app.close();
    }
  });

  test("two aliases of one project in one list cost that project's rate one request", async () => {
    // Keyless, the resolver charged each name of `d`: a list naming two aliases of a project
    // spent two of its requests, as a write key (one project, one charge) never does.
    const burst = 2;
    const tight = await tightPlausible(burst, { acme: ['acme.example', 'acme.test'] });
    try {
      const both = await tight.send('acme.example,acme.test');
      expect(both.status).toBe(202);
      expect(both.headers.get('x-plausible-dropped')).toBeNull();
      expect(both.headers.get('x-ratelimit-remaining')).toBe('1');
      expect((await tight.send('acme.test')).status).toBe(202);
      // Now over its rate: both names are left out, so the list is the one site's 429.
      expect((await tight.send('acme.example,acme.test')).status).toBe(429);
      // One event a project however many of its aliases the list names: one page view each.
      expect(await tight.app.count('acme')).toBe(2);
    } finally {
      await tight.app.close();
    }
  });
});

/** A keyless write rate of `burst` (1 a second), and `aliases` (Plausible domains) by project. */
async function tightPlausible(burst: number, aliases: Record<string, string[]>) {
  const app = await makeAuthApp({
    auth: { rates: { ...defaultAuthOptions.rates, write: { perSecond: 1, burst } } },
  });
  const owner = await signUp(app, 'rates@example.com');
  for (const [project, names] of Object.entries(aliases)) {
    await makeProject(app, owner.access_token, project);
    for (const alias of names) {
      const res = await app.call('POST', `/api/v1/projects/${project}/aliases`, {
        token: owner.access_token,
        body: { alias, kind: 'plausible_domain' },
      });
      expect(res.status).toBe(201);
    }
  }
  const send = (d: string) =>
    app.call('POST', '/api/event', { body: { n: 'pageview', d, u: 'https://x.example/' } });
  return { app, send };
}

const rateHeaders = (res: Response) => ({
  limit: res.headers.get('x-ratelimit-limit'),
  remaining: res.headers.get('x-ratelimit-remaining'),
  reset: res.headers.get('x-ratelimit-reset'),
});

describe("PostHog's flags requests and the project's write rate", () => {
  test('flags requests check the key but spend none of the rate its captures need', async () => {
    // posthog-js asks /flags/ at every page load, posthog-node at every flag it evaluates
    // remotely; they write nothing. Counted as ingest requests, they used up RATE_WRITE, and the
    // captures that followed were refused (a 503 on PostHog's routes; posthog-node drops a
    // batch after 3 retries).
    const burst = 3;
    const tight = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, write: { perSecond: 1, burst } } },
    });
    try {
      const owner = await signUp(tight, 'bo@example.com');
      await makeProject(tight, owner.access_token, 'acme');
      const key = (await makeKey(tight, owner.access_token, 'acme', 'write')).key;
      for (let i = 0; i < burst * 2; i++) {
        const flags = await tight.call('POST', '/flags/?v=2', {
          body: { token: key, distinct_id: 'u1' },
        });
        expect(flags.status).toBe(200);
      }
      const revoked = await tight.call('POST', '/flags/?v=2', {
        body: { token: 'wk_not_a_key', distinct_id: 'u1' },
      });
      expect(revoked.status).toBe(401);
      for (let i = 0; i < burst; i++) {
        const capture = await tight.call('POST', '/batch/', {
          body: { api_key: key, batch: [{ event: 'signup', distinct_id: `u${i}` }] },
        });
        expect({ i, status: capture.status }).toEqual({ i, status: 200 });
      }
      const over = await tight.call('POST', '/batch/', {
        body: { api_key: key, batch: [{ event: 'signup', distinct_id: 'u9' }] },
      });
      // The captures' own rate still holds: a 429, sent as a 503 on PostHog's routes.
      expect(over.status).toBe(503);
      expect(((await over.json()) as { code: string }).code).toBe('rate_limited');
      expect(await tight.count('acme')).toBe(burst);
    } finally {
      await tight.close();
    }
  });
});

describe("Umami's items that write nothing and the site's write rate", () => {
  test('identify, performance, engagement and error items check the site, spend none', async () => {
    // The Umami script sends them beside its page views (identify at sign-in, web vitals,
    // engagement when a page is left); they are answered, never stored. Counted as ingest
    // requests, they used up the site's RATE_WRITE and the page views after them were 429,
    // which the script never resends.
    const burst = 3;
    const tight = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, write: { perSecond: 1, burst } } },
    });
    try {
      const owner = await signUp(tight, 'um@example.com');
      await makeProject(tight, owner.access_token, 'acme');
      const website = '6c1e2d3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f';
      const alias = await tight.call('POST', '/api/v1/projects/acme/aliases', {
        token: owner.access_token,
        body: { alias: website, kind: 'umami_website' },
      });
      expect(alias.status).toBe(201);
      const item = (type: string, url = '/') => ({ type, payload: { website, url } });
      const send = (body: unknown) => tight.call('POST', '/api/send', { body });
      for (const type of ['identify', 'performance', 'engagement', 'error']) {
        for (let i = 0; i < burst; i++) {
          expect({ type, status: (await send(item(type))).status }).toEqual({ type, status: 200 });
        }
      }
      const unstored = ['identify', 'performance', 'engagement'].map((type) => item(type));
      const batch = await tight.call('POST', '/api/batch', { body: unstored });
      expect(batch.status).toBe(200);
      // The site is still checked: a website that is no alias is refused.
      const other = item('identify');
      other.payload.website = '0d9bb5a4-8e3c-4b1f-9f5e-2a7c6d3e1b40';
      expect((await send(other)).status).toBe(403);
      for (let i = 0; i < burst; i++) {
        const view = await send(item('event', `/p${i}`));
        expect({ i, status: view.status }).toEqual({ i, status: 200 });
      }
      // The page views' own rate still holds, and a batch with an event spends it.
      expect((await send(item('event', '/over'))).status).toBe(429);
      const mixed = await tight.call('POST', '/api/batch', {
        body: [item('identify'), item('event', '/mixed')],
      });
      // (a batch reports the refusal per item, as Umami's does)
      expect(await mixed.json()).toMatchObject({ size: 2, processed: 0, errors: 2 });
      expect(await tight.count('acme')).toBe(burst);
    } finally {
      await tight.close();
    }
  });
});
