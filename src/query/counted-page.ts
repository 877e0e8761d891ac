// A page of rows and the count of all the rows it is a page of, read in one statement (so over
// one snapshot, and the count and the page agree): each row of the page carries the count, and
// a page with no row (an offset past the end) still answers one row, of nulls but the count.
// The paged reads of Umami's API use it: its events, sessions and event data.

import type { EventSnapshot, EventSource, TimeRange } from '../storage/index.ts';
import { numberOf, type Row, readSnapshotRows } from './read.ts';
import type { SqlParams } from './sql-params.ts';

export interface CountedPageRead {
  /** The statement, of the snapshot: a WITH whose CTE `shown` is the page, then countedPageSql. */
  sql: (snapshot: EventSnapshot, params: SqlParams) => string;
  /** A column of `shown` never null on a row of the page: null, it marks an empty page's row. */
  key: string;
}

/**
 * The closing SELECT of a counted page: the rows of the CTE `shown` (as `s`) in `order`, each
 * with `total_rows`, the count of the CTE `all`; one row of nulls with it when `shown` is empty.
 */
export function countedPageSql(all: string, order: string): string {
  return `SELECT (SELECT count(*) FROM ${all}) AS total_rows, s.*
    FROM (SELECT 1) AS one LEFT JOIN shown AS s ON true
    ORDER BY ${order}`;
}

/**
 * A counted page of `tenant`'s events in `range`, read on one snapshot: its rows (none for an
 * empty page) and the count of all.
 */
export async function readCountedPage(
  source: EventSource,
  tenant: string,
  range: TimeRange,
  signal: AbortSignal | undefined,
  read: CountedPageRead,
): Promise<{ rows: Row[]; total: number }> {
  const rows = await readSnapshotRows(source, tenant, range, signal, read.sql);
  return {
    rows: rows.filter((row) => row[read.key] !== null && row[read.key] !== undefined),
    total: numberOf(rows[0]?.total_rows),
  };
}
