// Seed 004 (Analytics Backend): POST /event answers 202 — unlike the original, only once the
// event is durable — and GET /stats?site_id&date gives total views, distinct users and the ten
// most viewed paths of a site. `site_id` is a site alias: the tenant it names (or maps to).

import { Elysia, t } from 'elysia';
import { AppError, eventLimits, type FieldIssue } from '../../core/index.ts';
import { getSiteStats, resolveRange } from '../../query/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import {
  fastApiIngestErrors,
  fastApiReadErrors,
  fastApiRequestBody,
  jsonAnswer,
  jsonInteger,
} from './docs.ts';
import { pydanticDateTime, readFastApiBody, withInputs } from './fastapi.ts';
import { contextOf, ingest, objectOf, renamedIssues } from './ingest.ts';
import { json } from './responses.ts';
import { strptimeDate } from './strptime-date.ts';

const TOP_PATHS = 10;

/** The service's event model (requireFields() below is what checks a body). */
const SiteEventIn = t.Object(
  {
    site_id: t.String({ minLength: 1, description: 'The site: a tenant or a site alias.' }),
    event_type: t.String({ minLength: 1, description: 'e.g. page_view' }),
    timestamp: t.Union([t.String(), t.Number()], {
      description:
        'ISO 8601 (UTC without a zone; a bare date is its midnight) or epoch seconds or ' +
        'milliseconds, as Pydantic reads a datetime.',
    }),
    path: t.Optional(t.String({ description: 'URL path visited.' })),
    user_id: t.Optional(t.String()),
  },
  { additionalProperties: true },
);

/** The service's documented request example. */
const exampleSiteEvent = {
  site_id: 'site-abc-123',
  event_type: 'page_view',
  path: '/pricing',
  user_id: 'user-xyz-789',
  timestamp: '2025-11-15T18:30:01Z',
};

const SiteStatsOut = t.Object({
  site_id: t.String(),
  date: t.Nullable(t.String({ description: 'As asked; null for all time.' })),
  total_views: jsonInteger(),
  unique_users: jsonInteger(),
  top_paths: t.Array(t.Object({ path: t.String(), views: jsonInteger() })),
});

export function seed004Routes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] })
    .post(
      '/event',
      async ({ request, server }) => {
        admitIngest(deps);
        const body = await readFastApiBody(request, eventLimits.eventBytesMax, { oneEvent: true });
        const ctx = contextOf(deps, request, server);
        let events: ReturnType<typeof prepareEvents>;
        try {
          const item = requireFields(objectOf(body));
          const input = {
            tenant_id: item.site_id,
            name: item.event_type,
            timestamp: pydanticDateTime(item.timestamp),
            // The model's optional text takes "" (no min_length); no event path or user id is
            // empty here, so "" is none rather than a 422 that loses the event.
            path: item.path === '' ? undefined : item.path,
            user_id: item.user_id === '' ? undefined : item.user_id,
          };
          events = prepareEvents([input], ctx, () => ['body']);
        } catch (error) {
          const renamed = renamedIssues(error, { tenant_id: 'site_id', name: 'event_type' });
          throw withInputs(renamed, { body });
        }
        await ingest(deps, request, events, () => ['body']);
        return json({ status: 'success', message: 'Event queued for processing' }, 202);
      },
      {
        parse: 'none',
        detail: {
          summary: 'Analytics Backend: record one event',
          description: '202 once the event is durable (the original answered before writing).',
          requestBody: fastApiRequestBody(SiteEventIn, exampleSiteEvent),
          responses: {
            202: jsonAnswer(
              'Stored',
              t.Object({ status: t.Literal('success'), message: t.String() }),
              { status: 'success', message: 'Event queued for processing' },
            ),
            ...fastApiIngestErrors(),
          },
        },
      },
    )
    .get(
      '/stats',
      async ({ query, request }) => {
        const tenant = deps.tenancy.forRead(request, { tenant_id: query.site_id });
        noteTenant(request, tenant);
        let range: ReturnType<typeof resolveRange> | Record<string, never> = {};
        try {
          // The service filters `if date:`, so `date=` (a blank form field) is all time.
          if (query.date !== undefined && query.date !== '') {
            range = resolveRange({ date: dayOf(query.date) });
          }
        } catch (error) {
          throw withInputs(error, { query });
        }
        const stats = await getSiteStats(
          deps.engine.store,
          tenant,
          { ...range, top: TOP_PATHS },
          request.signal,
        );
        return {
          site_id: query.site_id,
          date: query.date ?? null,
          total_views: stats.totalViews,
          unique_users: stats.uniqueUsers,
          top_paths: stats.topPaths,
        };
      },
      {
        query: t.Object({
          site_id: t.String({ minLength: 1, maxLength: eventLimits.tenantCharsMax }),
          date: t.Optional(
            t.String({
              description:
                "A UTC day, YYYY-MM-DD, read as Python's strptime(date, '%Y-%m-%d') reads it: " +
                'month and day of one or two digits (2025-11-5), no spaces around; empty is ' +
                'all time.',
            }),
          ),
        }),
        // Before the query is validated: a site_id not sent is FastAPI's `Field required`.
        transform: ({ query }) => requireSiteId(query),
        detail: {
          summary: 'Analytics Backend: totals and top paths of a site',
          description:
            'total_views counts every event of the site (on the UTC day `date` when given); ' +
            'unique_users distinct user_ids; top_paths the 10 most frequent paths, ties by path.',
          responses: {
            200: jsonAnswer('Totals and top paths', SiteStatsOut, {
              site_id: 'site-abc-123',
              date: '2025-11-15',
              total_views: 1500,
              unique_users: 450,
              top_paths: [
                { path: '/pricing', views: 300 },
                { path: '/features', views: 250 },
              ],
            }),
            ...fastApiReadErrors(),
          },
        },
      },
    );
}

