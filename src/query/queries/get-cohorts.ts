// GET /api/v1/cohorts: cohort retention, PostHog's retention insight. The actors (visitors,
// devices, persons or users: actors.ts) with a start event in a period form that period's cohort
// (`recurring`, PostHog's default), or only those whose first start event ever is in it
// (`first`); of each cohort, how many did the return event in each later period. One statement
// over the snapshot; exact counts.
//
// Events find their period through the bucket join of time series (bucketed.ts), so periods
// have the same local boundaries as buckets. An actor counts once per (cohort, later period):
// starts and returns are first reduced to distinct (actor, period) pairs, then joined.

import { BIGINT, LIST, listValue } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import type { EventSource } from '../../storage/index.ts';
import { actorRange, actorRows, actorSql } from '../actors.ts';
import { bucketJoinOf } from '../bucketed.ts';
import {
  ANY_EVENT,
  COHORT_ACTORS,
  type CohortActor,
  type CohortEvent,
  type CohortKind,
} from '../cohort-params.ts';
import { type CohortPeriod, cohortRange } from '../cohort-periods.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { numberOf, type Row, rangeOf, readSnapshotRows } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
import { stepCondition } from '../step-match.ts';
import { formatInZone } from '../time-zone.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';

export interface CohortOptions {
  startEvent: CohortEvent;
  returnEvent: CohortEvent;
  kind: CohortKind;
  by: CohortActor;
  period: CohortPeriod;
  tz: string;
  /** How many periods each cohort is followed, period 0 included. */
  periods: number;
  /** The range as given (cohortRange widens and cuts it); now bounds what is reported. */
  fromMs?: number | undefined;
  toMs?: number | undefined;
  nowMs: number;
  /** Start and return events are filtered so; their own fromMs/toMs are not read. */
  filters: EventFilters;
}

export interface Cohort {
  /** The start of its period, ISO 8601 with the offset of tz. */
  start: string;
  /** Actors in the cohort. */
  size: number;
  /** [size, then per later period k the actors of the cohort with a return event in it]. */
  returned: number[];
}

export interface Cohorts {
  cohorts: Cohort[];
  /** The range read: from the start of the first period, to `to` or the last period's end. */
  fromMs: number;
  toMs: number;
}

export async function getCohorts(
  source: EventSource,
  tenant: string,
  options: CohortOptions,
  signal?: AbortSignal,
): Promise<Cohorts> {
  const { starts, fromMs, toMs } = cohortRange(options);
  if (starts.length === 0) return { cohorts: [], fromMs, toMs };
  // A first start event may be any time before the range: `first` reads from the beginning.
  const readFromMs = options.kind === 'first' ? undefined : fromMs;
  const range = actorRange(options.by, rangeOf(readFromMs, toMs));
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) =>
    cohortsQuery(snapshot.from, options, { starts, fromMs, toMs }, params),
  );
  return { cohorts: cohortsOf(rows, starts, options), fromMs, toMs };
}

interface Periods {
  starts: number[];
  fromMs: number;
  toMs: number;
}

function eventCondition(event: CohortEvent, params: SqlParams, views: () => string): string {
  return event === ANY_EVENT ? 'true' : stepCondition(event, params, views);
}

