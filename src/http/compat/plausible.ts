// Plausible's Events API: POST /api/event with `text/plain` (or JSON) `{n,u,d,r,p,…}` or the
// long names. `d` is a domain alias, a comma list one event per site taken (plausible-sites.ts);
// the visitor hash uses User-Agent and the address of the headers Plausible reads (plausible-ip).
// 202 "ok" only once stored; bad input is 400 `{"errors":{field:[msg]}}`. The tracker's
// engagement beacons are stored under Tally's reserved name (plausible-engagement.ts), which
// no read counts as an event.

import { Elysia, t } from 'elysia';
import {
  AppError,
  CUT_PROPERTIES_KEY,
  ENGAGEMENT_EVENT_NAME,
  ENGAGEMENT_TIME_KEY,
  type EventInput,
  eventLimits,
  type FieldIssue,
  INTERACTIVE_KEY,
  pathOfUrl,
  requestLimits,
  SCROLL_DEPTH_KEY,
} from '../../core/index.ts';
import { JSON_TYPES, parseJson, readBody } from '../body.ts';
import type { AppDeps } from '../context.ts';
import { errorResponse } from '../errors.ts';
import { ErrorOut, openApiSchema } from '../model.ts';
import { prepareEvents } from '../prepare.ts';
import {
  errorAnswers,
  INGEST_ERROR_TEXT,
  jsonInteger,
  jsonRequestBody,
  openObject,
} from './docs.ts';
import { fittedUrl, readQueryOf } from './fitted-fields.ts';
import { admitWaiting, contextOf, ingestWaiting, objectOf, type Server, textOf } from './ingest.ts';
import {
  beaconProperties,
  engagementOf,
  engagementTimeOf,
  PLAUSIBLE_ENGAGEMENT_NAME,
} from './plausible-engagement.ts';
import { plausibleIpOf, VISITOR_TEXT } from './plausible-ip.ts';
import { addGoalPath, plausibleNames, propertiesOf, REVENUE_KEY } from './plausible-props.ts';
import { domainsOf, droppedHeader, recheckedSites, takenSites } from './plausible-sites.ts';
import { CORS_HEADERS, type ErrorShape, errorHeaders, guarded, json } from './responses.ts';
import type { RoomWaits } from './room-wait.ts';

/**
 * What a page URL without a scheme and host (`/pricing`) is read against for its path and query;
 * never stored. Plausible takes one (its hostname is then "(none)"), as its tracker never sends.
 */
const NO_HOST_BASE = 'http://no-host.invalid';

/** Sites one event may name in `d`. */
export const PLAUSIBLE_DOMAINS_MAX = 10;

/**
 * Props over the limits are fitted (core/properties.ts), the keys Tally adds cut last. Plausible
 * keeps 30 props and drops the rest without a word; refusing the event would lose its page view.
 */
export const PLAUSIBLE_FIT = {
  api: 'plausible',
  keep: new Set([REVENUE_KEY, SCROLL_DEPTH_KEY, ENGAGEMENT_TIME_KEY, INTERACTIVE_KEY]),
};

/** Plausible's words for a body that is no JSON object (empty, not JSON, not UTF-8, a list). */
const NOT_JSON = 'Unable to parse request body as json';

/** Plausible's field names (its Ingestion.Request's) by unified (or short) name. */
const FIELD_NAMES: Record<string, string> = {
  name: 'event_name',
  url: 'url',
  path: 'url',
  tenant_id: 'domain',
  referrer: 'referrer',
  timestamp: 'timestamp',
};

