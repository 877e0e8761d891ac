import { afterEach, describe, expect, test } from 'bun:test';
import { bootstrapAuth, formatBootstrapBanner, storedEventsProbe } from '../../src/auth/index.ts';
import { createLogger } from '../../src/core/index.ts';
import { createApp, openTenancy } from '../../src/http/index.ts';
import { type AuthApp, adminToken, json, makeAuthApp, makeKey, signUp } from './harness.ts';

let t: AuthApp;
afterEach(() => t.close());

/** Stores an event as the same store did while it ran in AUTH_MODE=open. */
async function ingestOpen(tenant: string): Promise<void> {
  const open = createApp({
    engine: t.engine,
    tenancy: openTenancy,
    clock: t.clock,
    log: createLogger('error', () => {}),
    options: { trustProxy: false, retryAfterSeconds: 1, queryTimeoutMs: 10_000, queryRowsMax: 100 },
    isAccepting: () => true,
  });
  const res = await open.handle(
    new Request('http://localhost/api/v1/events', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tenant_id: tenant, name: 'signup', properties: { plan: 'secret' } }),
    }),
  );
  expect(res.status).toBe(202);
}

const createProject = (token: string, body: Record<string, string | null>) =>
  t.call('POST', '/api/v1/projects', { token, body });

test('two concurrent creates from the same name both succeed, on different ids', async () => {
  t = await makeAuthApp();
  const a = await signUp(t, 'a@example.com');
  const b = await signUp(t, 'b@example.com');
  // Each looks the tenant up (asynchronously) before creating; the second finds its slug taken.
  const answers = await Promise.all([
    createProject(a.access_token, { name: 'Shop' }),
    createProject(b.access_token, { name: 'Shop' }),
  ]);
  expect(answers.map((r) => r.status)).toEqual([201, 201]);
  const ids = (await Promise.all(answers.map(async (r) => String((await json(r)).id)))).sort();
  expect(ids[0]).toBe('shop');
  expect(ids[1]).toMatch(/^shop-[0-9a-f]{6}$/);
});

describe('a tenant that already holds events', () => {
  test('cannot be claimed by a self-registered user, unflushed or flushed', async () => {
    t = await makeAuthApp();
    await ingestOpen('acme');
    const mallory = await signUp(t, 'mallory@example.com');
    const refused = await createProject(mallory.access_token, { id: 'acme', name: 'mine' });
    expect(refused.status).toBe(409);
    expect(await json(refused)).toEqual({
      detail:
        'the tenant acme already holds events; choose another id, or ask an admin to create ' +
        'this project (an admin may claim a tenant that holds events)',
      code: 'conflict',
    });
    const read = await t.call('GET', '/api/v1/events?tenant_id=acme', {
      token: mallory.access_token,
    });
    expect(read.status).toBe(403);
    await t.engine.store.flusher.flush();
    expect(storedEventsProbe(t.engine.store)('acme')).toBe(true); // from the catalog, at once
    const again = await createProject(mallory.access_token, { id: 'acme', name: 'mine' });
    expect(again.status).toBe(409);
  });

  test('cannot be taken as an alias by a self-registered user; an admin may', async () => {
    t = await makeAuthApp();
    await ingestOpen('acme');
    const admin = await adminToken(t);
    const mallory = await signUp(t, 'mallory@example.com');
    expect((await createProject(mallory.access_token, { id: 'mine', name: 'mine' })).status).toBe(
      201,
    );
    const addAlias = (token: string, project: string, alias: string) =>
      t.call('POST', `/api/v1/projects/${project}/aliases`, { token, body: { alias } });
    const refused = await addAlias(mallory.access_token, 'mine', 'acme');
    expect(refused.status).toBe(409);
    expect(await json(refused)).toEqual({
      detail:
        'the tenant acme already holds events; choose another alias, or ask an admin to add ' +
        'this alias (an admin may claim a tenant that holds events)',
      code: 'conflict',
    });
    // acme's keyless clients are not captured, and the admin can still claim the tenant.
    const beacon = await t.call('POST', '/api/v1/events', {
      body: { tenant_id: 'acme', name: 'purchase' },
    });
    expect(beacon.status).toBe(403);
    expect(await t.count('mine')).toBe(0);
    expect((await createProject(admin, { id: 'acme', name: 'Acme' })).status).toBe(201);
    // An admin may alias a tenant that holds events, as they may create a project over it.
    await ingestOpen('acme-eu');
    expect((await createProject(admin, { id: 'admins', name: 'admins' })).status).toBe(201);
    expect((await addAlias(admin, 'admins', 'acme-eu')).status).toBe(201);
    // An alias naming no stored events is free for anyone.
    expect((await addAlias(mallory.access_token, 'mine', 'mine-site')).status).toBe(201);
  });

  test('a name-derived id moves on to a free slug; an empty tenant is free', async () => {
    t = await makeAuthApp();
    await ingestOpen('acme');
    const ada = await signUp(t, 'ada@example.com');
    const derived = await createProject(ada.access_token, { name: 'Acme' });
    expect(derived.status).toBe(201);
    expect((await json(derived)).id).toMatch(/^acme-[0-9a-f]{6}$/);
    const fresh = await createProject(ada.access_token, { id: 'globex', name: 'Globex' });
    expect(fresh.status).toBe(201);
    // A null id is no id, as a null optional field is absent everywhere: the name gives it.
    const nullId = await createProject(ada.access_token, { id: null, name: 'Initech' });
    expect(nullId.status).toBe(201);
    expect((await json(nullId)).id).toBe('initech');
  });

  test('an admin may claim it and then reads its events', async () => {
    t = await makeAuthApp();
    await ingestOpen('acme');
    const token = await adminToken(t);
    const made = await createProject(token, { id: 'acme', name: 'Acme' });
    expect(made.status).toBe(201);
    const read = await t.call('GET', '/api/v1/events?tenant_id=acme', { token });
    expect(read.status).toBe(200);
    expect(((await json(read)).events as unknown[]).length).toBe(1);
  });
});

