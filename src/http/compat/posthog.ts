// PostHog's capture API: POST /batch/, /capture/, /e/ and /i/v0/e/. The body's `api_key` (or
// `token`) is the write key; `uuid` is the event_id, so a retried batch is stored once;
// `$pageview` is a page view with `$current_url` as its url and path. An oversized batch is a
// 413, on which posthog-node halves the batch and retries; overload is 429/503 (retried).

import { Elysia, t } from 'elysia';
import { AppError, type EventInput, requestLimits } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import { openApiSchema } from '../model.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
import {
  EXAMPLE_WRITE_KEY,
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonRequestBody,
  openObject,
} from './docs.ts';
import { contextOf, ingest, issuesText, objectOf, type Server, textOf } from './ingest.ts';
import { readCaptureBody } from './posthog-body.ts';
import {
  CORS_HEADERS,
  type ErrorShape,
  errorHeaders,
  guarded,
  json,
  preflightRoutes,
} from './responses.ts';

export const POSTHOG_PATHS = ['/batch/', '/capture/', '/e/', '/i/v0/e/'] as const;
type PostHogPath = (typeof POSTHOG_PATHS)[number];

export function posthogRoutes(deps: AppDeps) {
  const shape: ErrorShape = (error) => {
    const e = asPostHogError(error);
    const headers = { ...CORS_HEADERS, ...errorHeaders(e, deps.options.retryAfterSeconds) };
    const type = e.status < 500 && e.status !== 429 ? 'validation_error' : 'server_error';
    const kind = e.status === 401 || e.status === 403 ? 'authentication_error' : type;
    return json({ type: kind, code: e.code, detail: e.message, attr: null }, e.status, headers);
  };
  const capture = guarded(shape, async (c: { request: Request; server: Server }) => {
    const { request, server } = c;
    admitIngest(deps);
    const body = await readCaptureBody(request, requestLimits.bodyBytesMax);
    const { key, items } = eventsOf(body);
    const ctx = contextOf(deps, request, server, { key });
    const locOf = (i: number) => ['batch', i];
    const inputs = items.map((item, i) => inputOf(item, `batch.${i}`, ctx.receivedAt));
    const events = prepareEvents(inputs, ctx, locOf);
    await ingest(deps, request, events, locOf);
    return json({ status: 1 }, 200, CORS_HEADERS);
  });
  const app = new Elysia({ tags: ['compatibility'] }).use(preflightRoutes(POSTHOG_PATHS));
  for (const path of POSTHOG_PATHS) {
    app.post(path, capture, { parse: 'none', detail: captureDoc(path) });
  }
  return app;
}

const CapturedEvent = t.Object(
  {
    event: t.String({ description: '`$pageview` is a page view.' }),
    distinct_id: t.Optional(t.String({ description: 'Required, here or in properties.' })),
    uuid: t.Optional(t.String({ description: 'The event_id: a retried batch is stored once.' })),
    timestamp: t.Optional(
      t.Union([t.String(), t.Number()], {
        description: 'ISO 8601 or epoch ms; else now minus `offset`; else the receive time.',
      }),
    ),
    offset: t.Optional(t.Number({ description: 'ms between the event and the send.' })),
    properties: t.Optional(
      openObject(
        '$current_url, $pathname, $referrer, $session_id, $ip and $raw_user_agent become ' +
          'their fields; `token` is the write key; the rest are stored as properties.',
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
      batch: t.Array(CapturedEvent, { maxItems: requestLimits.batchEventsMax }),
    },
    { additionalProperties: true },
  ),
  t.Array(CapturedEvent, { maxItems: requestLimits.batchEventsMax }),
  CapturedEvent,
]);

