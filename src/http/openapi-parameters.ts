// Keeps the parameters a route documents by hand (`detail.parameters`) in /openapi/json.
// @elysiajs/openapi replaces them with the path parameters it derives from a route's path
// (`:id` → `{id}`), so the Umami reads, which read their query by hand to answer Umami's own
// 400s, lost their range, filter and paging parameters from the document. It also writes a
// query parameter of choices (a union of literals: bots, bucket, a funnel's by) as a bare
// enum, without the description and examples of the route's schema: those are put back.

import { type AnyElysia, Elysia } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';
import { STARTING_REASON } from './listener.ts';
import { ErrorOut } from './model.ts';
import { jsonAnswer } from './openapi-docs.ts';
import { documentRateLimits } from './openapi-rate-limits.ts';
import { type SchemaSharedDocument, shareSchemas } from './openapi-schemas.ts';
import { documentSecurity, type SecuredDocument } from './openapi-security.ts';
import { type SharedDocument, shareAnswers } from './openapi-shared.ts';

/** What this reads of an Elysia route (`app.routes`). */
export interface RouteDetail {
  method: string;
  path: string;
  hooks: { detail?: unknown; query?: unknown };
}

type Parameter = OpenAPIV3.ParameterObject;
type Operation = { parameters?: Parameter[]; responses?: Record<string, unknown> };
type Document = { paths?: Record<string, Record<string, Operation>> };

/**
 * The 400 every path with a parameter can answer, before any route (app.ts's path check): an
 * operation that documents no 400 of its own gets this one.
 */
const BROKEN_PATH_ANSWER = jsonAnswer(
  'A path whose percent-encoding is broken (`/api/v1/events/100%`)',
  ErrorOut,
  { detail: 'the path /api/v1/events/100% is not valid percent-encoding', code: 'bad_request' },
);

/** Documents BROKEN_PATH_ANSWER on each operation of `doc` with a path parameter (in place). */
function documentBrokenPaths(doc: Document): void {
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    if (!path.includes('{')) continue;
    for (const op of Object.values(operations)) {
      if (typeof op !== 'object' || op === null || op.responses === undefined) continue;
      op.responses['400'] ??= BROKEN_PATH_ANSWER;
    }
  }
}

/**
 * The 503 every route but /health answers while the store opens (listener.ts), before any
 * route runs, with Retry-After: an operation that documents no 503 of its own gets this one.
 */
const STARTING_ANSWER = jsonAnswer(
  'Starting: the store is still opening (log replay, deduplication index); retry after ' +
    'Retry-After seconds',
  ErrorOut,
  { detail: `the server is ${STARTING_REASON}; retry later`, code: 'not_ready' },
);

/** Documents STARTING_ANSWER on each operation of `doc` but GET /health (in place). */
function documentStarting(doc: Document): void {
  for (const [path, operations] of Object.entries(doc.paths ?? {})) {
    for (const [method, op] of Object.entries(operations)) {
      if (typeof op !== 'object' || op === null || op.responses === undefined) continue;
      if (method === 'get' && path === '/health') continue;
      op.responses['503'] ??= STARTING_ANSWER;
    }
  }
}

/** Adds to `doc`'s operations the hand-documented parameters they lack (in place, idempotent). */
function keepDocumentedParameters(doc: Document, routes: readonly RouteDetail[]): void {
  for (const route of routes) {
    const byHand = (route.hooks.detail as { parameters?: Parameter[] } | undefined)?.parameters;
    if (byHand === undefined) continue;
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths?.[path]?.[route.method.toLowerCase()];
    if (op === undefined) continue;
    // The hand-written ones (a described `id` over the derived bare one), then the others.
    const others = (op.parameters ?? []).filter(
      (s) => !byHand.some((p) => p.name === s.name && p.in === s.in),
    );
    op.parameters = [...byHand, ...others];
  }
}

/** What a route's query schema says of one parameter, as far as it is put back here. */
interface QuerySchema {
  properties?: Record<string, { description?: string; examples?: unknown[] }>;
}

/**
 * Puts back on `doc`'s query parameters the description and examples their route's schema
 * gives them where the document lacks them (in place, idempotent): the plugin drops them from a
 * union of literals.
 */
function keepParameterDescriptions(doc: Document, routes: readonly RouteDetail[]): void {
  for (const route of routes) {
    const properties = (route.hooks.query as QuerySchema | undefined)?.properties;
    if (properties === undefined) continue;
    const path = route.path.replace(/:(\w+)/g, '{$1}');
    const op = doc.paths?.[path]?.[route.method.toLowerCase()];
    for (const parameter of op?.parameters ?? []) {
      const source = parameter.in === 'query' ? properties[parameter.name] : undefined;
      const schema = parameter.schema as OpenAPIV3.SchemaObject | undefined;
      if (source === undefined || schema === undefined) continue;
      if (source.description !== undefined) schema.description ??= source.description;
      if (source.examples !== undefined) {
        (schema as { examples?: unknown[] }).examples ??= source.examples;
      }
    }
  }
}

/**
 * `docs` (the OpenAPI plugin, serving its document at `specPath`) with the hand-documented
 * parameters of the app's `routes` kept in that document (the descriptions of their query
 * parameters too), the 400 of a broken path on every operation with a path parameter, the
 * 503 of a server still starting, the rate limits' headers (openapi-rate-limits.ts), the
 * security schemes with each operation's requirement (openapi-security.ts), and the answers
 * operations give alike written once (openapi-shared.ts), as are the schemas bodies and errors
 * hold alike (openapi-schemas.ts). The hook is local: no other route runs it.
 */
export function withDocumentedParameters(
  docs: AnyElysia,
  specPath: string,
  routes: () => readonly RouteDetail[],
) {
  return new Elysia({ name: 'documented-parameters' })
    .onAfterHandle(({ path, response }) => {
      if (path !== specPath) return;
      keepDocumentedParameters(response as Document, routes());
      keepParameterDescriptions(response as Document, routes());
      documentBrokenPaths(response as Document);
      documentStarting(response as Document);
      documentRateLimits(response as Document);
      documentSecurity(response as SecuredDocument);
      const shared = shareAnswers(response as SharedDocument);
      return shareSchemas(shared as SchemaSharedDocument);
    })
    .use(docs);
}
