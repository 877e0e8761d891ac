// Retention in the real server, killed (SIGKILL) at each step of the pass it runs at start
// (FAULT_POINT): restarted without retention, the days it decided to delete stay deleted, no
// file of them is left (segments nor minute counts), and the days it keeps are whole.

import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { RETENTION_FAULT_POINTS } from '../../src/storage/index.ts';
import { killServers, spawnServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temps: (() => void)[] = [];
afterEach(() => killServers());
afterAll(() => {
  for (const remove of temps) remove();
});

const FAST = { FLUSH_INTERVAL: '100ms' };
const DAY_MS = 86_400_000;
const dayOf = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function post(url: string, route: string, body: unknown): Promise<Response> {
  const headers = { 'content-type': 'application/json' };
  return fetch(`${url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

async function idsOf(url: string): Promise<string[]> {
  const sql = 'SELECT event_id FROM events ORDER BY event_id';
  const res = await post(url, '/api/v1/query?tenant_id=acme', { sql });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: [string][] }).rows.map((r) => r[0]);
}

/** The day directories of acme holding parquet files (segments or minute counts). */
function daysOnDisk(dataDir: string): string[] {
  const root = path.join(dataDir, 'segments', 'tenant=acme');
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .filter((d) => fs.readdirSync(path.join(root, d)).some((f) => f.endsWith('.parquet')))
    .sort();
}

describe('a retention pass in a server killed with SIGKILL', () => {
  for (const point of RETENTION_FAULT_POINTS) {
    test(`killed at ${point}: restarted, the old days stay deleted`, async () => {
      const temp = makeTempDir('tally-retention-');
      temps.push(temp.remove);
      const now = Date.now();
      const [old, recent] = [dayOf(now - 10 * DAY_MS), dayOf(now)];
      const first = await startServer(temp.dir, FAST);
      const events = [
        ['old-1', `${old}T06:00:00Z`],
        ['old-2', `${old}T07:00:00Z`],
        ['new-1', new Date(now).toISOString()],
      ].map(([id, at]) => ({ event_id: id, name: 'page_view', tenant_id: 'acme', timestamp: at }));
      const sent = await post(first.url, '/api/v1/events/batch', { events });
      expect(sent.status).toBe(202);
      for (let i = 0; daysOnDisk(temp.dir).length < 2; i++) {
        if (i > 200) throw new Error('the events were never flushed');
        await Bun.sleep(25);
      }
      first.kill('SIGTERM');
      expect(await first.exited).toBe(0);

      // The pass at start reaches the point and the process kills itself.
      const doomed = spawnServer({
        ...FAST,
        HOST: '127.0.0.1',
        PORT: '0',
        DATA_DIR: temp.dir,
        RETENTION_DAYS: '3',
        FAULT_POINT: point,
      });
      await doomed.exited;
      expect(doomed.signalCode).toBe('SIGKILL');

      const again = await startServer(temp.dir, FAST); // RETENTION_DAYS=0: keeps what is left
      try {
        expect(await idsOf(again.url)).toEqual(['new-1']);
        expect(daysOnDisk(temp.dir)).toEqual([`day=${recent}`]);
        const status = await fetch(`${again.url}/api/v1/status`);
        expect(await status.json()).toMatchObject({ retention_days: 0 });
      } finally {
        again.kill('SIGTERM');
        await again.exited;
      }
    }, 30_000);
  }
});
