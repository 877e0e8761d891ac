// Erases a person's events in the real server and kills it (SIGKILL) at every step of the
// erasure (FAULT_POINT): restarted, the erasure resumes and ends done, none of the person's
// events of that project is back (flushed or unflushed when it was accepted), every other
// event is there exactly once, and the person's events in another project stay.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ERASURE_FAULT_POINTS } from '../../src/storage/index.ts';
import { killServers, startServer } from '../helpers/server.ts';
import { call, signIn } from '../helpers/server-calls.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const FAST = { FLUSH_INTERVAL: '100ms' };
/** Nothing flushes on its own while the erasure is asked for: the hot tier holds events. */
const SLOW = { FLUSH_INTERVAL: '1h' };
const USER = { email: 'ada@x.io', password: 'correct horse 1' };

/** A tenant's event ids, sorted, through the SQL endpoint (repeats would show). */
async function idsOf(url: string, tenant: string): Promise<string[]> {
  const sql = 'SELECT event_id FROM events ORDER BY event_id';
  const res = await call(url, 'POST', `/api/v1/query?tenant_id=${tenant}`, { sql });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: [string][] }).rows.map((r) => r[0]);
}

async function send(url: string, tenant: string, events: [string, string][]): Promise<void> {
  const body = {
    events: events.map(([id, user]) => ({
      event_id: id,
      name: 'page_view',
      tenant_id: tenant,
      user_id: user,
    })),
  };
  expect((await call(url, 'POST', '/api/v1/events/batch', body)).status).toBe(202);
}

const tenantDirs = (dataDir: string) => {
  const root = path.join(dataDir, 'segments');
  if (!fs.existsSync(root)) return [];
  const files = fs.readdirSync(root, { recursive: true }) as string[];
  return [...new Set(files.filter((f) => f.endsWith('.parquet')).map((f) => f.split('/')[0]))];
};

/** Two projects with flushed events of the person (u1) and of another (u2). */
async function setUp(dataDir: string): Promise<void> {
  const first = await startServer(dataDir, FAST);
  try {
    const { url } = first;
    expect((await call(url, 'POST', '/api/v1/auth/register', USER)).status).toBe(201);
    const token = await signIn(url, USER);
    for (const id of ['acme', 'globex']) {
      expect((await call(url, 'POST', '/api/v1/projects', { id, name: id }, token)).status).toBe(
        201,
      );
    }
    await send(url, 'acme', [
      ['a-p1', 'u1'],
      ['a-k1', 'u2'],
      ['a-p2', 'u1'],
    ]);
    await send(url, 'globex', [['g-p1', 'u1']]);
    for (let i = 0; tenantDirs(dataDir).length < 2; i++) {
      if (i > 200) throw new Error('the events were never flushed');
      await Bun.sleep(25);
    }
  } finally {
    first.kill('SIGTERM');
    await first.exited;
  }
}

const KEPT = ['a-k1', 'a-k2', 'a-k3'];

async function checkErased(dataDir: string): Promise<void> {
  const again = await startServer(dataDir, FAST);
  try {
    const { url } = again;
    const token = await signIn(url, USER);
    let list: { status: string; events_erased: number }[] = [];
    for (let i = 0; list[0]?.status !== 'done'; i++) {
      if (i > 400) throw new Error(`the erasure never ended: ${JSON.stringify(list)}`);
      await Bun.sleep(25);
      const res = await call(url, 'GET', '/api/v1/projects/acme/erasures', undefined, token);
      list = (await res.json()) as typeof list;
    }
    expect(list).toHaveLength(1);
    expect(await idsOf(url, 'acme')).toEqual(KEPT);
    expect(await idsOf(url, 'globex')).toEqual(['g-p1']);
    await send(url, 'acme', [['a-p4', 'u1']]); // later events of the person are kept
    expect(await idsOf(url, 'acme')).toEqual([...KEPT, 'a-p4'].sort());
  } finally {
    again.kill('SIGTERM');
    await again.exited;
  }
}

describe('an erasure in a server killed with SIGKILL', () => {
  for (const point of ERASURE_FAULT_POINTS) {
    test(`killed at ${point}: restarted, it ends done and nothing of the person is back`, async () => {
      const temp = makeTempDir('tally-erasure-');
      temps.push(temp.remove);
      await setUp(temp.dir);
      const doomed = await startServer(temp.dir, { ...SLOW, FAULT_POINT: point });
      const { url } = doomed;
      await send(url, 'acme', [
        ['a-p3', 'u1'],
        ['a-k2', 'u2'],
      ]);
      expect(await idsOf(url, 'acme')).toHaveLength(5); // the hot rows loaded too
      await send(url, 'acme', [['a-k3', 'u2']]);
      const token = await signIn(url, USER);
      await call(url, 'POST', '/api/v1/projects/acme/erasures', { user_id: 'u1' }, token).catch(
        () => null, // killed before it answered (the steps of its acceptance)
      );
      await doomed.exited;
      expect(doomed.proc.signalCode).toBe('SIGKILL');
      await checkErased(temp.dir);
    }, 60_000);
  }

  test('killed right after it is done: restarted, it stays done', async () => {
    const temp = makeTempDir('tally-erasure-');
    temps.push(temp.remove);
    await setUp(temp.dir);
    const server = await startServer(temp.dir, SLOW);
    const { url } = server;
    await send(url, 'acme', [
      ['a-p3', 'u1'],
      ['a-k2', 'u2'],
      ['a-k3', 'u2'],
    ]);
    const token = await signIn(url, USER);
    const res = await call(url, 'POST', '/api/v1/projects/acme/erasures', { user_id: 'u1' }, token);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    for (let i = 0; ; i++) {
      const one = await call(url, 'GET', `/api/v1/projects/acme/erasures/${id}`, undefined, token);
      if (((await one.json()) as { status: string }).status === 'done') break;
      if (i > 400) throw new Error('the erasure never ended');
      await Bun.sleep(25);
    }
    expect(await idsOf(url, 'acme')).toEqual(KEPT);
    server.kill('SIGKILL');
    await server.exited;
    await checkErased(temp.dir);
  }, 60_000);
});
