// Umami's read API over Tally's events, so dashboards, scripts and MCP servers written for a
// self-hosted Umami read Tally unchanged: GET /api/websites (and one website), and of a website
// /stats, /pageviews, /metrics (and /expanded), /active, /daterange and /values
// (umami-values.ts), in the shapes today's Umami answers. The numbers are query/'s web metrics
// (getWebMetrics: the visits, bounces and sources of Tally's other reads), counted over page
// views as Umami counts them (custom events where a filter or `type=event` names them),
// through the same read gate as every read. Who may read which website is
// umami-read-auth.ts's; errors are Umami's {"error":{message, code, status}}. Sessions and
// events are umami-activity.ts's, event data umami-event-data.ts's, session data
// umami-session-data.ts's, realtime umami-realtime.ts's; heartbeat and config
// umami-system.ts's.

import { Elysia } from 'elysia';
import type { Project } from '../../auth/index.ts';
import {
  countCurrentVisitors,
  getEventTimeRange,
  queryLimits,
  type WebMetric,
  type WebOrder,
} from '../../query/index.ts';
import type { AppDeps } from '../context.ts';
import { json } from './responses.ts';
import { umamiActivityRoutes } from './umami-activity.ts';
import { umamiGuard } from './umami-errors.ts';
import { umamiEventDataRoutes } from './umami-event-data.ts';
import { domainOf, readableProjects, umamiAuthRoutes, websiteIdOf } from './umami-read-auth.ts';
import { queryOf, type ReadContext, readRoute, webMetricsOf } from './umami-read-context.ts';
import {
  ACTIVE_DOC,
  DATERANGE_DOC,
  ME_TEAMS_DOC,
  ME_WEBSITES_DOC,
  METRICS_DOC,
  METRICS_EXPANDED_DOC,
  PAGEVIEWS_DOC,
  STATS_DOC,
  WEBSITE_DOC,
  WEBSITES_DOC,
} from './umami-read-docs.ts';
import {
  comparedRange,
  filtersOf,
  having,
  type MetricType,
  metricTypeOf,
  namesEvents,
  PAGE_VIEWS,
  pageOf,
  pagingOf,
  rangeOf,
  scopedFilters,
  type UmamiRange,
} from './umami-read-params.ts';
import { umamiRealtimeRoutes } from './umami-realtime.ts';
import { pageviewSeries } from './umami-series.ts';
import { umamiSessionDataRoutes } from './umami-session-data.ts';
import { umamiSystemRoutes } from './umami-system.ts';
import { umamiValues, VALUES_DOC } from './umami-values.ts';

export function umamiReadRoutes(deps: AppDeps) {
  const guard = umamiGuard(deps);
  const route = readRoute(deps);
  const list = guard(async ({ request }: { request: Request }) => json(websitesOf(deps, request)));
  // Tally has no teams: an empty page, to whoever may list websites.
  const teams = guard(async ({ request }: { request: Request }) => {
    readableProjects(deps, request);
    return json({ data: [], count: 0, ...pageOf(queryOf(request)) });
  });
  return new Elysia({ tags: ['compatibility'] })
    .use(umamiAuthRoutes(deps))
    .use(umamiSystemRoutes())
    .get('/api/websites', list, { detail: WEBSITES_DOC })
    .get('/api/me/websites', list, { detail: ME_WEBSITES_DOC })
    .get('/api/me/teams', teams, { detail: ME_TEAMS_DOC })
    .get('/api/websites/:id', route(website), { detail: WEBSITE_DOC })
    .get('/api/websites/:id/stats', route(stats), { detail: STATS_DOC })
    .get('/api/websites/:id/pageviews', route(pageviews), { detail: PAGEVIEWS_DOC })
    .get('/api/websites/:id/metrics', route(metrics), { detail: METRICS_DOC })
    .get('/api/websites/:id/metrics/expanded', route(metricsExpanded), {
      detail: METRICS_EXPANDED_DOC,
    })
    .get('/api/websites/:id/active', route(active), { detail: ACTIVE_DOC })
    .get('/api/websites/:id/daterange', route(dateRange), { detail: DATERANGE_DOC })
    .get('/api/websites/:id/values', route(umamiValues), { detail: VALUES_DOC })
    .use(umamiActivityRoutes(route))
    .use(umamiEventDataRoutes(route))
    .use(umamiSessionDataRoutes(route))
    .use(umamiRealtimeRoutes(route));
}

/** A website as Umami answers one; Tally keeps no share ids, owners or teams. */
function websiteBody(deps: AppDeps, id: string, project: Project | null) {
  const createdAt = project === null ? null : new Date(project.createdAt).toISOString();
  return {
    id,
    name: project?.name ?? id,
    domain: domainOf(deps.auth, project),
    shareId: null,
    resetAt: null,
    userId: null,
    teamId: null,
    createdBy: null,
    createdAt,
    updatedAt: null,
    deletedAt: null,
  };
}

/** GET /api/websites: the readable projects, by name, paged and searched as Umami's. */
function websitesOf(deps: AppDeps, request: Request) {
  const query = queryOf(request);
  const { page, pageSize } = pageOf(query);
  const search = query.get('search')?.toLowerCase() ?? '';
  const sites = readableProjects(deps, request)
    .map((project) => websiteBody(deps, websiteIdOf(deps.auth, project), project))
    .filter((site) => `${site.name}\n${site.domain}`.toLowerCase().includes(search))
    .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  const data = sites.slice((page - 1) * pageSize, page * pageSize);
  return { data, count: sites.length, page, pageSize };
}

