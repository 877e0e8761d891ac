// Kills the server at every step of flush and compaction (FAULT_POINT) and checks that after
// a restart every acknowledged event is counted exactly once.

import { afterAll, describe, expect, test } from 'bun:test';
import { FAULT_POINTS } from '../../src/storage/index.ts';
import { FAST_FLUSH_ENV } from '../helpers/fast-store.ts';
import { startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterAll(() => {
  for (const remove of temps) remove();
});

async function post(url: string, ids: string[], timestamp?: number): Promise<number> {
  const res = await fetch(`${url}/api/v1/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      events: ids.map((id) => ({ event_id: id, name: 'page_view', path: '/p', timestamp })),
    }),
  });
  return res.status;
}

async function sql(url: string, statement: string): Promise<unknown[][]> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: statement }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: unknown[][] }).rows;
}

describe('crash at each step of flush and compaction', () => {
  for (const point of FAULT_POINTS) {
    test(point, async () => {
      const temp = makeTempDir('tally-fault-');
      temps.push(temp.remove);
      const server = await startServer(temp.dir, { ...FAST_FLUSH_ENV, FAULT_POINT: point });
      const acked: string[] = [];
      // Several spaced batches, so several flushes (and then a compaction) happen; one is late.
      for (let round = 0; round < 40; round++) {
        const ids = [`r${round}a`, `r${round}b`];
        const late = round % 5 === 0 ? Date.parse('2026-01-15T08:00:00Z') : undefined;
        const status = await post(server.url, ids, late).catch(() => 0);
        if (status === 202) acked.push(...ids);
        if (status === 0) break; // the process killed itself at the fault point
        await Bun.sleep(60);
      }
      // The fault point fires within the rounds above; if not, fail rather than wait forever.
      const fired = await Promise.race([server.exited.then(() => true), Bun.sleep(10_000)]);
      if (fired !== true) server.kill('SIGKILL');
      expect(fired).toBe(true);
      await server.exited;
      expect(server.proc.signalCode).toBe('SIGKILL');
      expect(server.lines.some((l) => l.includes('fault injection is on'))).toBe(true);
      expect(acked.length).toBeGreaterThan(0);

      const again = await startServer(temp.dir, FAST_FLUSH_ENV);
      try {
        const [[total, distinct]] = (await sql(
          again.url,
          'SELECT count(*), count(DISTINCT event_id) FROM events',
        )) as [[number, number]];
        expect(distinct).toBe(total);
        const stored = new Set(
          (await sql(again.url, 'SELECT event_id FROM events')).map((r) => r[0] as string),
        );
        expect(acked.filter((id) => !stored.has(id))).toEqual([]);
      } finally {
        again.kill('SIGTERM');
        await again.exited;
      }
    }, 30_000);
  }
});
