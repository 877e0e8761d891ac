// Seed 003 (FastAPI Analytics API): POST /api/events/ → the stored model; GET /api/events/ →
// counts and mean duration per time bucket, page and operating system (the OS by the service's
// user-agent rules, derived at ingest); GET /api/events/{id}/; GET / and GET /healthz.

import { Elysia, t } from 'elysia';
import {
  AppError,
  type BaseEvent,
  type EventInput,
  eventLimits,
  type FieldIssue,
  presentEvent,
} from '../../core/index.ts';
import { aggregatePageVisits, getEvent, queryLimits } from '../../query/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { lookupOf } from '../event-lookup.ts';
import { tenantIdSchema } from '../model.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import { fastApiIngestErrors, fastApiReadErrors, fastApiRequestBody, jsonAnswer } from './docs.ts';
import { pythonFloat, readFastApiBody, withInputs } from './fastapi.ts';
import { sentIpOf } from './fitted-fields.ts';
import { contextOf, ingest, objectOf, renamedIssues } from './ingest.ts';
import { bucketWidth } from './seed-003-interval.ts';
import {
  canonicalUuid,
  exampleVisit,
  exampleVisitOut,
  VisitBucketsOut,
  VisitIn,
  VisitOut,
} from './seed-003-model.ts';

/** The service's DEFAULT_LOOKUP_PAGES, used when `pages` is absent. */
const DEFAULT_LOOKUP_PAGES = [
  '/',
  '/about',
  '/pricing',
  '/contact',
  '/blog',
  '/products',
  '/login',
  '/register',
  '/services',
  '/support',
  '/dashboard',
  '/settings',
];

/** Event name the visits of this API are stored under (counted as page views everywhere). */
const VISIT_NAME = 'page_view';
/** The `pages` one GET /api/events/ may name. */
export const PAGES_MAX = 100;
/** An integer as Pydantic's lax mode reads one from text: a sign, `_` between digits, `.0…`. */
const INT_TEXT = /^([+-]?)(\d+(?:_\d+)*)(?:\.0*)?$/;

/** Answers of the reads that take an optional tenant_id (a member of several must pass it). */
const visitReadErrors = () =>
  fastApiReadErrors({
    400: 'AUTH_MODE=required: a member of several projects must pass tenant_id',
  });

export function seed003Routes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] })
    .get('/', () => ({ hello: 'world' }), {
      detail: {
        summary: 'Analytics API: greeting',
        responses: {
          200: jsonAnswer('The greeting', t.Object({ hello: t.Literal('world') }), {
            hello: 'world',
          }),
        },
      },
    })
    .get('/healthz', () => ({ status: 'ok' }), {
      detail: {
        summary: 'Analytics API: health',
        responses: {
          200: jsonAnswer('The process answers', t.Object({ status: t.Literal('ok') }), {
            status: 'ok',
          }),
        },
      },
    })
    .use(visitRoutes(deps));
}

