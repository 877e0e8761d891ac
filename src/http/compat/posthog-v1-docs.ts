// The OpenAPI side of PostHog's capture v1 route (posthog-v1.ts): its body, its per-event
// results and its error body.

import { t } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { requestLimits } from '../../core/index.ts';
import {
  EXAMPLE_WRITE_KEY,
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonRequestBody,
  openObject,
} from './docs.ts';

const V1Event = t.Object(
  {
    event: t.String({ description: 'The event name, as on the classic routes.' }),
    uuid: t.String({
      description: 'The event_id, unique in the batch: the results name the event by it.',
    }),
    distinct_id: t.String({ description: 'Who did it, as on the classic routes.' }),
    timestamp: t.String({
      description:
        'RFC 3339, shifted by the clock skew PostHog-Request-Timestamp shows, to the nearest ' +
        '5 minutes (unless `options.disable_skew_correction`); invalid or over 23 h ahead, now.',
    }),
    session_id: t.Optional(t.String({ description: "The classic routes' `$session_id`." })),
    window_id: t.Optional(t.String({ description: "The classic routes' `$window_id`." })),
    options: t.Optional(
      openObject(
        '`cookieless_mode`, `disable_skew_correction`, `process_person_profile` and ' +
          '`product_tour_id`: read as the classic properties `$cookieless_mode`, ' +
          '`$ignore_sent_at`, `$process_person_profile` and `$product_tour_id`, as PostHog ' +
          'reads them (a flag: a boolean, "true"/"false"/"1"/"0" or a number); a value it ' +
          'cannot read drops the event.',
      ),
    ),
    properties: t.Optional(
      openObject(
        'As on the classic routes; one that is no object drops the event. `$lib` and ' +
          '`$lib_version` come from PostHog-Sdk-Info unless given here.',
      ),
    ),
  },
  { additionalProperties: true },
);

const V1Body = t.Object({
  created_at: t.Optional(
    t.String({ description: 'When the batch was made; the send time without the header.' }),
  ),
  historical_migration: t.Optional(
    t.Boolean({ description: "PostHog's historical pipeline; stored as any other batch." }),
  ),
  batch: t.Array(V1Event, { minItems: 1, maxItems: requestLimits.batchEventsMax }),
});

const EXAMPLE = {
  created_at: '2026-11-25T10:15:01.000Z',
  batch: [
    {
      event: 'signed_up',
      uuid: '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8d02',
      distinct_id: 'user_42',
      timestamp: '2026-11-25T10:15:00.000Z',
      session_id: '0193b5c4-6f00-7a3b-8c4d-5e6f7a8b9c0d',
      options: { process_person_profile: true },
      properties: { plan: 'pro' },
    },
  ],
};

const Result = t.Object({
  result: t.Union([t.Literal('ok'), t.Literal('drop')]),
  details: t.Optional(t.String({ description: 'Which rule a dropped event broke.' })),
});

const V1ErrorOut = t.Object({
  error: t.String({ description: "Tally's error code, e.g. `unauthorized`." }),
  error_description: t.String(),
  error_uri: t.String(),
});

/** The headers every PostHog SDK sends with a v1 batch, which PostHog (and so Tally) requires. */
const V1_HEADERS: OpenAPIV3.ParameterObject[] = (
  [
    ['PostHog-Sdk-Info', 'The SDK and its version, `$lib`/`$lib_version`', 'posthog-node/5.70.0'],
    ['PostHog-Attempt', 'Which send of the batch this is, from 1', '1'],
    [
      'PostHog-Request-Id',
      'The batch’s UUID, the same on every attempt',
      '0193b5c4-7a00-7b1c-8d2e-3f4a5b6c7d8e',
    ],
    ['PostHog-Request-Timestamp', 'When it was sent (RFC 3339)', '2026-11-28T09:30:00.000Z'],
    ['User-Agent', 'The SDK’s agent', 'posthog-node/5.70.0'],
  ] as const
).map(([name, description, example]) => ({
  name,
  in: 'header',
  required: true,
  description: `${description}; with Authorization, a 400 without it.`,
  schema: { type: 'string' },
  example,
}));

/** The OpenAPI detail of POST /i/v1/analytics/events. */
export function captureV1Doc() {
  const e = INGEST_ERROR_TEXT;
  return {
    summary: 'PostHog: capture v1 (/i/v1/analytics/events)',
    description:
      'Where posthog-node (`POSTHOG_CAPTURE_MODE=v1`), posthog-python and posthog-go send ' +
      `analytics in PostHog's capture v1 protocol. \`Authorization: Bearer ${EXAMPLE_WRITE_KEY}\`` +
      ' is the write key; PostHog-Sdk-Info (`posthog-node/5.70.0`) gives `$lib` and ' +
      '`$lib_version`, PostHog-Request-Timestamp the send time. Each event is stored as ' +
      'the same event sent to /batch/; a retried one (same uuid) is stored once.',
    parameters: V1_HEADERS,
    requestBody: jsonRequestBody(
      V1Body,
      EXAMPLE,
      'JSON; Content-Encoding gzip, deflate or zstd is undone within the 20 MiB limit.',
    ),
    responses: {
      200: jsonAnswer(
        'Every event by its uuid: `ok` (stored) or `drop` with the rule it broke (never ' +
          'sent again)',
        t.Object({ results: t.Record(t.String(), Result) }),
        { results: { '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8d02': { result: 'ok' } } },
      ),
      ...errorAnswers(
        {
          400:
            'With Authorization: a header PostHog requires missing (PostHog-Sdk-Info, ' +
            'PostHog-Attempt, PostHog-Request-Id, PostHog-Request-Timestamp, Content-Type, ' +
            'User-Agent) or unreadable; malformed JSON or compression, no `batch` or an ' +
            'empty one, or an event that is no object, has no uuid, or repeats one (the SDKs ' +
            'drop the batch)',
          401: e.noKey,
          403: e.forbidden,
          408: 'The body did not arrive in time (the SDKs send it again)',
          413: `Over ${requestLimits.batchEventsMax} events, or the body over 20 MiB`,
          415: 'A Content-Type other than JSON, or an unknown Content-Encoding',
          503:
            `${e.overloaded}, or the project's write rate or the tenant's backlog (a 429 ` +
            'elsewhere: posthog-python and posthog-js do not resend a v1 429); sent again',
        },
        () => V1ErrorOut,
      ),
    },
  };
}
