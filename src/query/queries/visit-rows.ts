// The visits of GET /api/v1/stats, one row each, with Plausible's definitions: a visit is the
// events of one session_id when they carry one (PostHog, Umami, the native API); an event
// without one joins the visit of its visitor_id's previous event when that came at most
// VISIT_GAP_MINUTES before (a server-side event sent during a browser session is part of that
// session's visit), else starts a visit, as Plausible cuts its sessions. Plausible's engagement
// beacons (core/engagement.ts) keep a visit alive as they keep Plausible's session: a beacon at
// most VISIT_GAP_MINUTES after the visit's last event, or after a beacon that kept it alive,
// moves the start of that pause to itself, so the next event joins the visit; a beacon that
// finds no live visit starts none. Beacons are no events of a visit: not counted, no entry or
// exit page, not in its duration (Plausible's refresh only the cached session's time). Visits
// are made of the events within VISIT_REACH_MINUTES of the range (bots per the filters), as
// Plausible reads the whole row of each session active in the range (WhereBuilder: its
// `timestamp` at or after the range's start, its `start` before its end), and counted in it
// when one of their events inside it matches the other filters: "visits that contain a
// matching event", as Plausible filters its sessions by page or goal (joined to its events of
// the range), measured over all of their events. Umami's reads make them of the range's
// events alone (no `reach`), as Umami reads its sessions. Each row carries what the visit is
// credited with: its visitor, its entry and exit pages and the url and referrer of its first
// event (its source).

import { listValue } from '@duckdb/node-api';
import { ENGAGEMENT_EVENT_NAME, INTERACTIVE_KEY } from '../../core/index.ts';
import type { TimeRange } from '../../storage/index.ts';
import { type EventFilters, filterConditions, whereOf } from '../filters.ts';
import type { SqlParams } from '../sql-params.ts';

/** Plausible's session timeout: a longer pause between two events starts a new visit. */
export const VISIT_GAP_MINUTES = 30;
export const VISIT_GAP_MS = VISIT_GAP_MINUTES * 60_000;

/**
 * How far before a range's start and after its end the events of its visits are read (with
 * `reach`): a visit active in the range is the whole of its events within this margin, as
 * Plausible reads the whole row of each session active in its range (its sessions table
 * keeps a session's start, last time, entry page and duration). Four visit timeouts: a visit
 * of events at most 30 minutes apart (or kept alive by beacons) that began earlier, or goes
 * on later, is read from (to) the margin's edge, as all visits were read from the range's.
 */
export const VISIT_REACH_MINUTES = 120;
const VISIT_REACH_MS = VISIT_REACH_MINUTES * 60_000;

/** The time range to snapshot for the visits of a range (with `reach`): VISIT_REACH_MS wider. */
export function visitRangeOf(fromMs: number | undefined, toMs: number | undefined): TimeRange {
  return {
    ...(fromMs === undefined ? {} : { fromMs: fromMs - VISIT_REACH_MS }),
    ...(toMs === undefined ? {} : { toMs: toMs + VISIT_REACH_MS }),
  };
}

/**
 * The order of the events of a visit: by time, then (for events of one millisecond) by a hash
 * of their page and source, so that "first" and "last" are the same on every read whatever
 * order the events are scanned in, and the first page view of an instant is also its first
 * event when it is one. One HUGEINT (time × 2⁶⁴ + hash) compares faster than a struct.
 */
const ORDER = 'CAST(ts AS HUGEINT) * 18446744073709551616 + hash(path, url, referrer)';

/**
 * `WITH … visits AS MATERIALIZED (…)`: the CTEs that end in `visits`, one row per visit kept
 * (one of its events in the range matches the filters), read whole (visitEventsCtes' reach),
 * with the columns `bounced` (at most one interactive event: Plausible's is_bounce, a second
 * page view or custom event ends it, a non-interactive one does not), `views`, `events` (those
 * in the range: Plausible's `events` is an event metric), `seconds` (first to last event),
 * `visitor_id` (its first event's), `entry_page` and `exit_page` (the paths of its first and
 * last page views with a path; NULL without one), and `url` and `referrer` (its first
 * event's, for its source). The caller appends the rest of the statement; `visits` is
 * materialized, so reading it several times scans the events once.
 */
export function visitRowsSql(
  from: string,
  beacons: string,
  filters: EventFilters,
  params: SqlParams,
  pageViewNames: string[],
): string {
  const matching = filterConditions(
    { ...filters, includeBots: true, fromMs: undefined, toMs: undefined },
    params,
  );
  const matched = matching.length === 0 ? 'true' : matching.join(' AND ');
  const grouping = visitEventsCtes({
    from,
    beacons,
    filters,
    params,
    pageViewNames,
    reach: true,
    extra: { matched: `(${matched})` },
  });
  return `WITH ${grouping}, firsts AS (
      SELECT ${visitColumnsSql()}
      FROM grouped GROUP BY by_gaps, key, n HAVING bool_or(matched AND side = 0)
    ), visits AS MATERIALIZED (
      SELECT bounced, views, events, seconds, entry_page, exit_page,
        first.visitor_id AS visitor_id, first.url AS url, first.referrer AS referrer
      FROM firsts
    )`;
}

