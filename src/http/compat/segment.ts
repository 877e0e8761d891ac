// Segment's HTTP Tracking API: POST /v1/batch (and /v1/import, its older name, where
// analytics-ruby posts), the single-call routes (/v1/track, identify, page, screen, group,
// alias), and the short paths analytics.js posts to (/v1/t, /v1/p, …, /v1/b). The write key
// comes from HTTP Basic (`writeKey:`) or the body's `writeKey`. Like Segment, a batch stores
// its valid messages and leaves out the ones that break a rule (named in the answer and
// logged): Segment clients drop a whole batch on a 400, so one bad message must not lose the
// rest; properties over the limits are cut to fit instead (core/properties.ts). A request with
// no valid message, or over a size limit, is a 400; overload answers 429/503 with Retry-After.
// How one message becomes an event is segment-message.ts's.

import { Elysia, t } from 'elysia';
import {
  AppError,
  CUT_PROPERTIES_KEY,
  eventLimits,
  INTERACTIVE_KEY,
  MiB,
  requestLimits,
} from '../../core/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { ErrorOut } from '../model.ts';
import { admitIngest } from '../prepare.ts';
import {
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonRequestBody,
  openObject,
} from './docs.ts';
import {
  contextOf,
  DroppedOut,
  ingestSorted,
  issuesText,
  objectOf,
  type Server,
  sortBatch,
  textOf,
} from './ingest.ts';
import { type ErrorShape, guarded, json } from './responses.ts';
import { batchOf } from './segment-batch.ts';
import { eventOf, SEGMENT_TYPES, type SegmentType } from './segment-message.ts';

/**
 * A request's limit, a batch's or a single call's: Tally's own (5 MiB), not Segment's documented
 * 500 KB a batch and 32 KB a call. analytics-node 3.1 means to keep within them but measures a
 * message by its count of `i`s and escapes (context-batch.ts), so only its event count
 * (flushAt) bounds a batch: 15 messages of 40 KB are 600 KB. analytics.js measures no single
 * call at all. Each drops what is answered 400; a message over the event limits is stored with
 * its properties cut instead, as on every SDK route.
 */
const SEGMENT_BODY_BYTES_MAX = requestLimits.bodyBytesMax;

/**
 * The paths that take a batch: `/v1/batch`, and `/v1/import`, the name Segment's API had for it
 * first, which analytics-ruby still posts to.
 */
export const SEGMENT_BATCH_PATHS = ['batch', 'import'] as const;

/**
 * The short paths of analytics.js (analytics-next): the first letter of the call type, and
 * `b` for its batching dispatcher; each is the same route as its long name.
 */
export const SEGMENT_SHORT_PATHS: Readonly<Record<string, SegmentType | 'batch'>> = {
  t: 'track',
  i: 'identify',
  p: 'page',
  s: 'screen',
  g: 'group',
  a: 'alias',
  b: 'batch',
};

/** Tally's error body, with Segment's statuses: bad input and limits are 400s. */
export function segmentErrorShape(deps: AppDeps): ErrorShape {
  return (error) => errorResponse(asSegmentError(error), retryAfter(deps));
}

export function segmentRoutes(deps: AppDeps) {
  const shape = segmentErrorShape(deps);
  const handle = (type: SegmentType | 'batch') =>
    guarded(shape, async ({ request, server }: { request: Request; server: Server }) => {
      admitIngest(deps);
      const read = await readBody(request, JSON_TYPES, SEGMENT_BODY_BYTES_MAX);
      const body = objectOf(parseJson(read.bytes));
      if (body === undefined) throw new AppError('bad_request', 'the body must be a JSON object');
      const messages = type === 'batch' ? batchOf(body) : [{ ...body, type }];
      const ctx = contextOf(deps, request, server, {
        key: writeKeyOf(request, body),
        fit: SEGMENT_FIT,
      });
      const where = (i: number) => (type === 'batch' ? ['batch', i] : ['body']);
      const batch = sortBatch(messages, (item, i) =>
        eventOf(item, where(i), textOf(body.sentAt), ctx),
      );
      await ingestSorted(deps, request, batch, 'segment');
      return json(batch.dropped.length > 0 ? { success: true, dropped: batch.dropped } : OK);
    });
  const app = new Elysia({ prefix: '/v1', tags: ['compatibility'] });
  for (const path of SEGMENT_BATCH_PATHS) {
    app.post(`/${path}`, handle('batch'), { parse: 'none', detail: segmentDoc('batch', path) });
  }
  for (const type of SEGMENT_TYPES) {
    app.post(`/${type}`, handle(type), { parse: 'none', detail: segmentDoc(type) });
  }
  for (const [short, type] of Object.entries(SEGMENT_SHORT_PATHS)) {
    app.post(`/${short}`, handle(type), { parse: 'none', detail: segmentDoc(type, short) });
  }
  return app;
}

