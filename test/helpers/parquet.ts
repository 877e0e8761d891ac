// Reads a Parquet answer back with DuckDB, for the tests of exports: its columns' names and
// types, its rows as JSON (instants as UTC ISO 8601 with milliseconds, as the API writes), and
// what the file itself says of them (each column's physical and logical type, compression).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeTempDir } from './temp-dir.ts';

export interface ParquetAnswer {
  columns: [name: string, type: string][];
  rows: Record<string, unknown>[];
  /** Per column, as the file's schema and metadata record it (parquet_schema, _metadata). */
  stored: Record<string, { type: string; logical: string; compressions: string[] }>;
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
    const schema = await c.runAndReadAll(
      `SELECT name, type, logical_type FROM parquet_schema('${file}') WHERE type IS NOT NULL`,
    );
    const chunks = await c.runAndReadAll(
      `SELECT path_in_schema AS name, list(DISTINCT compression ORDER BY compression) AS codecs
         FROM parquet_metadata('${file}') GROUP BY ALL`,
    );
    const codecs = new Map(chunks.getRowObjectsJS().map((r) => [r.name, r.codecs as string[]]));
    const stored = Object.fromEntries(
      schema.getRowObjectsJS().map((r) => [
        String(r.name),
        {
          type: String(r.type),
          logical: String(r.logical_type),
          compressions: codecs.get(r.name) ?? [],
        },
      ]),
    );
    return {
      columns: columns.map((col) => [String(col.column_name), String(col.column_type)]),
      rows: rows.getRowObjectsJson() as Record<string, unknown>[],
      stored,
    };
  } finally {
    c.closeSync();
    instance.closeSync();
    remove();
  }
}
