// Turns parsed request items into events: shape check (compiled TypeBox) and the event rules
// of core. All-or-nothing: any bad item fails the whole request with every bad item named,
// before anything is written.

import {
  AppError,
  type BaseEvent,
  type EventInput,
  eventLimits,
  type FieldIssue,
  normalizeEvent,
  normalizeIp,
  propertyFitLimits,
  type RequestContext,
} from '../core/index.ts';
import { type AppDeps, clientIp } from './context.ts';
import { eventInChecker } from './model.ts';
import { issuesOf } from './validate.ts';

/**
 * Request facts shared by every item; `tenantOf` maps an item's `tenant_id` to its tenant, and
 * `propertiesCut`, when properties are fitted, is told of each event whose properties were cut.
 */
export type PrepareContext = RequestContext & {
  tenantOf: (claimed: string | undefined) => string;
  /**
   * Checks again, without spending the rate, that the request's key (or each site alias it
   * named; only those of `claimed` when given) still writes to the tenants `tenantOf` gave:
   * throws the resolver's 401/403 once the key is revoked or an alias removed, for a request
   * that waited since it was checked.
   */
  recheckTenancy: (claimed?: Iterable<string | undefined>) => void;
  /**
   * `recheckTenancy` for a request whose items are answered one by one (Umami's batch): the
   * resolver's 401/403 of the key still throws, but each name of `claimed` that no longer
   * writes to its tenant is returned with its refusal instead.
   */
  refusedClaims: (claimed: Iterable<string | undefined>) => Map<string | undefined, AppError>;
  propertiesCut?: (event: BaseEvent, cut: readonly string[]) => void;
};

/** The socket server of a request, as Elysia hands it to a handler. */
export type Server = Parameters<typeof clientIp>[1];

export interface ContextOptions {
  /** A write key found where the SDK puts it (Basic auth, body `api_key`, …). */
  key?: string | null;
  /** The client address when the protocol names it (else the socket peer or trusted proxy). */
  ip?: string | null;
  /**
   * An SDK protocol (`api`, for the log) whose events are kept with their properties fitted
   * into the limits, not refused: its clients take any 200 as delivered. `keep`: the keys it
   * keeps as long as possible.
   */
  fit?: { api: string; keep: ReadonlySet<string> };
  /** false: the request writes nothing, so the key is checked without spending the rate. */
  rateLimited?: false;
  /** The native API: its event ids and metric point names are read back by URL (event.ts). */
  refusesDotSegments?: true;
}

/**
 * The context options of the native API's ingest routes (one event, a batch, a metric point):
 * an event with a value is a metric point on every one of them, read by the same URLs.
 */
export const NATIVE_API: ContextOptions = { refusesDotSegments: true };

/**
 * Refuses an ingest request before its body is read when the node takes no events now (503
 * with Retry-After): under overload a refusal should cost as little as possible.
 */
export function admitIngest(deps: AppDeps): void {
  if (!deps.isAccepting()) throw new AppError('shutting_down', 'the server is shutting down');
  const refusal = deps.engine.ingestor.admission();
  if (refusal !== null) throw overloaded(refusal);
}

/** The 503 of a node that takes no events now, for `reason`. */
export function overloaded(reason: string): AppError {
  return new AppError('overloaded', `ingest is overloaded: ${reason}; retry later`);
}

/** The facts shared by every event of one request; throws the resolver's 401/403/429. */
export function contextOf(
  deps: AppDeps,
  request: Request,
  server: Server,
  options: ContextOptions = {},
): PrepareContext {
  const credentials =
    options.rateLimited === false
      ? { key: options.key, rateLimited: false }
      : options.key === undefined
        ? undefined
        : { key: options.key };
  let ip: string | null | undefined =
    options.ip === undefined || options.ip === null ? undefined : normalizeIp(options.ip);
  const userAgent = request.headers.get('user-agent');
  const resolve = deps.tenancy.forIngest(request, credentials);
  const claims = new Map<string | undefined, string>();
  const ctx: PrepareContext = {
    tenantOf: (claimed) => {
      const tenant = resolve(claimed);
      claims.set(claimed, tenant);
      return tenant;
    },
    recheckTenancy: (only) => {
      const [refusal] = ctx.refusedClaims(only ?? claims.keys()).values();
      if (refusal !== undefined) throw refusal;
    },
    refusedClaims: (only) => {
      const again = deps.tenancy.forIngest(request, { key: options.key, rateLimited: false });
      const refused = new Map<string | undefined, AppError>();
      for (const claimed of only) {
        const tenant = claims.get(claimed);
        if (tenant === undefined) continue;
        try {
          if (again(claimed) === tenant) continue;
          refused.set(
            claimed,
            new AppError('forbidden', `${claimed} no longer writes to ${tenant}`),
          );
        } catch (error) {
          if (!(error instanceof AppError)) throw error;
          refused.set(claimed, error);
        }
      }
      return refused;
    },
    receivedAt: deps.clock.now(),
    // A header is cut to the limit a user_agent field in a body is held to (422 there).
    userAgent: userAgent === null ? null : userAgent.slice(0, eventLimits.userAgentCharsMax),
    // Looked up on first read: most server-side events carry a user id and never need it.
    get ip() {
      if (ip === undefined) ip = clientIp(request, server, deps.options.trustProxy);
      return ip;
    },
    keepIp: deps.engine.keepsIp,
    locateIp: deps.engine.locatesIp,
    newEventId: deps.newEventId ?? (() => Bun.randomUUIDv7()),
  };
  if (options.refusesDotSegments === true) ctx.refusesDotSegments = true;
  if (options.fit !== undefined) {
    ctx.fitProperties = options.fit;
    ctx.propertiesCut = propertiesCutLog(deps, options.fit.api);
  }
  return ctx;
}

