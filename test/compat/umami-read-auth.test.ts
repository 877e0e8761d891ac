// Umami's read API in AUTH_MODE=required: POST /api/auth/login with a Tally account (the
// username is its email) answers Umami's {token, user}, and that token, a project's read key
// (as a bearer or in x-umami-api-key) or any member's access token reads the websites of its
// projects: a project's `umami_website` alias or its id. Everything else (no credential, a
// write key, another project's website, an unknown one) is Umami's one 401.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { bootstrapAuth } from '../../src/auth/index.ts';
import { type AuthApp, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';

type Json = Record<string, unknown>;
const ACME = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const OTHER = 'ad9e1e5c-6f1a-4d4e-9d43-0b9f3a1c1f7e';
const UNAUTHORIZED = { error: { message: 'Unauthorized', code: 'unauthorized', status: 401 } };
const RANGE = `startAt=${Date.parse('2026-11-25T00:00:00Z')}&endAt=${Date.parse('2026-11-25T23:59:59.999Z')}`;

let t: AuthApp;
let admin: { email: string; password: string; token: string };
let acmeRead: string;

/** Umami's login; its answer. */
async function login(username: string, password: string) {
  return t.call('POST', '/api/auth/login', { body: { username, password } });
}

/** A keyless tracker item for `website` (its alias is registered) from the visitor at `ip`. */
async function send(website: string, ip: string, url: string) {
  const res = await t.call('POST', '/api/send', {
    body: { type: 'event', payload: { website, url, hostname: 'shop.example' } },
    headers: {
      'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0',
      'x-forwarded-for': ip,
    },
  });
  expect(res.status).toBe(200);
}

beforeEach(async () => {
  t = await makeAuthApp({ trustProxy: true });
  const boot = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
  if (boot === null) throw new Error('expected a bootstrap');
  const signedIn = (await (await login(boot.adminEmail, boot.adminPassword)).json()) as Json;
  admin = { email: boot.adminEmail, password: boot.adminPassword, token: signedIn.token as string };
  await makeProject(t, admin.token, 'acme');
  await makeProject(t, admin.token, 'other');
  for (const [project, alias, kind] of [
    ['acme', ACME, 'umami_website'],
    ['acme', 'shop.example', 'plausible_domain'],
    ['other', OTHER, 'umami_website'],
  ] as const) {
    const res = await t.call('POST', `/api/v1/projects/${project}/aliases`, {
      token: admin.token,
      body: { alias, kind },
    });
    expect(res.status).toBe(201);
  }
  acmeRead = (await makeKey(t, admin.token, 'acme', 'read')).key;
  await send(ACME, '198.51.100.1', '/');
  await send(ACME, '198.51.100.1', '/pricing');
  await send(OTHER, '198.51.100.2', '/');
});
afterEach(() => t.close());

const stats = (website: string, call: { token?: string; headers?: Record<string, string> }) =>
  t.call('GET', `/api/websites/${website}/stats?${RANGE}`, call);

describe('Umami login and verify over Tally accounts', () => {
  test("login answers Umami's {token, user}; the token reads and verifies", async () => {
    const res = await login(admin.email, admin.password);
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('no-store');
    const body = (await res.json()) as { token: string; user: Json };
    expect(body.user).toMatchObject({
      username: admin.email,
      role: 'admin',
      isAdmin: true,
      teams: [],
    });
    const stat = await stats(ACME, { token: body.token });
    expect(await stat.json()).toMatchObject({ pageviews: 2, visitors: 1, visits: 1 });
    for (const method of ['GET', 'POST']) {
      const verify = await t.call(method, '/api/auth/verify', { token: body.token });
      expect(verify.status).toBe(200);
      expect(await verify.json()).toEqual(body.user);
    }
  });

  test("a wrong password is 401, a body without the fields 400, in Umami's shape", async () => {
    const wrong = await login(admin.email, 'not the password');
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: { message: 'message.incorrect-username-password', code: 'unauthorized', status: 401 },
    });
    for (const body of [{ username: admin.email }, [], 'text']) {
      const res = await t.call('POST', '/api/auth/login', { body });
      expect(res.status).toBe(400);
      expect(((await res.json()) as { error: Json }).error).toMatchObject({
        code: 'bad-request',
        status: 400,
      });
    }
  });

  test('login reads its body as JSON whatever its Content-Type, as Umami does', async () => {
    // Umami's parseRequest reads `request.json()`: a form is no JSON, so its schema's 400
    // (Tally answered 415 for the media type); JSON sent as text/plain signs in.
    const form = await t.call('POST', '/api/auth/login', {
      form: { username: admin.email, password: admin.password },
    });
    expect(form.status).toBe(400);
    expect(((await form.json()) as { error: Json }).error).toMatchObject({
      code: 'bad-request',
      status: 400,
    });
    const coded = await t.call('POST', '/api/auth/login', {
      text: '{}',
      headers: { 'content-type': 'application/json', 'content-encoding': 'br' },
    });
    expect(coded.status).toBe(400);
    const text = await t.call('POST', '/api/auth/login', {
      text: JSON.stringify({ username: admin.email, password: admin.password }),
      headers: { 'content-type': 'text/plain' },
    });
    expect(text.status).toBe(200);
    expect(((await text.json()) as Json).token).toEqual(expect.any(String));
  });

  test("logout ends the token's session, as Umami's; without an access token 401", async () => {
    // Umami's POST /api/auth/logout: a 404 in Tally's shape before.
    const { token } = (await (await login(admin.email, admin.password)).json()) as Json;
    // A body that is no JSON object is Umami's 400 (as on verify), and signs nobody out.
    for (const text of ['{"name":', '5']) {
      const headers = { 'content-type': 'application/json' };
      const bad = await t.call('POST', '/api/auth/logout', {
        token: token as string,
        text,
        headers,
      });
      expect(bad.status, text).toBe(400);
      expect(((await bad.json()) as { error: Json }).error.code).toBe('bad-request');
    }
    expect((await t.call('GET', '/api/auth/verify', { token: token as string })).status).toBe(200);
    const out = await t.call('POST', '/api/auth/logout', { token: token as string });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ ok: true });
    expect((await t.call('GET', '/api/auth/verify', { token: token as string })).status).toBe(401);
    // The other sign-in goes on.
    expect((await t.call('GET', '/api/auth/verify', { token: admin.token })).status).toBe(200);
    // Said again with the same token: 401, as Umami's logout (it authenticates first, and its
    // Redis auth of the token is gone), not 204 again as Tally's own /api/v1/auth/logout.
    for (const call of [{}, { token: acmeRead }, { token: token as string }]) {
      const res = await t.call('POST', '/api/auth/logout', call);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual(UNAUTHORIZED);
    }
  });

  test('logout with a body of another media type is 415, and signs nobody out', async () => {
    const { token } = (await (await login(admin.email, admin.password)).json()) as Json;
    for (const [text, type] of [
      ['{}', 'text/plain'],
      ['a=1', 'application/x-www-form-urlencoded'],
    ]) {
      const res = await t.call('POST', '/api/auth/logout', {
        token: token as string,
        text,
        headers: { 'content-type': type as string },
      });
      expect(res.status, type).toBe(415);
      expect(((await res.json()) as { error: Json }).error).toMatchObject({ status: 415 });
    }
    expect((await t.call('GET', '/api/auth/verify', { token: token as string })).status).toBe(200);
    // An empty JSON object is taken (and ignored), as on verify.
    const out = await t.call('POST', '/api/auth/logout', { token: token as string, body: {} });
    expect(await out.json()).toEqual({ ok: true });
  });

  test("the login's token is Tally's access token: it expires after 15 minutes", async () => {
    const { token } = (await (await login(admin.email, admin.password)).json()) as Json;
    t.clock.advance(15 * 60_000 - 1000);
    expect((await stats(ACME, { token: token as string })).status).toBe(200);
    t.clock.advance(2000);
    const expired = await stats(ACME, { token: token as string });
    expect(expired.status).toBe(401);
    expect(await expired.json()).toEqual(UNAUTHORIZED);
    // A read key does not expire.
    expect((await stats(ACME, { token: acmeRead })).status).toBe(200);
  });

  test('verify without a token, or with a read key, is 401', async () => {
    expect((await t.call('GET', '/api/auth/verify')).status).toBe(401);
    const res = await t.call('GET', '/api/auth/verify', { token: acmeRead });
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: Json }).error.code).toBe('unauthorized');
    // A POST takes no body or an empty object; anything else is Umami's 400.
    const bad = await t.call('POST', '/api/auth/verify', { token: admin.token, body: [1] });
    expect(bad.status).toBe(400);
    const empty = await t.call('POST', '/api/auth/verify', { token: admin.token, body: {} });
    expect(empty.status).toBe(200);
  });
});

