// PostHog's capture API: POST (or GET, the body in the query's `data`: posthog-body.ts) /batch/,
// /capture/, /e/, /track/ (PostHog's capture routes it as /e/), /i/v0/e/ and /i/v0/ai/batch/
// (where posthog-node sends the events of `captureAi`, in the /batch/ body), and /engage/
// (older posthog-js's people.set, an `$identify`). The body's `api_key` (or `token`) is the
// write key; `uuid` is the event_id, so a retried batch is stored once; `$pageview` is a page
// view with `$current_url` as its url and path; PostHog's own `$` properties are kept under
// `$posthog` (posthog-properties.ts). Timestamps are read as PostHog's ingestion reads them:
// corrected for the client's clock by `sent_at` (to 5 minutes), and the receive time for one
// that is invalid or more than 23 h ahead. Events that break a rule are left out (named in the
// answer and logged) and the rest stored, since the SDKs drop a whole batch on a 400;
// properties over the limits are cut to fit instead (core/properties.ts). An oversized batch is
// a 413, on which posthog-node halves the batch and retries; overload is 503 (retried; a
// tenant's 429 and a late body's 408 too, as posthog-js drops a 4xx). Session recordings (/s/)
// are answered but not kept (RECORDINGS_PATH).

import { Elysia } from 'elysia';
import {
  AppError,
  assert,
  type BaseEvent,
  defaultTunables,
  type EventInput,
  eventLimits,
  HOUR_MS,
  INTERACTIVE_KEY,
  MiB,
  parseAsUtc,
  RepeatedWarning,
  requestLimits,
  tenantShareLimits,
} from '../../core/index.ts';
import { parseJson } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { admitIngest, type PrepareContext, prepareEvents } from '../prepare.ts';
import {
  cutTextOf,
  fittedIdOf,
  fittedPageUrlOf,
  fittedTextOf,
  fittedUrlOf,
  sentIpOf,
} from './fitted-fields.ts';
import {
  contextOf,
  ingestSorted,
  issuesText,
  objectOf,
  type Server,
  sortBatch,
  textOf,
} from './ingest.ts';
import { readCaptureBody, readCaptureJson } from './posthog-body.ts';
import { captureDoc, captureGetDoc, recordingsDoc } from './posthog-docs.ts';
import { hasRoundedId, type IdText, parsedIdText, parseWithExactIds } from './posthog-ids.ts';
import {
  COOKIELESS_DISTINCT_ID,
  COOKIELESS_MODE_KEY,
  identityOf,
  POSTHOG_TOP_LEVEL_KEYS,
  postHogNamesOf,
  storedProperties,
} from './posthog-properties.ts';
import {
  CORS_HEADERS,
  type ErrorShape,
  errorHeaders,
  guarded,
  json,
  preflightRoutes,
} from './responses.ts';

/**
 * Where posthog-js of 2023 and before (src/posthog-people.ts) posts people.set and
 * people.set_once, and identify()'s properties once identified: one object of `$set` or
 * `$set_once` with `$token` and `$distinct_id`, and no event name. PostHog's capture takes it
 * as the event `$identify` (ENGAGE_EVENT), as Tally does.
 */
const ENGAGE_PATH = '/engage/';
const ENGAGE_EVENT = '$identify';

export const POSTHOG_PATHS = [
  '/batch/',
  '/capture/',
  '/e/',
  '/track/',
  '/i/v0/e/',
  '/i/v0/ai/batch/',
  ENGAGE_PATH,
] as const;
export type PostHogPath = (typeof POSTHOG_PATHS)[number];

/**
 * The largest capture body, as sent or inflated: PostHog's capture takes a batch of up to
 * 20 MiB (its BATCH_BODY_SIZE), and posthog-python fills a batch to 5 MiB, then sends it with
 * the event that crossed the mark (up to 900 KiB): the common 5 MiB refused such a batch of
 * large events (`$ai_generation`, `$exception`) with a 413, which posthog-python does not
 * resend, so the batch was lost. Its events are cut to the event limits as any other's.
 */
export const CAPTURE_BODY_MIB_MAX = 20;
const CAPTURE_BODY_BYTES_MAX = CAPTURE_BODY_MIB_MAX * MiB;
assert(
  defaultTunables.commitQueueBytesMax * tenantShareLimits.mailboxQueueBytesShare >=
    CAPTURE_BODY_BYTES_MAX * 2 && defaultTunables.walFileBytesMax >= CAPTURE_BODY_BYTES_MAX * 2,
  'a tenant can have two full PostHog batches in flight, and a log file holds them',
);

