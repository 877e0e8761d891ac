// Kills the server at every step of flush and compaction (FAULT_POINT) while concurrent clients
// keep sending, so events are acknowledged during the flush or merge that is killed. After the
// restart every acknowledged event is stored exactly once, and each one sent again is a
// duplicate: right after the restart (the dedup index rebuilt from the segments and the log),
// after the restarted server flushed and compacted, and after a clean stop (its snapshot).
// Ids whose request was cut by the kill may be stored or not; sent again, they end stored once.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import { FAULT_POINTS } from '../../src/storage/index.ts';
import { FAST_FLUSH_ENV } from '../helpers/fast-store.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const CLIENTS = 8;
const LATE = Date.parse('2026-01-15T08:00:00Z');

interface Sent {
  acked: Set<string>;
  /** Ids of requests that got no answer (cut by the kill). */
  unknown: Set<string>;
}

type Results = { event_id: string; status: string }[];

async function send(url: string, ids: string[]): Promise<{ status: number; results: Results }> {
  const events = ids.map((id, i) => ({
    event_id: id,
    name: 'page_view',
    path: '/p',
    // Some events late, so flushes write two days and compaction merges either.
    timestamp: i % 3 === 0 ? LATE : undefined,
  }));
  const res = await fetch(`${url}/api/v1/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events }),
  });
  const body = (await res.json()) as { results?: Results };
  return { status: res.status, results: body.results ?? [] };
}

/** One client: new ids in batches of 3, each with one id it had acked before (a duplicate). */
async function client(url: string, c: number, sent: Sent): Promise<void> {
  const mine: string[] = [];
  for (let n = 0; ; n++) {
    const fresh = [0, 1, 2].map((i) => `c${c}-${n}-${i}`);
    const again = mine.length > 0 ? [mine[n % mine.length] as string] : [];
    let answer: Awaited<ReturnType<typeof send>>;
    try {
      answer = await send(url, [...fresh, ...again]);
    } catch {
      for (const id of fresh) sent.unknown.add(id);
      return; // the process killed itself at the fault point
    }
    if (answer.status === 503) continue;
    expect(answer.status).toBe(202);
    const status = new Map(answer.results.map((r) => [r.event_id, r.status]));
    for (const id of fresh) expect(status.get(id)).toBe('accepted');
    for (const id of again) expect(status.get(id)).toBe('duplicate');
    for (const id of fresh) sent.acked.add(id);
    mine.push(...fresh);
  }
}

async function countsOf(url: string): Promise<Map<string, number>> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT event_id, count(*) FROM events GROUP BY event_id' }),
  });
  expect(res.status).toBe(200);
  return new Map(((await res.json()) as { rows: [string, number][] }).rows);
}

/** Every acknowledged id stored once, none stored twice. */
async function expectOnce(url: string, acked: Set<string>): Promise<void> {
  const counts = await countsOf(url);
  expect([...counts].filter(([, n]) => n !== 1)).toEqual([]);
  expect([...acked].filter((id) => counts.get(id) !== 1)).toEqual([]);
}

/** Sends every id again: each must be a duplicate. */
async function expectDuplicates(url: string, ids: Set<string>, when: string): Promise<void> {
  const list = [...ids];
  for (let i = 0; i < list.length; i += 500) {
    const { status, results } = await send(url, list.slice(i, i + 500));
    expect(status).toBe(202);
    const accepted = results.filter((r) => r.status !== 'duplicate').map((r) => r.event_id);
    expect({ when, accepted }).toEqual({ when, accepted: [] });
  }
}

async function stop(server: RunningServer): Promise<void> {
  server.kill('SIGTERM');
  expect(await server.exited).toBe(0);
}

describe('crash at each step of flush and compaction amid concurrent ingest', () => {
  for (const point of FAULT_POINTS) {
    test(`${point}: acknowledged events stored once, and duplicates after restarts`, async () => {
      const temp = makeTempDir('tally-fault-traffic-');
      temps.push(temp.remove);
      const doomed = await startServer(temp.dir, { ...FAST_FLUSH_ENV, FAULT_POINT: point });
      const sent: Sent = { acked: new Set(), unknown: new Set() };
      const clients = Array.from({ length: CLIENTS }, (_, c) => client(doomed.url, c, sent));
      const fired = await Promise.race([doomed.exited.then(() => true), Bun.sleep(20_000)]);
      if (fired !== true) doomed.kill('SIGKILL');
      await Promise.all(clients);
      expect(fired).toBe(true);
      expect(doomed.proc.signalCode).toBe('SIGKILL');
      expect(sent.acked.size).toBeGreaterThan(0);

      let server = await startServer(temp.dir, FAST_FLUSH_ENV);
      await expectOnce(server.url, sent.acked);
      await expectDuplicates(server.url, sent.acked, 'after the crash');
      // The cut requests' ids, sent again: stored once whether or not they were before.
      await send(server.url, [...sent.unknown]);
      const all = new Set([...sent.acked, ...sent.unknown]);
      await expectOnce(server.url, all);
      // Flushes and merges of the restarted server (the log's replayed events among them).
      await Bun.sleep(1_000);
      await expectDuplicates(server.url, all, 'after flushes since the restart');
      await expectOnce(server.url, all);
      // A clean stop writes the dedup index's snapshot; the next start loads it.
      await stop(server);
      server = await startServer(temp.dir, FAST_FLUSH_ENV);
      expect(server.lines.some((l) => l.includes('loaded from its snapshot'))).toBe(true);
      await expectDuplicates(server.url, all, 'after a clean restart');
      await expectOnce(server.url, all);
      await stop(server);
    }, 60_000);
  }
});
