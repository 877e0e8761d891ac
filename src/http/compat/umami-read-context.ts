// What every website read of Umami's read API starts from: the website the request may read
// (umami-read-auth.ts; else Umami's 401), its query as Umami reads it, and the route that
// answers a handler's value as JSON with Umami's error body.

import { eventLimits } from '../../core/index.ts';
import {
  findSessionVisitor,
  getWebMetrics,
  type WebDimension,
  type WebFilter,
  type WebMetric,
} from '../../query/index.ts';
import { type AppDeps, noteTenant } from '../context.ts';
import { json } from './responses.ts';
import { umamiGuard } from './umami-errors.ts';
import { type Website, websiteOf } from './umami-read-auth.ts';
import type { UmamiRange } from './umami-read-params.ts';

export interface ReadContext {
  deps: AppDeps;
  request: Request;
  query: URLSearchParams;
  website: Website;
  /** The path's parameters: the website's `id`, a session's `sessionId`, an `eventId`. */
  params: RouteParams;
}

type ReadHandler = (ctx: ReadContext) => Promise<unknown>;

type RouteParams = { id: string; sessionId?: string; eventId?: string };
type RouteContext = { request: Request; params: RouteParams };

/** The route of a website read: `:id` is the website, the handler's value the answer. */
export function readRoute(deps: AppDeps) {
  const guard = umamiGuard(deps);
  return (answer: ReadHandler) =>
    guard(async ({ request, params }: RouteContext) => {
      const website = websiteOf(deps, request, params.id);
      noteTenant(request, website.tenant);
      const query = queryOf(request);
      return json(await answer({ deps, request, query, website, params }));
    });
}

export type ReadRoute = ReturnType<typeof readRoute>;

/** The query as Umami reads it (Object.fromEntries): a repeated parameter's last value. */
export function queryOf(request: Request): URLSearchParams {
  return new URLSearchParams(Object.fromEntries(new URL(request.url).searchParams));
}

/** query/'s web metrics of the website over a range, by the dimension given after. */
export function webMetricsOf(
  ctx: ReadContext,
  range: UmamiRange,
  metrics: WebMetric[],
  filters: WebFilter[],
) {
  return (dimension: WebDimension) =>
    getWebMetrics(
      ctx.deps.engine.store,
      ctx.website.tenant,
      { fromMs: range.fromMs, toMs: range.toMs, metrics, filters, dimension },
      ctx.request.signal,
    );
}

/**
 * A read of the session `:sessionId` names: by that id as a visitor_id (a session is a
 * visitor), else, when that found nothing, by the visitor it names as the anonymous id of
 * events (query/'s findSessionVisitor): the sessionId /api/send answered an item with a
 * distinct `id`, whose visitor is that user. The extra query is made only on such a miss, and
 * not for an id longer than any visitor or anonymous id (eventLimits.idCharsMax); with `name`
 * (a read of that name's events only) it looks at that name's events only.
 */
export async function readSession<T>(
  ctx: ReadContext,
  read: (visitorId: string) => Promise<T>,
  found: (answer: T) => boolean,
  name?: string,
): Promise<T> {
  const id = ctx.params.sessionId as string;
  const first = await read(id);
  // An id longer than any stored one names no event's visitor: not scanned for.
  if (found(first) || id.length > eventLimits.idCharsMax) return first;
  const { store } = ctx.deps.engine;
  const { tenant } = ctx.website;
  const visitor = await findSessionVisitor(store, tenant, id, ctx.request.signal, name);
  return visitor === null || visitor === id ? first : read(visitor);
}
