// Plausible's Stats API v2 (POST /api/v2/query) over events sent through Plausible's Events
// API, in open mode: an aggregate with the query echoed, date ranges (keywords, dates,
// date-times, Tally's tz), a breakdown per dimension family, time dimensions with their
// labels, nested filters, ordering and paging, percentage and conversion rates, and
// Plausible's 400s naming the field. Required mode is in plausible-stats-auth.test.ts.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { type CompatApp, makeCompatApp } from './helpers/compat-app.ts';
import { seedSite } from './helpers/plausible-site.ts';

type Json = Record<string, unknown>;

let t: CompatApp;
beforeEach(async () => {
  t = await makeCompatApp();
  await seedSite(t);
});
afterEach(() => t.close());

const post = async (query: Json) => {
  const res = await t.post('/api/v2/query', { site_id: 'example.com', ...query });
  return { status: res.status, body: (await res.json()) as Json };
};
const ok = async (query: Json) => {
  const { status, body } = await post(query);
  expect(status, JSON.stringify(body)).toBe(200);
  return body as {
    results: { metrics: unknown[]; dimensions: string[] }[];
    meta: Json;
    query: Json;
  };
};
/** The rows as [dimensions…, metrics…]. */
const rows = async (query: Json) =>
  (await ok(query)).results.map((r) => [...r.dimensions, ...r.metrics]);
const refused = async (query: Json) => {
  const { status, body } = await post(query);
  expect(status, JSON.stringify(body)).toBe(400);
  return body.error;
};

const TWO_DAYS = ['2026-11-24', '2026-11-25'];
const ALL = [
  'visitors',
  'visits',
  'pageviews',
  'views_per_visit',
  'bounce_rate',
  'visit_duration',
  'events',
];

describe('POST /api/v2/query', () => {
  test('an aggregate: one row of every metric, the query echoed as Plausible runs it', async () => {
    expect(await ok({ metrics: ALL, date_range: ['2026-11-24', '2026-11-24'] })).toEqual({
      results: [{ metrics: [2, 2, 3, 1.5, 50, 150, 4], dimensions: [] }],
      meta: {},
      query: {
        site_id: 'example.com',
        metrics: ALL,
        date_range: ['2026-11-24T00:00:00+00:00', '2026-11-24T23:59:59+00:00'],
        filters: [],
        dimensions: [],
        order_by: [['visitors', 'desc']],
        include: {},
        pagination: { limit: 10_000, offset: 0 },
      },
    });
  });
});
