// The events of Umami's read API (its event list and a session's activity): each event's
// page, query, referrer (domain, path, query), title, browser, OS, device, country and
// hostname, newest first (then by id, and an id stored twice at one instant by its stored
// order, seq: offset pages need a total order), filtered on each event as Umami filters
// (event-web-filters.ts), with the count of all that match. With `visits`, each event also
// names its visit (visit-rows.ts's, made of every event in the range): its session_id, or,
// for a visit cut by pauses, its visitor and start. Only the keys of the matching events are
// kept; the fields shown are read for the page's events, found again by (event_id, seq, time).

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../../storage/index.ts';
import { countedPageSql, readCountedPage } from '../counted-page.ts';
import { eventFiltersSql, sourcedEventsSql } from '../event-web-filters.ts';
import { filterConditions, propertyText } from '../filters.ts';
import { numberOf, type Row, rangeOf } from '../read.ts';
import { referrerHostOf } from '../referrer-source.ts';
import type { SqlParams } from '../sql-params.ts';
import { eventPropertySql, visitPropertySql, type WebFilter } from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import { visitEventsCtes } from './visit-rows.ts';

export interface WebEventsOptions {
  /** Inclusive, UTC epoch ms. */
  fromMs?: number;
  /** Exclusive, UTC epoch ms. */
  toMs?: number;
  /** All must hold, on each event. */
  filters: WebFilter[];
  /** Only custom events whose name, or page views whose path, contains this (any case). */
  search?: string;
  /** Only this visitor's events. */
  visitorId?: string;
  /** Name each event's visit (visitId). */
  visits?: boolean;
  limit: number;
  offset: number;
}

export interface WebEvent {
  id: string;
  visitorId: string;
  /** With `visits`. */
  visitId?: string;
  timestampMs: number;
  hostname: string | null;
  path: string | null;
  query: string | null;
  referrerDomain: string | null;
  referrerPath: string | null;
  referrerQuery: string | null;
  title: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  country: string | null;
  /** A page view (Umami's event type 1), else a custom event (2). */
  isView: boolean;
  name: string;
  /** Whether the event has properties of its own (Umami's event data). */
  hasData: boolean;
}

export interface WebEventPage {
  events: WebEvent[];
  total: number;
}

const SCHEME_HOST = String.raw`^(?:[A-Za-z][A-Za-z0-9+.\-]*://)?(?:[^/?#@]*@)?[^/?#]*`;

/** The columns of each event, over `e` of sourcedEventsSql (none named as visit-rows carries). */
function columnsOf(params: SqlParams, views: () => string): Record<string, string> {
  return {
    event_name: 'e.name',
    hostname: `coalesce(${propertyText('$hostname', params)}, nullif(page_host, ''))`,
    url_path: `nullif(e."path", '')`,
    url_query: eventPropertySql({ event: 'query' }, views, params),
    referrer_domain: referrerHostOf(),
    referrer_path: `nullif(regexp_extract(trim(e."referrer"), '${SCHEME_HOST}([^?#]*)', 1), '')`,
    referrer_query: String.raw`nullif(regexp_extract(e."referrer", '^[^?#]*\?([^#]*)', 1), '')`,
    page_title: propertyText('$title', params),
    browser_name: visitPropertySql('browser'),
    os_name: visitPropertySql('os'),
    device_type: visitPropertySql('device'),
    country_code: visitPropertySql('country'),
    // Umami's event data (event-data.ts): a custom event's own property, not a page field,
    // with a value somewhere in it (null and `{}` are none).
    has_data: `NOT list_contains(${views()}, e.name) AND EXISTS (SELECT 1
      FROM json_each(e.properties) AS top, json_tree(top.value) AS j
      WHERE NOT starts_with(top.key, '$') AND j.type NOT IN ('OBJECT', 'NULL'))`,
  };
}

