// One Umami collection item ({type, payload}): its schema, and as a unified event with the
// session and visit ids Umami answers with (umami-sessions.ts). The session becomes the event's
// anonymous_id (Umami's visitor) and the visit its session_id. `event` items are stored as
// events, `identify` items with data as an uncounted event holding the session's properties;
// the other types Umami takes are checked and answered as Umami answers them. Text
// over a limit is cut as Umami cuts it to its columns, not refused (fitted-fields.ts), and the
// path keeps the URL's hash, as Umami's url_path does, decoded as Umami saves it.

import { t } from 'elysia';
import {
  AppError,
  CUT_PROPERTIES_KEY,
  cutToChars,
  EPOCH_MS_MAX,
  EPOCH_MS_MIN,
  type EventInput,
  eventLimits,
  type FieldIssue,
  UMAMI_IDENTIFY_EVENT_NAME,
} from '../../core/index.ts';
import type { PrepareContext } from '../prepare.ts';
import { jsonInteger, openObject } from './docs.ts';
import {
  cutTextOf,
  fittedIdOf,
  fittedPageUrlOf,
  fittedUrlOf,
  pathWithHash,
  sentIpOf,
} from './fitted-fields.ts';
import { objectOf } from './ingest.ts';
import type { UmamiIds, UmamiSessions } from './umami-sessions.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The item types of Umami's /api/send (its collection schema and its error tracking). */
const UMAMI_TYPES = ['event', 'identify', 'performance', 'engagement', 'error'] as const;
type UmamiType = (typeof UMAMI_TYPES)[number];
/**
 * Types checked and answered like events but not stored: Umami counts none of them as an event,
 * so storing them would inflate totals, top events and live counters. performance: web vitals,
 * for Umami's separate performance report; engagement: time on page (`engagement`, ms), which
 * Umami's schema takes and keeps no event of. An identify item with `data` is stored, as
 * UMAMI_IDENTIFY_EVENT_NAME, which no read counts: Umami keeps its `data` as the session's
 * properties (its session data reads); one without is only answered (Umami links its `id` to
 * the session; the tracker sends `id` on the events that follow, stored as their user_id).
 */
const UNSTORED_TYPES: ReadonlySet<string> = new Set<UmamiType>(['performance', 'engagement']);

/** Whether an identify item carries data to keep: a `data` object with a key. */
function identifiesData(payload: Record<string, unknown> | undefined): boolean {
  return Object.keys(objectOf(payload?.data) ?? {}).length > 0;
}

/**
 * Whether an item (as sent, not yet checked) may write an event: not one of the types only
 * answered (UNSTORED_TYPES, `error`, an identify without data), whose requests so spend none of
 * the site's write rate. A type Umami does not know spends it, as any request refused for its
 * body does.
 */
export function umamiItemWrites(item: unknown): boolean {
  const body = objectOf(item);
  const type = body?.type;
  if (type === 'identify') return identifiesData(objectOf(body?.payload));
  return type !== 'error' && !(typeof type === 'string' && UNSTORED_TYPES.has(type));
}

/** Umami's answer to an `error` item for a website whose error tracking is off. */
export const UMAMI_ERRORS_DISABLED = { ok: false, reason: 'errors_disabled' } as const;
/** The latest `timestamp` (epoch seconds) that is a date: the last second of the year 9999. */
const TIMESTAMP_SECONDS_MAX = Math.floor(EPOCH_MS_MAX / 1000);
/** The earliest `timestamp` that is a date: the first second of the year 0000. */
const TIMESTAMP_SECONDS_MIN = Math.ceil(EPOCH_MS_MIN / 1000);
/** Page fields kept as properties, `$`-prefixed so they never collide with the event's data. */
const PAGE_FIELDS = ['title', 'hostname', 'screen', 'language', 'tag'] as const;
/**
 * How an item's properties are fitted into the limits (core/properties.ts): the page fields,
 * which Umami's reads show, are cut last.
 */
