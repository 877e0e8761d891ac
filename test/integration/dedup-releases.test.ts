// Exact-once across the write-ahead log's early releases, in the real server: the first flush
// after a start closes the file the log opened with and deletes it, and a retention pass at
// start closes the log file and deletes the flushed ones. After a clean restart (the index's
// snapshot) and after a kill -9 (the index rebuilt from the segments and what is left of the
// log), every id sent again, native, Segment `messageId` (a long one too) and PostHog `uuid`,
// is a duplicate and stored once; the id of a day retention deleted is a duplicate across the
// clean restart and new after the rebuild, as README "Limits" says, and deleted again.

import { afterAll, afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAY_MS } from '../../src/core/index.ts';
import { killServers, type RunningServer, startServer } from '../helpers/server.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const temp = makeTempDir('tally-dedup-releases-');
afterEach(killServers);
afterAll(() => temp.remove());

const FAST = { FLUSH_INTERVAL: '100ms' };
const RETAIN = { ...FAST, RETENTION_DAYS: '3' };
const OLD = new Date(Date.now() - 10 * DAY_MS).toISOString();
const LONG_MESSAGE_ID = `msg-${'x'.repeat(200)}`;

async function post(url: string, route: string, body: unknown): Promise<Response> {
  const headers = { 'content-type': 'application/json' };
  return fetch(`${url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
}

/** Sends the native ids of `ids`, each now but `old-…` on a day past retention; statuses. */
async function sendNative(url: string, ids: string[]): Promise<string[]> {
  const events = ids.map((id) => ({
    event_id: id,
    name: 'page_view',
    ...(id.startsWith('old-') ? { timestamp: OLD } : {}),
  }));
  const res = await post(url, '/api/v1/events/batch', { events });
  expect(res.status).toBe(202);
  return ((await res.json()) as { results: { status: string }[] }).results.map((r) => r.status);
}

/** Sends the same Segment and PostHog events (open mode: any key, the default tenant). */
async function sendSdk(url: string): Promise<void> {
  const batch = [
    { type: 'track', event: 'signup', userId: 'u1', messageId: 'seg-1' },
    { type: 'track', event: 'signup', userId: 'u1', messageId: LONG_MESSAGE_ID },
  ];
  expect((await post(url, '/v1/batch', { writeKey: 'wk_any', batch })).status).toBe(200);
  const events = [{ event: 'clicked', distinct_id: 'u2', uuid: 'ph-1' }];
  expect((await post(url, '/batch/', { api_key: 'wk_any', batch: events })).status).toBe(200);
}

/** Every stored event's id (its first 20 characters) with how often it is stored. */
async function storedIds(url: string): Promise<[string, number][]> {
  const sql =
    'SELECT left(event_id, 20) AS id, count(*)::INTEGER AS n FROM events GROUP BY 1 ORDER BY 1';
  const res = await post(url, '/api/v1/query', { sql });
  expect(res.status).toBe(200);
  return ((await res.json()) as { rows: [string, number][] }).rows;
}

/** Waits until everything logged is flushed; the status then. */
async function flushed(url: string): Promise<{ dedup_keys: number }> {
  for (let i = 0; i < 200; i++) {
    const status = (await (await fetch(`${url}/api/v1/status`)).json()) as {
      last_seq: number;
      flushed_through_seq: number;
      dedup_keys: number;
    };
    if (status.flushed_through_seq === status.last_seq) return status;
    await Bun.sleep(25);
  }
  throw new Error('the events were never flushed');
}

const logFiles = () => fs.readdirSync(path.join(temp.dir, 'wal')).filter((f) => f.endsWith('.wal'));

async function stop(server: RunningServer, signal: NodeJS.Signals): Promise<void> {
  server.kill(signal);
  await server.exited;
  await server.output;
}

const said = (server: RunningServer, msg: string) =>
  server.lines.some((l) => (JSON.parse(l) as { msg: string }).msg === msg);

const ALL = ['seg-1', LONG_MESSAGE_ID.slice(0, 20), 'new-1', 'old-1', 'ph-1'].sort();
const NATIVE = ['new-1', 'old-1'];

test('ids stay duplicates after the log files are released early, across restarts', async () => {
  const first = await startServer(temp.dir, FAST);
  expect(await sendNative(first.url, NATIVE)).toEqual(['accepted', 'accepted']);
  await sendSdk(first.url);
  expect(await flushed(first.url)).toMatchObject({ dedup_keys: 5 });
  await stop(first, 'SIGTERM');
  expect(logFiles()).toEqual(['0000000001.wal']);

  // The pass at start deletes old-1's day; the first flush closes 0000000001.wal, deleting it.
  const second = await startServer(temp.dir, RETAIN);
  expect(said(second, 'deduplication index loaded from its snapshot')).toBe(true);
  await flushed(second.url);
  for (let i = 0; logFiles().includes('0000000001.wal'); i++) {
    if (i > 200) throw new Error('the log file the start opened with was never released');
    await Bun.sleep(25);
  }
  expect(said(second, 'retention deleted days')).toBe(true);
  expect(await sendNative(second.url, NATIVE)).toEqual(['duplicate', 'duplicate']);
  await sendSdk(second.url);
  expect(await storedIds(second.url)).toEqual(
    ALL.filter((id) => id !== 'old-1').map((id) => [id, 1]),
  );
  // One more in the log at the kill: replayed, it is remembered too.
  expect(await sendNative(second.url, ['late-1'])).toEqual(['accepted']);
  await stop(second, 'SIGKILL');

  // Rebuilt from the segments and the log: every stored id is a duplicate; old-1 is in no
  // segment any more, so it is new again (README "Limits"), and the next pass deletes it.
  const third = await startServer(temp.dir, RETAIN);
  expect(said(third, 'deduplication index loaded from its snapshot')).toBe(false);
  expect(await sendNative(third.url, [...NATIVE, 'late-1'])).toEqual([
    'duplicate',
    'accepted',
    'duplicate',
  ]);
  await sendSdk(third.url);
  await flushed(third.url);
  expect(await storedIds(third.url)).toEqual([...ALL, 'late-1'].sort().map((id) => [id, 1]));
  await stop(third, 'SIGTERM');
}, 60_000);
