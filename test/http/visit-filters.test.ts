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
const stats = async (query: string) => {
  const { status, body } = await get(`/api/v1/stats?${DAY}&${query}`);
  expect(status).toBe(200);
  return body as { total_events: number; visits: number; top_paths: { path: string }[] };
};

describe('GET /api/v1/stats visit filters', () => {
  test('each filter keeps the events of the matching visits of the local day', async () => {
    const totals = async (query: string) => {
      const s = await stats(query);
      return [s.total_events, s.visits];
    };
    expect(await totals('')).toEqual([6, 3]);
    expect(await totals('referrer_source=Google')).toEqual([3, 1]);
    expect(await totals('referrer_source=Direct%20%2F%20None')).toEqual([1, 1]);
    expect(await totals('channel=Organic%20Search')).toEqual([3, 1]);
    expect(await totals('channel=Email')).toEqual([2, 1]);
    expect(await totals('exit_page=/home')).toEqual([1, 1]);
    for (const tag of CAMPAIGN.split('&')) expect(await totals(tag)).toEqual([2, 1]);
    // The other filters, and the day before New York's (no events).
    expect(await totals('entry_page=/home&name=signup')).toEqual([1, 1]);
    expect(await totals('utm_medium=email&path=/docs')).toEqual([1, 1]);
    const before = await get('/api/v1/stats?tenant_id=acme&date=2026-03-07&entry_page=/home');
    expect(before.body.total_events).toBe(0);
    // README "Limits": one exact value each, read as sent: no other case, alternatives,
    // negation or wildcards.
    for (const literal of [
      'referrer_source=google',
      'referrer_source=Google%7CEmail',
      'referrer_source=!Direct%20%2F%20None',
      'entry_page=/home*',
      'entry_page=/ho%25',
    ]) {
      expect([literal, await totals(literal)]).toEqual([literal, [0, 0]]);
    }
  });

  test('entry_page keeps every page of a visit that entered there', async () => {
    const home = await stats('entry_page=/home');
    expect([home.total_events, home.visits]).toEqual([4, 2]);
    expect(home.top_paths.map((r) => r.path)).toEqual(['/home', '/pricing']);
  });

  test('campaign lists, as documented', async () => {
    const { body } = await get(`/api/v1/stats?${DAY}`);
    expect(body.top_utm_mediums).toEqual([{ utm_medium: 'email', visitors: 1, visits: 1 }]);
    expect(body.top_utm_terms).toEqual([{ utm_term: 'shoes', visitors: 1, visits: 1 }]);
    const errors = [...TypeCompiler.Compile(closed(StatsOut)).Errors(body)];
    expect(errors.map((e) => `${e.path}: ${e.message}`)).toEqual([]);
  });

  test('a channel Plausible does not have or an empty value is a 422 naming it', async () => {
    const refused: [string, string][] = [
      ['channel=Organic', 'channel'],
      ['entry_page=', 'entry_page'],
      ['referrer_source=', 'referrer_source'],
      [`utm_campaign=${'x'.repeat(2049)}`, 'utm_campaign'],
    ];
    for (const [query, name] of refused) {
      for (const route of ['stats', 'timeseries', 'events']) {
        const { status, body } = await get(`/api/v1/${route}?tenant_id=acme&${query}`);
        expect([route, query.slice(0, 20), status]).toEqual([route, query.slice(0, 20), 422]);
        const detail = body.detail as { loc: string[] }[];
        expect(detail.map((d) => d.loc)).toEqual([['query', name]]);
      }
    }
  });
});

