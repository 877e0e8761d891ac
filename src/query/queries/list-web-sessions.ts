// The sessions of Umami's read API, one per visitor (Umami's session is the visitor its
// tracker keeps for a month: what /stats counts as visitors): the visits, page views, custom
// events and seconds of its events in the range that match the filters (read on each event,
// as Umami reads them: event-web-filters.ts), its first and last event's times, and the
// browser, OS, device, country, hostname, screen and language of its first such event. Visits
// are visit-rows.ts's, made of every event in the range; the newest sessions first. A session
// keeps its first event's key; that event's fields are read for the page's sessions only.

import { listValue } from '@duckdb/node-api';
import type { EventSource } from '../../storage/index.ts';
import { countedPageSql, readCountedPage } from '../counted-page.ts';
import { eventFiltersSql, sourcedEventsSql } from '../event-web-filters.ts';
import { filterConditions, propertyText } from '../filters.ts';
import { numberOf, type Row, rangeOf } from '../read.ts';
import type { SqlParams } from '../sql-params.ts';
import { visitPropertySql, type WebFilter } from '../web-properties.ts';
import { PAGE_VIEW_NAMES } from './get-stats.ts';
import { visitEventsCtes } from './visit-rows.ts';

export interface WebSessionsOptions {
  /** Inclusive, UTC epoch ms; none: from the first event. */
  fromMs?: number;
  /** Exclusive, UTC epoch ms; none: to the last. */
  toMs?: number;
  /** All must hold, on each event. */
  filters: WebFilter[];
  /** Only sessions with an event whose user id, browser, OS or device contains this. */
  search?: string;
  /** Only this visitor's session. */
  visitorId?: string;
  limit: number;
  offset: number;
}

export interface WebSession {
  /** The visitor_id. */
  id: string;
  userId: string | null;
  hostname: string | null;
  browser: string | null;
  os: string | null;
  device: string | null;
  screen: string | null;
  language: string | null;
  country: string | null;
  firstMs: number;
  lastMs: number;
  visits: number;
  views: number;
  events: number;
  /** Whole seconds from first to last event of each visit, summed. */
  seconds: number;
}

export interface WebSessionPage {
  sessions: WebSession[];
  /** Sessions over all pages. */
  total: number;
}

/** What each session takes from its first event, each as /metrics lists the field. */
const FIRSTS: Record<string, (params: SqlParams) => string> = {
  user_id: () => 'e.user_id',
  browser_name: () => visitPropertySql('browser'),
  os_name: () => visitPropertySql('os'),
  device_type: () => visitPropertySql('device'),
  country_code: () => visitPropertySql('country'),
  hostname: (params) => `coalesce(${propertyText('$hostname', params)}, nullif(page_host, ''))`,
  screen: (params) => propertyText('$screen', params),
  language: (params) => propertyText('$language', params),
};

/** Umami's session search: its distinct id, browser, OS or device contains the text. */
function searchSql(search: string, params: SqlParams): string {
  const fields = ['e.user_id', ...(['browser', 'os', 'device'] as const).map(visitPropertySql)];
  const text = fields.map((field) => `coalesce(${field}, '')`).join(` || chr(10) || `);
  return `contains(lower(${text}), lower(${params.add(search)}))`;
}

export async function listWebSessions(
  source: EventSource,
  tenant: string,
  options: WebSessionsOptions,
  signal?: AbortSignal,
): Promise<WebSessionPage> {
  const range = rangeOf(options.fromMs, options.toMs);
  const page = await readCountedPage(source, tenant, range, signal, {
    sql: (snapshot, params) => webSessionsSql(snapshot, options, params),
    key: 'id',
  });
  return { sessions: page.rows.map(sessionOf), total: page.total };
}

function webSessionsSql(
  { from, allFrom }: { from: string; allFrom: string },
  options: WebSessionsOptions,
  params: SqlParams,
): string {
  const views = params.lazy(listValue(PAGE_VIEW_NAMES));
  const visitor =
    options.visitorId === undefined ? [] : [`e.visitor_id = ${params.add(options.visitorId)}`];
  const matches = [eventFiltersSql(options.filters, views, params)];
  if (options.search !== undefined) matches.push(searchSql(options.search, params));
  const grouping = visitEventsCtes({
    from: sourcedEventsSql(from, visitor),
    beacons: sourcedEventsSql(allFrom, visitor),
    filters: { fromMs: options.fromMs, toMs: options.toMs },
    params,
    pageViewNames: PAGE_VIEW_NAMES,
    extra: { ematch: `(${matches.join(' AND ')})`, event_id: 'e.event_id', seq: 'e.seq' },
  });
  // Each session keeps the key of its first event, the smallest (event_id, seq) of its first
  // instant, the same on every read whatever the scan order; its fields are read for a page's
  // sessions.
  const scope = filterConditions({ fromMs: options.fromMs, toMs: options.toMs }, params);
  const firsts = sourcedEventsSql(from, [
    ...scope,
    'e.event_id IN (SELECT first.event_id FROM page)',
  ]);
  const fields = Object.entries(FIRSTS).map(([name, sql]) => `${sql(params)} AS ${name}`);
  return `WITH ${grouping}, per_visit AS (
      SELECT visitor_id, min(ts) AS first_ts, max(ts) AS last_ts,
        count(*) FILTER (WHERE is_view) AS views, count(*) FILTER (WHERE NOT is_view) AS events,
        arg_min({'event_id': event_id, 'seq': seq}, {'ts': ts, 'event_id': event_id, 'seq': seq})
          AS first
      FROM grouped WHERE ematch GROUP BY visitor_id, by_gaps, key, n
    ), sessions AS MATERIALIZED (
      SELECT visitor_id AS id, count(*) AS visits, sum(views) AS views, sum(events) AS events,
        min(first_ts) AS first_ms, max(last_ts) AS last_ms,
        sum((last_ts - first_ts) // 1000) AS seconds,
        arg_min(first, {'ts': first_ts, 'first': first}) AS first
      FROM per_visit GROUP BY visitor_id
    ), page AS (
      SELECT * FROM sessions ORDER BY last_ms DESC, id
      LIMIT ${params.add(options.limit)} OFFSET ${params.add(options.offset)}
    ), shown AS (
      SELECT p.id, p.visits, p.views, p.events, p.first_ms, p.last_ms, p.seconds,
        ${fields.join(', ')}
      FROM page AS p JOIN ${firsts} AS e ON e.event_id = p.first.event_id
        AND e.seq IS NOT DISTINCT FROM p.first.seq AND epoch_ms(e."timestamp") = p.first_ms
    )
    ${countedPageSql('sessions', 's.last_ms DESC, s.id')}`;
}

function sessionOf(row: Row): WebSession {
  const text = (key: string) => (row[key] === null ? null : String(row[key]));
  return {
    id: String(row.id),
    userId: text('user_id'),
    hostname: text('hostname'),
    browser: text('browser_name'),
    os: text('os_name'),
    device: text('device_type'),
    screen: text('screen'),
    language: text('language'),
    country: text('country_code'),
    firstMs: numberOf(row.first_ms),
    lastMs: numberOf(row.last_ms),
    visits: numberOf(row.visits),
    views: numberOf(row.views),
    events: numberOf(row.events),
    seconds: numberOf(row.seconds),
  };
}