export async function listWebEvents(
  source: EventSource,
  tenant: string,
  options: WebEventsOptions,
  signal?: AbortSignal,
): Promise<WebEventPage> {
  const range = rangeOf(options.fromMs, options.toMs);
  const page = await readCountedPage(source, tenant, range, signal, {
    sql: (snapshot, params) => webEventsSql(snapshot, options, params),
    key: 'event_id',
  });
  return { events: page.rows.map((row) => eventOf(row, options)), total: page.total };
}

function webEventsSql(
  { from, allFrom }: { from: string; allFrom: string },
  options: WebEventsOptions,
  params: SqlParams,
): string {
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const isView = () => `list_contains(${views()}, e.name)`;
  const visitor =
    options.visitorId === undefined ? [] : [`e.visitor_id = ${params.add(options.visitorId)}`];
  const matches = [eventFiltersSql(options.filters, views, params)];
  if (options.search !== undefined) {
    // Lowered by DuckDB as the text searched is (JavaScript lowers İ and a final Σ otherwise).
    const search = `lower(${params.add(options.search)})`;
    matches.push(`CASE WHEN ${isView()} THEN contains(lower(coalesce(e."path", '')), ${search})
      ELSE contains(lower(e.name), ${search}) END`);
  }
  const match = `(${matches.join(' AND ')})`;
  const scope = filterConditions({ fromMs: options.fromMs, toMs: options.toMs }, params);
  // Only the keys of the matching events are kept: the columns shown are read for a page.
  let matched: string;
  if (options.visits === true) {
    const grouping = visitEventsCtes({
      from: sourcedEventsSql(from, visitor),
      beacons: sourcedEventsSql(allFrom, visitor),
      filters: { fromMs: options.fromMs, toMs: options.toMs },
      params,
      pageViewNames: PAGE_VIEW_NAMES,
      extra: { ematch: match, event_id: 'e.event_id', seq: 'e.seq' },
    });
    matched = `${grouping}, matched AS MATERIALIZED (
      SELECT event_id, seq, visitor_id, ts, is_view,
        CASE WHEN by_gaps THEN key || ':' || n ELSE key END AS visit_id
      FROM grouped WHERE ematch)`;
  } else {
    matched = `matched AS MATERIALIZED (
      SELECT e.event_id, e.seq, e.visitor_id, epoch_ms(e."timestamp") AS ts, ${isView()} AS is_view
      FROM ${sourcedEventsSql(from, [...visitor, ...scope])} AS e WHERE ${match})`;
  }
  const columns = columnsOf(params, views);
  const select = Object.entries(columns).map(([name, sql]) => `${sql} AS ${name}`);
  const paged = sourcedEventsSql(from, [...scope, 'e.event_id IN (SELECT event_id FROM page)']);
  return `WITH ${matched}, page AS (
      SELECT * FROM matched ORDER BY ts DESC, event_id, seq
      LIMIT ${params.add(options.limit)} OFFSET ${params.add(options.offset)}
    ), shown AS (
      SELECT p.*, ${select.join(', ')}
      FROM page AS p JOIN ${paged} AS e ON e.event_id = p.event_id
        AND e.seq IS NOT DISTINCT FROM p.seq AND epoch_ms(e."timestamp") = p.ts
    )
    ${countedPageSql('matched', 's.ts DESC, s.event_id, s.seq')}`;
}

function eventOf(row: Row, options: WebEventsOptions): WebEvent {
  const text = (key: string) => (row[key] === null ? null : String(row[key]));
  return {
    id: String(row.event_id),
    visitorId: String(row.visitor_id),
    ...(options.visits === true ? { visitId: String(row.visit_id) } : {}),
    timestampMs: numberOf(row.ts),
    hostname: text('hostname'),
    path: text('url_path'),
    query: text('url_query'),
    referrerDomain: text('referrer_domain'),
    referrerPath: text('referrer_path'),
    referrerQuery: text('referrer_query'),
    title: text('page_title'),
    browser: text('browser_name'),
    os: text('os_name'),
    device: text('device_type'),
    country: text('country_code'),
    isView: row.is_view === true,
    name: String(row.event_name),
    hasData: row.has_data === true,
  };
}
