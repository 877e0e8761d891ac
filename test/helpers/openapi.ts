// The operations of the app's OpenAPI document (`GET /openapi/json`), for tests that check
// every one of them, and closed schemas for checking answers against what they document.

import type { TSchema } from 'elysia';
import type { TestApp } from './app.ts';

export interface FoundOperation<Op> {
  method: string;
  path: string;
  op: Op;
}

/** Every (method, path, operation) of the document; `Op` is the shape the test reads. */
export async function operationsOf<Op>(t: TestApp): Promise<FoundOperation<Op>[]> {
  const spec = (await (await t.get('/openapi/json')).json()) as {
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
