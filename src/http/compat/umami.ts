// Umami's collection API: POST /api/send ({type, payload}; `payload.website` is the site alias)
// answers {cache, sessionId, visitId}; POST /api/batch takes up to 500 such items and reports
// per-item errors, storing the valid ones in one write. Errors use Umami's {"error":{…}} shape.
// `event` items are stored, and identify items with data (uncounted: the session's properties);
// performance is answered as Umami answers it, and an error report as Umami answers it for a
// website with error tracking off.

import { Elysia, t } from 'elysia';
import { AppError, type BaseEvent, requestLimits } from '../../core/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { type ClientNames, clientPath, type PrepareContext, prepareEvents } from '../prepare.ts';
import {
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonAnswer,
  jsonInteger,
  jsonRequestBody,
} from './docs.ts';
import {
  admitWaiting,
  type ContextOptions,
  contextOf,
  ingestWaiting,
  type Server,
  type WaitRecheck,
} from './ingest.ts';
import { CORS_HEADERS, json, preflightRoutes } from './responses.ts';
import type { RoomWait, RoomWaits } from './room-wait.ts';
import { asUmamiError, UmamiErrorOut, umamiError, umamiGuard } from './umami-errors.ts';
import {
  UMAMI_ERRORS_DISABLED,
  UMAMI_FIT,
  UmamiItemIn,
  umamiItem,
  umamiItemWrites,
} from './umami-events.ts';
import { edgeCountryOf } from './umami-location.ts';
import { type UmamiIds, UmamiSessions } from './umami-sessions.ts';

/** Where Umami's tracker sends back the `cache` of its last answer. */
const UMAMI_CACHE_HEADER = 'x-umami-cache';

/** Items one /api/batch request may carry. */
export const UMAMI_BATCH_ITEMS_MAX = 500;

/**
 * The payload fields each event field is made of, so that an issue of the event rules names
 * what the tracker sent (`payload.data.n`, `payload.name`), not the unified event's field
 * (`properties.n`, `name`). The page fields Umami's item adds to the properties (`$title`, …)
 * are text, which no property rule refuses.
 */
const UMAMI_NAMES: ClientNames = {
  tenant_id: clientPath('payload', 'website'),
  name: clientPath('payload', 'name'),
  timestamp: clientPath('payload', 'timestamp'),
  user_id: clientPath('payload', 'id'),
  url: clientPath('payload', 'url'),
  path: clientPath('payload', 'url'),
  referrer: clientPath('payload', 'referrer'),
  user_agent: clientPath('payload', 'userAgent'),
  ip: clientPath('payload', 'ip'),
  properties: clientPath('payload', 'data'),
};

/** A checked item: an event (stored or only answered) or an error report (never stored). */
type Prepared =
  | {
      kind: 'event';
      event: BaseEvent;
      /** The website the item named (its site alias, or tenant). */
      website: string | undefined;
      ids: UmamiIds;
      cache: string;
      stored: boolean;
    }
  | { kind: 'error'; websiteId: string };

