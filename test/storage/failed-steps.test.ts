// A flush or a compaction that fails part-way leaves no file behind: it is retried on its
// interval, and each failed try used to leave its staging Parquet files until a restart.

import { afterEach, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FaultPoint } from '../../src/storage/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
/** Segments a tenant-day needs before it is compacted, in these tests. */
const SEGMENTS = 3;
afterEach(() => t?.close());

/** An app whose fault hook throws at `point` the first `times` times it is reached. */
async function failingAt(point: FaultPoint, times: number): Promise<TestApp> {
  let left = times;
  return makeTestApp({
    compactSegmentsMin: SEGMENTS,
    fault: (reached) => {
      if (reached === point && left-- > 0) throw new Error(`injected failure at ${point}`);
    },
  });
}

/** Files under `dir`, relative, depth-first. */
function filesUnder(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => path.relative(dir, path.join(e.parentPath, e.name)))
    .sort();
}

test('failed flushes leave nothing in staging or segments; the next one succeeds', async () => {
  t = await failingAt('flush:after-write', 3);
  const day2 = Date.parse('2026-01-01T00:00:00Z');
  const res = await t.post('/api/v1/events/batch', {
    events: [
      { event_id: 'a', name: 'x' },
      { event_id: 'b', name: 'x', timestamp: day2 },
    ],
  });
  expect(res.status).toBe(202);
  const flusher = t.engine.store.flusher;
  for (let i = 0; i < 3; i++) await expect(flusher.flush()).rejects.toThrow('injected');
  expect(filesUnder(path.join(t.dataDir, 'staging'))).toEqual([]);
  expect(filesUnder(path.join(t.dataDir, 'segments'))).toEqual([]);
  expect((await flusher.flush()).rows).toBe(2);
  expect(await t.count()).toBe(2);
});

test('a failed compaction leaves nothing behind and changes nothing', async () => {
  t = await failingAt('compact:after-write', 1);
  for (const id of ['a', 'b', 'c']) {
    await t.post('/api/v1/events', { event_id: id, name: 'x' });
    await t.engine.store.flusher.flush();
  }
  const segments = path.join(t.dataDir, 'segments');
  const before = filesUnder(segments);
  expect(before.filter((f) => !f.endsWith('.minutes.parquet'))).toHaveLength(SEGMENTS);
  await expect(t.engine.store.compactor.compact()).rejects.toThrow('injected');
  expect(filesUnder(path.join(t.dataDir, 'staging'))).toEqual([]);
  expect(filesUnder(segments)).toEqual(before);
  await t.engine.store.compactor.compact();
  expect(filesUnder(segments).filter((f) => !f.endsWith('.minutes.parquet'))).toHaveLength(1);
  expect(await t.count()).toBe(3);
});

test('a flush whose minute counts fail to publish removes the segment published before', async () => {
  t = await makeTestApp();
  expect((await t.post('/api/v1/events', { event_id: 'a', name: 'x' })).status).toBe(202);
  // The segment is renamed into place first; then its minute counts' rename fails.
  const rename = fs.promises.rename;
  const failing = spyOn(fs.promises, 'rename').mockImplementation(async (from, to) => {
    if (String(to).endsWith('.minutes.parquet')) throw new Error('EIO: i/o error, rename');
    return rename(from, to);
  });
  try {
    await expect(t.engine.store.flusher.flush()).rejects.toThrow('EIO');
  } finally {
    failing.mockRestore();
  }
  expect(filesUnder(path.join(t.dataDir, 'staging'))).toEqual([]);
  expect(filesUnder(path.join(t.dataDir, 'segments'))).toEqual([]);
  expect((await t.engine.store.flusher.flush()).rows).toBe(1);
  expect(await t.count()).toBe(1);
});

test('a compaction whose catalog swap fails removes its merged file, on every try', async () => {
  t = await makeTestApp({ compactSegmentsMin: SEGMENTS });
  for (const id of ['a', 'b', 'c']) {
    await t.post('/api/v1/events', { event_id: id, name: 'x' });
    await t.engine.store.flusher.flush();
  }
  const segments = path.join(t.dataDir, 'segments');
  const before = filesUnder(segments);
  const { catalog, compactor } = t.engine.store;
  const swap = spyOn(catalog, 'commitCompaction').mockImplementation(() => {
    throw new Error('SQLITE_FULL: database or disk is full');
  });
  try {
    for (let i = 0; i < 2; i++) await expect(compactor.compact()).rejects.toThrow('SQLITE_FULL');
  } finally {
    swap.mockRestore();
  }
  expect(filesUnder(path.join(t.dataDir, 'staging'))).toEqual([]);
  expect(filesUnder(segments)).toEqual(before);
  await compactor.compact();
  expect(filesUnder(segments).filter((f) => !f.endsWith('.minutes.parquet'))).toHaveLength(1);
  expect(await t.count()).toBe(3);
});
