import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { existsSync, readFileSync, statSync } from 'node:fs';
import * as path from 'node:path';
import {
  type Auth,
  bootstrapAuth,
  commitBootstrap,
  createAuth,
  formatBootstrapBanner,
  prepareBootstrap,
} from '../../src/auth/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { openSqlite } from '../../src/storage/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { type AuthApp, json, makeAuthApp, T0, TEST_PASSWORD_COST } from './harness.ts';

describe('bootstrap', () => {
  let dir: string;
  let remove: () => void;
  let auth: Auth;
  let close: () => void;
  beforeEach(() => {
    ({ dir, remove } = makeTempDir('tally-bootstrap-'));
    const db = openSqlite(dir);
    close = () => db.close();
    auth = createAuth({
      db,
      clock: new ManualClock(T0),
      options: { passwordCost: TEST_PASSWORD_COST },
      tenantHoldsEvents: () => false, // no event store here
    });
  });
  afterEach(() => {
    close();
    remove();
  });

  test('an empty store gets an admin, the default project and two keys, once', async () => {
    const result = await bootstrapAuth(auth, { dataDir: dir });
    if (result === null) throw new Error('expected a bootstrap');
    expect(result.projectId).toBe('default');
    expect(result.adminEmail).toBe('admin@tally.local');
    expect(result.writeKey).toMatch(/^wk_/);
    expect(result.readKey).toMatch(/^rk_/);
    expect(auth.stores.keys.verify(result.writeKey, 'write')?.projectId).toBe('default');
    expect(auth.stores.keys.verify(result.readKey, 'read')?.projectId).toBe('default');
    const tokens = await auth.accounts.login(
      { email: result.adminEmail, password: result.adminPassword },
      null,
    );
    const admin = auth.accounts.verifyAccess(tokens.access_token).user;
    expect(admin.isAdmin).toBe(true);
    expect(auth.stores.projects.roleOf('default', admin.id)).toBe('owner');
    expect(await bootstrapAuth(auth, { dataDir: dir })).toBeNull();
    expect(auth.stores.users.count()).toBe(1);
  });

  test('the secrets are written to bootstrap.json with mode 0600 and printed once', async () => {
    const result = await bootstrapAuth(auth, { dataDir: dir, adminEmail: 'Ops@Example.com' });
    if (result === null) throw new Error('expected a bootstrap');
    const file = path.join(dir, 'bootstrap.json');
    expect(result.file).toBe(file);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({
      created_at: new Date(T0).toISOString(),
      admin_email: 'ops@example.com',
      admin_password: result.adminPassword,
      project: 'default',
      write_key: result.writeKey,
      read_key: result.readKey,
    });
    const banner = formatBootstrapBanner(result);
    for (const secret of [result.adminPassword, result.writeKey, result.readKey, file]) {
      expect(banner).toContain(secret);
    }
  });

  test('preparing writes nothing; a registration of the email before the commit is refused', async () => {
    const prepared = await prepareBootstrap(auth, { dataDir: dir });
    if (prepared === null) throw new Error('expected a bootstrap to prepare');
    expect(existsSync(path.join(dir, 'bootstrap.json'))).toBe(false);
    expect(auth.stores.users.count()).toBe(0);
    await auth.accounts.register(
      { email: 'admin@tally.local', password: 'a long passphrase' },
      null,
      null,
    );
    expect(() => commitBootstrap(auth, prepared)).toThrow(/set BOOTSTRAP_ADMIN_EMAIL/);
    expect(auth.stores.users.adminCount()).toBe(0);
    expect(existsSync(path.join(dir, 'bootstrap.json'))).toBe(false);
  });

  test('when the file cannot be written nothing is created, so the next start retries', async () => {
    const missing = path.join(dir, 'no', 'such', 'dir');
    expect(bootstrapAuth(auth, { dataDir: missing })).rejects.toThrow();
    expect(auth.stores.users.count()).toBe(0);
    expect(auth.stores.projects.get('default')).toBeNull();
    expect(await bootstrapAuth(auth, { dataDir: dir })).not.toBeNull();
  });
});

describe('bootstrap keys on the real routes', () => {
  let t: AuthApp;
  afterEach(() => t.close());

  test('the write key ingests into default and the read key reads it', async () => {
    t = await makeAuthApp();
    const result = await bootstrapAuth(t.auth, { dataDir: t.dataDir });
    if (result === null) throw new Error('expected a bootstrap');
    const sent = await t.call('POST', '/api/v1/events', {
      token: result.writeKey,
      body: { event_id: 'boot-1', name: 'signup' },
    });
    expect(sent.status).toBe(202);
    const got = await t.call('GET', '/api/v1/events/boot-1', { token: result.readKey });
    expect(await json(got)).toMatchObject({ tenant: 'default', name: 'signup' });
    const login = await t.call('POST', '/api/v1/auth/login', {
      form: { username: result.adminEmail, password: result.adminPassword },
    });
    expect(login.status).toBe(200);
  });
});
