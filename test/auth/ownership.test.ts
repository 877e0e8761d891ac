import { afterEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import {
  type AuthApp,
  adminToken,
  join,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
} from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

/** Changes a member's role (the member route no longer adds anyone). */
const setRole = (token: string, project: string, email: string, role = 'viewer') =>
  t.call('POST', `/api/v1/projects/${project}/members`, { token, body: { email, role } });

describe('deleting the only owner of a project', () => {
  test('is refused, naming the projects, until another member is an owner', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    const bob = {
      email: 'bob@example.com',
      token: (await signUp(t, 'bob@example.com')).access_token,
    };
    await makeProject(t, ada.access_token, 'acme');
    await makeProject(t, ada.access_token, 'globex');
    const key = await makeKey(t, ada.access_token, 'acme', 'write');
    const refused = await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toEqual({
      detail:
        'you are the only owner of acme, globex; make another member an owner of each ' +
        '(POST /api/v1/projects/{id}/members with role owner) before deleting your account',
      code: 'conflict',
    });
    expect((await t.call('GET', '/api/v1/users/me', { token: ada.access_token })).status).toBe(200);
    expect((await join(t, ada.access_token, 'acme', bob, 'owner')).status).toBe(200);
    expect((await join(t, ada.access_token, 'globex', bob, 'viewer')).status).toBe(200);
    const still = await json(
      await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token }),
    );
    expect(still.detail).toStartWith('you are the only owner of globex;');
    expect((await setRole(ada.access_token, 'globex', 'bob@example.com', 'owner')).status).toBe(
      201,
    );
    const gone = await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token });
    expect(gone.status).toBe(204);
    // The remaining owner can still revoke the project's keys.
    const revoke = await t.call('DELETE', `/api/v1/projects/acme/keys/${key.id}`, {
      token: bob.token,
    });
    expect(revoke.status).toBe(204);
  });
});

describe('deleting the only admin', () => {
  test('is refused though no project is left without an owner: a start would make another', async () => {
    t = await makeAuthApp();
    const admin = await adminToken(t);
    const bob = {
      email: 'bob@example.com',
      token: (await signUp(t, 'bob@example.com')).access_token,
    };
    expect((await join(t, admin, 'default', bob, 'owner')).status).toBe(200);
    const refused = await t.call('DELETE', '/api/v1/users/me', { token: admin });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toEqual({
      detail:
        'you are the only admin; without one, the next start in required mode makes a new ' +
        'admin who takes over the default project, so the account is kept',
      code: 'conflict',
    });
    expect((await t.call('GET', '/api/v1/users/me', { token: admin })).status).toBe(200);
    // Others delete theirs as before.
    expect((await t.call('DELETE', '/api/v1/users/me', { token: bob.token })).status).toBe(204);
  });
});

describe('changing roles and inviting by email', () => {
  test('are limited per caller together, and never echo the display name', async () => {
    t = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, memberAdd: { perSecond: 1 / 60, burst: 3 } } },
    });
    const victim = await signUp(t, 'victim@example.com');
    await t.call('PUT', '/api/v1/users/me', {
      token: victim.access_token,
      body: { name: 'Victor Secret' },
    });
    const att = await signUp(t, 'att@example.com');
    await makeProject(t, att.access_token, 'probe');
    const invitee = { email: 'victim@example.com', token: victim.access_token };
    expect((await join(t, att.access_token, 'probe', invitee)).status).toBe(200); // 1
    const changed = await setRole(att.access_token, 'probe', 'victim@example.com', 'viewer'); // 2
    expect(changed.status).toBe(201);
    const body = await json(changed);
    expect(Object.keys(body).sort()).toEqual(['created_at', 'email', 'role', 'user_id']);
    expect(JSON.stringify(body)).not.toContain('Victor');
    expect((await setRole(att.access_token, 'probe', 'guess1@example.com')).status).toBe(404); // 3
    const limited = await setRole(att.access_token, 'probe', 'guess2@example.com');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await json(limited)).toEqual({
      detail: 'too many invitations and role changes; retry later',
      code: 'rate_limited',
    });
    const invite = (token: string, project: string) =>
      t.call('POST', `/api/v1/projects/${project}/invitations`, {
        token,
        body: { email: 'guess2@example.com' },
      });
    expect((await invite(att.access_token, 'probe')).status).toBe(429);
    // Another caller has a bucket of its own.
    const other = await signUp(t, 'other@example.com');
    await makeProject(t, other.access_token, 'other');
    expect((await setRole(other.access_token, 'other', 'guess2@example.com')).status).toBe(404);
    expect((await invite(other.access_token, 'other')).status).toBe(201);
    t.clock.advance(60_000);
    expect((await invite(att.access_token, 'probe')).status).toBe(201);
  });
});
