// The unified event (DESIGN.md §2): the one shape every ingest API maps onto, and the rules that
// turn a client's input into a stored event. Shape checks (types, lengths) happen at the edge
// with TypeBox; the rules here need context (clock, request headers, limits).

import type { FieldIssue } from './errors.ts';
import { sentAddressOf } from './ip.ts';
import { eventLimits, metricLimits } from './limits.ts';
import {
  type FittedProperties,
  fitProperties,
  type Properties,
  type PropertyFit,
} from './properties.ts';
import { reservedNameUse } from './reserved.ts';
import { parseTimestamp } from './time.ts';
import { keysMergedByRepair, mayHoldLoneSurrogate } from './unicode.ts';
import { pathOfUrl } from './url-path.ts';

/** What a client may send, after its API's own shape was checked and mapped. */
export interface EventInput {
  event_id?: string;
  tenant_id?: string;
  name: string;
  timestamp?: string | number;
  user_id?: string;
  anonymous_id?: string;
  session_id?: string;
  source?: string;
  path?: string;
  referrer?: string;
  url?: string;
  user_agent?: string;
  ip?: string;
  duration?: number;
  value?: number;
  properties?: Properties;
  /**
   * `false`: derive no country from the address (a server sending for its users; PostHog's
   * `$geoip_disable`). Not stored.
   */
  geoip?: boolean;
}

/** An event as stored: every field present, absent ones null, times in UTC epoch ms. */
export interface StoredEvent {
  event_id: string;
  tenant: string;
  name: string;
  timestamp: number;
  received_at: number;
  user_id: string | null;
  anonymous_id: string | null;
  session_id: string | null;
  source: string | null;
  path: string | null;
  referrer: string | null;
  url: string | null;
  user_agent: string | null;
  ip: string | null;
  duration: number | null;
  value: number | null;
  properties: Properties | null;
  /** Derived at ingest from the user agent (engine/user-agent.ts). */
  os: string;
  browser: string;
  device: string;
  is_bot: boolean;
  /** user_id, else anonymous_id, else a keyed daily hash of (tenant, ip, user agent). */
  visitor_id: string;
  /**
   * ISO 3166-1 alpha-2 code (upper case) of the client IP's country in the GeoIP database
   * (GEOIP_DB); null without one, or for a private or unknown address.
   */
  country: string | null;
}

/** The derived fields, filled by the engine at ingest. */
export type DerivedField = 'os' | 'browser' | 'device' | 'is_bot' | 'visitor_id' | 'country';

/**
 * An event after the client-facing rules, before the engine derives its other fields; `geoip`
 * false (present only then) asks for no country; `storeIp` false (present only then) keeps
 * its address out of the stored event even under STORE_IP (it still feeds visitor_id and
 * country): an API whose own service never recorded the connection's address; `edgeCountry`
 * (present only then) is the country a proxy in front named for the client (Umami's location
 * headers), taken instead of the database's. None of them is stored.
 */
export type BaseEvent = Omit<StoredEvent, DerivedField> & {
  geoip?: false;
  storeIp?: false;
  edgeCountry?: string;
};

/** Facts about the request an event arrived in, used where the body is silent. */
export interface RequestContext {
  receivedAt: number;
  userAgent: string | null;
  /** The client address; may be computed on first read, so read it only when needed. */
  readonly ip: string | null;
  /** Keep the client address in stored events (STORE_IP); else it only feeds visitor_id. */
  keepIp: boolean;
  /** The engine derives every event's country from its address (GEOIP_DB): always needed. */
  locateIp?: boolean;
  newEventId: () => string;
  /**
   * Properties over the limits are fitted into them (core/properties.ts) instead of refused:
   * the SDK protocols, whose clients take any 200 as delivered. Absent: refused (a 422).
   */
  fitProperties?: PropertyFit;
  /**
   * The reserved event name (core/reserved.ts) the request may write: Plausible's engagement
   * beacon, Umami's identify with data; each other reserved name is refused.
   */
  writesReserved?: string;
  /**
   * The native API: the client reads its events back by URL, `GET /api/v1/events/{event_id}`,
   * and an event with a `value` (a metric point) by its name, `GET /api/v1/metrics/latest/
   * {name}` and `/aggregate/{name}`. Every URL resolves `.` and `..` (escaped too), so such an
   * id, or such a name of a point, is refused: stored, it was never found. An SDK's ids and
   * names are its own and kept as sent.
   */
  refusesDotSegments?: boolean;
}