describe('bootstrap with users but no admin', () => {
  test('users registered while open do not stop the first admin and default', async () => {
    t = await makeAuthApp();
    await signUp(t, 'early@example.com');
    const boot = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
    if (boot === null) throw new Error('expected a bootstrap');
    const admin = t.auth.stores.users.withHashByEmail(boot.adminEmail)?.user;
    expect(admin?.isAdmin).toBe(true);
    expect(t.auth.stores.projects.roleOf('default', admin?.id ?? '')).toBe('owner');
    const mallory = await signUp(t, 'mallory@example.com');
    const squat = await createProject(mallory.access_token, { id: 'default', name: 'x' });
    expect(squat.status).toBe(409);
    expect(await bootstrapAuth(t.auth, { dataDir: t.dataDir })).toBeNull();
  });

  test('a default made while there was no admin is taken over: its owners become viewers', async () => {
    t = await makeAuthApp();
    const mallory = await signUp(t, 'mallory@example.com');
    expect((await createProject(mallory.access_token, { id: 'default', name: 'x' })).status).toBe(
      201,
    );
    const boot = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
    if (boot === null) throw new Error('expected a bootstrap');
    const roles = t.auth.stores.projects.members('default').map((m) => [m.email, m.role]);
    expect(roles).toEqual([
      ['mallory@example.com', 'viewer'],
      [boot.adminEmail, 'owner'],
    ]);
    const admin = t.auth.stores.users.withHashByEmail(boot.adminEmail)?.user.id;
    const removal = await t.call('DELETE', `/api/v1/projects/default/members/${admin}`, {
      token: mallory.access_token,
    });
    expect(removal.status).toBe(403); // owners only
    const key = await t.call('POST', '/api/v1/projects/default/keys', {
      token: mallory.access_token,
      body: { kind: 'read' },
    });
    expect(key.status).toBe(403);
  });

  test('a takeover is told in the banner: who keeps reading default, and its keys still live', async () => {
    t = await makeAuthApp();
    const mallory = await signUp(t, 'mallory@example.com');
    expect((await createProject(mallory.access_token, { id: 'default', name: 'x' })).status).toBe(
      201,
    );
    const early = await makeKey(t, mallory.access_token, 'default', 'read');
    const boot = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
    if (boot === null) throw new Error('expected a bootstrap');
    expect(boot.takenOver).toEqual({ members: ['mallory@example.com'], liveKeys: 1 });
    // What the admin is warned of: mallory and her key still read the admin's project.
    const read = await t.call('GET', '/api/v1/stats', { token: early.key });
    expect(read.status).toBe(200);
    const banner = formatBootstrapBanner(boot);
    expect(banner).toContain('default existed before this start');
    expect(banner).toContain('mallory@example.com');
    expect(banner).toContain('1 key made before it stays live');
    expect(banner).toContain('GET /api/v1/projects/default/members');
    const fresh = await makeAuthApp();
    try {
      const plain = await bootstrapAuth(fresh.auth, { dataDir: fresh.dataDir });
      if (plain === null) throw new Error('expected a bootstrap');
      expect(plain.takenOver).toBeNull();
      expect(formatBootstrapBanner(plain)).not.toContain('existed before');
    } finally {
      await fresh.close();
    }
  });

  test('an account holding the admin email is never promoted', async () => {
    t = await makeAuthApp();
    await signUp(t, 'admin@tally.local');
    await expect(bootstrapAuth(t.auth, { dataDir: t.dataDir })).rejects.toThrow(
      'set BOOTSTRAP_ADMIN_EMAIL to an unused address',
    );
    expect(t.auth.stores.users.adminCount()).toBe(0);
    expect(t.auth.stores.projects.get('default')).toBeNull();
    const other = await bootstrapAuth(t.auth, { dataDir: t.dataDir, adminEmail: 'ops@x.example' });
    expect(other?.adminEmail).toBe('ops@x.example');
  });
});
