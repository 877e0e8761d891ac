// The process one SQL statement of POST /api/v1/query runs in: its own DuckDB, locked down like
// the server's, reading the caller's events from Parquet files. It checks the statement itself
// (sql-statement.ts: the guard, the wrap), so parsing and walking a long statement never holds
// the server's event loop. The server kills it at the time limit or past its memory limit, so
// a statement DuckDB cannot interrupt or account for (a value of billions of elements built by
// one function call) costs this process, never the server. Started by sql-processes.ts; takes
// one job over IPC, answers, and waits to be killed.

import * as fs from 'node:fs';
import * as os from 'node:os';
import { DuckDBInstance, type DuckDBResult, type DuckDBType, type Json } from '@duckdb/node-api';
import { AppError, STOP_SIGNALS } from '../core/index.ts';
import { duckDbBytes, lockDown } from '../storage/index.ts';
import {
  columnWithProtoName,
  columnWithUnnamedFields,
  columnWithVariant,
  jsonRow,
  typeName,
} from './json-values.ts';
import type { SqlJob, SqlJobAnswer, SqlJobStarted } from './sql-job.ts';
import { columnNameAsSent } from './sql-placeholders.ts';
import { runnableStatement } from './sql-statement.ts';

/** The guard's refusals read `sql: <why>`; the server adds that prefix to `refused` itself. */
const REFUSAL_PREFIX = 'sql: ';

async function run(job: SqlJob): Promise<SqlJobAnswer> {
  const instance = await DuckDBInstance.create(':memory:', {
    threads: String(job.threads),
    memory_limit: duckDbBytes(job.memoryLimitBytes),
    // DuckDB's default, .tmp under the working directory, has fixed file names: processes
    // running side by side would read each other's spilled blocks.
    temp_directory: job.tempDirectory,
  });
  await lockDown(instance, job.dirs, job.spillBytesMax);
  const connection = await instance.connect();
  process.send?.({ started: true } satisfies SqlJobStarted);
  const statement = await runnableStatement(connection, job).catch((error: unknown) => {
    if (!(error instanceof AppError) || error.code !== 'bad_request') throw error;
    const why = error.message;
    return why.startsWith(REFUSAL_PREFIX) ? why.slice(REFUSAL_PREFIX.length) : why;
  });
  if (typeof statement === 'string') {
    return { ok: false, refused: statement };
  }
  // Streamed, not read whole: the rows are read and converted one chunk at a time, and reading
  // stops once the answer is full, so 10,001 rows of a tenant's large events never sit here
  // at once, converted, only for all but the first few thousand to be cut.
  const result = await connection.stream(statement.sql, statement.values, statement.types);
  const columnTypes = result.columnTypes();
  const columnNames = result.columnNames();
  const unnamed = columnWithUnnamedFields(columnNames, columnTypes);
  if (unnamed !== null) {
    return {
      ok: false,
      refused:
        `column ${unnamed} holds a STRUCT with unnamed fields, which JSON cannot carry; ` +
        "name them, e.g. {'a': 1, 'b': 2} instead of ROW(1, 2)",
    };
  }
  const proto = columnWithProtoName(columnNames, columnTypes);
  if (proto !== null) {
    return {
      ok: false,
      refused:
        `column ${proto} holds a STRUCT field or UNION member named __proto__, which a JSON ` +
        "object of the answer cannot carry; rename it ({'proto': 1})",
    };
  }
  const variant = columnWithVariant(columnNames, columnTypes);
  if (variant !== null) {
    return {
      ok: false,
      refused:
        `column ${variant} holds a VARIANT, whose values the answer cannot carry whole; ` +
        'cast it to JSON (x::JSON)',
    };
  }
  const columns = columnNames.map((name, i) => ({
    name: columnNameAsSent(name, job.statement),
    type: typeName(columnTypes[i] as DuckDBType),
  }));
  // The columns count toward the answer's characters: `SELECT *, *, …` over a long column
  // name (or a STRUCT type doubled at each level) is megabytes of names without a row.
  const columnChars = JSON.stringify(columns).length;
  if (columnChars > job.resultCharsMax) {
    return {
      ok: false,
      refused:
        `the result's column names and types take ${columnChars} characters of JSON, past ` +
        `the ${job.resultCharsMax} an answer may hold; select fewer or shorter-named columns`,
    };
  }
  const charsLeft = job.resultCharsMax - columnChars;
  const read = await rowsWithin(result, columnTypes, charsLeft, job.valueDepthMax);
  if ('deep' in read) {
    return {
      ok: false,
      refused:
        `row ${read.deep} holds a value nested more than ${job.valueDepthMax} levels deep, ` +
        'which the answer cannot carry',
    };
  }
  return { ok: true, columns, rows: read.rows, cut: read.cut };
}

