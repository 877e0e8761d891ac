// GET /api/v1/funnel: of the actors (visitors, devices, persons, users or sessions: actors.ts)
// with a step-1 event in the range, how many then did step 2, then step 3 …, in order, each
// within the conversion window of that step-1 event (PostHog's default "sequential" funnel). One
// statement over the snapshot (for persons, with the links of actors.ts: all of its history).
//
// Events are ordered per actor by (timestamp, event_id): a later step is a later event in that
// order, so events of one millisecond convert in event_id order, never one event for two steps.
// Every step-1 event in the range is an entry. From an entry, each next step is the first
// event after the previous step's that matches it (ASOF JOIN on the order): taking the earliest
// leaves every later event available, so this reaches as far as any choice could. An actor
// counts at the furthest step any of its entries reaches; its times between steps are those of
// its latest entry that reaches that far (as PostHog restarts at the latest step-1 event).

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../../storage/index.ts';
import { actorRange, actorRows, actorSql } from '../actors.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { FUNNEL_ACTORS, type FunnelActor } from '../funnel-params.ts';
import { nullableNumberOf, numberOf, type Row, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import { stepCondition } from '../step-match.ts';
import type { FunnelStep } from '../step-syntax.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';

export interface FunnelOptions {
  steps: FunnelStep[];
  /** How long after its step-1 event an actor may take the later steps (inclusive). */
  windowMs: number;
  by: FunnelActor;
  /** Every step's events are filtered so; fromMs/toMs bound the step-1 events only. */
  filters: EventFilters;
}

export interface FunnelStepResult {
  /** 1 for the first step. */
  step: number;
  match: FunnelStep;
  /** Actors that reached this step (and every one before it). */
  count: number;
  /** count over the previous step's count; 1 for the first step; 0 when there is no one. */
  conversion_from_previous: number;
  /** count over the first step's count; 0 when no one entered. */
  conversion_from_start: number;
  /** Actors that reached the previous step but not this one; 0 for the first step. */
  dropped: number;
  /** Of those that reached this step, seconds from the previous one; null at the first step. */
  median_seconds_from_previous: number | null;
  avg_seconds_from_previous: number | null;
}

export interface Funnel {
  steps: FunnelStepResult[];
  /** Actors with a step-1 event in the range. */
  entered: number;
  /** Actors that reached the last step. */
  completed: number;
}

export async function getFunnel(
  source: EventSource,
  tenant: string,
  options: FunnelOptions,
  signal?: AbortSignal,
): Promise<Funnel> {
  const { fromMs, toMs } = options.filters;
  // Later steps may come up to the window after the last step-1 event of the range.
  const scanToMs = toMs === undefined ? undefined : toMs + options.windowMs;
  const range = actorRange(options.by, rangeOf(fromMs, scanToMs));
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const params = new SqlParams();
    const sql = funnelQuery(snapshot.from, options, scanToMs, params);
    const [row] = await readRows(snapshot, sql, params);
    return funnelOf(options.steps, row ?? {});
  });
}

/**
 * The order of a step not reached: above every event's (a row_number), so the ASOF join finds
 * nothing after it. Not NULL: on inputs past some size (here a few thousand entries), DuckDB's
 * ASOF join (1.5.6) matches a NULL inequality key with the first row of the actor's partition,
 * so an entry that missed a step would "reach" the next through an event even before itself.
 */
const UNREACHED = '9223372036854775807::BIGINT';

