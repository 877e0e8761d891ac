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
// its latest entry that reaches that far (PostHog restarts at the latest step-1 event too, but
// reports the first entry to reach that far: README, Funnels).

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../../storage/index.ts';
import { actorRange, actorRows, actorSql } from '../actors.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { breakdownSelect, breakdownValueSql, type FunnelBreakdown } from '../funnel-breakdown.ts';
import { FUNNEL_ACTORS, type FunnelActor } from '../funnel-params.ts';
import { nullableNumberOf, numberOf, type Row, rangeOf, readSnapshotRows } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
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
  /** The funnel again per value of this (funnel-breakdown.ts); none when undefined. */
  breakdown?: FunnelBreakdown | undefined;
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

export interface FunnelCounts {
  steps: FunnelStepResult[];
  /** Actors with a step-1 event in the range. */
  entered: number;
  /** Actors that reached the last step. */
  completed: number;
}

/** The funnel of the actors of one breakdown value, or of the values folded (`other`). */
export interface FunnelBreakdownResult extends FunnelCounts {
  /** The value; null for no value (PostHog's "None") and for the folded entry. */
  value: string | null;
  /** True for the one entry of the values past funnelBreakdownValuesMax. */
  other: boolean;
  /** On the folded entry only: how many values it holds. */
  folded_values?: number;
}

export interface Funnel extends FunnelCounts {
  /** With a breakdown only: listed values by actors entered, then value; the folded last. */
  breakdowns?: FunnelBreakdownResult[];
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
  const rows = await readSnapshotRows(source, tenant, range, signal, (snapshot, params) =>
    funnelQuery(snapshot.from, options, scanToMs, params),
  );
  if (options.breakdown === undefined) return funnelOf(options.steps, rows[0] ?? {});
  return brokenDownOf(options.steps, rows);
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
  const { steps, filters, breakdown } = options;
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
  const ks = steps.map((_, i) => i + 1);
  const value = breakdown === undefined ? '' : `${breakdownValueSql(breakdown, params)} AS bv, `;
  // o: the order of an actor's events. name and path only order rows of one event_id stored
  // twice (resent past the dedup window): rows left equal then match the same steps.
  return `WITH ${ctes.map((cte) => `${cte},`).join(' ')} ev AS (
      SELECT ${actor} AS a, epoch_ms(e."timestamp") AS ts,
        row_number() OVER (
          PARTITION BY ${actor} ORDER BY e."timestamp", e.event_id, e.name, e.path
        ) AS o,
        ${value}${matches.map((m, i) => `(${m}) AS m${i + 1}`).join(', ')}
      FROM ${rows} ${whereOf(where)}
    ), p1 AS (
      SELECT a, ${value === '' ? '' : 'bv, '}ts AS t1, o AS o1 FROM ev WHERE m1 AND ${entryTo}
    ),
    ${chainOf(ks.slice(1), params.add(BigInt(options.windowMs))).join(', ')},
    reach AS (SELECT *, ${reachedOf(ks)} AS reached FROM p${steps.length}),
    best AS (
      SELECT *, row_number() OVER (PARTITION BY a ORDER BY reached DESC, o1 DESC) AS pick
      FROM reach
    )${selectOf(ks, breakdown, params)}`;
}

/**
 * p<k>: each entry with its step-k event (t<k>, o<k>) within `window` of its step 1; once a step
 * is not reached, t<k> is null and o<k> UNREACHED, so that no later step is found after it.
 */
function chainOf(later: number[], window: string): string[] {
  return later.map((k) => {
    const inWindow = `n.ts <= p.t1 + ${window}`;
    return `p${k} AS (
      SELECT p.*, CASE WHEN ${inWindow} THEN n.ts END AS t${k},
        CASE WHEN ${inWindow} THEN n.o ELSE ${UNREACHED} END AS o${k}
      FROM p${k - 1} AS p ASOF LEFT JOIN (SELECT a, ts, o FROM ev WHERE m${k}) AS n
        ON p.a = n.a AND n.o > p.o${k - 1}
    )`;
  });
}

/** The furthest step an entry reached, of the steps `ks`. */
function reachedOf(ks: number[]): string {
  const whens = [...ks].reverse().map((k) => `WHEN t${k} IS NOT NULL THEN ${k}`);
  return `CASE ${whens.join(' ')} END`;
}

/**
 * The SELECT over `best` (each actor's entries, its counting one `pick = 1`): one row of the
 * funnel's outputs, or with a breakdown that row and one per value (funnel-breakdown.ts).
 */
function selectOf(ks: number[], breakdown: FunnelBreakdown | undefined, params: SqlParams) {
  const gap = (k: number) => `(t${k} - t${k - 1})::DOUBLE / 1000`;
  const outputs = [
    ...ks.map((k) => `count(*) FILTER (WHERE reached >= ${k}) AS c${k}`),
    ...ks
      .slice(1)
      .map((k) => `quantile_cont(${gap(k)}, 0.5) AS median${k}, avg(${gap(k)}) AS avg${k}`),
  ];
  if (breakdown === undefined) return ` SELECT ${outputs.join(', ')} FROM best WHERE pick = 1`;
  return `, picked AS (SELECT * FROM best WHERE pick = 1),
    ${breakdownSelect('picked', outputs, params)}`;
}

/** The overall row (the first), then each value's (funnel-breakdown.ts's breakdownSelect). */
function brokenDownOf(steps: FunnelStep[], rows: Row[]): Funnel {
  const [overall, ...values] = rows;
  const breakdowns = values.map((row): FunnelBreakdownResult => {
    const other = row.other === true;
    const value = typeof row.value === 'string' && !other ? row.value : null;
    const folded = other ? { folded_values: numberOf(row.folded) } : {};
    return { value, other, ...folded, ...funnelOf(steps, row) };
  });
  return { ...funnelOf(steps, overall ?? {}), breakdowns };
}

function funnelOf(steps: FunnelStep[], row: Row): FunnelCounts {
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
