// A funnel's breakdown (GET /api/v1/funnel?breakdown=browser): the funnel again per value of one
// event column (os, browser, device, country, source) or event property (`property:<key>`), as
// PostHog breaks a funnel down. Its value for an actor is that of the step-1 event of the entry
// the actor counts by (get-funnel.ts: the furthest, then latest), so every actor is in exactly
// one value and the values' counts add up to the funnel's. An empty text is no value (null,
// PostHog's "None"). The funnelBreakdownValuesMax values with the most actors that entered (ties
// by value, byte order, null last) are listed; the others are folded into one entry.

import { AppError, eventLimits } from '../core/index.ts';
import { FILTER_COLUMNS, propertyGroupKey, propertyText } from './filters.ts';
import { queryLimits } from './limits.ts';
import type { SqlParams } from './sql-params.ts';
import { quote } from './step-syntax.ts';

/** The event columns a funnel breaks down by, as the other reads name them. */
export const FUNNEL_BREAKDOWN_COLUMNS = ['os', 'browser', 'device', 'country', 'source'] as const;

type FunnelBreakdownColumn = (typeof FUNNEL_BREAKDOWN_COLUMNS)[number];

export type FunnelBreakdown = { column: FunnelBreakdownColumn } | { property: string };

/** `os`, `browser`, `device`, `country`, `source` or `property:<key>`; else a 422. */
export function parseFunnelBreakdown(value: string | undefined): FunnelBreakdown | undefined {
  if (value === undefined) return undefined;
  const column = FUNNEL_BREAKDOWN_COLUMNS.find((name) => name === value);
  if (column !== undefined) return { column };
  const key = propertyGroupKey(value);
  if (key !== undefined) return { property: key };
  throw AppError.validation([
    {
      loc: ['query', 'breakdown'],
      msg:
        `breakdown must be one of ${FUNNEL_BREAKDOWN_COLUMNS.join(', ')} or property:<key> ` +
        `(a key of 1 to ${eventLimits.nameCharsMax} characters; got ${quote(value)})`,
      type: 'value_error',
    },
  ]);
}

/** The breakdown's value of the event `e`, as SQL: its text, null when absent or empty. */
export function breakdownValueSql(breakdown: FunnelBreakdown, params: SqlParams): string {
  const text =
    'column' in breakdown
      ? `e."${FILTER_COLUMNS[breakdown.column]}"`
      : propertyText(breakdown.property, params);
  return `nullif(${text}, '')`;
}

/**
 * The final SELECT of a funnel broken down, over `picked` (each actor's counting entry, with
 * its value `bv` and how far it reached, `reached`): one row for all actors (`overall` true),
 * then one per listed value (`other` false) in order, then the folded values' (`other` true,
 * `folded` of them), each with the funnel's `outputs`.
 */
export function breakdownSelect(picked: string, outputs: string[], params: SqlParams): string {
  const listed = params.add(BigInt(queryLimits.funnelBreakdownValuesMax));
  return `counted AS (
      SELECT *, count(*) OVER (PARTITION BY bv) AS entered_of_value FROM ${picked}
    ), ranked AS (
      SELECT *, dense_rank() OVER (ORDER BY entered_of_value DESC, bv ASC NULLS LAST) AS r
      FROM counted
    ), grouped AS (
      SELECT *, r > ${listed} AS other, CASE WHEN r <= ${listed} THEN bv END AS gv FROM ranked
    )
    SELECT grouping(other) = 1 AS overall, other, gv AS value,
      count(DISTINCT r) AS folded, min(r) AS rank, ${outputs.join(', ')}
    FROM grouped
    GROUP BY GROUPING SETS ((), (other, gv))
    ORDER BY overall DESC, other ASC, rank ASC`;
}
