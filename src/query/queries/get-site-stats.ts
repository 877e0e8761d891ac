// Totals of one site (tenant), over a range or all time: events, distinct user ids and the
// most viewed paths, ties by path: seed 004's GET /stats. Bots are included, as that service
// counts every event it was sent.

import type { EventSource } from '../../storage/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { numberOf, rangeOf, readRows, withSnapshot } from '../read.ts';
import { SqlParams } from '../sql-params.ts';

export interface SiteStatsOptions {
  fromMs?: number | undefined;
  toMs?: number | undefined;
  /** Paths listed at most. */
  top: number;
}

export interface SiteStats {
  totalViews: number;
  uniqueUsers: number;
  topPaths: { path: string; views: number }[];
}

export async function getSiteStats(
  source: EventSource,
  tenant: string,
  options: SiteStatsOptions,
  signal?: AbortSignal,
): Promise<SiteStats> {
  const filters: EventFilters = { includeBots: true, fromMs: options.fromMs, toMs: options.toMs };
  const range = rangeOf(options.fromMs, options.toMs);
  return withSnapshot(source, tenant, range, signal, async (snapshot) => {
    const totalsParams = new SqlParams();
    const [totals] = await readRows(
      snapshot,
      `SELECT count(*) AS total_views, count(DISTINCT e.user_id) AS unique_users
        FROM ${snapshot.from} AS e ${whereOf(filterConditions(filters, totalsParams))}`,
      totalsParams,
    );
    const params = new SqlParams();
    const conditions = [...filterConditions(filters, params), 'e.path IS NOT NULL'];
    const rows = await readRows(
      snapshot,
      `SELECT e.path AS path, count(*) AS views FROM ${snapshot.from} AS e ${whereOf(conditions)}
        GROUP BY e.path ORDER BY views DESC, path LIMIT ${params.add(options.top)}`,
      params,
    );
    return {
      totalViews: numberOf(totals?.total_views),
      uniqueUsers: numberOf(totals?.unique_users),
      topPaths: rows.map((row) => ({ path: String(row.path), views: numberOf(row.views) })),
    };
  });
}