const PostHogErrorOut = t.Object({
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
  '/i/v0/e/': [{ ...signup, properties: { ...signup.properties, token: EXAMPLE_WRITE_KEY } }],
};

/** The OpenAPI detail of one capture path (all four take every body form). */
function captureDoc(path: PostHogPath) {
  const e = INGEST_ERROR_TEXT;
  const example = EXAMPLES[path];
  const json = jsonRequestBody(
    CaptureBody,
    example,
    'A batch, an array of events or one event, as JSON or text/plain JSON; gzip by ' +
      'Content-Encoding or `?compression=gzip-js`, base64 by `?compression=base64`; or a ' +
      'form whose `data` field holds the JSON (as text or base64).',
  );
  const base64 = Buffer.from(JSON.stringify(example)).toString('base64');
  return {
    summary: `PostHog: capture (${path})`,
    requestBody: {
      ...json,
      content: {
        ...json.content,
        'application/x-www-form-urlencoded': {
          schema: openApiSchema(
            t.Object({ data: t.String({ description: 'The JSON body, as text or base64.' }) }),
          ),
          example: `data=${encodeURIComponent(base64)}`,
        },
      },
    },
    responses: {
      200: jsonAnswer('Stored', t.Object({ status: t.Literal(1) }), { status: 1 }),
      ...errorAnswers(
        {
          400:
            'Malformed JSON, gzip or form, no events, or an event breaks a rule ' +
            '(clients drop the batch)',
          401: e.noKey,
          403: e.forbidden,
          413:
            `Over ${requestLimits.batchEventsMax} events, or the body or an event over its ` +
            'size limit (clients halve the batch)',
          415: e.mediaType,
          429: e.busy,
          503: e.overloaded,
        },
        () => PostHogErrorOut,
      ),
    },
  };
}

/** posthog clients drop a batch on 400 and halve it on 413; both must say so. */
function asPostHogError(error: AppError): AppError {
  if (error.code === 'validation_failed') {
    return new AppError('bad_request', issuesText(error.issues ?? []));
  }
  if (error.code === 'invalid_json') return new AppError('bad_request', error.message);
  return error;
}

/** The events of a body (a batch, an array or one event) and the write key it carries. */
function eventsOf(body: unknown): { key: string | null; items: Record<string, unknown>[] } {
  const top = objectOf(body);
  const list = Array.isArray(body) ? body : Array.isArray(top?.batch) ? top.batch : [body];
  if (list.length === 0) throw new AppError('bad_request', 'the batch holds no events');
  if (list.length > requestLimits.batchEventsMax) {
    throw new AppError(
      'payload_too_large',
      `a batch holds at most ${requestLimits.batchEventsMax} events (got ${list.length})`,
    );
  }
  const items = list.map((item: unknown, i: number) => {
    const event = objectOf(item);
    if (event === undefined) throw new AppError('bad_request', `batch.${i} must be an object`);
    return event;
  });
  const first = items[0] ?? {};
  const key =
    textOf(top?.api_key) ??
    textOf(top?.token) ??
    textOf(first.api_key) ??
    textOf(first.token) ??
    textOf(objectOf(first.properties)?.token) ??
    null;
  return { key, items };
}

/** Maps one captured event onto the unified event. */
function inputOf(event: Record<string, unknown>, where: string, receivedAt: number): EventInput {
  const name = textOf(event.event);
  if (name === undefined) throw new AppError('bad_request', `${where}.event is required`);
  const properties: Record<string, unknown> = { ...objectOf(event.properties) };
  const take = (key: string): string | undefined => {
    const value = textOf(properties[key]);
    delete properties[key];
    return value;
  };
  const distinctId = textOf(event.distinct_id) ?? take('distinct_id');
  if (distinctId === undefined) {
    throw new AppError('bad_request', `${where}.distinct_id is required`);
  }
  delete properties.token;
  const anonymous =
    properties.$is_identified === false || properties.$process_person_profile === false;
  for (const key of ['$set', '$set_once'] as const) {
    if (event[key] !== undefined && properties[key] === undefined) properties[key] = event[key];
  }
  const referrer = take('$referrer');
  return {
    event_id: textOf(event.uuid),
    name,
    timestamp: timestampOf(event, receivedAt),
    ...(anonymous ? { anonymous_id: distinctId } : { user_id: distinctId }),
    url: take('$current_url'),
    path: take('$pathname'),
    referrer: referrer === '$direct' ? undefined : referrer,
    session_id: take('$session_id'),
    ip: take('$ip'),
    user_agent: take('$raw_user_agent'),
    properties,
  };
}

/** `timestamp` as sent, else now minus `offset` (ms ago), else the receive time. */
function timestampOf(event: Record<string, unknown>, receivedAt: number): string | number {
  if (typeof event.timestamp === 'string' || typeof event.timestamp === 'number') {
    return event.timestamp;
  }
  return typeof event.offset === 'number' ? Math.round(receivedAt - event.offset) : receivedAt;
}
