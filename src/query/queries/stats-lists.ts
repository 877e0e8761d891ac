// The seven top lists of GET /api/v1/stats (paths, referrers, events, os, browsers, devices,
// countries), each value with its events, page views and distinct visitors, in two scans:
//
// 1. rank: events and page views per value of each list (GROUPING SETS, one small hash table
//    per list), ranked, the top N kept. Only the values are counted here, not the visitors.
// 2. visitors: one row per visitor, with for each list a bit mask of the top values that
//    visitor met (bit r = the value ranked r), and one more for the paths it viewed; the
//    masks are then counted per byte, and the bytes per bit. Exact, like counting (value,
//    visitor) pairs, but the hash table holds one entry per visitor instead of one per (list,
//    value, visitor): over the benchmark's 10M events of 30 days (its first data, 250k
//    visitors) the pairs were 8.2M groups and ~3.8 s, ranking and masks ~1.4 s.
//
// The two statements read the same snapshot, so they see the same events.

import { LIST, listValue, VARCHAR } from '@duckdb/node-api';
import { assert } from '../../core/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { queryLimits } from '../limits.ts';
import { numberOf, type Row } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';

/** Each top list: its key in the response, the column it groups, its value's key. */
const BREAKDOWNS = [
  { list: 'top_paths', column: 'path', key: 'path' },
  { list: 'top_referrers', column: 'referrer', key: 'referrer' },
  { list: 'top_events', column: 'name', key: 'name' },
  { list: 'os', column: 'os', key: 'os' },
  { list: 'browsers', column: 'browser', key: 'browser' },
  { list: 'devices', column: 'device', key: 'device' },
  { list: 'countries', column: 'country', key: 'country' },
] as const;

export type ListName = (typeof BREAKDOWNS)[number]['list'];

export type TopLists = Record<ListName, Record<string, string | number>[]>;

/** A mask has one bit per rank: 128 at most (a UHUGEINT). */
const MASK_BITS = 128;
assert(queryLimits.topMax <= MASK_BITS, 'a top list fits one visitor mask');

/** The mask of the paths a visitor viewed (page views only), beside the seven lists'. */
const VIEWED_PATHS = 'viewed_paths';

/** A top value of one list, before its visitors are counted. */
export interface RankedValue {
  list: ListName;
  value: string;
  events: number;
  views: number;
  /** 0 for the first of its list. */
  rank: number;
}

/**
 * (list, value, events, views, rank) of the top `top` values of each list. Paths rank by page
 * views (a path never viewed is left out), the other lists by events; ties by value, so the
 * order is stable. Empty values are no value.
 */
export function rankQuery(
  from: string,
  filters: EventFilters,
  pageViewNames: string[],
  top: number,
  params: SqlParams,
): string {
  const where = whereOf(filterConditions(filters, params));
  const viewNames = params.add(listValue(pageViewNames));
  const columns = BREAKDOWNS.map((b) => b.column);
  const which = BREAKDOWNS.map((b) => `WHEN grouping(${b.column}) = 0 THEN '${b.list}'`);
  return `WITH g AS (
      SELECT CASE ${which.join(' ')} END AS list, coalesce(${columns.join(', ')}) AS value,
        count(*) AS events, count(*) FILTER (WHERE list_contains(${viewNames}, e.name)) AS views
      FROM ${from} AS e ${where}
      GROUP BY GROUPING SETS (${columns.map((c) => `(e."${c}")`).join(', ')})
    )
    SELECT list, value, events, views, row_number() OVER (
        PARTITION BY list
        ORDER BY CASE WHEN list = 'top_paths' THEN views ELSE events END DESC, value
      ) - 1 AS rank
    FROM g
    WHERE value IS NOT NULL AND value <> '' AND (list <> 'top_paths' OR views > 0)
    QUALIFY rank < ${params.add(top)}
    ORDER BY list, rank`;
}

export function rankedValuesOf(rows: Row[]): RankedValue[] {
  return rows.map((row) => {
    const breakdown = BREAKDOWNS.find((b) => b.list === row.list);
    assert(breakdown !== undefined, `unknown top list ${String(row.list)}`);
    return {
      list: breakdown.list,
      value: String(row.value),
      events: numberOf(row.events),
      views: numberOf(row.views),
      rank: numberOf(row.rank),
    };
  });
}

/**
 * (list, rank, visitors) for every ranked value: the distinct visitors of the events holding
 * it, and under VIEWED_PATHS the distinct visitors of the page views of each top path.
 */
