// A read whose client went away, on the real store: its running DuckDB statement is interrupted
// and everything it held (its read place, its snapshot and the store's lock) is given back.

import { afterEach, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { readRows, withSnapshot } from '../../src/query/read.ts';
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
  const client = new AbortController();
  let started = false;
  const read = withSnapshot(store, DEFAULT_TENANT, {}, client.signal, (snapshot) => {
    started = true;
    return readRows(snapshot, ENDLESS_SQL, new SqlParams());
  });
  while (!started) await Bun.sleep(1);
  client.abort();
  const error = await read.catch((e: unknown) => e);
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