/** Rows `cohort` (its period's index), `k` (periods after it; 0: the cohort) and `actors`. */
function cohortsQuery(
  from: string,
  options: CohortOptions,
  periods: Periods,
  params: SqlParams,
): string {
  const actor = actorSql(COHORT_ACTORS, options.by);
  const actorFrom = actorRows(options.by, from);
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const isStart = eventCondition(options.startEvent, params, views);
  const isReturn = eventCondition(options.returnEvent, params, views);
  const filters = { ...options.filters, fromMs: undefined, toMs: undefined };
  const where = filterConditions(filters, params);
  const fromInstant = params.addInstant(periods.fromMs);
  where.push(
    `(${actor}) IS NOT NULL`,
    `((${isStart}) OR (${isReturn}))`,
    `e."timestamp" < ${params.addInstant(periods.toMs)}`,
    // Before the range, only start events, and only to find each actor's first.
    options.kind === 'first'
      ? `(e."timestamp" >= ${fromInstant} OR (${isStart}))`
      : `e."timestamp" >= ${fromInstant}`,
  );
  const join = bucketJoinOf(periods.starts, periods.toMs, params);
  const list = params.add(listValue(periods.starts.map(BigInt)), LIST(BIGINT));
  const fromMs = params.add(BigInt(periods.fromMs));
  // Rows of `rows` in the range, with the index `idx.i` of the period of their time `ts`.
  const inPeriods = (rows: string, ts: string) =>
    `FROM ${rows} ${join.join(ts)} JOIN idx ON idx.bucket_ms = b.bucket_ms
      WHERE ${ts} >= ${fromMs}`;
  const span = params.add(BigInt(options.periods));
  const firsts = '(SELECT a, min(ts) AS ts FROM ev WHERE s GROUP BY a) f';
  const starts =
    options.kind === 'first'
      ? `SELECT f.a, idx.i ${inPeriods(firsts, 'f.ts')}`
      : `SELECT DISTINCT ev.a, idx.i ${inPeriods('ev', 'ev.ts')} AND ev.s`;
  return `WITH ${[...actorFrom.ctes, join.ctes].join(', ')},
    idx AS (SELECT unnest(${list}) AS bucket_ms, unnest(range(len(${list}))) AS i),
    ev AS (
      SELECT ${actor} AS a, epoch_ms(e."timestamp") AS ts,
        (${isStart}) AS s, (${isReturn}) AS r
      FROM ${actorFrom.rows} ${whereOf(where)}
    ),
    starts AS (${starts}),
    returns AS (
      SELECT DISTINCT ev.a, idx.i, idx.i // ${span} AS blk ${inPeriods('ev', 'ev.ts')} AND ev.r)
    ${laterCounts(options.periods < periods.starts.length, span)}
    UNION ALL
    SELECT i AS cohort, 0 AS k, count(*) AS actors FROM starts GROUP BY ALL`;
}

/**
 * Rows `cohort, k, actors` for k ≥ 1: each start joined with the actor's returns 1 to
 * `periods - 1` periods later. A return that far lies in the start's block of `periods` periods
 * (`blk`) or the next, and `blocked` joins there only: on the actor alone, an actor active
 * every day of a year would pair each of its 366 starts with each of its 366 returns, whatever
 * `periods`. (When `periods` covers the range, every later return counts: no blocks.)
 */
function laterCounts(blocked: boolean, span: string): string {
  const select = 'SELECT c.i AS cohort, back.i - c.i AS k, count(*) AS actors';
  const within = `back.i > c.i AND back.i < c.i + ${span}`;
  if (!blocked) {
    return `${select} FROM starts c JOIN returns back ON back.a = c.a AND ${within} GROUP BY ALL`;
  }
  return `${select}
    FROM (SELECT s.a, s.i, s.i // ${span} + n.d AS blk FROM starts s, (VALUES (0), (1)) n(d)) c
    JOIN returns back ON back.a = c.a AND back.blk = c.blk AND ${within}
    GROUP BY ALL`;
}

/** Every period's cohort, each followed for `periods` periods or up to the last one reported. */
function cohortsOf(rows: Row[], starts: number[], options: CohortOptions): Cohort[] {
  const counts = new Map<string, number>();
  for (const row of rows) {
    const key = `${numberOf(row.cohort)}:${numberOf(row.k)}`;
    assert(!counts.has(key), 'one count per cohort and period');
    counts.set(key, numberOf(row.actors));
  }
  return starts.map((start, i) => {
    const length = Math.min(options.periods, starts.length - i);
    const returned = Array.from({ length }, (_, k) => counts.get(`${i}:${k}`) ?? 0);
    return { start: formatInZone(start, options.tz), size: returned[0] ?? 0, returned };
  });
}
