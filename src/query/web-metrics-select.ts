// The end of a web metrics statement (queries/get-web-metrics.ts): the metrics of the counted
// events `er` and visits `vr` per row's keys `d0, d1, …`, the two sides joined on all their
// keys, and for a ranking its order (ties by the keys), its page and its number of rows. The
// time on page is joined from `tp` (time-on-page.ts) where the statement times its rows, and
// is NULL otherwise, as Plausible's legacy one answers only in total and by page. By entry
// page, the entered visits `nr` give their metrics to the rows of their page (Plausible's
// events LEFT JOIN sessions: a page none entered has none), or are the rows when every metric
// is theirs; an exit rate divides a row's visits by its page's views in `xp`. The engagement
// metrics are joined from `eg` (engagement-metrics.ts) where the statement reads the beacons:
// the scroll depth, and the time on page when the range holds beacons (`eg_on`). Every rate
// is Plausible's, rounded as its ClickHouse rounds (clickhouse-round.ts), not as Tally's own
// /api/v1/stats rounds its visit totals (visit-stats.ts).

import { assert } from '../core/index.ts';
import { roundHalfEvenSql } from './clickhouse-round.ts';
import { SCROLL_DEPTH } from './engagement-metrics.ts';
import type { SqlParams } from './sql-params.ts';
import { TIME_ON_PAGE } from './time-on-page.ts';
import { EXIT_RATE } from './web-metrics-model.ts';

export interface MetricsSelect {
  /** Key columns of `er` and `vr` (at least one). */
  keyCount: number;
  metrics: readonly string[];
  /** The metrics of visits (from `vr`); the others count events (from `er`), but TIME_ON_PAGE. */
  visitMetrics: readonly string[];
  /** Whether a CTE `tp` holds TIME_ON_PAGE per row's keys (else it is NULL). */
  timed: boolean;
  /** Whether CTEs `eg` (SCROLL_DEPTH, engaged_time per row's key) and `eg_on` exist. */
  engaged?: boolean;
  /** A boolean column of `vr`: the bounce rate is of its visits only (else of all). */
  bounceOver?: string | null;
  /** Metrics read from the entered visits `nr` (bounced, seconds) instead of `vr`. */
  entryMetrics?: readonly string[];
  /** EXIT_RATE is asked for: `xp` holds each page's `pageviews`, the row's key d0 its page. */
  exitRate?: boolean;
  ranking: {
    limit: number;
    offset: number;
    countRows?: boolean;
    /** By a metric, or by a key's index. */
    order: { by: string | { key: number }; desc: boolean }[];
    /** Keys whose NULL leaves the row out. */
    nullable: number[];
  } | null;
  params: SqlParams;
}

/**
 * Plausible's visit rates over rows of visits (visit-rows.ts), as its ClickHouse computes and
 * rounds them (sql/expression.ex): bounces ÷ visits × 100, whole; the seconds (a bounce's 0)
 * ÷ visits, whole; page views ÷ visits, 2 decimals; a tie to even (clickhouse-round.ts), not
 * away from zero as Tally's /api/v1/stats (visit-stats.ts). The bounce rate may be of the
 * visits where `over` holds alone (NULL without one).
 */
function plausibleVisitRatesSql(over: string | null = null) {
  const bounced = over === null ? 'bounced' : `bounced AND ${over}`;
  const visits = over === null ? 'count(*)' : `nullif(count(*) FILTER (WHERE ${over}), 0)`;
  return {
    bounce_rate: roundHalfEvenSql(`count(*) FILTER (WHERE ${bounced}) / ${visits} * 100`),
    visit_duration: roundHalfEvenSql('sum(CASE WHEN bounced THEN 0 ELSE seconds END) / count(*)'),
    views_per_visit: roundHalfEvenSql('sum(views) / count(*)', 2),
  };
}

/**
 * Whether `metrics` read the counted events (`er`, summed in `es`): every metric but the
 * visits' and the exit rate (the time on page is read with the events: its rows are theirs).
 */
export function readsEvents(metrics: readonly string[], visitMetrics: readonly string[]): boolean {
  return metrics.some((m) => !visitMetrics.includes(m) && m !== EXIT_RATE);
}

