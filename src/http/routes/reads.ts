// The read API (DESIGN.md §5): stats, time series, funnels (funnel.ts), cohort retention
// (cohorts.ts), event and metric lists, single metrics, metric aggregates and ad-hoc SQL
// (sql.ts), each a thin handler over one query of query/. Every route asks `tenantOf` for the
// tenant, so authentication can replace it in one place.

import { Elysia, t } from 'elysia';
import type { Auth } from '../../auth/index.ts';
import { AppError, eventLimits, type Logger } from '../../core/index.ts';
import type { TenantDeletions } from '../../engine/index.ts';
import {
  aggregateMetric,
  type EventSource,
  filtersOf,
  getMetric,
  getStats,
  getTimeSeries,
  listEvents,
  listIncludesBots,
  listMetrics,
  type PageBounds,
  parseGroupBy,
  propertyFiltersOf,
  queryLimits,
  resolveRange,
  resolveSeriesRange,
  VISIT_REACH_MINUTES,
  visitScopeOf,
} from '../../query/index.ts';
import { noteTenant } from '../context.ts';
import { readAnswers } from '../openapi-docs.ts';
import {
  eventPageExample,
  metricAggregateExample,
  metricPageExample,
  metricPointExample,
  statsExample,
  timeSeriesExample,
} from '../openapi-examples.ts';
import { rangeEcho } from '../range-echo.ts';
import {
  EventPageOut,
  MetricAggregateOut,
  MetricPageOut,
  MetricPointOut,
  StatsOut,
  TimeSeriesOut,
} from '../read-model.ts';
import {
  bucketParam,
  dateParam,
  EventsQuery,
  FILTER_NOTE,
  MetricsQuery,
  rangeParams,
  SeriesQuery,
  StatsQuery,
  tenantParam,
  tzParam,
  VISIT_FILTER_NOTE,
} from '../read-params.ts';
import { refuseRepeatedParameters } from '../repeated-params.ts';
import { cohortRoutes } from './cohorts.ts';
import { exportRoutes } from './export.ts';
import { funnelRoutes } from './funnel.ts';
import { sqlRoutes } from './sql.ts';

export interface ReadDeps {
  source: EventSource;
  /**
   * The tenant a read acts for (TenantResolver.forRead): `rateLimited: false` checks again,
   * without spending the rate limit, the credentials of a read already admitted (an export's).
   */
  tenantOf: (
    request: Request,
    query: Record<string, string | undefined>,
    options?: { rateLimited?: boolean },
  ) => string;
  /** Time limit of one SQL statement (408 beyond). */
  queryTimeoutMs: number;
  /** Rows one SQL statement returns at most (`truncated: true` beyond). */
  queryRowsMax: number;
  /** Bounds of an NDJSON or CSV export's pages; queryLimits' when absent. */
  exportPage?: PageBounds;
  /** The current time (UTC epoch ms) for default ranges; Date.now when absent. */
  now?: () => number;
  /** Where an export that fails after its answer began is reported. */
  log?: Logger;
  /**
   * Project deletions: an export whose project is deleted while it is sent is cut at once (a
   * page read after the deletion holds none of its events, and the export would end as if
   * whole). None: only its credentials' re-check cuts it.
   */
  deletions?: Pick<TenantDeletions, 'decidedOf'>;
  /** Losses of access made through Tally: an export they end is cut at once (export-access.ts). */
  accessLost?: Pick<Auth['accessLost'], 'listen'>;
  /**
   * When the copy of an id received last was received at the earliest, if known (the dedup
   * index's `receivedSince`): a lookup by id opens only segments holding later events.
   */
  receivedSince?: (tenant: string, eventId: string) => number | null;
}

type Query = Record<string, string | number | undefined>;
export type TenantOf = (request: Request, query: Query) => string;

