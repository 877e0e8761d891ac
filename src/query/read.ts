// Running a query on one tenant's snapshot: take a place of the tenant's reads, acquire, read
// rows as JSON-safe objects, release (always, in a finally, so a failed read keeps nothing).
// A read whose client went away (its signal aborts) stops: it leaves the queue if it waits,
// its running DuckDB statement is interrupted, and it starts no further one (client_closed).

import type { Json } from '@duckdb/node-api';
import { AppError } from '../core/index.ts';
import {
  type EventSnapshot,
  type EventSource,
  interruptOnAbort,
  minuteCountsOf,
  type TimeRange,
} from '../storage/index.ts';
import { jsonRows } from './json-values.ts';
import { queryLimits } from './limits.ts';
import { SqlParams } from './sql-params.ts';
import { clientGone, TenantReadGate } from './tenant-reads.ts';

export type Row = Record<string, Json | null>;

/**
 * Every read of the query API takes a place of its tenant's (see TenantReadGate), counted per
 * store: two stores in one process (tests, a benchmark's floor beside Tally) share no places.
 */
const gates = new WeakMap<EventSource, TenantReadGate>();

function gateOf(source: EventSource): TenantReadGate {
  let gate = gates.get(source);
  if (gate === undefined) {
    gate = new TenantReadGate({
      runningMax: queryLimits.tenantReadsRunningMax,
      waitingMax: queryLimits.tenantReadsWaitingMax,
    });
    gates.set(source, gate);
  }
  return gate;
}

/** Reads of `tenant` waiting for a place of `source`'s gate now (for tests, to wait on). */
export function readsWaiting(source: EventSource, tenant: string): number {
  return gateOf(source).waitingOf(tenant);
}

/** The signal of each snapshot's read, for readRows to start no statement once it aborted. */
const signals = new WeakMap<EventSnapshot, AbortSignal>();

/**
 * Runs `use` on a snapshot of `tenant`'s events within a place of its reads. Once `signal`
 * aborts (the client went away) the read is stopped and rejects as client_closed: waiting, it
 * leaves the queue; running, its statement is interrupted (interruptOnAbort) and no further
 * one starts (readRows). The place and the snapshot are given back on every path, in the
 * finallys below; the snapshot's connection is closed only once its statement has settled.
 */
export async function withSnapshot<T>(
  source: EventSource,
  tenant: string,
  range: TimeRange,
  signal: AbortSignal | undefined,
  use: (snapshot: EventSnapshot) => Promise<T>,
): Promise<T> {
  const leave = await gateOf(source).enter(tenant, signal);
  try {
    // Aborted in the turn its place was handed over: the place goes on to the next read.
    if (signal?.aborted) throw clientGone();
    const snapshot = await source.snapshot(tenant, range);
    if (signal !== undefined) signals.set(snapshot, signal);
    const stopInterrupting = interruptOnAbort(snapshot.connection, signal);
    try {
      stopIfClientGone(snapshot);
      return await use(snapshot);
    } catch (error) {
      // Interrupted ('INTERRUPT Error'), or a later statement of its aborted transaction.
      throw signal?.aborted ? clientGone(error) : error;
    } finally {
      stopInterrupting();
      snapshot.release();
    }
  } finally {
    leave();
  }
}

/**
 * Throws client_closed when the client of `snapshot`'s read went away: called before each
 * statement, since an interrupt stops only the statement running when the client leaves.
 */
export function stopIfClientGone(snapshot: EventSnapshot): void {
  if (signals.get(snapshot)?.aborted) throw clientGone();
}

/**
 * `snapshot` reading `from` and `allFrom` instead of its own: relations of the same events on
 * its connection that need none of its parameters (a Parquet copy of them, events-once.ts).
 * `within` and `allWithin` are the same (rows are not filtered by time), `minutesFrom` counts
 * `from`, and it reads no segments (no `segments`). Its statements stop as `snapshot`'s do
 * once the client goes away.
 */
export function readingInstead(
  snapshot: EventSnapshot,
  relations: { from: string; allFrom: string },
): EventSnapshot {
  const { from, allFrom } = relations;
  const { segments: _segments, ...rest } = snapshot;
  const reading: EventSnapshot = {
    ...rest,
    from,
    allFrom,
    within: () => from,
    allWithin: () => allFrom,
    minutesFrom: `(${minuteCountsOf(from)})`,
    params: {},
  };
  const signal = signals.get(snapshot);
  if (signal !== undefined) signals.set(reading, signal);
  return reading;
}

/** Every row of `sql` (which reads `snapshot.from`), with the snapshot's parameters bound. */
export async function readRows(
  snapshot: EventSnapshot,
  sql: string,
  params: SqlParams,
): Promise<Row[]> {
  stopIfClientGone(snapshot);
  const reader = await snapshot.connection
    .runAndReadAll(sql, params.with(snapshot.params), params.types)
    .catch((error: unknown) => {
      throw outOfMemory(error) ? readTooLarge(error) : error;
    });
  const names = reader.columnNames();
  return jsonRows(reader).map((row) =>
    Object.fromEntries(names.map((name, i) => [name, row[i] ?? null])),
  );
}

/**
 * The rows of one statement on a snapshot of `tenant`'s events in `range` (withSnapshot):
 * `sql` writes it for that snapshot, its values bound in `params`.
 */
export function readSnapshotRows(
  source: EventSource,
  tenant: string,
  range: TimeRange,
  signal: AbortSignal | undefined,
  sql: (snapshot: EventSnapshot, params: SqlParams) => string,
): Promise<Row[]> {
  return withSnapshot(source, tenant, range, signal, (snapshot) => {
    const params = new SqlParams();
    return readRows(snapshot, sql(snapshot, params), params);
  });
}

/**
 * Whether DuckDB stopped a statement for want of memory (its limit, DUCKDB_MEMORY_BYTES_MAX)
 * or of room to spill to (DuckDB names both an Out of Memory Error).
 */
function outOfMemory(error: unknown): boolean {
  return error instanceof Error && error.message.startsWith('Out of Memory Error');
}

/**
 * A 503: the read needed more of DuckDB's memory than it could have, which every running read
 * and flush shares: it may fit later, or over a shorter range.
 */
function readTooLarge(cause: unknown): AppError {
  return new AppError(
    'overloaded',
    'the read needs more memory than DuckDB may use now (DUCKDB_MEMORY_BYTES_MAX, shared by ' +
      'every running read), or more disk to spill to than is free; retry later or read a ' +
      'shorter range',
    { cause },
  );
}

/** The time range of a read, for pruning segments. */
export function rangeOf(fromMs: number | undefined, toMs: number | undefined): TimeRange {
  return {
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(toMs === undefined ? {} : { toMs }),
  };
}

/** A count or other number from a row (JSON-safe conversion keeps exact integers as numbers). */
export function numberOf(value: Json | null | undefined): number {
  return typeof value === 'number' ? value : Number(value ?? 0);
}

/** A nullable number (aggregates over no values are null). */
export function nullableNumberOf(value: Json | null | undefined): number | null {
  return value === null || value === undefined ? null : numberOf(value);
}
