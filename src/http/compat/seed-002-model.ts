// Seed 002 (Ingestion & Aggregation): its event, query and answer schemas with the service's
// examples, and the mapping between its event (event_id, tenant_id, source, event_type,
// timestamp, payload) and the unified event.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { t } from 'elysia';
import {
  AppError,
  type EventInput,
  eventLimits,
  type FieldIssue,
  parseRangeEnd,
  parseTimestamp,
  type StoredEvent,
  spacedOffsetMessage,
} from '../../core/index.ts';
import { queryLimits } from '../../query/index.ts';
import { tenantIdSchema } from '../model.ts';
import { issuesOf } from '../validate.ts';
import { jsonInteger } from './docs.ts';
import { isUnixTime, pydanticDateTime } from './fastapi.ts';
import { objectOf } from './ingest.ts';

/** Events one bulk request may carry (more is a 422). */
export const BULK_EVENTS_MAX = 5000;
/** Pages of GET /events one may ask for (offset paging gets slow far beyond). */
export const PAGE_NUMBER_MAX = 1_000_000;

const text = (maxLength: number) => t.String({ minLength: 1, maxLength });

export const IngestionEventIn = t.Object(
  {
    event_id: text(eventLimits.eventIdCharsMax),
    tenant_id: tenantIdSchema('The tenant (or a project alias).'),
    source: text(eventLimits.idCharsMax),
    event_type: text(eventLimits.nameCharsMax),
    timestamp: t.Union([t.String(), t.Number()], {
      description:
        'ISO 8601 with a zone (UTC; no zone is a 422), or epoch seconds or milliseconds (a ' +
        'number or its text), as Pydantic reads a datetime: those are UTC.',
    }),
    payload: t.Optional(t.Record(t.String(), t.Unknown())),
  },
  { additionalProperties: true },
);

const checker = TypeCompiler.Compile(IngestionEventIn);

export const BulkIn = t.Object(
  { events: t.Array(IngestionEventIn, { maxItems: BULK_EVENTS_MAX }) },
  { additionalProperties: true },
);

/** The service's documented examples (its README's curl bodies). */
export const exampleIngestionEvent = {
  event_id: 'evt_001',
  tenant_id: 'tenant_1',
  source: 'web',
  event_type: 'click',
  timestamp: '2024-01-15T10:30:00Z',
  payload: { page: 'home' },
};

export const exampleBulk = {
  events: [
    {
      event_id: 'evt_001',
      tenant_id: 'tenant_1',
      source: 'mobile',
      event_type: 'view',
      timestamp: '2024-01-15T10:30:00Z',
      payload: {},
    },
  ],
};

export const IngestionEventOut = t.Object({
  event_id: t.String(),
  tenant_id: t.String({ description: 'As the request named it.' }),
  source: t.Nullable(t.String({ description: 'null for events sent through other APIs.' })),
  event_type: t.String(),
  timestamp: t.String({ format: 'date-time' }),
  payload: t.Record(t.String(), t.Unknown()),
  received_at: t.String({ format: 'date-time' }),
});

export const exampleIngestionEventOut = {
  ...exampleIngestionEvent,
  timestamp: '2024-01-15T10:30:00.000Z',
  received_at: '2024-01-15T10:30:00.412Z',
};

export const BulkOut = t.Object({
  received: jsonInteger(),
  inserted: jsonInteger({ description: 'Newly stored.' }),
  duplicates: jsonInteger({
    description: 'event_ids already stored (or repeated in the request).',
  }),
});

export const EventPageOut = t.Object({
  items: t.Array(IngestionEventOut),
  page: jsonInteger(),
  page_size: jsonInteger(),
  total: jsonInteger({ description: 'Events matching the filters, over all pages.' }),
});

export const MetricsOut = t.Object({
  tenant_id: t.String(),
  bucket_size: t.Union([t.Literal('minute'), t.Literal('hour'), t.Literal('day')]),
  buckets: t.Array(
    t.Object({
      bucket_start: t.String({ format: 'date-time' }),
      source: t.Nullable(t.String()),
      event_type: t.String(),
      count: jsonInteger(),
    }),
  ),
});

export type IngestionEvent = typeof IngestionEventIn.static;

/**
 * Pydantic v2's words for the shape errors it owns (the service is FastAPI on Pydantic v2): a
 * field not sent, a value of another type. The rules that are Tally's (lengths, the payload's
 * limits, the time's form) keep Tally's words, which name the limit.
 */
const PYDANTIC_WORDS: Record<string, string> = {
  missing: 'Field required',
  string_type: 'Input should be a valid string',
  dict_type: 'Input should be a valid dictionary',
  datetime_type: 'Input should be a valid datetime',
};

/**
 * Pydantic v2's issue for a body (or a bulk item) that is no object, where the model wants one:
 * FastAPI validates a body with `from_attributes`, hence "or object to extract fields from".
 */
export const NOT_A_MODEL: Omit<FieldIssue, 'loc'> = {
  msg: 'Input should be a valid dictionary or object to extract fields from',
  type: 'model_attributes_type',
};

/** The item's shape issues under `loc`, or none. */
export function ingestionIssues(item: unknown, loc: (string | number)[]): FieldIssue[] {
  if (checker.Check(item)) return [];
  if (objectOf(item) === undefined) return [{ loc, ...NOT_A_MODEL }];
  return issuesOf(checker, item, loc).map((issue) => {
    // The time is a union (text or number) to TypeBox, a datetime to Pydantic.
    const type =
      issue.type === 'union_type' && issue.loc.at(-1) === 'timestamp'
        ? 'datetime_type'
        : issue.type;
    const msg = PYDANTIC_WORDS[type];
    return msg === undefined ? issue : { ...issue, msg, type };
  });
}

