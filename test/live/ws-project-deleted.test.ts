// Live sockets of a project deleted with DELETE /api/v1/projects/{id}, under the real auth
// resolver: a socket open at the deletion closes with 4410, and so does one whose handshake
// passed its credentials check before the deletion but that opened after it (Bun calls the
// socket's open after the check; the deletion can land in between). The race is made
// deterministic by a hub that holds each socket's open until the test lets it go.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type Auth, createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import { ManualClock } from '../../src/core/index.ts';
import { LiveHub, type LivePublisher, type LiveSocket } from '../../src/live/index.ts';
import { TEST_PASSWORD_COST } from '../auth/harness.ts';
import { isSnapshot, LiveClient, type LiveServer, startLiveServer } from './support.ts';

const PASSWORD = 'long enough password';
const DELETED = { code: 4410, reason: 'the project was deleted' };

/** A hub that, while `held` is set, opens sockets only once it resolves. */
class HeldHub extends LiveHub {
  held: Promise<void> | null = null;

  override open(...args: Parameters<LiveHub['open']>): boolean {
    const { held } = this;
    if (held === null) return super.open(...args);
    void held.then(() => super.open(...args));
    return true;
  }
}

let server: LiveServer;
let auth: Auth;
let hub: HeldHub;
let token: string;
const clients: LiveClient[] = [];

beforeEach(async () => {
  const clock = new ManualClock(Date.parse('2026-11-25T12:00:00Z'));
  server = await startLiveServer({
    clock,
    makeHub: (deps) => {
      hub = new HeldHub(deps);
      return hub;
    },
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
  await auth.accounts.register({ email: 'ana@example.com', password: PASSWORD }, null, null);
  const pair = await auth.accounts.login({ email: 'ana@example.com', password: PASSWORD }, null);
  token = pair.access_token;
  await auth.projects.create(auth.accounts.verifyAccess(token), { id: 'acme', name: 'Acme' });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
});

async function connect(): Promise<LiveClient> {
  const client = await LiveClient.connect(`${server.wsUrl}/api/v1/live?tenant_id=acme`, {
    headers: { authorization: `Bearer ${token}` },
  });
  clients.push(client);
  return client;
}

async function deleteAcme(): Promise<void> {
  const response = await fetch(`${server.url}/api/v1/projects/acme`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  });
  expect(response.status).toBe(204);
}

/** How `client` closed within `ms`, or null while it is open. */
function closedWithin(client: LiveClient, ms: number) {
  return Promise.race([client.closed, Bun.sleep(ms).then(() => null)]);
}

describe('a deleted project’s live sockets close with 4410', () => {
  test('a socket open at the deletion', async () => {
    const client = await connect();
    client.send({ type: 'subscribe' });
    await client.next(isSnapshot);
    await deleteAcme();
    expect(await closedWithin(client, 1000)).toEqual(DELETED);
  });

  test('a socket admitted before the deletion and opened after it, at once', async () => {
    let release = () => {};
    hub.held = new Promise((resolve) => {
      release = resolve;
    });
    const client = await connect(); // its credentials passed: acme still existed
    await deleteAcme();
    expect(hub.stats().connections).toBe(0); // the deletion found no socket to close
    hub.held = null;
    release();
    expect(await closedWithin(client, 1000)).toEqual(DELETED);
    expect(client.messages).toEqual([]);
    expect(hub.stats()).toMatchObject({ connections: 0, tenants: 0 });
  });

  test('a socket admitted after a deletion of another project opens as usual', async () => {
    await auth.projects.create(auth.accounts.verifyAccess(token), { id: 'beta', name: 'Beta' });
    const response = await fetch(`${server.url}/api/v1/projects/beta`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(response.status).toBe(204);
    const client = await connect();
    client.send({ type: 'subscribe' });
    expect((await client.next(isSnapshot)).message.tenant).toBe('acme');
    expect(await closedWithin(client, 200)).toBeNull();
  });
});

test('the hub: a socket opened with a deletion count older than the tenant’s is closed', () => {
  const closed: { code?: number; reason?: string }[] = [];
  const socket: LiveSocket = {
    readyState: 1,
    send: () => 1,
    subscribe: () => undefined,
    unsubscribe: () => undefined,
    getBufferedAmount: () => 0,
    close: (code, reason) => void closed.push({ code, reason }),
  };
  const publisher: LivePublisher = { publish: () => 0 };
  const admitted = hub.deletionsOf('acme');
  hub.closeTenant('acme');
  expect(hub.deletionsOf('acme')).toBe(admitted + 1);
  expect(hub.open(socket, 'acme', publisher, undefined, admitted)).toBe(false);
  expect(closed).toEqual([DELETED]);
  expect(hub.stats().connections).toBe(0);
});
