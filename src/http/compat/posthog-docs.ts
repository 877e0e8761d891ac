// The OpenAPI side of PostHog's capture routes (posthog.ts): the body schemas, the error body,
// an example per path and each path's detail.

import { t } from 'elysia';
import { CUT_PROPERTIES_KEY, eventLimits, requestLimits } from '../../core/index.ts';
import { openApiSchema } from '../model.ts';
import {
  EXAMPLE_WRITE_KEY,
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonRequestBody,
  openObject,
  queryParam,
} from './docs.ts';
import { DroppedOut } from './ingest.ts';
import type { PostHogPath } from './posthog.ts';

/** The 503 PostHog's routes answer where others answer 408 (see posthogErrorShape). */
export const SLOW_BODY_LATE =
  `A body that did not arrive whole within ${requestLimits.bodyReadTimeoutMs / 1000} s (the ` +
  'connection is closed, nothing written)';

const CapturedEvent = t.Object(
  {
    event: t.String({
      description:
        '`$pageview` is a page view; `$pageleave`, `$identify`, `$create_alias`, ' +
        '`$merge_dangerously`, `$set`, `$groupidentify`, `$feature_flag_called`, ' +
        '`$web_vitals`, `$$heatmap`, `$opt_in` and ' +
        '`$exception` are stored non-interactive (`$interactive: false`): they end no bounce.',
    }),
    distinct_id: t.Optional(
      t.String({
        description:
          `Required, here or in properties; over ${eventLimits.idCharsMax} characters, its ` +
          `start, \`~\` and a digest of the whole, ${eventLimits.idCharsMax} in all. ` +
          "posthog-js's cookieless `$posthog_cookieless` is no one: the visitor is the hash " +
          'of the address and agent, and with `$cookieless_mode: true` the page-long ' +
          '$session_id is no session (visits end after 30 minutes without events).',
      }),
    ),
    uuid: t.Optional(t.String({ description: 'The event_id: a retried batch is stored once.' })),
    timestamp: t.Optional(
      t.Union([t.String(), t.Number()], {
        description:
          'ISO 8601 (UTC without a zone) or epoch ms, shifted by the clock skew `sent_at` ' +
          'shows, to the nearest 5 minutes (as PostHog: a request slow to arrive moves none); ' +
          'now minus `offset` when given; else, or when invalid or over 23 h ahead, now.',
      }),
    ),
    offset: t.Optional(
      t.Number({ description: 'ms between the event and the send; wins over `timestamp`.' }),
    ),
    properties: t.Optional(
      openObject(
        '$current_url, $pathname, $referrer, $session_id, $ip and $raw_user_agent become ' +
          'their fields ($ip only when it is an IP address; a $session_id over ' +
          `${eventLimits.idCharsMax} characters fitted as distinct_id is); the anonymous_id ` +
          'of an identified event is $device_id ' +
          '($anon_distinct_id of $identify, alias of $create_alias, a number as its text, ' +
          `fitted as distinct_id is; $device_id up to ${eventLimits.idCharsMax} characters); ` +
          '`token` is the write key; the other `$` ' +
          'properties are stored under `$posthog` ($set, $set_once, $unset, $groups at the ' +
          'top); the rest as sent; ' +
          'null values are left out. Over the limits of properties ' +
          `(${eventLimits.propertiesKeysMax} keys, ${eventLimits.propertiesBytesMax} bytes) ` +
          'the largest values (and entries of `$posthog`) are cut, and named in ' +
          `\`${CUT_PROPERTIES_KEY}\`.`,
      ),
    ),
    $set: t.Optional(openObject()),
    $set_once: t.Optional(openObject()),
    api_key: t.Optional(t.String({ description: 'The write key (or `token`).' })),
  },
  { additionalProperties: true },
);

const CaptureBody = t.Union([
  t.Object(
    {
      api_key: t.Optional(t.String({ description: 'The write key (or `token`).' })),
      sent_at: t.Optional(t.String({ description: "The client's clock when it sent the batch." })),
      batch: t.Array(CapturedEvent, { maxItems: requestLimits.batchEventsMax }),
    },
    { additionalProperties: true },
  ),
  t.Array(CapturedEvent, { maxItems: requestLimits.batchEventsMax }),
  CapturedEvent,
]);

