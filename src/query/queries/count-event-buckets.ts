// Event counts per fixed UTC bucket (minute, hour or day), source and event name: the
// bucketed metrics of seed 002's GET /metrics. Buckets are whole multiples of their width since
// the Unix epoch, so they start on UTC minute, hour and midnight boundaries.

import { AppError } from '../../core/index.ts';
import { type EventSource, floorDivSql } from '../../storage/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { numberOf, rangeOf, readSnapshotRows } from '../read.ts';

export interface EventBucketOptions {
  /** Bucket width in ms: 60,000, 3,600,000 or 86,400,000. */
  widthMs: number;
  source?: string | undefined;
  name?: string | undefined;
  fromMs?: number | undefined;
  toMs?: number | undefined;
  /** Rows returned at most; more is a 422 asking for a narrower read. */
  rowsMax: number;
}

export interface EventBucketCount {
  bucketMs: number;
  source: string | null;
  name: string;
  count: number;
}

export async function countEventBuckets(
  source: EventSource,
  tenant: string,
  options: EventBucketOptions,
  signal?: AbortSignal,
): Promise<EventBucketCount[]> {
  const filters: EventFilters = {
    equals: { source: options.source, name: options.name },
    includeBots: true,
    fromMs: options.fromMs,
    toMs: options.toMs,
  };
  const rows = await readSnapshotRows(
    source,
    tenant,
    rangeOf(options.fromMs, options.toMs),
    signal,
    (snapshot, params) => {
      const where = whereOf(filterConditions(filters, params));
      const width = params.add(options.widthMs);
      const bucket = floorDivSql('epoch_ms(e."timestamp")', width);
      return `SELECT ${bucket} * ${width} AS bucket_ms,
          e.source AS source, e.name AS name, count(*) AS count
        FROM ${snapshot.from} AS e ${where}
        GROUP BY ALL ORDER BY bucket_ms, source NULLS FIRST, name
        LIMIT ${params.add(options.rowsMax + 1)}`;
    },
  );
  if (rows.length > options.rowsMax) {
    throw AppError.validation([
      {
        loc: ['query', 'bucket_size'],
        msg:
          `the answer would hold more than ${options.rowsMax} buckets; ` +
          'use a larger bucket_size or a shorter start–end range',
        type: 'too_long',
      },
    ]);
  }
  return rows.map((row) => ({
    bucketMs: numberOf(row.bucket_ms),
    source: row.source === null ? null : String(row.source),
    name: String(row.name),
    count: numberOf(row.count),
  }));
}
