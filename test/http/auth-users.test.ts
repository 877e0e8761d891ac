import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import {
  type AuthApp,
  join,
  json,
  makeAuthApp,
  makeProject,
  signUp,
  type Tokens,
} from '../auth/harness.ts';

let t: AuthApp;
let ada: Tokens;
beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
});
afterEach(() => t.close());

const me = (token: string) => t.call('GET', '/api/v1/users/me', { token });
const update = (token: string, body: unknown) => t.call('PUT', '/api/v1/users/me', { token, body });
const login = (email: string, password: string) =>
  t.call('POST', '/api/v1/auth/login', { body: { email, password } });

describe('/api/v1/users/me', () => {
  test('GET answers the signed-in user; no token is 401', async () => {
    const res = await me(ada.access_token);
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ email: 'ada@example.com', name: null });
    expect((await t.call('GET', '/api/v1/users/me')).status).toBe(401);
  });

  test('PUT changes name and email; an email in use is 409', async () => {
    const current_password = 'correct horse 1';
    const res = await update(ada.access_token, {
      name: 'Ada L.',
      email: 'ada@lovelace.org',
      current_password,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ name: 'Ada L.', email: 'ada@lovelace.org' });
    expect((await login('ada@lovelace.org', 'correct horse 1')).status).toBe(200);
    await signUp(t, 'bob@example.com');
    const taken = await update(ada.access_token, { email: 'BOB@example.com', current_password });
    expect(taken.status).toBe(409);
  });

  test('a new email needs the current password (a stolen token cannot take the account)', async () => {
    const missing = await update(ada.access_token, { email: 'evil@example.com' });
    expect(missing.status).toBe(422);
    const wrong = await update(ada.access_token, {
      email: 'evil@example.com',
      current_password: 'not it at all',
    });
    expect(wrong.status).toBe(403);
    expect((await json(await me(ada.access_token))).email).toBe('ada@example.com');
    // A name alone needs no password.
    expect((await update(ada.access_token, { name: 'Ada' })).status).toBe(200);
    // ... and so does a name beside a null email and password: a null optional field is
    // absent, as a client sending its whole model (None for what it leaves) has it.
    const nulls = { name: 'Ada B.', email: null, password: null, current_password: null };
    const named = await update(ada.access_token, nulls);
    expect(named.status).toBe(200);
    expect(await json(named)).toMatchObject({ name: 'Ada B.', email: 'ada@example.com' });
  });

  test('a new password needs the current one', async () => {
    const missing = await update(ada.access_token, { password: 'new password 22' });
    expect(missing.status).toBe(422);
    const wrong = await update(ada.access_token, {
      password: 'new password 22',
      current_password: 'not it at all',
    });
    expect(wrong.status).toBe(403);
    expect((await login('ada@example.com', 'correct horse 1')).status).toBe(200);
  });

  test('current_password guesses are limited per user, with Retry-After and X-RateLimit-*', async () => {
    // The default: 5 checks at once, then one every 12 s. A wrong one is a 403 until then.
    const guess = (n: number) =>
      update(ada.access_token, { password: 'taken over 1', current_password: `guess ${n}` });
    const statuses = [];
    for (let n = 0; n < 5; n++) statuses.push((await guess(n)).status);
    expect(statuses).toEqual([403, 403, 403, 403, 403]);
    const limited = await guess(5);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('12');
    expect(limited.headers.get('x-ratelimit-limit')).toBe('5');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(await json(limited)).toMatchObject({ code: 'rate_limited' });
    // Even the right password waits, and the other sessions are still signed in.
    const other = (await (await login('ada@example.com', 'correct horse 1')).json()) as Tokens;
    const right = { password: 'new password 22', current_password: 'correct horse 1' };
    expect((await update(ada.access_token, right)).status).toBe(429);
    expect((await me(other.access_token)).status).toBe(200);
    // A name alone checks no password, so it is not limited.
    expect((await update(ada.access_token, { name: 'Ada' })).status).toBe(200);
    // Another user has their own bucket.
    const bob = await signUp(t, 'bob@example.com');
    const bobs = { email: 'bob@lovelace.org', current_password: 'correct horse 1' };
    expect((await update(bob.access_token, bobs)).status).toBe(200);
    t.clock.advance(12_000);
    expect((await update(ada.access_token, right)).status).toBe(200);
  });

  test('a guesser at one address cannot lock the owner out of changing the password', async () => {
    await t.close();
    t = await makeAuthApp({ trustProxy: true });
    ada = await signUp(t, 'ada@example.com');
    const from = (ip: string, body: unknown) =>
      t.call('PUT', '/api/v1/users/me', {
        token: ada.access_token,
        body,
        headers: { 'x-forwarded-for': ip },
      });
    const thief = { password: 'taken over 1', current_password: 'a guess' };
    const statuses = [];
    for (let n = 0; n < 8; n++) statuses.push((await from('203.0.113.9', thief)).status);
    expect(statuses.slice(0, 5)).toEqual([403, 403, 403, 403, 403]);
    expect(statuses.slice(5)).toEqual([429, 429, 429]); // the thief's address is stopped
    const owner = { password: 'new password 22', current_password: 'correct horse 1' };
    expect((await from('198.51.100.4', owner)).status).toBe(200); // the owner is not
  });

  test('changing the password revokes the other sessions but keeps this one', async () => {
    const other = (await (await login('ada@example.com', 'correct horse 1')).json()) as Tokens;
    const res = await update(ada.access_token, {
      password: 'new password 22',
      current_password: 'correct horse 1',
    });
    expect(res.status).toBe(200);
    expect((await me(ada.access_token)).status).toBe(200);
    expect((await me(other.access_token)).status).toBe(401);
    const refresh = await t.call('POST', '/api/v1/auth/refresh', {
      body: { refresh_token: other.refresh_token },
    });
    expect(refresh.status).toBe(401);
    expect((await login('ada@example.com', 'correct horse 1')).status).toBe(401);
    expect((await login('ada@example.com', 'new password 22')).status).toBe(200);
  });

  /**
   * Holds the next password check (a login's) until `release` is called: what a slow argon2
   * verify is while the owner's request runs. Returns the release.
   */
  /** Holds the next password check (a login's verify, or a change's verifyThenHash). */
  function holdNextVerify(): () => void {
    const hasher = t.auth.hasher;
    const verify = hasher.verify.bind(hasher);
    const verifyThenHash = hasher.verifyThenHash.bind(hasher);
    let release = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const restore = () => {
      hasher.verify = verify; // only this one call waits
      hasher.verifyThenHash = verifyThenHash;
    };
    hasher.verify = async (password, hash) => {
      restore();
      const ok = await verify(password, hash);
      await gate;
      return ok;
    };
    hasher.verifyThenHash = async (password, hash, next) => {
      restore();
      const checked = await verifyThenHash(password, hash, next);
      await gate;
      return checked;
    };
    return release;
  }

  test('a login checked against the old password while it changes gets no session', async () => {
    const release = holdNextVerify();
    const thief = login('ada@example.com', 'correct horse 1');
    await Bun.sleep(50); // the thief's password check is running
    const changed = await update(ada.access_token, {
      password: 'new password 22',
      current_password: 'correct horse 1',
    });
    expect(changed.status).toBe(200);
    release();
    const res = await thief;
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({
      detail: 'incorrect email or password',
      code: 'unauthorized',
    });
    expect((await me(ada.access_token)).status).toBe(200);
  });

  test('a password change whose session ends while it runs changes nothing', async () => {
    const thief = (await (await login('ada@example.com', 'correct horse 1')).json()) as Tokens;
    const release = holdNextVerify();
    const taking = update(thief.access_token, {
      password: 'thief password 1',
      current_password: 'correct horse 1',
    });
    await Bun.sleep(50); // the thief's current_password check is running
    const owner = await update(ada.access_token, {
      password: 'new password 22',
      current_password: 'correct horse 1',
    });
    expect(owner.status).toBe(200); // the thief's session is revoked
    release();
    expect((await taking).status).toBe(401);
    expect((await me(ada.access_token)).status).toBe(200);
    expect((await login('ada@example.com', 'thief password 1')).status).toBe(401);
    expect((await login('ada@example.com', 'new password 22')).status).toBe(200);
  });

  test('a login checked while the account is deleted is 401, not a 500', async () => {
    const release = holdNextVerify();
    const late = login('ada@example.com', 'correct horse 1');
    await Bun.sleep(50);
    expect((await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token })).status).toBe(
      204,
    );
    release();
    expect((await late).status).toBe(401);
  });

  test('DELETE removes the account, its sessions and its memberships', async () => {
    const bob = await signUp(t, 'bob@example.com');
    await makeProject(t, bob.access_token, 'shared');
    const invitee = { email: 'ada@example.com', token: ada.access_token };
    expect((await join(t, bob.access_token, 'shared', invitee)).status).toBe(200);
    const res = await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token });
    expect(res.status).toBe(204);
    expect((await me(ada.access_token)).status).toBe(401);
    expect((await login('ada@example.com', 'correct horse 1')).status).toBe(401);
    const members = await t.call('GET', '/api/v1/projects/shared/members', {
      token: bob.access_token,
    });
    expect(((await members.json()) as { email: string }[]).map((m) => m.email)).toEqual([
      'bob@example.com',
    ]);
    // The email is free again.
    expect((await signUp(t, 'ada@example.com')).access_token).toBeString();
  });
});
