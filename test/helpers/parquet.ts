// Reads a Parquet answer back with DuckDB, for the tests of exports: its columns' names and
// types, and its rows as JSON (instants as UTC ISO 8601 with milliseconds, as the API writes).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeTempDir } from './temp-dir.ts';

export interface ParquetAnswer {
  columns: [name: string, type: string][];
  rows: Record<string, unknown>[];
}

/** The rows of a Parquet answer, read back with DuckDB, and its columns' names and types. */
export async function parquetOf(res: Response): Promise<ParquetAnswer> {
  const { dir, remove } = makeTempDir('tally-export-');
  const file = path.join(dir, 'export.parquet');
  fs.writeFileSync(file, new Uint8Array(await res.arrayBuffer()));
  const instance = await DuckDBInstance.create(':memory:');
  const c = await instance.connect();
  try {
    await c.run("SET TimeZone = 'UTC'");
    const columns = (await c.runAndReadAll(`DESCRIBE SELECT * FROM '${file}'`)).getRowObjectsJS();
    const rows = await c.runAndReadAll(
      `SELECT * REPLACE (strftime("timestamp", '%Y-%m-%dT%H:%M:%S.%gZ') AS "timestamp",
              strftime(received_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS received_at)
         FROM '${file}'`,
    );
    return {
      columns: columns.map((col) => [String(col.column_name), String(col.column_type)]),
      rows: rows.getRowObjectsJson() as Record<string, unknown>[],
    };
  } finally {
    c.closeSync();
    instance.closeSync();
    remove();
  }
}