const OK = { success: true };

/**
 * Properties over the limits are fitted (core/properties.ts); `utm_*` is kept first, and the
 * non-interactive mark of an identify, group or alias (segment-message.ts).
 */
export const SEGMENT_FIT = { api: 'segment', keep: new Set<string>([INTERACTIVE_KEY]) };

const SegmentMessage = t.Object(
  {
    type: t.Optional(
      t.Union(
        SEGMENT_TYPES.map((type) => t.Literal(type)),
        { description: 'Required in a batch; a single call takes the type of its path.' },
      ),
    ),
    messageId: t.Optional(t.String({ description: 'The event_id: a retry is stored once.' })),
    userId: t.Optional(t.String({ description: 'A userId or an anonymousId is required.' })),
    anonymousId: t.Optional(t.String()),
    event: t.Optional(t.String({ description: 'track: the event name (required).' })),
    name: t.Optional(t.String({ description: 'page, screen: the page or screen name.' })),
    category: t.Optional(t.String()),
    properties: t.Optional(openObject('track, page, screen: the properties.')),
    traits: t.Optional(
      openObject('identify, group: stored as the properties, with `$interactive: false`.'),
    ),
    groupId: t.Optional(t.String({ description: 'group: the group id.' })),
    previousId: t.Optional(t.String({ description: 'alias: the old id; anonymous_id if none' })),
    timestamp: t.Optional(
      t.String({
        description:
          'ISO 8601; else originalTimestamp; else the receive time. Corrected by sentAt.',
      }),
    ),
    originalTimestamp: t.Optional(t.String()),
    context: t.Optional(
      t.Object(
        {
          ip: t.Optional(
            t.String({
              description:
                'Text that is no IP address counts as none (not refused). Without it, the ' +
                "request's address, unless `library.name` is a server-side library's.",
            }),
          ),
          userAgent: t.Optional(t.String()),
          page: t.Optional(openObject("path, url, referrer; a page or screen's properties first")),
        },
        { additionalProperties: true },
      ),
    ),
    writeKey: t.Optional(t.String({ description: 'The write key, when not sent by Basic auth.' })),
  },
  { additionalProperties: true },
);

const SegmentBatch = t.Object(
  {
    batch: t.Array(SegmentMessage, { minItems: 1, maxItems: requestLimits.batchEventsMax }),
    context: t.Optional(openObject("Every message's context, under its own keys.")),
    writeKey: t.Optional(t.String({ description: 'The write key, when not sent by Basic auth.' })),
  },
  { additionalProperties: true },
);

const EXAMPLE_TIMESTAMP = '2026-11-25T10:15:00.000Z';

/** A realistic call of each type, as analytics-node sends it (write key by Basic auth). */
const EXAMPLES: Record<SegmentType, Record<string, unknown>> = {
  track: {
    userId: 'user_42',
    event: 'Order Completed',
    properties: { order_id: 'o_1093', revenue: 39.5, currency: 'EUR' },
    messageId: 'seg-7c1e0d2a-track',
  },
  identify: {
    userId: 'user_42',
    traits: { email: 'ada@example.com', plan: 'pro' },
    messageId: 'seg-7c1e0d2a-identify',
  },
  page: {
    anonymousId: 'anon_5b2f',
    name: 'Pricing',
    properties: { url: 'https://example.com/pricing', referrer: 'https://www.google.com/' },
    context: { userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) Safari/605.1.15' },
    messageId: 'seg-7c1e0d2a-page',
  },
  screen: { userId: 'user_42', name: 'Settings', messageId: 'seg-7c1e0d2a-screen' },
  group: {
    userId: 'user_42',
    groupId: 'acme-inc',
    traits: { name: 'Acme Inc', employees: 120 },
    messageId: 'seg-7c1e0d2a-group',
  },
  alias: { userId: 'user_42', previousId: 'anon_5b2f', messageId: 'seg-7c1e0d2a-alias' },
};

