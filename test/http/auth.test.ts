import { afterEach, describe, expect, test } from 'bun:test';
import { createHmac } from 'node:crypto';
import { ACCESS_TOKEN_CHARS_MAX, defaultAuthOptions } from '../../src/auth/index.ts';
import { type AuthApp, json, makeAuthApp, signUp } from '../auth/harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const me = (token: string) => t.call('GET', '/api/v1/users/me', { token });
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const partsOf = (token: string) => {
  const [head, body, signature] = token.split('.') as [string, string, string];
  return {
    head,
    body,
    signature,
    header: JSON.parse(Buffer.from(head, 'base64url').toString()) as Record<string, unknown>,
    claims: JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>,
  };
};

describe('register and login', () => {
  test('register answers 201 with the user; a duplicate email is 409', async () => {
    t = await makeAuthApp();
    const res = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'Ada@Example.com', password: 'correct horse 1', name: 'Ada' },
    });
    expect(res.status).toBe(201);
    const user = await json(res);
    expect(user).toMatchObject({ email: 'ada@example.com', name: 'Ada', is_admin: false });
    expect(Object.keys(user).sort()).toEqual(
      ['created_at', 'email', 'id', 'is_admin', 'name', 'updated_at'].sort(),
    );
    const again = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'ada@example.com', password: 'another password' },
    });
    expect(again.status).toBe(409);
    expect(await json(again)).toMatchObject({ code: 'conflict' });
  });

  test('a short password or a bad email is 422 naming the field', async () => {
    t = await makeAuthApp();
    const short = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'a@b.co', password: '123456789' },
    });
    expect(short.status).toBe(422);
    expect(await json(short)).toEqual({
      detail: [
        {
          loc: ['body', 'password'],
          msg: 'password must be at least 10 characters',
          type: 'string_too_short',
        },
      ],
    });
    const email = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'nope', password: '1234567890' },
    });
    expect(((await json(email)).detail as { loc: string[] }[])[0]?.loc).toEqual(['body', 'email']);
  });

  // README: password ≥ 10 and ≤ 256 characters, a name of a user, project or key ≤ 120.
  test('a password over 256 characters, or a name over 120, is 422 naming the field', async () => {
    t = await makeAuthApp();
    const refusal = async (path: string, body: unknown, token?: string) =>
      (await json(await t.call('POST', path, { body, token }))).detail;
    const long = await refusal('/api/v1/auth/register', {
      email: 'a@b.co',
      password: 'p'.repeat(257),
    });
    expect(long).toEqual([
      {
        loc: ['body', 'password'],
        msg: 'password must be at most 256 characters',
        type: 'string_too_long',
      },
    ]);
    const named = await refusal('/api/v1/auth/register', {
      email: 'a@b.co',
      password: 'p'.repeat(256),
      name: 'n'.repeat(121),
    });
    const tooLong = {
      loc: ['body', 'name'],
      msg: 'name must be at most 120 characters',
      type: 'string_too_long',
    };
    expect(named).toEqual([tooLong]);
    const ada = await signUp(t, 'ada@example.com', 'p'.repeat(256));
    const token = ada.access_token;
    const project = { id: 'acme', name: 'n'.repeat(121) };
    expect(await refusal('/api/v1/projects', project, token)).toEqual([tooLong]);
    const made = await t.call('POST', '/api/v1/projects', {
      token,
      body: { id: 'acme', name: 'n'.repeat(120) },
    });
    expect(made.status).toBe(201);
    const key = { kind: 'read', name: 'n'.repeat(121) };
    expect(await refusal('/api/v1/projects/acme/keys', key, token)).toEqual([tooLong]);
  });

  test('a name holding a control character or a lone surrogate is a 422, nothing made', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    const token = ada.access_token;
    for (const name of ['a\u0000b', 'line\nbreak', '\u001b[31mred', 'del\u007f', 'c1\u0085']) {
      const res = await t.call('POST', '/api/v1/projects', { token, body: { id: 'acme', name } });
      expect(res.status).toBe(422);
      expect((await json(res)).detail).toEqual([
        {
          loc: ['body', 'name'],
          msg: 'name must hold no control character (U+0000–U+001F, U+007F–U+009F)',
          type: 'string_pattern_mismatch',
        },
      ]);
    }
    const lone = await t.call('POST', '/api/v1/projects', {
      token,
      text: '{"id":"acme","name":"half \\ud83d"}',
      headers: { 'content-type': 'application/json' },
    });
    expect(lone.status).toBe(422);
    const list = await json(await t.call('GET', '/api/v1/projects', { token }));
    expect(JSON.stringify(list)).not.toContain('acme');
    // A tab inside a name is a control character too; spaces around it are trimmed as before.
    const fine = await t.call('POST', '/api/v1/projects', {
      token,
      body: { id: 'acme', name: '  Acme — Café 😀  ' },
    });
    expect(fine.status).toBe(201);
    expect((await json(fine)).name).toBe('Acme — Café 😀');
    // README: "white space and line breaks at either end are taken off" before the check.
    const ends = await t.call('POST', '/api/v1/projects', {
      token,
      body: { id: 'globex', name: '\r\n\tGlobex\n' },
    });
    expect(ends.status).toBe(201);
    expect((await json(ends)).name).toBe('Globex');
  });

  test('login takes JSON or the OAuth2 password form and returns bearer tokens', async () => {
    t = await makeAuthApp();
    await signUp(t, 'ada@example.com');
    const viaJson = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    expect(viaJson.status).toBe(200);
    const tokens = await json(viaJson);
    expect(tokens).toMatchObject({ token_type: 'bearer', expires_in: 900 });
    expect(tokens.refresh_token).toMatch(/^rt_[A-Za-z0-9_-]{55}$/);
    const viaForm = await t.call('POST', '/api/v1/auth/login', {
      form: { grant_type: 'password', username: 'ADA@example.com', password: 'correct horse 1' },
    });
    expect(viaForm.status).toBe(200);
    // Tokens are never stored by a browser or proxy cache (RFC 6749 §5.1).
    for (const res of [viaJson, viaForm]) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      expect(res.headers.get('pragma')).toBe('no-cache');
    }
    const { access_token } = await json(viaForm);
    expect((await json(await me(access_token as string))).email).toBe('ada@example.com');
  });

  test('a wrong password or an unknown email is 401 with the same message', async () => {
    t = await makeAuthApp();
    await signUp(t, 'ada@example.com');
    const wrong = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'wrong password' },
    });
    const unknown = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'bob@example.com', password: 'wrong password' },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(await json(wrong)).toEqual(await json(unknown));
  });

  test('when registration is closed only an admin can create accounts', async () => {
    t = await makeAuthApp({ auth: { registrationOpen: false } });
    const body = { email: 'bob@example.com', password: 'correct horse 1' };
    expect((await t.call('POST', '/api/v1/auth/register', { body })).status).toBe(403);
    const hash = await t.auth.hasher.hash('admin password 1');
    t.auth.stores.users.create({
      email: 'root@example.com',
      name: null,
      passwordHash: hash,
      isAdmin: true,
      now: t.clock.now(),
    });
    const login = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'root@example.com', password: 'admin password 1' },
    });
    const { access_token } = await json(login);
    const made = await t.call('POST', '/api/v1/auth/register', {
      body,
      token: access_token as string,
    });
    expect(made.status).toBe(201);
  });

  test("a proxy's Basic Authorization is no sign-in: register answers as without one", async () => {
    // An authenticating proxy in front (ALLOW_OPEN_ON_PUBLIC=1) passes its Basic credentials
    // on; they are no Tally credential, as bearerOf ignores every other scheme.
    const basic = { authorization: `Basic ${Buffer.from('team:proxy-pass').toString('base64')}` };
    t = await makeAuthApp();
    const body = { email: 'bob@example.com', password: 'correct horse 1' };
    const open = await t.call('POST', '/api/v1/auth/register', { body, headers: basic });
    expect(open.status).toBe(201);
    const bad = await t.call('POST', '/api/v1/auth/register', {
      body: { ...body, email: 'cy@example.com' },
      headers: { authorization: 'Bearer not-a-token' },
    });
    expect(bad.status).toBe(401); // a bearer token is read, and this one is none
    await t.close();
    t = await makeAuthApp({ auth: { registrationOpen: false } });
    const closed = await t.call('POST', '/api/v1/auth/register', { body, headers: basic });
    expect(closed.status).toBe(403);
    expect(((await json(closed)) as { detail: string }).detail).toContain('registration is closed');
  });

  test('registration closed: an admin signed out while the password is hashed creates none', async () => {
    t = await makeAuthApp({ auth: { registrationOpen: false } });
    const hasher = t.auth.hasher;
    const admin = { email: 'root@example.com', password: 'admin password 1' };
    t.auth.stores.users.create({
      email: admin.email,
      name: null,
      passwordHash: await hasher.hash(admin.password),
      isAdmin: true,
      now: t.clock.now(),
    });
    const tokens = await json(await t.call('POST', '/api/v1/auth/login', { body: admin }));
    // The next hash (the new account's password) waits until the admin has signed out.
    const hash = hasher.hash.bind(hasher);
    let reached = () => {};
    const hashing = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    hasher.hash = async (password: string) => {
      hasher.hash = hash;
      reached();
      await released;
      return hash(password);
    };
    const body = { email: 'bob@example.com', password: 'correct horse 1' };
    const made = t.call('POST', '/api/v1/auth/register', {
      body,
      token: tokens.access_token as string,
    });
    await hashing;
    const out = await t.call('POST', '/api/v1/auth/logout', {
      body: { refresh_token: tokens.refresh_token },
    });
    expect(out.status).toBe(204);
    release();
    expect((await made).status).toBe(401);
    expect(t.auth.stores.users.withHashByEmail('bob@example.com')).toBeNull();
  });
});

