// A SQL statement spills into the data directory's disk: never more than its share of the room
// past DISK_FREE_BYTES_MIN, so statements side by side on a nearly full disk cannot take the
// room ingest needs (every tenant's writes would be refused until they end).

import { afterEach, expect, test } from 'bun:test';
import { MiB } from '../../src/core/index.ts';
import { queryLimits } from '../../src/query/limits.ts';
import { spillBytesOf } from '../../src/query/queries/run-sql.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

test("a statement's spill is its share of the room past DISK_FREE_BYTES_MIN, at most the cap", () => {
  const cap = queryLimits.sqlSpillBytesMax;
  expect(spillBytesOf(Number.MAX_SAFE_INTEGER)).toBe(cap);
  expect(spillBytesOf(cap * queryLimits.sqlProcessesMax)).toBe(cap);
  expect(spillBytesOf(40 * MiB)).toBe((40 * MiB) / queryLimits.sqlProcessesMax);
  expect(spillBytesOf(0)).toBe(0);
});

test("an export tells the disk's room past DISK_FREE_BYTES_MIN, 0 below it", async () => {
  const disk = new LimitedDisk();
  const min = 64 * MiB;
  t = await makeTestApp({ fileIo: disk, diskFreeBytesMin: min });
  expect((await t.post('/api/v1/events', { name: 'x' })).status).toBe(202);
  const spareAt = async (roomBytes: number) => {
    disk.roomBytes = roomBytes;
    const snapshot = await (t as TestApp).engine.store.snapshot('default');
    try {
      const exported = await snapshot.exportFiles();
      exported.remove();
      return exported.spareBytes;
    } finally {
      snapshot.release();
    }
  };
  // Less what the export itself wrote through the disk (the hot rows' file).
  const spare = await spareAt(min + 40 * MiB);
  expect(spare).toBeLessThanOrEqual(40 * MiB);
  expect(spare).toBeGreaterThan(39 * MiB);
  expect(await spareAt(min - 1)).toBe(0);
  // A statement that needs no spill still runs, with no room to spill at all too.
  for (const room of [min + MiB, min - 1]) {
    disk.roomBytes = room;
    const sql = await t.post('/api/v1/query', { sql: 'SELECT count(*) AS n FROM events' });
    expect(sql.status).toBe(200);
    expect(((await sql.json()) as { rows: number[][] }).rows).toEqual([[1]]);
  }
});
