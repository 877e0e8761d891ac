// The statement of a SQL job as its process runs it: checked by the guard, wrapped as
//   WITH events AS (<the exported Parquet files>) SELECT * FROM (<statement>) LIMIT n+1
// (the files read by their formats, segment-format.ts, so older segments have every column)
// (verified to embed the checked statement unchanged), its parameters bound by name. Runs in
// the statement's own process (sql-child.ts), on that process's DuckDB.

import {
  BIGINT,
  DOUBLE,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
} from '@duckdb/node-api';
import { AppError } from '../core/index.ts';
import { segmentRowsSql } from '../storage/index.ts';
import { EVENTS_RELATION, type GuardedStatement, guardSql, verifyWrapped } from './sql-guard.ts';
import type { SqlJob, SqlParamValue } from './sql-job.ts';
import { SQL_PARAM_PREFIX } from './sql-placeholders.ts';

const ROW_LIMIT_PARAM = 'sql_row_limit';

export interface RunnableStatement {
  sql: string;
  values: Record<string, DuckDBValue>;
  types: Record<string, DuckDBType>;
}

/** The job's statement ready to run; a 400 (`sql: …`) when the guard refuses it. */
export async function runnableStatement(
  connection: DuckDBConnection,
  job: Pick<SqlJob, 'statement' | 'params' | 'files' | 'rowsMax'>,
): Promise<RunnableStatement> {
  const statement = await guardSql(connection, job.statement);
  if (statement.paramCount !== job.params.length) {
    throw new AppError(
      'bad_request',
      `sql: the statement has ${statement.paramCount} parameter(s) but ` +
        `${job.params.length} value(s) were given`,
    );
  }
  const sql = wrap(`(${segmentRowsSql(job.files)})`, statement);
  await verifyWrapped(connection, sql, statement);
  const values: Record<string, DuckDBValue> = { [ROW_LIMIT_PARAM]: BigInt(job.rowsMax + 1) };
  const types: Record<string, DuckDBType> = {};
  job.params.forEach((value, i) => {
    const name = `${SQL_PARAM_PREFIX}${i + 1}`;
    values[name] = paramValue(value);
    // A safe integer is a BIGINT (the driver would bind a JS bigint as HUGEINT); any other
    // number (1e300, 2**63, 0.5) a DOUBLE.
    if (typeof value === 'number') types[name] = Number.isSafeInteger(value) ? BIGINT : DOUBLE;
  });
  return { sql, values, types };
}

function wrap(from: string, statement: GuardedStatement): string {
  return (
    `WITH ${EVENTS_RELATION} AS (\n` +
    '  SELECT * EXCLUDE (seq) REPLACE (CAST(properties AS JSON) AS properties)\n' +
    `  FROM ${from} AS e\n` +
    ')\n' +
    `SELECT * FROM (\n${statement.sql}\n) AS user_query LIMIT $${ROW_LIMIT_PARAM}`
  );
}

/** Integers bind as BIGINT (so `LIMIT ?` works), other numbers as DOUBLE. */
function paramValue(value: SqlParamValue): DuckDBValue {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return value;
}
