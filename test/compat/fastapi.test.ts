// What every seed service built on FastAPI + Pydantic answers for a body that is not JSON: a
// 422 whose `detail` is a list (Pydantic v2's `json_invalid`; v1's `value_error.jsondecode` for
// seed 000), as FastAPI does, never a 400 with a string detail; and nothing is stored.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
});
afterEach(() => t.close());

const ROUTES: [string, string][] = [
  ['/ingest', 'value_error.jsondecode'],
  ['/events', 'json_invalid'],
  ['/events/bulk', 'json_invalid'],
  ['/api/events/', 'json_invalid'],
  ['/event', 'json_invalid'],
];

describe('FastAPI seed routes and malformed JSON', () => {
  test.each(ROUTES)('POST %s: 422 with a detail list of type %s', async (path, type) => {
    for (const text of ['{"name":', 'not json', '']) {
      const res = await t.post(path, text, { 'content-type': 'application/json' });
      expect(res.status).toBe(422);
      const body = (await res.json()) as { detail: { loc: unknown[]; type: string }[] };
      expect(body.detail).toHaveLength(1);
      expect(body.detail[0]).toMatchObject({ loc: ['body'], type });
    }
    expect((await t.getJson('/api/v1/events')).events).toEqual([]);
  });
});