export function visitorsQuery(
  from: string,
  filters: EventFilters,
  pageViewNames: string[],
  ranked: RankedValue[],
  params: SqlParams,
): string {
  const viewNames = params.add(listValue(pageViewNames));
  // Only the bits a list can have set are looked at. The masks are counted per byte first (a
  // distinct mask is a row per 8 ranks, then at most 256 values per byte and list are split
  // into bits): with top=100 and 250k visitors of distinct masks, a row per rank was ~100M.
  const ranks = Math.max(0, ...ranked.map((r) => r.rank + 1));
  // 64-bit masks when they do (about a third cheaper than 128-bit ones over 10M events).
  const mask = ranks <= 64 ? 'UBIGINT' : 'UHUGEINT';
  // Each event's rank + 1 in each list (list_position: 1-based, 0 or NULL when not ranked),
  // once per event; the masks then only shift.
  const positions = BREAKDOWNS.map((b, i) => {
    const values = ranked.filter((r) => r.list === b.list).map((r) => r.value);
    const bound = params.add(listValue(values), LIST(VARCHAR));
    return `list_position(${bound}, e."${b.column}") AS p${i}`;
  });
  const bitOf = (position: string, only = 'true') =>
    `bit_or(CASE WHEN ${only} AND ${position} > 0
      THEN 1::${mask} << (${position} - 1)::${mask} ELSE 0::${mask} END)`;
  const masks = BREAKDOWNS.map((b, i) => ({ name: b.list as string, sql: bitOf(`p${i}`) }));
  const paths = BREAKDOWNS.findIndex((b) => b.list === 'top_paths');
  masks.push({ name: VIEWED_PATHS, sql: bitOf(`p${paths}`, 'is_view') });
  const which = masks.map((m) => `WHEN grouping("${m.name}") = 0 THEN '${m.name}'`);
  return `WITH positioned AS (
      SELECT e.visitor_id, list_contains(${viewNames}, e.name) AS is_view, ${positions.join(', ')}
      FROM ${from} AS e
      ${whereOf([...filterConditions(filters, params), 'e.visitor_id IS NOT NULL'])}
    ), per_visitor AS (
      SELECT ${masks.map((m) => `${m.sql} AS "${m.name}"`).join(',\n        ')}
      FROM positioned GROUP BY visitor_id
    ), per_mask AS (
      SELECT CASE ${which.join(' ')} END AS list,
        coalesce(${masks.map((m) => `"${m.name}"`).join(', ')}) AS mask, count(*) AS visitors
      FROM per_visitor GROUP BY GROUPING SETS (${masks.map((m) => `("${m.name}")`).join(', ')})
    ), per_byte AS (
      SELECT list, byte, ((mask >> (8 * byte)::${mask}) & 255::${mask})::UTINYINT AS bits,
        sum(visitors) AS visitors
      FROM (
        SELECT list, visitors, mask, unnest(range(${Math.ceil(ranks / 8)})) AS byte
        FROM per_mask WHERE mask <> 0::${mask}
      )
      GROUP BY ALL HAVING bits <> 0
    )
    SELECT list, 8 * byte + bit AS rank, sum(visitors) AS visitors
    FROM (SELECT list, byte, bits, visitors, unnest(range(8)) AS bit FROM per_byte)
    WHERE (bits >> bit::UTINYINT) & 1::UTINYINT = 1::UTINYINT
    GROUP BY ALL`;
}

/** The lists of the response: each ranked value with its visitors from `visitorRows`. */
export function topListsOf(ranked: RankedValue[], visitorRows: Row[]): TopLists {
  const visitors = new Map<string, number>();
  for (const row of visitorRows) {
    visitors.set(`${String(row.list)}/${numberOf(row.rank)}`, numberOf(row.visitors));
  }
  const of = (list: string, rank: number) => visitors.get(`${list}/${rank}`) ?? 0;
  const lists = Object.fromEntries(BREAKDOWNS.map((b) => [b.list, []])) as unknown as TopLists;
  for (const r of ranked) {
    const breakdown = BREAKDOWNS.find((b) => b.list === r.list);
    assert(breakdown !== undefined, `unknown top list ${r.list}`);
    lists[r.list].push(
      r.list === 'top_paths'
        ? { path: r.value, views: r.views, visitors: of(VIEWED_PATHS, r.rank) }
        : { [breakdown.key]: r.value, events: r.events, visitors: of(r.list, r.rank) },
    );
  }
  return lists;
}
