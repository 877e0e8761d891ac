// GET /api/v1/timeseries: one metric of the tenant's events per time bucket in a zone,
// optionally split into the top N series of a group (by event count, ties by value).

import { AppError } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { bucketedCtes, minuteCountsSql } from '../bucketed.ts';
import { type EventFilters, FILTER_COLUMNS, propertyGroupKey, propertyText } from '../filters.ts';
import { nullableNumberOf, numberOf, type Row, readSnapshotRows } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
import { type BucketUnit, bucketStarts } from '../time-buckets.ts';
import { formatInZone } from '../time-zone.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import {
  isVisitParam,
  scopedRangeOf,
  VISIT_PARAM_NAMES,
  VISIT_VALUE_COLUMN,
  type VisitParam,
  type VisitScope,
  visitScopedFrom,
} from './visit-scope.ts';

/** SQL of each metric over the bucketed rows (identifiers from this allow-list only). */
const METRIC_SQL = {
  count: 'count(*)',
  uniques: 'count(DISTINCT visitor_id)',
  sum: 'sum(value)',
  avg: 'avg(value)',
  min: 'min(value)',
  max: 'max(value)',
  p50: 'quantile_cont(value, 0.5)',
  p95: 'quantile_cont(value, 0.95)',
  p99: 'quantile_cont(value, 0.99)',
} as const;

export type SeriesMetric = keyof typeof METRIC_SQL;
export const SERIES_METRICS = Object.keys(METRIC_SQL) as SeriesMetric[];

/** Metrics whose empty bucket is 0; the others have no value to report there (null). */
const ZERO_WHEN_EMPTY = new Set<SeriesMetric>(['count', 'uniques', 'sum']);

const GROUP_COLUMNS = ['name', 'path', 'os', 'browser', 'device', 'country', 'source', 'referrer'];

/** An event column, an event property, or a property of the event's visit (visit-scope.ts). */
export type GroupBy =
  | { column: keyof typeof FILTER_COLUMNS }
  | { property: string }
  | { visit: VisitParam };

export interface TimeSeriesOptions {
  metric: SeriesMetric;
  bucket: BucketUnit;
  tz: string;
  fromMs: number;
  toMs: number;
  filters: EventFilters;
  groupBy?: GroupBy | undefined;
  /** Only the events of the visits that match (visit-scope.ts); no visits formed without. */
  visits?: VisitScope | undefined;
  /** Series kept when grouping: the top N groups by event count. */
  seriesMax: number;
  /** Every bucket of the range, empty ones included. */
  fill: boolean;
  /** Count from per-minute counts where they give the same answer (default true). */
  useMinuteCounts?: boolean;
}

export interface SeriesPoint {
  bucket: string;
  value: number | null;
}

export interface TimeSeries {
  series: { key: string | null; events: number; points: SeriesPoint[] }[];
}

/** `name`, `path`, …, a visit property (`channel`, …) or `property:<key>`; else 422. */
export function parseGroupBy(value: string | undefined): GroupBy | undefined {
  if (value === undefined || value === '') return undefined;
  if (GROUP_COLUMNS.includes(value)) return { column: value as keyof typeof FILTER_COLUMNS };
  if (isVisitParam(value)) return { visit: value };
  const key = propertyGroupKey(value);
  if (key !== undefined) return { property: key };
  throw AppError.validation([
    {
      loc: ['query', 'group_by'],
      msg:
        `group_by must be one of ${[...GROUP_COLUMNS, ...VISIT_PARAM_NAMES].join(', ')} ` +
        `or property:<key> (got "${value}")`,
      type: 'value_error',
    },
  ]);
}

export async function getTimeSeries(
  source: EventSource,
  tenant: string,
  options: TimeSeriesOptions,
  signal?: AbortSignal,
): Promise<TimeSeries> {
  const starts = bucketStarts(options.fromMs, options.toMs, options.bucket, options.tz);
  const filters = { ...options.filters, fromMs: options.fromMs, toMs: options.toMs };
  const scope = scopeOf(options);
  const range = scopedRangeOf(scope, options.fromMs, options.toMs);
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) => {
    const byMinutes = minuteCountsQueryOf(options, snapshot.minutesFrom, starts, params);
    if (byMinutes !== null) return byMinutes;
    const group = options.groupBy === undefined ? 'NULL' : groupSql(options.groupBy, params);
    const ctes = bucketedCtes(
      {
        from:
          scope === undefined
            ? snapshot.from
            : visitScopedFrom(snapshot, scope, filters, PAGE_VIEW_NAMES, params),
        filters,
        starts,
        columns: [`${group} AS grp`, 'e.value', 'e.visitor_id'],
      },
      params,
    );
    const metric = METRIC_SQL[options.metric];
    return options.groupBy === undefined
      ? `${ctes} SELECT bucket_ms, NULL AS grp, count(*) AS events, ${metric} AS value
           FROM bucketed GROUP BY bucket_ms`
      : `${ctes}, top AS (
             SELECT grp, count(*) AS events FROM bucketed WHERE grp IS NOT NULL
             GROUP BY grp ORDER BY events DESC, grp LIMIT ${params.add(options.seriesMax)})
           SELECT b.bucket_ms, b.grp, any_value(t.events) AS events, ${metric} AS value
           FROM bucketed b JOIN top t ON b.grp = t.grp GROUP BY b.bucket_ms, b.grp`;
  });
  return { series: seriesOf(rows, starts, options) };
}

