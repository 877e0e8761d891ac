// One Segment message as the unified event: the call types, the ids it must carry, its
// properties (or traits) by call type, its page fields, and its time as Segment computes it
// (the client clock corrected by `sentAt`). A message that breaks a rule throws an AppError
// naming where it is in the request (segment.ts answers it as a 400, and leaves the message
// out of a batch).

import {
  AppError,
  type BaseEvent,
  type EventInput,
  eventLimits,
  INTERACTIVE_KEY,
  parseAsUtc,
} from '../../core/index.ts';
import { type ClientNames, type PrepareContext, prepareEvents } from '../prepare.ts';
import {
  cutTextOf,
  fittedIdOf,
  fittedPageUrlOf,
  fittedTextOf,
  fittedUrlOf,
  sentIpOf,
} from './fitted-fields.ts';
import { objectOf, textOf } from './ingest.ts';

export const SEGMENT_TYPES = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentType = (typeof SEGMENT_TYPES)[number];

/** One message of a request as a validated event; throws a 400/422 AppError when it is not. */
export function eventOf(
  item: unknown,
  loc: (string | number)[],
  batchSentAt: string | undefined,
  ctx: PrepareContext,
): BaseEvent {
  const where = loc.join('.');
  const message = objectOf(item);
  if (message === undefined) throw new AppError('bad_request', `${where} must be an object`);
  const input = inputOf(message, where, textOf(message.sentAt) ?? batchSentAt, ctx.receivedAt);
  const own = fromServerLibrary(message) ? withoutRequestClient(ctx) : ctx;
  return prepareEvents([input], own, () => loc, clientNamesOf(message))[0] as BaseEvent;
}

/**
 * The message's fields each event field is made of (inputOf), so that an issue of the event
 * rules names what the client sent (`traits.n`, `event`, `messageId`), not the unified event's
 * field (`properties.n`, `name`, `event_id`).
 */
function clientNamesOf(message: Record<string, unknown>): ClientNames {
  const type = message.type as SegmentType;
  // The keys propertiesOf takes from the message itself (a page's name, an alias's previousId).
  const top = (key: string | number | undefined) =>
    type === 'alias' ||
    (type === 'group' && key === 'groupId') ||
    ((type === 'page' || type === 'screen') &&
      (key === 'name' || key === 'category') &&
      message[key] != null);
  return {
    event_id: 'messageId',
    ...(type === 'track' ? { name: 'event' } : {}),
    timestamp: textOf(message.timestamp) === undefined ? 'originalTimestamp' : 'timestamp',
    properties: (within) =>
      top(within[0])
        ? [...within]
        : [type === 'identify' || type === 'group' ? 'traits' : 'properties', ...within],
  };
}

/**
 * Segment's server-side libraries, by their `context.library.name` in lower case. Segment fills
 * in `context.ip` from the request "for client side events only" (its Spec: Common Fields), and
 * these libraries collect no other context: their request comes from the app's server, whose
 * address (its country) and agent (`analytics-node-next/latest`) are not the user's.
 */
const SEGMENT_SERVER_LIBRARIES: ReadonlySet<string> = new Set([
  '@segment/analytics-node',
  'analytics-node',
  'analytics-python',
  'analytics-ruby',
  'analytics-go',
  'analytics-java',
  'analytics-php',
  'analytics.net',
]);

/** Whether a message (its batch's context merged in) names a server-side library. */
function fromServerLibrary(message: Record<string, unknown>): boolean {
  const library = objectOf(objectOf(message.context)?.library);
  const name = textOf(library?.name);
  return name !== undefined && SEGMENT_SERVER_LIBRARIES.has(name.toLowerCase());
}

/**
 * `ctx` without the request's client address and agent: a server-side library's message keeps
 * only its own `context.ip` and `context.userAgent`, as Segment stores it (no country from the
 * server's address, no address under STORE_IP). Everything else is `ctx`'s, read through it.
 */
function withoutRequestClient(ctx: PrepareContext): PrepareContext {
  return Object.create(ctx, { ip: { value: null }, userAgent: { value: null } });
}

/** Maps one Segment message onto the unified event; `where` names it in errors. */
function inputOf(
  message: Record<string, unknown>,
  where: string,
  sentAt: string | undefined,
  receivedAt: number,
): EventInput {
  // No size rule of its own (Segment documents 32 KB): a message is measured as the event it is
  // stored as, its properties cut to fit as any SDK event's. analytics-node 3.1 sends larger
  // ones (it measures a message by counting its `i`s and escapes, not its bytes) and takes the
  // batch's 200 as their delivery: left out, they were lost without a word.
  const type = message.type;
  if (!(SEGMENT_TYPES as readonly unknown[]).includes(type)) {
    throw new AppError('bad_request', `${where}.type must be one of ${SEGMENT_TYPES.join(', ')}`);
  }
  const messageId = textOf(message.messageId);
  const userId = textOf(message.userId);
  const anonymousId = textOf(message.anonymousId);
  if (userId === undefined && anonymousId === undefined) {
    throw new AppError('bad_request', `${where} needs a userId or an anonymousId`);
  }
  const context = objectOf(message.context) ?? {};
  const page = objectOf(context.page) ?? {};
  const properties = withCampaign(propertiesOf(type as SegmentType, message, where), context);
  // Only a page or screen call's properties name its page (as analytics.js reads them); a
  // track's `url` is the app's (a product's page, a link), its page is context.page.
  const pageFields = type === 'page' || type === 'screen' ? properties : {};
  const text = (key: string) => textOf(pageFields[key]) ?? textOf(page[key]);
  return {
    // Segment dedupes on a messageId of any length: a long one is kept as its start and a digest
    // of the whole, so a resend is still one event, and never left out under the batch's 200.
    event_id: messageId === undefined ? undefined : fittedIdOf(messageId),
    // Segment takes an event name of any length: one over nameCharsMax is kept as its start and
    // a digest of the whole (two names alike in their start stay two), never left out.
    name: type === 'track' ? trackNameOf(message) : (type as string),
    timestamp: timestampOf(message, sentAt, receivedAt),
    // Ids over idCharsMax as a PostHog distinct_id is: one person stays one, never two merged.
    user_id: userId === undefined ? undefined : fittedIdOf(userId),
    anonymous_id: fittedIdOrNone(anonymousId ?? previousIdOf(type as SegmentType, message)),
    path: cutTextOf(text('path'), eventLimits.urlCharsMax),
    url: fittedPageUrlOf(text('url')),
    referrer: fittedUrlOf(text('referrer')),
    user_agent: cutTextOf(textOf(context.userAgent), eventLimits.userAgentCharsMax),
    ip: sentIpOf(textOf(context.ip)),
    properties,
  };
}