function visitRoutes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] })
    .post(
      '/api/events/',
      async ({ request, server }) => {
        admitIngest(deps);
        const body = await readFastApiBody(request, eventLimits.eventBytesMax, { oneEvent: true });
        let input: EventInput;
        try {
          input = visitOf(body);
        } catch (error) {
          throw withInputs(error, { body });
        }
        const ctx = contextOf(deps, request, server);
        // The service's user_agent is its body's ('' when absent), never the request's header:
        // its clients relay a visitor's agent, and their own (a server's) would set the OS.
        ctx.userAgent = null;
        let events: BaseEvent[];
        try {
          events = prepareEvents([input], ctx, () => ['body']);
        } catch (error) {
          // The body's names: its page is the event's path, its description a property.
          throw withInputs(renamedIssues(error, { path: 'page', properties: 'description' }), {
            body,
          });
        }
        const event = events[0] as BaseEvent;
        // Its service keeps the body's ip_address ('' when absent), never the connection's.
        if (input.ip === undefined) event.storeIp = false;
        await ingest(deps, request, events, () => ['body']);
        // As stored, not read back: a read's 429 after storing would make a retry a second visit.
        const ip = deps.engine.keepsIp && event.storeIp !== false ? event.ip : null;
        return presentVisit(presentEvent({ ...event, ip }));
      },
      {
        parse: 'none',
        detail: {
          summary: 'Analytics API: record one page visit',
          requestBody: fastApiRequestBody(VisitIn, exampleVisit),
          responses: {
            200: jsonAnswer('Stored; the EventModel', VisitOut, exampleVisitOut),
            ...fastApiIngestErrors(),
          },
        },
      },
    )
    .get(
      '/api/events/',
      async ({ request, query }) => {
        const tenant = deps.tenancy.forRead(request, { tenant_id: query.tenant_id });
        noteTenant(request, tenant);
        const pages = new URL(request.url).searchParams.getAll('pages');
        const sources = { query: { duration: query.duration, pages } };
        let buckets: Awaited<ReturnType<typeof aggregatePageVisits>>;
        try {
          buckets = await aggregatePageVisits(
            deps.engine.store,
            tenant,
            {
              width: bucketWidth(query.duration ?? '1 day'),
              pages: pagesOf(pages),
              rowsMax: queryLimits.bucketsMax,
            },
            request.signal,
          );
        } catch (error) {
          throw withInputs(error, sources);
        }
        // avg_duration is the schema's float: written as Python writes one (25.0, not 25).
        // EventBucketSchema's `ua` (default "") is in every row: its query fills none.
        const rows = buckets.map((b) => {
          const head = JSON.stringify({
            bucket: new Date(b.bucketMs).toISOString().slice(0, 19),
            page: b.page,
            ua: '',
            operating_system: b.os,
          }).slice(0, -1);
          const avg = b.avgDuration === null ? 'null' : pythonFloat(b.avgDuration);
          return `${head},"avg_duration":${avg},"count":${b.count}}`;
        });
        return new Response(`[${rows.join(',')}]`, {
          headers: { 'content-type': 'application/json;charset=utf-8' },
        });
      },
      {
        query: t.Object({
          duration: t.Optional(t.String({ maxLength: 32 })),
          pages: t.Optional(t.Union([t.String(), t.Array(t.String())])),
          tenant_id: t.Optional(
            tenantIdSchema('The project; needed when the caller may read several.'),
          ),
        }),
        detail: {
          summary: 'Analytics API: visits per bucket, page and OS',
          description:
            'duration: a PostgreSQL interval of seconds to weeks, e.g. `15 minutes`, `1h`, ' +
            '`1 hour 30 minutes`, `01:00:00`, `PT1H` (time_bucket widths, origin ' +
            'Monday 2000-01-03 UTC), or of whole months or years, `1 month`, `1 year` (from ' +
            '2000-01-01 UTC). pages: repeat the parameter; a default list when absent.',
          responses: {
            200: jsonAnswer('One row per bucket, page and operating system', VisitBucketsOut, [
              {
                bucket: '2023-10-27T00:00:00',
                page: '/homepage',
                ua: '',
                operating_system: 'Windows',
                avg_duration: 15,
                count: 1,
              },
            ]),
            ...visitReadErrors(),
          },
        },
      },
    )
    .get(
      '/api/events/:event_id/',
      async ({ params, query, request, set }) => {
        let id: string;
        try {
          id = canonicalUuid(params.event_id);
        } catch (error) {
          throw withInputs(error, { path: params });
        }
        const tenant = deps.tenancy.forRead(request, { tenant_id: query.tenant_id });
        noteTenant(request, tenant);
        // The service's ids are UUID values: any spelling names the one stored (this API
        // stores the canonical one); an id stored as written by another API is found as asked.
        for (const key of new Set([params.event_id, id])) {
          const lookup = lookupOf(deps.engine, tenant, key, request.signal);
          const stored = await getEvent(deps.engine.store, tenant, key, lookup);
          if (stored !== null) return presentVisit(stored);
        }
        set.status = 404;
        return { detail: `Event with id: ${id} not found.` };
      },
      {
        query: t.Object({
          tenant_id: t.Optional(
            tenantIdSchema('The project; needed when the caller may read several.'),
          ),
        }),
        detail: {
          summary: 'Analytics API: one stored event',
          responses: {
            200: jsonAnswer('The EventModel', VisitOut, exampleVisitOut),
            404: jsonAnswer('No such event', t.Object({ detail: t.String() }), {
              detail: 'Event with id: 3f2b8c1e-9a4d-4e7f-b6c5-1d2e3f4a5b6c not found.',
            }),
            ...visitReadErrors(),
          },
        },
      },
    );
}

