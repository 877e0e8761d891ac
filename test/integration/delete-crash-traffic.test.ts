// A project's deletion in the real server killed (SIGKILL) at each of its steps (FAULT_POINT)
// while clients keep sending events to it and to another project, with flushes and merges
// running: restarted, none of the deleted project's events acknowledged before the deletion
// was asked for is back, every acknowledged event of the other project is stored exactly once,
// none twice, and each one sent again is a duplicate (after the restart and a clean one).

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { DELETE_FAULT_POINTS } from '../../src/storage/index.ts';
import { checkAfterRestarts, FAST_FLUSH_ENV } from '../helpers/fast-store.ts';
import { killServers, startServer } from '../helpers/server.ts';
import { call, signIn } from '../helpers/server-calls.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const USER = { email: 'ada@x.io', password: 'correct horse 1' };

type Results = { event_id: string; status: string }[];

/** Sends events of `tenant`; the results of a 202, [] otherwise, null when cut. */
async function send(url: string, tenant: string, ids: string[]): Promise<Results | null> {
  const events = ids.map((id) => ({ event_id: id, name: 'page_view', tenant_id: tenant }));
  try {
    const res = await call(url, 'POST', '/api/v1/events/batch', { events });
    if (res.status !== 202) return [];
    return ((await res.json()) as { results: Results }).results;
  } catch {
    return null;
  }
}

interface Traffic {
  kept: Set<string>;
  /** Acknowledged ids of the deleted project, with when they were acknowledged. */
  doomed: Map<string, number>;
  stop: boolean;
}

async function client(url: string, c: number, t: Traffic): Promise<void> {
  for (let n = 0; !t.stop; n++) {
    const tenant = c % 2 === 0 ? 'globex' : 'acme';
    const ids = [0, 1].map((i) => `${tenant}-c${c}-${n}-${i}`);
    const results = await send(url, tenant, ids);
    if (results === null) return; // killed
    if (results.length === 0) continue;
    for (const r of results) expect(r.status).toBe('accepted');
    for (const id of ids) {
      if (tenant === 'globex') t.kept.add(id);
      else t.doomed.set(id, performance.now());
    }
  }
}

async function countsOf(url: string, tenant: string): Promise<Map<string, number>> {
  const sql = 'SELECT event_id, count(*) FROM events GROUP BY event_id';
  const res = await call(url, 'POST', `/api/v1/query?tenant_id=${tenant}`, { sql });
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as { rows: [string, number][] }).rows);
}

async function expectStored(url: string, t: Traffic, deleted: Set<string>): Promise<void> {
  const globex = await countsOf(url, 'globex');
  expect([...globex].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...t.kept].filter((id) => globex.get(id) !== 1)).toEqual([]);
  const acme = await countsOf(url, 'acme');
  expect([...acme].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...deleted].filter((id) => acme.has(id))).toEqual([]);
}

async function expectDuplicates(url: string, ids: Set<string>, when: string): Promise<void> {
  const list = [...ids];
  for (let i = 0; i < list.length; i += 500) {
    const results = await send(url, 'globex', list.slice(i, i + 500));
    expect(results?.length).toBe(Math.min(500, list.length - i));
    const accepted = (results ?? []).filter((r) => r.status !== 'duplicate').map((r) => r.event_id);
    expect({ when, accepted }).toEqual({ when, accepted: [] });
  }
}

describe('a project deleted amid traffic in a server killed with SIGKILL', () => {
  for (const point of DELETE_FAULT_POINTS) {
    test(`killed at ${point}: deleted events stay deleted, the other project's once`, async () => {
      const temp = makeTempDir('tally-delete-traffic-');
      temps.push(temp.remove);
      const doomed = await startServer(temp.dir, { ...FAST_FLUSH_ENV, FAULT_POINT: point });
      const { url } = doomed;
      expect((await call(url, 'POST', '/api/v1/auth/register', USER)).status).toBe(201);
      const token = await signIn(url, USER);
      for (const id of ['acme', 'globex']) {
        const made = await call(url, 'POST', '/api/v1/projects', { id, name: id }, token);
        expect(made.status).toBe(201);
      }
      const t: Traffic = { kept: new Set(), doomed: new Map(), stop: false };
      const clients = Array.from({ length: 6 }, (_, c) => client(url, c, t));
      while (t.kept.size < 300 || t.doomed.size < 300) await Bun.sleep(10);
      const askedAt = performance.now();
      const deleted = new Set([...t.doomed].filter(([, at]) => at < askedAt).map(([id]) => id));
      const answer = await call(url, 'DELETE', '/api/v1/projects/acme', undefined, token)
        .then((r) => r.status)
        .catch(() => 0);
      expect(answer).toBe(0); // killed before it could answer
      await doomed.exited;
      t.stop = true;
      await Promise.all(clients);
      expect(doomed.proc.signalCode).toBe('SIGKILL');

      await checkAfterRestarts(temp.dir, async (again, when) => {
        await expectStored(again.url, t, deleted);
        await expectDuplicates(again.url, t.kept, when);
      });
    }, 90_000);
  }
});