/** FastAPI's 422 for its required `site_id` query parameter when it is not sent. */
function requireSiteId(query: Record<string, unknown>): void {
  if (query.site_id !== undefined) return;
  throw AppError.validation([
    { loc: ['query', 'site_id'], msg: 'Field required', type: 'missing', input: null },
  ]);
}

/**
 * The day of `date` as the service reads it, `datetime.strptime(date, '%Y-%m-%d')`, which takes
 * a month and day of one digit (2025-11-5) but no whitespace around; a 422 where it raises.
 */
function dayOf(date: string): string {
  const day = strptimeDate(date);
  if (day !== null) return day;
  throw AppError.validation([
    {
      loc: ['query', 'date'],
      msg: `date must be a calendar date, YYYY-MM-DD or YYYY-M-D (got "${date}")`,
      type: 'date_parsing',
    },
  ]);
}

/**
 * The service's model checked as Pydantic checks it, every field in one pass: site_id,
 * event_type and timestamp required (absent: `Field required`; null or another type: not a
 * valid string or datetime), path and user_id optional strings (null is none).
 */
function requireFields(item: Record<string, unknown> | undefined): Record<string, unknown> {
  if (item === undefined) {
    throw AppError.validation([
      { loc: ['body'], msg: 'Input should be a valid dictionary', type: 'dict_type' },
    ]);
  }
  const issues: FieldIssue[] = [];
  for (const field of ['site_id', 'event_type', 'timestamp', 'path', 'user_id']) {
    const value = item[field];
    const required = field === 'site_id' || field === 'event_type' || field === 'timestamp';
    const loc = ['body', field];
    if (value === undefined) {
      if (required) issues.push({ loc, msg: 'Field required', type: 'missing' });
    } else if (field === 'timestamp') {
      if (typeof value !== 'string' && typeof value !== 'number') {
        issues.push({ loc, msg: 'Input should be a valid datetime', type: 'datetime_type' });
      }
    } else if (typeof value !== 'string' && (required || value !== null)) {
      issues.push({ loc, msg: 'Input should be a valid string', type: 'string_type' });
    }
  }
  if (issues.length > 0) throw AppError.validation(issues);
  return item;
}