/**
 * Whether `text` is `.` or `..`, which no URL path segment can name (RFC 3986 §5.2.4 removes
 * them, and clients and URL parsers do so even escaped as %2E): an id or name read back by URL
 * must not be one.
 */
function isDotSegment(text: string): boolean {
  return text === '.' || text === '..';
}

/** A checked event; `cut` lists what was cut from its properties to fit, when anything was. */
export type NormalizeResult =
  | { ok: true; event: BaseEvent; cut?: readonly string[] }
  | { ok: false; issues: FieldIssue[] };

/**
 * Applies the rules of DESIGN.md §2 that a schema cannot express. `loc` is the location of the
 * event in the request (e.g. ["body"] or ["body", "events", 3]) so issues name the exact item.
 */
export function normalizeEvent(
  input: EventInput,
  tenant: string,
  ctx: RequestContext,
  loc: (string | number)[],
): NormalizeResult {
  const issues: FieldIssue[] = [];
  let timestamp = ctx.receivedAt;
  if (input.timestamp !== undefined) {
    const parsed = parseTimestamp(input.timestamp);
    if (!parsed.ok) {
      issues.push({ loc: [...loc, 'timestamp'], msg: parsed.msg, type: 'datetime_parsing' });
    } else if (parsed.ms > ctx.receivedAt + eventLimits.futureSkewMs) {
      issues.push({
        loc: [...loc, 'timestamp'],
        msg: 'timestamp must not be more than 24 hours in the future',
        type: 'datetime_future',
      });
    } else {
      timestamp = parsed.ms;
    }
  }
  // Null when the properties are stored as sent (no copy: the native API's hot path).
  const fitted =
    input.properties === undefined
      ? null
      : checkProperties(input.properties, loc, issues, ctx.fitProperties);
  // Other text is stored with U+FFFD for a lone surrogate (engine/ingest.ts); an id is not
  // repaired: "\ud800" and "\ud801" would become one id, and one a duplicate of the other.
  if (input.name.trim() === '') {
    issues.push({ loc: [...loc, 'name'], msg: 'name must not be blank', type: 'string_blank' });
  } else if (input.name !== ctx.writesReserved && reservedNameUse(input.name) !== undefined) {
    issues.push({
      loc: [...loc, 'name'],
      msg: `name ${input.name} is reserved: Tally stores ${reservedNameUse(input.name)} under it`,
      type: 'value_error',
    });
  }
  if (input.value !== undefined && Math.abs(input.value) > metricLimits.valueAbsMax) {
    issues.push({
      loc: [...loc, 'value'],
      msg: `value must be within ±${metricLimits.valueAbsMax} (sums of values must stay finite)`,
      type: 'value_error',
    });
  }
  if (input.duration !== undefined && input.duration > eventLimits.durationSecondsMax) {
    issues.push({
      loc: [...loc, 'duration'],
      msg:
        `duration must be at most ${eventLimits.durationSecondsMax} seconds ` +
        '(sums of durations must stay finite)',
      type: 'value_error',
    });
  }
  if (input.event_id !== undefined && !input.event_id.isWellFormed()) {
    issues.push({
      loc: [...loc, 'event_id'],
      msg: 'event_id must be well-formed Unicode (it holds a lone UTF-16 surrogate)',
      type: 'string_unicode',
    });
  }
  if (
    ctx.refusesDotSegments === true &&
    input.event_id !== undefined &&
    isDotSegment(input.event_id)
  ) {
    issues.push({
      loc: [...loc, 'event_id'],
      msg:
        `event_id ${input.event_id} cannot be read back: a URL resolves . and .. as path ` +
        'segments (escaped too), so neither GET /api/v1/events/{event_id} nor ' +
        'GET /api/v1/metrics/{id} reaches it',
      type: 'value_error',
    });
  }
  if (ctx.refusesDotSegments === true && input.value !== undefined && isDotSegment(input.name)) {
    issues.push({
      loc: [...loc, 'name'],
      msg:
        `name ${input.name} cannot be read back: a URL resolves . and .. as path segments ` +
        '(escaped too), so GET /api/v1/metrics/latest/{name} never reaches it',
      type: 'value_error',
    });
  }
  // An address in the body gets the one spelling the request's address gets (no port, IPv6
  // canonical, IPv4-mapped as IPv4), so one visitor is one visitor_id however it is written.
  // An empty one names no address (as in the compatibility APIs): kept, it would make every
  // visitor who sends it with one user agent one visitor_id for the day. Text that is no
  // address is refused: stored, it was hashed into the visitor_id (one visitor of everyone
  // sending it) and never placed in a country. The SDK routes pass only addresses (or none).
  const sentIp = input.ip?.trim() === '' ? undefined : input.ip;
  const bodyIp = sentIp === undefined ? null : sentAddressOf(sentIp);
  if (sentIp !== undefined && bodyIp === null) {
    issues.push({
      loc: [...loc, 'ip'],
      msg: 'ip must be an IPv4 or IPv6 address (a port, brackets or an IPv6 zone may be added)',
      type: 'ip_any_address',
    });
  }
  if (issues.length > 0) return { ok: false, issues };

  const url = input.url ?? null;
  const userId = input.user_id ?? null;
  const anonymousId = input.anonymous_id ?? null;
  // The client address is looked up only for an event that will keep it, locate it (country)
  // or hash it into a visitor_id (no user or anonymous id): the lookup is a measurable cost
  // per request.
  const locate = input.geoip !== false;
  const needsIp = ctx.keepIp || (locate && ctx.locateIp === true) || (!userId && !anonymousId);
  const ip = bodyIp ?? (needsIp ? ctx.ip : null);
  const event: BaseEvent = {
    event_id: input.event_id ?? ctx.newEventId(),
    tenant,
    name: input.name,
    timestamp,
    received_at: ctx.receivedAt,
    user_id: userId,
    anonymous_id: anonymousId,
    session_id: input.session_id ?? null,
    source: input.source ?? null,
    path: input.path ?? (url === null ? null : pathOfUrl(url)),
    referrer: input.referrer ?? null,
    url,
    user_agent: input.user_agent ?? ctx.userAgent,
    ip, // the engine drops it after deriving visitor_id and country unless told to keep it
    duration: input.duration ?? null,
    value: input.value ?? null,
    properties: fitted === null ? (input.properties ?? null) : fitted.properties,
  };
  // Set only when false (rare): a spread in the literal would slow every event's copy.
  if (!locate) event.geoip = false;
  const result: NormalizeResult = { ok: true, event };
  if (fitted !== null && fitted.cut.length > 0) result.cut = fitted.cut;
  return result;
}

