import { afterEach, expect, test } from 'bun:test';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { MiB } from '../../src/core/index.ts';
import { duckDbBytes, lockDown, openDuckDb } from '../../src/storage/duckdb.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const remove of cleanups.splice(0)) remove();
});

test('DuckDB gets the memory limit it is given in bytes (not decimal MB), spilling to staging', async () => {
  const t = makeTempDir();
  cleanups.push(t.remove);
  const instance = await openDuckDb({
    segmentsDir: path.join(t.dir, 'segments'),
    stagingDir: path.join(t.dir, 'staging'),
    memoryLimitBytes: 2048 * MiB, // DUCKDB_MEMORY_BYTES_MAX's default
    threads: 1,
  });
  const c = await instance.connect();
  try {
    const r = await c.runAndReadAll("SELECT current_setting('memory_limit') AS m");
    // DuckDB's 'MB' is 1000², so '2048MB' was 1.9 GiB.
    expect(r.getRowObjectsJS()[0]?.m).toBe('2.0 GiB');
    // README (export): a Parquet export's sort spills to DATA_DIR/staging, not to DuckDB's .tmp
    // in whatever directory the server started in.
    const spill = await c.runAndReadAll("SELECT current_setting('temp_directory') AS d");
    expect(spill.getRowObjectsJS()[0]?.d).toBe(path.join(t.dir, 'staging', 'spill'));
  } finally {
    c.closeSync();
    instance.closeSync();
  }
});

test('sizes are written for DuckDB in whole KiB (the SQL child and the spill cap too)', () => {
  expect(duckDbBytes(2048 * MiB)).toBe('2097152KiB');
  expect(duckDbBytes(256 * MiB + 1023)).toBe('262144KiB');
});

// README Limits: a segment restored with the damaged file's modification time (`cp -p`) is read
// again with no restart. The setting is in lockDown, so the SQL endpoint's child has it too
// (test/storage/open-failure.test.ts reads such a restore through the engine).
test("every Tally DuckDB runs without DuckDB's external file cache", async () => {
  const t = makeTempDir();
  cleanups.push(t.remove);
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await lockDown(instance, [t.dir]);
    const r = await c.runAndReadAll("SELECT current_setting('enable_external_file_cache') AS on");
    expect(r.getRowObjectsJS()[0]?.on).toBe(false);
  } finally {
    c.closeSync();
    instance.closeSync();
  }
});