export const UMAMI_FIT = {
  api: 'umami',
  keep: new Set<string>(PAGE_FIELDS.map((field) => `$${field}`)),
};
/** A page field is cut to Umami's widest column for them (`pageTitle`, 500 characters). */
const PAGE_FIELD_CHARS_MAX = 500;
const TEXT_FIELDS = ['url', 'referrer', 'name', 'id', 'ip', 'userAgent', ...PAGE_FIELDS];

const optionalText = (description?: string) =>
  t.Optional(t.String(description === undefined ? {} : { description }));

/** An item as the tracker and @umami/node send it, for the docs (checkItem() checks one). */
export const UmamiItemIn = t.Object(
  {
    type: t.Union(
      UMAMI_TYPES.map((type) => t.Literal(type)),
      {
        description:
          "`event` is stored, and `identify` with `data` (the session's properties, never " +
          'counted as an event). `performance`, `engagement` and an `identify` without ' +
          '`data` are checked and answered but not stored; `error` is answered ' +
          '{"ok":false,"reason":"errors_disabled"}.',
      },
    ),
    payload: t.Object(
      {
        website: t.String({
          format: 'uuid',
          description: 'The website id: the tenant, or a site alias of one.',
        }),
        url: optionalText(
          'Page URL or path (a path is stored on https://<hostname>, as Umami reads it); the ' +
            'path keeps its #hash and is stored decodeURI-d. Over ' +
            `${eventLimits.urlCharsMax} characters: stored without its query but its ` +
            'campaign tags and ad click ids (utm_*, source, ref, gclid, …), as Umami keeps them.',
        ),
        referrer: optionalText(
          `Over ${eventLimits.urlCharsMax} characters: stored without its query.`,
        ),
        name: optionalText(
          `The event name (cut to ${eventLimits.nameCharsMax} characters); a page view when ` +
            'absent.',
        ),
        id: optionalText(
          `Distinct id: the user_id, and the session key; one over ${eventLimits.idCharsMax} ` +
            'characters is stored as its start, `~` and 16 hex digits of its SHA-256.',
        ),
        title: optionalText('Stored decodeURIComponent-d, as Umami saves it.'),
        hostname: optionalText(),
        screen: optionalText(),
        language: optionalText(),
        tag: optionalText(),
        ip: optionalText('Else the client address; text that is no IP address is none.'),
        userAgent: optionalText('Else the User-Agent header.'),
        timestamp: t.Optional(
          t.Union(
            [
              jsonInteger({ minimum: TIMESTAMP_SECONDS_MIN, maximum: TIMESTAMP_SECONDS_MAX }),
              t.String(),
              t.Null(),
            ],
            {
              description:
                'Epoch seconds, read as Umami coerces them (Number()): a whole number, or ' +
                'text of one; "" and null are 0 (1970-01-01, where Umami stores them). ' +
                `From ${TIMESTAMP_SECONDS_MIN} to ${TIMESTAMP_SECONDS_MAX}.`,
            },
          ),
        ),
        data: t.Optional(
          t.Nullable(
            openObject(
              'Event data, stored as properties; over their limits ' +
                `(${eventLimits.propertiesKeysMax} keys, ${eventLimits.propertiesBytesMax} ` +
                `bytes) the largest values are cut, and named in \`${CUT_PROPERTIES_KEY}\`.`,
            ),
          ),
        ),
      },
      { additionalProperties: true },
    ),
  },
  { additionalProperties: true },
);

/** One item as Umami takes it: an event to store, an item only answered, or an error report. */
export type UmamiItem =
  | {
      kind: 'event';
      input: EventInput;
      ids: UmamiIds;
      cache: string;
      stored: boolean;
      /** Whether the payload names an `ip` (then Umami reads no location header). */
      ipSent: boolean;
      /** The reserved name the item may write (core/reserved.ts): an identify's. */
      writesReserved?: string;
    }
  | { kind: 'error'; websiteId: string };

