// The SQL that puts filtered events into precomputed buckets: the bucket starts (UTC epoch
// ms, from time-buckets.ts) are bound as one list and each event joins the last start at or
// before it (ASOF JOIN), so DuckDB never needs to know the time zone.

import { BIGINT, LIST, listValue } from '@duckdb/node-api';
import { type EventFilters, filterConditions, whereOf } from './filters.ts';
import type { SqlParams } from './sql-params.ts';

export interface BucketedQuery {
  /** The snapshot relation. */
  from: string;
  filters: EventFilters;
  /** Ascending bucket starts covering the filtered range. */
  starts: number[];
  /** Extra columns of each bucketed row, as SQL over the event alias `e`, e.g. `e.value`. */
  columns: string[];
}

/**
 * `WITH buckets AS (…), f AS (…), bucketed AS (…)`: rows of `bucketed` are the filtered
 * events with their `bucket_ms` and the requested columns. Append `, more AS (…) SELECT …`.
 */
export function bucketedCtes(query: BucketedQuery, params: SqlParams): string {
  const starts = params.add(listValue(query.starts.map(BigInt)), LIST(BIGINT));
  const where = whereOf(filterConditions(query.filters, params));
  const columns = ['epoch_ms(e."timestamp") AS ts_ms', ...query.columns].join(', ');
  return `WITH buckets AS (SELECT unnest(${starts}) AS bucket_ms),
    f AS (SELECT ${columns} FROM ${query.from} AS e ${where}),
    bucketed AS (SELECT b.bucket_ms, f.* FROM f ASOF JOIN buckets b ON f.ts_ms >= b.bucket_ms)`;
}
