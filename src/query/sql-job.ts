// One SQL statement of POST /api/v1/query as it crosses to the process that runs it
// (sql-child.ts), and the answer that comes back. Plain data: it travels over Bun's IPC. The
// statement travels as the caller sent it: its process checks it (sql-guard.ts) and wraps it
// over the exported files (sql-statement.ts), so a statement of 100,000 characters is parsed
// and walked there, never on the server's event loop.

import type { Json } from '@duckdb/node-api';
import type { SegmentFile } from '../storage/index.ts';

export type SqlParamValue = string | number | boolean | null;

export interface SqlJob {
  /** The caller's statement, unchecked: its process refuses it (a 400) unless the guard passes. */
  statement: string;
  /** The values of its positional parameters, in order. */
  params: SqlParamValue[];
  /**
   * The Parquet files holding the caller's events, each with its column layout: the only rows
   * `events` may read.
   */
  files: SegmentFile[];
  /** Rows returned at most; one more is read, so that `truncated` can be told. */
  rowsMax: number;
  /** The only directories the statement's DuckDB may read. */
  dirs: string[];
  /** Where its DuckDB spills to disk: its own, inside its export, removed with it. */
  tempDirectory: string;
  memoryLimitBytes: number;
  /** Disk its DuckDB may spill at most. */
  spillBytesMax: number;
  /** JSON characters of the rows answered at most; later rows are cut. */
  resultCharsMax: number;
  /** Characters of an error message or refusal at most; longer ones are cut. */
  messageCharsMax: number;
  /** Levels one value of the answer nests at most; a deeper one refuses the statement. */
  valueDepthMax: number;
  threads: number;
}

/**
 * What the process sends once its DuckDB is set up, just before the statement is checked and
 * runs: the time limit counts from here, so the boot of the sandbox never costs the statement
 * its time, and a statement slow to check is stopped like one slow to run.
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
  /** The statement is refused, or its result cannot be answered as JSON: `refused` says why. */
  | { ok: false; refused: string };