describe('GET /api/v1/timeseries visit filters and groups', () => {
  const series = async (query: string) => {
    const { status, body } = await get(`/api/v1/timeseries?${DAY}&bucket=day&${query}`);
    expect(status).toBe(200);
    return (body.series as { key: string | null; events: number }[]).map((s) => [s.key, s.events]);
  };

  test('group_by each visit property', async () => {
    expect(await series('group_by=referrer_source')).toEqual([
      ['Google', 3],
      ['newsletter', 2],
      ['Direct / None', 1],
    ]);
    expect(await series('group_by=channel')).toEqual([
      ['Organic Search', 3],
      ['Email', 2],
      ['Direct', 1],
    ]);
    expect(await series('group_by=entry_page')).toEqual([
      ['/home', 4],
      ['/blog', 2],
    ]);
    expect(await series('group_by=exit_page')).toEqual([
      ['/pricing', 3],
      ['/docs', 2],
      ['/home', 1],
    ]);
    for (const [tag, value] of CAMPAIGN.split('&').map((p) => p.split('=') as [string, string])) {
      expect(await series(`group_by=${tag}`)).toEqual([[value, 2]]);
    }
  });

  test('visit filters, with event filters and a group', async () => {
    expect(await series('entry_page=/home')).toEqual([[null, 4]]);
    expect(await series('entry_page=/home&metric=uniques&name=page_view')).toEqual([[null, 3]]);
    expect(await series('channel=Organic%20Search&group_by=path')).toEqual([
      ['/pricing', 2],
      ['/home', 1],
    ]);
    expect(await series('utm_source=newsletter&group_by=entry_page')).toEqual([['/blog', 2]]);
    const bad = await get('/api/v1/timeseries?tenant_id=acme&group_by=utm_nothing');
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body)).toContain('referrer_source, channel, entry_page');
  });
});

test('GET /api/v1/events keeps the events of the matching visits', async () => {
  const { status, body } = await get(
    '/api/v1/events?tenant_id=acme&entry_page=/home&name=page_view',
  );
  expect(status).toBe(200);
  const events = body.events as { visitor_id: string; path: string }[];
  expect(events.map((e) => `${e.visitor_id} ${e.path}`)).toEqual([
    'v4 /home',
    'v3 /home',
    'v1 /pricing',
    'v1 /home',
  ]);
});

test('GET /api/v1/events with a visit filter pages without gaps or repeats', async () => {
  const ids = async (query: string, limit: number, after?: string) => {
    const seen: string[] = [];
    let cursor = after;
    for (;;) {
      const page = cursor === undefined ? '' : `&cursor=${encodeURIComponent(cursor)}`;
      const { status, body } = await get(
        `/api/v1/events?tenant_id=acme&${query}&limit=${limit}${page}`,
      );
      expect(status).toBe(200);
      seen.push(...(body.events as { event_id: string }[]).map((e) => e.event_id));
      if (body.next_cursor === null) return seen;
      cursor = body.next_cursor as string;
    }
  };
  for (const query of ['entry_page=/home', 'channel=Direct', 'utm_medium=email']) {
    const whole = await ids(query, 100);
    expect(whole.length).toBeGreaterThan(1);
    expect(await ids(query, 1)).toEqual(whole);
  }
  // A cursor of the unfiltered list goes on in the filtered one from the same point.
  const first = await get('/api/v1/events?tenant_id=acme&limit=2');
  const after = await ids('entry_page=/home', 1, first.body.next_cursor as string);
  expect(after).toEqual((await ids('entry_page=/home', 100)).slice(2));
});

test('OpenAPI documents the visit parameters of each read', async () => {
  const { body } = await get('/openapi/json');
  const paths = body.paths as Record<string, { get: { parameters: { name: string }[] } }>;
  const visit = ['referrer_source', 'channel', 'entry_page', 'exit_page'].concat(
    ['source', 'medium', 'campaign', 'content', 'term'].map((t) => `utm_${t}`),
  );
  for (const route of ['/api/v1/stats', '/api/v1/timeseries', '/api/v1/events']) {
    const names = (paths[route]?.get.parameters ?? []).map((p) => p.name);
    expect([route, names]).toEqual([route, expect.arrayContaining(visit)]);
  }
  const stats = (body.paths as Record<string, { get: { responses: Record<string, unknown> } }>)[
    '/api/v1/stats'
  ];
  expect(JSON.stringify(stats?.get.responses)).toContain('top_utm_campaigns');
});