describe("Umami's public system routes", () => {
  test('heartbeat and config answer as Umami, without a credential', async () => {
    // Umami's web app and monitors ask them signed out: no route answered them before.
    const heartbeat = await t.call('GET', '/api/heartbeat');
    expect(heartbeat.status).toBe(200);
    expect(await heartbeat.json()).toEqual({ ok: true });
    const config = await t.call('GET', '/api/config');
    expect(config.status).toBe(200);
    expect(await config.json()).toEqual({
      cloudMode: false,
      privateMode: false,
      sessionDeletionEnabled: false,
      telemetryDisabled: true,
      updatesDisabled: true,
    });
  });
});

describe("@umami/api-client's /api/me routes", () => {
  test('me is the auth of a token; me/websites its websites; me/teams none', async () => {
    // getMe, getMyWebsites and getMyTeams of Umami's API client: 404s in Tally's shape before.
    const me = await t.call('GET', '/api/me', { token: admin.token });
    expect(me.status).toBe(200);
    const user = (await (
      await t.call('GET', '/api/auth/verify', { token: admin.token })
    ).json()) as Json;
    const { teams: _, ...withoutTeams } = user;
    expect(await me.json()).toEqual({
      token: admin.token,
      authKey: null,
      shareToken: null,
      user: withoutTeams,
    });
    expect(await (await t.call('GET', '/api/me')).json()).toEqual(UNAUTHORIZED);
    // The token as Tally reads the header (any case, any spaces), not its second word.
    const spaced = await t.call('GET', '/api/me', {
      headers: { authorization: `bearer  ${admin.token}` },
    });
    expect(((await spaced.json()) as Json).token).toBe(admin.token);
    expect((await t.call('GET', '/api/me', { token: acmeRead })).status).toBe(401);
    const websites = await t.call('GET', '/api/me/websites?pageSize=2', { token: admin.token });
    expect(await websites.json()).toEqual(
      await (await t.call('GET', '/api/websites?pageSize=2', { token: admin.token })).json(),
    );
    expect(await (await t.call('GET', '/api/me/websites')).json()).toEqual(UNAUTHORIZED);
    const teams = await t.call('GET', '/api/me/teams', { token: admin.token });
    expect(await teams.json()).toEqual({ data: [], count: 0, page: 1, pageSize: 20 });
    expect(await (await t.call('GET', '/api/me/teams')).json()).toEqual(UNAUTHORIZED);
  });
});

