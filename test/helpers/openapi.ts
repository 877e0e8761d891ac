// The operations of the app's OpenAPI document (`GET /openapi/json`), for tests that check
// every one of them.

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
