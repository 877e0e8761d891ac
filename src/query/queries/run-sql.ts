// POST /api/v1/query: one read-only SELECT of the caller's over a relation `events` that holds
// only the caller's tenant. The statement passes the guard, is wrapped as
//   WITH events AS (<tenant snapshot>) SELECT * FROM (<statement>) AS user_query LIMIT n+1
// (verified to embed the checked statement unchanged) and runs with a time limit (interrupt →
// 408) and a row limit (`truncated` beyond).

import {
  DOUBLE,
  type DuckDBConnection,
  type DuckDBType,
  type DuckDBValue,
  type Json,
} from '@duckdb/node-api';
import { AppError, assert } from '../../core/index.ts';
import type { EventSnapshot, EventSource } from '../../storage/index.ts';
import { jsonRows, typeName } from '../json-values.ts';
import { withSnapshot } from '../read.ts';
import { EVENTS_RELATION, type GuardedStatement, guardSql, verifyWrapped } from '../sql-guard.ts';
import { SQL_PARAM_PREFIX } from '../sql-placeholders.ts';

export type SqlParamValue = string | number | boolean | null;

export interface RunSqlOptions {
  sql: string;
  params: SqlParamValue[];
  /** The statement is interrupted after this long (408). */
  timeoutMs: number;
  /** Rows returned at most; `truncated` tells when there were more. */
  rowsMax: number;
}

export interface SqlResult {
  columns: { name: string; type: string }[];
  rows: (Json | null)[][];
  row_count: number;
  truncated: boolean;
  elapsed_ms: number;
}

/** DuckDB error kinds caused by the statement itself (a 400), by the prefix of the message. */
const USER_ERROR_KINDS = [
  'Parser',
  'Syntax',
  'Binder',
  'Catalog',
  'Conversion',
  'Out of Range',
  'Invalid Input',
  'Invalid type',
  'Mismatch Type',
  'Divide by Zero',
  'Not implemented',
  'Decimal',
  'Unknown Type',
  'Expression',
  'Parameter Not Resolved',
  'Parameter Not Allowed',
  'Permission',
  'Out of Memory',
  'Object Size',
];
const USER_ERRORS = new RegExp(`^(${USER_ERROR_KINDS.join('|')}) Error: `);

const ROW_LIMIT_PARAM = 'sql_row_limit';
const INTERRUPT_REPEAT_MS = 50;

export async function runSql(
  source: EventSource,
  tenant: string,
  options: RunSqlOptions,
): Promise<SqlResult> {
  const started = performance.now();
  return withSnapshot(source, tenant, {}, async (snapshot) => {
    let timedOut = false;
    let repeat: ReturnType<typeof setInterval> | undefined;
    const timer = setTimeout(() => {
      timedOut = true;
      snapshot.connection.interrupt();
      // An interrupt that lands between two statements of the run is lost; repeat it.
      repeat = setInterval(() => snapshot.connection.interrupt(), INTERRUPT_REPEAT_MS);
    }, options.timeoutMs);
    try {
      return await guardAndRun(snapshot, options, started);
    } catch (error) {
      if (timedOut) {
        throw new AppError(
          'query_timeout',
          `the query ran longer than ${options.timeoutMs} ms and was stopped`,
        );
      }
      throw userError(error);
    } finally {
      clearTimeout(timer);
      clearInterval(repeat);
    }
  });
}

async function guardAndRun(
  snapshot: EventSnapshot,
  options: RunSqlOptions,
  started: number,
): Promise<SqlResult> {
  const statement = await guardSql(snapshot.connection, options.sql);
  if (statement.paramCount !== options.params.length) {
    throw new AppError(
      'bad_request',
      `sql: the statement has ${statement.paramCount} parameter(s) but ` +
        `${options.params.length} value(s) were given`,
    );
  }
  const wrapped = wrap(snapshot.from, statement);
  await verifyWrapped(snapshot.connection, wrapped, statement);
  for (const name of Object.keys(snapshot.params)) {
    assert(!name.startsWith('sql_'), `snapshot parameter ${name} clashes with the statement's`);
  }
  const values: Record<string, DuckDBValue> = { ...snapshot.params };
  const types: Record<string, DuckDBType> = {};
  options.params.forEach((value, i) => {
    const name = `${SQL_PARAM_PREFIX}${i + 1}`;
    values[name] = paramValue(value);
    // A number that is not a safe integer (1e300, 2**63, 0.5) is a DOUBLE, never a BIGINT.
    if (typeof value === 'number' && !Number.isSafeInteger(value)) types[name] = DOUBLE;
  });
  values[ROW_LIMIT_PARAM] = BigInt(options.rowsMax + 1);
  return read(snapshot.connection, wrapped, { values, types }, options.rowsMax, started);
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

async function read(
  connection: DuckDBConnection,
  sql: string,
  bound: { values: Record<string, DuckDBValue>; types: Record<string, DuckDBType> },
  rowsMax: number,
  started: number,
): Promise<SqlResult> {
  const reader = await connection.runAndReadAll(sql, bound.values, bound.types);
  const names = reader.columnNames();
  const types = reader.columnTypes();
  const rows = jsonRows(reader);
  const truncated = rows.length > rowsMax;
  const kept = truncated ? rows.slice(0, rowsMax) : rows;
  return {
    columns: names.map((name, i) => ({ name, type: typeName(types[i] as DuckDBType) })),
    rows: kept,
    row_count: kept.length,
    truncated,
    elapsed_ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** Integers bind as BIGINT (so `LIMIT ?` works), other numbers as DOUBLE. */
function paramValue(value: SqlParamValue): DuckDBValue {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  return value;
}

/** A DuckDB error the statement caused becomes a 400 with its first line; others stay 500s. */
function userError(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof Error)) return error;
  const firstLine = error.message.split('\n')[0] ?? '';
  if (!USER_ERRORS.test(firstLine)) return error;
  return new AppError('bad_request', `sql: ${firstLine}`, { cause: error });
}
