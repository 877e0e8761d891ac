// The process one SQL statement of POST /api/v1/query runs in: its own DuckDB, locked down like
// the server's, reading the caller's events from Parquet files. It checks the statement itself
// (sql-statement.ts: the guard, the wrap), so parsing and walking a long statement never holds
// the server's event loop. The server kills it at the time limit or past its memory limit, so
// a statement DuckDB cannot interrupt or account for (a value of billions of elements built by
// one function call) costs this process, never the server. Started by sql-processes.ts; takes
// one job over IPC, answers, and waits to be killed.

import { DuckDBInstance, type DuckDBType } from '@duckdb/node-api';
import { AppError } from '../core/index.ts';
import { duckDbBytes, lockDown } from '../storage/index.ts';
import { columnWithProtoName, columnWithUnnamedFields, jsonRows, typeName } from './json-values.ts';
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
    return { ok: false, refused: cut(statement, job.messageCharsMax) };
  }
  const reader = await connection.runAndReadAll(statement.sql, statement.values, statement.types);
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
  const proto = columnWithProtoName(reader.columnNames(), columnTypes);
  if (proto !== null) {
    return {
      ok: false,
      refused:
        `column ${proto} holds a STRUCT field or UNION member named __proto__, which a JSON ` +
        "object of the answer cannot carry; rename it ({'proto': 1})",
    };
  }
  const columns = reader.columnNames().map((name, i) => ({
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
  const rows = jsonRows(reader);
  // Checked before any row is serialized: JSON.stringify and IPC recurse, and JSON the
  // statement built 100,000 levels deep would overflow their stack.
  const deep = rows.findIndex((row) => nestedDeeperThan(row, job.valueDepthMax + 1));
  if (deep !== -1) {
    return {
      ok: false,
      refused:
        `row ${deep + 1} holds a value nested more than ${job.valueDepthMax} levels deep, ` +
        'which the answer cannot carry',
    };
  }
  const kept = rowsWithin(rows, job.resultCharsMax - columnChars);
  return {
    ok: true,
    columns,
    rows: kept === rows.length ? rows : rows.slice(0, kept),
    cut: kept < rows.length,
  };
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
        message: cut(error instanceof Error ? error.message : String(error), job.messageCharsMax),
      } satisfies SqlJobAnswer),
  );
});
// A child whose server went away has no one to answer.
process.on('disconnect', () => process.exit(0));
