// A person's erasure in the real server killed (SIGKILL) at each of its steps (FAULT_POINT)
// while clients keep sending events of other people and of the person, with flushes running:
// restarted, the erasure ends done, none of the person's events acknowledged before it was
// asked for is back, every other acknowledged event is stored exactly once, none twice, and
// each one sent again is a duplicate (after the restart and after a clean one).

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { ERASURE_FAULT_POINTS } from '../../src/storage/index.ts';
import { checkAfterRestarts, FAST_FLUSH_ENV } from '../helpers/fast-store.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { call, signIn } from '../helpers/server-calls.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const USER = { email: 'ada@x.io', password: 'correct horse 1' };

type Results = { event_id: string; status: string }[];

/** Sends [id, user] events to acme; null when the request got no answer. */
async function send(url: string, events: [string, string][]): Promise<Results | null> {
  const body = {
    events: events.map(([id, user]) => ({
      event_id: id,
      name: 'page_view',
      tenant_id: 'acme',
      user_id: user,
    })),
  };
  try {
    const res = await call(url, 'POST', '/api/v1/events/batch', body);
    if (res.status === 503) return [];
    expect(res.status).toBe(202);
    return ((await res.json()) as { results: Results }).results;
  } catch {
    return null;
  }
}

interface Traffic {
  /** Acknowledged ids of other people (u2, u3). */
  kept: Set<string>;
  /** Acknowledged ids of the person (u1), with when they were sent and acknowledged. */
  person: Map<string, { sent: number; acked: number }>;
  stop: boolean;
}

/** One client: batches of one event of the person and two of others, until cut or stopped. */
async function client(url: string, c: number, t: Traffic): Promise<void> {
  for (let n = 0; !t.stop; n++) {
    const [person, a, b] = ['p', 'a', 'b'].map((x) => `c${c}-${n}-${x}`) as [
      string,
      string,
      string,
    ];
    const sent = performance.now();
    const results = await send(url, [
      [person, 'u1'],
      [a, 'u2'],
      [b, 'u3'],
    ]);
    if (results === null) return; // killed
    for (const r of results) expect(r.status).toBe('accepted');
    if (results.length === 0) continue;
    t.person.set(person, { sent, acked: performance.now() });
    t.kept.add(a);
    t.kept.add(b);
  }
}

async function countsOf(url: string): Promise<Map<string, number>> {
  const sql = 'SELECT event_id, count(*) FROM events GROUP BY event_id';
  const res = await call(url, 'POST', '/api/v1/query?tenant_id=acme', { sql });
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as { rows: [string, number][] }).rows);
}

async function expectDuplicates(url: string, ids: Set<string>, when: string): Promise<void> {
  const list = [...ids];
  for (let i = 0; i < list.length; i += 500) {
    const results = await send(
      url,
      list.slice(i, i + 500).map((id) => [id, 'u2']),
    );
    const accepted = (results ?? []).filter((r) => r.status !== 'duplicate').map((r) => r.event_id);
    expect({ when, answered: results !== null, accepted }).toEqual({
      when,
      answered: true,
      accepted: [],
    });
  }
}

async function waitDone(server: RunningServer, token: string): Promise<void> {
  let list: { status: string }[] = [];
  for (let i = 0; list[0]?.status !== 'done'; i++) {
    if (i > 400) throw new Error(`the erasure never ended: ${JSON.stringify(list)}`);
    await Bun.sleep(25);
    const res = await call(server.url, 'GET', '/api/v1/projects/acme/erasures', undefined, token);
    list = (await res.json()) as typeof list;
  }
  expect(list).toHaveLength(1);
}

/** The person's ids: erased (acknowledged before it was asked for), kept (sent after its 202). */
interface Person {
  erased: Set<string>;
  kept: Set<string>;
}

async function expectStored(url: string, t: Traffic, person: Person): Promise<void> {
  const counts = await countsOf(url);
  expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...t.kept].filter((id) => counts.get(id) !== 1)).toEqual([]);
  expect([...person.erased].filter((id) => counts.has(id))).toEqual([]);
  expect([...person.kept].filter((id) => counts.get(id) !== 1)).toEqual([]);
}

describe('an erasure amid traffic in a server killed with SIGKILL', () => {
  for (const point of ERASURE_FAULT_POINTS) {
    test(`killed at ${point}: the person's earlier events stay erased, others once`, async () => {
      const temp = makeTempDir('tally-erasure-traffic-');
      temps.push(temp.remove);
      const doomed = await startServer(temp.dir, { ...FAST_FLUSH_ENV, FAULT_POINT: point });
      const { url } = doomed;
      expect((await call(url, 'POST', '/api/v1/auth/register', USER)).status).toBe(201);
      const token = await signIn(url, USER);
      const made = await call(url, 'POST', '/api/v1/projects', { id: 'acme', name: 'a' }, token);
      expect(made.status).toBe(201);
      const t: Traffic = { kept: new Set(), person: new Map(), stop: false };
      const clients = Array.from({ length: 6 }, (_, c) => client(url, c, t));
      // Flushes and merges run meanwhile: the person's events are in segments and in memory.
      while (t.kept.size < 300) await Bun.sleep(10);
      const askedAt = performance.now();
      const erased = [...t.person].filter(([, at]) => at.acked < askedAt).map(([id]) => id);
      const body = { user_id: 'u1' };
      const asked = await call(url, 'POST', '/api/v1/projects/acme/erasures', body, token)
        .then((res) => res.status)
        .catch(() => 0); // killed before it answered (the steps of its acceptance)
      const answeredAt = performance.now();
      const fired = await Promise.race([doomed.exited.then(() => true), Bun.sleep(20_000)]);
      if (fired !== true) doomed.kill('SIGKILL');
      t.stop = true;
      await Promise.all(clients);
      expect(fired).toBe(true);
      expect(doomed.proc.signalCode).toBe('SIGKILL');
      expect([0, 202]).toContain(asked);
      // Sent after the 202 (none when it never came): stored as usual, the crash after it too.
      const kept = [...t.person].filter(([, at]) => asked === 202 && at.sent > answeredAt);
      const person: Person = { erased: new Set(erased), kept: new Set(kept.map(([id]) => id)) };

      await checkAfterRestarts(temp.dir, async (again, when) => {
        await waitDone(again, await signIn(again.url, USER));
        await expectStored(again.url, t, person);
        await expectDuplicates(again.url, t.kept, when);
      });
    }, 90_000);
  }
});