/** `, es AS (…), vs AS (…) SELECT …`, to follow the CTEs that define `er` and `vr`. */
export function metricsSelectSql(spec: MetricsSelect): string {
  const { metrics, visitMetrics, ranking } = spec;
  const entered = spec.entryMetrics ?? [];
  const keys = Array.from({ length: spec.keyCount }, (_, i) => `d${i}`);
  const byKeys = keys.join(', ');
  const fromVisits = (m: string) =>
    (visitMetrics.includes(m) && !entered.includes(m)) || m === EXIT_RATE;
  const wantsEvents = readsEvents(metrics, visitMetrics);
  const wantsVisits = metrics.some(fromVisits);
  const sides: string[] = [];
  if (wantsEvents) {
    sides.push(`es AS (
      SELECT ${byKeys}, count(DISTINCT visitor_id) AS visitors,
        sum(views_n)::BIGINT AS pageviews, sum(events_n)::BIGINT AS events
      FROM er GROUP BY ${byKeys})`);
  }
  const rates = plausibleVisitRatesSql();
  if (wantsVisits) {
    const bounceRate = plausibleVisitRatesSql(spec.bounceOver ?? null).bounce_rate;
    sides.push(`vs AS (
      SELECT ${byKeys}, count(*) AS visits, count(DISTINCT visitor) AS visitors,
        ${bounceRate} AS bounce_rate,
        ${rates.visit_duration} AS visit_duration,
        ${rates.views_per_visit} AS views_per_visit,
        count(*) FILTER (WHERE bounced) AS bounces,
        sum(CASE WHEN bounced THEN 0 ELSE floor(coalesce(view_seconds, 0)) END)
          AS visit_seconds
      FROM vr GROUP BY ${byKeys})`);
  }
  if (entered.length > 0) {
    sides.push(`ns AS (
      SELECT ${byKeys}, ${rates.bounce_rate} AS bounce_rate,
        ${rates.visit_duration} AS visit_duration
      FROM nr GROUP BY ${byKeys})`);
  }
  const both = wantsEvents && wantsVisits;
  const same = keys.map((k) => `es.${k} IS NOT DISTINCT FROM vs.${k}`).join(' AND ');
  const primary = wantsEvents ? 'es' : wantsVisits ? 'vs' : 'ns';
  const keyOf = (k: string) => (both ? `coalesce(es.${k}, vs.${k})` : `${primary}.${k}`);
  let source = both ? `es FULL JOIN vs ON ${same}` : primary;
  const joined = (table: string) =>
    keys.map((k) => `${keyOf(k)} IS NOT DISTINCT FROM ${table}.${k}`);
  if (entered.length > 0 && primary !== 'ns') {
    source = `${source} LEFT JOIN ns ON ${joined('ns').join(' AND ')}`;
  }
  if (spec.exitRate === true) source = `${source} LEFT JOIN xp ON ${keyOf('d0')} = xp.page`;
  const timed = spec.timed && metrics.includes(TIME_ON_PAGE);
  if (timed) source = `${source} LEFT JOIN tp ON ${joined('tp').join(' AND ')}`;
  if (spec.engaged === true) source = `${source} LEFT JOIN eg ON ${joined('eg').join(' AND ')}`;
  const keySelect = keys.map((k) => `${keyOf(k)} AS ${k}`);
  const legacy = timed ? `tp.${TIME_ON_PAGE}` : 'CAST(NULL AS DOUBLE)';
  const of = (metric: string) => {
    if (metric === SCROLL_DEPTH) return spec.engaged ? `eg.${metric}` : 'CAST(NULL AS DOUBLE)';
    if (metric === TIME_ON_PAGE && spec.engaged) {
      return `CASE WHEN (SELECT engaged FROM eg_on) THEN eg.engaged_time ELSE ${legacy} END`;
    }
    if (metric === TIME_ON_PAGE) return legacy;
    // As Plausible's ClickHouse: visits ÷ views × 100, 1 decimal, a tie to even.
    if (metric === EXIT_RATE) return roundHalfEvenSql('vs.visits / xp.pageviews * 100', 1);
    if (entered.includes(metric)) return `ns.${metric}`;
    return `${visitMetrics.includes(metric) ? 'vs' : 'es'}.${metric}`;
  };
  const select = [...keySelect, ...metrics.map((m) => `${of(m)} AS ${m}`)].join(', ');
  if (ranking === null) return `, ${sides.join(', ')} SELECT ${select} FROM ${source}`;
  const present = ranking.nullable.map((i) => `d${i} IS NOT NULL`);
  return `, ${sides.join(', ')}, ranked AS (SELECT ${select} FROM ${source})
    SELECT *${ranking.countRows === true ? ', count(*) OVER () AS total_rows' : ''}
    FROM ranked ${present.length === 0 ? '' : `WHERE ${present.join(' AND ')}`}
    ORDER BY ${orderSql(ranking.order, metrics, keys)}
    LIMIT ${spec.params.add(ranking.limit)} OFFSET ${spec.params.add(ranking.offset)}`;
}

/** ORDER BY of a ranking by `order`, then every key (a stable order). */
function orderSql(
  order: { by: string | { key: number }; desc: boolean }[],
  metrics: readonly string[],
  keys: string[],
): string {
  const terms = order.map(({ by, desc }) => {
    const direction = desc ? 'DESC' : 'ASC';
    if (typeof by !== 'string') {
      assert(by.key >= 0 && by.key < keys.length, 'a ranking orders by its own keys');
      return `d${by.key} ${direction}`;
    }
    assert(metrics.includes(by), 'a ranking orders by metrics read');
    return `coalesce(${by}, 0) ${direction}`;
  });
  return [...terms, ...keys].join(', ');
}
