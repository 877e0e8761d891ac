// The native ingest API (seed 001 paths): one event, a batch (JSON or NDJSON), and one stored
// event by id. Bodies are read and checked by hand (see model.ts for why), then go through the
// one ingest path of the engine.

import { Elysia, t } from 'elysia';
import { AppError, type BaseEvent, eventLimits, requestLimits } from '../../core/index.ts';
import { getEvent } from '../../query/index.ts';
import { JSON_OR_NDJSON_TYPES, JSON_TYPES, parseJson, parseNdjson, readBody } from '../body.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { lookupOf } from '../event-lookup.ts';
import {
  acceptedOrThrow,
  ingestEvents,
  ingestResponses,
  refuseQueryTenant,
} from '../ingest-outcome.ts';
import {
  BatchAccepted,
  BatchIn,
  EventAccepted,
  EventIn,
  exampleEvent,
  openApiSchema,
  StoredEventOut,
} from '../model.ts';
import { jsonAnswer, jsonOrTextContent, longParamDocs, readErrorDocs } from '../openapi-docs.ts';
import {
  batchAcceptedExample,
  eventAcceptedExample,
  storedEventExample,
} from '../openapi-examples.ts';
import {
  admitIngest,
  contextOf,
  NATIVE_API,
  type PrepareContext,
  prepareEvents,
} from '../prepare.ts';
import { tenantParam } from '../read-params.ts';
import { refuseRepeatedParameters } from '../repeated-params.ts';
import { refuseBodyTenant } from '../validate.ts';

const INGEST_ONE_DOC = {
  summary: 'Ingest one event',
  description:
    'Answers 202 once the event is durable in the write-ahead log. A repeated `event_id` ' +
    'for the same tenant is reported as a duplicate and stored once. The tenant is the ' +
    "body's `tenant_id`; a `tenant_id` query parameter is refused (422).",
  requestBody: {
    required: true,
    content: jsonOrTextContent(EventIn, exampleEvent),
  },
  responses: ingestResponses(
    EventAccepted,
    'Accepted (or a duplicate of a stored event)',
    eventAcceptedExample,
  ),
};

const INGEST_BATCH_DOC = {
  summary: 'Ingest a batch of events',
  description:
    `Up to ${requestLimits.batchEventsMax} events, ${requestLimits.bodyBytesMax} bytes ` +
    '(after gzip), as {"events":[…]} or NDJSON. All-or-nothing: one bad item fails the ' +
    'request with every bad item named, and nothing is written. Each event names its tenant ' +
    'in `tenant_id`; a `tenant_id` query parameter, or one beside `events`, is refused (422), ' +
    'as is a batch naming more tenants than the node keeps resident (ACTORS_MAX).',
  requestBody: {
    required: true,
    content: {
      ...jsonOrTextContent(BatchIn, { events: [exampleEvent] }),
      'application/x-ndjson': {
        schema: openApiSchema(EventIn),
        example: JSON.stringify(exampleEvent),
      },
      'application/jsonl': {
        schema: openApiSchema(EventIn),
        example: JSON.stringify(exampleEvent),
      },
    },
  },
  responses: ingestResponses(
    BatchAccepted,
    'Accepted; one result per input event, in order',
    batchAcceptedExample,
  ),
};

const GET_ONE_DOC = {
  summary: 'Get one stored event',
  responses: {
    200: jsonAnswer('The stored event, times in UTC ISO 8601', StoredEventOut, storedEventExample),
    ...readErrorDocs({ 404: 'No such event' }),
    ...longParamDocs('event_id', eventLimits.eventIdCharsMax),
  },
};

export function eventRoutes(deps: AppDeps) {
  return new Elysia({ prefix: '/api/v1/events', tags: ['events'] })
    .post(
      '',
      async ({ request, server, set }) => {
        admitIngest(deps);
        refuseQueryTenant(request);
        const event = await readOneEvent(request, () =>
          contextOf(deps, request, server, NATIVE_API),
        );
        noteTenant(request, event.tenant);
        const outcome = acceptedOrThrow(await ingestEvents(deps, [event]), bodyLoc);
        const duplicate = outcome.duplicates > 0;
        set.status = 202;
        return {
          status: duplicate ? 'duplicate' : 'accepted',
          event_id: event.event_id,
          duplicate,
        };
      },
      {
        parse: 'none',
        detail: INGEST_ONE_DOC,
      },
    )
    .post(
      '/batch',
      async ({ request, server, set }) => {
        admitIngest(deps);
        refuseQueryTenant(request);
        const body = await readBody(request, JSON_OR_NDJSON_TYPES, requestLimits.bodyBytesMax);
        const items = batchItems(body.format, body.bytes);
        const locOf = (i: number) => ['body', 'events', i];
        const events = prepareEvents(items, contextOf(deps, request, server, NATIVE_API), locOf);
        noteTenant(request, [...new Set(events.map((e) => e.tenant))].join(','));
        const outcome = acceptedOrThrow(await ingestEvents(deps, events), locOf);
        set.status = 202;
        return {
          accepted: outcome.accepted,
          duplicates: outcome.duplicates,
          results: outcome.results,
        };
      },
      {
        parse: 'none',
        detail: INGEST_BATCH_DOC,
      },
    )
    .get(
      '/:event_id',
      async ({ params, query, request }) => {
        const tenant = deps.tenancy.forRead(request, query);
        noteTenant(request, tenant);
        const event = await getEvent(
          deps.engine.store,
          tenant,
          params.event_id,
          lookupOf(deps.engine, tenant, params.event_id, request.signal),
        );
        if (event === null) {
          throw new AppError('not_found', `no event ${params.event_id} for tenant ${tenant}`);
        }
        return event;
      },
      {
        params: t.Object({ event_id: t.String({ maxLength: eventLimits.eventIdCharsMax }) }),
        query: t.Object(tenantParam),
        // Before the query is validated: one read of it, each parameter once (as every read).
        transform: ({ request }) => refuseRepeatedParameters(request),
        detail: GET_ONE_DOC,
      },
    );
}

