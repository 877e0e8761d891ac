// Keeps the parameters a route documents by hand (`detail.parameters`) in /openapi/json.
// @elysiajs/openapi replaces them with the path parameters it derives from a route's path
// (`:id` → `{id}`), so the Umami reads, which read their query by hand to answer Umami's own
// 400s, lost their range, filter and paging parameters from the document.

import { Elysia } from 'elysia';
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

/** The hook that applies it to the document served at `specPath`, over the app's `routes`. */
export function documentedParameters(specPath: string, routes: () => readonly RouteDetail[]) {
  return new Elysia({ name: 'documented-parameters' }).onAfterHandle(
    { as: 'global' },
    ({ path, response }) => {
      if (path === specPath) keepDocumentedParameters(response as Document, routes());
    },
  );
}
