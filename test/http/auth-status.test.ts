import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type AuthApp, json, makeAuthApp, makeKey, makeProject, signUp } from '../auth/harness.ts';

let t: AuthApp;
beforeEach(async () => {
  t = await makeAuthApp();
});
afterEach(() => t.close());

/** Creates an admin account and signs it in; returns its access token. */
async function adminToken(): Promise<string> {
  t.auth.stores.users.create({
    email: 'root@example.com',
    name: null,
    passwordHash: await t.auth.hasher.hash('admin password 1'),
    isAdmin: true,
    now: t.clock.now(),
  });
  const login = await t.call('POST', '/api/v1/auth/login', {
    body: { email: 'root@example.com', password: 'admin password 1' },
  });
  return (await json(login)).access_token as string;
}

describe('operations routes in AUTH_MODE=required', () => {
  test('/health and /ready stay public', async () => {
    expect(await json(await t.call('GET', '/health'))).toEqual({ status: 'ok' });
    expect(await json(await t.call('GET', '/ready'))).toEqual({ status: 'ready' });
  });

  test('/api/v1/status shows counters of every tenant: admins only', async () => {
    const none = await t.call('GET', '/api/v1/status');
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer');
    const ada = await signUp(t, 'ada@example.com');
    await makeProject(t, ada.access_token, 'acme');
    const read = await makeKey(t, ada.access_token, 'acme', 'read');
    const byKey = await t.call('GET', '/api/v1/status', { token: read.key });
    expect(byKey.status).toBe(403); // a working key of the wrong kind, not an invalid one
    expect(await json(byKey)).toEqual({
      detail: "only an admin's access token may read the server status",
      code: 'forbidden',
    });
    const user = await t.call('GET', '/api/v1/status', { token: ada.access_token });
    expect(user.status).toBe(403);
    expect(await json(user)).toEqual({
      detail: 'only an admin may read the server status',
      code: 'forbidden',
    });
    const admin = await t.call('GET', '/api/v1/status', { token: await adminToken() });
    expect(admin.status).toBe(200);
    expect(await json(admin)).toMatchObject({ last_seq: 0, actors: 0 });
  });
});
