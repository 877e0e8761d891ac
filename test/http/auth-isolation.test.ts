import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import {
  type AuthApp,
  type AuthAppOptions,
  join,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

interface World {
  ada: Tokens;
  bob: Tokens;
  acmeWrite: { key: string; id: string };
  acmeRead: { key: string; id: string };
  globexWrite: { key: string; id: string };
  globexRead: { key: string; id: string };
}

let t: AuthApp;
let w: World;

async function setUp(options: AuthAppOptions = {}): Promise<void> {
  t = await makeAuthApp(options);
  const ada = await signUp(t, 'ada@example.com');
  const bob = await signUp(t, 'bob@example.com');
  await makeProject(t, ada.access_token, 'acme');
  await makeProject(t, bob.access_token, 'globex');
  w = {
    ada,
    bob,
    acmeWrite: await makeKey(t, ada.access_token, 'acme', 'write'),
    acmeRead: await makeKey(t, ada.access_token, 'acme', 'read'),
    globexWrite: await makeKey(t, bob.access_token, 'globex', 'write'),
    globexRead: await makeKey(t, bob.access_token, 'globex', 'read'),
  };
}
afterEach(() => t.close());

const ingest = (key: string | null, body: unknown, headers: Record<string, string> = {}) =>
  t.call('POST', '/api/v1/events', { body, headers, ...(key === null ? {} : { token: key }) });

async function seed(): Promise<void> {
  const sent = [
    await ingest(w.acmeWrite.key, { event_id: 'a-1', name: 'page_view', path: '/acme-page' }),
    await ingest(w.globexWrite.key, { event_id: 'g-1', name: 'page_view', path: '/globex-page' }),
    await t.call('POST', '/api/v1/metrics', {
      token: w.acmeWrite.key,
      body: { name: 'cpu', value: 0.25, id: 'am-1' },
    }),
    await t.call('POST', '/api/v1/metrics', {
      token: w.globexWrite.key,
      body: { name: 'cpu', value: 777.5, id: 'gm-1' },
    }),
  ];
  expect(sent.map((r) => r.status)).toEqual([202, 202, 202, 202]);
}

/** Every read route, aimed at tenant `globex`. */
const READS: [string, string, unknown?][] = [
  ['GET', '/api/v1/stats'],
  ['GET', '/api/v1/timeseries'],
  ['GET', '/api/v1/events'],
  ['GET', '/api/v1/events/g-1'],
  ['GET', '/api/v1/metrics'],
  ['GET', '/api/v1/metrics/gm-1'],
  ['GET', '/api/v1/metrics/aggregate/cpu'],
  ['GET', '/api/v1/metrics/latest/cpu'],
  ['POST', '/api/v1/query', { sql: 'SELECT path, value FROM events' }],
  ['GET', '/api/v1/export'],
  ['GET', '/api/v1/funnel?step=name:page_view&step=name:signup'],
  ['GET', '/api/v1/cohorts?start=name:page_view&return=any'],
];

/** `path` with `query` (`?a=b`) added to its own query string, if it has one. */
const withQuery = (path: string, query: string) =>
  path.includes('?') && query !== '' ? `${path}&${query.slice(1)}` : `${path}${query}`;

const read = (method: string, path: string, body: unknown, query: string, token?: string) =>
  t.call(method, withQuery(path, query), { body, ...(token === undefined ? {} : { token }) });

describe('reads are confined to the caller’s tenant', () => {
  beforeEach(() => setUp());

  test('tenant A’s JWT or read key against tenant B: 403 on every read route, no data', async () => {
    await seed();
    for (const [method, path, body] of READS) {
      for (const token of [w.ada.access_token, w.acmeRead.key]) {
        const res = await read(method, path, body, '?tenant_id=globex', token);
        const text = await res.text();
        expect({ path, status: res.status }).toEqual({ path, status: 403 });
        expect(text).not.toContain('globex-page');
        expect(text).not.toContain('777.5');
      }
    }
  });

  test('the owner of B reads B on the same routes (the control)', async () => {
    await seed();
    for (const [method, path, body] of READS) {
      for (const token of [w.bob.access_token, w.globexRead.key]) {
        const res = await read(method, path, body, '?tenant_id=globex', token);
        expect({ path, status: res.status }).toEqual({ path, status: 200 });
      }
    }
    const sql = await read('POST', '/api/v1/query', READS[8]?.[2], '', w.globexRead.key);
    const text = await sql.text();
    expect(text).toContain('/globex-page');
    expect(text).not.toContain('/acme-page');
  });

  test('without tenant_id a read key reads its own project only', async () => {
    await seed();
    const event = await read('GET', '/api/v1/events/g-1', undefined, '', w.acmeRead.key);
    expect(event.status).toBe(404);
    const metric = await read('GET', '/api/v1/metrics/gm-1', undefined, '', w.acmeRead.key);
    expect(metric.status).toBe(404);
    const list = await json(await read('GET', '/api/v1/events', undefined, '', w.acmeRead.key));
    expect((list.events as { event_id: string }[]).map((e) => e.event_id).sort()).toEqual([
      'a-1',
      'am-1',
    ]);
    const latest = await json(
      await read('GET', '/api/v1/metrics/latest/cpu', undefined, '', w.acmeRead.key),
    );
    expect(latest.value).toBe(0.25);
  });

  test('no credentials is 401; a write key on a read route is 403', async () => {
    for (const [method, path, body] of READS) {
      expect((await read(method, path, body, '')).status).toBe(401);
      expect((await read(method, path, body, '', w.acmeWrite.key)).status).toBe(403);
      const viaHeader = await t.call(method, path, {
        body,
        headers: { 'x-tally-key': w.acmeWrite.key },
      });
      expect(viaHeader.status).toBe(403);
    }
  });

  test('X-Tally-Key carries read credentials; ?token= does not (it would be logged)', async () => {
    await seed();
    const header = await t.call('GET', '/api/v1/events/a-1', {
      headers: { 'x-tally-key': w.acmeRead.key },
    });
    expect(header.status).toBe(200);
    // A URL lands in proxy logs, history and Referer: only the live WebSocket takes ?token=.
    const byJwt = await t.call('GET', `/api/v1/events/a-1?token=${w.ada.access_token}`);
    expect(byJwt.status).toBe(401);
    const byKey = await t.call('GET', `/api/v1/stats?token=${w.acmeRead.key}`);
    expect(byKey.status).toBe(401);
    // Not even on a GET that claims to be an upgrade: a read route is no WebSocket.
    const claimed = await t.call('GET', `/api/v1/stats?token=${w.acmeRead.key}`, {
      headers: { connection: 'Upgrade', upgrade: 'websocket' },
    });
    expect(claimed.status).toBe(401);
    const post = await t.call('POST', `/api/v1/query?token=${w.acmeRead.key}`, {
      body: { sql: 'SELECT 1' },
    });
    expect(post.status).toBe(401);
  });

  test('a JWT user names one of their projects; a non-member gets 403 for any name', async () => {
    await seed();
    const own = await read('GET', '/api/v1/events/a-1', undefined, '', w.ada.access_token);
    expect(own.status).toBe(200);
    for (const tenant of ['globex', 'default', 'no-such-project']) {
      const res = await read(
        'GET',
        '/api/v1/stats',
        undefined,
        `?tenant_id=${tenant}`,
        w.ada.access_token,
      );
      expect(res.status).toBe(403);
    }
  });
});

describe('ingest writes only to the key’s project', () => {
  beforeEach(() => setUp());

  test('no key is 401; a read key or a JWT cannot ingest (403: the wrong kind)', async () => {
    expect((await ingest(null, { name: 'a' })).status).toBe(401);
    expect((await ingest(w.acmeRead.key, { name: 'a' })).status).toBe(403);
    const byJwt = await ingest(w.ada.access_token, { name: 'a' });
    expect(byJwt.status).toBe(403);
    expect(byJwt.headers.get('www-authenticate')).toBeNull();
    expect(await json(byJwt)).toEqual({
      detail: 'an access token cannot ingest; send a write key (wk_…)',
      code: 'forbidden',
    });
    // A token that is no key and no valid JWT is unknown: 401 with a challenge.
    const junk = await ingest('not-a-key-at-all', { name: 'a' });
    expect(junk.status).toBe(401);
    expect(junk.headers.get('www-authenticate')).toBe('Bearer');
    expect((await ingest('wk_not-a-real-key', { name: 'a' })).status).toBe(401);
    expect(await t.count('acme')).toBe(0);
  });

  test('a body tenant_id that disagrees with the key is 403 and writes nothing', async () => {
    const res = await ingest(w.acmeWrite.key, { name: 'a', tenant_id: 'globex' });
    expect(res.status).toBe(403);
    const batch = await t.call('POST', '/api/v1/events/batch', {
      token: w.acmeWrite.key,
      body: { events: [{ name: 'ok' }, { name: 'sneaky', tenant_id: 'globex' }] },
    });
    expect(batch.status).toBe(403);
    const metric = await t.call('POST', '/api/v1/metrics', {
      token: w.acmeWrite.key,
      body: { name: 'cpu', value: 1, tenant_id: 'globex' },
    });
    expect(metric.status).toBe(403);
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(0);
  });

  test('the key’s own tenant or alias in the body is accepted; X-Tally-Key works', async () => {
    await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: w.ada.access_token,
      body: { alias: 'acme-site', kind: 'site_id' },
    });
    const own = await ingest(w.acmeWrite.key, { name: 'a', tenant_id: 'acme' });
    const alias = await ingest(w.acmeWrite.key, { name: 'b', tenant_id: 'acme-site' });
    const header = await ingest(null, { name: 'c' }, { 'x-tally-key': w.acmeWrite.key });
    expect([own.status, alias.status, header.status]).toEqual([202, 202, 202]);
    expect(await t.count('acme')).toBe(3);
    expect(await t.count('acme-site')).toBe(0);
  });

  test('a keyless beacon is accepted only for a registered alias', async () => {
    await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: w.ada.access_token,
      body: { alias: 'acme.com', kind: 'plausible_domain' },
    });
    const beacon = await ingest(null, { event_id: 'b-1', name: 'pageview', tenant_id: 'acme.com' });
    expect(beacon.status).toBe(202);
    const stored = await json(await t.call('GET', '/api/v1/events/b-1', { token: w.acmeRead.key }));
    expect(stored.tenant).toBe('acme');
    expect((await ingest(null, { name: 'x', tenant_id: 'unknown.example' })).status).toBe(403);
    // A project id is not a public alias: naming it without a key is refused.
    expect((await ingest(null, { name: 'x', tenant_id: 'globex' })).status).toBe(403);
    expect(await t.count('globex')).toBe(0);
  });

  test('a repeat on seed 002 never shows a write key the stored event', async () => {
    const order = (payload: Record<string, unknown>) => ({
      event_id: 'order-1001',
      tenant_id: 'acme',
      source: 'shop',
      event_type: 'purchase',
      timestamp: '2026-11-25T11:00:00Z',
      payload,
    });
    const first = await t.call('POST', '/events', {
      token: w.acmeWrite.key,
      body: order({ card_last4: '4242', amount: 999 }),
    });
    expect(first.status).toBe(201);
    // Another holder of the public write key guesses the id: 200, but its own event back.
    const guess = await t.call('POST', '/events', { token: w.acmeWrite.key, body: order({}) });
    expect(guess.status).toBe(200);
    const answer = await json(guess);
    expect(answer.payload).toEqual({});
    expect(JSON.stringify(answer)).not.toContain('4242');
  });

  test('a write key bound to origins is refused from any other origin', async () => {
    const bound = await makeKey(t, w.ada.access_token, 'acme', 'write', {
      allowed_origins: ['https://acme.com'],
    });
    const ok = await ingest(bound.key, { name: 'a' }, { origin: 'https://acme.com' });
    expect(ok.status).toBe(202);
    const other = await ingest(bound.key, { name: 'a' }, { origin: 'https://evil.example' });
    expect(other.status).toBe(403);
    expect((await ingest(bound.key, { name: 'a' })).status).toBe(403);
    expect(await t.count('acme')).toBe(1);
  });
});

