// A flush of events spread over many days (a backfill): the tenant's rows are gathered once, in
// time order, so that each day's segment reads only its own rows (flusher.ts, tenantTableSql).

import { afterEach, expect, test } from 'bun:test';
import * as path from 'node:path';
import { MiB } from '../../src/core/index.ts';
import { openDuckDb } from '../../src/storage/duckdb.ts';
import { TENANT_TABLE, tenantTableSql } from '../../src/storage/flusher.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const remove of cleanups.splice(0)) remove();
});

test("a multi-day flush gathers a tenant's rows in time order, not in arrival order", async () => {
  const t = makeTempDir();
  cleanups.push(t.remove);
  const instance = await openDuckDb({
    segmentsDir: path.join(t.dir, 'segments'),
    stagingDir: path.join(t.dir, 'staging'),
    memoryLimitBytes: 256 * MiB,
    threads: 2,
  });
  const c = await instance.connect();
  try {
    // 300,000 events (more than two row groups) arriving with their days scattered over 5
    // years, as a backfill's batches send them.
    await c.run(`CREATE TEMP TABLE arrived AS
      SELECT 'e' || i AS event_id,
             TIMESTAMPTZ '2021-01-01 00:00:00+00' + to_days((i * 7919 % 1826)::INTEGER)
               + to_seconds((i % 86400)::BIGINT) AS "timestamp"
      FROM range(300000) r(i)`);
    await c.run(tenantTableSql('arrived'));
    const r = await c.runAndReadAll(
      `SELECT count(*) FILTER (WHERE back) AS back, count(*) AS n FROM (
         SELECT "timestamp" < lag("timestamp") OVER (ORDER BY rowid) AS back
         FROM ${TENANT_TABLE})`,
    );
    expect(r.getRowObjectsJS()[0]).toEqual({ back: 0n, n: 300000n });
  } finally {
    c.closeSync();
    instance.closeSync();
  }
});