/**
 * Where posthog-js posts session recordings: `$snapshot` events, which PostHog's capture sends
 * to its replay store, never to the events insights count. Tally keeps no recordings: it checks
 * the key as a capture does (401/403, no write rate spent, since nothing is written), answers
 * 200 as PostHog does, with every item named in `dropped`, and logs a warn line (at most once
 * a minute per tenant: RepeatedWarning), so that their loss shows in the answer and in the
 * log; stored as events they would count as events, cut to the event limit (a snapshot is
 * often larger) and of no use. Tally's remote config turns recording off, so only a client
 * that turns it on itself sends any.
 */
export const RECORDINGS_PATH = '/s/';
const RECORDING_LEFT_OUT =
  'session recordings are not stored by Tally (disable_session_recording: true stops them)';

/** PostHog's error body, with the CORS headers a page needs to read it. */
export function posthogErrorShape(deps: AppDeps): ErrorShape {
  return (error) => {
    const e = asPostHogError(error);
    const headers = { ...CORS_HEADERS, ...errorHeaders(e, deps.options.retryAfterSeconds) };
    // A 429 (one tenant's mailbox full, its write rate spent) is sent as a 503, its code and
    // Retry-After kept: posthog-js resends a request only on a status under 400 or of 5xx
    // (retriableRequest in its module.js) and drops one answered 429, while posthog-node
    // retries both alike. So is a 408 (a body that did not arrive in time, as on a slow
    // mobile link: nothing was written, and a resend may well arrive), with a Retry-After.
    const status = e.status === 429 || e.status === 408 ? 503 : e.status;
    if (e.status === 408) headers['retry-after'] = String(deps.options.retryAfterSeconds);
    const type = status < 500 ? 'validation_error' : 'server_error';
    const kind = status === 401 || status === 403 ? 'authentication_error' : type;
    return json({ type: kind, code: e.code, detail: e.message, attr: null }, status, headers);
  };
}

export function posthogRoutes(deps: AppDeps) {
  const shape = posthogErrorShape(deps);
  const capture = guarded(shape, async (c: { request: Request; server: Server }) => {
    const { request, server } = c;
    // A HEAD (a link checker's, a mail scanner's look at a GET pixel) stores nothing.
    if (request.method === 'HEAD') return json(OK, 200, CORS_HEADERS);
    admitIngest(deps);
    const bytes = await readCaptureJson(request, CAPTURE_BODY_BYTES_MAX);
    const url = new URL(request.url);
    const engage = url.pathname.startsWith('/engage'); // with or without its slash
    const captured = (body: unknown) => eventsOf(engage ? engageOf(body) : body, url.searchParams);
    let capture = captured(parseJson(bytes));
    let idText = parsedIdText;
    if (capture.items.some(hasRoundedId)) {
      const exact = parseWithExactIds(bytes);
      capture = captured(exact.body);
      idText = exact.idText;
    }
    const { key, items, sentAt } = capture;
    const ctx = contextOf(deps, request, server, { key, fit: POSTHOG_FIT });
    const batch = sortBatch(items, (item, i) => eventOf(item, i, sentAt, ctx, idText));
    await ingestSorted(deps, request, batch, 'posthog');
    const answer = batch.dropped.length > 0 ? { status: 1, dropped: batch.dropped } : OK;
    return json(answer, 200, CORS_HEADERS);
  });
  // posthog-js posts every few seconds while a page records: one line a minute per tenant.
  const leftOut = new RepeatedWarning(deps.log, 'session recordings left out', deps.clock);
  const recordings = guarded(shape, async ({ request }: { request: Request }) => {
    const body = await readCaptureBody(request, requestLimits.bodyBytesMax);
    const { key, items } = eventsOf(body, new URL(request.url).searchParams);
    // PostHog's capture refuses the whole request when an item is no event (a 400).
    const bad = items.findIndex((item) => textOf(objectOf(item)?.event) === undefined);
    if (bad !== -1) throw new AppError('bad_request', `batch.${bad}.event is required`);
    const tenant = deps.tenancy.forIngest(request, { key, rateLimited: false })(undefined);
    const dropped = items.map((_, index) => ({ index, reason: RECORDING_LEFT_OUT }));
    leftOut.note(tenant, items.length, { api: 'posthog', tenant });
    return json({ status: 1, dropped }, 200, CORS_HEADERS);
  });
  const app = new Elysia({ tags: ['compatibility'] }).use(
    preflightRoutes([...POSTHOG_PATHS, RECORDINGS_PATH]),
  );
  for (const path of POSTHOG_PATHS) {
    app.post(path, capture, { parse: 'none', detail: captureDoc(path) });
    // PostHog's capture answers GET on each path, its body the query's `data`.
    app.get(path, capture, { detail: captureGetDoc(path) });
  }
  app.post(RECORDINGS_PATH, recordings, { parse: 'none', detail: recordingsDoc() });
  return app;
}

const OK = { status: 1 };