/** The unified event of a checked item; its `tenant_id` is the tenant (or alias) it claims. */
export function inputOf(item: IngestionEvent): EventInput {
  return {
    event_id: item.event_id,
    tenant_id: item.tenant_id,
    source: item.source,
    name: item.event_type,
    timestamp: timestampOf(item.timestamp),
    ...(item.payload === undefined ? {} : { properties: item.payload }),
  };
}

/**
 * The event time as the service's Pydantic `datetime` reads it: a number, or a number's text,
 * is Unix time (seconds, or milliseconds above 2·10¹⁰) and so UTC; text is left to the event's
 * ISO 8601 rules, which refuse one without a zone as the service's UTC check does.
 */
function timestampOf(value: string | number): string | number {
  return isUnixTime(value) ? (pydanticDateTime(value) as number) : value;
}

/** Unified field names as this API calls them, for 422 locations. */
export const INGESTION_NAMES: Record<string, string> = {
  name: 'event_type',
  properties: 'payload',
};

/** A stored event as this API returns it; `tenantId` is the tenant the client named. */
export function presentIngestionEvent(
  e: Pick<StoredEvent, 'event_id' | 'source' | 'name' | 'timestamp' | 'properties'> & {
    received_at: number;
  },
  tenantId: string,
): Record<string, unknown> {
  return {
    event_id: e.event_id,
    tenant_id: tenantId,
    source: e.source,
    event_type: e.name,
    timestamp: new Date(e.timestamp).toISOString(),
    payload: e.properties ?? {},
    received_at: new Date(e.received_at).toISOString(),
  };
}

const optionalText = (maxLength: number) => t.Optional(t.String({ maxLength }));

export const EventsQuery = t.Object({
  tenant_id: tenantIdSchema('The tenant (or a project alias).'),
  source: optionalText(eventLimits.idCharsMax),
  event_type: optionalText(eventLimits.nameCharsMax),
  start: optionalText(64),
  end: optionalText(64),
  page: t.Optional(t.Integer({ minimum: 1, maximum: PAGE_NUMBER_MAX })),
  page_size: t.Optional(t.Integer({ minimum: 1, maximum: queryLimits.pageMax })),
});

export const BUCKET_SIZES = { minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;

export const MetricsQuery = t.Object({
  tenant_id: tenantIdSchema('The tenant (or a project alias).'),
  bucket_size: t.Optional(
    t.Union([t.Literal('minute'), t.Literal('hour'), t.Literal('day')], {
      description: 'minute (the default), hour or day; UTC boundaries.',
    }),
  ),
  source: optionalText(eventLimits.idCharsMax),
  event_type: optionalText(eventLimits.nameCharsMax),
  start: optionalText(64),
  end: optionalText(64),
});

/**
 * The range of `start` (inclusive) and `end` (inclusive, as the service compares with <=), each
 * ISO 8601 with a zone or Unix time (seconds, ms above 2·10¹⁰: a FastAPI `datetime` parameter's
 * reading of digits, as `timestamp`'s); 422 naming the parameter otherwise.
 */
export function rangeOfQuery(query: { start?: string | undefined; end?: string | undefined }): {
  fromMs?: number;
  toMs?: number;
} {
  const issues: FieldIssue[] = [];
  // Events are whole milliseconds: a `start` inside one takes none of its events (the next
  // millisecond, parseRangeEnd), an `end` inside one all of them (that millisecond).
  const at = (value: string | undefined, field: 'start' | 'end'): number | undefined => {
    if (value === undefined) return undefined;
    const instant = isUnixTime(value) ? (pydanticDateTime(value) as number) : value;
    const parsed = field === 'start' ? parseRangeEnd(instant) : parseTimestamp(instant);
    if (parsed.ok) return parsed.ms;
    issues.push({
      loc: ['query', field],
      msg: spacedOffsetMessage(field, value) ?? timeIssue(field, parsed.msg),
      type: 'datetime_parsing',
    });
    return undefined;
  };
  const fromMs = at(query.start, 'start');
  const endMs = at(query.end, 'end');
  if (issues.length > 0) throw AppError.validation(issues);
  return {
    ...(fromMs === undefined ? {} : { fromMs }),
    ...(endMs === undefined ? {} : { toMs: endMs + 1 }),
  };
}

/**
 * Why a `start` or `end` is no time, in this API's terms: the core's message speaks of epoch
 * milliseconds, where digits here are Unix time as Pydantic reads them.
 */
function timeIssue(field: string, msg: string): string {
  if (!msg.includes('epoch milliseconds')) return `${field}: ${msg}`;
  return (
    `${field} must be ISO 8601 with a zone (e.g. 2024-01-15T10:30:00Z) or Unix time ` +
    '(seconds, or milliseconds above 2·10¹⁰) within the years 0000 to 9999'
  );
}

const BODY_TIME_WORDS =
  'timestamp must be ISO 8601 with a zone (e.g. 2024-01-15T10:30:00Z) or Unix time ' +
  '(seconds, or milliseconds above 2·10¹⁰)';

/**
 * A body's issues with its `timestamp` in this API's terms (as timeIssue's): the core's "or
 * epoch milliseconds" would tell a client to send milliseconds where seconds are read.
 */
export function timestampIssues(error: unknown): unknown {
  if (!(error instanceof AppError) || error.issues === undefined) return error;
  return AppError.validation(
    error.issues.map((issue) =>
      issue.loc.at(-1) === 'timestamp' && issue.msg.includes('epoch milliseconds')
        ? { ...issue, msg: BODY_TIME_WORDS }
        : issue,
    ),
  );
}
