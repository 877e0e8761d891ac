// The visit filters and visit groups of Tally's own reads (GET /api/v1/stats, /timeseries and
// /events): a visit's source, channel, entry and exit pages and campaign tags, as Plausible's
// Stats API reads them (web-properties.ts), over the visits of visit-rows.ts kept as
// visit-match.ts keeps them. A visit filter keeps the events of the visits that match it, as
// Plausible's `visit:` filters do: the read then runs as before over those events alone. The
// visits are formed only when a read has a visit filter or group: other reads are unchanged.

import { AppError } from '../../core/index.ts';
import type { EventSnapshot, TimeRange } from '../../storage/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import { rangeOf, readRows } from '../read.ts';
import { SqlParams } from '../sql-params.ts';
import {
  filterConditionSql,
  type VisitProperty,
  visitValueSql,
  type WebFilter,
} from '../web-properties.ts';
import { keptVisitsCtes, sameVisitSql, VISIT_FIRST_EXTRA } from './visit-match.ts';
import { visitEventsCtes, visitRangeOf } from './visit-rows.ts';

/** The visit properties of the native reads, by their parameter name. */
const VISIT_PARAMS = {
  referrer_source: 'source',
  channel: 'channel',
  entry_page: 'entry_page',
  exit_page: 'exit_page',
  utm_source: 'utm_source',
  utm_medium: 'utm_medium',
  utm_campaign: 'utm_campaign',
  utm_content: 'utm_content',
  utm_term: 'utm_term',
} as const satisfies Record<string, VisitProperty>;

export type VisitParam = keyof typeof VISIT_PARAMS;
export const VISIT_PARAM_NAMES = Object.keys(VISIT_PARAMS) as VisitParam[];

export function isVisitParam(name: string): name is VisitParam {
  return Object.hasOwn(VISIT_PARAMS, name);
}

/** The visit side of a read: what its visits must have, and the property it groups by. */
export interface VisitScope {
  /** Each property's value the visit must have (all must hold), compared exactly. */
  equals: Partial<Record<VisitParam, string>>;
  /** Each event carries its visit's value of this property as the column `visit_value`. */
  group?: VisitParam | undefined;
}

/** The column of a scoped event holding its visit's value of the scope's group. */
export const VISIT_VALUE_COLUMN = 'visit_value';

/**
 * The visit scope of a read's query string, or undefined when it names no visit filter (and
 * `group` is undefined): then the read forms no visits. An empty value is refused (422).
 */
export function visitScopeOf(
  query: Partial<Record<string, string | number | undefined>>,
  group?: VisitParam,
): VisitScope | undefined {
  const equals: VisitScope['equals'] = {};
  for (const name of VISIT_PARAM_NAMES) {
    const value = query[name];
    if (value === undefined) continue;
    if (String(value) === '') {
      throw AppError.validation([
        { loc: ['query', name], msg: `${name} must not be empty`, type: 'string_too_short' },
      ]);
    }
    equals[name] = String(value);
  }
  if (Object.keys(equals).length === 0 && group === undefined) return undefined;
  return { equals, group };
}

/**
 * The time range a read snapshots: its own, or with a visit scope VISIT_REACH_MS wider on each
 * side (visit-rows.ts), so a visit active in the range is read whole.
 */
export function scopedRangeOf(
  scope: VisitScope | undefined,
  fromMs: number | undefined,
  toMs: number | undefined,
): TimeRange {
  return (scope === undefined ? rangeOf : visitRangeOf)(fromMs, toMs);
}

/**
 * A parenthesized relation to read instead of `from` (the snapshot's, of scopedRangeOf; its
 * `allFrom` holds the beacons that keep visits alive): the events (bots as `filters` say; its
 * other filters are the read's own) whose visit has every value of `scope.equals`, with the
 * columns of `from` and, with a group, `visit_value`. Visits are formed as Plausible's (the
 * events within VISIT_REACH_MS of the range too, visit-rows.ts), so a visit filtered by its
 * entry page keeps all of its events, its other pages too, and one that entered before the
 * range keeps the entry page it had then. The relation holds the kept visits' events outside
 * the range too: the read filters by its range as before.
 */
export function visitScopedFrom(
  snapshot: { from: string; allFrom: string },
  scope: VisitScope,
  filters: EventFilters,
  pageViewNames: string[],
  params: SqlParams,
): string {
  const kept = `(${keptEventsSql(snapshot, scope, filters, pageViewNames, params)})`;
  return scopedEventsSql(snapshot.from, kept, scope, filters, params);
}

