// The live WebSocket under the real auth resolver (AUTH_MODE=required): a token or read key of
// one project never opens a socket on another project's counters.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { type Auth, createAuth, storedEventsProbe } from '../../src/auth/index.ts';
import { systemClock } from '../../src/core/index.ts';
import { TEST_PASSWORD_COST } from '../auth/harness.ts';
import {
  isSnapshot,
  LiveClient,
  type LiveServer,
  startLiveServer,
  upgradeStatus,
} from './support.ts';

let server: LiveServer;
let auth: Auth;
const tokens: Record<string, string> = {};
const readKeys: Record<string, string> = {};

async function owner(email: string, project: string): Promise<void> {
  await auth.accounts.register({ email, password: 'long enough password' }, null, null);
  const pair = await auth.accounts.login({ email, password: 'long enough password' }, null);
  const principal = auth.accounts.verifyAccess(pair.access_token);
  await auth.projects.create(principal, { id: project, name: project });
  tokens[project] = pair.access_token;
  readKeys[project] = auth.projects.createKey(principal, project, { kind: 'read' }).key;
}

beforeAll(async () => {
  server = await startLiveServer({
    tenancy: (engine) => {
      auth = createAuth({
        db: engine.store.sqlite,
        clock: systemClock,
        options: { passwordCost: TEST_PASSWORD_COST },
        tenantHoldsEvents: storedEventsProbe(engine.store),
      });
      return auth.tenancy;
    },
  });
  await owner('ana@example.com', 'acme');
  await owner('bo@example.com', 'globex');
});

afterAll(() => server.close());

describe('live sockets are tenant-isolated', () => {
  test("one project's token or read key against another project is refused before the upgrade", async () => {
    for (const credential of [tokens.acme, readKeys.acme]) {
      const status = await upgradeStatus(
        `${server.wsUrl}/api/v1/live?tenant_id=globex&token=${credential}`,
      );
      expect([403, 404]).toContain(status.status);
      expect(status.body).not.toContain('"type":"snapshot"');
    }
  });

  test('a write key cannot open a live socket', async () => {
    const principal = auth.accounts.verifyAccess(tokens.acme as string);
    const writeKey = auth.projects.createKey(principal, 'acme', { kind: 'write' }).key;
    const status = await upgradeStatus(`${server.wsUrl}/api/v1/live?token=${writeKey}`);
    expect(status.status).toBe(403);
  });

  test("the own project opens, and its snapshot counts only that project's events", async () => {
    // Distinct events in each project: acme's counters must hold acme's alone.
    const sent: [string, string, number][] = [
      ['acme', 'acme_signup', 2],
      ['globex', 'globex_secret', 5],
    ];
    for (const [project, name, count] of sent) {
      const principal = auth.accounts.verifyAccess(tokens[project] as string);
      const writeKey = auth.projects.createKey(principal, project, { kind: 'write' }).key;
      for (let i = 0; i < count; i++) {
        const res = await server.post(
          '/api/v1/events',
          { name, path: `/${project}` },
          { authorization: `Bearer ${writeKey}` },
        );
        expect(res.status).toBe(202);
      }
    }
    const client = await LiveClient.connect(
      `${server.wsUrl}/api/v1/ws/metrics?tenant_id=acme&token=${readKeys.acme}`,
    );
    client.send({ type: 'subscribe' });
    const { message } = await client.next(isSnapshot, 2000);
    expect(message).toMatchObject({ type: 'snapshot', tenant: 'acme' });
    const window = message.windows['1m'];
    expect(window.events).toBe(2);
    expect(window.names).toEqual([{ name: 'acme_signup', events: 2 }]);
    expect(JSON.stringify(message)).not.toContain('globex');
    client.close();
  });

  test('a read key in X-Tally-Key opens its own project, as on the read routes; not another', async () => {
    const headers = { 'x-tally-key': readKeys.acme as string };
    const client = await LiveClient.connect(`${server.wsUrl}/api/v1/live`, { headers });
    client.send({ type: 'subscribe' });
    expect((await client.next(isSnapshot, 2000)).message.tenant).toBe('acme');
    client.close();
    const other = await upgradeStatus(`${server.wsUrl}/api/v1/live?tenant_id=globex`, headers);
    expect([403, 404]).toContain(other.status);
  });
});
