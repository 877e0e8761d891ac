// A project's retention over HTTP: set at creation, changed or cleared by an owner with PATCH,
// refused to a viewer (403) and to a non-member (404), bounded (422), shown in the project.

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
let bob: Tokens;
beforeEach(async () => {
  t = await makeAuthApp();
  ada = await signUp(t, 'ada@example.com');
  bob = await signUp(t, 'bob@example.com');
});
afterEach(() => t.close());

const patch = (id: string, body: unknown, token: string) =>
  t.call('PATCH', `/api/v1/projects/${id}`, { token, body });
const retentionOf = async (id: string, token: string) =>
  (await json(await t.call('GET', `/api/v1/projects/${id}`, { token }))).retention_days;

describe('retention_days of a project', () => {
  test('null (the server default) unless set at creation; shown in every project answer', async () => {
    await makeProject(t, ada.access_token, 'acme');
    expect(await retentionOf('acme', ada.access_token)).toBeNull();
    const made = await t.call('POST', '/api/v1/projects', {
      token: ada.access_token,
      body: { id: 'globex', name: 'Globex', retention_days: 30 },
    });
    expect(made.status).toBe(201);
    expect((await json(made)).retention_days).toBe(30);
    const list = (await (
      await t.call('GET', '/api/v1/projects', { token: ada.access_token })
    ).json()) as { id: string; retention_days: number | null }[];
    expect(list.map((p) => [p.id, p.retention_days])).toEqual([
      ['acme', null],
      ['globex', 30],
    ]);
    expect(t.auth.projects.retentionDaysOf('globex')).toBe(30);
    expect(t.auth.projects.retentionDaysOf('acme')).toBeNull();
  });

  test('an owner sets it, keeps everything forever with 0, and clears it with null', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const set = await patch('acme', { retention_days: 90 }, ada.access_token);
    expect(set.status).toBe(200);
    expect(await json(set)).toMatchObject({ id: 'acme', name: 'acme', retention_days: 90 });
    expect(await retentionOf('acme', ada.access_token)).toBe(90);
    // A rename leaves the retention as it is.
    const renamed = await json(await patch('acme', { name: 'Acme web' }, ada.access_token));
    expect(renamed).toMatchObject({ name: 'Acme web', retention_days: 90 });
    expect(
      (await json(await patch('acme', { retention_days: 0 }, ada.access_token))).retention_days,
    ).toBe(0);
    expect(t.auth.projects.retentionDaysOf('acme')).toBe(0);
    const cleared = await patch('acme', { retention_days: null }, ada.access_token);
    expect((await json(cleared)).retention_days).toBeNull();
    expect(t.auth.projects.retentionDaysOf('acme')).toBeNull();
  });

  test('a viewer gets 403, a non-member 404, no token 401; nothing changes', async () => {
    await makeProject(t, ada.access_token, 'acme');
    const joined = await join(t, ada.access_token, 'acme', {
      email: 'bob@example.com',
      token: bob.access_token,
    });
    expect(joined.status).toBe(200);
    const viewer = await patch('acme', { retention_days: 1 }, bob.access_token);
    expect(viewer.status).toBe(403);
    expect((await json(viewer)).code).toBe('forbidden');
    const carol = await signUp(t, 'carol@example.com');
    expect((await patch('acme', { retention_days: 1 }, carol.access_token)).status).toBe(404);
    const anonymous = await t.call('PATCH', '/api/v1/projects/acme', {
      body: { retention_days: 1 },
    });
    expect(anonymous.status).toBe(401);
    expect((await patch('nope', { retention_days: 1 }, ada.access_token)).status).toBe(404);
    expect(await retentionOf('acme', ada.access_token)).toBeNull();
  });

  test('out of bounds or not a whole number: 422 naming the field, nothing changes', async () => {
    await makeProject(t, ada.access_token, 'acme');
    for (const bad of [-1, 36_501, 1.5, '30', true]) {
      const res = await patch('acme', { retention_days: bad }, ada.access_token);
      expect(res.status).toBe(422);
      const body = (await res.json()) as { detail: { loc: string[]; msg: string }[] };
      expect(body.detail[0]?.loc).toEqual(['body', 'retention_days']);
      expect(body.detail[0]?.msg).toContain('from 1 to 36500, 0 to keep events forever');
    }
    const atCreate = await t.call('POST', '/api/v1/projects', {
      token: ada.access_token,
      body: { id: 'globex', name: 'Globex', retention_days: -5 },
    });
    expect(atCreate.status).toBe(422);
    expect((await patch('acme', { name: '  ' }, ada.access_token)).status).toBe(422);
    expect((await patch('acme', { retention_days: 36_500 }, ada.access_token)).status).toBe(200);
  });
});