export interface VisitEvents {
  /** The counted events to make visits of (the snapshot's `from`, or a part of it). */
  from: string;
  /** A relation holding the beacons that keep visits alive (the snapshot's `allFrom`). */
  beacons: string;
  /** Only its range and bots are read (the range widened with `reach`). */
  filters: EventFilters;
  params: SqlParams;
  pageViewNames: string[];
  /**
   * Plausible's rule: visits are made of the events within VISIT_REACH_MS of the range too
   * (`side` -1 before it, 1 after it), so a visit active in the range is read whole; the
   * snapshot must hold them (visitRangeOf). Without (Umami's reads), of the range's alone.
   */
  reach?: boolean;
  /** More columns of each event (name → SQL over the event alias `e`), carried to `grouped`. */
  extra: Record<string, string>;
}

/**
 * `ev AS (…), … grouped AS (…)`: the events of the range (bots per the filters), with
 * `reach` those within VISIT_REACH_MS of it too, each in `grouped` with the key of its visit,
 * (by_gaps, key, n), its time `ts` (epoch ms), `side` (-1 before the range, 0 in it, 1
 * after), `is_view`, `interactive`, `visitor_id`, `path`, `url`, `referrer` and the `extra`
 * columns.
 */
export function visitEventsCtes(spec: VisitEvents): string {
  const { filters, params } = spec;
  const read = spec.reach ? visitRangeOf(filters.fromMs, filters.toMs) : filters;
  const scope = filterConditions(
    { includeBots: filters.includeBots, fromMs: read.fromMs, toMs: read.toMs },
    params,
  );
  const side = spec.reach ? sideSql(filters.fromMs, filters.toMs, params) : '0';
  const views = params.add(listValue(spec.pageViewNames));
  const key = params.add(`"${INTERACTIVE_KEY}"`);
  const pointer = params.add(`/${INTERACTIVE_KEY}`);
  // contains() first, whatever the spacing of the JSON text: most events do not name the key
  // and skip the JSON parse.
  const interactive = `NOT (contains(CAST(e.properties AS VARCHAR), ${key})
    AND coalesce(json_extract_string(e.properties, ${pointer}) = 'false', false))`;
  const gapMs = params.add(VISIT_GAP_MS);
  const beacon = params.add(ENGAGEMENT_EVENT_NAME);
  const extra = Object.entries(spec.extra);
  const carried = ['ts, side, is_view, interactive, visitor_id, path, url, referrer']
    .concat(extra.map(([name]) => name))
    .join(', ');
  const extraSql = extra.map(([name, sql]) => `, ${sql} AS ${name}`).join('');
  // Times as epoch ms: lag and subtraction over TIMESTAMPTZ go through ICU, ~4× slower here.
  return `ev AS (
      SELECT e.session_id, e.visitor_id, epoch_ms(e."timestamp") AS ts, ${side} AS side,
        list_contains(${views}, e.name) AS is_view, ${interactive} AS interactive,
        nullif(e."path", '') AS path, e."url" AS url, e."referrer" AS referrer${extraSql}
      FROM ${spec.from} AS e ${whereOf(scope)}
    ), ${aliveBeaconsSql(spec.beacons, [...scope, `e.name = ${beacon}`], gapMs)},
    ${groupedSql(gapMs, carried)}`;
}

/** An event `e`'s `side`: -1 before `fromMs`, 1 at or after `toMs`, else 0 (in the range). */
function sideSql(fromMs: number | undefined, toMs: number | undefined, params: SqlParams): string {
  const at = 'e."timestamp"';
  const before = fromMs === undefined ? [] : [`WHEN ${at} < ${params.addInstant(fromMs)} THEN -1`];
  const after = toMs === undefined ? [] : [`WHEN ${at} >= ${params.addInstant(toMs)} THEN 1`];
  const cases = [...before, ...after];
  return cases.length === 0 ? '0' : `CASE ${cases.join(' ')} ELSE 0 END`;
}

/**
 * What a visit is, as the columns of `grouped` grouped by (by_gaps, key, n): `bounced`,
 * `views`, `events`, `seconds`, `entry_page`, `exit_page` (see visitRowsSql) and `first`, a
 * struct of its first event's visitor_id, url, referrer and the `firstExtra` columns.
 */
