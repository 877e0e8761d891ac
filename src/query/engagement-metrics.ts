// Plausible's metrics of its tracker's engagement beacons (stored as core/engagement.ts says),
// in total or by page, as its Stats API computes them: `scroll_depth`, each visit's greatest
// scroll depth of the page (beacons of at most 100%), averaged over the visits
// (SQL.SpecialMetrics.maybe_add_scroll_depth); and the engagement time on page, the engaged
// milliseconds of the page's beacons summed ÷ the visits that sent one, in seconds (what
// Plausible's CSV export writes as total_time_on_page and total_time_on_page_visits). Both
// whole numbers, rounded as ClickHouse rounds a Float64 (clickhouse-round.ts). A beacon is of
// the visit (visit-rows.ts) of its visitor that began before it while that visit is live: its
// last counted event, or a live beacon of it, at most VISIT_GAP_MINUTES before, as Plausible
// keeps a beacon only for a live session (else `no_session_for_engagement`) and a kept beacon
// refreshes the session (the tracker sends one at every blur, each with the time since the
// last, so a long read is several); so the visit filters pick beacons through their visits, and
// the event filters (the page, props) are read on the beacon itself. Whether the range holds
// any beacon (`eg_on`) decides which time on page the read answers (web-metrics-select.ts):
// this one, else the legacy one of time-on-page.ts.

import {
  ENGAGEMENT_EVENT_NAME,
  ENGAGEMENT_TIME_KEY,
  SCROLL_DEPTH_KEY,
  SCROLL_DEPTH_PERCENT_MAX,
} from '../core/index.ts';
import { roundHalfEvenSql } from './clickhouse-round.ts';
import { filterConditions, whereOf } from './filters.ts';
import { sameVisitSql } from './queries/visit-match.ts';
import { VISIT_GAP_MS } from './queries/visit-rows.ts';
import type { SqlParams } from './sql-params.ts';
import { TIME_ON_PAGE, type TimedBy, timedBy } from './time-on-page.ts';
import type { WebProperty } from './web-properties.ts';

export const SCROLL_DEPTH = 'scroll_depth';

export interface EngagementSpec {
  /** The snapshot's relation of every stored row (EventSnapshot.allFrom). */
  allFrom: string;
  /** Inclusive and exclusive, UTC epoch ms. */
  fromMs: number;
  toMs: number;
  params: SqlParams;
  /** Whether a beacon matches the event filters, over `e`. */
  eventMatch: string;
  by: TimedBy;
  /** Whether the visits are filtered: a beacon then counts only for a visit `kept` keeps. */
  visitsFiltered: boolean;
}

/**
 * What a statement with `metrics` by `keys` reads of the beacons: null unless it asks for the
 * scroll depth or the time on page in total or by page alone (Plausible's legacy time on page
 * answers nothing else, and its scroll depth needs a page filter or dimension: the callers
 * refuse other keys).
 */
export function engagementSpecOf(
  metrics: readonly string[],
  keys: readonly ({ property: WebProperty } | object)[],
  read: {
    fromMs: number;
    toMs: number;
    allFrom: string;
    params: SqlParams;
    eventMatch: string;
    visitMatch: string;
  },
): EngagementSpec | null {
  if (!metrics.includes(SCROLL_DEPTH) && !metrics.includes(TIME_ON_PAGE)) return null;
  const by = timedBy(keys);
  if (by === null) return null;
  const { fromMs, toMs, allFrom, params, eventMatch } = read;
  return {
    allFrom,
    fromMs,
    toMs,
    params,
    eventMatch,
    by,
    visitsFiltered: read.visitMatch !== 'true',
  };
}

/**
 * `bk AS (…), bg AS (…), bv AS (…), egs AS (…), eg AS (…), eg_on AS (…)`, to follow
 * keptVisitsCtes: `bg` has each beacon's gap to what came before it in its visit (the visit's
 * last counted event, else the beacon before), `bv` the beacons of live visits; `eg` has per
 * row key `d0` (NULL in total, else the page) `scroll_depth` and `engaged_time`;
 * `eg_on` one row, `engaged`: the range holds a beacon (of any page, bots apart).
 */
export function engagementCtes(spec: EngagementSpec): string {
  const { params } = spec;
  const scope = filterConditions({ fromMs: spec.fromMs, toMs: spec.toMs }, params);
  const name = params.add(ENGAGEMENT_EVENT_NAME);
  const depth = `TRY_CAST(json_extract_string(e.properties, ${params.add(`/${SCROLL_DEPTH_KEY}`)})
    AS INTEGER)`;
  const time = `TRY_CAST(json_extract_string(e.properties,
    ${params.add(`/${ENGAGEMENT_TIME_KEY}`)}) AS BIGINT)`;
  const gapMs = params.add(VISIT_GAP_MS);
  const kept = spec.visitsFiltered ? `JOIN kept AS k ON ${sameVisitSql('v', 'k')}` : '';
  const key = spec.by === 'total' ? 'NULL' : 'path';
  return `bk AS (
      SELECT e.visitor_id, epoch_ms(e."timestamp") AS ts, nullif(e."path", '') AS path,
        ${depth} AS sd, coalesce(${time}, 0) AS et, (${spec.eventMatch}) AS bmatch
      FROM ${spec.allFrom} AS e ${whereOf([...scope, `e.name = ${name}`])}
    ), bg AS (
      SELECT b.ts, b.path, b.sd, b.et, b.bmatch, v.by_gaps, v.key, v.n,
        b.ts - greatest(v.start_ts + v.seconds * 1000, coalesce(lag(b.ts) OVER w, 0)) AS gap
      FROM bk AS b ASOF JOIN (SELECT by_gaps, key, n, start_ts, seconds FROM visits
          WHERE by_gaps) AS v
        ON b.visitor_id = v.key AND b.ts >= v.start_ts
      WINDOW w AS (PARTITION BY v.key, v.n ORDER BY b.ts)
    ), bv AS (
      SELECT v.path, v.sd, v.et, v.key, v.n
      FROM (SELECT *, max(gap) OVER (PARTITION BY key, n ORDER BY ts
          ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS widest FROM bg) AS v
      ${kept}
      WHERE v.bmatch AND v.widest <= ${gapMs}
    ), egs AS (
      SELECT ${key} AS d0, key, n,
        max(sd) FILTER (WHERE sd BETWEEN 0 AND ${SCROLL_DEPTH_PERCENT_MAX}) AS sd, sum(et) AS et
      FROM bv GROUP BY ALL
    ), eg AS (
      SELECT d0, ${roundHalfEvenSql('avg(sd)')} AS ${SCROLL_DEPTH},
        ${roundHalfEvenSql('sum(et) / 1000 / count(*)')} AS engaged_time
      FROM egs GROUP BY d0
    ), eg_on AS (SELECT count(*) > 0 AS engaged FROM bk)`;
}
