import { afterEach, describe, expect, test } from 'bun:test';
import { defaultAuthOptions } from '../../src/auth/index.ts';
import { type AuthApp, json, makeAuthApp, makeKey, makeProject, signUp } from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const addMember = (token: string, project: string, email: string, role = 'viewer') =>
  t.call('POST', `/api/v1/projects/${project}/members`, { token, body: { email, role } });

describe('deleting the only owner of a project', () => {
  test('is refused, naming the projects, until another member is an owner', async () => {
    t = await makeAuthApp();
    const ada = await signUp(t, 'ada@example.com');
    await signUp(t, 'bob@example.com');
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
    await addMember(ada.access_token, 'acme', 'bob@example.com', 'owner');
    await addMember(ada.access_token, 'globex', 'bob@example.com', 'viewer');
    const still = await json(
      await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token }),
    );
    expect(still.detail).toStartWith('you are the only owner of globex;');
    await addMember(ada.access_token, 'globex', 'bob@example.com', 'owner');
    const gone = await t.call('DELETE', '/api/v1/users/me', { token: ada.access_token });
    expect(gone.status).toBe(204);
    // The remaining owner can still revoke the project's keys.
    const bob = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'bob@example.com', password: 'correct horse 1' },
    });
    const bobToken = ((await json(bob)) as { access_token: string }).access_token;
    const revoke = await t.call('DELETE', `/api/v1/projects/acme/keys/${key.id}`, {
      token: bobToken,
    });
    expect(revoke.status).toBe(204);
  });
});

describe('adding members by email', () => {
  test('is limited per caller and never echoes the display name', async () => {
    t = await makeAuthApp({
      auth: { rates: { ...defaultAuthOptions.rates, memberAdd: { perSecond: 1 / 60, burst: 2 } } },
    });
    const victim = await signUp(t, 'victim@example.com');
    await t.call('PUT', '/api/v1/users/me', {
      token: victim.access_token,
      body: { name: 'Victor Secret' },
    });
    const att = await signUp(t, 'att@example.com');
    await makeProject(t, att.access_token, 'probe');
    const added = await addMember(att.access_token, 'probe', 'victim@example.com');
    expect(added.status).toBe(201);
    const body = await json(added);
    expect(Object.keys(body).sort()).toEqual(['created_at', 'email', 'role', 'user_id']);
    expect(JSON.stringify(body)).not.toContain('Victor');
    expect((await addMember(att.access_token, 'probe', 'guess1@example.com')).status).toBe(404);
    const limited = await addMember(att.access_token, 'probe', 'guess2@example.com');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('60');
    expect(await json(limited)).toMatchObject({ code: 'rate_limited' });
    // Another caller has a bucket of its own.
    const other = await signUp(t, 'other@example.com');
    await makeProject(t, other.access_token, 'other');
    expect((await addMember(other.access_token, 'other', 'guess2@example.com')).status).toBe(404);
    t.clock.advance(60_000);
    expect((await addMember(att.access_token, 'probe', 'guess2@example.com')).status).toBe(404);
  });
});