export function visitColumnsSql(firstExtra: string[] = []): string {
  const first = ['visitor_id', 'url', 'referrer', ...firstExtra]
    .map((column) => `'${column}': ${column}`)
    .join(', ');
  return `count(*) FILTER (WHERE interactive) <= 1 AS bounced,
        count(*) FILTER (WHERE is_view) AS views, count(*) FILTER (WHERE side = 0) AS events,
        (max(ts) - min(ts)) / 1000 AS seconds,
        arg_min(path, ${ORDER}) FILTER (WHERE is_view) AS entry_page,
        arg_max(path, ${ORDER}) FILTER (WHERE is_view) AS exit_page,
        arg_min({${first}}, ${ORDER}) AS first`;
}

/**
 * The window of a visit's events in the order of visitColumnsSql (ties the same on every
 * read), over `grouped`'s columns: what the time on page (time-on-page.ts) steps through.
 */
export function visitWindowSql(): string {
  return `PARTITION BY by_gaps, key, n ORDER BY ${ORDER}`;
}

/**
 * `bc AS (…), bl AS (…), bgap AS (…), alive AS (…)`: the beacons of the range that keep a
 * visit alive, as (visitor_id, ts). Each beacon follows its visitor's last event at or before
 * it (`after`); it is alive when no pause in the chain from that event through the beacons
 * after it to this one is longer than `gapMs` (Plausible's beacon finds the session live and
 * refreshes its time, or finds none and is dropped). A beacon before any event of its visitor
 * is alive for nothing. Without beacons `bc` is empty and so is everything after it.
 */
function aliveBeaconsSql(beacons: string, where: string[], gapMs: string): string {
  const chain = 'PARTITION BY visitor_id, after ORDER BY ts';
  return `bc AS (
      SELECT e.visitor_id, epoch_ms(e."timestamp") AS ts FROM ${beacons} AS e ${whereOf(where)}
    ), bl AS (
      SELECT b.visitor_id, b.ts, c.ts AS after
      FROM bc AS b ASOF JOIN (SELECT visitor_id, ts FROM ev
          WHERE visitor_id IN (SELECT visitor_id FROM bc)) AS c
        ON b.visitor_id = c.visitor_id AND b.ts >= c.ts
    ), bgap AS (
      SELECT visitor_id, ts, after, ts - coalesce(lag(ts) OVER (${chain}), after) AS gap
      FROM bl
    ), alive AS (
      SELECT visitor_id, ts FROM (
        SELECT visitor_id, ts,
          max(gap) OVER (${chain} ROWS UNBOUNDED PRECEDING) AS widest
        FROM bgap) AS w
      WHERE widest <= ${gapMs}
    )`;
}

/**
 * The CTEs `loose` … `grouped`: each event of `ev` with the key of its visit, (`by_gaps`,
 * `key`, `n`): (false, session_id, 0) for a session's visit, (true, visitor_id, the time the
 * visit began) for one cut by gaps. Only the visitors with events without a session id are
 * put in time order (`timeline`): there, such an event starts a visit after a pause of more
 * than `gapMs` since the visitor's previous event, and otherwise belongs to the visit of the
 * last event that was a session's or started one. The live beacons (`alive`) are in that
 * order too, so a pause is counted from the last beacon, but start nothing and are no event of
 * `grouped`. Ties: a session's events of one instant come before the others, so those join the
 * session.
 */
function groupedSql(gapMs: string, carried: string): string {
  // A beacon of the same instant as an event comes after it: it cannot keep alive what the
  // event starts.
  const order = 'PARTITION BY visitor_id ORDER BY ts, beacon, session_id NULLS LAST';
  // What a visit is named by, on the events that name one: their session, or their own time
  // for an event that starts a visit; the others take the last one before them.
  const anchor = `CASE WHEN session_id IS NOT NULL THEN {'session': session_id, 'start': NULL}
    WHEN starts THEN {'session': NULL, 'start': ts} END`;
  return `loose AS (
      SELECT DISTINCT visitor_id FROM ev WHERE session_id IS NULL
    ), timeline AS (
      SELECT session_id, ${carried}, beacon, session_id IS NULL AND NOT beacon
        AND coalesce(ts - lag(ts) OVER (${order}) > ${gapMs}, true) AS starts
      FROM (SELECT session_id, ${carried}, false AS beacon
          FROM ev WHERE visitor_id IN (SELECT visitor_id FROM loose)
        UNION ALL BY NAME
        SELECT visitor_id, ts, true AS beacon
          FROM alive WHERE visitor_id IN (SELECT visitor_id FROM loose))
    ), anchored AS (
      SELECT session_id, ${carried}, beacon,
        last_value(${anchor} IGNORE NULLS) OVER (${order} ROWS UNBOUNDED PRECEDING) AS anchor
      FROM timeline
    ), grouped AS (
      SELECT false AS by_gaps, session_id AS key, 0 AS n, ${carried}
      FROM ev WHERE session_id IS NOT NULL
      UNION ALL
      SELECT anchor.session IS NULL, coalesce(anchor.session, visitor_id),
        coalesce(anchor.start, 0), ${carried}
      FROM anchored WHERE session_id IS NULL AND NOT beacon
    )`;
}