export function plausibleRoutes(deps: AppDeps, waits: RoomWaits) {
  const shape: ErrorShape = (error) => {
    const headers = { ...CORS_HEADERS, ...errorHeaders(error, deps.options.retryAfterSeconds) };
    // Plausible's Request.build answers any body it cannot decode to a JSON object so.
    if (error.code === 'invalid_json') {
      return json({ errors: { request: [NOT_JSON] } }, 400, headers);
    }
    if (error.code === 'validation_failed') {
      return json({ errors: errorsOf(error) }, 400, headers);
    }
    const response = errorResponse(error, deps.options.retryAfterSeconds);
    response.headers.set('access-control-allow-origin', '*');
    return response;
  };
  // The tracker never resends: a request refused for overload waits for room (room-wait.ts).
  const event = guarded(shape, ({ request, server }: { request: Request; server: Server }) =>
    waits.around(request, async (wait) => {
      admitWaiting(deps, wait);
      // Up to the ingest body limit, not one event's 32 KB: a page URL with a long token (the
      // tracker sends it whole, and never resends) is stored without its query, as the fields
      // of every SDK event are fitted, where a 413 lost the page view.
      const read = await readBody(request, JSON_TYPES, requestLimits.bodyBytesMax);
      const body = objectOf(parseJson(read.bytes));
      if (body === undefined) throw new AppError('invalid_json', 'the body must be a JSON object');
      const sent = plausibleIpOf(request.headers);
      const ctx = contextOf(deps, request, server, {
        ...(sent === undefined ? {} : { ip: sent }),
        fit: PLAUSIBLE_FIT,
      });
      const taken = takenSites(deps, inputsOf(body), ctx);
      // Only a beacon named as the tracker names it writes the reserved name, never one sent.
      if (textOf(body.n ?? body.name) === PLAUSIBLE_ENGAGEMENT_NAME) {
        ctx.writesReserved = ENGAGEMENT_EVENT_NAME;
      }
      const events = prepareEvents(taken.inputs, ctx, () => ['body'], plausibleNames(body));
      const recheck = recheckedSites(deps, ctx, events, taken);
      await ingestWaiting(deps, request, events, () => ['body'], wait, recheck);
      const headers = { ...CORS_HEADERS, 'content-type': 'text/plain; charset=utf-8' };
      return new Response('ok', {
        status: 202,
        headers: { ...headers, ...droppedHeader(taken.dropped) },
      });
    }),
  );
  return new Elysia({ tags: ['compatibility'] }).post('/api/event', event, {
    parse: 'none',
    detail: EVENT_DOC,
  });
}

const PlausibleEventIn = t.Object(
  {
    n: t.Optional(t.String({ description: 'Event name (or `name`), required.' })),
    u: t.Optional(
      t.String({
        description:
          'Page URL (or `url`), required; its path is stored decoded, as Plausible does. ' +
          'One without a scheme and host (`/pricing`) is a page of no host; a `data:` URL is ' +
          'refused (400), as Plausible refuses it.',
      }),
    ),
    d: t.Optional(
      t.String({
        description:
          'Site domain (or `domain`): a tenant or a site alias, without a leading `www.`; a ' +
          `comma list writes one event per site (at most ${PLAUSIBLE_DOMAINS_MAX}; one a ` +
          'tenant named twice); one the request may not write to, or not now (over its ' +
          'keyless rate), is left out, counted in `x-plausible-dropped` (403 or 429 when all ' +
          "are). Without it, the page URL's host.",
      }),
    ),
    r: t.Optional(
      t.Nullable(
        t.String({
          description:
            'Referrer (or `referrer`); over ' +
            `${eventLimits.urlCharsMax} characters: without its query.`,
        }),
      ),
    ),
    p: t.Optional(
      t.Union([openObject(), t.String()], {
        description:
          'Custom props (or `props`, `m`, `meta`): an object or its JSON text (anything else ' +
          'is no props, as in Plausible); a prop whose value is blank, null, a list or an ' +
          'object is left out, as Plausible leaves it out. Over the limits of properties (' +
          `${eventLimits.propertiesKeysMax} keys, ${eventLimits.propertiesBytesMax} bytes) ` +
          `the largest are cut, and named in \`${CUT_PROPERTIES_KEY}\`.`,
      }),
    ),
    h: t.Optional(
      t.Union([jsonInteger(), t.Boolean()], {
        description: 'Hash mode (or `hashMode`): 1 or true keeps the #fragment in the path.',
      }),
    ),
    e: t.Optional(
      t.Union([t.Integer(), t.String()], {
        description:
          'Engagement time in ms, of an `engagement` beacon: an integer (or its text) from 0 ' +
          'up to 30 days, else none.',
      }),
    ),
    sd: t.Optional(
      t.Union([t.Integer(), t.String()], {
        description:
          'Scroll depth in percent, of an `engagement` beacon: an integer (or its text); ' +
          'over 100 is 100, a negative one none. A beacon needs `sd` or `e`.',
      }),
    ),
    $: t.Optional(
      openObject('Revenue (or `revenue`, first): {amount, currency}; without both, none.'),
    ),
    i: t.Optional(
      t.Boolean({
        description: 'Interactive (or `interactive`): false for a non-interactive event.',
      }),
    ),
  },
  { additionalProperties: true },
);