/**
 * Logs the events of one request whose properties were cut to fit: one line a request however
 * many events it holds (a client sending batches of thousands of them must not flood the log),
 * naming the first few (the names cut, never the values) and counting all. Every item of a
 * request is prepared in one synchronous pass, so a microtask queued at the first cut writes
 * the line after the last; a cut after that line starts the next one.
 */
function propertiesCutLog(deps: AppDeps, api: string) {
  let events = 0;
  let first: Record<string, unknown>[] = [];
  return (event: BaseEvent, cut: readonly string[]) => {
    if (events === 0) {
      queueMicrotask(() => {
        deps.log.warn('event properties cut to fit', { api, events, first });
        events = 0;
        first = [];
      });
    }
    events++;
    if (first.length < propertyFitLimits.cutLoggedEventsMax) {
      first.push({ tenant: event.tenant, event_id: event.event_id, name: event.name, cut });
    }
  };
}

/**
 * Where the client sent what became an event field, given the path of an issue within that
 * field (`["n"]` for `properties.n`): the path from the item the client sent, e.g. Umami's
 * `["payload", "data", "n"]`. A field may come from several of the client's (PostHog's
 * properties from its `properties` and top-level `$set`), so the path may pick by the key.
 */
export type ClientPath = (within: readonly (string | number)[]) => (string | number)[];

/**
 * The client's name of each event field it names otherwise (a metric's `tags`: properties), or
 * the path to it (ClientPath), for a field the client sends nested or spread over several.
 */
export type ClientNames = Readonly<Partial<Record<keyof EventInput, string | ClientPath>>>;

/** The ClientPath of a field the client sends at `path` (Umami's payload.data: properties). */
export function clientPath(...path: string[]): ClientPath {
  return (within) => [...path, ...within];
}

/**
 * Validates and normalizes `items`. `locOf(i)` is where item i sits in the request, e.g.
 * ["body"] for a single event or ["body", "events", i] for a batch. Issues name fields as the
 * client sent them: an event field is renamed by `clientNames`.
 */
export function prepareEvents(
  items: readonly unknown[],
  ctx: PrepareContext,
  locOf: (i: number) => (string | number)[],
  clientNames: ClientNames = {},
): BaseEvent[] {
  const issues: FieldIssue[] = [];
  const events: BaseEvent[] = [];
  // Made at the first cut: the native routes, which never fit, allocate nothing for it.
  let cuts = null as [BaseEvent, readonly string[]][] | null;
  items.forEach((raw, i) => {
    const item = withoutNulls(raw);
    const loc = locOf(i);
    if (!eventInChecker.Check(item)) {
      issues.push(...inClientNames(issuesOf(eventInChecker, item, loc), loc.length, clientNames));
      return;
    }
    const input = item as EventInput;
    const result = normalizeEvent(input, ctx.tenantOf(input.tenant_id), ctx, loc);
    if (result.ok) events.push(result.event);
    else issues.push(...inClientNames(result.issues, loc.length, clientNames));
    if (result.ok && result.cut !== undefined) {
      cuts ??= [];
      cuts.push([result.event, result.cut]);
    }
  });
  if (issues.length > 0) throw AppError.validation(issues);
  // Told only once every item passed: a refused request keeps nothing, cut or not.
  if (cuts !== null) for (const [event, cut] of cuts) ctx.propertiesCut?.(event, cut);
  return events;
}

/** `issues` with the event field at `loc[depth]` under the client's name (see inClientName). */
function inClientNames(
  issues: FieldIssue[],
  depth: number,
  clientNames: ClientNames,
): FieldIssue[] {
  return issues.map((issue) => inClientName(issue, depth, clientNames));
}

/**
 * `issue` with the event field at `loc[depth]` under the client's name, in its loc and in its
 * message when the message begins with the issue's path from that field (`properties.n must
 * be …`, `name must not be blank`): both then name what the client sent (`payload.data.n`).
 */
function inClientName(issue: FieldIssue, depth: number, clientNames: ClientNames): FieldIssue {
  const field = issue.loc[depth];
  const name = typeof field === 'string' ? clientNames[field as keyof EventInput] : undefined;
  if (field === undefined || name === undefined) return issue;
  const within = issue.loc.slice(depth + 1);
  return issueSentAs(issue, depth, typeof name === 'string' ? [name, ...within] : name(within));
}

/**
 * `issue` with its `loc` from `at` on replaced by `sent` (where the client sent that value),
 * and its message too when the message begins with the replaced path (`properties.n must be …`
 * → `payload.data.n must be …`).
 */
export function issueSentAs(
  issue: FieldIssue,
  at: number,
  sent: readonly (string | number)[],
): FieldIssue {
  const path = issue.loc.slice(at).join('.');
  const aboutPath = issue.msg.startsWith(`${path} `);
  const msg = aboutPath ? `${sent.join('.')}${issue.msg.slice(path.length)}` : issue.msg;
  return { ...issue, loc: [...issue.loc.slice(0, at), ...sent], msg };
}

/**
 * Treats `"field": null` as an absent field, as Pydantic's Optional does. The copy is built
 * with Object.fromEntries, which defines keys: assigning a "__proto__" key that JSON.parse
 * made an own field would set the copy's prototype, and its fields would then pass for the
 * event's (`{"name":null,"__proto__":{"name":"x"}}` is an event without a name).
 */
export function withoutNulls(value: unknown): unknown {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return value;
  const record = value as Record<string, unknown>;
  // Most events have no null field: they are looked at, not copied (ingest's hot path).
  for (const key in record) {
    if (record[key] === null) {
      return Object.fromEntries(Object.entries(record).filter(([, field]) => field !== null));
    }
  }
  return value;
}