/**
 * Checks the properties (serialized once when they are within the limits, as most are); over
 * the limits they are fitted into them when `fit` is given, else refused (issues). Returns the
 * fitted properties and what was cut, or null when they are stored as sent: nothing is
 * allocated for an event whose properties fit.
 */
function checkProperties(
  input: Properties,
  loc: (string | number)[],
  issues: FieldIssue[],
  fit: PropertyFit | undefined,
): FittedProperties | null {
  const { propertiesKeysMax, propertiesBytesMax } = eventLimits;
  let fitted: FittedProperties | null = null;
  let properties = input;
  let keys = Object.keys(input).length;
  let json = keys > propertiesKeysMax ? '' : JSON.stringify(input);
  let bytes = Buffer.byteLength(json);
  if (fit !== undefined && (keys > propertiesKeysMax || bytes > propertiesBytesMax)) {
    fitted = fitProperties(input, fit);
    properties = fitted.properties;
    keys = Object.keys(properties).length;
    json = JSON.stringify(properties);
    bytes = Buffer.byteLength(json);
  }
  if (keys > propertiesKeysMax) {
    issues.push({
      loc: [...loc, 'properties'],
      msg: `properties must have at most ${propertiesKeysMax} keys (got ${keys})`,
      type: 'too_long',
    });
    return fitted;
  }
  if (bytes > propertiesBytesMax) {
    issues.push({
      loc: [...loc, 'properties'],
      msg: `properties must serialize to at most ${propertiesBytesMax} bytes (got ${bytes})`,
      type: 'too_long',
    });
    return fitted;
  }
  // JSON.parse reads a number past the double range (1e400) as Infinity, which JSON.stringify
  // writes as null: unrefused, it would be stored as null without a word. Only a
  // serialization holding a null can hide one, so most events are not walked.
  const infinite = json.includes('null') ? nonFinitePath(properties) : null;
  if (infinite !== null) {
    issues.push({
      loc: [...loc, 'properties', ...infinite],
      msg: `${['properties', ...infinite].join('.')} must be a finite number (within ±1.8e308)`,
      type: 'finite_number',
    });
  }
  // Stored, a lone surrogate becomes U+FFFD (engine/ingest.ts): two keys that differ only
  // there would become one, and one of their values would be dropped without a word. The SDK
  // protocols (`fit`) keep such an event, merged, rather than drop it whole.
  const mayMerge = fit === undefined && mayHoldLoneSurrogate(json);
  const merged = mayMerge ? keysMergedByRepair(properties) : null;
  if (merged !== null) {
    const at = ['properties', ...merged];
    issues.push({
      loc: [...loc, ...at],
      msg:
        `${at.join('.')} has keys that differ only in lone UTF-16 surrogates, which are ` +
        'stored as U+FFFD: they would become one key',
      type: 'string_unicode',
    });
  }
  return fitted;
}

