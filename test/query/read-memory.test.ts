// A read that needs more of DuckDB's memory than it may have (DUCKDB_MEMORY_BYTES_MAX, shared by
// every running read and flush) is a 503 that says so and asks to retry, not a 500; the store
// and the tenant's read places are whole after it.

import { afterEach, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import { errorResponse } from '../../src/http/errors.ts';
import { readRows, withSnapshot } from '../../src/query/read.ts';
import { SqlParams } from '../../src/query/sql-params.ts';
import { countEvents, makeTestApp, type TestApp } from '../helpers/app.ts';

/** One string of some 700 MB, built in memory: more than the test store's 256 MiB. */
const HUGE_SQL =
  "SELECT length(string_agg(i::VARCHAR, ',')) AS n FROM range(100000000) r(i) " +
  'WHERE $tenant IS NOT NULL AND $hotThroughSeq IS NOT NULL';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

test('a read past DuckDB memory limit is a 503 naming the setting, with Retry-After', async () => {
  t = await makeTestApp();
  const { store } = t.engine;
  const read = withSnapshot(store, DEFAULT_TENANT, {}, undefined, (snapshot) =>
    readRows(snapshot, HUGE_SQL, new SqlParams()),
  );
  const error = await read.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toMatchObject({ status: 503, code: 'overloaded' });
  expect((error as Error).message).toContain('DUCKDB_MEMORY_BYTES_MAX');
  expect(String((error as Error).cause)).toContain('Out of Memory');
  const response = errorResponse(error as never, 2);
  expect(response.headers.get('retry-after')).toBe('2');
  // Nothing is held: both of the tenant's read places are free, the store still reads.
  const both = Array.from({ length: 2 }, () =>
    withSnapshot(store, DEFAULT_TENANT, {}, undefined, async () => 'ran'),
  );
  expect(await Promise.all(both)).toEqual(['ran', 'ran']);
  expect(await countEvents(store, DEFAULT_TENANT)).toBe(0);
});
