// Keeps the parameters a route documents by hand (`detail.parameters`) in /openapi/json.
// @elysiajs/openapi replaces them with the path parameters it derives from a route's path
// (`:id` → `{id}`), so the Umami reads, which read their query by hand to answer Umami's own
// 400s, lost their range, filter and paging parameters from the document.

import { type AnyElysia, Elysia } from 'elysia';
import type { OpenAPIV3 } from 'openapi-types';

/** What this reads of an Elysia route (`app.routes`). */
export interface RouteDetail {
  method: string;
  path: string;
  hooks: { detail?: unknown };
}

type Parameter = OpenAPIV3.ParameterObject;
type Document = { paths?: Record<string, Record<string, { parameters?: Parameter[] }>> };

/** Adds to `doc`'s operations the hand-documented parameters they lack (in place, idempotent). */
export function keepDocumentedParameters(doc: Document, routes: readonly RouteDetail[]): void {
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

/**
 * `docs` (the OpenAPI plugin, serving its document at `specPath`) with the hand-documented
 * parameters of the app's `routes` kept in that document. The hook is local: no other route
 * runs it.
 */
export function withDocumentedParameters(
  docs: AnyElysia,
  specPath: string,
  routes: () => readonly RouteDetail[],
) {
  return new Elysia({ name: 'documented-parameters' })
    .onAfterHandle(({ path, response }) => {
      if (path === specPath) keepDocumentedParameters(response as Document, routes());
    })
    .use(docs);
}
