// The steps every ingest route (native and compat) shares once its events are checked: the
// hand-off to the engine (refused once shutdown began, which may be after the body was read),
// the mapping of the engine's outcome to an answer or an AppError, the refusal of a tenant in
// the query string of a native route, and the OpenAPI answers of an ingest route.

import type { TSchema } from 'elysia';
import { AppError, type BaseEvent, eventLimits } from '../core/index.ts';
import type { IngestOutcome } from '../engine/index.ts';
import type { AppDeps } from './context.ts';
import { ingestErrorDocs, jsonAnswer } from './openapi-docs.ts';
import { overloaded } from './prepare.ts';

/**
 * Hands checked events to the engine; resolves once they are durable (or refused). Not async:
 * the caller's own await is the only one the answer passes through.
 */
export function ingestEvents(deps: AppDeps, events: BaseEvent[]): Promise<IngestOutcome> {
  if (!deps.isAccepting()) throw new AppError('shutting_down', 'the server is shutting down');
  return deps.engine.ingestor.ingest(events);
}

/** The accepted outcome, or the AppError its refusal maps to. */
export function acceptedOrThrow(
  outcome: IngestOutcome,
  locOf: (i: number) => (string | number)[],
): Extract<IngestOutcome, { kind: 'ok' }> {
  switch (outcome.kind) {
    case 'ok':
      return outcome;
    case 'too_large':
      throw new AppError(
        'payload_too_large',
        `the event at ${locOf(outcome.index).join('.')} is ${outcome.bytes} bytes stored; ` +
          `an event may be at most ${eventLimits.storedEventBytesMax} bytes stored`,
      );
    case 'too_many_tenants': {
      // The events' list; a route of one event (Plausible's `d=a,b`: one per site) its body.
      const list = locOf(0).slice(0, -1);
      throw AppError.validation([
        {
          loc: list.length > 0 ? list : ['body'],
          msg:
            `a batch may name at most ${outcome.max} ${outcome.max === 1 ? 'tenant' : 'tenants'} ` +
            'on this node (ACTORS_MAX); ' +
            `this one names ${outcome.tenants}: send fewer tenants per batch`,
          type: 'too_long',
        },
      ]);
    }
    case 'tenant_full':
      throw new AppError('tenant_overloaded', `${outcome.reason}; retry later`);
    case 'tenant_deleting':
      throw tenantDeleting(outcome.tenant);
    case 'overloaded':
      throw overloaded(outcome.reason);
  }
}

/**
 * The refusal of events of a tenant being deleted. Nothing of them was taken: after the
 * deletion a retry goes to whatever owns the id then (in AUTH_MODE=required the deleted
 * project's keys no longer work).
 */
export function tenantDeleting(tenant: string): AppError {
  return new AppError('overloaded', `the tenant ${tenant} is being deleted; retry later`);
}

/**
 * 422 for `?tenant_id=` on a native ingest route. The tenant is the body's `tenant_id` (each
 * event's, in a batch): taking the query's too would need a rule for when the two differ, and
 * ignoring it stored the events under `default` while answering 202.
 */
export function refuseQueryTenant(request: Request): void {
  const start = request.url.indexOf('?');
  if (start === -1) return; // the usual ingest request: no query string to parse
  if (!new URLSearchParams(request.url.slice(start + 1)).has('tenant_id')) return;
  throw AppError.validation([
    {
      loc: ['query', 'tenant_id'],
      msg: 'ingest takes the tenant from the body, not the query: send tenant_id in the body',
      type: 'extra_forbidden',
    },
  ]);
}

/** OpenAPI responses of an ingest route: `ok` (and its example) as 202, and every refusal. */
export function ingestResponses(ok: TSchema, description: string, example: unknown) {
  return { 202: jsonAnswer(description, ok, example), ...ingestErrorDocs() };
}
