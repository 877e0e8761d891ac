// The tenant_id of every native read is checked by the rule ingest checks it by (in open mode
// it names the tenant as is): a name no event can carry is a 422, not an empty 200.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp;
beforeEach(async () => {
  t = await makeTestApp();
});
afterEach(() => t.close());

const READ_PATHS = [
  '/api/v1/stats',
  '/api/v1/timeseries',
  '/api/v1/events',
  '/api/v1/events/e1',
  '/api/v1/metrics',
  '/api/v1/metrics/m1',
  '/api/v1/metrics/aggregate/cpu',
  '/api/v1/metrics/latest/cpu',
];

/** Tenant names ingest refuses, as a query string carries them. */
const BAD_TENANTS = ['', '%00', 'a%2Fb', '.hidden', 'x'.repeat(129)];

const sqlRead = (tenant: string) =>
  t.app.handle(
    new Request(`http://localhost/api/v1/query?tenant_id=${tenant}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ sql: 'SELECT count(*) AS n FROM events' }),
    }),
  );

test('a tenant_id ingest would refuse is a 422 naming it on every read', async () => {
  for (const tenant of BAD_TENANTS) {
    const answers = [
      ...(await Promise.all(READ_PATHS.map((path) => t.get(`${path}?tenant_id=${tenant}`)))),
      await sqlRead(tenant),
    ];
    for (const res of answers) {
      expect({ url: res.url, status: res.status }).toEqual({ url: res.url, status: 422 });
      const { detail } = (await res.json()) as { detail: { loc: unknown[] }[] };
      expect(detail.map((d) => d.loc)).toEqual([['query', 'tenant_id']]);
    }
    const ingest = await t.post('/api/v1/events', {
      name: 'x',
      tenant_id: decodeURIComponent(tenant),
    });
    expect(ingest.status).toBe(422);
  }
  expect(t.engine.registry.size).toBe(0);
});

test('a tenant_id ingest takes reads that tenant', async () => {
  const ingest = await t.post('/api/v1/events', {
    event_id: 'e1',
    name: 'x',
    tenant_id: 'a.b:c-1',
  });
  expect(ingest.status).toBe(202);
  const got = await t.get('/api/v1/events/e1?tenant_id=a.b:c-1');
  expect(got.status).toBe(200);
  expect(await got.json()).toMatchObject({ event_id: 'e1', tenant: 'a.b:c-1' });
  const stats = await t.get('/api/v1/stats?tenant_id=a.b:c-1');
  expect(await stats.json()).toMatchObject({ total_events: 1 });
});