export function umamiRoutes(deps: AppDeps, waits: RoomWaits) {
  const sessions = UmamiSessions.of(deps.engine);
  const guard = umamiGuard(deps);
  type Ctx = { request: Request; server: Server };
  const prepareOne = (
    raw: unknown,
    ctx: PrepareContext,
    loc: (string | number)[],
    request: Request,
  ): Prepared => {
    // The tracker sends back the cache of its last answer: the visit it goes on with.
    const item = umamiItem(raw, ctx, sessions, loc, request.headers.get(UMAMI_CACHE_HEADER));
    if (item.kind === 'error') {
      ctx.tenantOf(item.websiteId); // the tenancy's 401/403, as for an event
      return item;
    }
    // Only an identify writes its reserved name; an event item of that name is refused.
    ctx.writesReserved = item.writesReserved;
    const event = prepareEvents([item.input], ctx, () => loc, UMAMI_NAMES)[0] as BaseEvent;
    const country = item.ipSent ? undefined : edgeCountryOf(request.headers);
    if (country !== undefined) event.edgeCountry = country;
    const { ids, cache, stored } = item;
    return { kind: 'event', event, website: item.input.tenant_id, ids, cache, stored };
  };

  // @umami/node and the script never resend: a request refused for overload waits for room.
  const send = guard(({ request, server }: Ctx) =>
    waits.around(request, async (wait) => {
      admitWaiting(deps, wait);
      const read = await readBody(request, JSON_TYPES, requestLimits.bodyBytesMax);
      const body = parseJson(read.bytes);
      const ctx = contextOf(deps, request, server, optionsOf([body]));
      const item = prepareOne(body, ctx, ['body'], request);
      if (item.kind === 'error') return json(UMAMI_ERRORS_DISABLED, 200, CORS_HEADERS);
      if (item.stored) {
        await ingestWaiting(deps, request, [item.event], () => ['body'], wait, ctx);
      }
      const { sessionId, visitId } = item.ids;
      return json({ cache: item.cache, sessionId, visitId }, 200, CORS_HEADERS);
    }),
  );

  const collectBatch = async (request: Request, server: Server, wait: RoomWait) => {
    admitWaiting(deps, wait);
    const body = parseJson((await readBody(request, JSON_TYPES, requestLimits.bodyBytesMax)).bytes);
    const items = batchItems(body);
    const ctx = contextOf(deps, request, server, optionsOf(items));
    const events: BaseEvent[] = [];
    // The item and website of each event: items not stored (bad ones, identify without
    // data…) have none, and a wait checks only the websites of events again.
    const itemOf: number[] = [];
    const websiteOf: (string | undefined)[] = [];
    const details: { index: number; response: unknown }[] = [];
    const refuse = (index: number, error: AppError) =>
      details.push({ index, response: umamiError(asUmamiError(error)) });
    items.forEach((item, index) => {
      try {
        const prepared = prepareOne(item, ctx, ['body', index], request);
        if (prepared.kind === 'event' && prepared.stored) {
          events.push(prepared.event);
          itemOf.push(index);
          websiteOf.push(prepared.website);
        }
      } catch (error) {
        if (!(error instanceof AppError)) throw error;
        refuse(index, error);
      }
    });
    // A website whose alias was removed, or whose tenant was deleted, while the batch waited:
    // its items are refused as they would be alone, each in `details`; the others are written.
    const drop = (refusalOf: (i: number) => AppError | undefined) => {
      for (let i = events.length - 1; i >= 0; i--) {
        const refusal = refusalOf(i);
        if (refusal === undefined) continue;
        refuse(itemOf[i] as number, refusal);
        for (const list of [events, itemOf, websiteOf]) list.splice(i, 1);
      }
    };
    const recheck: WaitRecheck = {
      recheckTenancy: () => {
        const refused = ctx.refusedClaims(new Set(websiteOf));
        if (refused.size > 0) drop((i) => refused.get(websiteOf[i]));
      },
      refuseTenant: (tenant, refusal) =>
        drop((i) => (events[i]?.tenant === tenant ? refusal : undefined)),
    };
    if (events.length > 0) {
      const locOf = (i: number) => ['body', itemOf[i] ?? i];
      await ingestWaiting(deps, request, events, locOf, wait, recheck);
    }
    details.sort((a, b) => a.index - b.index);
    const processed = items.length - details.length;
    const result = { size: items.length, processed, errors: details.length, details };
    return json(result, 200, CORS_HEADERS);
  };

  const batch = guard(({ request, server }: Ctx) =>
    waits.around(request, (wait) => collectBatch(request, server, wait)),
  );

  return new Elysia({ tags: ['compatibility'] })
    .use(preflightRoutes(['/api/send', '/api/batch']))
    .post('/api/send', send, { parse: 'none', detail: SEND_DOC })
    .post('/api/batch', batch, { parse: 'none', detail: BATCH_DOC });
}

const WEBSITE = '4fb7fa4c-5b46-438d-94b3-3a8fb9bc2e8b';
const page = {
  website: WEBSITE,
  hostname: 'example.com',
  language: 'en-US',
  screen: '1920x1080',
  title: 'Pricing',
  url: '/pricing',
  referrer: 'https://www.google.com/',
};
/** A page view and a custom event, as the tracker script sends them. */
const examplePageview = { type: 'event', payload: page };
const exampleEvent = { type: 'event', payload: { ...page, name: 'signup', data: { plan: 'pro' } } };

