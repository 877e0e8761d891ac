// The visit filters of GET /api/v1/stats, /timeseries and /events (referrer_source, channel,
// entry_page, exit_page, utm_*), timeseries' group_by by a visit property, and the campaign
// lists of /stats, over HTTP: with the other filters, a local day in a zone, 422s naming the
// parameter, and OpenAPI documenting each parameter and the answers.

import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { openapi } from '@elysiajs/openapi';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Elysia } from 'elysia';
import type { StoredEvent } from '../../src/core/index.ts';
import { createLogger } from '../../src/core/index.ts';
import { errorResponse, toAppError } from '../../src/http/errors.ts';
import { StatsOut } from '../../src/http/read-model.ts';
import { readRoutes } from '../../src/http/routes/reads.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { closed } from '../helpers/openapi.ts';

// 10:00 in New York on 2026-03-08 (EDT since 07:00 UTC).
const T = Date.parse('2026-03-08T14:00:00Z');
const MIN = 60_000;
const SITE = 'https://shop.example';
const CAMPAIGN =
  'utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=hero&utm_term=shoes';

let source: MemorySource;
let app: Elysia;

const at = (visitor: string, minutes: number, fields: Partial<StoredEvent> = {}) =>
  makeEvent({ timestamp: T + minutes * MIN, visitor_id: visitor, ...fields });

beforeAll(async () => {
  source = await createMemorySource();
  await source.add([
    // A: from Google, /home then /pricing and a signup there.
    at('v1', 0, {
      session_id: 's1',
      path: '/home',
      url: `${SITE}/home`,
      referrer: 'https://www.google.com/',
    }),
    at('v1', 2, { session_id: 's1', path: '/pricing', url: `${SITE}/pricing` }),
    at('v1', 3, { session_id: 's1', name: 'signup', path: '/pricing' }),
    // B: an email campaign, /blog then /docs.
    at('v2', 30, { path: '/blog', url: `${SITE}/blog?${CAMPAIGN}` }),
    at('v2', 31, { path: '/docs', url: `${SITE}/docs` }),
    // C: direct, /home only; and one the day after in New York (04:30 UTC on the 9th).
    at('v3', 40, { path: '/home', url: `${SITE}/home` }),
    at('v4', 14 * 60 + 30, { path: '/home', url: `${SITE}/home` }),
  ]);
  await source.flush();
  app = new Elysia()
    .onError(({ error, code, set, request }) => {
      const appError = toAppError(
        error,
        code,
        createLogger('error', () => {}),
        request,
      );
      set.status = appError.status;
      return errorResponse(appError, 1);
    })
    .use(openapi({ path: '/openapi' }))
    .use(
      readRoutes({
        source,
        tenantOf: (_, query) => query.tenant_id ?? 'default',
        queryTimeoutMs: 10_000,
        queryRowsMax: 100,
      }),
    ) as unknown as Elysia;
});

afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

const DAY = 'tenant_id=acme&date=2026-03-08&tz=America/New_York';

const get = async (path: string) => {
  const res = await app.handle(new Request(`http://localhost${path}`));
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
test('probe', async () => {
  const show = async (p: string) => {
    const r = await get(p);
    console.log(p.slice(0, 120), r.status, JSON.stringify(r.body).slice(0, 400));
  };
  await show(`/api/v1/stats?${DAY}&utm_source=a&utm_source=b`);
  await show(`/api/v1/stats?${DAY}&channel=Email&channel=Direct`);
  await show(`/api/v1/stats?${DAY}&utm_campaign=%25`);
  await show(`/api/v1/stats?${DAY}&utm_campaign=_`);
  await show(`/api/v1/stats?${DAY}&utm_campaign=%27`);
  await show(`/api/v1/timeseries?${DAY}&bucket=hour&group_by=utm_campaign&fill=zero`);
  await show(`/api/v1/timeseries?${DAY}&bucket=day&group_by=utm_campaign&fill=zero`);
  await show(`/api/v1/timeseries?${DAY}&bucket=day&group_by=utm_campaign&utm_medium=email&fill=zero`);
  await show(`/api/v1/timeseries?${DAY}&bucket=hour&entry_page=/home&fill=zero&metric=count`);
  await show(`/api/v1/events?tenant_id=acme&entry_page=/home&limit=1`);
  await show(`/api/v1/stats?${DAY}&bots=include&referrer_source=Google`);
  await show(`/api/v1/stats?${DAY}&utm_campaign=${'é'.repeat(2048)}`);
  await show(`/api/v1/stats?${DAY}&entry_page=%20`);
});