/** /engage/'s body: a person update of older posthog-js, stored as the event `$identify`. */
const EngageBody = t.Union([
  t.Object(
    {
      $set: t.Optional(openObject('Person properties to set.')),
      $set_once: t.Optional(openObject('Person properties to set unless set.')),
      $token: t.Optional(t.String({ description: 'The write key (or `api_key`, `token`).' })),
      $distinct_id: t.Optional(
        t.String({ description: 'Whose update it is (or `distinct_id`); required.' }),
      ),
    },
    { additionalProperties: true },
  ),
  CaptureBody,
]);

export const PostHogErrorOut = t.Object({
  type: t.Union([
    t.Literal('validation_error'),
    t.Literal('authentication_error'),
    t.Literal('server_error'),
  ]),
  code: t.String(),
  detail: t.String(),
  attr: t.Null(),
});

const AT = '2026-11-25T10:15:00.000Z';
const pageview = {
  event: '$pageview',
  distinct_id: 'user_42',
  uuid: '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8d01',
  timestamp: AT,
  properties: {
    $current_url: 'https://example.com/pricing',
    $referrer: 'https://www.google.com/',
    $session_id: '0193b5c4-6f00-7a3b-8c4d-5e6f7a8b9c0d',
  },
};
const signup = {
  event: 'signed_up',
  distinct_id: 'user_42',
  uuid: '0193b5c4-7a1e-7c3a-9d2e-4f5a6b7c8d02',
  timestamp: AT,
  properties: { plan: 'pro' },
};

/** What each path typically gets: posthog-node batches; posthog-js arrays with a token. */
const EXAMPLES: Record<PostHogPath, unknown> = {
  '/batch/': { api_key: EXAMPLE_WRITE_KEY, batch: [pageview, signup] },
  '/capture/': { api_key: EXAMPLE_WRITE_KEY, ...signup },
  '/e/': [{ ...pageview, properties: { ...pageview.properties, token: EXAMPLE_WRITE_KEY } }],
  '/track/': { api_key: EXAMPLE_WRITE_KEY, ...signup },
  '/i/v0/e/': [{ ...signup, properties: { ...signup.properties, token: EXAMPLE_WRITE_KEY } }],
  '/engage/': { $set: { plan: 'pro' }, $token: EXAMPLE_WRITE_KEY, $distinct_id: 'user_42' },
  '/i/v0/ai/batch/': {
    api_key: EXAMPLE_WRITE_KEY,
    batch: [
      {
        ...signup,
        event: '$ai_generation',
        properties: { $ai_model: 'gpt-4o-mini', $ai_input_tokens: 812, $ai_latency: 1.42 },
      },
    ],
  },
};

/** The OpenAPI detail of one capture path (each takes every body form). */
export function captureDoc(path: PostHogPath) {
  const example = EXAMPLES[path];
  const engage = path === '/engage/';
  const json = jsonRequestBody(
    engage ? EngageBody : CaptureBody,
    example,
    'A batch, an array of events or one event, as JSON or text/plain JSON; gzip by ' +
      'Content-Encoding or `?compression=gzip-js`, lz-string base64 by `?compression=lz64`, ' +
      'base64 by `?compression=base64`; or a form whose `data` field holds the JSON (as ' +
      'text, base64, or lz64 with `compression=lz64` in the form or the query). A non-empty ' +
      '`data` query parameter is read in place of the body, as on the GET; a HEAD stores nothing.',
  );
  const base64 = Buffer.from(JSON.stringify(example)).toString('base64');
  return {
    summary: engage
      ? "PostHog: capture (/engage/: older posthog-js's people.set, stored as $identify)"
      : `PostHog: capture (${path})`,
    requestBody: {
      ...json,
      content: {
        ...json.content,
        'application/x-www-form-urlencoded': {
          schema: openApiSchema(
            t.Object({
              data: t.String({ description: 'The JSON body, as text, base64 or lz64.' }),
              compression: t.Optional(
                t.String({ description: '`lz64` (older posthog-js), `gzip-js` or `base64`.' }),
              ),
            }),
          ),
          example: `data=${encodeURIComponent(base64)}`,
        },
      },
    },
    responses: captureAnswers(),
  };
}