describe('revocation is immediate', () => {
  beforeEach(() => setUp());

  test('a revoked write key or read key stops working on the next request', async () => {
    expect((await ingest(w.acmeWrite.key, { name: 'a' })).status).toBe(202);
    expect((await t.call('GET', '/api/v1/stats', { token: w.acmeRead.key })).status).toBe(200);
    for (const id of [w.acmeWrite.id, w.acmeRead.id]) {
      const res = await t.call('DELETE', `/api/v1/projects/acme/keys/${id}`, {
        token: w.ada.access_token,
      });
      expect(res.status).toBe(204);
    }
    expect((await ingest(w.acmeWrite.key, { name: 'a' })).status).toBe(401);
    expect((await t.call('GET', '/api/v1/stats', { token: w.acmeRead.key })).status).toBe(401);
    expect(await t.count('acme')).toBe(1);
  });

  test('a member removed from a project loses read access at once', async () => {
    const invitee = { email: 'bob@example.com', token: w.bob.access_token };
    expect((await join(t, w.ada.access_token, 'acme', invitee)).status).toBe(200);
    const path = '/api/v1/stats?tenant_id=acme';
    expect((await t.call('GET', path, { token: w.bob.access_token })).status).toBe(200);
    const bobId = (
      await json(await t.call('GET', '/api/v1/users/me', { token: w.bob.access_token }))
    ).id as string;
    await t.call('DELETE', `/api/v1/projects/acme/members/${bobId}`, { token: w.ada.access_token });
    expect((await t.call('GET', path, { token: w.bob.access_token })).status).toBe(403);
  });
});

