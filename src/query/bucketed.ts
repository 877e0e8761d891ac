// The SQL that puts filtered events into precomputed buckets: the bucket starts (UTC epoch
// ms, from time-buckets.ts) are bound as one list, so DuckDB never needs the time zone. When
// every bucket boundary falls on a whole UTC minute (all zones today), each event's minute is
// looked up in a small minute → bucket table (built with an ASOF JOIN over the range's
// minutes): a hash join, where an ASOF JOIN of the events themselves would sort all of them
// (25× slower on 10M rows). Offsets with seconds (local mean time before ~1900, Monrovia's
// −00:44:30 until 1972) split a minute between two buckets: then the events are joined exactly.

import { BIGINT, LIST, listValue } from '@duckdb/node-api';
import { assert } from '../core/index.ts';
import { floorDivSql } from '../storage/index.ts';
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
  const first = Math.floor((query.starts[0] ?? 0) / MINUTE_MS);
  const last = Math.floor(((query.filters.toMs ?? query.starts.at(-1) ?? 0) - 1) / MINUTE_MS);
  if (!onWholeMinutes(query.starts) || last - first + 1 > MINUTES_MAX) {
    return `WITH buckets AS (SELECT unnest(${starts}) AS bucket_ms),
      f AS (SELECT ${columns} FROM ${query.from} AS e ${where}),
      bucketed AS (SELECT b.bucket_ms, f.* FROM f ASOF JOIN buckets b ON f.ts_ms >= b.bucket_ms)`;
  }
  return `WITH ${minutesCtes(starts, first, last, params)},
    f AS (SELECT ${columns}, ${floorDivSql('epoch_ms(e."timestamp")', MINUTE_MS)} AS minute
          FROM ${query.from} AS e ${where}),
    bucketed AS (SELECT m.bucket_ms, f.* FROM f JOIN minutes m ON f.minute = m.minute)`;
}

/** How rows of another statement find their bucket (bucketJoinOf). */
export interface BucketJoin {
  /** CTEs to add to the statement's WITH (no leading WITH or comma). */
  ctes: string;
  /** A join clause giving a row whose epoch-ms time is `ts` the column `b.bucket_ms`. */
  join(ts: string): string;
}

/**
 * The buckets of `starts` (ending at `toMs`) as a join any row with a time can take, by the
 * minute → bucket table when boundaries are whole minutes (as bucketedCtes), else exactly.
 * `bucketOf` (as long as `starts`) names the bucket each start's span counts in, `b.bucket_ms`
 * (a wall-clock hour the clocks put back in two parts apart is one bucket: Chatham's 02:00
 * on 2026-04-05, see clockHourStarts); each start its own by default.
 */
export function bucketJoinOf(
  starts: number[],
  toMs: number,
  params: SqlParams,
  bucketOf?: readonly number[],
): BucketJoin {
  const list = bucketsSql(starts, params, bucketOf);
  const first = Math.floor((starts[0] ?? 0) / MINUTE_MS);
  const last = Math.floor((toMs - 1) / MINUTE_MS);
  if (!onWholeMinutes(starts) || last - first + 1 > MINUTES_MAX) {
    return {
      ctes: `buckets AS (${list})`,
      join: (ts) => `ASOF JOIN buckets b ON ${ts} >= b.start_ms`,
    };
  }
  return {
    ctes: minutesOfBuckets(list, first, last, params),
    join: (ts) => `JOIN minutes b ON ${floorDivSql(ts, MINUTE_MS)} = b.minute`,
  };
}

/** `SELECT … AS start_ms, … AS bucket_ms`: each start and the bucket its span counts in. */
function bucketsSql(starts: number[], params: SqlParams, bucketOf?: readonly number[]): string {
  assert(bucketOf === undefined || bucketOf.length === starts.length, 'a bucket per start');
  const list = (values: readonly number[]) =>
    params.add(listValue(values.map(BigInt)), LIST(BIGINT));
  const startList = list(starts);
  const bucketList = bucketOf === undefined ? startList : list(bucketOf);
  return `SELECT unnest(${startList}) AS start_ms, unnest(${bucketList}) AS bucket_ms`;
}