const SEND_DOC = {
  summary: 'Umami: collect one item',
  description:
    "`event` items are stored; `identify` items with `data` too, as the session's " +
    "properties (Umami's session data), never counted as an event. `performance` items (and " +
    'an `identify` without data) are checked and answered with the session, but not stored ' +
    '(Umami counts neither as an event). An `error` item is ' +
    'answered `{"ok":false,"reason":"errors_disabled"}`: Tally does not track errors. ' +
    'Umami never resends: a request refused for overload waits for room up to NO_RETRY_WAIT ' +
    'first.',
  requestBody: jsonRequestBody(UmamiItemIn, examplePageview),
  responses: {
    200: jsonAnswer(
      'Stored (an event); the session and visit the item counts in',
      t.Union([
        t.Object({
          cache: t.String({
            description:
              'Opaque (signed). The tracker sends it back in x-umami-cache: its visit goes on ' +
              "past the hour until 30 minutes after the visit's start, as in Umami.",
          }),
          sessionId: t.String({ format: 'uuid' }),
          visitId: t.String({ format: 'uuid' }),
        }),
        t.Object(
          { ok: t.Literal(false), reason: t.Literal(UMAMI_ERRORS_DISABLED.reason) },
          { description: 'An `error` item: not kept.' },
        ),
      ]),
      {
        cache:
          'eyJ3ZWJzaXRlSWQiOiI0ZmI3ZmE0Yy01YjQ2LTQzOGQtOTRiMy0zYThmYjliYzJlOGIiLCJzZXNzaW9uSWQiOi' +
          'I5ZDhlN2Y2YS01YjRjLTVkMmUtOWYwYS0xYjJjM2Q0ZTVmNjAiLCJ2aXNpdElkIjoiMWEyYjNjNGQtNWU2Zi01' +
          'YTdiLThjOWQtMGUxZjJhM2I0YzVkIiwiaWF0IjoxNzk1NjAzMjAwfQ.3q2-7wYkLq9nV0cZp1XhAw',
        sessionId: '9d8e7f6a-5b4c-5d2e-9f0a-1b2c3d4e5f60',
        visitId: '1a2b3c4d-5e6f-5a7b-8c9d-0e1f2a3b4c5d',
      },
    ),
    ...umamiErrors({
      400: 'Malformed JSON, or the item breaks a rule',
      413: 'The body or the event over its size limit',
    }),
  },
};

const BATCH_DOC = {
  summary: `Umami: collect up to ${UMAMI_BATCH_ITEMS_MAX} items`,
  description:
    'Bad items are reported in `details` and not stored; the rest are (`event` items only: ' +
    'identify, performance and error items count as processed, as on /api/send). Refused for ' +
    'overload, a request waits for room up to NO_RETRY_WAIT first, as on /api/send; the ' +
    'items of a website whose alias is removed meanwhile are then reported in `details` ' +
    '(403), and those of a website whose project is deleted meanwhile (503); the others are ' +
    'written.',
  requestBody: jsonRequestBody(t.Array(UmamiItemIn, { maxItems: UMAMI_BATCH_ITEMS_MAX }), [
    examplePageview,
    exampleEvent,
  ]),
  responses: {
    200: jsonAnswer(
      'The good items are stored; each bad one is reported by its index',
      t.Object({
        size: jsonInteger(),
        processed: jsonInteger(),
        errors: jsonInteger(),
        details: t.Array(t.Object({ index: jsonInteger(), response: UmamiErrorOut })),
      }),
      { size: 2, processed: 2, errors: 0, details: [] },
    ),
    ...umamiErrors({
      400: 'Malformed JSON, or the body is not an array',
      413: `Over ${UMAMI_BATCH_ITEMS_MAX} items, or the body or an event over its size limit`,
    }),
  },
};

/** Umami's error answers; `limits` says what a 400 and a 413 mean on the route. */
function umamiErrors(limits: { 400: string; 413: string }) {
  const e = INGEST_ERROR_TEXT;
  return errorAnswers(
    {
      ...limits,
      401: e.noKey,
      403: e.forbidden,
      408: e.slowBody,
      415: e.mediaType,
      429: e.busy,
      503: e.overloaded,
    },
    () => UmamiErrorOut,
  );
}

/**
 * The context options of a request of `items`: one whose items write nothing (identify,
 * performance, engagement, error) checks the site without spending its write rate, as
 * PostHog's flags do: the tracker sends them beside its page views, which must not meet a 429
 * for them.
 */
function optionsOf(items: readonly unknown[]): ContextOptions {
  return items.some(umamiItemWrites) ? { fit: UMAMI_FIT } : { fit: UMAMI_FIT, rateLimited: false };
}

function batchItems(body: unknown): unknown[] {
  if (!Array.isArray(body)) throw new AppError('bad_request', 'the body must be an array');
  if (body.length > UMAMI_BATCH_ITEMS_MAX) {
    throw new AppError(
      'payload_too_large',
      `a batch holds at most ${UMAMI_BATCH_ITEMS_MAX} items (got ${body.length})`,
    );
  }
  return body;
}
