// The ingest path every compatibility route shares: the facts of a request (receive time, agent,
// client address, the resolver's tenant mapping for an SDK's write key), validation through the
// unified event rules, and one engine call whose refusal becomes an AppError.

import { t } from 'elysia';
import { AppError, type BaseEvent, eventLimits, type FieldIssue } from '../../core/index.ts';
import type { IngestOutcome } from '../../engine/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { acceptedOrThrow, ingestEvents, tenantDeleting } from '../ingest-outcome.ts';
import { admitIngest, issueSentAs } from '../prepare.ts';
import type { RoomWait } from './room-wait.ts';

export { type ContextOptions, contextOf, type Server } from '../prepare.ts';

/** Writes events through the one engine path; resolves once they are durable. */
export async function ingest(
  deps: AppDeps,
  request: Request,
  events: BaseEvent[],
  locOf: (i: number) => (string | number)[],
) {
  return acceptedOrThrow(await write(deps, request, events), locOf);
}

/** What a waiting request checks again before each new try (see ingestWaiting). */
export interface WaitRecheck {
  /** Throws the 401/403 of a key revoked or a site alias removed; or takes their events out. */
  recheckTenancy(): void;
  /**
   * For a request answered item by item (Umami's batch): takes the events of `tenant`, deleted
   * while the request waited, out of the events, each answered `refusal`. Without it, the
   * request is refused whole.
   */
  refuseTenant?(tenant: string, refusal: AppError): void;
}

/**
 * `ingest` for a client that never resends (see room-wait.ts): a refusal for overload (the
 * node's or the tenant's) waits for room and tries again while `wait` allows, then stands. The
 * same events go to each try: their event_ids were given once, before the first, so a part
 * written by an earlier try is a duplicate in the next, never stored twice. `ctx`, the one the
 * events were prepared with, re-checks the request's key or site aliases before each new try:
 * it throws, or (a batch answered item by item) takes the events it refuses out of `events`,
 * as `refuseTenant` those of a tenant deleted meanwhile; once none is left, nothing more is
 * written.
 */
export async function ingestWaiting(
  deps: AppDeps,
  request: Request,
  events: BaseEvent[],
  locOf: (i: number) => (string | number)[],
  wait: RoomWait,
  ctx: WaitRecheck,
) {
  // The request was checked (its key, its sites) before its first try: a tenant deleted while
  // it waits (its keys revoked, its events gone) is not written after the deletion's answer.
  const mark = deps.engine.deletions.mark(new Set(events.map((e) => e.tenant)));
  for (;;) {
    // Once shutdown began, the next try is refused with its 503 `shutting_down` (ingestEvents).
    const outcome = await write(deps, request, events);
    const full = outcome.kind === 'overloaded' || outcome.kind === 'tenant_full';
    if (!full) return acceptedOrThrow(outcome, locOf);
    if (!(await wait.next(deps.isAccepting)) && deps.isAccepting()) {
      return acceptedOrThrow(outcome, locOf);
    }
    let deleted = deps.engine.deletions.deletedSince(mark);
    while (deleted !== undefined) {
      if (ctx.refuseTenant === undefined) throw tenantDeleting(deleted);
      ctx.refuseTenant(deleted, tenantDeleting(deleted));
      mark.delete(deleted);
      deleted = deps.engine.deletions.deletedSince(mark);
    }
    // Nor after its write key was revoked or a site alias it names removed (401/403).
    ctx.recheckTenancy();
    if (events.length === 0) return;
  }
}

/**
 * `admitIngest` for a client that never resends: a node that takes no events now lets the
 * request read its body while places among the waiting requests are free (see room-wait.ts),
 * so that it is checked (its body, its key or site, the rate) before it waits in
 * `ingestWaiting`; else it is refused before its body is read, as `admitIngest` refuses.
 */
export function admitWaiting(deps: AppDeps, wait: RoomWait): void {
  try {
    admitIngest(deps);
  } catch (error) {
    const overloaded = error instanceof AppError && error.code === 'overloaded';
    if (!overloaded || !wait.mayWait(deps.isAccepting)) throw error;
  }
}

/** The engine's outcome for `events`, noted as the request's tenants; 503 once shutting down. */
function write(deps: AppDeps, request: Request, events: BaseEvent[]): Promise<IngestOutcome> {
  noteTenant(request, [...new Set(events.map((e) => e.tenant))].join(','));
  return ingestEvents(deps, events);
}

/** An item of a batch that was left out, and why. */
export interface DroppedItem {
  index: number;
  reason: string;
}