/** A value met walking properties, with the way back to the root (built into a path once). */
interface Step {
  value: unknown;
  key: string | number;
  parent: Step | null;
}

/** The path to a ±Infinity in `value` (arrays and objects at any depth), or null. */
function nonFinitePath(value: unknown): (string | number)[] | null {
  // Iterative, and no path copied per value: properties within 8 KB may nest thousands deep.
  const stack: Step[] = [{ value, key: '', parent: null }];
  for (let step = stack.pop(); step !== undefined; step = stack.pop()) {
    const node = step.value;
    if (typeof node === 'number' && !Number.isFinite(node)) return pathOf(step);
    if (typeof node !== 'object' || node === null) continue;
    const keys: (string | number)[] = Array.isArray(node) ? [...node.keys()] : Object.keys(node);
    for (const key of keys) {
      stack.push({ value: (node as Record<string | number, unknown>)[key], key, parent: step });
    }
  }
  return null;
}

function pathOf(step: Step): (string | number)[] {
  const path: (string | number)[] = [];
  for (let at: Step | null = step; at?.parent != null; at = at.parent) path.unshift(at.key);
  return path;
}

/** The key under which an event is unique: one event_id per tenant. */
export function eventKey(tenant: string, eventId: string): string {
  return `${tenant}\u0000${eventId}`;
}

/** The event as an API returns it: UTC ISO 8601 times. */
export function presentEvent(e: StoredEvent | BaseEvent): Record<string, unknown> {
  return {
    ...e,
    timestamp: new Date(e.timestamp).toISOString(),
    received_at: new Date(e.received_at).toISOString(),
  };
}
