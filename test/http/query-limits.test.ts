// The SQL endpoint's input limits: a statement of at most 100,000 characters with at most 100
// parameters (422 naming the field beyond), a body of at most 1 MiB (413).

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { queryLimits } from '../../src/query/index.ts';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const locsOf = async (res: Response) =>
  ((await res.json()) as { detail: { loc: unknown[] }[] }).detail.map((d) => d.loc);

test('a statement over the character limit or with too many parameters is a 422', async () => {
  const long = `SELECT 1 ${' '.repeat(queryLimits.sqlCharsMax)}`;
  const tooLong = await t.post('/api/v1/query', { sql: long });
  expect(tooLong.status).toBe(422);
  expect(await locsOf(tooLong)).toEqual([['body', 'sql']]);
  const params = Array.from({ length: queryLimits.sqlParamsMax + 1 }, (_, i) => i);
  const tooMany = await t.post('/api/v1/query', { sql: 'SELECT 1', params });
  expect(tooMany.status).toBe(422);
  expect(await locsOf(tooMany)).toEqual([['body', 'params']]);
});

test('a body over the SQL body limit is a 413', async () => {
  const huge = { sql: 'SELECT 1', params: ['x'.repeat(queryLimits.sqlBodyBytesMax)] };
  expect((await t.post('/api/v1/query', huge)).status).toBe(413);
});

test('a parameter of another type is a 422 naming it, params[1], and the types it may have', async () => {
  const res = await t.post('/api/v1/query', { sql: 'SELECT ?, ?', params: ['a', { b: 1 }] });
  expect(res.status).toBe(422);
  expect(await res.json()).toEqual({
    detail: [
      {
        loc: ['body', 'params', 1],
        msg: 'params[1] has the wrong type: a string, number, boolean or null',
        type: 'union_type',
      },
    ],
  });
});

test('a parameter past the double range (1e400) is a 422 saying it must be finite', async () => {
  // JSON.parse reads it as Infinity: a number, though not one the statement can take.
  const res = await t.post('/api/v1/query', '{"sql":"SELECT ?, ?","params":[1, -1e400]}');
  expect(res.status).toBe(422);
  expect(await res.json()).toEqual({
    detail: [
      {
        loc: ['body', 'params', 1],
        msg: 'params[1] must be a finite number (within ±1.8e308)',
        type: 'finite_number',
      },
    ],
  });
});

test('a tenant_id in the body is a 422, not a statement over the default tenant', async () => {
  await t.post('/api/v1/events', { name: 'x', tenant_id: 'acme' });
  const res = await t.post('/api/v1/query', {
    sql: 'SELECT count(*) FROM events',
    tenant_id: 'acme',
  });
  expect(res.status).toBe(422);
  expect(await res.json()).toEqual({
    detail: [
      {
        loc: ['body', 'tenant_id'],
        msg: 'the tenant of a statement is the tenant_id query parameter, not a body field',
        type: 'extra_forbidden',
      },
    ],
  });
  const query = await t.post('/api/v1/query?tenant_id=acme', {
    sql: 'SELECT count(*) FROM events',
  });
  expect(((await query.json()) as { rows: unknown[] }).rows).toEqual([[1]]);
  // The OpenAPI description says so, as the batch's says of a tenant_id beside its events.
  const spec = (await (await t.get('/openapi/json')).json()) as {
    paths: Record<string, { post?: { description?: string } }>;
  };
  expect(spec.paths['/api/v1/query']?.post?.description).toContain(
    'a `tenant_id` in the body is refused (422)',
  );
});