/** `buckets AS (…), minutes AS (…)`: each UTC minute of [first, last] and its bucket start. */
function minutesCtes(starts: string, first: number, last: number, params: SqlParams): string {
  return minutesOfBuckets(
    `SELECT start_ms, start_ms AS bucket_ms FROM (SELECT unnest(${starts}) AS start_ms)`,
    first,
    last,
    params,
  );
}

/** minutesCtes over the buckets `SELECT start_ms, bucket_ms` of `buckets`. */
function minutesOfBuckets(buckets: string, first: number, last: number, params: SqlParams) {
  const from = params.add(BigInt(first));
  const to = params.add(BigInt(last + 1));
  return `buckets AS (${buckets}),
    minutes AS (
      SELECT m.minute, b.bucket_ms
      FROM (SELECT range AS minute FROM range(${from}::BIGINT, ${to}::BIGINT)) m
      ASOF JOIN buckets b ON m.minute * ${MINUTE_MS} >= b.start_ms)`;
}

export interface MinuteCountsQuery {
  /** The snapshot's `minutesFrom` relation. */
  minutesFrom: string;
  starts: number[];
  fromMs: number;
  toMs: number;
  /** Only events of this name. */
  name?: string | undefined;
  includeBots: boolean;
  /** One series per event name (the top `seriesMax` by events), else one series. */
  byName: boolean;
  seriesMax: number;
}

/**
 * Counts per bucket from the per-minute counts instead of the events: the same numbers as
 * counting events when bucket boundaries are whole minutes, from a few thousand rows a day.
 * Rows: `bucket_ms, grp, events, value`. Null when the range cannot be read by minutes (its
 * ends or a bucket boundary inside it are not whole minutes, or it spans too many).
 */
export function minuteCountsSql(q: MinuteCountsQuery, params: SqlParams): string | null {
  const first = q.fromMs / MINUTE_MS;
  const last = q.toMs / MINUTE_MS - 1;
  const aligned = Number.isInteger(first) && Number.isInteger(last);
  if (!aligned || !onWholeMinutes(q.starts) || last - first + 1 > MINUTES_MAX) return null;
  const starts = params.add(listValue(q.starts.map(BigInt)), LIST(BIGINT));
  const conditions = [
    `c.minute BETWEEN ${params.add(BigInt(first))} AND ${params.add(BigInt(last))}`,
  ];
  if (q.name !== undefined) conditions.push(`c.name = ${params.add(q.name)}`);
  if (!q.includeBots) conditions.push('NOT coalesce(c.is_bot, false)');
  const grp = q.byName ? 'c.name' : 'NULL';
  const counted = `counted AS (
      SELECT m.bucket_ms, ${grp} AS grp, sum(c.events) AS events
      FROM ${q.minutesFrom} AS c JOIN minutes m ON c.minute = m.minute
      WHERE ${conditions.join(' AND ')} GROUP BY ALL)`;
  const head = `WITH ${minutesCtes(starts, first, last, params)}, ${counted}`;
  if (!q.byName) return `${head} SELECT bucket_ms, grp, events, events AS value FROM counted`;
  return `${head}, top AS (
      SELECT grp, sum(events) AS events FROM counted WHERE grp IS NOT NULL
      GROUP BY grp ORDER BY events DESC, grp LIMIT ${params.add(q.seriesMax)})
    SELECT c.bucket_ms, c.grp, t.events AS events, c.events AS value
    FROM counted c JOIN top t ON c.grp = t.grp`;
}

const MINUTE_MS = 60_000;
/** Past this many minutes in the range (about 4 years), fall back to joining events directly. */
const MINUTES_MAX = 2_000_000;

/**
 * Whether buckets can be read by whole UTC minutes: there are some, and every one starts on a
 * minute (a start at an offset with seconds would put part of a minute in the wrong bucket).
 */
function onWholeMinutes(starts: readonly number[]): boolean {
  return starts.length > 0 && starts.every((start) => start % MINUTE_MS === 0);
}
