// The one DuckDB instance: an in-memory database holding the hot table (acknowledged events
// not yet in a segment) and reading the Parquet segments. File access is confined to the
// segment and staging directories and the configuration is locked, so no query can reach
// other files or loosen the settings.

import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { KiB } from '../core/index.ts';
import { makeDirsDurably } from './durable-fs.ts';
import { EVENT_COLUMN_DEFS } from './event-columns.ts';

export interface DuckDbOptions {
  segmentsDir: string;
  stagingDir: string;
  memoryLimitBytes: number;
  threads: number;
}

export const HOT_TABLE = 'hot_events';

/**
 * A byte count as a DuckDB size setting, in whole KiB: DuckDB reads `MB` as 1000² bytes, so a
 * count of MiB written as `MB` took ~5 % off every limit.
 */
export function duckDbBytes(bytes: number): string {
  return `${Math.floor(bytes / KiB)}KiB`;
}

export async function openDuckDb(options: DuckDbOptions): Promise<DuckDBInstance> {
  for (const dir of [options.segmentsDir, options.stagingDir]) makeDirsDurably(dir);
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(options.threads),
    memory_limit: duckDbBytes(options.memoryLimitBytes),
    // Spills go under the data directory (cleared at start with staging), not to DuckDB's
    // default .tmp in whatever directory the server was started from.
    temp_directory: path.join(options.stagingDir, 'spill'),
  });
  const c = await instance.connect();
  try {
    await c.run(`CREATE TABLE ${HOT_TABLE} (${EVENT_COLUMN_DEFS})`);
  } finally {
    c.closeSync();
  }
  await lockDown(instance, [options.segmentsDir, options.stagingDir]);
  return instance;
}

/**
 * The settings every Tally DuckDB runs with, set last: UTC, files only under `dirs`, no
 * extensions loaded on demand, no external file cache, at most `spillBytesMax` spilled to disk
 * (DuckDB's default: 90 % of the free space), and the configuration locked so no statement can
 * change them. (The spill cap is set here because DuckDB ignores `max_temp_directory_size` given
 * at creation.)
 */
export async function lockDown(
  instance: DuckDBInstance,
  dirs: readonly string[],
  spillBytesMax?: number,
): Promise<void> {
  const c = await instance.connect();
  try {
    await c.run("SET GLOBAL TimeZone = 'UTC'");
    if (spillBytesMax !== undefined) {
      await c.run(`SET GLOBAL max_temp_directory_size = '${duckDbBytes(spillBytesMax)}'`);
    }
    const allowed = dirs.map((d) => `'${sqlStringBody(`${d}/`)}'`);
    await c.run(`SET GLOBAL allowed_directories = [${allowed.join(', ')}]`);
    await c.run('SET GLOBAL enable_external_access = false');
    await c.run('SET GLOBAL autoinstall_known_extensions = false');
    await c.run('SET GLOBAL autoload_known_extensions = false');
    // DuckDB's external file cache (on by default since 1.3) keeps bytes it read of a file,
    // known by its path and modification time: a damaged segment restored from a backup with
    // that time kept (`cp -p`) failed every read on the damaged bytes until a restart. Segments
    // are local files the OS caches already; off cost nothing measurable (bench/README.md,
    // thirty-fourth session).
    await c.run('SET GLOBAL enable_external_file_cache = false');
    await c.run('SET GLOBAL lock_configuration = true');
  } finally {
    c.closeSync();
  }
}

/**
 * The body of a single-quoted SQL string literal: `value` with each `'` doubled, WITHOUT the
 * surrounding quotes (the caller writes them). For paths and constants Tally generates itself.
 */
export function sqlStringBody(value: string): string {
  return value.replaceAll("'", "''");
}

/**
 * SQL for `dividend` divided by `divisor` rounded down, as a BIGINT. DuckDB's `//` rounds
 * toward zero, which puts a time before 1970 in the bucket after its own.
 */
export function floorDivSql(dividend: string, divisor: string | number): string {
  return `CAST(floor((${dividend}) / (${divisor})) AS BIGINT)`;
}