/**
 * The unified event of one item and the ids to answer with (`stored` false for the types Umami
 * does not count as events); an `error` item only names its website. 422 issues name bad fields.
 */
export function umamiItem(
  item: unknown,
  ctx: PrepareContext,
  sessions: UmamiSessions,
  loc: (string | number)[],
  cache: string | null,
): UmamiItem {
  const { type, payload } = checkItem(item, loc);
  if (type === 'error') return { kind: 'error', websiteId: payload.website as string };
  const text = (key: string) => (typeof payload[key] === 'string' ? payload[key] : undefined);
  // Umami reads an empty name, id, ip or userAgent as none (a page view, no distinct id, the
  // request's address and agent).
  const given = (key: string) => text(key) || undefined;
  const website = payload.website as string;
  const seconds = timestampSeconds(payload.timestamp);
  const atMs = seconds === undefined ? ctx.receivedAt : seconds * 1000;
  // Umami's getClientInfo: `payload.ip || <the request's>`, so an empty one is none, too.
  const ip = given('ip') ?? ctx.ip ?? '';
  const userAgent = given('userAgent') ?? ctx.userAgent ?? '';
  const id = given('id');
  // Fitted, not cut: two ids alike in their first 128 characters stay two people and sessions.
  const distinctId = id === undefined ? undefined : fittedIdOf(id);
  const visit = { cache, nowMs: ctx.receivedAt, historical: seconds !== undefined };
  const claims = sessions.ids(website, distinctId ?? `${ip}\0${userAgent}`, atMs, visit);
  const ids = { websiteId: website, sessionId: claims.sessionId, visitId: claims.visitId };
  const properties: Record<string, unknown> = { ...objectOf(payload.data) };
  for (const field of PAGE_FIELDS) {
    const sent = field === 'hostname' ? hostnameOf(given('hostname'), text('url')) : text(field);
    // Umami saves the title decoded (safeDecodeURIComponent): its 2.x trackers encodeURI it.
    const value =
      field === 'title' && sent !== undefined ? decodedOr(sent, decodeURIComponent) : sent;
    if (value !== undefined) properties[`$${field}`] = cutToChars(value, PAGE_FIELD_CHARS_MAX);
  }
  const name = given('name');
  const url = pageUrlOf(text('url'), given('hostname'));
  const referrer = text('referrer');
  const input: EventInput = {
    tenant_id: website,
    name:
      type === 'identify'
        ? UMAMI_IDENTIFY_EVENT_NAME
        : name === undefined
          ? 'pageview'
          : cutToChars(name, eventLimits.nameCharsMax),
    ...(seconds === undefined ? {} : { timestamp: atMs }),
    user_id: distinctId,
    anonymous_id: ids.sessionId,
    session_id: ids.visitId,
    url: fittedPageUrlOf(url),
    path: umamiPathOf(url),
    referrer: fittedUrlOf(referrer),
    user_agent: cutTextOf(given('userAgent'), eventLimits.userAgentCharsMax),
    ip: sentIpOf(given('ip')),
    properties,
  };
  const token = sessions.token(claims, ctx.receivedAt);
  const stored = type === 'identify' ? identifiesData(payload) : !UNSTORED_TYPES.has(type);
  const reserved = type === 'identify' ? { writesReserved: UMAMI_IDENTIFY_EVENT_NAME } : {};
  const ipSent = given('ip') !== undefined;
  return { kind: 'event', input, ids, cache: token, stored, ipSent, ...reserved };
}

/**
 * The page's hostname as Umami saves it: the one sent (not empty), else the host of a page URL
 * sent whole, without `www.` (`hostname || urlDomain`), so that its hostname metric and filter
 * find the pages of a sender that names the URL alone (`@umami/node`'s `track({url})`).
 */
function hostnameOf(sent: string | undefined, url: string | undefined): string | undefined {
  if (sent !== undefined || url === undefined || !URL.canParse(url)) return sent;
  return new URL(url).hostname.replace(/^www\./, '') || undefined;
}