/**
 * Properties over the limits are fitted (core/properties.ts): the `$posthog` bag is trimmed
 * entry by entry, person and group updates (and a `$pageleave`'s non-interactive flag) are cut
 * last.
 */
export const POSTHOG_FIT = {
  api: 'posthog',
  keep: new Set([...POSTHOG_TOP_LEVEL_KEYS, INTERACTIVE_KEY]),
};

/** PostHog's ingestion takes a timestamp up to 23 h ahead of now; later ones become now. */
const FUTURE_MS_MAX = 23 * HOUR_MS;

/** One captured event as a validated event; throws a 400/422 AppError when it is not. */
export function eventOf(
  item: unknown,
  index: number,
  sentAt: number | null,
  ctx: PrepareContext,
  idText: IdText,
): BaseEvent {
  const event = objectOf(item);
  if (event === undefined) throw new AppError('bad_request', `batch.${index} must be an object`);
  const input = inputOf(event, `batch.${index}`, sentAt, ctx.receivedAt, idText);
  return prepareEvents([input], ctx, () => ['batch', index], postHogNamesOf(event))[0] as BaseEvent;
}

/** posthog clients drop a batch on 400 and halve it on 413; both must say so. */
function asPostHogError(error: AppError): AppError {
  if (error.code === 'validation_failed') {
    return new AppError('bad_request', issuesText(error.issues ?? []));
  }
  if (error.code === 'invalid_json') return new AppError('bad_request', error.message);
  return error;
}

interface Capture {
  key: string | null;
  items: unknown[];
  /** The client's clock when it sent the request (epoch ms), when it says. */
  sentAt: number | null;
}

/**
 * The events of a body (a batch, an array or one event), the write key it carries and when the
 * client sent it (`sent_at` in the body, or posthog-js's `_` query parameter, epoch ms).
 */
function eventsOf(body: unknown, query: URLSearchParams): Capture {
  const top = objectOf(body);
  const list = Array.isArray(body) ? body : Array.isArray(top?.batch) ? top.batch : [body];
  if (list.length === 0) throw new AppError('bad_request', 'the batch holds no events');
  if (list.length > requestLimits.batchEventsMax) {
    throw new AppError(
      'payload_too_large',
      `a batch holds at most ${requestLimits.batchEventsMax} events (got ${list.length})`,
    );
  }
  const items: unknown[] = list;
  const first = objectOf(items[0]) ?? {};
  const key =
    textOf(top?.api_key) ??
    textOf(top?.token) ??
    textOf(first.api_key) ??
    textOf(first.token) ??
    textOf(first.$token) ??
    textOf(objectOf(first.properties)?.token) ??
    null;
  return { key, items, sentAt: sentAtOf(textOf(top?.sent_at), query.get('_')) };
}

/**
 * An /engage/ body as the event it is: one object (no batch) named ENGAGE_EVENT. Named in
 * place, so that the object stays the one whose ids parseWithExactIds kept.
 */
function engageOf(body: unknown): unknown {
  const update = objectOf(body);
  if (update !== undefined && !Array.isArray(update.batch)) update.event = ENGAGE_EVENT;
  return body;
}

function sentAtOf(bodySentAt: string | undefined, queryMs: string | null): number | null {
  if (bodySentAt !== undefined) {
    const parsed = parseAsUtc(bodySentAt);
    return parsed.ok ? parsed.ms : null;
  }
  const ms = Number(queryMs ?? Number.NaN);
  return Number.isSafeInteger(ms) && ms >= QUERY_SENT_AT_MS_MIN ? ms : null;
}

/**
 * The earliest `_` read as the time of sending: PostHog's capture takes it as epoch ms only
 * from 2021 on, so the seconds older SDKs sent there (January 1970 read as ms) are ignored,
 * where taken they made every event's time decades ahead, and so its receive time.
 */
const QUERY_SENT_AT_MS_MIN = Date.UTC(2021, 0, 1);

