// The named bounds on what one person can make (PROJECTS_PER_USER_MAX, KEYS_PER_PROJECT_MAX,
// ALIASES_PER_PROJECT_MAX, MEMBERS_PER_PROJECT_MAX, INVITATIONS_PER_PROJECT_MAX) and the
// per-user rate of project creation: over a bound is a 409 naming it and writes nothing;
// freeing room makes room.

import { afterEach, describe, expect, test } from 'bun:test';
import { type AuthOptions, defaultAuthOptions } from '../../src/auth/index.ts';
import {
  type AuthApp,
  adminToken,
  invite,
  join,
  json,
  makeAuthApp,
  makeKey,
  makeProject,
  signUp,
} from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

const bounds = {
  projectsPerUserMax: 2,
  keysPerProjectMax: 2,
  aliasesPerProjectMax: 2,
  membersPerProjectMax: 2,
  invitationsPerProjectMax: 2,
};
/** Small bounds, and a project-creation rate that never gets in the way of them. */
const bounded: Partial<AuthOptions> = {
  bounds,
  rates: { ...defaultAuthOptions.rates, projectCreate: { perSecond: 1, burst: 1000 } },
};

const createProject = (token: string, body: Record<string, string>) =>
  t.call('POST', '/api/v1/projects', { token, body });
const ownedIds = async (token: string) =>
  ((await json(await t.call('GET', '/api/v1/projects', { token }))) as unknown as { id: string }[])
    .map((p) => p.id)
    .sort();

describe('projects a user owns (PROJECTS_PER_USER_MAX)', () => {
  test('at the bound a create is 409 naming it, and nothing is written', async () => {
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'one');
    await makeProject(t, ada, 'two');
    const bodies: Record<string, string>[] = [{ id: 'three', name: 'Three' }, { name: 'Derived' }];
    for (const body of bodies) {
      const res = await createProject(ada, body);
      expect(res.status).toBe(409);
      expect(await json(res)).toEqual({
        detail:
          'a user may own at most 2 projects (PROJECTS_PER_USER_MAX); you own that many already',
        code: 'limit_reached',
      });
    }
    expect(t.auth.stores.projects.get('three')).toBeNull();
    expect(t.auth.stores.projects.get('derived')).toBeNull();
    expect(await ownedIds(ada)).toEqual(['one', 'two']);
    // The bound is per user: another user still creates.
    const bo = (await signUp(t, 'bo@example.com')).access_token;
    expect((await createProject(bo, { id: 'three', name: 'Three' })).status).toBe(201);
  });

  test('concurrent creates at the bound: exactly one passes', async () => {
    t = await makeAuthApp({ auth: { ...bounded, bounds: { ...bounds, projectsPerUserMax: 3 } } });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'one');
    await makeProject(t, ada, 'two');
    // Each create awaits the tenant probe (DuckDB) before it inserts, so all of them are past
    // the probe before any inserts: only the check in the insert's transaction holds.
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd', 'e'].map((id) => createProject(ada, { id, name: id })),
    );
    const statuses = answers.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    expect((await ownedIds(ada)).length).toBe(3);
  });

  test('admins are bound too, and the bootstrap default project counts', async () => {
    t = await makeAuthApp({ auth: bounded });
    const admin = await adminToken(t);
    await makeProject(t, admin, 'mine');
    const res = await createProject(admin, { id: 'more', name: 'More' });
    expect(res.status).toBe(409);
    expect((await json(res)).code).toBe('limit_reached');
    expect(await ownedIds(admin)).toEqual(['default', 'mine']);
  });

  test('being made an owner counts; a viewer does not', async () => {
    t = await makeAuthApp({
      auth: { ...bounded, bounds: { ...bounds, membersPerProjectMax: 10 } },
    });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    const bo = (await signUp(t, 'bo@example.com')).access_token;
    await makeProject(t, bo, 'bo-1');
    await makeProject(t, bo, 'bo-2');
    await makeProject(t, ada, 'shared');
    await makeProject(t, ada, 'other');
    const invitee = { email: 'bo@example.com', token: bo };
    expect((await join(t, ada, 'shared', invitee, 'viewer')).status).toBe(200);
    const promoted = await t.call('POST', '/api/v1/projects/shared/members', {
      token: ada,
      body: { email: 'bo@example.com', role: 'owner' },
    });
    expect(promoted.status).toBe(409);
    expect(String((await json(promoted)).detail)).toContain(
      'a user may own at most 2 projects (PROJECTS_PER_USER_MAX)',
    );
    expect(t.auth.stores.projects.roleOf('shared', userIdOf(bo))).toBe('viewer');
    // Accepting an invitation as an owner counts too: refused, and the invitation stays.
    const asOwner = await join(t, ada, 'other', invitee, 'owner');
    expect(asOwner.status).toBe(409);
    expect(String((await json(asOwner)).detail)).toContain('(PROJECTS_PER_USER_MAX)');
    expect(t.auth.stores.projects.roleOf('other', userIdOf(bo))).toBeNull();
    expect(t.auth.stores.invitations.pending('other', t.clock.now()).length).toBe(1);
  });
});