/** What the tracker script sends for a page view. */
const examplePageview = {
  n: 'pageview',
  u: 'https://example.com/pricing?plan=pro',
  d: 'example.com',
  r: 'https://news.ycombinator.com/',
};

const EVENT_DOC = {
  summary: 'Plausible: record an event',
  description:
    'Pageviews (`n: "pageview"`) count as page views; 202 once durable. The tracker\'s ' +
    '`engagement` beacons (`sd`, `e`) are stored as events named ' +
    `\`${ENGAGEMENT_EVENT_NAME}\` with the properties \`${SCROLL_DEPTH_KEY}\` and ` +
    `\`${ENGAGEMENT_TIME_KEY}\`: read by the Stats API's scroll_depth and time_on_page, ` +
    'never counted as events (they show in the SQL view, the export and by id). The tracker ' +
    'never resends: a request refused for overload waits for room up to NO_RETRY_WAIT first.',
  requestBody: jsonRequestBody(
    PlausibleEventIn,
    examplePageview,
    `JSON, usually sent as text/plain (the tracker avoids a CORS preflight so). ${VISITOR_TEXT}`,
  ),
  responses: {
    202: {
      description:
        'Stored; sites of `d` the request may not write to (or not now) are left out, ' +
        'counted in an `x-plausible-dropped` header',
      content: { 'text/plain': { schema: openApiSchema(t.Literal('ok')), example: 'ok' } },
    },
    ...errorAnswers({ 400: 'Malformed JSON or gzip, or a field breaks a rule' }, () =>
      t.Union([
        t.Object(
          { errors: t.Record(t.String(), t.Array(t.String())) },
          {
            description: 'Bad input: messages per field (`request` for the body as a whole).',
          },
        ),
        ErrorOut,
      ]),
    ),
    ...errorAnswers(
      {
        401: INGEST_ERROR_TEXT.noKey,
        403: INGEST_ERROR_TEXT.forbidden,
        408: INGEST_ERROR_TEXT.slowBody,
        413: INGEST_ERROR_TEXT.tooLarge,
        415: INGEST_ERROR_TEXT.mediaType,
        429: INGEST_ERROR_TEXT.busy,
        503: INGEST_ERROR_TEXT.overloaded,
      },
      () => ErrorOut,
    ),
  },
};

/** One event per domain of `d`, all with the same content. */
function inputsOf(body: Record<string, unknown>): EventInput[] {
  const issues: FieldIssue[] = [];
  const blank = (field: string) =>
    issues.push({ loc: ['body', field], msg: "can't be blank", type: 'missing' });
  const invalid = (field: string, msg: string) =>
    issues.push({ loc: ['body', field], msg, type: 'value_error' });
  const sentName = body.n ?? body.name;
  const name = eventNameOf(sentName);
  const sentUrl = body.u ?? body.url;
  const url = typeof sentUrl === 'string' && sentUrl !== '' ? sentUrl : undefined;
  const domains = domainsOf(body.d ?? body.domain, url);
  // Plausible's words: a name neither text nor a whole number fails its cast ("is invalid");
  // a url not sent "is required", one that is no text (or no URL) "must be a valid url".
  // As validate_required, which trims: a name of white space alone is not sent.
  if (name === undefined && (sentName == null || isBlank(sentName))) blank('name');
  else if (name === undefined) invalid('name', 'is invalid');
  if (sentUrl == null || sentUrl === '') invalid('url', 'is required');
  else if (url === undefined || !URL.canParse(url, NO_HOST_BASE)) {
    invalid('url', 'must be a valid url');
  } else if (new URL(url, NO_HOST_BASE).protocol === 'data:') {
    // Plausible's put_uri: a data: URL names no page (`@disallowed_schemes`).
    issues.push({ loc: ['body', 'url'], msg: 'scheme is not allowed', type: 'value_error' });
  }
  if (domains.length === 0) blank('domain');
  if (domains.length > PLAUSIBLE_DOMAINS_MAX) {
    issues.push({
      loc: ['body', 'domain'],
      msg: `names at most ${PLAUSIBLE_DOMAINS_MAX} sites`,
      type: 'too_long',
    });
  }
  const properties = propertiesOf(body);
  const engagement = name === PLAUSIBLE_ENGAGEMENT_NAME ? engagementOf(body, issues) : null;
  if (issues.length > 0) throw AppError.validation(issues);
  const page = new URL(url as string, NO_HOST_BASE);
  const hashMode = body.h === 1 || body.h === true || body.hashMode === 1;
  // Duration: a beacon's engagement time (0 without); another event's `e` read as a beacon's.
  const engagementMs = engagement?.properties[ENGAGEMENT_TIME_KEY] ?? engagementTimeOf(body.e);
  const path = pagePath(page, hashMode);
  addGoalPath(name as string, properties, path);
  const shared: Omit<EventInput, 'tenant_id'> = {
    name: engagement === null ? (name as string) : ENGAGEMENT_EVENT_NAME,
    url: storedUrl(url as string, page),
    path,
    referrer: referrerOf(body.r ?? body.referrer),
    ...(engagementMs === null ? {} : { duration: engagementMs / 1000 }),
    properties: engagement === null ? properties : beaconProperties(properties, engagement),
  };
  return domains.map((domain) => ({ ...shared, tenant_id: domain }));
}