describe('websites a credential reads', () => {
  test("GET /api/websites: a member's projects by name; a read key's one; a stranger's none", async () => {
    const mine = (await (await t.call('GET', '/api/websites', { token: admin.token })).json()) as {
      data: Json[];
      count: number;
    };
    expect(mine.data.map((w) => [w.id, w.name, w.domain])).toEqual([
      [ACME, 'acme', 'shop.example'],
      ['default', 'Default', ''],
      [OTHER, 'other', ''],
    ]);
    expect(mine.count).toBe(3);
    const paged = await t.call('GET', '/api/websites?pageSize=1&page=2', { token: admin.token });
    expect(await paged.json()).toMatchObject({ count: 3, page: 2, pageSize: 1 });
    const searched = await t.call('GET', '/api/websites?search=SHOP', { token: admin.token });
    expect(((await searched.json()) as { data: Json[] }).data.map((w) => w.id)).toEqual([ACME]);
    const byName = await t.call('GET', '/api/websites?search=ACM', { token: admin.token });
    expect(((await byName.json()) as { data: Json[] }).data.map((w) => w.id)).toEqual([ACME]);
    const byKey = (await (await t.call('GET', '/api/websites', { token: acmeRead })).json()) as {
      data: Json[];
    };
    expect(byKey.data.map((w) => w.id)).toEqual([ACME]);
    const stranger = await signUp(t, 'stranger@example.com');
    const none = await t.call('GET', '/api/websites', { token: stranger.access_token });
    expect(await none.json()).toEqual({ data: [], count: 0, page: 1, pageSize: 20 });
    expect(await (await t.call('GET', '/api/websites')).json()).toEqual(UNAUTHORIZED);
  });

  test('a read key reads its website by alias or project id, as a bearer or x-umami-api-key', async () => {
    for (const call of [{ token: acmeRead }, { headers: { 'x-umami-api-key': acmeRead } }]) {
      const res = await stats(ACME, call);
      expect(res.status).toBe(200);
      expect(await res.json()).toMatchObject({ pageviews: 2, visitors: 1 });
    }
    expect(await (await stats('acme', { token: acmeRead })).json()).toMatchObject({
      pageviews: 2,
    });
    const site = await t.call('GET', `/api/websites/${ACME}`, { token: acmeRead });
    expect(await site.json()).toMatchObject({ id: ACME, name: 'acme', domain: 'shop.example' });
    const active = await t.call('GET', `/api/websites/${ACME}/active`, { token: acmeRead });
    expect(await active.json()).toEqual({ visitors: 1 });
  });

  test("another project's website, an unknown one, a write key or none: Umami's one 401", async () => {
    const stranger = await signUp(t, 'stranger@example.com');
    const acmeWrite = (await makeKey(t, admin.token, 'acme', 'write')).key;
    const refusals = [
      stats(OTHER, { token: acmeRead }),
      stats(ACME, { token: stranger.access_token }),
      stats('00000000-0000-4000-8000-000000000000', { token: admin.token }),
      stats('shop.example', { token: acmeRead }),
      stats(ACME, { token: acmeWrite }),
      stats(ACME, { token: 'not-a-token' }),
      stats(ACME, {}),
      t.call('GET', `/api/websites/${OTHER}`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/metrics?${RANGE}&type=path`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/pageviews?${RANGE}`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/active`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/daterange`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/values?${RANGE}&type=path`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/metrics/expanded?${RANGE}&type=path`, {
        token: acmeRead,
      }),
      t.call('GET', `/api/websites/${OTHER}/events/series?${RANGE}`, { token: acmeRead }),
      t.call('GET', `/api/websites/${OTHER}/sessions/weekly?${RANGE}`, { token: acmeRead }),
      t.call('GET', `/api/websites/${ACME}/sessions/weekly?${RANGE}`, {}),
    ];
    for (const res of await Promise.all(refusals)) {
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual(UNAUTHORIZED);
    }
    // The other project's own key reads it.
    const otherRead = (await makeKey(t, admin.token, 'other', 'read')).key;
    expect(await (await stats(OTHER, { token: otherRead })).json()).toMatchObject({
      pageviews: 1,
    });
  });
});

