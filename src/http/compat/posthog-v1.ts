// PostHog's capture v1 (`POST /i/v1/analytics/events`): where posthog-node (with
// POSTHOG_CAPTURE_MODE=v1), posthog-python (v1 by default on its master) and posthog-go send
// analytics events. The write key is the `Authorization: Bearer` token; the body is
// `{created_at, batch: [{event, uuid, distinct_id, timestamp, session_id?, window_id?, options,
// properties}]}`, gzip, deflate or zstd by Content-Encoding; the answer is a 200 whose
// `results` map each uuid to `ok`, or to `drop` with the rule it broke. The SDKs resend only
// the events answered `retry` (Tally answers none: a batch is written whole or refused whole
// with a 503 the SDKs resend; nor `warning`, which PostHog gives an event it keeps but changes,
// such as one whose person processing it turns off), and a whole batch on a 408 or 5xx
// (posthog-node also on a 404 or 429, the others not: Tally's 429 is a 503 here); a 400, 401,
// 403, 413 or 415 drops the batch. The PostHog-* headers every SDK sends are required, as
// PostHog requires them (posthog-v1-headers.ts). `historical_migration` only sends a batch
// down PostHog's historical pipeline: Tally stores it as any other.
//
// Each event is turned back into the classic capture's event (posthog.ts), so it is stored as
// the same event sent to /batch/ is: `session_id` and `window_id` are `$session_id` and
// `$window_id` again, the `options` their `$` properties, and `$lib`/`$lib_version` (which the
// SDKs move to the PostHog-Sdk-Info header) properties again; PostHog-Request-Timestamp (each
// attempt's send time) is the classic `sent_at`, for the client's clock skew.

import { inflateRawSync, inflateSync, zstdDecompressSync } from 'node:zlib';
import { Elysia } from 'elysia';
import { AppError, MiB, parseAsUtc, requestLimits } from '../../core/index.ts';
import { formatOf, gunzipLimited, JSON_TYPES, parseJson } from '../body.ts';
import { readWithin, tooLarge } from '../body-bytes.ts';
import type { AppDeps } from '../context.ts';
import { admitIngest } from '../prepare.ts';
import {
  contextOf,
  ingestSorted,
  issuesText,
  objectOf,
  type Server,
  sortBatch,
  textOf,
} from './ingest.ts';
import { CAPTURE_BODY_MIB_MAX, eventOf, POSTHOG_FIT } from './posthog.ts';
import { hasRoundedId, parsedIdText, parseWithExactIds } from './posthog-ids.ts';
import { captureV1Doc } from './posthog-v1-docs.ts';
import { checkV1Headers } from './posthog-v1-headers.ts';
import {
  CORS_HEADERS,
  type ErrorShape,
  errorHeaders,
  guarded,
  json,
  preflightRoutes,
} from './responses.ts';

export const POSTHOG_V1_PATH = '/i/v1/analytics/events';

/** The largest body, as sent or decompressed: the classic capture's (PostHog's 20 MiB). */
const V1_BODY_BYTES_MAX = CAPTURE_BODY_MIB_MAX * MiB;

/** The v1 `options` of an event, each back as the property the SDKs took it from. */
const OPTION_PROPERTIES: Record<string, string> = {
  cookieless_mode: '$cookieless_mode',
  disable_skew_correction: '$ignore_sent_at',
  process_person_profile: '$process_person_profile',
  product_tour_id: '$product_tour_id',
};

/** Where PostHog's v1 error bodies point (its ErrorResponse.error_uri). */
const ERROR_URI = 'https://posthog.com/docs/api';

/**
 * PostHog's v1 error body (`error`, `error_description`, `error_uri`). A 429 (the project's
 * write rate spent, the tenant's backlog full: both pass) is sent as a 503, its code and
 * Retry-After kept: in v1 a 429 is terminal to posthog-python and posthog-js (their v1
 * senders resend only 408 and 5xx, PostHog signalling overload by a 5xx with Retry-After), so
 * they dropped the batch; posthog-node resends both alike. A 408 stays itself: all resend it.
 */
function posthogV1ErrorShape(deps: AppDeps): ErrorShape {
  return (error) => {
    const e =
      error.code === 'validation_failed'
        ? new AppError('bad_request', issuesText(error.issues ?? []))
        : error;
    const headers = { ...CORS_HEADERS, ...errorHeaders(e, deps.options.retryAfterSeconds) };
    const body = { error: e.code, error_description: e.message, error_uri: ERROR_URI };
    return json(body, e.status === 429 ? 503 : e.status, headers);
  };
}