/** An event name as Plausible's EventName type casts it: text, or a whole number as text. */
function eventNameOf(value: unknown): string | undefined {
  if (typeof value === 'string') return isBlank(value) ? undefined : value;
  return Number.isSafeInteger(value) ? String(value) : undefined;
}

/** Whether `value` is text of white space alone (Ecto's validate_required trims it). */
function isBlank(value: unknown): boolean {
  return typeof value === 'string' && value.trim() === '';
}

/** The referrer, over the url limit without its query (Plausible cuts it to 2,000 characters). */
function referrerOf(value: unknown): string | undefined {
  const referrer = textOf(value);
  return referrer === undefined ? undefined : fittedUrl(referrer);
}

/**
 * The page URL to store: as sent, or without its query and fragment when it is longer than an
 * event's url may be (but with the campaign tags and click ids the reads take: readQueryOf), or
 * none when even that is (the path is kept). Plausible keeps only the path of a page and its UTM
 * parameters, so a long query string (ad-click ids, OAuth callbacks) or path must not cost the
 * page view, nor its source.
 */
function storedUrl(url: string, page: URL): string | undefined {
  if (url.length <= eventLimits.urlCharsMax) return url;
  const origin = URL.canParse(url) ? page.origin : '';
  const withoutQuery = `${origin}${page.pathname}`;
  const tagged = `${withoutQuery}${readQueryOf(url)}`;
  if (tagged.length <= eventLimits.urlCharsMax) return tagged;
  return withoutQuery.length <= eventLimits.urlCharsMax ? withoutQuery : undefined;
}

/**
 * The page's path (held to the path limit by pathOfUrl) with, in hash mode, its hash route;
 * without the hash when the two are over the limit together. Decoded, as Plausible stores a
 * pathname (`URI.decode`, trailing spaces trimmed): its Stats API shows and filters `/café`,
 * not the `/caf%C3%A9` the URL parser writes.
 */
function pagePath(page: URL, hashMode: boolean): string {
  const path = pathOfUrl(page.href) ?? '/';
  if (!hashMode) return decodedPath(path);
  const routed = `${path}${page.hash}`;
  return decodedPath(routed.length <= eventLimits.urlCharsMax ? routed : path);
}

/** A path percent-decoded; as it is when it does not decode (a lone `%`, bytes not UTF-8). */
function decodedPath(path: string): string {
  try {
    return decodeURIComponent(path).trimEnd() || path;
  } catch {
    return path;
  }
}

/** Issues as Plausible's `errors` map: field → messages. */
function errorsOf(error: AppError): Record<string, string[]> {
  if (error.issues === undefined) return { request: [error.message] };
  const errors: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const field = issue.loc.find((p) => typeof p === 'string' && p !== 'body');
    const name = FIELD_NAMES[String(field)] ?? String(field ?? 'request');
    // A name over its limit, in the words of Plausible's validate_length (both 120).
    const msg =
      name === 'event_name' && issue.type === 'string_too_long'
        ? `should be at most ${eventLimits.nameCharsMax} character(s)`
        : issue.msg;
    errors[name] = [...(errors[name] ?? []), msg];
  }
  return errors;
}
