// Running a query on one tenant's snapshot: take a place of the tenant's reads, acquire, read
// rows as JSON-safe objects, release (always, in a finally, so a failed read keeps nothing).

import type { Json } from '@duckdb/node-api';
import type { EventSnapshot, EventSource, TimeRange } from '../storage/index.ts';
import { jsonRows } from './json-values.ts';
import { queryLimits } from './limits.ts';
import type { SqlParams } from './sql-params.ts';
import { TenantReadGate } from './tenant-reads.ts';

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

export async function withSnapshot<T>(
  source: EventSource,
  tenant: string,
  range: TimeRange,
  use: (snapshot: EventSnapshot) => Promise<T>,
): Promise<T> {
  const leave = await gateOf(source).enter(tenant);
  try {
    const snapshot = await source.snapshot(tenant, range);
    try {
      return await use(snapshot);
    } finally {
      snapshot.release();
    }
  } finally {
    leave();
  }
}

/** Every row of `sql` (which reads `snapshot.from`), with the snapshot's parameters bound. */
export async function readRows(
  snapshot: EventSnapshot,
  sql: string,
  params: SqlParams,
): Promise<Row[]> {
  const reader = await snapshot.connection.runAndReadAll(
    sql,
    params.with(snapshot.params),
    params.types,
  );
  const names = reader.columnNames();
  return jsonRows(reader).map((row) =>
    Object.fromEntries(names.map((name, i) => [name, row[i] ?? null])),
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
