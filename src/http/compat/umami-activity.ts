// Umami's read API of sessions and events, over Tally's events: GET /api/websites/:id/sessions
// (a page of sessions), /sessions/stats and /weekly, /sessions/:sessionId and its /activity,
// /events (a page of events), /events/stats and /events/series, in the shapes and with the
// parameters of today's Umami.
// A Umami session is a Tally visitor (its visitor_id: the sessionId Umami's tracker is
// answered by /api/send, or the user id an event names, whose answered sessionId names it as
// well: readSession); its visits are Tally's visits. Lists filter each event as Umami does
// (query/'s event-web-filters); totals are query/'s web metrics, as /stats counts them.
// Fields Tally keeps nothing for (region, city) are null.

import { Elysia } from 'elysia';
import {
  countWeeklyVisitors,
  listWebEvents,
  listWebSessions,
  type WebEvent,
  type WebSession,
} from '../../query/index.ts';
import {
  EVENT_SERIES_DOC,
  EVENT_STATS_DOC,
  EVENTS_DOC,
  SESSION_ACTIVITY_DOC,
  SESSION_DOC,
  SESSION_STATS_DOC,
  SESSIONS_DOC,
  SESSIONS_WEEKLY_DOC,
} from './umami-activity-docs.ts';
import { umamiNotFound } from './umami-errors.ts';
import {
  type ReadContext,
  type ReadRoute,
  readSession,
  webMetricsOf,
} from './umami-read-context.ts';
import {
  CUSTOM_EVENTS,
  comparedRange,
  filtersOf,
  pageOf,
  rangeOf,
  scopedFilters,
  type UmamiRange,
} from './umami-read-params.ts';
import { eventSeries } from './umami-series.ts';

/** A session's activity: its newest events, at most this many (Umami's limit). */
const UMAMI_ACTIVITY_ROWS_MAX = 500;