/** Where a single-event body's problems are located. */
const bodyLoc = () => ['body'];

/**
 * Reads, parses and validates the body of `POST /api/v1/events`: everything the route does
 * before the engine. bench:ingest also serves it alone, as the floor under durable ingest.
 * The context (credentials checked) is made once the body is in, as every ingest route does:
 * a key checked before a slow body arrived may belong to a project deleted meanwhile.
 */
export async function readOneEvent(
  request: Request,
  contextNow: () => PrepareContext,
): Promise<BaseEvent> {
  const body = await readBody(request, JSON_TYPES, eventLimits.eventBytesMax, {
    oneEvent: true,
  });
  const item = parseJson(body.bytes);
  requireObject(item, ['body']);
  return prepareEvents([item], contextNow(), bodyLoc)[0] as BaseEvent;
}

/**
 * A JSON batch body; one that fails to parse but whose first line is a JSON object alone is
 * NDJSON sent under a JSON type, and its 400 says which type to send it with.
 */
function parseBatchJson(bytes: Buffer): unknown {
  try {
    return parseJson(bytes);
  } catch (error) {
    if (!(error instanceof AppError) || error.code !== 'invalid_json') throw error;
    const text = bytes.toString('utf8');
    const end = text.indexOf('\n');
    if (end < 0 || text.slice(end).trim() === '' || !isJsonObject(text.slice(0, end))) throw error;
    throw new AppError(
      'invalid_json',
      `${error.message}; it reads as NDJSON (one event a line): send that with Content-Type ` +
        'application/x-ndjson, or JSON as {"events":[…]}',
    );
  }
}

function isJsonObject(line: string): boolean {
  try {
    const value: unknown = JSON.parse(line);
    return typeof value === 'object' && value !== null && !Array.isArray(value);
  } catch {
    return false;
  }
}

function batchItems(format: 'json' | 'ndjson' | 'text', bytes: Buffer): unknown[] {
  if (format === 'ndjson') {
    const items = parseNdjson(bytes, eventLimits.eventBytesMax, requestLimits.batchEventsMax);
    if (items.length === 0) throw emptyBatch();
    return items;
  }
  const body = parseBatchJson(bytes);
  requireObject(body, ['body']);
  // The tenant is each event's: ignored, one beside `events` stored them all under `default`.
  refuseBodyTenant(
    body as object,
    "a batch takes each event's tenant_id, not one beside events: send it in each event",
  );
  const events = (body as { events?: unknown }).events;
  if (!Array.isArray(events)) {
    throw AppError.validation([
      { loc: ['body', 'events'], msg: 'events must be an array of events', type: 'list_type' },
    ]);
  }
  if (events.length > requestLimits.batchEventsMax) {
    throw AppError.validation([
      {
        loc: ['body', 'events'],
        msg: `a batch holds at most ${requestLimits.batchEventsMax} events (got ${events.length})`,
        type: 'too_long',
      },
    ]);
  }
  if (events.length === 0) throw emptyBatch();
  // A body within the event limit cannot hold an event over it; a larger one is measured per
  // event, as sent (unknown fields are dropped later and must not hide an oversized event).
  if (bytes.length > eventLimits.eventBytesMax) requireEventSizes(events);
  return events;
}

/**
 * 413 naming every event of the batch whose JSON is over the event limit (all-or-nothing: the
 * client learns of each one at once, not one per attempt).
 */
function requireEventSizes(events: readonly unknown[]): void {
  const over: string[] = [];
  events.forEach((item, index) => {
    const size = oversizedBytes(item);
    if (size !== null) over.push(`the event at body.events.${index} is ${size} bytes`);
  });
  if (over.length === 0) return;
  throw new AppError(
    'payload_too_large',
    `${over.join(', ')}; an event may be at most ${eventLimits.eventBytesMax} bytes`,
  );
}

/** The bytes of `item`'s JSON when they are over the event limit, else null. */
function oversizedBytes(item: unknown): number | null {
  const json = JSON.stringify(item);
  // UTF-8 takes at most 3 bytes per UTF-16 unit; count bytes only when it can matter.
  if (json.length * 3 <= eventLimits.eventBytesMax) return null;
  const size = Buffer.byteLength(json);
  return size > eventLimits.eventBytesMax ? size : null;
}

function emptyBatch(): AppError {
  return AppError.validation([
    { loc: ['body', 'events'], msg: 'events must hold at least 1 event', type: 'too_short' },
  ]);
}

function requireObject(value: unknown, loc: (string | number)[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw AppError.validation([{ loc, msg: 'the body must be a JSON object', type: 'dict_type' }]);
  }
}
