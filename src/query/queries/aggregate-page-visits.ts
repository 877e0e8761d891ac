// Events per time bucket, page and operating system with their mean duration: seed 003's
// GET /api/events/. Buckets follow TimescaleDB's time_bucket: multiples of the width counted
// from an origin (Monday 2000-01-03 UTC), so a week starts on Monday and a day at UTC midnight;
// a width of months counts whole UTC calendar months from 2000-01-01, as time_bucket does.

import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { AppError } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { nullableNumberOf, numberOf, readSnapshotRows } from '../read.ts';

/** time_bucket's default origin for widths of days and weeks (months count from 2000-01-01). */
const TIME_BUCKET_ORIGIN_MS = Date.UTC(2000, 0, 3);

export interface PageVisitOptions {
  /** A fixed width, or whole calendar months. */
  width: { ms: number } | { months: number };
  /** Only events whose path is one of these. */
  pages: string[];
  /** Rows returned at most; more is a 422 asking for a larger bucket. */
  rowsMax: number;
}

export interface PageVisitBucket {
  bucketMs: number;
  page: string;
  os: string;
  avgDuration: number | null;
  count: number;
}

export async function aggregatePageVisits(
  source: EventSource,
  tenant: string,
  options: PageVisitOptions,
  signal?: AbortSignal,
): Promise<PageVisitBucket[]> {
  const rows = await readSnapshotRows(source, tenant, {}, signal, (snapshot, params) => {
    let bucket: string;
    if ('months' in options.width) {
      // The month since 2000-01 of the event's UTC time (epoch_ms of a number is a naive UTC
      // TIMESTAMP), down to a multiple of the width, as the ms of that month's first day.
      const width = params.add(options.width.months);
      const utc = `epoch_ms(epoch_ms(e."timestamp"))`;
      const month = `(year(${utc}) - 2000) * 12 + month(${utc}) - 1`;
      bucket = `epoch_ms(TIMESTAMP '2000-01-01' + to_months(
          CAST(floor((${month}) / ${width}) * ${width} AS INTEGER)))`;
    } else {
      const origin = params.add(TIME_BUCKET_ORIGIN_MS);
      const width = params.add(options.width.ms);
      bucket = `CAST(floor((epoch_ms(e."timestamp") - ${origin}) / ${width}) AS BIGINT)
            * ${width} + ${origin}`;
    }
    const pages = params.add(listValue(options.pages), LIST(VARCHAR));
    return `SELECT * FROM (
        SELECT ${bucket} AS bucket_ms,
          e.path AS page, e.os AS os, avg(e.duration) AS avg_duration, count(*) AS count
        FROM ${snapshot.from} AS e WHERE list_contains(${pages}, e.path)
        GROUP BY ALL
      ) ORDER BY bucket_ms, page, lower(os), os LIMIT ${params.add(options.rowsMax + 1)}`;
  });
  if (rows.length > options.rowsMax) {
    throw AppError.validation([
      {
        loc: ['query', 'duration'],
        msg: `the answer would hold more than ${options.rowsMax} rows; use a longer duration`,
        type: 'too_long',
      },
    ]);
  }
  return rows.map((row) => ({
    bucketMs: numberOf(row.bucket_ms),
    page: String(row.page),
    os: String(row.os),
    avgDuration: nullableNumberOf(row.avg_duration),
    count: numberOf(row.count),
  }));
}
