// Deletes a project in the real server and kills it (SIGKILL) at every step of the deletion
// (FAULT_POINT), and once right after the 204: after a restart the deleted tenant has no event
// and no file, its project is gone, and the other tenant has every event it had.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DELETE_FAULT_POINTS } from '../../src/storage/index.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { call, signIn } from '../helpers/server-calls.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const FAST = { FLUSH_INTERVAL: '100ms' };
const PASSWORD = 'correct horse 1';
const USER = { email: 'ada@x.io', password: PASSWORD };

/** Events (count, distinct ids) of a tenant, through the SQL endpoint. */
async function countOf(url: string, tenant: string): Promise<[number, number]> {
  const sql = 'SELECT count(*), count(DISTINCT event_id) FROM events';
  const res = await call(url, 'POST', `/api/v1/query?tenant_id=${tenant}`, { sql });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: [number, number][] }).rows[0] as [number, number];
}

async function send(url: string, tenant: string, ids: string[]): Promise<void> {
  const events = ids.map((id) => ({ event_id: id, name: 'page_view', tenant_id: tenant }));
  expect((await call(url, 'POST', '/api/v1/events/batch', { events })).status).toBe(202);
}

const tenantDirs = (dataDir: string) => {
  const root = path.join(dataDir, 'segments');
  const files = fs.readdirSync(root, { recursive: true }) as string[];
  return [...new Set(files.filter((f) => f.endsWith('.parquet')).map((f) => f.split('/')[0]))];
};

/** Two projects with flushed and unflushed events; the token of their owner. */
async function setUp(server: RunningServer, dataDir: string): Promise<string> {
  const { url } = server;
  const user = { email: 'ada@x.io', password: PASSWORD };
  expect((await call(url, 'POST', '/api/v1/auth/register', user)).status).toBe(201);
  const token = await signIn(url, USER);
  for (const id of ['acme', 'globex']) {
    const res = await call(url, 'POST', '/api/v1/projects', { id, name: id }, token);
    expect(res.status).toBe(201);
  }
  await send(url, 'acme', ['a1', 'a2', 'a3']);
  await send(url, 'globex', ['g1', 'g2']);
  // Flushed within FLUSH_INTERVAL: wait for both tenants' segments on disk.
  for (let i = 0; tenantDirs(dataDir).length < 2; i++) {
    if (i > 200) throw new Error('the events were never flushed');
    await Bun.sleep(25);
  }
  await send(url, 'acme', ['a4']);
  await send(url, 'globex', ['g3']);
  return token;
}

async function checkDeleted(dataDir: string): Promise<void> {
  const again = await startServer(dataDir, FAST);
  try {
    expect(await countOf(again.url, 'acme')).toEqual([0, 0]);
    expect(await countOf(again.url, 'globex')).toEqual([3, 3]);
    expect(tenantDirs(dataDir)).toEqual(['tenant=globex']);
    const token = await signIn(again.url, USER);
    const gone = await call(again.url, 'GET', '/api/v1/projects/acme', undefined, token);
    expect(gone.status).toBe(404);
    // The id is free again, and starts empty.
    const made = await call(
      again.url,
      'POST',
      '/api/v1/projects',
      { id: 'acme', name: 'a' },
      token,
    );
    expect(made.status).toBe(201);
    await send(again.url, 'acme', ['a1']);
    expect(await countOf(again.url, 'acme')).toEqual([1, 1]);
  } finally {
    again.kill('SIGTERM');
    await again.exited;
  }
}

describe('a project deleted in a server killed with SIGKILL', () => {
  for (const point of DELETE_FAULT_POINTS) {
    test(`killed at ${point}: restarted, the tenant stays deleted`, async () => {
      const temp = makeTempDir('tally-delete-');
      temps.push(temp.remove);
      const server = await startServer(temp.dir, { ...FAST, FAULT_POINT: point });
      const token = await setUp(server, temp.dir);
      const answer = await call(server.url, 'DELETE', '/api/v1/projects/acme', undefined, token)
        .then((r) => r.status)
        .catch(() => 0);
      expect(answer).toBe(0); // killed before it could answer
      await server.exited;
      expect(server.proc.signalCode).toBe('SIGKILL');
      await checkDeleted(temp.dir);
    }, 30_000);
  }

  test('killed right after the 204: restarted, the tenant stays deleted', async () => {
    const temp = makeTempDir('tally-delete-');
    temps.push(temp.remove);
    const server = await startServer(temp.dir, FAST);
    const token = await setUp(server, temp.dir);
    const res = await call(server.url, 'DELETE', '/api/v1/projects/acme', undefined, token);
    expect(res.status).toBe(204);
    expect(await countOf(server.url, 'acme')).toEqual([0, 0]);
    server.kill('SIGKILL');
    await server.exited;
    await checkDeleted(temp.dir);
  }, 30_000);
});