/** The OpenAPI detail of a capture path's GET, whose body is the query's `data`. */
export function captureGetDoc(path: PostHogPath) {
  const text = JSON.stringify(EXAMPLES[path]);
  const base64 = Buffer.from(text).toString('base64');
  return {
    summary: `PostHog: capture by GET (${path}?data=…)`,
    description:
      "As PostHog's capture reads a GET (older posthog-js where a browser had no " +
      'XMLHttpRequest, an `<img>` pixel): the body is the `data` query parameter, its JSON as ' +
      'text or base64 (lz64 with `compression=lz64`), stored as the POST stores it. A ' +
      'non-empty `data` is read in place of the body on a POST too.',
    parameters: [
      queryParam('data', `The JSON body, as text or base64, e.g. \`${base64}\`.`, true, text),
      queryParam('compression', '`lz64`, `gzip-js` (base64 of the gzip) or `base64`.'),
      queryParam('_', 'When the client sent it (epoch ms), for its clock skew.'),
    ],
    responses: captureAnswers(),
  };
}

/** A capture's answers, to a POST or a GET. */
function captureAnswers() {
  const e = INGEST_ERROR_TEXT;
  return {
    200: jsonAnswer(
      'Stored: every event but those in `dropped`',
      t.Object({ status: t.Literal(1), dropped: t.Optional(DroppedOut) }),
      { status: 1 },
    ),
    ...errorAnswers(
      {
        400:
          'Malformed JSON, gzip or form, no events, or no event that keeps the rules ' +
          '(clients drop the batch)',
        401: e.noKey,
        403: e.forbidden,
        413:
          `Over ${requestLimits.batchEventsMax} events, or the body or an event over its ` +
          'size limit (clients halve the batch)',
        415: e.mediaType,
        503:
          `${e.overloaded}; also the project's rate limit or the tenant's backlog (a 429 on ` +
          `other routes). ${SLOW_BODY_LATE} (a 408 on other routes). posthog-js drops a 4xx, ` +
          'and retries a 5xx',
      },
      () => PostHogErrorOut,
    ),
  };
}

const SNAPSHOT = [
  {
    event: '$snapshot',
    properties: {
      token: EXAMPLE_WRITE_KEY,
      distinct_id: 'user_42',
      $session_id: '0193b5c4-6f00-7a3b-8c4d-5e6f7a8b9c0d',
      $window_id: '0193b5c4-6f01-7a3b-8c4d-5e6f7a8b9c0e',
      $snapshot_data: [{ type: 3, data: { source: 2, type: 2, id: 17 }, timestamp: 1764065700000 }],
    },
  },
];

/** The OpenAPI detail of /s/, where session recordings are answered but not kept. */
export function recordingsDoc() {
  const e = INGEST_ERROR_TEXT;
  return {
    summary: "PostHog: session recordings (/s/): answered as PostHog's capture does, not stored",
    description:
      "posthog-js's `$snapshot` events. Tally keeps no recordings: the write key is checked " +
      '(no write rate spent) and every item is named in `dropped` (and logged), none stored ' +
      'as an event. The remote config Tally serves turns recording off.',
    requestBody: jsonRequestBody(CaptureBody, SNAPSHOT, 'A capture body, in any of its forms.'),
    responses: {
      200: jsonAnswer(
        'Read and checked; every item in `dropped`',
        t.Object({ status: t.Literal(1), dropped: DroppedOut }),
        { status: 1, dropped: [{ index: 0, reason: 'session recordings are not stored' }] },
      ),
      ...errorAnswers(
        {
          400: 'Malformed JSON, gzip, lz64 or form, no events, or an item without `event`',
          401: e.noKey,
          403: e.forbidden,
          413: `Over ${requestLimits.batchEventsMax} events, or the body over its size limit`,
          415: e.mediaType,
          503: `${SLOW_BODY_LATE} (a 408 on other routes, a 5xx posthog-js retries)`,
        },
        () => PostHogErrorOut,
      ),
    },
  };
}
