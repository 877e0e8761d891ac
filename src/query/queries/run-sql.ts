// POST /api/v1/query: one read-only SELECT of the caller's over a relation `events` that holds
// only the caller's tenant. The statement passes the guard, is wrapped as
//   WITH events AS (<tenant's Parquet files>) SELECT * FROM (<statement>) AS user_query LIMIT n+1
// (verified to embed the checked statement unchanged) and runs in a process of its own
// (sql-processes.ts) over an export of the snapshot (linked segment files and the unflushed
// rows), with a time limit (408), a memory limit (400) and a row limit (`truncated` beyond).
// Statements running at once are bounded per tenant (429) and in all (503). A statement whose
// client went away stops where it is: waiting for a read place, exporting, or running (its
// process killed); client_closed, logged as 499.

import * as path from 'node:path';
import type { DuckDBValue, Json } from '@duckdb/node-api';
import { AppError, MiB } from '../../core/index.ts';
import {
  type EventSnapshot,
  type EventSource,
  type ExportedEvents,
  sqlString,
} from '../../storage/index.ts';
import { queryLimits } from '../limits.ts';
import { stopIfClientGone, withSnapshot } from '../read.ts';
import { EVENTS_RELATION, type GuardedStatement, guardSql, verifyWrapped } from '../sql-guard.ts';
import type { SqlJob, SqlJobAnswer } from '../sql-job.ts';
import { SQL_PARAM_PREFIX } from '../sql-placeholders.ts';
import { SqlProcesses } from '../sql-processes.ts';
import { clientGone } from '../tenant-reads.ts';

export type SqlParamValue = string | number | boolean | null;

export interface RunSqlOptions {
  sql: string;
  params: SqlParamValue[];
  /** The statement's process is stopped after this long (408). */
  timeoutMs: number;
  /** Rows returned at most; `truncated` tells when there were more. */
  rowsMax: number;
  /** Aborts when the client is gone: the statement's process is stopped. */
  signal?: AbortSignal;
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

/**
 * Where statements run: a process each, at most `sqlProcessesMax` at once and
 * `sqlTenantProcessesMax` of one tenant.
 */
const processes = new SqlProcesses({
  processesMax: queryLimits.sqlProcessesMax,
  tenantProcessesMax: queryLimits.sqlTenantProcessesMax,
});

export async function runSql(
  source: EventSource,
  tenant: string,
  options: RunSqlOptions,
): Promise<SqlResult> {
  const started = performance.now();
  // The statement's place is taken before its events are exported: a burst past the bound is
  // refused at once, and never exports what it cannot run.
  const reservation = processes.reserve(tenant);
  if (reservation.kind !== 'ok') throw stoppedError(reservation.kind, options.timeoutMs);
  const { slot } = reservation;
  let exported: ExportedEvents | null = null;
  try {
    // The snapshot is held only to check the statement and export the events: the statement
    // then reads its own copy, so flushes and other reads never wait for it.
    const prepared = await withSnapshot(source, tenant, {}, options.signal, (snapshot) =>
      jobOf(snapshot, options),
    );
    exported = prepared.exported;
    const outcome = await slot.run(prepared.job, {
      timeoutMs: options.timeoutMs,
      startMsMax: queryLimits.sqlStartMsMax,
      rssBytesMax: queryLimits.sqlProcessBytesMax,
      signal: options.signal,
    });
    if (outcome.ok) return resultOf(outcome, options.rowsMax, started);
    if ('refused' in outcome) throw new AppError('bad_request', `sql: ${outcome.refused}`);
    if ('message' in outcome) throw userError(new Error(outcome.message));
    throw stoppedError(outcome.stopped, options.timeoutMs);
  } finally {
    slot.release();
    exported?.remove();
  }
}

/** The statement, guarded and wrapped over the snapshot's events exported as Parquet files. */
async function jobOf(
  snapshot: EventSnapshot,
  options: RunSqlOptions,
): Promise<{ job: SqlJob; exported: ExportedEvents }> {
  const statement = await guardSql(snapshot.connection, options.sql);
  if (statement.paramCount !== options.params.length) {
    throw new AppError(
      'bad_request',
      `sql: the statement has ${statement.paramCount} parameter(s) but ` +
        `${options.params.length} value(s) were given`,
    );
  }
  stopIfClientGone(snapshot);
  const exported = await snapshot.exportFiles();
  try {
    return { job: await jobOver(exported, statement, snapshot, options), exported };
  } catch (error) {
    exported.remove();
    throw error;
  }
}

async function jobOver(
  exported: ExportedEvents,
  statement: GuardedStatement,
  snapshot: EventSnapshot,
  options: RunSqlOptions,
): Promise<SqlJob> {
  const files = exported.files.map((f) => `'${sqlString(f)}'`).join(', ');
  const wrapped = wrap(`(SELECT * FROM read_parquet([${files}]))`, statement);
  await verifyWrapped(snapshot.connection, wrapped, statement);
  const values: Record<string, DuckDBValue> = { [ROW_LIMIT_PARAM]: BigInt(options.rowsMax + 1) };
  const doubles: string[] = [];
  const bigints: string[] = [];
  options.params.forEach((value, i) => {
    const name = `${SQL_PARAM_PREFIX}${i + 1}`;
    values[name] = paramValue(value);
    // A safe integer is a BIGINT (the driver would bind a JS bigint as HUGEINT); any other
    // number (1e300, 2**63, 0.5) a DOUBLE.
    if (typeof value === 'number') (Number.isSafeInteger(value) ? bigints : doubles).push(name);
  });
  return {
    sql: wrapped,
    values,
    doubles,
    bigints,
    dirs: [exported.dir],
    tempDirectory: path.join(exported.dir, 'spill'),
    memoryLimitBytes: queryLimits.sqlDuckDbBytesMax,
    spillBytesMax: queryLimits.sqlSpillBytesMax,
    resultCharsMax: queryLimits.sqlResultCharsMax,
    threads: queryLimits.sqlThreads,
  };
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

function resultOf(
  answer: Extract<SqlJobAnswer, { ok: true }>,
  rowsMax: number,
  started: number,
): SqlResult {
  const truncated = answer.cut || answer.rows.length > rowsMax;
  const kept = truncated ? answer.rows.slice(0, rowsMax) : answer.rows;
  return {
    columns: answer.columns,
    rows: kept,
    row_count: kept.length,
    truncated,
    elapsed_ms: Math.round((performance.now() - started) * 100) / 100,
  };
}

/** Why a statement's process was stopped, as the error the caller gets. */
function stoppedError(
  why: 'timeout' | 'memory' | 'exited' | 'busy' | 'tenant_busy' | 'aborted',
  timeoutMs: number,
): AppError {
  switch (why) {
    case 'timeout':
      return new AppError(
        'query_timeout',
        `the query ran longer than ${timeoutMs} ms and was stopped`,
      );
    case 'memory':
      return new AppError(
        'bad_request',
        `sql: the query used more than ${queryLimits.sqlProcessBytesMax / MiB} MiB of memory ` +
          'and was stopped',
      );
    case 'exited':
      return new AppError('bad_request', 'sql: the query stopped the process it ran in');
    case 'busy':
      return new AppError('overloaded', 'too many SQL queries are running; retry later');
    case 'tenant_busy':
      return new AppError(
        'tenant_overloaded',
        `${queryLimits.sqlTenantProcessesMax} SQL queries of this tenant are running ` +
          '(its limit); retry later',
      );
    case 'aborted':
      // Logged as 499; no answer reaches a client that is gone.
      return clientGone();
  }
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
