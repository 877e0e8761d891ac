// The operations of the app's OpenAPI document (`GET /openapi/json`), for tests that check
// every one of them, and closed schemas for checking answers against what they document.

import type { TSchema } from 'elysia';
import { SHARED_SCHEMAS_REF } from '../../src/http/openapi-schemas.ts';
import { SHARED_ANSWERS_REF } from '../../src/http/openapi-shared.ts';
import { liveSchemas } from '../../src/live/index.ts';
import type { TestApp } from './app.ts';

export interface FoundOperation<Op> {
  method: string;
  path: string;
  op: Op;
}

/**
 * `doc` (a /openapi/json) with each answer an operation names by `$ref` (the ones operations
 * share, openapi-shared.ts) written in its place, and each schema a body or an answer names by
 * `$ref` (openapi-schemas.ts; not the live protocol's messages, which are named on purpose), as
 * a reader of the document resolves them; a copy, each answer and schema its own object.
 */
export function inlineSharedAnswers<Doc>(doc: Doc): Doc {
  const copy = structuredClone(doc) as {
    paths?: Record<string, Record<string, { responses?: Record<string, unknown> }>>;
    components?: { responses?: Record<string, unknown>; schemas?: Record<string, unknown> };
  };
  const shared = copy.components?.responses ?? {};
  for (const operations of Object.values(copy.paths ?? {})) {
    for (const op of Object.values(operations)) {
      for (const [status, answer] of Object.entries(op?.responses ?? {})) {
        const ref = (answer as { $ref?: unknown }).$ref;
        if (typeof ref !== 'string' || !ref.startsWith(SHARED_ANSWERS_REF)) continue;
        const named = shared[ref.slice(SHARED_ANSWERS_REF.length)];
        if (named === undefined) throw new Error(`${ref} is not in components.responses`);
        (op.responses as Record<string, unknown>)[status] = structuredClone(named);
      }
    }
  }
  const schemas = copy.components?.schemas ?? {};
  const inline = (value: unknown): unknown => {
    if (typeof value !== 'object' || value === null) return value;
    if (Array.isArray(value)) return value.map(inline);
    const ref = (value as { $ref?: unknown }).$ref;
    if (typeof ref === 'string' && ref.startsWith(SHARED_SCHEMAS_REF)) {
      const name = ref.slice(SHARED_SCHEMAS_REF.length);
      if (Object.hasOwn(liveSchemas, name)) return value;
      const named = schemas[name];
      if (named === undefined) throw new Error(`${ref} is not in components.schemas`);
      return inline(structuredClone(named));
    }
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, inline(v)]));
  };
  if (copy.paths !== undefined) copy.paths = inline(copy.paths) as typeof copy.paths;
  return copy as Doc;
}

/** Every (method, path, operation) of the document; `Op` is the shape the test reads. */
export async function operationsOf<Op>(t: TestApp): Promise<FoundOperation<Op>[]> {
  const spec = inlineSharedAnswers(await (await t.get('/openapi/json')).json()) as {
    paths: Record<string, Record<string, Op>>;
  };
  return Object.entries(spec.paths).flatMap(([path, ops]) =>
    Object.entries(ops).map(([method, op]) => ({ method, path, op })),
  );
}

/** `schema` with every object closed: an answer's undocumented field is an error too. */
export function closed(schema: TSchema): TSchema {
  const out: Record<string | symbol, unknown> = { ...schema };
  if (schema.type === 'object' && schema.properties !== undefined) {
    out.additionalProperties = false;
    out.properties = Object.fromEntries(
      Object.entries(schema.properties as Record<string, TSchema>).map(([k, v]) => [k, closed(v)]),
    );
  }
  for (const key of ['items', 'anyOf'] as const) {
    const inner = schema[key] as TSchema | TSchema[] | undefined;
    if (Array.isArray(inner)) out[key] = inner.map(closed);
    else if (inner !== undefined) out[key] = closed(inner);
  }
  return out as unknown as TSchema;
}
