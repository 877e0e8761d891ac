// Request and response schemas (TypeBox through Elysia's `t`). Ingest bodies are checked with a
// module-level compiled checker per item, which is several times faster than validating a whole
// 5,000-item array through the framework and lets errors name each item.

import { TypeCompiler } from '@sinclair/typebox/compiler';
import { type TSchema, t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { eventLimits, metricLimits, requestLimits, TENANT_PATTERN } from '../core/index.ts';

const VALUE_ABS_MAX = metricLimits.valueAbsMax;

const text = (maxLength: number, description: string) =>
  t.String({ minLength: 1, maxLength, description });

/** A TypeBox schema is JSON Schema; this tells the OpenAPI types so. */
export function openApiSchema(schema: TSchema): OpenAPIV3.SchemaObject {
  return schema as unknown as OpenAPIV3.SchemaObject;
}

/** Core's, here too for the routes (and compat) that take it with the schemas. */
export { TENANT_PATTERN };

/**
 * A tenant id as every route checks it, ingest and reads alike (native and compat): a name no
 * event can carry (empty, `a/b`, NUL, over 128 characters) is a 422, never an empty answer.
 */
export function tenantIdSchema(description = 'Tenant (project); `default` when absent.') {
  return t.String({
    minLength: 1,
    maxLength: eventLimits.tenantCharsMax,
    pattern: TENANT_PATTERN,
    description,
    examples: ['acme'],
  });
}

export const EventIn = t.Object(
  {
    event_id: t.Optional(
      text(eventLimits.eventIdCharsMax, 'Unique per tenant; a UUIDv7 is generated when absent.'),
    ),
    tenant_id: t.Optional(tenantIdSchema()),
    name: text(eventLimits.nameCharsMax, 'Event name, e.g. `page_view` or `signup`.'),
    timestamp: t.Optional(
      t.Union([t.String(), t.Number()], {
        description:
          'ISO 8601 with a zone offset, or epoch milliseconds; receive time when absent.',
      }),
    ),
    user_id: t.Optional(text(eventLimits.idCharsMax, 'Your id for the user.')),
    anonymous_id: t.Optional(text(eventLimits.idCharsMax, 'Device or cookie id.')),
    session_id: t.Optional(text(eventLimits.idCharsMax, 'Session id.')),
    source: t.Optional(text(eventLimits.idCharsMax, 'Where the event came from (app, service).')),
    path: t.Optional(text(eventLimits.urlCharsMax, 'Page path; taken from `url` when absent.')),
    referrer: t.Optional(t.String({ maxLength: eventLimits.urlCharsMax })),
    url: t.Optional(t.String({ maxLength: eventLimits.urlCharsMax })),
    user_agent: t.Optional(
      t.String({
        maxLength: eventLimits.userAgentCharsMax,
        description: 'The request User-Agent when absent.',
      }),
    ),
    ip: t.Optional(
      t.String({
        maxLength: eventLimits.ipCharsMax,
        description:
          'An IPv4 or IPv6 address (a port, brackets or zone allowed); the client address ' +
          'when absent or blank.',
      }),
    ),
    geoip: t.Optional(
      t.Boolean({
        description:
          '`false`: derive no country from the address (a server sending for its users). ' +
          'Not stored.',
      }),
    ),
    duration: t.Optional(
      t.Number({ minimum: 0, description: `Seconds, at most ${eventLimits.durationSecondsMax}.` }),
    ),
    value: t.Optional(
      t.Number({
        description:
          `Numeric value (metric data points), magnitude at most ${VALUE_ABS_MAX}; ` +
          'an event with one is read by name under /api/v1/metrics, so its name is not . or ..',
      }),
    ),
    properties: t.Optional(
      t.Record(t.String(), t.Unknown(), {
        description:
          `At most ${eventLimits.propertiesKeysMax} keys and ` +
          `${eventLimits.propertiesBytesMax} bytes serialized.`,
      }),
    ),
  },
  { additionalProperties: true },
);

export const eventInChecker = TypeCompiler.Compile(EventIn);

export const BatchIn = t.Object({
  events: t.Array(EventIn, { maxItems: requestLimits.batchEventsMax }),
});

export const exampleEvent = {
  event_id: '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8d9e',
  name: 'page_view',
  timestamp: '2026-11-25T10:15:00Z',
  user_id: 'user_42',
  session_id: 's_8f2c',
  path: '/pricing',
  referrer: 'https://news.ycombinator.com/',
  properties: { plan: 'pro' },
};

export const EventAccepted = t.Object({
  status: t.Union([t.Literal('accepted'), t.Literal('duplicate')]),
  event_id: t.String(),
  duplicate: t.Boolean(),
});

export const BatchAccepted = t.Object({
  accepted: t.Integer(),
  duplicates: t.Integer(),
  results: t.Array(
    t.Object({
      event_id: t.String(),
      status: t.Union([t.Literal('accepted'), t.Literal('duplicate')]),
    }),
  ),
});

export const StoredEventOut = t.Object({
  event_id: t.String(),
  tenant: t.String(),
  name: t.String(),
  timestamp: t.String({ format: 'date-time' }),
  received_at: t.String({ format: 'date-time' }),
  user_id: t.Nullable(t.String()),
  anonymous_id: t.Nullable(t.String()),
  session_id: t.Nullable(t.String()),
  source: t.Nullable(t.String()),
  path: t.Nullable(t.String()),
  referrer: t.Nullable(t.String()),
  url: t.Nullable(t.String()),
  user_agent: t.Nullable(t.String()),
  ip: t.Nullable(t.String()),
  duration: t.Nullable(t.Number()),
  value: t.Nullable(t.Number()),
  properties: t.Nullable(t.Record(t.String(), t.Unknown())),
  os: t.Nullable(t.String({ description: 'From the user agent.' })),
  browser: t.Nullable(t.String({ description: 'From the user agent.' })),
  device: t.Nullable(t.String({ description: 'desktop, mobile, tablet, bot or other.' })),
  is_bot: t.Boolean(),
  visitor_id: t.String({
    description: 'user_id, else anonymous_id, else a daily salted hash of ip and user agent.',
  }),
  country: t.Nullable(
    t.String({
      description:
        'ISO 3166-1 alpha-2 code of the client IP in the GeoIP database (GEOIP_DB); null ' +
        'without one, for a private or unknown address, and for events stored before.',
      examples: ['DE'],
    }),
  ),
});

export const ValidationErrorOut = t.Object({
  detail: t.Array(
    t.Object({
      loc: t.Array(t.Union([t.String(), t.Integer()])),
      msg: t.String(),
      type: t.String(),
      ctx: t.Optional(
        t.Record(t.String(), t.Unknown(), {
          description:
            'What the rule found, where FastAPI says it apart from msg: a body that is not ' +
            "JSON has Python's reason in ctx.error (seed 000, Pydantic v1: the JSONDecodeError's " +
            'msg, doc, pos, lineno and colno; a length its limit_value, an enum its enum_values).',
        }),
      ),
      input: t.Optional(
        t.Unknown({
          description:
            'The value the rule read, as FastAPI on Pydantic v2 shows it (seeds 002-004): for a ' +
            'field not sent, the object that lacks it; a parameter not sent, null.',
        }),
      ),
    }),
  ),
});

export const ErrorOut = t.Object({ detail: t.String(), code: t.String() });