/** The unified event of an EventCreateSchema body (page required; the rest optional). */
function visitOf(value: unknown): EventInput {
  const body = objectOf(value);
  if (body === undefined) {
    throw AppError.validation([
      // EventCreateSchema is a SQLModel, whose config reads from attributes: Pydantic's words.
      {
        loc: ['body'],
        msg: 'Input should be a valid dictionary or object to extract fields from',
        type: 'model_attributes_type',
      },
    ]);
  }
  const issues: FieldIssue[] = [];
  const text = (field: string): string | undefined => {
    const v = body[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v === 'string') return v;
    issues.push({
      loc: ['body', field],
      msg: 'Input should be a valid string',
      type: 'string_type',
    });
    return undefined;
  };
  const page = text('page');
  if (body.page === null) {
    // Pydantic: a required str given null is the wrong type, not a missing field.
    issues.push({
      loc: ['body', 'page'],
      msg: 'Input should be a valid string',
      type: 'string_type',
    });
  } else if (body.page === '') {
    // The service takes "" (no event path can be empty here: a kept limit, README "Limits").
    issues.push({
      loc: ['body', 'page'],
      msg: 'page must be at least 1 character',
      type: 'string_too_short',
    });
  } else if (page === undefined && issues.length === 0) {
    issues.push({ loc: ['body', 'page'], msg: 'Field required', type: 'missing' });
  }
  const duration = durationOf(body.duration, issues);
  const input: EventInput = {
    event_id: crypto.randomUUID(),
    name: VISIT_NAME,
    path: page ?? '',
    // Any text to the service: one that is no address is none (sentIpOf), as on the SDK routes.
    ip: sentIpOf(text('ip_address')),
    user_agent: text('user_agent'),
    referrer: text('referrer'),
    session_id: text('session_id'),
    ...(duration === null ? {} : { duration }),
  };
  const description = text('description');
  if (issues.length > 0) throw AppError.validation(issues);
  return description === undefined ? input : { ...input, properties: { description } };
}

/**
 * The model's `duration: Optional[int] = 0` as Pydantic reads it: absent is 0, null is none
 * (stored without one, left out of avg_duration as SQL's avg leaves a NULL out), an integer,
 * and in its lax mode a float without a fraction, a boolean (1 or 0) or an integer's text
 * (`"15"`, ` +15 `, `1_000`, `15.00`).
 */
function durationOf(value: unknown, issues: FieldIssue[]): number | null {
  if (value === undefined) return 0;
  if (value === null) return null;
  if (typeof value === 'boolean') return value ? 1 : 0;
  const fail = (msg: string, type: string) => {
    issues.push({ loc: ['body', 'duration'], msg: `Input should be a valid integer${msg}`, type });
    return null;
  };
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return value;
    return fail(', got a number with a fractional part', 'int_from_float');
  }
  if (typeof value !== 'string') return fail('', 'int_type');
  const digits = INT_TEXT.exec(value.trim());
  if (digits === null) return fail(', unable to parse string as an integer', 'int_parsing');
  return Number(`${digits[1]}${(digits[2] as string).replaceAll('_', '')}`);
}

/** The service's EventModel of a stored event. */
function presentVisit(e: Record<string, unknown>): Record<string, unknown> {
  const text = (v: unknown) => (typeof v === 'string' ? v : '');
  const properties = objectOf(e.properties);
  return {
    id: e.event_id,
    time: e.timestamp,
    page: text(e.path),
    ip_address: text(e.ip),
    user_agent: text(e.user_agent),
    referrer: text(e.referrer),
    session_id: typeof e.session_id === 'string' ? e.session_id : null,
    duration: typeof e.duration === 'number' ? e.duration : null,
    description: text(properties?.description),
  };
}

function pagesOf(pages: string[]): string[] {
  if (pages.length === 0) return DEFAULT_LOOKUP_PAGES;
  if (pages.length > PAGES_MAX || pages.some((p) => p.length > eventLimits.urlCharsMax)) {
    throw AppError.validation([
      {
        loc: ['query', 'pages'],
        msg: `at most ${PAGES_MAX} pages of at most ${eventLimits.urlCharsMax} characters`,
        type: 'too_long',
      },
    ]);
  }
  return pages;
}