/** The X-RateLimit-* headers of an answer. */
function rateHeaders(res: Response): Record<string, string> {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    if (name.startsWith('x-ratelimit-')) headers[name] = value;
  });
  return headers;
}

describe('an unknown website answers as another project’s does', () => {
  test('the same 401, charged to the same bucket, with the same X-RateLimit-*', async () => {
    const stranger = await signUp(t, 'stranger@example.com');
    for (const token of [acmeRead, stranger.access_token]) {
      const known = await stats(OTHER, { token });
      const unknown = await stats('00000000-0000-4000-8000-000000000000', { token });
      const byId = await stats('no-such-project', { token });
      for (const res of [known, unknown, byId]) expect(res.status).toBe(401);
      const remaining = [known, unknown, byId].map(
        (res) => rateHeaders(res)['x-ratelimit-remaining'],
      );
      // Each spent one request: nothing tells the website that exists from the others.
      expect(remaining).toEqual(['99', '98', '97']);
      expect(Object.keys(rateHeaders(unknown))).toEqual(Object.keys(rateHeaders(known)));
    }
  });
});

describe('sessions and events a credential reads', () => {
  const get = (website: string, path: string, token: string) =>
    t.call('GET', `/api/websites/${website}/${path}`, { token });

  test("a read key reads its website's sessions and events; another's is Umami's 401", async () => {
    const sessions = (await (await get(ACME, `sessions?${RANGE}`, acmeRead)).json()) as {
      data: Json[];
      count: number;
    };
    expect(sessions.count).toBe(1);
    const id = sessions.data[0]?.id as string;
    expect(await (await get(ACME, `sessions/${id}`, acmeRead)).json()).toMatchObject({
      id,
      views: 2,
    });
    const events = await get(ACME, `events?${RANGE}`, acmeRead);
    expect(await events.json()).toMatchObject({ count: 2 });
    const paths = [
      `sessions?${RANGE}`,
      `sessions/stats?${RANGE}`,
      `sessions/${id}`,
      `sessions/${id}/activity?${RANGE}`,
      `events?${RANGE}`,
      `events/stats?${RANGE}`,
    ];
    const stranger = await signUp(t, 'stranger@example.com');
    for (const path of paths) {
      for (const [website, token] of [
        [OTHER, acmeRead],
        [ACME, stranger.access_token],
        [ACME, 'not-a-token'],
      ] as const) {
        const res = await get(website, path, token);
        expect(res.status, `${website} ${path}`).toBe(401);
        expect(await res.json()).toEqual(UNAUTHORIZED);
      }
    }
    // The admin's token reads the other website, whose sessions are its own.
    const other = await get(OTHER, `sessions?${RANGE}`, admin.token);
    const otherSessions = ((await other.json()) as { data: Json[] }).data;
    expect(otherSessions.map((s) => s.websiteId)).toEqual([OTHER]);
    expect(otherSessions[0]?.id).not.toBe(id);
  });
});