describe('keys, aliases and members of a project', () => {
  test('keys: at the bound 409 and nothing written; a revoked key frees room', async () => {
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    const first = await makeKey(t, ada, 'acme', 'write');
    await makeKey(t, ada, 'acme', 'read');
    const over = await t.call('POST', '/api/v1/projects/acme/keys', {
      token: ada,
      body: { kind: 'read' },
    });
    expect(over.status).toBe(409);
    expect(await json(over)).toEqual({
      detail:
        'a project may have at most 2 active API keys (KEYS_PER_PROJECT_MAX); revoke one to ' +
        'make room',
      code: 'limit_reached',
    });
    expect(t.auth.stores.keys.list('acme').length).toBe(2);
    const revoked = await t.call('DELETE', `/api/v1/projects/acme/keys/${first.id}`, {
      token: ada,
    });
    expect(revoked.status).toBe(204);
    await makeKey(t, ada, 'acme', 'read');
    expect(t.auth.stores.keys.activeCount('acme')).toBe(2);
  });

  test("the bootstrap's two keys are made past the bound: a start never fails on it", async () => {
    // A `default` made while the store ran open, its keys at the bound, is taken over by the
    // first start in required mode; that start still makes its write and read keys.
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'default');
    await makeKey(t, ada, 'default', 'write');
    await makeKey(t, ada, 'default', 'read');
    const admin = await adminToken(t);
    expect(t.auth.stores.keys.activeCount('default')).toBe(4);
    const over = await t.call('POST', '/api/v1/projects/default/keys', {
      token: admin,
      body: { kind: 'read' },
    });
    expect(over.status).toBe(409);
  });

  test('revoking and minting in a loop keeps only the newest revoked keys', async () => {
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    const revokedIds: string[] = [];
    for (let i = 0; i < 6; i++) {
      const key = await makeKey(t, ada, 'acme', 'write');
      t.clock.advance(1000);
      await t.call('DELETE', `/api/v1/projects/acme/keys/${key.id}`, { token: ada });
      revokedIds.push(key.id);
    }
    await makeKey(t, ada, 'acme', 'write');
    const listed = t.auth.stores.keys.list('acme');
    // One live key and the two newest revoked ones (KEYS_PER_PROJECT_MAX = 2).
    expect(listed.length).toBe(3);
    expect(listed.filter((k) => k.revokedAt !== null).map((k) => k.id)).toEqual(
      revokedIds.slice(-2),
    );
  });

  test('aliases: at the bound 409 and nothing written; a removed alias frees room', async () => {
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    const add = (alias: string) =>
      t.call('POST', '/api/v1/projects/acme/aliases', { token: ada, body: { alias } });
    expect((await add('acme-a')).status).toBe(201);
    expect((await add('acme-b')).status).toBe(201);
    const over = await add('acme-c');
    expect(over.status).toBe(409);
    expect(await json(over)).toEqual({
      detail:
        'a project may have at most 2 aliases (ALIASES_PER_PROJECT_MAX); remove one to make room',
      code: 'limit_reached',
    });
    expect(t.auth.stores.aliases.projectOf('acme-c')).toBeNull();
    // An alias the project already has is "taken", at the bound as below it.
    const again = await add('acme-a');
    expect(again.status).toBe(409);
    expect(await json(again)).toEqual({ detail: 'the alias acme-a is taken', code: 'conflict' });
    const removed = await t.call('DELETE', '/api/v1/projects/acme/aliases/acme-a', {
      token: ada,
    });
    expect(removed.status).toBe(204);
    expect((await add('acme-c')).status).toBe(201);
    expect(t.auth.stores.aliases.list('acme').map((a) => a.alias)).toEqual(['acme-b', 'acme-c']);
  });

  test('members: at the bound 409 and nothing written; a new role is no new member', async () => {
    t = await makeAuthApp({ auth: bounded });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    const bo = { email: 'bo@example.com', token: (await signUp(t, 'bo@example.com')).access_token };
    const cy = { email: 'cy@example.com', token: (await signUp(t, 'cy@example.com')).access_token };
    await makeProject(t, ada, 'acme');
    expect((await join(t, ada, 'acme', bo)).status).toBe(200);
    const cyInvitation = await invite(t, ada, 'acme', cy.email);
    const accept = () =>
      t.call('POST', '/api/v1/invitations/accept', {
        token: cy.token,
        body: { token: cyInvitation },
      });
    const over = await accept();
    expect(over.status).toBe(409);
    expect(await json(over)).toEqual({
      detail:
        'a project may have at most 2 members (MEMBERS_PER_PROJECT_MAX); remove one to make room',
      code: 'limit_reached',
    });
    expect(t.auth.stores.projects.members('acme').map((m) => m.email)).toEqual([
      'ada@example.com',
      'bo@example.com',
    ]);
    // The refused accept consumed nothing: once there is room, the same invitation works.
    const boId = userIdOf(bo.token);
    const left = await t.call('DELETE', `/api/v1/projects/acme/members/${boId}`, {
      token: bo.token,
    });
    expect(left.status).toBe(204);
    expect((await accept()).status).toBe(200);
    expect((await join(t, ada, 'acme', bo)).status).toBe(409);
    expect(t.auth.stores.projects.members('acme').map((m) => m.email)).toEqual([
      'ada@example.com',
      'cy@example.com',
    ]);
    // Changing an existing member's role adds no one.
    const role = await t.call('POST', '/api/v1/projects/acme/members', {
      token: ada,
      body: { email: 'cy@example.com', role: 'owner' },
    });
    expect(role.status).toBe(201);
  });

  test('invitations: at the bound 409; re-inviting, revoking and expiry make room', async () => {
    t = await makeAuthApp({ auth: { ...bounded, invitationTtlMs: 60_000 } });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    const send = (email: string) =>
      t.call('POST', '/api/v1/projects/acme/invitations', { token: ada, body: { email } });
    await invite(t, ada, 'acme', 'bo@example.com');
    await invite(t, ada, 'acme', 'cy@example.com');
    const over = await send('di@example.com');
    expect(over.status).toBe(409);
    expect(await json(over)).toEqual({
      detail:
        'a project may have at most 2 pending invitations (INVITATIONS_PER_PROJECT_MAX); ' +
        'revoke one to make room',
      code: 'limit_reached',
    });
    const emails = () =>
      t.auth.stores.invitations.pending('acme', t.clock.now()).map((i) => i.email);
    expect(emails()).toEqual(['bo@example.com', 'cy@example.com']);
    // Inviting a pending address again replaces its invitation: no room needed.
    expect((await send('bo@example.com')).status).toBe(201);
    const cy = t.auth.stores.invitations
      .pending('acme', t.clock.now())
      .find((i) => i.email === 'cy@example.com');
    const revoked = await t.call('DELETE', `/api/v1/projects/acme/invitations/${cy?.id}`, {
      token: ada,
    });
    expect(revoked.status).toBe(204);
    expect((await send('di@example.com')).status).toBe(201);
    expect((await send('ed@example.com')).status).toBe(409);
    // Expired invitations are no longer pending, and make room (they are deleted then).
    t.clock.advance(60_000);
    expect(emails()).toEqual([]);
    expect((await send('ed@example.com')).status).toBe(201);
    const rows = t.auth.stores.invitations.pending('acme', t.clock.now());
    expect(rows.map((i) => i.email)).toEqual(['ed@example.com']);
  });
});