/**
 * The count series from per-minute counts, when the question is one they answer exactly: a
 * count, filtered at most by name and bots, split at most by name. Null otherwise.
 */
function minuteCountsQueryOf(
  options: TimeSeriesOptions,
  minutesFrom: string,
  starts: number[],
  params: SqlParams,
): string | null {
  const { filters, groupBy } = options;
  const { name, ...otherColumns } = filters.equals ?? {};
  const eligible =
    options.metric === 'count' &&
    options.useMinuteCounts !== false &&
    scopeOf(options) === undefined &&
    Object.values(otherColumns).every((v) => v === undefined) &&
    Object.keys(filters.properties ?? {}).length === 0 &&
    filters.valued !== true &&
    (groupBy === undefined || ('column' in groupBy && groupBy.column === 'name'));
  if (!eligible) return null;
  return minuteCountsSql(
    {
      minutesFrom,
      starts,
      fromMs: options.fromMs,
      toMs: options.toMs,
      name,
      includeBots: filters.includeBots === true,
      byName: groupBy !== undefined,
      seriesMax: options.seriesMax,
    },
    params,
  );
}

/** The visit scope of a series: its visit filters, and its group when that is a visit's. */
function scopeOf(options: TimeSeriesOptions): VisitScope | undefined {
  const { groupBy, visits } = options;
  if (groupBy === undefined || !('visit' in groupBy)) return visits;
  return { equals: visits?.equals ?? {}, group: groupBy.visit };
}

function groupSql(groupBy: GroupBy, params: SqlParams): string {
  if ('visit' in groupBy) return `e.${VISIT_VALUE_COLUMN}`;
  return 'column' in groupBy
    ? `e."${FILTER_COLUMNS[groupBy.column]}"`
    : propertyText(groupBy.property, params);
}

/** Rows → series in rank order, each with its points in bucket order (every bucket if fill). */
function seriesOf(rows: Row[], starts: number[], options: TimeSeriesOptions): TimeSeries['series'] {
  const byKey = new Map<string | null, { events: number; values: Map<number, number | null> }>();
  for (const row of rows) {
    const key = row.grp === null || row.grp === undefined ? null : String(row.grp);
    let series = byKey.get(key);
    if (series === undefined) {
      series = { events: 0, values: new Map() };
      byKey.set(key, series);
    }
    if (options.groupBy === undefined) series.events += numberOf(row.events);
    else series.events = numberOf(row.events);
    series.values.set(numberOf(row.bucket_ms), nullableNumberOf(row.value));
  }
  if (options.groupBy === undefined && byKey.size === 0 && options.fill) {
    byKey.set(null, { events: 0, values: new Map() });
  }
  const empty = ZERO_WHEN_EMPTY.has(options.metric) ? 0 : null;
  const labels = new Map<number, string>();
  const label = (ms: number) => {
    let text = labels.get(ms);
    if (text === undefined) {
      text = formatInZone(ms, options.tz);
      labels.set(ms, text);
    }
    return text;
  };
  return [...byKey.entries()]
    .sort(([ka, a], [kb, b]) => b.events - a.events || compareKeys(ka, kb))
    .map(([key, series]) => {
      const buckets = options.fill ? starts : starts.filter((s) => series.values.has(s));
      const points = buckets.map((s) => ({
        bucket: label(s),
        value: series.values.get(s) ?? empty,
      }));
      return { key, events: series.events, points };
    });
}

/**
 * Keys in the order DuckDB gives text (ORDER BY grp, the top N's cut): by code point, as its
 * UTF-8 bytes compare. JavaScript's `<` compares UTF-16 units, which puts a character past
 * U+FFFF (a surrogate pair) before U+E000–U+FFFF, so tied series came out of the cut's order.
 */
function compareKeys(a: string | null, b: string | null): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}
