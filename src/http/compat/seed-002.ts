// Seed 002 (Ingestion & Aggregation): idempotent POST /events (201 new, 200 repeat, both with the
// stored event), POST /events/bulk (≤ 5,000), offset-paged GET /events and bucketed GET /metrics.
// Its /health and /ready are the app's own (same paths, same meaning).

import { Elysia } from 'elysia';
import {
  AppError,
  type BaseEvent,
  eventLimits,
  type FieldIssue,
  requestLimits,
} from '../../core/index.ts';
import { countEventBuckets, getEvent, listEventPage, queryLimits } from '../../query/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { lookupOf } from '../event-lookup.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import { fastApiIngestErrors, fastApiReadErrors, fastApiRequestBody, jsonAnswer } from './docs.ts';
import { readFastApiBody, withInputs } from './fastapi.ts';
import { contextOf, ingest, objectOf, renamedIssues, type Server } from './ingest.ts';
import { json } from './responses.ts';
import {
  BUCKET_SIZES,
  BULK_EVENTS_MAX,
  BulkIn,
  BulkOut,
  EventPageOut,
  EventsQuery,
  exampleBulk,
  exampleIngestionEvent,
  exampleIngestionEventOut,
  INGESTION_NAMES,
  type IngestionEvent,
  IngestionEventIn,
  IngestionEventOut,
  ingestionIssues,
  inputOf,
  MetricsOut,
  MetricsQuery,
  NOT_A_MODEL,
  presentIngestionEvent,
  rangeOfQuery,
  timestampIssues,
} from './seed-002-model.ts';

export function seed002Routes(deps: AppDeps) {
  return new Elysia().use(writeRoutes(deps)).use(readRoutes(deps));
}

/**
 * Validates and writes `items`; every bad item is named in one 422 and nothing is written.
 * Each issue shows its `input` (the value at its loc in `body`), as FastAPI on Pydantic v2 does.
 */
async function write(
  deps: AppDeps,
  request: Request,
  server: Server,
  items: unknown[],
  loc: LocOf,
  body: unknown,
) {
  const issues = items.flatMap((item, i) => ingestionIssues(item, loc(i)));
  if (issues.length > 0) throw withInputs(AppError.validation(issues), { body });
  const ctx = contextOf(deps, request, server);
  let events: BaseEvent[];
  try {
    events = prepareEvents((items as IngestionEvent[]).map(inputOf), ctx, loc);
  } catch (error) {
    throw withInputs(timestampIssues(renamedIssues(error, INGESTION_NAMES)), { body });
  }
  return { events, outcome: await ingest(deps, request, events, loc) };
}

/** Whether the request's credentials may read `tenant` (checked without spending its rate). */
function mayRead(deps: AppDeps, request: Request, tenant: string): boolean {
  try {
    return deps.tenancy.forRead(request, { tenant_id: tenant }, { rateLimited: false }) === tenant;
  } catch {
    return false;
  }
}

function writeRoutes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] })
    .post(
      '/events',
      async ({ request, server }) => {
        admitIngest(deps);
        const item = await readFastApiBody(request, eventLimits.eventBytesMax, { oneEvent: true });
        const loc = () => ['body'];
        const { events, outcome } = await write(deps, request, server, [item], loc, item);
        const event = events[0] as BaseEvent;
        const tenantId = (item as IngestionEvent).tenant_id;
        if (outcome.accepted === 1) return json(presentIngestionEvent(event, tenantId), 201);
        // The service answers a repeat with the stored event. Its fields are the tenant's data:
        // only a caller that may read the tenant sees them; a write-only key (or a beacon)
        // gets its own event back, so it cannot read stored events by guessing their ids.
        if (!mayRead(deps, request, event.tenant)) {
          return json(presentIngestionEvent(event, tenantId), 200);
        }
        const stored = await getEvent(
          deps.engine.store,
          event.tenant,
          event.event_id,
          lookupOf(deps.engine, event.tenant, event.event_id, request.signal),
        );
        const repeat = stored === null ? event : storedFields(stored, event);
        return json(presentIngestionEvent(repeat, tenantId), 200);
      },
      {
        parse: 'none',
        detail: {
          summary: 'Ingestion service: create one event (idempotent on event_id)',
          description:
            '201 with the stored event when new; 200 with the stored one for a repeat (when ' +
            'the credentials may read the tenant; a write-only key gets its own event back).',
          requestBody: fastApiRequestBody(IngestionEventIn, exampleIngestionEvent),
          responses: {
            201: jsonAnswer(
              'Created; the stored event',
              IngestionEventOut,
              exampleIngestionEventOut,
            ),
            200: jsonAnswer(
              'A repeat of a stored event_id: the stored event, unchanged ' +
                '(to a write-only key, its own event)',
              IngestionEventOut,
              exampleIngestionEventOut,
            ),
            ...fastApiIngestErrors(),
          },
        },
      },
    )
    .post(
      '/events/bulk',
      async ({ request, server }) => {
        admitIngest(deps);
        const body = await readFastApiBody(request, requestLimits.bodyBytesMax);
        const items = bulkItems(body);
        if (items.length === 0) return json({ received: 0, inserted: 0, duplicates: 0 });
        const locOf = (i: number) => ['body', 'events', i];
        const { outcome } = await write(deps, request, server, items, locOf, body);
        return json({
          received: items.length,
          inserted: outcome.accepted,
          duplicates: outcome.duplicates,
        });
      },
      {
        parse: 'none',
        detail: {
          summary: 'Ingestion service: create up to 5,000 events',
          description:
            'All-or-nothing validation; repeats of stored event_ids count as duplicates.',
          requestBody: fastApiRequestBody(BulkIn, exampleBulk),
          responses: {
            200: jsonAnswer('Stored (an empty list stores nothing)', BulkOut, {
              received: 1,
              inserted: 1,
              duplicates: 0,
            }),
            ...fastApiIngestErrors(),
          },
        },
      },
    );
}