describe('project creation is rate-limited per user', () => {
  const tight: Partial<AuthOptions> = {
    rates: { ...defaultAuthOptions.rates, projectCreate: { perSecond: 1 / 60, burst: 2 } },
  };

  test('past the burst 429 with Retry-After and X-RateLimit-*, then one a minute', async () => {
    t = await makeAuthApp({ auth: tight });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'one');
    await makeProject(t, ada, 'two');
    const refused = await createProject(ada, { id: 'three', name: 'Three' });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('60');
    expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
    expect(refused.headers.get('x-ratelimit-remaining')).toBe('0');
    expect((await json(refused)).code).toBe('rate_limited');
    expect(t.auth.stores.projects.get('three')).toBeNull();
    // Another user has a bucket of their own.
    const bo = (await signUp(t, 'bo@example.com')).access_token;
    expect((await createProject(bo, { id: 'bo', name: 'Bo' })).status).toBe(201);
    t.clock.advance(60_000);
    expect((await createProject(ada, { id: 'three', name: 'Three' })).status).toBe(201);
  });

  test('a create refused 401 after the tenant probe (its session ended) spends no token', async () => {
    t = await makeAuthApp({
      auth: {
        rates: { ...defaultAuthOptions.rates, projectCreate: { perSecond: 1 / 60, burst: 1 } },
      },
    });
    const ada = await signUp(t, 'ada@example.com');
    // Hold the probe (a DuckDB snapshot of the tenant) until the session has ended.
    const store = t.engine.store;
    const snapshot = store.snapshot.bind(store);
    let reached = () => {};
    const waiting = new Promise<void>((resolve) => {
      reached = resolve;
    });
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    store.snapshot = async (...args: Parameters<typeof snapshot>) => {
      store.snapshot = snapshot;
      reached();
      await released;
      return snapshot(...args);
    };
    const answer = createProject(ada.access_token, { id: 'one', name: 'One' });
    await waiting;
    const body = { refresh_token: ada.refresh_token };
    expect((await t.call('POST', '/api/v1/auth/logout', { body })).status).toBe(204);
    release();
    expect((await answer).status).toBe(401);
    expect(t.auth.stores.projects.get('one')).toBeNull();
    // Signed in again at once, the same user still has the one token of the bucket.
    const login = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    const again = ((await json(login)) as { access_token: string }).access_token;
    const created = await createProject(again, { id: 'one', name: 'One' });
    expect(created.status).toBe(201);
    expect((await createProject(again, { id: 'two', name: 'Two' })).status).toBe(429);
  });

  test('admins are exempt from the rate (not from the bound)', async () => {
    t = await makeAuthApp({ auth: tight });
    const admin = await adminToken(t);
    for (const id of ['a', 'b', 'c', 'd']) await makeProject(t, admin, id);
  });
});