export function readRoutes(deps: ReadDeps) {
  const tenantOf: TenantOf = (request, query) => {
    const tenant = deps.tenantOf(request, query as Record<string, string | undefined>);
    noteTenant(request, tenant);
    return tenant;
  };
  return (
    new Elysia()
      // Before the query is validated or read (a range, a visit filter) by any of these routes:
      // a query string read two ways, or a parameter given twice, is refused first.
      .onTransform(({ request }) => refuseRepeatedParameters(request))
      .use(statsRoutes(deps, tenantOf))
      .use(seriesRoutes(deps, tenantOf))
      .use(funnelRoutes(deps, tenantOf))
      .use(cohortRoutes(deps, tenantOf))
      .use(listRoutes(deps, tenantOf))
      .use(metricRoutes(deps, tenantOf))
      .use(sqlRoutes(deps, tenantOf))
      .use(exportRoutes(deps, tenantOf))
  );
}

function statsRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  return new Elysia({ prefix: '/api/v1', tags: ['reads'] }).get(
    '/stats',
    async ({ query, request }) => {
      const range = resolveRange(query);
      const stats = await getStats(
        deps.source,
        tenantOf(request, query),
        {
          filters: filtersOf(query, request.url, range),
          top: query.top ?? queryLimits.topDefault,
          visits: visitScopeOf(query),
        },
        request.signal,
      );
      return { ...stats, ...rangeEcho(range) };
    },
    {
      query: StatsQuery,
      detail: {
        summary: 'Totals and top lists of events',
        responses: readAnswers(StatsOut, 'Totals and top lists over the range', statsExample),
        description:
          'Exact counts over the range (all time when absent): events, page views (names ' +
          'page_view, pageview, $pageview, page), distinct users, visitors and session ids, ' +
          'mean event duration; visits (one session_id, else one visitor with no gap over ' +
          '30 min, joining the session it follows; each with an event in the range, read ' +
          `whole: its events up to ${VISIT_REACH_MINUTES / 60} hours around the range too, ` +
          'as Plausible reads its ' +
          'sessions), bounce rate (visits of at most one ' +
          'interactive event), visit duration ' +
          '(first to last event, bounces 0) and views per visit, as Plausible defines ' +
          "them; entry and exit pages, traffic sources (Plausible's Sources, " +
          "top_referrer_sources) and acquisition channels (Plausible's Channels, " +
          "top_channels) by visit, a visit credited to its first event's source; " +
          'and the top paths (by page views), referrers, event names, ' +
          'operating systems, browsers, devices and countries (GEOIP_DB); and the campaign ' +
          "tags of the visits' entry URLs (Plausible's Campaigns: top_utm_mediums … " +
          `top_utm_terms).${FILTER_NOTE}${VISIT_FILTER_NOTE}`,
      },
    },
  );
}

function seriesRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  const now = deps.now ?? Date.now;
  return new Elysia({ prefix: '/api/v1', tags: ['reads'] }).get(
    '/timeseries',
    async ({ query, request }) => {
      const bucket = query.bucket ?? 'day';
      const metric = query.metric ?? 'count';
      const range = resolveSeriesRange(query, bucket, now());
      const result = await getTimeSeries(
        deps.source,
        tenantOf(request, query),
        {
          ...range,
          metric,
          bucket,
          filters: filtersOf(query, request.url, range),
          groupBy: parseGroupBy(query.group_by),
          visits: visitScopeOf(query),
          seriesMax: query.series ?? queryLimits.seriesDefault,
          fill: query.fill === 'zero',
        },
        request.signal,
      );
      const groupBy = query.group_by ?? null;
      return { metric, bucket, group_by: groupBy, ...rangeEcho(range), ...result };
    },
    {
      query: SeriesQuery,
      detail: {
        summary: 'A metric per time bucket, optionally grouped',
        responses: readAnswers(
          TimeSeriesOut,
          'One series per group (one when not grouped)',
          timeSeriesExample,
        ),
        description:
          'Buckets start at local minute/hour/midnight/Monday/first-of-month boundaries of ' +
          'tz (DST-correct: a day has 23 to 25 hours) and are labelled in ISO 8601 with ' +
          `their offset; at most ${queryLimits.bucketsMax}. Without from, the range is the ` +
          'last hour, day, 30 days, 12 weeks or 12 months before to (default now), by ' +
          'bucket, in calendar days and months of tz. ' +
          'group_by keeps the top N groups by event count (an event without the field is in ' +
          'none; empty text is a group). fill=zero lists every ' +
          'bucket: empty ones are 0 for count, uniques and sum, null for the others. ' +
          "A visit group_by counts each event under its visit's value." +
          FILTER_NOTE +
          VISIT_FILTER_NOTE,
      },
    },
  );
}

function listRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  const now = deps.now ?? Date.now;
  return new Elysia({ prefix: '/api/v1', tags: ['events'] }).get(
    '/events',
    async ({ query, request }) => {
      const { fromMs, toMs } = resolveRange(query);
      return listEvents(
        deps.source,
        tenantOf(request, query),
        {
          ...query,
          properties: propertyFiltersOf(request.url),
          includeBots: listIncludesBots(query),
          fromMs,
          toMs,
          limit: query.limit ?? queryLimits.pageDefault,
          visits: visitScopeOf(query),
          nowMs: now(),
        },
        request.signal,
      );
    },
    {
      query: EventsQuery,
      detail: {
        summary: 'List stored events, newest first',
        responses: readAnswers(
          EventPageOut,
          'A page of events and the cursor of the next',
          eventPageExample,
        ),
        description:
          'Ordered by (timestamp desc, event_id); pass next_cursor as cursor for the next ' +
          'page (null on the last). Keyset pages: stable and equally fast at any depth.' +
          FILTER_NOTE +
          VISIT_FILTER_NOTE,
      },
    },
  );
}

function metricRoutes(deps: ReadDeps, tenantOf: TenantOf) {
  const now = deps.now ?? Date.now;
  return new Elysia({ prefix: '/api/v1/metrics', tags: ['metrics'] })
    .get(
      '',
      async ({ query, request }) => {
        const { fromMs, toMs } = resolveRange(query);
        return listMetrics(
          deps.source,
          tenantOf(request, query),
          {
            ...query,
            fromMs,
            toMs,
            limit: query.limit ?? queryLimits.pageDefault,
            nowMs: now(),
          },
          request.signal,
        );
      },
      {
        query: MetricsQuery,
        detail: {
          summary: 'List metric data points, newest first',
          responses: readAnswers(
            MetricPageOut,
            'A page of metric points and the cursor of the next',
            metricPageExample,
          ),
          description:
            'A metric point is an event with a value: its name is the metric, its properties ' +
            'are its tags. Paged like GET /api/v1/events.',
        },
      },
    )
    .get(
      '/aggregate/:name',
      async ({ params, query, request }) => {
        const bucket = query.bucket ?? 'hour';
        const range = resolveSeriesRange(query, bucket, now());
        const tenant = tenantOf(request, query);
        const buckets = await aggregateMetric(
          deps.source,
          tenant,
          params.name,
          {
            ...range,
            bucket,
          },
          request.signal,
        );
        return { name: params.name, bucket, ...rangeEcho(range), buckets };
      },
      {
        params: t.Object({ name: t.String({ maxLength: eventLimits.nameCharsMax }) }),
        query: t.Object({
          ...tenantParam,
          bucket: bucketParam('hour'),
          ...dateParam,
          ...rangeParams,
          ...tzParam,
        }),
        detail: {
          summary: 'Aggregate one metric per time bucket',
          responses: readAnswers(
            MetricAggregateOut,
            'One row per bucket that has points',
            metricAggregateExample,
          ),
          description:
            'count, sum, avg, min, max, p50 and p95 of the values in each bucket that has ' +
            'points; percentiles interpolate linearly between the two nearest values (p50 of ' +
            '1, 2, 3, 4 is 2.5). Buckets and default ranges as in GET /api/v1/timeseries.',
        },
      },
    )
    .get(
      '/:id',
      async ({ params, query, request }) => {
        const tenant = tenantOf(request, query);
        const metric = await getMetric(deps.source, tenant, params.id, {
          signal: request.signal,
          receivedSinceMs: deps.receivedSince?.(tenant, params.id),
        });
        if (metric !== null) return metric;
        throw new AppError('not_found', `no metric point ${params.id} for tenant ${tenant}`);
      },
      {
        params: t.Object({ id: t.String({ maxLength: eventLimits.eventIdCharsMax }) }),
        query: t.Object(tenantParam),
        detail: {
          summary: 'Get one metric data point',
          responses: readAnswers(MetricPointOut, 'The metric point', metricPointExample, {
            404: 'No such point',
          }),
        },
      },
    );
}