export function posthogV1Routes(deps: AppDeps) {
  const shape = posthogV1ErrorShape(deps);
  const capture = guarded(shape, async (c: { request: Request; server: Server }) => {
    const { request, server } = c;
    admitIngest(deps);
    checkV1Headers(request.headers);
    const bytes = await readV1Json(request);
    let body = parseJson(bytes);
    let idText = parsedIdText;
    if (itemsOf(body).some(hasRoundedId)) ({ body, idText } = parseWithExactIds(bytes));
    const items = itemsOf(body);
    const uuids = uuidsOf(items);
    const sdk = sdkOf(request.headers.get('posthog-sdk-info'));
    const sentAt =
      timeOf(request.headers.get('posthog-request-timestamp')) ??
      timeOf(textOf(objectOf(body)?.created_at) ?? null);
    const key = bearerOf(request.headers.get('authorization'));
    const ctx = contextOf(deps, request, server, { key, fit: POSTHOG_FIT });
    const batch = sortBatch(items, (item, i) =>
      eventOf(classicOf(item as Record<string, unknown>, i, sdk), i, sentAt, ctx, idText),
    );
    await ingestSorted(deps, request, batch, 'posthog', { eachAnswered: true });
    const results: Record<string, { result: string; details?: string }> = {};
    for (const uuid of uuids) results[uuid] = { result: 'ok' };
    for (const { index, reason } of batch.dropped) {
      results[uuids[index] as string] = { result: 'drop', details: reason };
    }
    return json({ results }, 200, CORS_HEADERS);
  });
  return new Elysia({ tags: ['compatibility'] })
    .use(preflightRoutes([POSTHOG_V1_PATH]))
    .post(POSTHOG_V1_PATH, capture, { parse: 'none', detail: captureV1Doc() });
}

/** The batch of a v1 body: 400 when there is none or it is empty, 413 over the events limit. */
function itemsOf(body: unknown): unknown[] {
  const batch = objectOf(body)?.batch;
  if (!Array.isArray(batch)) throw new AppError('bad_request', 'the body must have a batch array');
  if (batch.length === 0) throw new AppError('bad_request', 'the batch holds no events');
  if (batch.length > requestLimits.batchEventsMax) {
    throw new AppError(
      'payload_too_large',
      `a batch holds at most ${requestLimits.batchEventsMax} events (got ${batch.length})`,
    );
  }
  return batch;
}

/**
 * Each event's uuid, by which the answer names it: an item that is no object or has none, and
 * a uuid twice in a batch, are a 400 for the whole batch, as PostHog's v1 capture answers them.
 */
function uuidsOf(items: unknown[]): string[] {
  const seen = new Set<string>();
  return items.map((item, index) => {
    const event = objectOf(item);
    if (event === undefined) throw new AppError('bad_request', `batch.${index} must be an object`);
    const uuid = textOf(event.uuid);
    if (uuid === undefined || uuid === '') {
      throw new AppError('bad_request', `batch.${index}.uuid is required`);
    }
    if (seen.has(uuid)) throw new AppError('bad_request', `batch.${index}.uuid ${uuid} is twice`);
    seen.add(uuid);
    return uuid;
  });
}

/**
 * A v1 event as the classic capture's event (the SDKs' buildV1Event undone); 400 when its
 * properties are no object (PostHog's v1 capture drops it: `malformed_event_properties`).
 */
function classicOf(
  event: Record<string, unknown>,
  index: number,
  sdk: Record<string, string>,
): Record<string, unknown> {
  const sent = objectOf(event.properties);
  if (sent === undefined && event.properties !== undefined && event.properties !== null) {
    throw new AppError('bad_request', `batch.${index}.properties must be an object`);
  }
  const properties: Record<string, unknown> = { ...sent };
  const putBack = (key: string, value: unknown) => {
    if (value !== undefined && !(key in properties)) properties[key] = value;
  };
  putBack('$session_id', textOf(event.session_id));
  putBack('$window_id', textOf(event.window_id));
  for (const [key, value] of Object.entries(optionsOf(event.options, index))) putBack(key, value);
  for (const [key, value] of Object.entries(sdk)) putBack(key, value);
  const { session_id: _s, window_id: _w, options: _o, ...rest } = event;
  return { ...rest, properties };
}