/** Maps one captured event onto the unified event. */
function inputOf(
  event: Record<string, unknown>,
  where: string,
  sentAt: number | null,
  receivedAt: number,
  idText: IdText,
): EventInput {
  const name = textOf(event.event);
  if (name === undefined) throw new AppError('bad_request', `${where}.event is required`);
  const properties: Record<string, unknown> = { ...objectOf(event.properties) };
  const take = (key: string): string | undefined => {
    const value = textOf(properties[key]);
    delete properties[key];
    return value;
  };
  // `$distinct_id` (and `$token`, eventsOf) as /engage/ names them, PostHog's aliases of both;
  // a number is its text as PostHog's capture writes it (posthog-ids.ts).
  const takeId = () => {
    const id = idText(objectOf(event.properties), 'distinct_id');
    delete properties.distinct_id;
    return id;
  };
  const sentId = idText(event, 'distinct_id') ?? idText(event, '$distinct_id') ?? takeId();
  if (sentId === undefined) throw new AppError('bad_request', `${where}.distinct_id is required`);
  // PostHog keeps a longer one (cut to 200 characters); refused, the event would be lost.
  const distinctId = sentId === COOKIELESS_DISTINCT_ID ? undefined : fittedIdOf(sentId);
  // Cookieless mode's $session_id lives as long as the page (memory persistence): PostHog
  // replaces it, as Tally's visits do for events without one (30 minutes of inactivity).
  const cookieless = properties[COOKIELESS_MODE_KEY] === true;
  delete properties.token;
  const anonymous =
    properties.$is_identified === false || properties.$process_person_profile === false;
  // A top-level update is merged into the properties' own, its keys winning, as PostHog's
  // ingestion merges them (normalizeEvent); one that is no object only stands in for none.
  for (const key of ['$set', '$set_once'] as const) {
    const top = objectOf(event[key]);
    if (top !== undefined) properties[key] = { ...objectOf(properties[key]), ...top };
    else if (event[key] !== undefined && properties[key] === undefined)
      properties[key] = event[key];
  }
  const referrer = take('$referrer');
  // Fitted as a distinct_id is (PostHog takes any length): refused, the event was lost; cut,
  // two sessions alike in their start would be one visit.
  const sessionId = cookieless ? undefined : take('$session_id');
  return {
    event_id: textOf(event.uuid),
    // PostHog takes a longer name (its ingestion cuts at 200): one over nameCharsMax is kept as
    // its start and a digest of the whole, as a distinct_id is, never refused (a 400 there).
    name: fittedTextOf(name, eventLimits.nameCharsMax),
    timestamp: timestampOf(event, properties.$ignore_sent_at === true ? null : sentAt, receivedAt),
    // An identified event's device or merged anonymous id is its anonymous_id.
    ...identityOf(name, distinctId, properties, anonymous),
    url: fittedPageUrlOf(take('$current_url')),
    path: cutTextOf(take('$pathname'), eventLimits.urlCharsMax),
    referrer: referrer === '$direct' ? undefined : fittedUrlOf(referrer),
    session_id: sessionId === undefined ? undefined : fittedIdOf(sessionId),
    ip: sentIpOf(take('$ip')),
    // posthog-node sets it on every event by default: a server's address is not its user's.
    ...(properties.$geoip_disable === true ? { geoip: false } : {}),
    user_agent: cutTextOf(take('$raw_user_agent'), eventLimits.userAgentCharsMax),
    properties: storedProperties(properties, name),
  };
}

/**
 * The event's time as PostHog's capture computes it (`parse_event_timestamp`): now minus
 * `offset` (ms ago) when there is one; else `timestamp` shifted by the client's clock skew
 * (receive time − `sent_at`, rounded: skewOf) when the client says when it sent; else now. A
 * time that is invalid, out of range, or more than 23 h ahead becomes the receive time.
 */
function timestampOf(
  event: Record<string, unknown>,
  sentAt: number | null,
  receivedAt: number,
): number {
  let ms = receivedAt;
  const { timestamp, offset } = event;
  if (typeof timestamp === 'string' || typeof timestamp === 'number') {
    const parsed = parseAsUtc(timestamp);
    ms = !parsed.ok
      ? Number.NaN
      : sentAt === null
        ? parsed.ms
        : parsed.ms - skewOf(sentAt, receivedAt);
  }
  // As in PostHog's capture, an offset wins over any timestamp.
  if (typeof offset === 'number' && Number.isFinite(offset)) ms = Math.round(receivedAt - offset);
  const valid = parseAsUtc(ms).ok && ms - receivedAt <= FUTURE_MS_MAX;
  return valid ? ms : receivedAt;
}

/** The step a clock skew is taken off in, as PostHog's capture (its timestamp.rs) takes it. */
const CLOCK_SKEW_QUANTUM_MS = 5 * 60_000;

/**
 * The clock skew a request shows (`sent_at` − receive time), to the nearest
 * CLOCK_SKEW_QUANTUM_MS, half away from zero, as PostHog's `quantize_clock_skew`. The measure
 * also holds the time the request took to arrive: a slow upload, Tally's wait for its store,
 * and a resent batch, which posthog-node sends as it was, the `sent_at` of its first try in it,
 * 3 s after a 5xx. Taken whole it moved every event of such a request later by that delay,
 * past events the client captured after them but sent sooner (a funnel's steps out of order).
 * Rounded, a clock wrong by minutes or more is still corrected, a healthy one not at all.
 */
function skewOf(sentAt: number, receivedAt: number): number {
  const measured = sentAt - receivedAt;
  const quanta = Math.round(Math.abs(measured) / CLOCK_SKEW_QUANTUM_MS);
  return Math.sign(measured) * quanta * CLOCK_SKEW_QUANTUM_MS;
}