/**
 * The OpenAPI detail of a batch path or of a single-call route (`short`: its analytics.js path,
 * or for a batch the path's name).
 */
function segmentDoc(type: SegmentType | 'batch', short?: string) {
  const e = INGEST_ERROR_TEXT;
  const single = (kind: SegmentType) => ({ ...EXAMPLES[kind], timestamp: EXAMPLE_TIMESTAMP });
  const example =
    type === 'batch'
      ? { batch: (['track', 'page'] as const).map((kind) => ({ type: kind, ...single(kind) })) }
      : single(type);
  const limit =
    `${requestLimits.bodyBytesMax / MiB} MiB a request` +
    (type === 'batch' ? `, ${requestLimits.batchEventsMax} messages a batch` : '');
  return {
    summary: summaryOf(type, short),
    description:
      "The write key is the HTTP Basic user (`writeKey:`) or the body's `writeKey`. " +
      `Limits: ${limit}. Bad input and limits are 400 (clients drop the call); 429 and 503 ` +
      'are retried. The client time (`timestamp`, else `originalTimestamp`) is corrected for ' +
      "the client clock by `sentAt` (the message's, else the batch's), as Segment does: " +
      'receivedAt − (sentAt − time); without `sentAt` it is kept as sent. Properties or ' +
      `traits over ${eventLimits.propertiesKeysMax} keys or ${eventLimits.propertiesBytesMax} ` +
      `bytes are cut to fit, largest first, and named in \`${CUT_PROPERTIES_KEY}\`.` +
      (type === 'batch'
        ? ' Messages that break a rule are left out and named in `dropped`; the rest are stored.'
        : ''),
    requestBody: jsonRequestBody(type === 'batch' ? SegmentBatch : SegmentMessage, example),
    responses: {
      200: jsonAnswer(
        'Stored (a batch: every message but those in `dropped`)',
        t.Object({ success: t.Literal(true), dropped: t.Optional(DroppedOut) }),
        { success: true },
      ),
      ...errorAnswers(
        {
          400: `Malformed JSON, no valid message, or over a size limit (${limit})`,
          401: e.noKey,
          403: e.forbidden,
          408: e.slowBody,
          415: e.mediaType,
          429: e.busy,
          503: e.overloaded,
        },
        () => ErrorOut,
      ),
    },
  };
}

function summaryOf(type: SegmentType | 'batch', short: string | undefined): string {
  if (short === undefined || short === type) return `Segment: ${type}`;
  if (short === 'import') return 'Segment: batch (/v1/import, its older name; analytics-ruby)';
  return `Segment: ${type} (analytics.js /v1/${short})`;
}

function retryAfter(deps: AppDeps): number {
  return deps.options.retryAfterSeconds;
}

/** Segment clients drop a batch on 400 and retry 429/5xx: limits and bad input are 400s. */
function asSegmentError(error: AppError): AppError {
  if (error.code === 'validation_failed') {
    return new AppError('bad_request', issuesText(error.issues ?? []));
  }
  if (error.code === 'payload_too_large' || error.code === 'invalid_json') {
    return new AppError('bad_request', error.message);
  }
  return error;
}

/** The key of HTTP Basic `writeKey:` (password empty), else the body's `writeKey`. */
export function writeKeyOf(request: Request, body: Record<string, unknown>): string | null {
  const header = request.headers.get('authorization') ?? '';
  if (header.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(header.slice(6).trim(), 'base64').toString('utf8');
    const user = decoded.split(':')[0];
    if (user) return user;
  }
  return typeof body.writeKey === 'string' && body.writeKey !== '' ? body.writeKey : null;
}