async function website({ deps, website }: ReadContext) {
  return websiteBody(deps, website.id, website.project);
}

const STATS_METRICS: WebMetric[] = ['pageviews', 'visitors', 'visits', 'bounces', 'visit_seconds'];

/** Umami's summary: the totals of the range, and of the range compared with. */
async function stats(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const filters = scopedFilters(ctx.query);
  const totals = async (r: UmamiRange) => {
    const [row] = await webMetricsOf(ctx, r, STATS_METRICS, filters)({ kind: 'total' });
    const value = (metric: WebMetric) => row?.values[metric] ?? 0;
    return {
      pageviews: value('pageviews'),
      visitors: value('visitors'),
      visits: value('visits'),
      bounces: value('bounces'),
      totaltime: value('visit_seconds'),
    };
  };
  const current = await totals(range);
  return { ...current, comparison: await totals(comparedRange(range)) };
}

/** Page views and visitors ("sessions") per bucket that has any, as Umami lists them. */
async function pageviews(ctx: ReadContext) {
  const range = rangeOf(ctx.query);
  const filters = scopedFilters(ctx.query);
  const current = await pageviewSeries(ctx, range, filters);
  // As Umami's `if (filters.compare)`: an empty `compare=` asks for none.
  if (!ctx.query.get('compare')) return current;
  const before = comparedRange(range);
  return {
    ...current,
    ...datesOf(range),
    compare: { ...(await pageviewSeries(ctx, before, filters)), ...datesOf(before) },
  };
}

function datesOf(range: UmamiRange) {
  const iso = (ms: number) => new Date(ms).toISOString();
  return { startDate: iso(range.fromMs), endDate: iso(range.toMs - 1) };
}

/** The top values of one field, each with its visitors (custom events: their count). */
async function metrics(ctx: ReadContext) {
  const { type, read } = metricsRead(ctx, (type) => [type.metric]);
  const rows = await read();
  return rows.map((row) => ({ x: row.key, y: row.values[type.metric] ?? 0 }));
}

const EXPANDED_METRICS: WebMetric[] = ['visitors', 'visits', 'bounces', 'visit_seconds'];

/**
 * Umami's expanded metrics: the top values of one field by visitors, then visits, each with
 * its page views (custom events: their count), visitors, visits, bounces and seconds.
 */
async function metricsExpanded(ctx: ReadContext) {
  const views = (type: MetricType): WebMetric =>
    type.metric === 'events' ? 'events' : 'pageviews';
  const { type, read } = metricsRead(ctx, (type) => [...EXPANDED_METRICS, views(type)]);
  const rows = await read([
    { by: 'visitors', desc: true },
    { by: 'visits', desc: true },
    { by: { key: 0 }, desc: false },
  ]);
  return rows.map((row) => {
    const value = (metric: WebMetric) => row.values[metric] ?? 0;
    return {
      name: row.key,
      pageviews: value(views(type)),
      visitors: value('visitors'),
      visits: value('visits'),
      bounces: value('bounces'),
      totaltime: value('visit_seconds'),
    };
  });
}

/** The read of a `type`'s values, with the range, paging, search and filters of the request. */
function metricsRead(ctx: ReadContext, metricsOf: (type: MetricType) => WebMetric[]) {
  const range = rangeOf(ctx.query);
  const type = metricTypeOf(ctx.query.get('type'));
  const { limit, offset } = pagingOf(ctx.query);
  let filters = filtersOf(ctx.query);
  const search = ctx.query.get('search');
  if (search !== null && search !== '') {
    // As Umami's `filters[type] = c.search`: the search takes the place of the field's filter.
    const field = JSON.stringify(type.field);
    filters = filters.filter((f) => JSON.stringify(f.property) !== field);
    const values = [search];
    filters.push({
      property: type.field,
      values,
      match: 'contains',
      ignoreCase: true,
      negated: false,
    });
  }
  if ('prop' in type.property) filters.push(having(type.property));
  if (type.metric === 'visitors' && !namesEvents(filters)) filters.push(PAGE_VIEWS);
  const read = (order?: WebOrder[]) =>
    webMetricsOf(
      ctx,
      range,
      metricsOf(type),
      filters,
    )({ kind: 'property', property: type.property, limit, offset, ...(order && { order }) });
  return { type, read };
}

/** Visitors with an event in the last 5 minutes. */
async function active({ deps, request, website }: ReadContext) {
  const visitors = await countCurrentVisitors(
    deps.engine.store,
    website.tenant,
    { nowMs: deps.clock.now(), windowMs: queryLimits.currentVisitorsWindowMs },
    request.signal,
  );
  return { visitors };
}

/** The times of the website's first and last events, as Umami's getWebsiteDateRange. */
async function dateRange({ deps, request, website }: ReadContext) {
  const found = await getEventTimeRange(deps.engine.store, website.tenant, request.signal);
  const iso = (ms: number | undefined) => (ms === undefined ? null : new Date(ms).toISOString());
  return { startDate: iso(found?.firstMs), endDate: iso(found?.lastMs) };
}
