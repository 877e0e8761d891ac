// PostHog's capture API: POST /batch/, /capture/, /e/ and /i/v0/e/. The body's `api_key` (or
// `token`) is the write key; `uuid` is the event_id, so a retried batch is stored once;
// `$pageview` is a page view with `$current_url` as its url and path. An oversized batch is a
// 413, on which posthog-node halves the batch and retries; overload is 429/503 (retried).

import { Elysia } from 'elysia';
import { AppError, type EventInput, requestLimits } from '../../core/index.ts';
import type { AppDeps } from '../context.ts';
import { admitIngest, prepareEvents } from '../prepare.ts';
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
    app.post(path, capture, { parse: 'none', detail: { summary: `PostHog: capture (${path})` } });
  }
  return app;
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