/**
 * The page's URL as Umami reads it (`new URL(url, https://<hostname>)`): a path, as @umami/node
 * and Umami 2's trackers send it, on the payload's hostname, so that a referrer on that host is
 * seen as the site's own (no source), as Umami drops it; a URL with a scheme, or with no
 * hostname to resolve against, as sent.
 */
function pageUrlOf(url: string | undefined, hostname: string | undefined): string | undefined {
  if (url === undefined || hostname === undefined || URL.canParse(url)) return url;
  const base = `https://${hostname}`;
  return URL.canParse(base) && URL.canParse(url, base) ? new URL(url, base).href : url;
}

/**
 * The page path as Umami saves it (urlPath: safeDecodeURI of the path and hash): the escapes of
 * the browser's URL decoded (`/café`, not `/caf%C3%A9`), those of reserved characters (`%2F`)
 * kept, and the path as it is when it does not decode (`100%`).
 */
function umamiPathOf(url: string | undefined): string | undefined {
  const path = url === undefined ? undefined : pathWithHash(url);
  return path === undefined ? undefined : decodedOr(path, decodeURI);
}

/** `text` decoded by `decode`, or as it is when it is no valid escape text (Umami's safe*). */
function decodedOr(text: string, decode: (text: string) => string): string {
  try {
    return decode(text);
  } catch {
    return text;
  }
}

/**
 * `timestamp` as Umami's schema reads it (`z.coerce.number().int().optional()`): absent is
 * none; anything else is JavaScript's Number() of it, which must be a whole number, so that
 * "1795600000" and " 1795600000 " are that time and "" and null are 0 (1970-01-01, where
 * Umami stores them); NaN for what is no whole number.
 */
function timestampSeconds(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const seconds = Number(value);
  return Number.isSafeInteger(seconds) ? seconds : Number.NaN;
}

function checkItem(
  item: unknown,
  at: (string | number)[],
): { type: string; payload: Record<string, unknown> } {
  const body = objectOf(item);
  const payload = objectOf(body?.payload);
  const issues: FieldIssue[] = [];
  const bad = (loc: string[], msg: string) =>
    issues.push({ loc: [...at, ...loc], msg, type: 'value_error' });
  const type = body?.type as string;
  if (!(UMAMI_TYPES as readonly string[]).includes(type)) {
    bad(['type'], `type must be one of ${UMAMI_TYPES.join(', ')}`);
  }
  if (payload === undefined) {
    bad(['payload'], 'payload must be an object');
    throw AppError.validation(issues);
  }
  const website = payload.website;
  if (typeof website !== 'string' || !UUID.test(website)) {
    bad(['payload', 'website'], 'website must be a website UUID');
  }
  // An error report has fields of its own (a timestamp in ms, a stack); it is not kept.
  if (type === 'error') {
    if (issues.length > 0) throw AppError.validation(issues);
    return { type, payload };
  }
  for (const field of TEXT_FIELDS) {
    const value = payload[field];
    if (value !== undefined && value !== null && typeof value !== 'string') {
      bad(['payload', field], `${field} must be a string`);
    }
  }
  // The session is derived from that time before the event rules see it, so it must be a
  // date here already.
  const seconds = timestampSeconds(payload.timestamp);
  if (Number.isNaN(seconds)) {
    bad(['payload', 'timestamp'], 'timestamp must be whole epoch seconds');
  } else if (
    seconds !== undefined &&
    (seconds < TIMESTAMP_SECONDS_MIN || seconds > TIMESTAMP_SECONDS_MAX)
  ) {
    bad(
      ['payload', 'timestamp'],
      `timestamp must be from ${TIMESTAMP_SECONDS_MIN} to ${TIMESTAMP_SECONDS_MAX} (the years ` +
        '0000 to 9999)',
    );
  }
  if (payload.data !== undefined && payload.data !== null && objectOf(payload.data) === undefined) {
    bad(['payload', 'data'], 'data must be an object');
  }
  if (issues.length > 0) throw AppError.validation(issues);
  return { type, payload };
}