describe('access tokens on the wire', () => {
  test('alg none, wrong signature, expired, tampered payload and wrong kid are 401', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    const bob = await signUp(t, 'bob@example.com');
    expect((await me(ada.access_token)).status).toBe(200);
    const p = partsOf(ada.access_token);
    const bobSub = partsOf(bob.access_token).claims.sub;
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: p.header.kid })}.${p.body}.`;
    const wrongKey = createHmac('sha256', 'guessed secret')
      .update(`${p.head}.${p.body}`)
      .digest('base64url');
    const tampered = `${p.head}.${b64({ ...p.claims, sub: bobSub })}.${p.signature}`;
    const wrongKid = `${b64({ ...p.header, kid: 'ffffffffffffffff' })}.${p.body}.${p.signature}`;
    for (const token of [none, `${p.head}.${p.body}.${wrongKey}`, tampered, wrongKid]) {
      const res = await me(token);
      expect(res.status).toBe(401);
      expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    }
    t.clock.advance(15 * 60_000);
    expect((await me(ada.access_token)).status).toBe(401);
  });

  test('a token over ACCESS_TOKEN_CHARS_MAX is 401 invalid_token, as README Limits says', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    const p = partsOf(ada.access_token);
    // A well-formed token whose header is padded past the limit (a `pad` field).
    const pad = 'x'.repeat(ACCESS_TOKEN_CHARS_MAX);
    const long = `${b64({ ...p.header, pad })}.${p.body}.${p.signature}`;
    expect(long.length).toBeGreaterThan(ACCESS_TOKEN_CHARS_MAX);
    const res = await me(long);
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer error="invalid_token"');
    expect(await json(res)).toEqual({ detail: 'invalid access token', code: 'unauthorized' });
  });

  test('no token is 401 with a Bearer challenge', async () => {
    t = await makeAuthApp();
    const res = await me('');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
  });

  test('the signing secret rotates; tokens of the old one live until they expire', async () => {
    t = await makeAuthApp({ auth: { signingKeyRotateMs: 60 * 60_000 } });
    const first = await signUp(t, 'ada@example.com');
    t.clock.advance(60 * 60_000 - 60_000); // the first access token is long expired by now
    const refreshed = await json(
      await t.call('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: first.refresh_token },
      }),
    );
    t.clock.advance(60_000); // the key is due: the next token is signed with a new one
    const second = await json(
      await t.call('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: refreshed.refresh_token },
      }),
    );
    const kidOf = (token: unknown) => partsOf(token as string).header.kid;
    expect(kidOf(second.access_token)).not.toBe(kidOf(refreshed.access_token));
    expect((await me(refreshed.access_token as string)).status).toBe(200);
    expect((await me(second.access_token as string)).status).toBe(200);
    t.clock.advance(14 * 60_000);
    expect((await me(refreshed.access_token as string)).status).toBe(401);
    expect((await me(second.access_token as string)).status).toBe(200);
  });
});

describe('refresh tokens', () => {
  test('refresh rotates: the new pair works and the old refresh token does not', async () => {
    t = await makeAuthApp();
    const first = await signUp(t, 'ada@example.com');
    const res = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get('pragma')).toBe('no-cache');
    const second = await json(res);
    expect(second.refresh_token).not.toBe(first.refresh_token);
    expect((await me(second.access_token as string)).status).toBe(200);
    const form = await t.call('POST', '/api/v1/auth/refresh', {
      form: { grant_type: 'refresh_token', refresh_token: second.refresh_token as string },
    });
    expect(form.status).toBe(200);
  });

  test('reusing a refresh token is 401 and kills every token of its family', async () => {
    t = await makeAuthApp();
    const stolen = await signUp(t, 'ada@example.com');
    const other = await json(
      await t.call('POST', '/api/v1/auth/login', {
        body: { email: 'ada@example.com', password: 'correct horse 1' },
      }),
    );
    const rotated = await json(
      await t.call('POST', '/api/v1/auth/refresh', {
        body: { refresh_token: stolen.refresh_token },
      }),
    );
    const reuse = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: stolen.refresh_token },
    });
    expect(reuse.status).toBe(401);
    const next = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: rotated.refresh_token },
    });
    expect(next.status).toBe(401);
    expect((await me(rotated.access_token as string)).status).toBe(401);
    expect((await me(stolen.access_token)).status).toBe(401);
    // Another session of the same user is a different family and lives on.
    expect((await me(other.access_token as string)).status).toBe(200);
  });

  test('two refreshes racing with one token: one wins, the other is a reuse', async () => {
    // Two tabs sharing a refresh token: both succeeding would fork the family into two live
    // branches, so a thief racing the owner would keep one. The loser is a reuse instead.
    t = await makeAuthApp();
    const shared = await signUp(t, 'ada@example.com');
    const refresh = () =>
      t.call('POST', '/api/v1/auth/refresh', { body: { refresh_token: shared.refresh_token } });
    const answers = await Promise.all([refresh(), refresh()]);
    expect(answers.map((r) => r.status).sort()).toEqual([200, 401]);
    const winner = await json(answers.find((r) => r.status === 200) as Response);
    expect((await me(winner.access_token as string)).status).toBe(401);
    const next = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: winner.refresh_token },
    });
    expect(next.status).toBe(401);
  });

  test('refreshes are limited per user: a script cannot grow the token table without bound', async () => {
    // Every refresh stores a row kept until it expires (for reuse detection): unlimited, one
    // account could fill the disk. The limit is taken before the token is spent.
    const refreshUser = { perSecond: 1 / 60, burst: 3 };
    t = await makeAuthApp({ auth: { rates: { ...defaultAuthOptions.rates, refreshUser } } });
    let tokens = await signUp(t, 'ada@example.com');
    const other = await signUp(t, 'bob@example.com');
    const refresh = (refresh_token: string) =>
      t.call('POST', '/api/v1/auth/refresh', { body: { refresh_token } });
    // A token of an ended session (a stale one a thief might hold) takes nothing from the bucket.
    const login = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    const ended = (await login.json()) as typeof tokens;
    await t.call('POST', '/api/v1/auth/logout', { body: { refresh_token: ended.refresh_token } });
    for (let i = 0; i < 5; i++) expect((await refresh(ended.refresh_token)).status).toBe(401);
    // A second session of hers (another device): the limit is the user's, over all of them.
    const device = (await (
      await t.call('POST', '/api/v1/auth/login', {
        body: { email: 'ada@example.com', password: 'correct horse 1' },
      })
    ).json()) as typeof tokens;
    for (let i = 0; i < 3; i++) {
      const res = await refresh(tokens.refresh_token);
      expect(res.status).toBe(200);
      tokens = (await res.json()) as typeof tokens;
    }
    const refused = await refresh(tokens.refresh_token);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(await json(refused)).toEqual({
      detail: 'too many token refreshes; retry later',
      code: 'rate_limited',
    });
    expect((await refresh(device.refresh_token)).status).toBe(429);
    // Another user is not touched; the refused token was not spent, so it works once the
    // bucket refills (no reuse, no revoked session).
    expect((await refresh(other.refresh_token)).status).toBe(200);
    t.clock.advance(60_000);
    expect((await refresh(tokens.refresh_token)).status).toBe(200);
  });

  test('an unknown, malformed or expired refresh token is 401', async () => {
    t = await makeAuthApp({ auth: { refreshTtlMs: 60_000 } });
    const tokens = await signUp(t, 'ada@example.com');
    const forged = `${tokens.refresh_token.slice(0, -4)}AAAA`;
    for (const refresh_token of ['rt_nope', forged]) {
      const res = await t.call('POST', '/api/v1/auth/refresh', { body: { refresh_token } });
      expect(res.status).toBe(401);
    }
    t.clock.advance(60_000);
    const expired = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: tokens.refresh_token },
    });
    expect(expired.status).toBe(401);
    expect((await t.call('POST', '/api/v1/auth/refresh', { body: {} })).status).toBe(422);
  });

  test('logout revokes the family: its refresh and access tokens stop working', async () => {
    t = await makeAuthApp();
    const tokens = await signUp(t, 'ada@example.com');
    const out = await t.call('POST', '/api/v1/auth/logout', {
      body: { refresh_token: tokens.refresh_token },
    });
    expect(out.status).toBe(204);
    expect((await me(tokens.access_token)).status).toBe(401);
    const refresh = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: tokens.refresh_token },
    });
    expect(refresh.status).toBe(401);
  });

  test('logout with only the access token ends that session', async () => {
    t = await makeAuthApp();
    const tokens = await signUp(t, 'ada@example.com');
    const out = await t.call('POST', '/api/v1/auth/logout', { token: tokens.access_token });
    expect(out.status).toBe(204);
    expect((await me(tokens.access_token)).status).toBe(401);
    expect((await t.call('POST', '/api/v1/auth/logout', {})).status).toBe(401);
  });

  test("a refresh token that names no session ends the bearer token's, and only it", async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    const login = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    const adaElsewhere = (await login.json()) as typeof ada;
    const bob = await signUp(t, 'bob@example.com');
    const logout = (refresh_token: string, token?: string) =>
      t.call('POST', '/api/v1/auth/logout', { body: { refresh_token }, token });
    // Made up, or a real one's id with a wrong secret: no session, and without a valid access
    // token nothing to end.
    const forged = `${ada.refresh_token.slice(0, -4)}AAAA`;
    expect((await logout(forged)).status).toBe(401);
    expect((await logout('rt_nope', 'not.a.jwt')).status).toBe(401);
    expect((await me(ada.access_token)).status).toBe(200);
    // With the access token: its session ends, the same user's other one and Bob's go on.
    expect((await logout(forged, ada.access_token)).status).toBe(204);
    expect((await me(ada.access_token)).status).toBe(401);
    const refresh = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: ada.refresh_token },
    });
    expect(refresh.status).toBe(401);
    expect((await me(adaElsewhere.access_token)).status).toBe(200);
    expect((await me(bob.access_token)).status).toBe(200);
    // Said again (its answer lost), it is answered the same, and still ends nothing else.
    expect((await logout(forged, ada.access_token)).status).toBe(204);
    expect((await t.call('POST', '/api/v1/auth/logout', { token: ada.access_token })).status).toBe(
      204,
    );
    expect((await me(adaElsewhere.access_token)).status).toBe(200);
    // An access token past its expiry names no session to end.
    t.clock.advance(defaultAuthOptions.accessTtlMs);
    expect((await logout('rt_nope', adaElsewhere.access_token)).status).toBe(401);
    // A refresh token that names its session ends it, whatever the access token sent along:
    // expired (README: "an expired one beside a good refresh token stops nothing") or garbage.
    expect((await logout(adaElsewhere.refresh_token, adaElsewhere.access_token)).status).toBe(204);
    expect((await logout(adaElsewhere.refresh_token, 'not.a.jwt')).status).toBe(204);
    const ended = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: adaElsewhere.refresh_token },
    });
    expect(ended.status).toBe(401);
  });

  test('logout with a refresh token already rotated ends its session', async () => {
    t = await makeAuthApp();
    const first = await signUp(t, 'ada@example.com');
    const res = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: first.refresh_token },
    });
    const next = (await res.json()) as typeof first;
    const out = await t.call('POST', '/api/v1/auth/logout', {
      body: { refresh_token: first.refresh_token },
      token: next.access_token,
    });
    expect(out.status).toBe(204);
    expect((await me(next.access_token)).status).toBe(401);
  });
});

describe('registration limits', () => {
  test('each address registers a few accounts an hour', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        rates: { ...defaultAuthOptions.rates, registerIp: { perSecond: 1 / 3600, burst: 2 } },
      },
    });
    const register = (email: string, ip: string, token?: string) =>
      t.call('POST', '/api/v1/auth/register', {
        body: { email, password: 'correct horse 1' },
        headers: { 'x-forwarded-for': ip },
        ...(token === undefined ? {} : { token }),
      });
    expect((await register('a@example.com', '203.0.113.9')).status).toBe(201);
    expect((await register('b@example.com', '203.0.113.9')).status).toBe(201);
    const limited = await register('c@example.com', '203.0.113.9');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3600');
    expect((await register('c@example.com', '198.51.100.2')).status).toBe(201);
    t.clock.advance(3_600_000);
    expect((await register('d@example.com', '203.0.113.9')).status).toBe(201);
  });

  test('an IPv6 client is limited by its /64, IPv4-mapped as the IPv4 address', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        rates: { ...defaultAuthOptions.rates, registerIp: { perSecond: 1 / 3600, burst: 2 } },
      },
    });
    const register = (n: number, ip: string) =>
      t.call('POST', '/api/v1/auth/register', {
        body: { email: `bot${n}@example.com`, password: 'correct horse 1' },
        headers: { 'x-forwarded-for': ip },
      });
    const statuses = [];
    for (let n = 1; n <= 4; n++) statuses.push((await register(n, `2001:db8:1:2::${n}`)).status);
    expect(statuses).toEqual([201, 201, 429, 429]);
    expect((await register(5, '2001:db8:1:3::1')).status).toBe(201);
    // README: "IPv4-mapped IPv6 as the IPv4 address; registrations too".
    expect((await register(6, '203.0.113.7')).status).toBe(201);
    expect((await register(7, '::ffff:203.0.113.7')).status).toBe(201);
    expect((await register(8, '203.0.113.7')).status).toBe(429);
  });
});

describe('login limits', () => {
  const attempt = (email: string, ip?: string) =>
    t.call('POST', '/api/v1/auth/login', {
      body: { email, password: 'wrong password' },
      headers: ip === undefined ? {} : { 'x-forwarded-for': ip },
    });

  test('attempts are limited per email, with Retry-After and X-RateLimit-*', async () => {
    t = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, loginEmail: { perSecond: 1 / 60, burst: 4 } } },
    });
    await signUp(t, 'ada@example.com'); // its login is the first attempt
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await attempt('ada@example.com')).status);
    expect(statuses).toEqual([401, 401, 401]);
    const limited = await attempt('ADA@example.com');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('4');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    // Even the right password waits: the limit is on attempts.
    const right = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    expect(right.status).toBe(429);
    expect((await attempt('bob@example.com')).status).toBe(401);
    t.clock.advance(60_000);
    expect((await attempt('ada@example.com')).status).toBe(401);
  });

  test('attempts are limited per client IP', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: { rates: { ...defaultAuthOptions.rates, loginIp: { perSecond: 1 / 60, burst: 2 } } },
    });
    expect((await attempt('a@example.com', '203.0.113.7')).status).toBe(401);
    expect((await attempt('b@example.com', '203.0.113.7')).status).toBe(401);
    expect((await attempt('c@example.com', '203.0.113.7')).status).toBe(429);
    expect((await attempt('c@example.com', '198.51.100.1')).status).toBe(401);
  });

  test('attempts from one IPv6 /64 share a limit; IPv4-mapped is the IPv4 address', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: { rates: { ...defaultAuthOptions.rates, loginIp: { perSecond: 1 / 60, burst: 2 } } },
    });
    expect((await attempt('a@example.com', '2001:db8:1:2::a')).status).toBe(401);
    expect((await attempt('b@example.com', '2001:db8:1:2:ffff::b')).status).toBe(401);
    expect((await attempt('c@example.com', '2001:db8:1:2::c')).status).toBe(429);
    expect((await attempt('c@example.com', '2001:db8:1:3::c')).status).toBe(401);
    expect((await attempt('d@example.com', '203.0.113.7')).status).toBe(401);
    expect((await attempt('e@example.com', '::ffff:203.0.113.7')).status).toBe(401);
    expect((await attempt('f@example.com', '203.0.113.7')).status).toBe(429);
  });

  test('current_password checks take from the login limit of the client IP', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: { rates: { ...defaultAuthOptions.rates, loginIp: { perSecond: 1 / 60, burst: 3 } } },
    });
    const ada = await signUp(t, 'ada@example.com'); // its login comes from no address
    const guess = (ip: string) =>
      t.call('PUT', '/api/v1/users/me', {
        token: ada.access_token,
        body: { email: 'evil@example.com', current_password: 'not it at all' },
        headers: { 'x-forwarded-for': ip },
      });
    expect((await attempt('a@example.com', '203.0.113.7')).status).toBe(401);
    expect((await guess('203.0.113.7')).status).toBe(403);
    expect((await guess('203.0.113.7')).status).toBe(403);
    const limited = await guess('203.0.113.7');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('x-ratelimit-limit')).toBe('3');
    expect((await attempt('b@example.com', '203.0.113.7')).status).toBe(429);
    expect((await guess('198.51.100.1')).status).toBe(403);
  });

  test('behind a proxy the client is the hop the proxy appended, not one the client wrote', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: { rates: { ...defaultAuthOptions.rates, loginIp: { perSecond: 1 / 60, burst: 2 } } },
    });
    const spoofed = (n: number) => `10.0.${n}.1, 203.0.113.7`;
    const statuses = [];
    for (let n = 0; n < 4; n++)
      statuses.push((await attempt(`u${n}@example.com`, spoofed(n))).status);
    expect(statuses).toEqual([401, 401, 429, 429]);
  });

  test('an address over its limit does not touch the limits of the emails it tries', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        rateKeysMax: 2,
        rates: {
          ...defaultAuthOptions.rates,
          loginEmail: { perSecond: 1 / 60, burst: 2 },
          loginEmailTotal: { perSecond: 1 / 60, burst: 2 },
          loginIp: { perSecond: 1 / 60, burst: 1 },
        },
      },
    });
    expect((await attempt('ada@example.com', '203.0.113.1')).status).toBe(401);
    expect((await attempt('ada@example.com', '203.0.113.2')).status).toBe(401);
    expect((await attempt('ada@example.com', '203.0.113.3')).status).toBe(429); // by email
    // One address floods junk emails: refused by its own limit, it creates no email buckets,
    // so it cannot push ada's full bucket out of the bounded table.
    for (let i = 0; i < 5; i++) {
      expect((await attempt(`junk${i}@example.com`, '203.0.113.3')).status).toBe(429);
    }
    expect((await attempt('ada@example.com', '203.0.113.4')).status).toBe(429);
  });

  test("a flood of addresses and emails does not push out an email's limit", async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        rateKeysMax: 4,
        rates: {
          ...defaultAuthOptions.rates,
          loginEmail: { perSecond: 1, burst: 20 },
          loginEmailTotal: { perSecond: 1 / 60, burst: 10 },
        },
      },
    });
    const drain = [];
    for (let i = 0; i < 11; i++)
      drain.push((await attempt('ada@example.com', '203.0.113.1')).status);
    expect(drain).toEqual([...Array(10).fill(401), 429]); // ada's total owes 10 minutes
    // Each address and junk email owes one attempt, refilled before its place is wanted: they
    // make room for each other, and ada's debt (the least recently used bucket) is kept.
    for (let i = 0; i < 6; i++) {
      t.clock.advance(21_000);
      expect((await attempt(`junk${i}@example.com`, `2001:db8:${i}::1`)).status).toBe(401);
    }
    // 126 s later ada's total holds 2.1 attempts, not a fresh 10.
    const after = [];
    for (let i = 0; i < 3; i++)
      after.push((await attempt('ada@example.com', '2001:db8:99::1')).status);
    expect(after).toEqual([401, 401, 429]);
  });

  test('a flood of cheap address-and-email keys does not refuse logins from new addresses', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        rateKeysMax: 4,
        rates: {
          ...defaultAuthOptions.rates,
          loginIp: { perSecond: 1000, burst: 30 }, // each address refilled 1 ms later
          loginEmailTotal: { perSecond: 1 / 60, burst: 1 },
        },
      },
    });
    expect((await attempt('junk@example.com', '2001:db8::1')).status).toBe(401);
    // Refused by junk's total, these cost no hash, yet each leaves an address-and-email debt.
    for (let i = 1; i <= 6; i++) {
      t.clock.advance(1);
      expect((await attempt('junk@example.com', `2001:db8:${i}::1`)).status).toBe(429);
    }
    t.clock.advance(1);
    expect((await attempt('ada@example.com', '2001:db8:99::1')).status).toBe(401);
  });
});