/**
 * The properties with the call's `context.campaign` as the `utm_*` keys it was read from, as
 * Tally keeps a campaign on an event (core/properties.ts, and PostHog's SDKs send them so):
 * analytics.js fills it from the page's query (utm_campaign is its `name`, utm_source its
 * `source`, any other utm_x its `x`), and a mobile or server library names it with no URL.
 * A key the call's own properties give wins.
 */
function withCampaign(
  properties: Record<string, unknown>,
  context: Record<string, unknown>,
): Record<string, unknown> {
  const campaign = objectOf(context.campaign);
  if (campaign === undefined) return properties;
  const tags: Record<string, string> = {};
  for (const [key, value] of Object.entries(campaign)) {
    const tag = key === 'name' ? 'utm_campaign' : `utm_${key}`;
    const text = textOf(value);
    if (key !== '' && text !== undefined && !(tag in properties)) tags[tag] = text;
  }
  return { ...tags, ...properties };
}

function trackNameOf(message: Record<string, unknown>): string {
  return fittedTextOf(textOf(message.event) ?? '', eventLimits.nameCharsMax);
}

/** An alias's previousId is its anonymous_id when it has no anonymousId (analytics-node and
 * the HTTP API send none), linked to its userId by `by=person`. */
function previousIdOf(type: SegmentType, message: Record<string, unknown>): string | undefined {
  return type === 'alias' ? textOf(message.previousId) : undefined;
}

function fittedIdOrNone(id: string | undefined): string | undefined {
  return id === undefined ? undefined : fittedIdOf(id);
}

/**
 * track/page/screen carry properties; identify/group traits; alias its previousId. identify,
 * group and alias say who someone is, not what they did: stored non-interactive (INTERACTIVE_KEY
 * false, as Plausible's `i: false`), they end no bounce, else a site calling `identify` at every
 * page load would have none.
 */
function propertiesOf(
  type: SegmentType,
  message: Record<string, unknown>,
  where: string,
): Record<string, unknown> {
  if (type === 'track' && textOf(message.event) === undefined) {
    throw new AppError('bad_request', `${where}.event is required for a track call`);
  }
  switch (type) {
    case 'identify':
      return { ...objectOf(message.traits), [INTERACTIVE_KEY]: false };
    case 'group':
      return {
        ...objectOf(message.traits),
        groupId: textOf(message.groupId),
        [INTERACTIVE_KEY]: false,
      };
    case 'alias':
      return { previousId: textOf(message.previousId), [INTERACTIVE_KEY]: false };
    case 'page':
    case 'screen':
      // A null name or category is none (analytics.js copies only a given one into the
      // properties): it leaves the page's own properties.name and category as they are.
      return {
        ...objectOf(message.properties),
        ...(message.name == null ? {} : { name: message.name }),
        ...(message.category == null ? {} : { category: message.category }),
      };
    case 'track':
      return { ...objectOf(message.properties) };
  }
}

/**
 * The event's time as Segment computes it. The client's time (`timestamp`, which analytics-node,
 * analytics.js and the mobile SDKs send, else `originalTimestamp`) is Segment's
 * originalTimestamp; when the client also says when it sent the call (`sentAt`), its clock may
 * be off by any amount, so the time is receivedAt − (sentAt − originalTimestamp): a device a
 * day fast is stored at the true time instead of refused as a future event. Without `sentAt`
 * (an HTTP import) the time is kept as sent; without either, the receive time. A time without
 * a zone is UTC.
 */
function timestampOf(
  message: Record<string, unknown>,
  sentAt: string | undefined,
  receivedAt: number,
): string | number | undefined {
  const original = textOf(message.timestamp) ?? textOf(message.originalTimestamp);
  if (original === undefined) return undefined;
  const originalTime = parseAsUtc(original);
  const sentTime = sentAt === undefined ? null : parseAsUtc(sentAt);
  if (!originalTime.ok || sentTime === null || !sentTime.ok) return asUtc(original);
  return receivedAt - (sentTime.ms - originalTime.ms);
}

/** A time as epoch ms, one without a zone read as UTC; unchanged when it is no time at all. */
function asUtc(text: string): string | number {
  const parsed = parseAsUtc(text);
  return parsed.ok ? parsed.ms : text;
}