/**
 * visitScopedFrom for a read of several statements over one snapshot: the kept visits'
 * events are found once, into a temporary table of the snapshot's connection (their keys
 * only), and each statement reads `from(params)`, which joins the snapshot's events to it.
 * Forming visits is most of a visit-filtered read: /stats runs four statements, so a week's
 * stats with an entry_page filter formed them four times. `drop` removes the table.
 */
export async function materializedVisitScope(
  snapshot: EventSnapshot,
  scope: VisitScope,
  filters: EventFilters,
  pageViewNames: string[],
): Promise<{ from: (params: SqlParams) => string; drop: () => Promise<void> }> {
  materialized += 1;
  const table = `visit_scope_${materialized}`;
  const params = new SqlParams();
  const kept = keptEventsSql(snapshot, scope, filters, pageViewNames, params);
  await readRows(snapshot, `CREATE TEMP TABLE ${table} AS ${kept}`, params);
  return {
    from: (params) => scopedEventsSql(snapshot.from, table, scope, filters, params),
    // Closing the snapshot's connection at release drops it too: a failure here (a read
    // stopped midway) is left to that, not allowed to hide the read's own error.
    drop: () =>
      snapshot.connection.run(`DROP TABLE IF EXISTS ${table}`).then(
        () => undefined,
        () => undefined,
      ),
  };
}

/** Names the temporary tables of materializedVisitScope apart, on any connection. */
let materialized = 0;

/** `WITH … SELECT` the keys (EVENT_KEY) of the kept visits' events, with `v0` to group by. */
function keptEventsSql(
  { from, allFrom }: { from: string; allFrom: string },
  scope: VisitScope,
  filters: EventFilters,
  pageViewNames: string[],
  params: SqlParams,
): string {
  const reads = Object.keys(scope.equals) as VisitParam[];
  if (scope.group !== undefined) reads.push(scope.group);
  const match = Object.entries(scope.equals).map(([name, value]) => {
    const visit = VISIT_PARAMS[name as VisitParam];
    const filter: WebFilter = { property: { visit }, values: [value], match: 'is', negated: false };
    return filterConditionSql(filter, visitValueSql(visit, false), params);
  });
  const grouping = visitEventsCtes({
    from,
    beacons: allFrom,
    filters: { includeBots: filters.includeBots, fromMs: filters.fromMs, toMs: filters.toMs },
    params,
    pageViewNames,
    reach: true,
    extra: { ...VISIT_FIRST_EXTRA, ...EVENT_KEY },
  });
  const kept = keptVisitsCtes({
    aggregates: [],
    carried: [],
    match: match.length === 0 ? 'true' : match.join(' AND '),
    keys: scope.group === undefined ? [] : [visitValueSql(VISIT_PARAMS[scope.group], false)],
    channels: reads.includes('channel'),
  });
  const keyValue = scope.group === undefined ? '' : ', k.v0';
  return `WITH ${grouping}, ${kept}
    SELECT ${Object.keys(EVENT_KEY)
      .map((name) => `g.${name}`)
      .join(', ')}${keyValue}
    FROM grouped AS g JOIN kept AS k ON ${sameVisitSql('g', 'k')}`;
}

/** The events of `from` whose keys `kept` (a relation of keptEventsSql's rows) holds. */
function scopedEventsSql(
  from: string,
  kept: string,
  scope: VisitScope,
  filters: EventFilters,
  params: SqlParams,
): string {
  const value = scope.group === undefined ? '' : `, kept_events.v0 AS ${VISIT_VALUE_COLUMN}`;
  const reach = visitRangeOf(filters.fromMs, filters.toMs);
  const read = filterConditions({ ...reach, includeBots: filters.includeBots }, params);
  const sameEvent = Object.entries(EVENT_KEY)
    .map(([name, column]) => `${column} = kept_events.${name}`)
    .join(' AND ');
  return `(SELECT e.*${value} FROM ${from} AS e JOIN ${kept} AS kept_events ON ${sameEvent}
    ${whereOf(read)})`;
}

/**
 * What tells one stored event from every other of its tenant (an id is stored once in its
 * dedup window; sent again after it, the copy has a later receipt): the events of the kept
 * visits are found again by it, rather than carried whole through the sorts that form visits
 * (a struct of every column made a week's visit-filtered read 2.5–5× slower).
 */
const EVENT_KEY = {
  key_id: 'e.event_id',
  key_at: 'e."timestamp"',
  key_received: 'e.received_at',
} as const;