/** The OpenAPI schema of the items a batch left out. */
export const DroppedOut = t.Array(
  t.Object({
    index: t.Integer({ description: "The item's place in the batch, from 0." }),
    reason: t.String({ description: 'Which rule it broke.' }),
  }),
  { description: 'Items left out because they break a rule; present only when there are some.' },
);

/** The events of a batch's items that pass, each with its index in the batch. */
export interface SortedBatch {
  events: BaseEvent[];
  indexes: number[];
  dropped: DroppedItem[];
}

/**
 * Sorts a batch into the events of the items that pass and the items left out, for the SDK
 * protocols (Segment, PostHog) whose clients throw away a whole batch on a 400: one bad event
 * must not lose its neighbours. `toEvent` throws a 400 or 422 AppError for an item it refuses;
 * any other error (a 401/403 of the tenancy, say) fails the whole request.
 */
export function sortBatch<T>(
  items: readonly T[],
  toEvent: (item: T, index: number) => BaseEvent,
): SortedBatch {
  const sorted: SortedBatch = { events: [], indexes: [], dropped: [] };
  items.forEach((item, index) => {
    try {
      sorted.events.push(toEvent(item, index));
      sorted.indexes.push(index);
    } catch (error) {
      if (!(error instanceof AppError) || (error.status !== 400 && error.status !== 422)) {
        throw error;
      }
      const reason = error.issues === undefined ? error.message : issuesText(error.issues);
      sorted.dropped.push({ index, reason });
    }
  });
  return sorted;
}

/**
 * Writes the events of a sorted batch; a batch with none is a 400 naming why each item was
 * refused, unless `eachAnswered` (the caller answers every item left out by itself, as
 * PostHog's capture v1 does: then a batch of none is written as none). An event only found too
 * large once encoded for storage is left out like any other (nothing is written before that
 * check). Items left out are logged (warn), so a client bug shows in the server's log too.
 */
export async function ingestSorted(
  deps: AppDeps,
  request: Request,
  batch: SortedBatch,
  api: string,
  options: { eachAnswered?: boolean } = {},
): Promise<void> {
  for (;;) {
    if (batch.events.length === 0) {
      if (options.eachAnswered === true) break;
      throw new AppError('bad_request', batch.dropped.map((d) => d.reason).join('; '));
    }
    const outcome = await write(deps, request, batch.events);
    if (outcome.kind !== 'too_large') {
      acceptedOrThrow(outcome, (i) => ['batch', batch.indexes[i] ?? i]);
      break;
    }
    const index = batch.indexes[outcome.index] ?? outcome.index;
    batch.dropped.push({
      index,
      reason:
        `batch.${index} is ${outcome.bytes} bytes stored; an event may be at most ` +
        `${eventLimits.storedEventBytesMax} bytes stored`,
    });
    batch.events.splice(outcome.index, 1);
    batch.indexes.splice(outcome.index, 1);
  }
  batch.dropped.sort((a, b) => a.index - b.index);
  if (batch.dropped.length > 0) {
    deps.log.warn('batch items left out', {
      api,
      tenant: batch.events[0]?.tenant,
      stored: batch.events.length,
      dropped: batch.dropped,
    });
  }
}

/**
 * Renames the event field of 422 issues to an API's own name (e.g. properties → payload): the
 * first part of an issue's `loc` that `names` renames (what comes before it places the item:
 * `body`, `events`, an index), never a key within it (a property named `name` stays `name`);
 * and its message when it begins with the issue's path from that field (`properties.n must
 * be …` → `payload.n must be …`).
 */
export function renamedIssues(error: unknown, names: Record<string, string>): unknown {
  if (!(error instanceof AppError) || error.issues === undefined) return error;
  const renames = (part: string | number): part is string =>
    typeof part === 'string' && Object.hasOwn(names, part);
  const issues: FieldIssue[] = error.issues.map((issue) => {
    const at = issue.loc.findIndex(renames);
    if (at === -1) return issue;
    const renamed = issue.loc.with(at, names[issue.loc[at] as string] as string);
    return issueSentAs(issue, at, renamed.slice(at));
  });
  return AppError.validation(issues);
}

/** One line per issue, for APIs whose clients expect a 400 with a message. */
export function issuesText(issues: readonly FieldIssue[]): string {
  return issues.map((i) => `${i.loc.join('.')}: ${i.msg}`).join('; ');
}

/** A plain JSON object, or undefined. */
export function objectOf(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

/** A non-empty string, or undefined (numbers are taken as their decimal text). */
export function textOf(value: unknown): string | undefined {
  if (typeof value === 'string') return value === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}
