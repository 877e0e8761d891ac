// Password hashes (argon2id: ~64 MiB and ~0.1 s of a core each, for anyone who can reach a
// login) run and wait in bounded numbers: logins from many addresses, each within its own rate,
// can neither take every core nor queue without end. Past the bound the request is a 503 with
// Retry-After, before it spends any rate limit.

import { afterEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import { type AuthApp, json, makeAuthApp, signUp } from './harness.ts';

let t: AuthApp;
const verify = Bun.password.verify;
afterEach(async () => {
  Bun.password.verify = verify;
  await t.close();
});

const login = (ip: string, password = 'not the password') =>
  t.call('POST', '/api/v1/auth/login', {
    body: { email: 'ada@example.com', password },
    headers: { 'x-forwarded-for': ip },
  });

/** Holds the next password verification until `release` is called. */
function holdNextVerify(): { reached: Promise<void>; release: () => void } {
  let reached = () => {};
  const reachedP = new Promise<void>((resolve) => {
    reached = resolve;
  });
  let release = () => {};
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  Bun.password.verify = async (...args: Parameters<typeof verify>) => {
    Bun.password.verify = verify;
    reached();
    await released;
    return verify(...args);
  };
  return { reached: reachedP, release };
}

describe('password hashes at once', () => {
  test('past those running and waiting a login is 503 with Retry-After, spending no rate', async () => {
    t = await makeAuthApp({
      trustProxy: true,
      auth: {
        passwordHashes: { runningMax: 1, waitingMax: 1 },
        rates: { ...defaultAuthOptions.rates, loginIp: { perSecond: 1 / 60, burst: 1 } },
      },
    });
    await signUp(t, 'ada@example.com');
    const held = holdNextVerify();
    const running = login('203.0.113.1');
    await held.reached;
    // One of these two waits for the place; the other finds no room and is refused at once.
    const both = [login('203.0.113.2'), login('203.0.113.3')];
    const refused = await Promise.race(both);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(await json(refused)).toEqual({
      detail:
        '2 password checks are running or waiting (the most the server takes at once); ' +
        'retry later',
      code: 'overloaded',
    });
    held.release();
    expect((await running).status).toBe(401);
    const statuses = (await Promise.all(both)).map((r) => r.status).sort();
    expect(statuses).toEqual([401, 503]);
    // The refused address kept its one login attempt: it is checked now, not 429.
    const again = await login(refused === (await both[0]) ? '203.0.113.2' : '203.0.113.3');
    expect(again.status).toBe(401);
    const right = await login('203.0.113.4', 'correct horse 1');
    expect(right.status).toBe(200);
  });

  test('a registration and a password change are held to the same bound', async () => {
    t = await makeAuthApp({ auth: { passwordHashes: { runningMax: 1, waitingMax: 0 } } });
    const ada = await signUp(t, 'ada@example.com');
    const held = holdNextVerify();
    const running = login('203.0.113.1');
    await held.reached;
    const register = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'bo@example.com', password: 'another long one' },
    });
    expect(register.status).toBe(503);
    expect(t.auth.stores.users.withHashByEmail('bo@example.com')).toBeNull();
    const change = await t.call('PUT', '/api/v1/users/me', {
      token: ada.access_token,
      body: { current_password: 'correct horse 1', password: 'a new long passphrase' },
    });
    expect(change.status).toBe(503);
    held.release();
    expect((await running).status).toBe(401);
    const registered = await t.call('POST', '/api/v1/auth/register', {
      body: { email: 'bo@example.com', password: 'another long one' },
    });
    expect(registered.status).toBe(201);
  });

  test("a password change's check and new hash take one place: it does not queue twice", async () => {
    t = await makeAuthApp({ auth: { passwordHashes: { runningMax: 1, waitingMax: 1 } } });
    const ada = await signUp(t, 'ada@example.com');
    const held = holdNextVerify();
    const done: string[] = [];
    const change = t
      .call('PUT', '/api/v1/users/me', {
        token: ada.access_token,
        body: { current_password: 'correct horse 1', password: 'a new long passphrase' },
      })
      .then((response) => {
        done.push('change');
        return response;
      });
    await held.reached;
    const waiting = login('203.0.113.1').then((response) => {
      done.push('login');
      return response;
    });
    await Bun.sleep(10); // the login waits for the place the change holds
    held.release();
    expect((await change).status).toBe(200);
    expect((await waiting).status).toBe(401);
    // The new hash ran in the change's own place, not after the login that waited meanwhile.
    expect(done).toEqual(['change', 'login']);
  });
});
