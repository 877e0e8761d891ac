// A read whose client went away, on the real store: its running DuckDB statement is interrupted,
// everything it held (its read place, its snapshot and the store's lock) is given back, the store
// stays whole around it (flushes, compaction, a restart), and no abort listener is left behind.

import { afterEach, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { readRows, readsWaiting, withSnapshot } from '../../src/query/read.ts';
import { SqlParams } from '../../src/query/sql-params.ts';
import { countEvents, makeTestApp, type TestApp } from '../helpers/app.ts';

/** Hashes 10^12 numbers: hours of work, unless interrupted. */
const ENDLESS_SQL =
  'SELECT sum(hash(i)) AS s FROM range(1000000000000) r(i) ' +
  'WHERE $tenant IS NOT NULL AND $hotThroughSeq IS NOT NULL';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

test('a running read whose client went away is interrupted and gives back all it held', async () => {
  t = await makeTestApp();
  const { store } = t.engine;
  const read = await runningRead(store);
  read.abort();
  const error = await read.outcome;
  expect(error).toMatchObject({ status: 499, code: 'client_closed' });
  expect(String((error as Error).cause)).toContain('Interrupted');
  // Both places of the tenant are free (the interrupted read's among them), and the store
  // closes: it waits for every snapshot to be released (afterEach).
  const both = Array.from({ length: 2 }, () =>
    withSnapshot(store, DEFAULT_TENANT, {}, undefined, async () => 'ran'),
  );
  expect(await Promise.all(both)).toEqual(['ran', 'ran']);
  expect(await countEvents(store, DEFAULT_TENANT)).toBe(0);
});

/** A read of ENDLESS_SQL once it has begun, and its client's abort; `outcome` is its error. */
async function runningRead(
  store: TestApp['engine']['store'],
): Promise<{ outcome: Promise<unknown>; abort(): void }> {
  const client = new AbortController();
  let started = false;
  const read = withSnapshot(store, DEFAULT_TENANT, {}, client.signal, (snapshot) => {
    started = true;
    return readRows(snapshot, ENDLESS_SQL, new SqlParams());
  });
  while (!started) await Bun.sleep(1);
  return { outcome: read.catch((e: unknown) => e), abort: () => client.abort() };
}

test('interrupted reads amid a flush and a compaction leave every event counted once', async () => {
  t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
  const batch = (from: number) => ({
    events: Array.from({ length: 50 }, (_, i) => ({ event_id: `e${from + i}`, name: 'click' })),
  });
  expect((await t.post('/api/v1/events/batch', batch(0))).status).toBe(202);
  const { store } = t.engine;
  // Flushed while a read holds its snapshot, the read interrupted after the flush.
  const first = await runningRead(store);
  await store.flusher.flush();
  first.abort();
  expect(await first.outcome).toMatchObject({ code: 'client_closed' });
  expect((await t.post('/api/v1/events/batch', batch(50))).status).toBe(202);
  // Interrupted while a flush runs, then the two segments compacted.
  const second = await runningRead(store);
  const flushed = store.flusher.flush();
  second.abort();
  await flushed;
  expect(await second.outcome).toMatchObject({ code: 'client_closed' });
  expect(await store.compactor.compact()).toBeGreaterThan(0);
  expect(await countEvents(t.engine.store, DEFAULT_TENANT)).toBe(100);
  await t.restart();
  expect(await countEvents(t.engine.store, DEFAULT_TENANT)).toBe(100);
});

test('one long-lived signal over many reads, waiting and running, keeps no listener', async () => {
  t = await makeTestApp();
  const { store } = t.engine;
  const signal = new AbortController().signal;
  let listeners = 0;
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  signal.addEventListener = (...args: Parameters<typeof add>) => {
    listeners++;
    add(...args);
  };
  signal.removeEventListener = (...args: Parameters<typeof remove>) => {
    listeners--;
    remove(...args);
  };
  let release: () => void = () => undefined;
  const released = new Promise<void>((resolve) => {
    release = resolve;
  });
  // Two hold their places; the rest wait, then each is handed a place and reads.
  const held = [0, 1].map(() => withSnapshot(store, DEFAULT_TENANT, {}, signal, () => released));
  const reads = Array.from({ length: 20 }, () =>
    withSnapshot(store, DEFAULT_TENANT, {}, signal, (snapshot) =>
      readRows(snapshot, `SELECT count(*) AS n FROM ${snapshot.from} AS e`, new SqlParams()),
    ),
  );
  while (readsWaiting(store, DEFAULT_TENANT) < 20) await Bun.sleep(1);
  release();
  await Promise.all([...held, ...reads]);
  expect(listeners).toBe(0);
});
