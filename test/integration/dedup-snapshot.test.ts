// The dedup index's snapshot in the real server: SIGTERM writes it, the next start loads it
// (and deletes it) before it listens, and ids are duplicates as before; after a kill -9 with a
// stale snapshot put back, the start says why it does not use it, rebuilds, and no event is
// refused or lost.

import { afterAll, afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temp = makeTempDir('tally-dedup-snapshot-');
afterEach(killServers);
afterAll(() => temp.remove());

const SNAPSHOT = path.join(temp.dir, 'dedup-index.snapshot');
/** Flushes often, so that ids are in segments as well as in the log. */
const ENV = { FLUSH_INTERVAL: '100ms' };

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Sends `eventIds`; how many were accepted and how many were duplicates. */
async function send(url: string, eventIds: string[]): Promise<[number, number]> {
  const res = await fetch(`${url}/api/v1/events/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ events: eventIds.map((id) => ({ event_id: id, name: 'view' })) }),
  });
  expect(res.status).toBe(202);
  const body = (await res.json()) as { accepted: number; duplicates: number };
  return [body.accepted, body.duplicates];
}

/** How many events are stored, and how many distinct ids they have. */
async function stored(url: string): Promise<unknown[]> {
  const res = await fetch(`${url}/api/v1/query`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ sql: 'SELECT count(*), count(DISTINCT event_id) FROM events' }),
  });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: unknown[][] }).rows[0] as unknown[];
}

async function stop(server: RunningServer, signal: NodeJS.Signals): Promise<void> {
  server.kill(signal);
  await server.exited;
  await server.output;
}

const msgs = (server: RunningServer) =>
  server.lines.map((l) => JSON.parse(l) as { msg: string; reason?: string });

test('SIGTERM writes the snapshot, the next start uses it; a stale one after kill -9 is not', async () => {
  const first = await startServer(temp.dir, ENV);
  expect(await send(first.url, ids('a', 300))).toEqual([300, 0]);
  await Bun.sleep(300); // a flush or two
  expect(await send(first.url, ids('b', 300))).toEqual([300, 0]);
  await stop(first, 'SIGTERM');
  // README "Operations": the line says `keys`, `bytes` and `ms`.
  const written = first.lines
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .find((l) => l.msg === 'deduplication index snapshot written');
  expect(written).toMatchObject({ keys: 600 });
  expect(written?.bytes).toBe(fs.statSync(SNAPSHOT).size);
  expect(typeof written?.ms).toBe('number');
  const stale = fs.readFileSync(SNAPSHOT);

  const second = await startServer(temp.dir, ENV);
  // Loaded, and deleted, before the server was ready.
  const loadedAt = msgs(second).findIndex((l) => l.msg.includes('loaded from its snapshot'));
  const readyAt = msgs(second).findIndex((l) => l.msg === 'ready');
  expect(loadedAt).toBeGreaterThanOrEqual(0);
  expect(loadedAt).toBeLessThan(readyAt);
  // "`store opened` then says how long the whole start took"; `listening` comes first, with its
  // `url`, as does `ready`.
  const lines = second.lines.map((l) => JSON.parse(l) as Record<string, unknown>);
  const opened = lines.findIndex((l) => l.msg === 'store opened');
  const listening = lines.findIndex((l) => l.msg === 'listening');
  expect(typeof lines[opened]?.ms).toBe('number');
  expect(listening).toBeLessThan(opened);
  expect(opened).toBeLessThan(readyAt);
  expect(`${lines[listening]?.url}`.replace(/\/$/, '')).toBe(second.url);
  expect(`${lines[readyAt]?.url}`.replace(/\/$/, '')).toBe(second.url);
  expect(fs.existsSync(SNAPSHOT)).toBe(false);
  expect(await send(second.url, [...ids('a', 300), ...ids('b', 300)])).toEqual([0, 600]);
  expect(await send(second.url, ids('c', 300))).toEqual([300, 0]);
  await Bun.sleep(300);
  await stop(second, 'SIGKILL');

  // A crash leaves no snapshot; one put back from before is out of date and not used.
  expect(fs.existsSync(SNAPSHOT)).toBe(false);
  fs.writeFileSync(SNAPSHOT, stale);
  const third = await startServer(temp.dir, ENV);
  const notUsed = msgs(third).filter((l) => l.msg.includes('snapshot not used'));
  expect(notUsed).toHaveLength(1);
  expect(notUsed[0]?.reason).toMatch(/^the log's last seq is \d+, not \d+$/);
  expect(await send(third.url, [...ids('a', 300), ...ids('c', 300)])).toEqual([0, 600]);
  expect(await send(third.url, ids('d', 10))).toEqual([10, 0]);
  expect(await stored(third.url)).toEqual([910, 910]);
  await stop(third, 'SIGTERM');
}, 60_000);