/** One row: per step k its count `c<k>` and, past the first, `median<k>` and `avg<k>`. */
function funnelQuery(
  from: string,
  options: FunnelOptions,
  scanToMs: number | undefined,
  params: SqlParams,
): string {
  const { steps, filters } = options;
  const actor = actorSql(FUNNEL_ACTORS, options.by);
  const { ctes, rows } = actorRows(options.by, from);
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const matches = steps.map((step) => stepCondition(step, params, views));
  const where = filterConditions({ ...filters, fromMs: undefined, toMs: undefined }, params);
  where.push(`(${actor}) IS NOT NULL`, `(${matches.join(' OR ')})`);
  if (filters.fromMs !== undefined) {
    where.push(`e."timestamp" >= ${params.addInstant(filters.fromMs)}`);
  }
  if (scanToMs !== undefined) where.push(`e."timestamp" < ${params.addInstant(scanToMs)}`);
  const entryTo = filters.toMs === undefined ? 'true' : `ts < ${params.add(BigInt(filters.toMs))}`;
  const window = params.add(BigInt(options.windowMs));
  const ks = steps.map((_, i) => i + 1);
  const later = ks.slice(1);
  // p<k>: each entry with its step-k event (t<k>, o<k>); once a step is not reached, t<k> is
  // null and o<k> UNREACHED, so that no later step is found after it.
  const chain = later.map((k) => {
    const inWindow = `n.ts <= p.t1 + ${window}`;
    return `p${k} AS (
      SELECT p.*, CASE WHEN ${inWindow} THEN n.ts END AS t${k},
        CASE WHEN ${inWindow} THEN n.o ELSE ${UNREACHED} END AS o${k}
      FROM p${k - 1} AS p ASOF LEFT JOIN (SELECT a, ts, o FROM ev WHERE m${k}) AS n
        ON p.a = n.a AND n.o > p.o${k - 1}
    )`;
  });
  const reached = `CASE ${[...ks]
    .reverse()
    .map((k) => `WHEN t${k} IS NOT NULL THEN ${k}`)
    .join(' ')} END`;
  const gap = (k: number) => `(t${k} - t${k - 1})::DOUBLE / 1000`;
  const outputs = [
    ...ks.map((k) => `count(*) FILTER (WHERE reached >= ${k}) AS c${k}`),
    ...later.map((k) => `quantile_cont(${gap(k)}, 0.5) AS median${k}, avg(${gap(k)}) AS avg${k}`),
  ];
  // o: the order of an actor's events. name and path only order rows of one event_id stored
  // twice (resent past the dedup window): rows left equal then match the same steps.
  return `WITH ${ctes.map((cte) => `${cte},`).join(' ')} ev AS (
      SELECT ${actor} AS a, epoch_ms(e."timestamp") AS ts,
        row_number() OVER (
          PARTITION BY ${actor} ORDER BY e."timestamp", e.event_id, e.name, e.path
        ) AS o,
        ${matches.map((m, i) => `(${m}) AS m${i + 1}`).join(', ')}
      FROM ${rows} ${whereOf(where)}
    ), p1 AS (SELECT a, ts AS t1, o AS o1 FROM ev WHERE m1 AND ${entryTo}),
    ${chain.join(', ')},
    reach AS (SELECT *, ${reached} AS reached FROM p${steps.length}),
    best AS (
      SELECT *, row_number() OVER (PARTITION BY a ORDER BY reached DESC, o1 DESC) AS pick
      FROM reach
    )
    SELECT ${outputs.join(', ')} FROM best WHERE pick = 1`;
}

function funnelOf(steps: FunnelStep[], row: Row): Funnel {
  const counts = steps.map((_, i) => numberOf(row[`c${i + 1}`]));
  const entered = counts[0] ?? 0;
  const ratio = (count: number, of: number) => (of === 0 ? 0 : count / of);
  return {
    steps: steps.map((match, i) => {
      const count = counts[i] ?? 0;
      const previous = i === 0 ? entered : (counts[i - 1] ?? 0);
      return {
        step: i + 1,
        match,
        count,
        conversion_from_previous: ratio(count, previous),
        conversion_from_start: ratio(count, entered),
        dropped: previous - count,
        median_seconds_from_previous: nullableNumberOf(row[`median${i + 1}`]),
        avg_seconds_from_previous: nullableNumberOf(row[`avg${i + 1}`]),
      };
    }),
    entered,
    completed: counts[counts.length - 1] ?? 0,
  };
}
