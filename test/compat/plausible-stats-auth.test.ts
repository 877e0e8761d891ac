// Plausible's Stats API v1 (and v2's POST /api/v2/query) in AUTH_MODE=required: the bearer
// is a project's read key or a member's access token, site_id a `plausible_domain` alias of
// that project; every other combination is Plausible's 401 (no key: "Missing API key", else
// "Invalid API key or site ID"), and one project's credentials never read another's site.
// Tally's own /api/v1/stats beside it is untouched.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import {
  type AuthApp,
  adminToken,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
} from '../auth/harness.ts';

const CHROME =
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/131.0.0.0 Safari/537.36';
const INVALID =
  "Invalid API key or site ID. Please make sure you're using a valid API key with access to " +
  "the site you've requested.";

let t: AuthApp;
let admin: string;
let acmeRead: string;
let otherRead: string;
let acmeWrite: string;

async function alias(project: string, name: string, kind: string) {
  const res = await t.call('POST', `/api/v1/projects/${project}/aliases`, {
    token: admin,
    body: { alias: name, kind },
  });
  expect(res.status).toBe(201);
}

/** A keyless tracker beacon for `domain` from the visitor at `ip`. */
async function beacon(domain: string, ip: string, path = '/') {
  const res = await t.call('POST', '/api/event', {
    text: JSON.stringify({ n: 'pageview', u: `https://${domain}${path}`, d: domain }),
    headers: { 'content-type': 'text/plain', 'user-agent': CHROME, 'x-forwarded-for': ip },
  });
  expect(res.status).toBe(202);
}

beforeEach(async () => {
  t = await makeAuthApp();
  admin = await adminToken(t);
  await makeProject(t, admin, 'acme');
  await makeProject(t, admin, 'other');
  await alias('acme', 'shop.example', 'plausible_domain');
  await alias('acme', 'acme-site', 'site_id');
  await alias('other', 'other.example', 'plausible_domain');
  acmeRead = (await makeKey(t, admin, 'acme', 'read')).key;
  otherRead = (await makeKey(t, admin, 'other', 'read')).key;
  acmeWrite = (await makeKey(t, admin, 'acme', 'write')).key;
  await beacon('shop.example', '198.51.100.1');
  await beacon('shop.example', '198.51.100.2', '/pricing');
  await beacon('other.example', '198.51.100.3');
});
afterEach(() => t.close());

const aggregate = (site: string, token?: string) =>
  t.call('GET', `/api/v1/stats/aggregate?site_id=${site}&period=day&metrics=visitors,pageviews`, {
    ...(token === undefined ? {} : { token }),
  });
const expectRefused = async (res: Response, status: number, error: string) => {
  expect(res.status).toBe(status);
  expect(await res.json()).toEqual({ error });
};