describe('adding aliases is rate-limited per user, as creating projects is', () => {
  const tight: Partial<AuthOptions> = {
    rates: { ...defaultAuthOptions.rates, projectCreate: { perSecond: 1 / 60, burst: 2 } },
  };
  const addAlias = (token: string, project: string, alias: string) =>
    t.call('POST', `/api/v1/projects/${project}/aliases`, { token, body: { alias } });
  /** Counts the stored-events probes (DuckDB snapshots) the store is asked for. */
  const countSnapshots = () => {
    const store = t.engine.store;
    const snapshot = store.snapshot.bind(store);
    const counted = { n: 0 };
    store.snapshot = (...args: Parameters<typeof snapshot>) => {
      counted.n++;
      return snapshot(...args);
    };
    return counted;
  };

  test('past the burst 429 with Retry-After, before the tenant probe; then one a minute', async () => {
    t = await makeAuthApp({ auth: tight });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    const probes = countSnapshots();
    expect((await addAlias(ada, 'acme', 'a.example')).status).toBe(201);
    expect((await addAlias(ada, 'acme', 'b.example')).status).toBe(201);
    expect(probes.n).toBe(2);
    // Each add looks up (a DuckDB read) whether the name holds events: a loop of them, even of
    // names refused afterwards, must not be unbounded work.
    for (const alias of ['c.example', 'a.example']) {
      const refused = await addAlias(ada, 'acme', alias);
      expect(refused.status).toBe(429);
      expect(refused.headers.get('retry-after')).toBe('60');
      expect(refused.headers.get('x-ratelimit-limit')).toBe('2');
      expect((await json(refused)).code).toBe('rate_limited');
    }
    expect(probes.n).toBe(2);
    expect(t.auth.stores.aliases.projectOf('c.example')).toBeNull();
    // A bucket of its own: creating a project still may; another user has theirs.
    await makeProject(t, ada, 'two');
    const bo = (await signUp(t, 'bo@example.com')).access_token;
    await makeProject(t, bo, 'globex');
    expect((await addAlias(bo, 'globex', 'g.example')).status).toBe(201);
    t.clock.advance(60_000);
    expect((await addAlias(ada, 'acme', 'c.example')).status).toBe(201);
  });

  test('a refusal before the probe (a bad alias, a non-member, a viewer) spends no token', async () => {
    t = await makeAuthApp({ auth: tight });
    const ada = (await signUp(t, 'ada@example.com')).access_token;
    await makeProject(t, ada, 'acme');
    expect((await addAlias(ada, 'acme', 'not/an alias')).status).toBe(422);
    expect((await addAlias(ada, 'nope', 'x.example')).status).toBe(404);
    const bo = (await signUp(t, 'bo@example.com')).access_token;
    await makeProject(t, bo, 'globex');
    expect((await join(t, bo, 'globex', { email: 'ada@example.com', token: ada })).status).toBe(
      200,
    );
    expect((await addAlias(ada, 'globex', 'g.example')).status).toBe(403);
    expect((await addAlias(ada, 'acme', 'a.example')).status).toBe(201);
    expect((await addAlias(ada, 'acme', 'b.example')).status).toBe(201);
  });

  test('an add refused after the probe (its session ended) gives its token back', async () => {
    t = await makeAuthApp({ auth: tight });
    const ada = await signUp(t, 'ada@example.com');
    await makeProject(t, ada.access_token, 'acme');
    const store = t.engine.store;
    const snapshot = store.snapshot.bind(store);
    let release = () => {};
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    store.snapshot = async (...args: Parameters<typeof snapshot>) => {
      store.snapshot = snapshot;
      await released;
      return snapshot(...args);
    };
    const answer = addAlias(ada.access_token, 'acme', 'a.example');
    const body = { refresh_token: ada.refresh_token };
    expect((await t.call('POST', '/api/v1/auth/logout', { body })).status).toBe(204);
    release();
    expect((await answer).status).toBe(401);
    const login = await t.call('POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'correct horse 1' },
    });
    const again = ((await json(login)) as { access_token: string }).access_token;
    expect((await addAlias(again, 'acme', 'a.example')).status).toBe(201);
    expect((await addAlias(again, 'acme', 'b.example')).status).toBe(201);
    expect((await addAlias(again, 'acme', 'c.example')).status).toBe(429);
  });

  // README: nor does an add refused after the probe "because its caller was signed out or lost
  // the project meanwhile": demoted (403) or removed (404) while the probe ran.
  const losses = [
    ['demoted to viewer', 403, 'viewer'],
    ['removed from the project', 404, null],
  ] as const;
  for (const [how, status, role] of losses) {
    test(`an add refused after the probe (${how}, ${status}) gives its token back`, async () => {
      t = await makeAuthApp({ auth: tight });
      const ada = (await signUp(t, 'ada@example.com')).access_token;
      await makeProject(t, ada, 'acme');
      const bo = await signUp(t, 'bo@example.com');
      const invitee = { email: 'bo@example.com', token: bo.access_token };
      expect((await join(t, ada, 'acme', invitee, 'owner')).status).toBe(200);
      const store = t.engine.store;
      const snapshot = store.snapshot.bind(store);
      let release = () => {};
      const released = new Promise<void>((resolve) => {
        release = resolve;
      });
      store.snapshot = async (...args: Parameters<typeof snapshot>) => {
        store.snapshot = snapshot;
        await released;
        return snapshot(...args);
      };
      const answer = addAlias(bo.access_token, 'acme', 'a.example');
      const lose =
        role === null
          ? t.call('DELETE', `/api/v1/projects/acme/members/${userIdOf(bo.access_token)}`, {
              token: ada,
            })
          : t.call('POST', '/api/v1/projects/acme/members', {
              token: ada,
              body: { email: 'bo@example.com', role },
            });
      expect((await lose).status).toBeLessThan(300);
      release();
      expect((await answer).status).toBe(status);
      // Back as an owner: invited again once removed, promoted once demoted.
      const back =
        role === null
          ? await join(t, ada, 'acme', invitee, 'owner')
          : await t.call('POST', '/api/v1/projects/acme/members', {
              token: ada,
              body: { email: 'bo@example.com', role: 'owner' },
            });
      expect(back.status).toBeLessThan(300);
      expect((await addAlias(bo.access_token, 'acme', 'a.example')).status).toBe(201);
      expect((await addAlias(bo.access_token, 'acme', 'b.example')).status).toBe(201);
      expect((await addAlias(bo.access_token, 'acme', 'c.example')).status).toBe(429);
    });
  }

  test('admins are exempt from the rate (not from the bound)', async () => {
    t = await makeAuthApp({ auth: tight });
    const admin = await adminToken(t);
    for (const alias of ['a', 'b', 'c', 'd']) {
      expect((await addAlias(admin, 'default', `${alias}.example`)).status).toBe(201);
    }
  });
});

/** The user id inside an access token (its `sub`). */
function userIdOf(accessToken: string): string {
  const payload = accessToken.split('.')[1] as string;
  return (JSON.parse(Buffer.from(payload, 'base64url').toString()) as { sub: string }).sub;
}
