// The process one SQL statement of POST /api/v1/query runs in: its own DuckDB, locked down like
// the server's, reading the caller's events from Parquet files. The server kills it at the time
// limit or past its memory limit, so a statement DuckDB cannot interrupt or account for (a
// value of billions of elements built by one function call) costs this process, never the
// server. Started by sql-processes.ts; takes one job over IPC, answers, and waits to be killed.

import { BIGINT, DOUBLE, DuckDBInstance, type DuckDBType } from '@duckdb/node-api';
import { lockDown } from '../storage/index.ts';
import { columnWithUnnamedFields, jsonRows, typeName } from './json-values.ts';
import type { SqlJob, SqlJobAnswer, SqlJobStarted } from './sql-job.ts';

async function run(job: SqlJob): Promise<SqlJobAnswer> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(job.threads),
    memory_limit: `${Math.floor(job.memoryLimitBytes / (1024 * 1024))}MB`,
    // DuckDB's default, .tmp under the working directory, has fixed file names: processes
    // running side by side would read each other's spilled blocks.
    temp_directory: job.tempDirectory,
  });
  await lockDown(instance, job.dirs, job.spillBytesMax);
  const connection = await instance.connect();
  process.send?.({ started: true } satisfies SqlJobStarted);
  const types: Record<string, DuckDBType> = {};
  for (const name of job.doubles) types[name] = DOUBLE;
  for (const name of job.bigints) types[name] = BIGINT;
  const reader = await connection.runAndReadAll(job.sql, job.values, types);
  const columnTypes = reader.columnTypes();
  const unnamed = columnWithUnnamedFields(reader.columnNames(), columnTypes);
  if (unnamed !== null) {
    return {
      ok: false,
      refused:
        `column ${unnamed} holds a STRUCT with unnamed fields, which JSON cannot carry; ` +
        "name them, e.g. {'a': 1, 'b': 2} instead of ROW(1, 2)",
    };
  }
  const rows = jsonRows(reader);
  const kept = rowsWithin(rows, job.resultCharsMax);
  return {
    ok: true,
    columns: reader.columnNames().map((name, i) => ({
      name,
      type: typeName(columnTypes[i] as DuckDBType),
    })),
    rows: kept === rows.length ? rows : rows.slice(0, kept),
    cut: kept < rows.length,
  };
}

/** How many of the first rows fit in `charsMax` characters of JSON. */
function rowsWithin(rows: readonly unknown[], charsMax: number): number {
  let chars = 0;
  for (let i = 0; i < rows.length; i++) {
    chars += JSON.stringify(rows[i]).length + 1;
    if (chars > charsMax) return i;
  }
  return rows.length;
}

process.once('message', (job: SqlJob) => {
  run(job).then(
    (answer) => process.send?.(answer),
    (error: unknown) =>
      process.send?.({
        ok: false,
        message: error instanceof Error ? error.message : String(error),
      } satisfies SqlJobAnswer),
  );
});
// A child whose server went away has no one to answer.
process.on('disconnect', () => process.exit(0));