describe('Plausible Stats API in required mode', () => {
  test("a project's read key reads the site its plausible_domain alias names", async () => {
    const res = await aggregate('shop.example', acmeRead);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      results: { visitors: { value: 2 }, pageviews: { value: 2 } },
    });
    const realtime = await t.call('GET', '/api/v1/stats/realtime/visitors?site_id=shop.example', {
      token: acmeRead,
    });
    expect(await realtime.text()).toBe('2');
    const pages = await t.call(
      'GET',
      '/api/v1/stats/breakdown?site_id=shop.example&period=day&property=event:page',
      { token: acmeRead },
    );
    expect(await pages.json()).toEqual({
      results: [
        { page: '/', visitors: 1 },
        { page: '/pricing', visitors: 1 },
      ],
    });
  });

  test('X-Tally-Key carries the key as Authorization does, on v1 and v2', async () => {
    const headers = { 'x-tally-key': acmeRead };
    const v1 = await t.call(
      'GET',
      '/api/v1/stats/aggregate?site_id=shop.example&period=day&metrics=visitors,pageviews',
      { headers },
    );
    expect(await v1.json()).toEqual({
      results: { visitors: { value: 2 }, pageviews: { value: 2 } },
    });
    const body = { site_id: 'shop.example', metrics: ['visitors'], date_range: 'day' };
    const v2 = await t.call('POST', '/api/v2/query', { headers, body });
    expect(((await v2.json()) as { results: unknown }).results).toEqual([
      { metrics: [2], dimensions: [] },
    ]);
    const other = { 'x-tally-key': otherRead };
    const refused = t.call('GET', '/api/v1/stats/aggregate?site_id=shop.example', {
      headers: other,
    });
    await expectRefused(await refused, 401, INVALID);
  });

  test("a member's access token reads it too; a non-member's does not", async () => {
    const res = await aggregate('shop.example', admin);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: unknown }).results).toEqual({
      visitors: { value: 2 },
      pageviews: { value: 2 },
    });
    const stranger = await signUp(t, 'stranger@example.com');
    await expectRefused(await aggregate('shop.example', stranger.access_token), 401, INVALID);
  });

  test('no key is 401 "Missing API key", before anything else', async () => {
    await expectRefused(
      await aggregate('shop.example'),
      401,
      'Missing API key. Please use a valid Plausible API key as a Bearer Token.',
    );
    await expectRefused(
      await t.call('GET', '/api/v1/stats/realtime/visitors'),
      401,
      'Missing API key. Please use a valid Plausible API key as a Bearer Token.',
    );
  });

  test("another project's key, another project's site, a site that is no Plausible domain: 401", async () => {
    // Tenant isolation: other's key cannot read acme's site, nor acme's key other's.
    await expectRefused(await aggregate('shop.example', otherRead), 401, INVALID);
    await expectRefused(await aggregate('other.example', acmeRead), 401, INVALID);
    // An alias of another kind, a project id, an unknown domain: the same answer.
    await expectRefused(await aggregate('acme-site', acmeRead), 401, INVALID);
    await expectRefused(await aggregate('acme', acmeRead), 401, INVALID);
    await expectRefused(await aggregate('nowhere.example', acmeRead), 401, INVALID);
    // A write key or a made-up one reads nothing.
    await expectRefused(await aggregate('shop.example', acmeWrite), 401, INVALID);
    await expectRefused(await aggregate('shop.example', 'rk_made_up'), 401, INVALID);
    // And other's own site is still its own.
    const own = await aggregate('other.example', otherRead);
    expect(((await own.json()) as { results: unknown }).results).toEqual({
      visitors: { value: 1 },
      pageviews: { value: 1 },
    });
  });

  test('an unknown site is charged and answered as another project’s: nothing tells them apart', async () => {
    const remainingOf = (res: Response) => res.headers.get('x-ratelimit-remaining');
    const known = await aggregate('other.example', acmeRead);
    const unknown = await aggregate('nowhere.example', acmeRead);
    const otherKind = await aggregate('acme-site', acmeRead);
    for (const res of [known, unknown, otherKind]) await expectRefused(res, 401, INVALID);
    expect([known, unknown, otherKind].map(remainingOf)).toEqual(['99', '98', '97']);
  });

  test("past the read rate: Plausible's {error} shape, with Retry-After", async () => {
    const realtime = () =>
      t.call('GET', '/api/v1/stats/realtime/visitors?site_id=shop.example', { token: acmeRead });
    // The read burst is 100 (RATE_READ_BURST): the 101st read at the same instant is over it.
    let res = await realtime();
    for (let i = 0; i < 200 && res.status === 200; i++) res = await realtime();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = (await res.json()) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['error']);
    const v2 = await t.call('POST', '/api/v2/query', {
      token: acmeRead,
      body: { site_id: 'shop.example', metrics: ['visitors'], date_range: 'day' },
    });
    expect(v2.status).toBe(429);
    expect(Object.keys((await v2.json()) as Record<string, unknown>)).toEqual(['error']);
  });

  test("Tally's own GET /api/v1/stats answers as before beside the Plausible routes", async () => {
    const res = await t.call('GET', '/api/v1/stats?tenant_id=acme', { token: acmeRead });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ page_views: 2, unique_visitors: 2, visits: 2 });
  });

  test('POST /api/v2/query: the same keys, sites and 401s as v1', async () => {
    const query = (site: string, token?: string) =>
      t.call('POST', '/api/v2/query', {
        ...(token === undefined ? {} : { token }),
        body: { site_id: site, metrics: ['visitors', 'pageviews'], date_range: 'day' },
      });
    const res = await query('shop.example', acmeRead);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { results: unknown }).results).toEqual([
      { metrics: [2, 2], dimensions: [] },
    ]);
    await expectRefused(
      await query('shop.example'),
      401,
      'Missing API key. Please use a valid Plausible API key as a Bearer Token.',
    );
    await expectRefused(await query('shop.example', otherRead), 401, INVALID);
    await expectRefused(await query('acme', acmeRead), 401, INVALID);
    await expectRefused(await query('shop.example', acmeWrite), 401, INVALID);
    // No key is refused before its body is read.
    const unread = await t.call('POST', '/api/v2/query', { text: '{"site_id": ' });
    await expectRefused(
      unread,
      401,
      'Missing API key. Please use a valid Plausible API key as a Bearer Token.',
    );
  });
});