function readRoutes(deps: AppDeps) {
  return new Elysia({ tags: ['compatibility'] })
    .get(
      '/events',
      async ({ query, request }) => {
        const tenant = readTenant(deps, request, query);
        const page = query.page ?? 1;
        const pageSize = query.page_size ?? queryLimits.pageDefault;
        const result = await listEventPage(
          deps.engine.store,
          tenant,
          {
            source: query.source,
            name: query.event_type,
            ...rangeOfQuery(query),
            page,
            pageSize,
          },
          request.signal,
        );
        return {
          items: result.items.map((e) => presentIngestionEvent(e, query.tenant_id)),
          page,
          page_size: pageSize,
          total: result.total,
        };
      },
      {
        query: EventsQuery,
        transform: ({ query }) => requireTenantId(query),
        detail: {
          summary: 'Ingestion service: list events',
          description: 'Ordered by timestamp, then event_id; `end` is inclusive.',
          responses: {
            200: jsonAnswer('One page of events', EventPageOut, {
              items: [exampleIngestionEventOut],
              page: 1,
              page_size: 100,
              total: 1,
            }),
            ...fastApiReadErrors(),
          },
        },
      },
    )
    .get(
      '/metrics',
      async ({ query, request }) => {
        const tenant = readTenant(deps, request, query);
        const bucketSize = query.bucket_size ?? 'minute';
        const buckets = await countEventBuckets(
          deps.engine.store,
          tenant,
          {
            widthMs: BUCKET_SIZES[bucketSize],
            source: query.source,
            name: query.event_type,
            ...rangeOfQuery(query),
            rowsMax: queryLimits.bucketsMax,
          },
          request.signal,
        );
        return {
          tenant_id: query.tenant_id,
          bucket_size: bucketSize,
          buckets: buckets.map((b) => ({
            bucket_start: new Date(b.bucketMs).toISOString(),
            source: b.source,
            event_type: b.name,
            count: b.count,
          })),
        };
      },
      {
        query: MetricsQuery,
        transform: ({ query }) => requireTenantId(query),
        detail: {
          summary: 'Ingestion service: event counts per UTC bucket, source and type',
          responses: {
            200: jsonAnswer('Counts per bucket, source and event type', MetricsOut, {
              tenant_id: 'tenant_1',
              bucket_size: 'minute',
              buckets: [
                {
                  bucket_start: '2024-01-15T10:30:00.000Z',
                  source: 'web',
                  event_type: 'click',
                  count: 1,
                },
              ],
            }),
            ...fastApiReadErrors(),
          },
        },
      },
    );
}

type LocOf = (i: number) => (string | number)[];

/** FastAPI's 422 for the required `tenant_id` query parameter when it is not sent. */
function requireTenantId(query: Record<string, unknown>): void {
  if (query.tenant_id !== undefined) return;
  throw AppError.validation([
    { loc: ['query', 'tenant_id'], msg: 'Field required', type: 'missing', input: null },
  ]);
}

function readTenant(deps: AppDeps, request: Request, query: { tenant_id: string }): string {
  const tenant = deps.tenancy.forRead(request, { tenant_id: query.tenant_id });
  noteTenant(request, tenant);
  return tenant;
}

/** The events of a bulk body; a 422 in Pydantic v2's words (and `input`) when there are none. */
function bulkItems(body: unknown): unknown[] {
  const object = objectOf(body);
  if (object === undefined) {
    throw AppError.validation([{ loc: ['body'], ...NOT_A_MODEL, input: body }]);
  }
  const events = object.events;
  const issue = (msg: string, type: string, input: unknown): FieldIssue => ({
    loc: ['body', 'events'],
    msg,
    type,
    input,
  });
  if (events === undefined) {
    throw AppError.validation([issue('Field required', 'missing', object)]);
  }
  if (!Array.isArray(events)) {
    throw AppError.validation([issue('Input should be a valid list', 'list_type', events)]);
  }
  if (events.length > BULK_EVENTS_MAX) {
    const msg = `events holds at most ${BULK_EVENTS_MAX} items (got ${events.length})`;
    throw AppError.validation([issue(msg, 'too_long', events)]);
  }
  return events;
}

/** The fields of a stored event (as read back) that this API returns. */
function storedFields(stored: Record<string, unknown>, fallback: BaseEvent) {
  const time = (v: unknown, d: number) => (typeof v === 'string' ? Date.parse(v) : d);
  return {
    event_id: fallback.event_id,
    source: typeof stored.source === 'string' ? stored.source : null,
    name: typeof stored.name === 'string' ? stored.name : fallback.name,
    timestamp: time(stored.timestamp, fallback.timestamp),
    received_at: time(stored.received_at, fallback.received_at),
    properties: objectOf(stored.properties) ?? null,
  };
}
