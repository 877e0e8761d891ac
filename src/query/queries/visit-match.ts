// The visits of a visit grouping (visit-rows.ts's `grouped`) with what their properties are
// read over (web-properties.ts's visitPropertySql: the first event's url, referrer, browser,
// OS, device and country, the source parts of referrer-source.ts and, when asked for, the
// channel parts of channel-sql.ts), and `kept`, those that match a condition on them. The one
// path from events to filtered visits, for Plausible's Stats API (get-web-metrics.ts) and the
// visit filters and groups of Tally's own reads (visit-scope.ts).

import { channeledSql } from '../channel-sql.ts';
import { referrerSourceParts } from '../referrer-source.ts';
import { visitColumnsSql } from './visit-rows.ts';

/** The columns that name a visit in `grouped` (visitEventsCtes). */
export const VISIT_KEY = ['by_gaps', 'key', 'n'] as const;

/** The columns a visit takes from its first event besides its url and referrer. */
const VISIT_FIRST_COLUMNS = ['browser', 'os', 'device', 'country'] as const;

/** The `extra` columns of visitEventsCtes that visit properties read (VISIT_FIRST_COLUMNS). */
export const VISIT_FIRST_EXTRA: Record<string, string> = Object.fromEntries(
  VISIT_FIRST_COLUMNS.map((column) => [column, `e.${column}`]),
);

/** `a.by_gaps = b.by_gaps AND …`: rows `a` and `b` are of the same visit. */
export function sameVisitSql(a: string, b: string): string {
  return VISIT_KEY.map((c) => `${a}.${c} = ${b}.${c}`).join(' AND ');
}

export interface KeptVisits {
  /** More aggregates of each visit over `grouped`, as `sql AS name`. */
  aggregates: string[];
  /**
   * Columns of each visit `kept` carries besides its key: names among `aggregates` and
   * visitColumnsSql's (bounced, views, seconds, …).
   */
  carried: string[];
  /** The condition a visit is kept by, over visitPropertySql's columns; 'true' keeps all. */
  match: string;
  /** Visit properties (SQL over the same columns) `kept` has as columns v0, v1, …. */
  keys: string[];
  /** Whether `match` or `keys` read the channel: its columns are made only then. */
  channels: boolean;
}

/**
 * `visits AS MATERIALIZED (…), parts AS (…), sourced AS (…), [channeled AS (…),] kept AS (…)`,
 * to follow visitEventsCtes (with VISIT_FIRST_EXTRA among its extra columns): `visits` has
 * the visits with an event in the range (whole, with visitEventsCtes' reach), `kept` each
 * that meets `spec.match`, with its key, the `carried` columns and the keys v<i>.
 */
export function keptVisitsCtes(spec: KeptVisits): string {
  const key = VISIT_KEY.join(', ');
  const aggregates = spec.aggregates.map((sql) => `${sql}, `).join('');
  const carried = spec.carried.map((column) => `, ${column}`).join('');
  const first = ['url', 'referrer', ...VISIT_FIRST_COLUMNS].map((c) => `first.${c} AS ${c}`);
  const keys = spec.keys.map((sql, i) => `, ${sql} AS v${i}`).join('');
  return `visits AS MATERIALIZED (
      SELECT ${key}, ${aggregates}${visitColumnsSql([...VISIT_FIRST_COLUMNS])}
      FROM grouped GROUP BY ${key} HAVING bool_or(side = 0)
    ), parts AS (
      SELECT ${key}${carried}, entry_page, exit_page, ${first.join(', ')}
      FROM visits
    ), sourced AS (
      SELECT *, ${referrerSourceParts('p')} FROM parts AS p
    ), ${spec.channels ? `channeled AS (${channeledSql('sourced')}),` : ''} kept AS (
      SELECT ${key}${carried}${keys}
      FROM ${spec.channels ? 'channeled' : 'sourced'} WHERE ${spec.match}
    )`;
}
