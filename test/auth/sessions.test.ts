import type { Database } from 'bun:sqlite';
import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type Auth, createAuth } from '../../src/auth/index.ts';
import { SESSIONS_PER_USER_MAX } from '../../src/auth/sessions.ts';
import { ManualClock } from '../../src/core/index.ts';
import { openSqlite } from '../../src/storage/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';
import { T0, TEST_PASSWORD_COST } from './harness.ts';

const DAY_MS = 86_400_000;

describe('sessions in the store', () => {
  let db: Database;
  let auth: Auth;
  let clock: ManualClock;
  let remove: () => void;
  beforeEach(() => {
    const temp = makeTempDir('tally-sessions-');
    remove = temp.remove;
    db = openSqlite(temp.dir);
    clock = new ManualClock(T0);
    auth = createAuth({
      db,
      clock,
      options: { passwordCost: TEST_PASSWORD_COST, refreshTtlMs: DAY_MS },
      tenantHoldsEvents: () => false, // no event store here
    });
  });
  afterEach(() => {
    db.close();
    remove();
  });

  const count = (table: string) =>
    (db.query(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;

  test(`a user keeps at most ${SESSIONS_PER_USER_MAX} sessions: a login past them ends the oldest`, async () => {
    const user = await auth.accounts.register(
      { email: 'many@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const other = await auth.accounts.register(
      { email: 'other@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const others = auth.stores.sessions.start(other.id, clock.now());
    const started = [];
    for (let i = 0; i < SESSIONS_PER_USER_MAX + 5; i++) {
      started.push(auth.stores.sessions.start(user.id, clock.now()));
      clock.advance(1);
    }
    const own = db.query('SELECT count(*) AS n FROM sessions WHERE user_id = ?');
    expect((own.get(user.id) as { n: number }).n).toBe(SESSIONS_PER_USER_MAX);
    // The five oldest are gone with their tokens; the newest and the other user's work.
    const oldest = started[4];
    const newest = started.at(-1);
    if (oldest === undefined || newest === undefined) throw new Error('sessions started');
    expect(auth.stores.sessions.isActive(oldest.sessionId, user.id)).toBe(false);
    expect(auth.stores.sessions.rotate(oldest.refreshToken, clock.now()).kind).toBe('invalid');
    expect(auth.stores.sessions.isActive(started[5]?.sessionId ?? '', user.id)).toBe(true);
    expect(auth.stores.sessions.rotate(newest.refreshToken, clock.now()).kind).toBe('ok');
    expect(auth.stores.sessions.isActive(others.sessionId, other.id)).toBe(true);
    expect(count('refresh_tokens')).toBe(SESSIONS_PER_USER_MAX + 1 + 1); // + a rotation
  });

  test('a login that ends a session to make room tells those holding access (sockets, exports)', async () => {
    const user = await auth.accounts.register(
      { email: 'full@b.co', password: 'long enough 1' },
      null,
      null,
    );
    let told = 0;
    auth.accessLost.listen(() => told++);
    for (let i = 0; i < SESSIONS_PER_USER_MAX; i++) {
      auth.stores.sessions.start(user.id, clock.now());
      clock.advance(1);
    }
    await auth.accounts.login({ email: 'full@b.co', password: 'long enough 1' }, null);
    expect(told).toBe(1); // the session unused longest ended
    expect(count('sessions')).toBe(SESSIONS_PER_USER_MAX);
  });

  test('the sessions a login past the bound ends are the ones unused longest, ended ones first', async () => {
    // A dashboard signed in long ago and refreshed ever since is in use; the sign-ins of every
    // reloaded tab or Umami client after it are not. Ending the first-made session ended the
    // one in use and kept those nobody holds any more.
    const user = await auth.accounts.register(
      { email: 'wall@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const sessions = auth.stores.sessions;
    const wall = sessions.start(user.id, clock.now());
    clock.advance(1);
    const idle = [];
    for (let i = 1; i < SESSIONS_PER_USER_MAX; i++) {
      idle.push(sessions.start(user.id, clock.now()));
      clock.advance(1);
    }
    const ended = idle.at(-1);
    const unusedLongest = idle[0];
    if (ended === undefined || unusedLongest === undefined) throw new Error('sessions started');
    sessions.revokeByToken(ended.refreshToken, clock.now()); // a logout
    clock.advance(1);
    const rotated = sessions.rotate(wall.refreshToken, clock.now()); // the wall is in use
    if (rotated.kind !== 'ok') throw new Error(`rotate: ${rotated.kind}`);
    clock.advance(1);
    sessions.start(user.id, clock.now()); // 101: the ended session goes
    expect(sessions.isActive(wall.sessionId, user.id)).toBe(true);
    expect(sessions.isActive(unusedLongest.sessionId, user.id)).toBe(true);
    const gone = db.query('SELECT 1 FROM sessions WHERE id = ?');
    expect(gone.get(ended.sessionId)).toBeNull();
    clock.advance(1);
    sessions.start(user.id, clock.now()); // 101 again: the live one unused longest goes
    expect(sessions.isActive(unusedLongest.sessionId, user.id)).toBe(false);
    expect(sessions.isActive(wall.sessionId, user.id)).toBe(true);
    expect(sessions.rotate(rotated.refreshToken, clock.now()).kind).toBe('ok');
  });

  test('only hashes of refresh tokens and keys are stored', async () => {
    const user = await auth.accounts.register(
      { email: 'a@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const { refreshToken } = auth.stores.sessions.start(user.id, clock.now());
    auth.stores.projects.create('acme', 'Acme', user.id, clock.now());
    const { key } = auth.stores.keys.create({
      projectId: 'acme',
      kind: 'read',
      name: null,
      allowedOrigins: null,
      now: clock.now(),
    });
    const dump = JSON.stringify([
      db.query('SELECT * FROM refresh_tokens').all(),
      db.query('SELECT * FROM api_keys').all(),
      db.query('SELECT * FROM users').all(),
    ]);
    expect(dump).not.toContain(refreshToken.slice(15));
    expect(dump).not.toContain(key.slice(15));
    expect(dump).not.toContain('long enough 1');
    expect(dump).toContain('$argon2id$');
  });

  test('purge drops expired tokens and finished sessions, and keeps live ones', async () => {
    const user = await auth.accounts.register(
      { email: 'a@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const old = auth.stores.sessions.start(user.id, clock.now());
    const rotated = auth.stores.sessions.rotate(old.refreshToken, clock.now());
    expect(rotated.kind).toBe('ok');
    clock.advance(DAY_MS / 2);
    const live = auth.stores.sessions.start(user.id, clock.now());
    expect([count('sessions'), count('refresh_tokens')]).toEqual([2, 3]);
    clock.advance(DAY_MS / 2);
    auth.purgeExpired();
    expect([count('sessions'), count('refresh_tokens')]).toEqual([1, 1]);
    expect(auth.stores.sessions.rotate(live.refreshToken, clock.now()).kind).toBe('ok');
  });

  test('JWT signing secrets live in the store and survive a restart of the module', async () => {
    const user = await auth.accounts.register(
      { email: 'a@b.co', password: 'long enough 1' },
      null,
      null,
    );
    const tokens = await auth.accounts.login({ email: 'a@b.co', password: 'long enough 1' }, null);
    expect(count('signing_keys')).toBe(1);
    const again = createAuth({
      db,
      clock,
      options: { passwordCost: TEST_PASSWORD_COST },
      tenantHoldsEvents: () => false,
    });
    expect(again.accounts.verifyAccess(tokens.access_token).user.id).toBe(user.id);
  });
});
