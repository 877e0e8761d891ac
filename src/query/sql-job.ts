// One SQL statement of POST /api/v1/query as it crosses to the process that runs it
// (sql-child.ts), and the answer that comes back. Plain data: it travels over Bun's IPC.

import type { DuckDBValue, Json } from '@duckdb/node-api';

export interface SqlJob {
  /** The guarded, wrapped statement, reading the events from Parquet files only. */
  sql: string;
  /** Named values of the statement; numbers that are not safe integers are listed in `doubles`. */
  values: Record<string, DuckDBValue>;
  /** Names of `values` to bind as DOUBLE. */
  doubles: string[];
  /** Names of `values` to bind as BIGINT. */
  bigints: string[];
  /** The only directories the statement's DuckDB may read. */
  dirs: string[];
  /** Where its DuckDB spills to disk: its own, inside its export, removed with it. */
  tempDirectory: string;
  memoryLimitBytes: number;
  /** Disk its DuckDB may spill at most. */
  spillBytesMax: number;
  /** JSON characters of the rows answered at most; later rows are cut. */
  resultCharsMax: number;
  threads: number;
}

/**
 * What the process sends once its DuckDB is set up, just before the statement runs: the time
 * limit counts from here, so the boot of the sandbox never costs the statement its time.
 */
export interface SqlJobStarted {
  started: true;
}

export type SqlJobAnswer =
  | {
      ok: true;
      columns: { name: string; type: string }[];
      rows: (Json | null)[][];
      /** Rows were left out to stay within `resultCharsMax`. */
      cut: boolean;
    }
  /** DuckDB failed: `message` is its error. */
  | { ok: false; message: string }
  /** The result cannot be answered as JSON: `refused` says why (a 400). */
  | { ok: false; refused: string };
