// POST /api/v1/query: one read-only SELECT of the caller's over a relation `events` that holds
// only the caller's tenant. The statement runs in a process of its own (sql-processes.ts) over
// an export of the snapshot (linked segment files and the unflushed rows); that process checks
// it with the guard and wraps it over the export (sql-statement.ts), with a time limit (408), a
// memory limit (400) and a row limit (`truncated` beyond).
// Statements running at once are bounded per tenant (429) and in all (503). A statement whose
// client went away stops where it is: waiting for a read place, exporting, or running (its
// process killed); client_closed, logged as 499.

import * as path from 'node:path';
import type { Json } from '@duckdb/node-api';
import { AppError, MiB, readRoomError } from '../../core/index.ts';
import type { EventSnapshot, EventSource, ExportedEvents } from '../../storage/index.ts';
import { queryLimits } from '../limits.ts';
import { stopIfClientGone, withSnapshot } from '../read.ts';
import type { SqlJob, SqlJobAnswer, SqlParamValue } from '../sql-job.ts';
import { SqlProcesses } from '../sql-processes.ts';
import { clientGone } from '../tenant-reads.ts';

export type { SqlParamValue } from '../sql-job.ts';

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
    // The snapshot is held only to export the events: the statement is checked and run in its
    // own process over that copy, so flushes and other reads never wait for it.
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

/**
 * The job of the statement over the snapshot's events exported as Parquet files. The statement
 * is checked in its own process (sql-statement.ts), not here: a refused one costs an export.
 */
async function jobOf(
  snapshot: EventSnapshot,
  options: RunSqlOptions,
): Promise<{ job: SqlJob; exported: ExportedEvents }> {
  stopIfClientGone(snapshot);
  const exported = await snapshot.exportFiles().catch((error: unknown) => {
    throw readRoomError(
      error,
      "a SQL statement needs room there for a copy of the tenant's events; retry later",
    );
  });
  const job: SqlJob = {
    statement: options.sql,
    params: options.params,
    files: exported.files,
    rowsMax: options.rowsMax,
    dirs: [exported.dir],
    tempDirectory: path.join(exported.dir, 'spill'),
    memoryLimitBytes: queryLimits.sqlDuckDbBytesMax,
    spillBytesMax: spillBytesOf(exported.spareBytes),
    resultCharsMax: queryLimits.sqlResultCharsMax,
    messageCharsMax: queryLimits.sqlMessageCharsMax,
    valueDepthMax: queryLimits.sqlValueDepthMax,
    threads: queryLimits.sqlThreads,
  };
  return { job, exported };
}

/**
 * What a statement may spill: sqlSpillBytesMax, but never more than its share (one of
 * sqlProcessesMax running at once) of the disk's room past DISK_FREE_BYTES_MIN, so that
 * statements spilling side by side on a nearly full disk cannot take the room ingest needs
 * (every tenant's writes would be refused until they end). A statement that needs more is a
 * 400 (DuckDB's out of temp space).
 */
export function spillBytesOf(spareBytes: number): number {
  return Math.min(
    queryLimits.sqlSpillBytesMax,
    Math.floor(spareBytes / queryLimits.sqlProcessesMax),
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

/** A DuckDB error the statement caused becomes a 400 with its first line; others stay 500s. */
function userError(error: unknown): unknown {
  if (error instanceof AppError || !(error instanceof Error)) return error;
  const firstLine = error.message.split('\n')[0] ?? '';
  if (!USER_ERRORS.test(firstLine)) return error;
  return new AppError('bad_request', `sql: ${firstLine}`, { cause: error });
}