describe('rate limits', () => {
  const tight = { perSecond: 1, burst: 2 };
  beforeEach(() =>
    setUp({ auth: { rates: { ...defaultAuthOptions.rates, write: tight, read: tight } } }),
  );

  test('a write key over its rate gets 429 with headers; another tenant is unaffected', async () => {
    const first = await ingest(w.acmeWrite.key, { name: 'a' });
    expect(first.status).toBe(202);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await ingest(w.acmeWrite.key, { name: 'a' })).status).toBe(202);
    const limited = await ingest(w.acmeWrite.key, { name: 'a' });
    expect(limited.status).toBe(429);
    expect(await json(limited)).toMatchObject({ code: 'rate_limited' });
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset')).toBe('2');
    expect((await ingest(w.globexWrite.key, { name: 'b' })).status).toBe(202);
    expect((await ingest(w.globexWrite.key, { name: 'b' })).status).toBe(202);
    t.clock.advance(1000);
    expect((await ingest(w.acmeWrite.key, { name: 'a' })).status).toBe(202);
    expect(await t.count('acme')).toBe(3);
    expect(await t.count('globex')).toBe(2);
  });

  test("keyless alias beacons have a bucket of their own, apart from the write keys'", async () => {
    // README: "keyless alias beacons of a project share a third": anyone may send them, so a
    // flood of them must not spend the quota of the project's own write keys, nor the reverse.
    const alias = await t.call('POST', '/api/v1/projects/acme/aliases', {
      token: w.ada.access_token,
      body: { alias: 'acme.com', kind: 'plausible_domain' },
    });
    expect(alias.status).toBe(201);
    const beacon = () => ingest(null, { name: 'pageview', tenant_id: 'acme.com' });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await beacon()).status);
    expect(statuses).toEqual([202, 202, 429]);
    const keyed = [];
    for (let i = 0; i < 3; i++) keyed.push((await ingest(w.acmeWrite.key, { name: 'k' })).status);
    expect(keyed).toEqual([202, 202, 429]);
    t.clock.advance(1000);
    expect((await beacon()).status).toBe(202);
    expect(await t.count('acme')).toBe(5);
  });

  test('reads are limited per user and per read key, independently', async () => {
    const stats = (token: string) => t.call('GET', '/api/v1/stats', { token });
    // README: every answer that spends a user's rate carries the bucket's X-RateLimit-*.
    const first = await stats(w.ada.access_token);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit')).toBe('2');
    expect(first.headers.get('x-ratelimit-remaining')).toBe('1');
    expect((await stats(w.ada.access_token)).status).toBe(200);
    const limited = await stats(w.ada.access_token);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect((await stats(w.acmeRead.key)).status).toBe(200);
    expect((await stats(w.bob.access_token)).status).toBe(200);
    expect((await stats(w.globexRead.key)).status).toBe(200);
  });
});