export function umamiActivityRoutes(r: ReadRoute) {
  return new Elysia({ name: 'umami-activity', tags: ['compatibility'] })
    .get('/api/websites/:id/sessions', r(sessions), { detail: SESSIONS_DOC })
    .get('/api/websites/:id/sessions/stats', r(sessionStats), { detail: SESSION_STATS_DOC })
    .get('/api/websites/:id/sessions/weekly', r(weekly), { detail: SESSIONS_WEEKLY_DOC })
    .get('/api/websites/:id/sessions/:sessionId', r(session), { detail: SESSION_DOC })
    .get('/api/websites/:id/sessions/:sessionId/activity', r(activity), {
      detail: SESSION_ACTIVITY_DOC,
    })
    .get('/api/websites/:id/events', r(events), { detail: EVENTS_DOC })
    .get('/api/websites/:id/events/stats', r(eventStats), { detail: EVENT_STATS_DOC })
    .get('/api/websites/:id/events/series', r(eventsSeries), { detail: EVENT_SERIES_DOC });
}

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * A paged list's page, its size, and what query/'s list reads: the range, the filters, the
 * rows of the page, and the search (none when empty, as Umami's `if (search)`).
 */
function listOf(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const { page, pageSize } = pageOf(ctx.query);
  const search = ctx.query.get('search');
  const options = {
    fromMs: range.fromMs,
    toMs: range.toMs,
    filters: filtersOf(ctx.query),
    ...(search === null || search === '' ? {} : { search }),
    limit: pageSize,
    offset: (page - 1) * pageSize,
  };
  return { page, pageSize, options };
}

/** A session as Umami's session list has one. */
function sessionRow(ctx: ReadContext, s: WebSession) {
  return {
    id: s.id,
    websiteId: ctx.website.id,
    hostname: s.hostname,
    browser: s.browser,
    os: s.os,
    device: s.device,
    screen: s.screen,
    language: s.language,
    country: s.country,
    region: null,
    city: null,
    firstAt: iso(s.firstMs),
    lastAt: iso(s.lastMs),
    visits: s.visits,
    views: s.views,
    events: s.events,
    createdAt: iso(s.lastMs),
  };
}

/** GET …/sessions: the sessions with events in the range, the newest first, paged. */
async function sessions(ctx: ReadContext) {
  const { page, pageSize, options } = listOf(ctx);
  const found = await listWebSessions(
    ctx.deps.engine.store,
    ctx.website.tenant,
    options,
    ctx.request.signal,
  );
  const data = found.sessions.map((s) => sessionRow(ctx, s));
  return { data, count: found.total, page, pageSize };
}

/** GET …/sessions/stats: page views, visitors, visits, countries and custom events. */
async function sessionStats(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const views = scopedFilters(ctx.query);
  const metrics = webMetricsOf(ctx, range, ['pageviews', 'visitors', 'visits'], views);
  const [[totals], [country], [custom]] = await Promise.all([
    metrics({ kind: 'total' }),
    webMetricsOf(
      ctx,
      range,
      ['visitors'],
      views,
    )({ kind: 'property', property: { visit: 'country' }, limit: 1, offset: 0, countRows: true }),
    customEvents(ctx, range)({ kind: 'total' }),
  ]);
  const value = (n: number | null | undefined) => ({ value: n ?? 0 });
  return {
    pageviews: value(totals?.values.pageviews),
    visitors: value(totals?.values.visitors),
    visits: value(totals?.values.visits),
    countries: value(country?.totalRows),
    events: value(custom?.values.events),
  };
}

/**
 * The custom events of the range that match the filters: events, visitors and visits. Only
 * custom events, whatever an `event` filter says (Umami's event_type = 2): `event=neq.signup`
 * counts the other custom events, not the page views.
 */
function customEvents(ctx: ReadContext, range: UmamiRange) {
  const filters = [...filtersOf(ctx.query), CUSTOM_EVENTS];
  return webMetricsOf(ctx, range, ['events', 'visitors', 'visits'], filters);
}

/**
 * GET …/sessions/:sessionId: one session over all its events; Umami's 404 if it has none. Its
 * `id` is the id asked, as Umami answers: the visitor's, or the sessionId /api/send answered
 * an identified visitor (readSession).
 */
async function session(ctx: ReadContext) {
  const found = await readSession(
    ctx,
    (visitorId) =>
      listWebSessions(
        ctx.deps.engine.store,
        ctx.website.tenant,
        { filters: [], visitorId, limit: 1, offset: 0 },
        ctx.request.signal,
      ),
    (page) => page.sessions.length > 0,
  );
  const s = found.sessions[0];
  if (s === undefined) throw umamiNotFound();
  const { createdAt: _, ...row } = sessionRow(ctx, s);
  return { ...row, id: ctx.params.sessionId as string, distinctId: s.userId, totaltime: s.seconds };
}

/** GET …/sessions/:sessionId/activity: its events in the range, the newest 500. */
async function activity(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const found = await readSession(
    ctx,
    (visitorId) =>
      listWebEvents(
        ctx.deps.engine.store,
        ctx.website.tenant,
        {
          fromMs: range.fromMs,
          toMs: range.toMs,
          filters: [],
          visitorId,
          visits: true,
          limit: UMAMI_ACTIVITY_ROWS_MAX,
          offset: 0,
        },
        ctx.request.signal,
      ),
    (page) => page.events.length > 0,
  );
  return found.events.map((e) => ({
    createdAt: iso(e.timestampMs),
    urlPath: e.path,
    urlQuery: e.query,
    referrerDomain: e.referrerDomain,
    eventId: e.id,
    eventType: e.isView ? 1 : 2,
    eventName: e.isView ? null : e.name,
    visitId: e.visitId ?? null,
    hasData: e.hasData,
  }));
}

/** An event as Umami's event list has one. */
function eventRow(ctx: ReadContext, e: WebEvent) {
  return {
    id: e.id,
    websiteId: ctx.website.id,
    sessionId: e.visitorId,
    createdAt: iso(e.timestampMs),
    hostname: e.hostname,
    urlPath: e.path,
    urlQuery: e.query,
    referrerPath: e.referrerPath,
    referrerQuery: e.referrerQuery,
    referrerDomain: e.referrerDomain,
    country: e.country,
    city: null,
    device: e.device,
    os: e.os,
    browser: e.browser,
    pageTitle: e.title,
    eventType: e.isView ? 1 : 2,
    eventName: e.isView ? null : e.name,
    hasData: e.hasData,
  };
}

/** GET …/events: page views and custom events in the range, the newest first, paged. */
async function events(ctx: ReadContext) {
  const { page, pageSize, options } = listOf(ctx);
  const found = await listWebEvents(
    ctx.deps.engine.store,
    ctx.website.tenant,
    options,
    ctx.request.signal,
  );
  const data = found.events.map((e) => eventRow(ctx, e));
  return { data, count: found.total, page, pageSize };
}

/** GET …/events/stats: custom events, their visitors, visits and names, and the comparison. */
async function eventStats(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const totals = async (r: UmamiRange) => {
    const read = customEvents(ctx, r);
    const [[row], [names]] = await Promise.all([
      read({ kind: 'total' }),
      read({ kind: 'property', property: { event: 'name' }, limit: 1, offset: 0, countRows: true }),
    ]);
    return {
      events: row?.values.events ?? 0,
      visitors: row?.values.visitors ?? 0,
      visits: row?.values.visits ?? 0,
      uniqueEvents: names?.totalRows ?? 0,
    };
  };
  const [current, comparison] = await Promise.all([totals(range), totals(comparedRange(range))]);
  return { data: { ...current, comparison } };
}

/** GET …/events/series: custom events per name and time bucket, as Umami's getEventStats. */
async function eventsSeries(ctx: ReadContext) {
  return eventSeries(ctx, rangeOf(ctx.query), filtersOf(ctx.query));
}

/**
 * GET …/sessions/weekly: the visitors of each hour of the week (7 rows from Sunday, of 24
 * hours) in the zone asked, as Umami's getWeeklyTraffic, each event filtered.
 */
async function weekly(ctx: ReadContext) {
  const { fromMs, toMs, tz } = rangeOf(ctx.query);
  const filters = filtersOf(ctx.query);
  const options = { fromMs, toMs, tz, filters };
  return countWeeklyVisitors(
    ctx.deps.engine.store,
    ctx.website.tenant,
    options,
    ctx.request.signal,
  );
}
