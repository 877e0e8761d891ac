// Umami's realtime read, GET /api/realtime/:websiteId, over Tally's events, shaped as today's
// Umami's getRealtimeData: the last 30 minutes' page views and sessions per minute (the same
// series as /pageviews), and its newest 100 events (filtered on each event, as Umami's
// getRealtimeActivity), from which the urls, referrers and countries (one per session) are
// counted and the event feed is made, each session marked where it first appears.

import { Elysia } from 'elysia';
import { listWebEvents, type WebEvent } from '../../query/index.ts';
import { REALTIME_DOC } from './umami-event-data-docs.ts';
import type { ReadContext, ReadRoute } from './umami-read-context.ts';
import { endsRange, filtersOf, scopedFilters, type UmamiRange } from './umami-read-params.ts';
import { pageviewSeries, type UmamiPoint } from './umami-series.ts';

/** Umami's realtime activity: its newest 100 events. */
const UMAMI_REALTIME_EVENTS_MAX = 100;

/** Umami's realtime range, in minutes. */
const UMAMI_REALTIME_MINUTES = 30;
const MINUTE_MS = 60_000;

/**
 * The last 30 minutes Umami's realtime reads (its REALTIME_RANGE): from the start of the
 * current minute 30 minutes back to now, in the zone and unit asked (minutes by default).
 */
function realtimeRangeOf(query: URLSearchParams, nowMs: number): UmamiRange {
  const start = Math.floor(nowMs / MINUTE_MS) * MINUTE_MS - UMAMI_REALTIME_MINUTES * MINUTE_MS;
  return { ...endsRange(query, start, nowMs), compare: 'prev' };
}

export function umamiRealtimeRoutes(r: ReadRoute) {
  return new Elysia({ name: 'umami-realtime', tags: ['compatibility'] }).get(
    '/api/realtime/:id',
    r(realtime),
    { detail: REALTIME_DOC },
  );
}

/** An event of the feed, as Umami's activity row with its `__type`. */
interface FeedItem {
  __type: 'session' | 'event' | 'pageview';
  sessionId: string;
  eventName: string | null;
  createdAt: string;
  browser: string | null;
  os: string | null;
  device: string | null;
  country: string | null;
  urlPath: string | null;
  referrerDomain: string | null;
  hostname: string | null;
}

type Counts = Record<string, number>;

async function realtime(ctx: ReadContext) {
  const range = realtimeRangeOf(ctx.query, ctx.deps.clock.now());
  const [activity, series] = await Promise.all([
    listWebEvents(
      ctx.deps.engine.store,
      ctx.website.tenant,
      {
        fromMs: range.fromMs,
        toMs: range.toMs,
        filters: filtersOf(ctx.query),
        limit: UMAMI_REALTIME_EVENTS_MAX,
        offset: 0,
      },
      ctx.request.signal,
    ),
    pageviewSeries(ctx, range, scopedFilters(ctx.query)),
  ]);
  const { countries, urls, referrers, events } = feedOf(activity.events);
  const sum = (points: UmamiPoint[]) => points.reduce((total, { y }) => total + y, 0);
  return {
    countries,
    urls,
    referrers,
    events,
    series: { views: series.pageviews, visitors: series.sessions },
    totals: {
      views: sum(series.pageviews),
      // As Umami: the visitors of each minute, added up.
      visitors: sum(series.sessions),
      events: activity.events.filter((e) => !e.isView).length,
      countries: Object.keys(countries).length,
    },
    timestamp: ctx.deps.clock.now(),
  };
}

/**
 * Umami's reduction of the activity (newest first): oldest first, each new session counts its
 * country once and is marked before its first event; every event counts its url and
 * referrer; the feed is then newest first again.
 */
function feedOf(newestFirst: WebEvent[]) {
  // No prototype: a path or country named `__proto__` or `toString` is a key like any other.
  const counts = () => Object.create(null) as Counts;
  const [countries, urls, referrers] = [counts(), counts(), counts()];
  const events: FeedItem[] = [];
  const seen = new Set<string>();
  const increment = (counts: Counts, key: string | null) => {
    if (key) counts[key] = (counts[key] ?? 0) + 1;
  };
  for (const e of [...newestFirst].reverse()) {
    const row = rowOf(e);
    if (!seen.has(e.visitorId)) {
      seen.add(e.visitorId);
      increment(countries, e.country);
      events.push({ __type: 'session', ...row });
    }
    increment(urls, e.path);
    increment(referrers, e.referrerDomain);
    events.push({ __type: e.isView ? 'pageview' : 'event', ...row });
  }
  return { countries, urls, referrers, events: events.reverse() };
}

function rowOf(e: WebEvent): Omit<FeedItem, '__type'> {
  return {
    sessionId: e.visitorId,
    eventName: e.isView ? null : e.name,
    createdAt: new Date(e.timestampMs).toISOString(),
    browser: e.browser,
    os: e.os,
    device: e.device,
    country: e.country,
    urlPath: e.path,
    referrerDomain: e.referrerDomain,
    hostname: e.hostname,
  };
}
