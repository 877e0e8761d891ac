// GET /api/v1/metrics/aggregate/{name}: count, sum, avg, min, max, p50 and p95 of one metric's
// values per time bucket in a zone (buckets without points are left out).

import type { EventSource } from '../../storage/index.ts';
import { bucketedCtes } from '../bucketed.ts';
import { nullableNumberOf, numberOf, readSnapshotRows } from '../read.ts';
import { type BucketUnit, bucketStarts } from '../time-buckets.ts';
import { formatInZone } from '../time-zone.ts';

export interface AggregateMetricOptions {
  bucket: BucketUnit;
  tz: string;
  fromMs: number;
  toMs: number;
}

export interface MetricBucket {
  bucket: string;
  count: number;
  sum: number | null;
  avg: number | null;
  min: number | null;
  max: number | null;
  p50: number | null;
  p95: number | null;
}

export async function aggregateMetric(
  source: EventSource,
  tenant: string,
  name: string,
  options: AggregateMetricOptions,
  signal?: AbortSignal,
): Promise<MetricBucket[]> {
  const { fromMs, toMs } = options;
  const starts = bucketStarts(fromMs, toMs, options.bucket, options.tz);
  const range = { fromMs, toMs };
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) => {
    const filters = { equals: { name }, includeBots: true, valued: true, fromMs, toMs };
    const ctes = bucketedCtes(
      { from: snapshot.from, filters, starts, columns: ['e."value" AS value'] },
      params,
    );
    return `${ctes}
      SELECT bucket_ms, count(*) AS count, sum(value) AS sum, avg(value) AS avg,
        min(value) AS min, max(value) AS max,
        quantile_cont(value, 0.5) AS p50, quantile_cont(value, 0.95) AS p95
      FROM bucketed GROUP BY bucket_ms ORDER BY bucket_ms`;
  });
  return rows.map((row) => ({
    bucket: formatInZone(numberOf(row.bucket_ms), options.tz),
    count: numberOf(row.count),
    sum: nullableNumberOf(row.sum),
    avg: nullableNumberOf(row.avg),
    min: nullableNumberOf(row.min),
    max: nullableNumberOf(row.max),
    p50: nullableNumberOf(row.p50),
    p95: nullableNumberOf(row.p95),
  }));
}