/**
 * The first rows of `result` that fit in `charsMax` characters of JSON (`cut` when a row was
 * left out), read a chunk at a time and converted row by row; or the (1-based) number of the
 * first row read that nests deeper than `valueDepthMax`, checked before it is serialized:
 * JSON.stringify and IPC recurse, and JSON the statement built 100,000 levels deep would
 * overflow their stack.
 */
async function rowsWithin(
  result: DuckDBResult,
  types: readonly DuckDBType[],
  charsMax: number,
  valueDepthMax: number,
): Promise<{ rows: Json[][]; cut: boolean } | { deep: number }> {
  const rows: Json[][] = [];
  let chars = 0;
  let chunk = await result.fetchChunk();
  while (chunk !== null && chunk.rowCount > 0) {
    for (let i = 0; i < chunk.rowCount; i++) {
      const row = jsonRow(chunk.getRowValues(i), types);
      if (nestedDeeperThan(row, valueDepthMax + 1)) return { deep: rows.length + 1 };
      chars += JSON.stringify(row).length + 1;
      if (chars > charsMax) return { rows, cut: true };
      rows.push(row);
    }
    chunk = await result.fetchChunk();
  }
  return { rows, cut: false };
}

/**
 * `message` cut to `charsMax` characters (`…` ending a cut one): DuckDB's messages may hold a
 * value the statement built, and a message crosses to the server and back to the client whole.
 */
function cut(message: string, charsMax: number): string {
  return message.length <= charsMax ? message : `${message.slice(0, charsMax - 1)}…`;
}

/** Whether `value` nests arrays and objects more than `levelsMax` deep (walked iteratively). */
function nestedDeeperThan(value: unknown, levelsMax: number): boolean {
  const pending: [unknown, number][] = [[value, 1]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, level] = next;
    if (item === null || typeof item !== 'object') continue;
    if (level > levelsMax) return true;
    for (const child of Object.values(item)) pending.push([child, level + 1]);
  }
  return false;
}

/**
 * Every thread of this process at the priority the server gave it (sql-processes.ts lowers it
 * once the process is spawned): threads the runtime started before that kept the server's.
 * DuckDB's threads start after this, from the main thread, and inherit it.
 */
function sharePriority(): void {
  const nice = os.getPriority();
  let threads: string[] = [];
  try {
    threads = fs.readdirSync('/proc/self/task');
  } catch {
    return; // not Linux: the statement runs all the same
  }
  for (const tid of threads) {
    try {
      os.setPriority(Number(tid), nice);
    } catch {
      // The thread ended meanwhile.
    }
  }
}

process.once('message', (job: SqlJob) => {
  sharePriority();
  run(job).then(
    // Every refusal is cut, not only the guard's: one naming a column quotes its name, which
    // may be most of a statement of 100,000 characters.
    (answer) =>
      process.send?.(
        'refused' in answer
          ? { ok: false, refused: cut(answer.refused, job.messageCharsMax) }
          : answer,
      ),
    (error: unknown) =>
      process.send?.({
        ok: false,
        message: cut(error instanceof Error ? error.message : String(error), job.messageCharsMax),
      } satisfies SqlJobAnswer),
  );
});
// A child whose server went away has no one to answer.
process.on('disconnect', () => process.exit(0));
// SIGTERM, SIGINT or SIGHUP sent to the server's whole process group or cgroup (Ctrl-C in a
// terminal, the terminal closed, systemd's default KillMode) is the server's to handle: its
// shutdown lets a running statement answer, then ends this process (by its deadline, or by going
// away). Ended by them at once, the statement was answered 400 "the query stopped the process it
// ran in". A child whose server is already gone takes the signal as it would have (128 + its
// number, the shell's code of a process a signal ended).
for (const signal of STOP_SIGNALS) {
  process.on(signal, () => {
    if (!process.connected) process.exit(128 + os.constants.signals[signal]);
  });
}
