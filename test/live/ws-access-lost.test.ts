// A change of access made through Tally (a read key revoked, a member removed, a logout, a
// password changed, an account deleted, a refresh token reused) closes the live sockets that
// lost their access at once (1008), not at the next 5-second check: the hub is told, and checks
// every socket's credentials at its next tick. So does an access token's expiry. The clock here
// never reaches that 5-second check, so a socket closed at all was closed by the change or the
// expiry. Sockets that kept their access stay.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type Auth, createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { CREDENTIALS_RECHECK_SOON_MS, LiveHub } from '../../src/live/index.ts';
import { TEST_PASSWORD_COST } from '../auth/harness.ts';
import { isSnapshot, LiveClient, type LiveServer, startLiveServer } from './support.ts';

/** A hub that keeps the expiry each socket's credentials were opened with. */
class ExpiryHub extends LiveHub {
  readonly expiries: (number | null | undefined)[] = [];
  override open(...args: Parameters<LiveHub['open']>): boolean {
    this.expiries.push(args[3]?.expiresAt);
    return super.open(...args);
  }
}

const PASSWORD = 'long enough password';
const LAPSED = { code: 1008, reason: 'credentials revoked or expired' };
/** Longer than a tick, a round and a close on a loaded host; far less than the 5 s check. */
const PROMPTLY_MS = 1500;

let server: LiveServer;
let auth: Auth;
let clock: ManualClock;
let owner: { access_token: string; refresh_token: string };
const clients: LiveClient[] = [];

beforeEach(async () => {
  clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
  server = await startLiveServer({
    clock,
    makeHub: (deps) => new ExpiryHub(deps),
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
  owner = await signUp('ana@example.com');
  await auth.projects.create(principal(owner.access_token), { id: 'acme', name: 'Acme' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function signUp(email: string) {
  await auth.accounts.register({ email, password: PASSWORD }, null, null);
  return login(email);
}

function login(email: string) {
  return auth.accounts.login({ email, password: PASSWORD }, null);
}

const principal = (token: string) => auth.accounts.verifyAccess(token);

/** A new member of acme, signed in. */
async function member(email: string) {
  const pair = await signUp(email);
  const invited = auth.invitations.invite(principal(owner.access_token), 'acme', { email });
  auth.invitations.accept(principal(pair.access_token), { token: invited.token });
  return pair;
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

/** How `client` closed within PROMPTLY_MS, or null while it is open. */
const closedPromptly = (client: LiveClient) =>
  Promise.race([client.closed, Bun.sleep(PROMPTLY_MS).then(() => null)]);

describe('a change of access closes the sockets that lost it at once', () => {
  test('a read key revoked through the API; another key’s socket stays', async () => {
    const headers = { authorization: `Bearer ${owner.access_token}` };
    const made = async () => {
      const res = await server.post('/api/v1/projects/acme/keys', { kind: 'read' }, headers);
      expect(res.status).toBe(201);
      return (await res.json()) as { key: string; id: string };
    };
    const [revoked, kept] = [await made(), await made()];
    const gone = await open(revoked.key);
    const stays = await open(kept.key);
    const url = `${server.url}/api/v1/projects/acme/keys/${revoked.id}`;
    expect((await fetch(url, { method: 'DELETE', headers })).status).toBe(204);
    expect(await closedPromptly(gone)).toEqual(LAPSED);
    expect(await closedPromptly(stays)).toBeNull();
  });

  test('a member removed, a logout, a password changed, an account deleted', async () => {
    const changes: [string, (pair: { access_token: string; refresh_token: string }) => void][] = [
      [
        'removed',
        (bo) => auth.projects.removeMember(principal(owner.access_token), 'acme', id(bo)),
      ],
      ['logout', (bo) => auth.accounts.logout(bo.refresh_token, null)],
      ['deleted', (bo) => auth.accounts.deleteMe(principal(bo.access_token))],
    ];
    const id = (pair: { access_token: string }) => principal(pair.access_token).user.id;
    const stays = await open(owner.access_token);
    for (const [how, change] of changes) {
      const bo = await member(`bo-${how}@example.com`);
      const client = await open(bo.access_token);
      change(bo);
      expect({ how, closed: await closedPromptly(client) }).toEqual({ how, closed: LAPSED });
      clock.advance(CREDENTIALS_RECHECK_SOON_MS); // the next change is not held back
    }
    expect(await closedPromptly(stays)).toBeNull();
    const other = await login('ana@example.com');
    const before = await open(owner.access_token);
    await auth.accounts.updateMe(
      principal(other.access_token),
      { current_password: PASSWORD, password: 'another long password' },
      null,
    );
    expect(await closedPromptly(before)).toEqual(LAPSED);
    expect(await closedPromptly(stays)).toEqual(LAPSED); // the same session's: it ended too
  });

  test('a refresh token used twice revokes its session: its socket closes', async () => {
    const pair = await login('ana@example.com');
    const client = await open(pair.access_token);
    auth.accounts.refresh(pair.refresh_token);
    expect(() => auth.accounts.refresh(pair.refresh_token)).toThrow();
    expect(await closedPromptly(client)).toEqual(LAPSED);
  });
});

describe('rounds made at once are spaced', () => {
  test('a second change within CREDENTIALS_RECHECK_SOON_MS waits for it', async () => {
    const first = await member('bo@example.com');
    const second = await member('cy@example.com');
    const a = await open(first.access_token);
    const b = await open(second.access_token);
    auth.accounts.logout(first.refresh_token, null);
    expect(await closedPromptly(a)).toEqual(LAPSED);
    auth.accounts.logout(second.refresh_token, null);
    expect(await closedPromptly(b)).toBeNull();
    clock.advance(CREDENTIALS_RECHECK_SOON_MS);
    expect(await closedPromptly(b)).toEqual(LAPSED);
  });
});

describe('an access token is checked again when it expires', () => {
  test('its socket closes at the expiry, not at the next round after it', async () => {
    const expiresAt = clock.now() + auth.options.accessTtlMs;
    const pair = await login('ana@example.com');
    const client = await open(pair.access_token);
    expect((server.hub as ExpiryHub).expiries).toEqual([expiresAt]);
    clock.advance(expiresAt - 1000 - clock.now());
    await server.hub.tick(); // a round 1 s before the expiry: the token is still good
    expect(await closedPromptly(client)).toBeNull();
    clock.advance(1000); // the next round of every 5 s is 4 s later
    expect(await closedPromptly(client)).toEqual(LAPSED);
  });
});

test('in open mode a token is read by nobody: the expiry it states is not waited for', async () => {
  const openServer = await startLiveServer({ makeHub: (deps) => new ExpiryHub(deps) });
  try {
    const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const forged = `${b64({ alg: 'HS256' })}.${b64({ exp: 4_102_444_800 })}.sig`;
    const client = await LiveClient.connect(`${openServer.wsUrl}/api/v1/live`, {
      headers: { authorization: `Bearer ${forged}` },
    });
    client.send({ type: 'subscribe' });
    await client.next(isSnapshot);
    expect((openServer.hub as ExpiryHub).expiries).toEqual([null]);
    client.close();
  } finally {
    await openServer.close();
  }
});