describe('event data and realtime a credential reads', () => {
  const paths = [
    `/event-data?${RANGE}`,
    `/event-data/events?${RANGE}`,
    `/event-data/fields?${RANGE}`,
    `/event-data/values?${RANGE}&propertyName=plan`,
    `/event-data/properties?${RANGE}`,
    `/event-data/stats?${RANGE}`,
  ];
  const urlOf = (website: string, path: string) =>
    path === 'realtime' ? `/api/realtime/${website}` : `/api/websites/${website}${path}`;

  test("a read key reads its website's event data and realtime; another's is Umami's 401", async () => {
    const res = await t.call('POST', '/api/send', {
      body: {
        type: 'event',
        payload: { website: ACME, url: '/', name: 'signup', data: { plan: 'pro' } },
      },
      headers: { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0' },
    });
    expect(res.status).toBe(200);
    const values = await t.call('GET', urlOf(ACME, paths[3] as string), { token: acmeRead });
    expect(await values.json()).toEqual([{ value: 'pro', total: 1 }]);
    const realtime = await t.call('GET', urlOf(ACME, 'realtime'), { token: admin.token });
    expect(await realtime.json()).toMatchObject({ urls: { '/': 2, '/pricing': 1 } });
    const stranger = await signUp(t, 'stranger@example.com');
    for (const path of [...paths, 'realtime']) {
      for (const [website, token] of [
        [OTHER, acmeRead],
        [ACME, stranger.access_token],
        [ACME, 'not-a-token'],
        [ACME, undefined],
      ] as const) {
        const refused = await t.call('GET', urlOf(website, path), token ? { token } : {});
        expect(refused.status, `${website} ${path}`).toBe(401);
        expect(await refused.json()).toEqual(UNAUTHORIZED);
      }
    }
  });
});

describe('past the read rate', () => {
  test("Umami's reads answer its 429 {error} shape, with Retry-After", async () => {
    // The read burst is 100 (RATE_READ_BURST): the 101st read at the same instant is over it.
    const active = () => t.call('GET', `/api/websites/${ACME}/active`, { token: acmeRead });
    let res = await active();
    for (let i = 0; i < 200 && res.status === 200; i++) res = await active();
    expect(res.status).toBe(429);
    expect(res.headers.get('retry-after')).toMatch(/^[1-9]\d*$/);
    expect(res.headers.get('x-ratelimit-remaining')).toBe('0');
    const body = (await res.json()) as { error: Json };
    expect(Object.keys(body)).toEqual(['error']);
    expect(body.error).toMatchObject({ code: 'too-many-requests', status: 429 });
    const realtime = await t.call('GET', `/api/realtime/${ACME}`, { token: acmeRead });
    expect(realtime.status).toBe(429);
    expect(((await realtime.json()) as { error: Json }).error.status).toBe(429);
  });
});