/**
 * The `options` of an event as the classic properties, each read as PostHog's v1 capture reads
 * it (RawOptions::validate): a flag is a boolean, "true"/"false"/"1"/"0" in any case, or a
 * number (not 0 is true); `product_tour_id` text or an integer; null or absent is none. Options
 * that are no object, or a value none of those, drop the event (PostHog's `invalid_options`).
 */
function optionsOf(sent: unknown, index: number): Record<string, unknown> {
  if (sent === undefined || sent === null) return {};
  const options = objectOf(sent);
  const invalid = (what: string) =>
    new AppError('bad_request', `batch.${index}.options${what} is invalid`);
  if (options === undefined) throw invalid('');
  const read: Record<string, unknown> = {};
  for (const [option, key] of Object.entries(OPTION_PROPERTIES)) {
    const value = options[option];
    if (value === undefined || value === null) continue;
    const coerced = option === 'product_tour_id' ? tourIdOf(value) : flagOf(value);
    if (coerced === undefined) throw invalid(`.${option}`);
    read[key] = coerced;
  }
  return read;
}

function flagOf(value: unknown): boolean | undefined {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'number') return value !== 0;
  if (typeof value !== 'string') return undefined;
  const text = value.trim().toLowerCase();
  return text === 'true' || text === '1'
    ? true
    : text === 'false' || text === '0'
      ? false
      : undefined;
}

function tourIdOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return Number.isSafeInteger(value) ? String(value) : undefined;
}

/** `$lib` and `$lib_version` from PostHog-Sdk-Info (`posthog-node/5.70.0`), when it has both. */
function sdkOf(info: string | null): Record<string, string> {
  const at = info?.lastIndexOf('/') ?? -1;
  if (info === null || at <= 0 || at === info.length - 1) return {};
  return { $lib: info.slice(0, at).trim(), $lib_version: info.slice(at + 1).trim() };
}

function timeOf(text: string | null): number | null {
  if (text === null) return null;
  const parsed = parseAsUtc(text);
  return parsed.ok ? parsed.ms : null;
}

/** The token of `Authorization: Bearer <token>`, or null (the tenancy decides then). */
function bearerOf(header: string | null): string | null {
  const match = /^\s*bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return match?.[1] ?? null;
}

/**
 * The JSON bytes of a v1 body: JSON (or text/plain JSON) only, 415 otherwise; read and then
 * decompressed within V1_BODY_BYTES_MAX (413 beyond).
 */
async function readV1Json(request: Request): Promise<Buffer> {
  formatOf(request.headers.get('content-type'), JSON_TYPES);
  const raw = await readWithin(request, V1_BODY_BYTES_MAX);
  if (raw.length === 0) throw new AppError('bad_request', 'the body is empty');
  return decompressed(raw, request.headers.get('content-encoding'));
}

/** `raw` undone of its Content-Encoding: gzip, deflate (zlib or raw), zstd, or none. */
function decompressed(raw: Buffer, encoding: string | null): Buffer {
  const coding = (encoding ?? '').trim().toLowerCase();
  const max = V1_BODY_BYTES_MAX;
  if (coding === '' || coding === 'identity' || coding === 'none') return raw;
  if (coding === 'gzip' || coding === 'x-gzip') return gunzipLimited(raw, max);
  const inflate = (undo: (bytes: Buffer) => Buffer, name: string): Buffer => {
    try {
      return undo(raw);
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        throw tooLarge(max, 'decompressed ');
      }
      throw new AppError('bad_request', `the body is not valid ${name}`, { cause: error });
    }
  };
  const options = { maxOutputLength: max };
  if (coding === 'zstd') return inflate((b) => zstdDecompressSync(b, options), 'zstd');
  if (coding === 'deflate') {
    // HTTP's deflate is zlib's format; some clients send the raw stream.
    const zlib = raw.length >= 2 && ((raw[0] as number) * 256 + (raw[1] as number)) % 31 === 0;
    return zlib
      ? inflate((b) => inflateSync(b, options), 'deflate')
      : inflate((b) => inflateRawSync(b, options), 'deflate');
  }
  throw new AppError(
    'unsupported_media_type',
    `Content-Encoding ${coding} is not supported; send gzip, deflate, zstd or none`,
  );
}
