// Live sockets opened with a member's access token under the real auth resolver
// (AUTH_MODE=required) close (1008) at the next credentials check once the token's session or
// access ends: a logout, a refresh token reused (its family revoked), a new password set in
// another session, the member removed, the account deleted, the token expired. A socket of
// another session or of a read key stays open.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type Auth, createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { CREDENTIALS_RECHECK_MS } from '../../src/live/index.ts';
import { TEST_PASSWORD_COST } from '../auth/harness.ts';
import { isSnapshot, LiveClient, type LiveServer, startLiveServer } from './support.ts';

const PASSWORD = 'long enough password';
const LAPSED = { code: 1008, reason: 'credentials revoked or expired' };

let server: LiveServer;
let auth: Auth;
let clock: ManualClock;
const clients: LiveClient[] = [];

beforeEach(async () => {
  clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
  server = await startLiveServer({
    clock,
    auth: (engine) => {
      auth = createAuth({
        db: engine.store.sqlite,
        clock,
        options: { passwordCost: TEST_PASSWORD_COST },
        tenantHoldsEvents: storedEventsProbe(engine.store),
      });
      return auth;
    },
  });
  await account('ana@example.com');
  const ana = await login('ana@example.com');
  await auth.projects.create(auth.accounts.verifyAccess(ana.access_token), {
    id: 'acme',
    name: 'Acme',
  });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function account(email: string) {
  await auth.accounts.register({ email, password: PASSWORD }, null, null);
}

function login(email: string) {
  return auth.accounts.login({ email, password: PASSWORD }, null);
}

/** A subscribed socket of `token` on acme. */
async function open(token: string): Promise<LiveClient> {
  const client = await LiveClient.connect(`${server.wsUrl}/api/v1/live?tenant_id=acme`, {
    headers: { authorization: `Bearer ${token}` },
  });
  clients.push(client);
  client.send({ type: 'subscribe' });
  await client.next(isSnapshot);
  return client;
}

/** Whether `client` is still open after the next credentials check. */
async function openAfterCheck(client: LiveClient): Promise<boolean> {
  clock.advance(CREDENTIALS_RECHECK_MS);
  const closed = await Promise.race([client.closed, Bun.sleep(1500).then(() => null)]);
  return closed === null;
}

describe('a socket of an access token closes when its session or access ends', () => {
  test('logout: this session’s socket closes, another session’s stays', async () => {
    const first = await login('ana@example.com');
    const second = await login('ana@example.com');
    const ended = await open(first.access_token);
    const other = await open(second.access_token);
    auth.accounts.logout(first.refresh_token, null);
    clock.advance(CREDENTIALS_RECHECK_MS);
    expect(await ended.closed).toEqual(LAPSED);
    expect(await openAfterCheck(other)).toBe(true);
  });

  test('a reused refresh token revokes the family: the socket of its access token closes', async () => {
    const pair = await login('ana@example.com');
    const client = await open(pair.access_token);
    auth.accounts.refresh(pair.refresh_token);
    expect(() => auth.accounts.refresh(pair.refresh_token)).toThrow();
    clock.advance(CREDENTIALS_RECHECK_MS);
    expect(await client.closed).toEqual(LAPSED);
  });

  test('a new password set in another session closes this session’s socket', async () => {
    const stolen = await login('ana@example.com');
    const owner = await login('ana@example.com');
    const client = await open(stolen.access_token);
    await auth.accounts.updateMe(
      auth.accounts.verifyAccess(owner.access_token),
      { current_password: PASSWORD, password: 'another long password' },
      null,
    );
    clock.advance(CREDENTIALS_RECHECK_MS);
    expect(await client.closed).toEqual(LAPSED);
  });

  test('a member removed, or an account deleted: its socket closes', async () => {
    const owner = auth.accounts.verifyAccess((await login('ana@example.com')).access_token);
    for (const how of ['removed', 'deleted'] as const) {
      const email = `bo-${how}@example.com`;
      await account(email);
      const bo = await login(email);
      const boUser = auth.accounts.verifyAccess(bo.access_token);
      const invited = auth.invitations.invite(owner, 'acme', { email });
      auth.invitations.accept(boUser, { token: invited.token });
      const client = await open(bo.access_token);
      if (how === 'removed') auth.projects.removeMember(owner, 'acme', boUser.user.id);
      else auth.accounts.deleteMe(boUser);
      clock.advance(CREDENTIALS_RECHECK_MS);
      expect({ how, closed: await client.closed }).toEqual({ how, closed: LAPSED });
    }
  });

  test('an access token past its expiry: its socket closes', async () => {
    const pair = await login('ana@example.com');
    const client = await open(pair.access_token);
    clock.advance(auth.options.accessTtlMs);
    expect(await client.closed).toEqual(LAPSED);
  });
});

describe('a socket opened without tenant_id keeps the project it was admitted to', () => {
  /** A subscribed socket of `token` without tenant_id: the member's only project. */
  async function openDefault(token: string): Promise<LiveClient> {
    const client = await LiveClient.connect(`${server.wsUrl}/api/v1/live`, {
      headers: { authorization: `Bearer ${token}` },
    });
    clients.push(client);
    client.send({ type: 'subscribe' });
    const { message } = await client.next(isSnapshot);
    expect(message.tenant).toBe('acme');
    return client;
  }

  test('the member gets a second project: the socket stays open (access did not lapse)', async () => {
    const pair = await login('ana@example.com');
    const client = await openDefault(pair.access_token);
    await auth.projects.create(auth.accounts.verifyAccess(pair.access_token), {
      id: 'beta',
      name: 'Beta',
    });
    expect(await openAfterCheck(client)).toBe(true);
  });

  test('the member loses the project: the socket still closes', async () => {
    const owner = auth.accounts.verifyAccess((await login('ana@example.com')).access_token);
    await account('bo@example.com');
    const bo = await login('bo@example.com');
    const boUser = auth.accounts.verifyAccess(bo.access_token);
    const invited = auth.invitations.invite(owner, 'acme', { email: 'bo@example.com' });
    auth.invitations.accept(boUser, { token: invited.token });
    const client = await openDefault(bo.access_token);
    auth.projects.removeMember(owner, 'acme', boUser.user.id);
    clock.advance(CREDENTIALS_RECHECK_MS);
    expect(await client.closed).toEqual(LAPSED);
  });
});
