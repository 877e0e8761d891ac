import { afterAll, beforeAll, describe, expect, test } from 'bun:test';
import { gzipSync } from 'node:zlib';
import { openapi } from '@elysiajs/openapi';
import { TypeCompiler } from '@sinclair/typebox/compiler';
import { Elysia, type TSchema } from 'elysia';
import { createLogger, EPOCH_MS_MIN, eventLimits } from '../../src/core/index.ts';
import { CohortsOut } from '../../src/http/cohorts-model.ts';
import { errorResponse, toAppError } from '../../src/http/errors.ts';
import { FunnelOut } from '../../src/http/funnel-model.ts';
import {
  EventPageOut,
  MetricAggregateOut,
  MetricPageOut,
  MetricPointOut,
  SqlResultOut,
  StatsOut,
  TimeSeriesOut,
} from '../../src/http/read-model.ts';
import { type ReadDeps, readRoutes } from '../../src/http/routes/reads.ts';
import { cursorCharsMax, queryLimits } from '../../src/query/index.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { closed } from '../helpers/openapi.ts';

const NOW = Date.parse('2026-03-10T12:00:00Z');
const at = (iso: string) => Date.parse(iso);

/**
 * The SQL time limit of `app`: far past what a statement meant to answer takes, even in a fresh
 * process on a loaded machine.
 */
const QUERY_TIMEOUT_MS = 10_000;
/** The SQL time limit of `shortApp`, for the statements meant to run out of time (408). */
const SHORT_QUERY_TIMEOUT_MS = 300;

type App = { handle(request: Request): Promise<Response> };
let source: MemorySource;
let app: App;
let shortApp: App;
const tenantCalls: string[] = [];

beforeAll(async () => {
  source = await createMemorySource({ lockDown: true });
  await source.add([
    makeEvent({
      event_id: 'a1',
      timestamp: at('2026-03-08T05:00:00Z'),
      path: '/',
      user_id: 'u1',
      properties: { plan: 'pro' },
    }),
    makeEvent({
      event_id: 'a2',
      timestamp: at('2026-03-09T03:30:00Z'),
      path: '/pricing',
      user_id: 'u2',
      properties: { plan: 'free' },
    }),
    makeEvent({
      event_id: 'a3',
      timestamp: at('2026-03-09T04:30:00Z'),
      path: '/pricing',
      user_id: 'u1',
    }),
    makeEvent({
      event_id: 'bot',
      timestamp: at('2026-03-08T06:00:00Z'),
      path: '/',
      is_bot: true,
      device: 'bot',
    }),
    makeEvent({
      event_id: 'm1',
      timestamp: at('2026-03-08T10:15:00Z'),
      name: 'cpu',
      value: 0.5,
      properties: { host: 'h1' },
    }),
    makeEvent({ event_id: 'm2', timestamp: at('2026-03-08T10:45:00Z'), name: 'cpu', value: 1.5 }),
    makeEvent({
      event_id: 'g1',
      timestamp: at('2026-03-08T05:00:00Z'),
      tenant: 'globex',
      path: '/secret',
    }),
  ]);
  await source.flush();
  app = appOver(source, QUERY_TIMEOUT_MS);
  shortApp = appOver(source, SHORT_QUERY_TIMEOUT_MS);
});

afterAll(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

/** The read routes over `source`, their SQL statements stopped after `queryTimeoutMs`. */
function appOver(source: MemorySource, queryTimeoutMs: number): App {
  const deps: ReadDeps = {
    source,
    tenantOf: (request, query) => {
      tenantCalls.push(new URL(request.url).pathname);
      return query.tenant_id ?? 'default';
    },
    queryTimeoutMs,
    queryRowsMax: 2,
    now: () => NOW,
  };
  const log = createLogger('error', () => {});
  return new Elysia()
    .onError(({ error, code, set, request }) => {
      const appError = toAppError(error, code, log, request);
      set.status = appError.status;
      return errorResponse(appError, 1);
    })
    .use(openapi({ path: '/openapi' }))
    .use(
      // The ingest routes the app already has on the same paths.
      new Elysia({ prefix: '/api/v1/events' })
        .post('', () => ({ status: 'accepted' }))
        .get('/:event_id', ({ params }) => ({ by_id: params.event_id })),
    )
    .use(readRoutes(deps));
}

const get = (path: string) => app.handle(new Request(`http://localhost${path}`));
const postTo = (target: App, path: string, body: unknown) =>
  target.handle(
    new Request(`http://localhost${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    }),
  );
const post = (path: string, body: unknown) => postTo(app, path, body);
const json = async (response: Response) => (await response.json()) as Record<string, unknown>;

describe('GET /api/v1/stats', () => {
  test('counts a local day of the tenant, bots excluded', async () => {
    const res = await get('/api/v1/stats?tenant_id=acme&date=2026-03-08&tz=America/New_York');
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      total_events: 4,
      page_views: 2,
      unique_users: 2,
      // Four one-event visits (u1, u2, and the two metric points of two hashed visitors).
      visits: 4,
      bounce_rate: 100,
      visit_duration: 0,
      views_per_visit: 0.5,
      from: '2026-03-08T00:00:00-05:00',
      to: '2026-03-09T00:00:00-04:00',
      tz: 'America/New_York',
      top_paths: [
        { path: '/', views: 1, visitors: 1 },
        { path: '/pricing', views: 1, visitors: 1 },
      ],
    });
  });

  test('filters by property and includes bots on request', async () => {
    const pro = await json(await get('/api/v1/stats?tenant_id=acme&property.plan=pro'));
    expect(pro.total_events).toBe(1);
    const bots = await json(await get('/api/v1/stats?tenant_id=acme&bots=include&path=/'));
    expect(bots.page_views).toBe(2);
    // Asking for the bot device asks for bots.
    const botDevice = await json(await get('/api/v1/stats?tenant_id=acme&device=bot&path=/'));
    expect(botDevice.page_views).toBe(1);
    expect((await json(await get('/api/v1/stats'))).total_events).toBe(0);
  });

  test('entry pages, exit pages, sources and channels count visits, filtered and bots apart', async () => {
    // Visits: u1 at / (Mar 8) and at /pricing (Mar 9), u2 at /pricing, and the two metric
    // points (no page view: no entry or exit page); no referrers, so all are Direct / None,
    // of the channel Direct.
    const all = await json(await get('/api/v1/stats?tenant_id=acme'));
    const pages = [
      { path: '/pricing', visitors: 2, visits: 2 },
      { path: '/', visitors: 1, visits: 1 },
    ];
    expect(all).toMatchObject({
      visits: 5,
      top_entry_pages: pages,
      top_exit_pages: pages,
      top_referrer_sources: [
        {
          source: 'Direct / None',
          referrer_source: 'Direct / None',
          visitors: 4,
          visits: 5,
          events: 5,
        },
      ],
      top_channels: [{ channel: 'Direct', visitors: 4, visits: 5 }],
    });
    const home = { path: '/', visitors: 2, visits: 2 };
    const bots = await json(await get('/api/v1/stats?tenant_id=acme&bots=include&path=/'));
    expect(bots).toMatchObject({ top_entry_pages: [home], top_exit_pages: [home] });
    const top1 = await json(await get('/api/v1/stats?tenant_id=acme&top=1'));
    expect(top1.top_entry_pages).toEqual([pages[0]]);
  });

  test('no date, from or to is all time (from, to null); one end leaves one open', async () => {
    // README "Sizes and defaults": stats and funnels read all time, `"from":null,"to":null`.
    const range = async (path: string) => {
      const body = await json(await get(path));
      return [body.from, body.to, body.total_events ?? body.completed];
    };
    expect(await range('/api/v1/stats?tenant_id=acme')).toEqual([null, null, 5]);
    expect(await range('/api/v1/stats?tenant_id=acme&from=2026-03-09')).toEqual([
      '2026-03-09T00:00:00+00:00',
      null,
      2,
    ]);
    expect(await range('/api/v1/stats?tenant_id=acme&to=2026-03-09T00:00:00Z')).toEqual([
      null,
      '2026-03-09T00:00:00+00:00',
      3,
    ]);
    // u1 views / on the 8th and /pricing on the 9th: a funnel over all time sees both.
    const funnel = '/api/v1/funnel?tenant_id=acme&step=path:/&step=path:/pricing';
    expect(await range(funnel)).toEqual([null, null, 1]);
  });

  test('an empty property.<key>= matches a property that is empty text, only that', async () => {
    await source.add([
      makeEvent({
        tenant: 'blank-props',
        timestamp: at('2026-03-08T05:00:00Z'),
        properties: { plan: '' },
      }),
      makeEvent({
        tenant: 'blank-props',
        timestamp: at('2026-03-08T05:01:00Z'),
        properties: { plan: 'pro' },
      }),
      makeEvent({ tenant: 'blank-props', timestamp: at('2026-03-08T05:02:00Z') }),
    ]);
    const blank = await json(await get('/api/v1/stats?tenant_id=blank-props&property.plan='));
    expect(blank.total_events).toBe(1);
  });

  test('a zone that is not IANA is a 422 naming tz', async () => {
    const res = await get('/api/v1/stats?tz=Mars/Olympus');
    expect(res.status).toBe(422);
    expect(await json(res)).toEqual({
      detail: [
        {
          loc: ['query', 'tz'],
          msg: 'tz must be an IANA time zone such as Europe/Berlin or America/New_York (got "Mars/Olympus")',
          type: 'time_zone',
        },
      ],
    });
    expect((await get('/api/v1/stats?date=2026-13-01')).status).toBe(422);
    expect((await get('/api/v1/stats?bots=maybe')).status).toBe(422);
  });
});

describe('GET /api/v1/timeseries', () => {
  test('day buckets in the zone, DST-labelled, zero-filled, grouped', async () => {
    const res = await get(
      '/api/v1/timeseries?tenant_id=acme&name=page_view&bucket=day&tz=America/New_York' +
        '&from=2026-03-08&to=2026-03-09&fill=zero&group_by=path',
    );
    expect(res.status).toBe(200);
    expect(await json(res)).toEqual({
      metric: 'count',
      bucket: 'day',
      group_by: 'path',
      from: '2026-03-08T00:00:00-05:00',
      to: '2026-03-10T00:00:00-04:00',
      tz: 'America/New_York',
      series: [
        {
          key: '/pricing',
          events: 2,
          points: [
            { bucket: '2026-03-08T00:00:00-05:00', value: 1 },
            { bucket: '2026-03-09T00:00:00-04:00', value: 1 },
          ],
        },
        {
          key: '/',
          events: 1,
          points: [
            { bucket: '2026-03-08T00:00:00-05:00', value: 1 },
            { bucket: '2026-03-09T00:00:00-04:00', value: 0 },
          ],
        },
      ],
    });
  });

  test('date= is the local day, as on stats (hour buckets across the DST change)', async () => {
    const res = await get(
      '/api/v1/timeseries?tenant_id=acme&name=page_view&bucket=hour&tz=America/New_York' +
        '&date=2026-03-08',
    );
    expect(res.status).toBe(200);
    const body = await json(res);
    expect(body).toMatchObject({
      from: '2026-03-08T00:00:00-05:00',
      to: '2026-03-09T00:00:00-04:00',
    });
    const viaRange = await json(
      await get(
        '/api/v1/timeseries?tenant_id=acme&name=page_view&bucket=hour&tz=America/New_York' +
          '&from=2026-03-08&to=2026-03-08',
      ),
    );
    expect(body.series).toEqual(viaRange.series);
    const both = await get('/api/v1/timeseries?date=2026-03-08&from=2026-03-08');
    expect(both.status).toBe(422);
  });

  test('defaults: count per day over the 30 days before now', async () => {
    const body = await json(await get('/api/v1/timeseries?tenant_id=acme&metric=uniques'));
    expect(body).toMatchObject({
      metric: 'uniques',
      bucket: 'day',
      from: '2026-02-08T12:00:00+00:00',
      to: '2026-03-10T12:00:00+00:00',
    });
    const [series] = body.series as { points: { bucket: string; value: number }[] }[];
    expect(series?.points).toEqual([
      { bucket: '2026-03-08T00:00:00+00:00', value: 3 },
      { bucket: '2026-03-09T00:00:00+00:00', value: 2 },
    ]);
  });

  // README: every empty native read parameter is a 422 naming it; group_by= was answered as an
  // ungrouped series in silence, as name= and tz= were before.
  test('an empty group_by is a 422 naming it: leave it out for no grouping', async () => {
    const res = await get('/api/v1/timeseries?from=2026-03-08&to=2026-03-10&group_by=');
    expect(res.status).toBe(422);
    expect(((await json(res)) as { detail: unknown }).detail).toEqual([
      {
        loc: ['query', 'group_by'],
        msg: 'group_by: must not be empty; leave the parameter out for no grouping',
        type: 'value_error',
      },
    ]);
    const plain = await json(await get('/api/v1/timeseries?from=2026-03-08&to=2026-03-10'));
    expect(plain.group_by).toBeNull();
  });

  test('bad metric, bucket, group_by and too many buckets are 422s', async () => {
    for (const query of ['metric=median', 'bucket=year', 'group_by=ip', 'series=0', 'fill=one']) {
      expect([query, (await get(`/api/v1/timeseries?${query}`)).status]).toEqual([query, 422]);
    }
    const year = await json(await get('/api/v1/timeseries?bucket=year&series=0'));
    expect(year.detail).toEqual([
      expect.objectContaining({
        loc: ['query', 'bucket'],
        msg: 'bucket: must be one of minute, hour, day, week, month',
      }),
    ]);
    const none = await json(await get('/api/v1/timeseries?series=0'));
    expect(none.detail).toEqual([
      expect.objectContaining({
        loc: ['query', 'series'],
        msg: expect.stringContaining('series:'),
      }),
    ]);
    const many = await get('/api/v1/timeseries?bucket=minute&from=2026-01-01&to=2026-03-01');
    expect(many.status).toBe(422);
    expect(((await json(many)).detail as { loc: string[] }[])[0]?.loc).toEqual(['query', 'bucket']);
  });
});

describe('GET /api/v1/events', () => {
  test('pages newest first with an opaque cursor, next to the ingest routes', async () => {
    const first = await json(await get('/api/v1/events?tenant_id=acme&limit=4'));
    const ids = (first.events as { event_id: string }[]).map((e) => e.event_id);
    expect(ids).toEqual(['a3', 'a2', 'm2', 'm1']);
    const cursor = encodeURIComponent(String(first.next_cursor));
    const second = await json(await get(`/api/v1/events?tenant_id=acme&limit=4&cursor=${cursor}`));
    expect((second.events as { event_id: string }[]).map((e) => e.event_id)).toEqual(['bot', 'a1']);
    expect(second.next_cursor).toBeNull();
    expect(await json(await get('/api/v1/events/a1'))).toEqual({ by_id: 'a1' });
    expect((await post('/api/v1/events', { name: 'x' })).status).toBe(200);
  });

  test('filters and presents events like the stored-event API', async () => {
    const body = await json(await get('/api/v1/events?tenant_id=acme&user_id=u2&from=2026-03-09'));
    expect(body.events).toEqual([
      expect.objectContaining({
        event_id: 'a2',
        timestamp: '2026-03-09T03:30:00.000Z',
        properties: { plan: 'free' },
        is_bot: false,
      }),
    ]);
    expect((body.events as Record<string, unknown>[])[0]).not.toHaveProperty('seq');
  });

  test('os, browser and device filter the list as they filter stats', async () => {
    // Dropped by the schema, they listed every event without a word.
    const ids = async (query: string) => {
      const res = await get(`/api/v1/events?tenant_id=acme&${query}`);
      expect(res.status).toBe(200);
      return ((await json(res)).events as { event_id: string }[]).map((e) => e.event_id);
    };
    expect(await ids('device=bot')).toEqual(['bot']);
    for (const field of ['os', 'browser', 'device']) {
      expect(await ids(`${field}=zz`)).toEqual([]);
    }
  });

  test('bots=exclude leaves bots out of the list (included by default, or with bots=include)', async () => {
    // Unknown to the list's schema, bots=exclude was dropped and the bot listed all the same.
    const ids = async (query: string) => {
      const res = await get(`/api/v1/events?tenant_id=acme&from=2026-03-08&to=2026-03-09&${query}`);
      expect(res.status).toBe(200);
      return ((await json(res)).events as { event_id: string }[]).map((e) => e.event_id);
    };
    const all = await ids('');
    expect(all).toContain('bot');
    expect(await ids('bots=include')).toEqual(all);
    expect(await ids('bots=exclude')).toEqual(all.filter((id) => id !== 'bot'));
    // As on stats, asking for the bot device asks for bots.
    expect(await ids('bots=exclude&device=bot')).toEqual(['bot']);
    // Visits are formed with bots or without them likewise (the bot's visit enters at /).
    expect(await ids('entry_page=/')).toContain('bot');
    expect(await ids('entry_page=/&bots=exclude')).not.toContain('bot');
    expect((await get('/api/v1/events?bots=maybe')).status).toBe(422);
  });

  test('property.<key> filters the list as it filters stats', async () => {
    const pro = await json(await get('/api/v1/events?tenant_id=acme&property.plan=pro'));
    const free = await json(await get('/api/v1/events?tenant_id=acme&property.plan=free'));
    const plans = (body: Record<string, unknown>) =>
      (body.events as { properties: { plan?: string } }[]).map((e) => e.properties.plan);
    expect(plans(pro).length).toBeGreaterThan(0);
    expect(plans(pro).every((p) => p === 'pro')).toBe(true);
    expect(plans(free)).toEqual(['free']);
    const none = await json(await get('/api/v1/events?tenant_id=acme&property.plan=none'));
    expect(none.events).toEqual([]);
  });

  // TypeBox's words were passed on: 'tenant_id: Expected string length greater or equal to 1'
  // for an empty parameter, 'name: Expected string length less or equal to 120'.
  test('a parameter out of its bounds or form is a 422 saying the rule plainly', async () => {
    const cases: [string, (string | number)[], string][] = [
      ['/api/v1/events?tenant_id=', ['query', 'tenant_id'], 'tenant_id: must not be empty'],
      [
        '/api/v1/stats?utm_source=',
        ['query', 'utm_source'],
        'utm_source: must not be empty; leave the parameter out for no filter',
      ],
      [
        '/api/v1/events?tenant_id=a/b',
        ['query', 'tenant_id'],
        'tenant_id: must match ^[A-Za-z0-9][A-Za-z0-9._:-]*$',
      ],
      ['/api/v1/events?country=DEU', ['query', 'country'], 'country: must match ^[A-Za-z]{2}$'],
      ['/api/v1/timeseries?fill=one', ['query', 'fill'], 'fill: must be zero'],
      ['/api/v1/stats?top=0', ['query', 'top'], 'top: must be at least 1'],
    ];
    for (const [path, loc, msg] of cases) {
      const res = await get(path);
      expect([path, res.status, (await json(res)).detail]).toEqual([
        path,
        422,
        [{ loc, msg, type: 'value_error' }],
      ]);
    }
  });

  // `name=`, `user_id=`, `path=` answered an empty result (no stored value is empty, so they
  // could never match) where `utm_source=` was a 422, and `tz=` meant UTC.
  test('an empty filter or tz is a 422 naming the parameter, on every native read', async () => {
    const noFilter = 'must not be empty; leave the parameter out for no filter';
    const cases: [string, string, string][] = [
      ['/api/v1/stats?name=', 'name', noFilter],
      ['/api/v1/stats?path=', 'path', noFilter],
      ['/api/v1/timeseries?user_id=', 'user_id', noFilter],
      ['/api/v1/timeseries?source=', 'source', noFilter],
      ['/api/v1/events?session_id=', 'session_id', noFilter],
      ['/api/v1/events?os=', 'os', noFilter],
      ['/api/v1/export?browser=', 'browser', noFilter],
      ['/api/v1/export?device=', 'device', noFilter],
      ['/api/v1/funnel?step=name:a&step=name:b&name=', 'name', noFilter],
      ['/api/v1/cohorts?start=name:a&user_id=', 'user_id', noFilter],
      ['/api/v1/metrics?name=', 'name', noFilter],
      ['/api/v1/stats?tz=', 'tz', 'must not be empty; leave the parameter out for UTC'],
      ['/api/v1/events?tz=', 'tz', 'must not be empty; leave the parameter out for UTC'],
      [
        '/api/v1/metrics/aggregate/cpu?tz=',
        'tz',
        'must not be empty; leave the parameter out for UTC',
      ],
    ];
    for (const [path, name, rule] of cases) {
      const res = await get(path);
      expect([path, res.status, (await json(res)).detail]).toEqual([
        path,
        422,
        [{ loc: ['query', name], msg: `${name}: ${rule}`, type: 'value_error' }],
      ]);
    }
  });

  test('limit beyond 1000 and foreign cursors are 422s', async () => {
    const tooMany = await get('/api/v1/events?limit=1001');
    expect(tooMany.status).toBe(422);
    expect((await json(tooMany)).detail).toEqual([
      {
        loc: ['query', 'limit'],
        msg: 'limit: must be at most 1000',
        type: 'value_error',
      },
    ]);
    // Out of range in another spelling than its value's (Elysia hands over the number it made
    // of the text): the 422 still names the parameter, not the whole query.
    for (const [path, param, max] of [
      ['/api/v1/events?limit=99999999999999999999', 'limit', 1000],
      ['/api/v1/events?limit=1e4', 'limit', 1000],
      ['/api/v1/events?limit=%2B5000', 'limit', 1000],
      ['/api/v1/stats?top=0500&name=x', 'top', 100],
    ] as const) {
      const res = await get(path);
      expect(res.status).toBe(422);
      expect((await json(res)).detail).toEqual([
        {
          loc: ['query', param],
          msg: `${param}: must be at most ${max}`,
          type: 'value_error',
        },
      ]);
    }
    // A blank is coerced to 0: below the minimum, named too (an empty one is not a number).
    const blank = await get('/api/v1/events?limit=%20&from=');
    expect((await json(blank)).detail).toEqual([
      {
        loc: ['query', 'limit'],
        msg: 'limit: must be at least 1',
        type: 'value_error',
      },
    ]);
    // A query integer that is no whole number names the rule (Elysia's own words were
    // "should be one of: 'integer', 'integer'"), on every route with one.
    for (const path of [
      '/api/v1/events?limit=abc',
      '/api/v1/events?limit=1.5',
      '/api/v1/stats?top=x',
      '/api/v1/cohorts?start=any&periods=',
    ]) {
      const res = await get(path);
      expect(res.status).toBe(422);
      const name = new URL(path, 'http://x').search.split('&').pop()?.split('=')[0] ?? '';
      const param = name.replace('?', '');
      expect((await json(res)).detail).toEqual([
        { loc: ['query', param], msg: `${param}: must be a whole number`, type: 'value_error' },
      ]);
    }
    const bad = await get('/api/v1/events?cursor=abc');
    expect(bad.status).toBe(422);
    expect(((await json(bad)).detail as { loc: string[] }[])[0]?.loc).toEqual(['query', 'cursor']);
    // Well-formed, but past the times an event can have: a 422 too, on both lists.
    for (const us of ['99999999999999999999', '-99999999999999999999', '253402300800000000']) {
      const cursor = Buffer.from(JSON.stringify([us, 'x'])).toString('base64url');
      for (const list of ['/api/v1/events', '/api/v1/metrics']) {
        const res = await get(`${list}?cursor=${cursor}`);
        expect(res.status).toBe(422);
      }
    }
  });
});

describe('a query parameter given twice', () => {
  test('is a 422 naming it on every read, not the last one read without a word', async () => {
    // Elysia kept the last: name=page_view&name=signup read signups alone, and a tenant_id
    // given twice read one of two tenants.
    for (const path of [
      '/api/v1/stats?tenant_id=acme&name=page_view&name=signup',
      '/api/v1/timeseries?tenant_id=acme&name=page_view&name=signup',
      '/api/v1/events?tenant_id=acme&name=page_view&name=signup',
      '/api/v1/export?tenant_id=acme&name=page_view&name=signup',
      '/api/v1/metrics?tenant_id=acme&name=page_view&name=signup',
      '/api/v1/funnel?tenant_id=acme&step=path:/&step=path:/pricing&name=a&name=b',
      '/api/v1/cohorts?tenant_id=acme&name=page_view&name=signup',
    ]) {
      const res = await get(path);
      expect([path, res.status]).toEqual([path, 422]);
      expect((await json(res)).detail).toEqual([
        { loc: ['query', 'name'], msg: 'give name once (got 2)', type: 'too_long' },
      ]);
    }
    const tenants = await get(
      '/api/v1/stats?tenant_id=acme&tenant_id=globex&property.plan=pro&property.plan=free',
    );
    expect((await json(tenants)).detail).toEqual([
      { loc: ['query', 'tenant_id'], msg: 'give tenant_id once (got 2)', type: 'too_long' },
      { loc: ['query', 'property.plan'], msg: 'give property.plan once (got 2)', type: 'too_long' },
    ]);
    const sql = await post('/api/v1/query?tenant_id=acme&tenant_id=globex', { sql: 'SELECT 1' });
    expect(sql.status).toBe(422);
    // A funnel's steps are one parameter each, in order.
    const funnel = await get('/api/v1/funnel?tenant_id=acme&step=path:/&step=path:/pricing');
    expect(funnel.status).toBe(200);
  });
});

describe('pagination of long event ids', () => {
  test('every page after the longest escaped or non-ASCII ids is reachable', async () => {
    // At year 0000 the timestamp has a minus sign; control characters are escaped as \uXXXX:
    // the longest cursor encodeCursor can produce.
    const ids = ['\u0001', '\u0002', '一', '二'].map((c) => c.repeat(eventLimits.eventIdCharsMax));
    await source.add(
      ids.map((event_id, i) =>
        makeEvent({ event_id, tenant: 'long-ids', timestamp: EPOCH_MS_MIN + i, value: i }),
      ),
    );
    for (const [list, key] of [
      ['/api/v1/events', 'events'],
      ['/api/v1/metrics', 'metrics'],
    ] as const) {
      const seen: string[] = [];
      const cursors: string[] = [];
      let cursor: string | null = '';
      while (cursor !== null) {
        const after = cursor === '' ? '' : `&cursor=${cursor}`;
        const res = await get(`${list}?tenant_id=long-ids&limit=1${after}`);
        expect([list, res.status]).toEqual([list, 200]);
        const page = (await json(res)) as Record<string, unknown> & { next_cursor: string | null };
        const items = page[key] as Record<string, string>[];
        seen.push(...items.map((item) => item.event_id ?? item.id ?? ''));
        cursor = page.next_cursor;
        if (cursor !== null) cursors.push(cursor);
      }
      expect(seen).toEqual([...ids].reverse());
      expect(Math.max(...cursors.map((c) => c.length))).toBe(cursorCharsMax);
    }
    expect((await get(`/api/v1/events?cursor=${'A'.repeat(cursorCharsMax + 1)}`)).status).toBe(422);
  });
});

describe('metrics', () => {
  test('lists, gets and aggregates metric points', async () => {
    const list = await json(await get('/api/v1/metrics?tenant_id=acme&name=cpu'));
    expect((list.metrics as { id: string }[]).map((m) => m.id)).toEqual(['m2', 'm1']);
    const one = await get('/api/v1/metrics/m1?tenant_id=acme');
    expect(await json(one)).toMatchObject({
      id: 'm1',
      name: 'cpu',
      value: 0.5,
      tags: { host: 'h1' },
    });
    const missing = await get('/api/v1/metrics/a1?tenant_id=acme');
    expect(missing.status).toBe(404);
    expect(await json(missing)).toEqual({
      detail: 'no metric point a1 for tenant acme',
      code: 'not_found',
    });
    const aggregate = await json(
      await get(
        '/api/v1/metrics/aggregate/cpu?tenant_id=acme&bucket=hour&from=2026-03-08&to=2026-03-08&tz=Europe/Berlin',
      ),
    );
    expect(aggregate).toMatchObject({
      name: 'cpu',
      bucket: 'hour',
      buckets: [
        {
          bucket: '2026-03-08T11:00:00+01:00',
          count: 2,
          sum: 2,
          avg: 1,
          min: 0.5,
          max: 1.5,
          p50: 1,
        },
      ],
    });
    // README "Reads": an aggregate's bucket is `hour` and its zone UTC unless asked otherwise.
    const byDefault = await json(
      await get('/api/v1/metrics/aggregate/cpu?tenant_id=acme&date=2026-03-08'),
    );
    expect(byDefault).toMatchObject({
      bucket: 'hour',
      tz: 'UTC',
      from: '2026-03-08T00:00:00+00:00',
      buckets: [{ bucket: '2026-03-08T10:00:00+00:00', count: 2 }],
    });
  });
});

describe('POST /api/v1/query', () => {
  test('runs one SELECT over the tenant`s events, rows limited', async () => {
    const res = await post('/api/v1/query?tenant_id=acme', {
      sql: 'SELECT event_id, timestamp FROM events WHERE name = ? ORDER BY event_id',
      params: ['page_view'],
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({
      columns: [
        { name: 'event_id', type: 'VARCHAR' },
        { name: 'timestamp', type: 'TIMESTAMP WITH TIME ZONE' },
      ],
      rows: [
        ['a1', '2026-03-08T05:00:00.000Z'],
        ['a2', '2026-03-09T03:30:00.000Z'],
      ],
      row_count: 2,
      truncated: true,
    });
  });

  test('refusals are 400s, timeouts 408s, bad bodies 400/422', async () => {
    const refused = await post('/api/v1/query', { sql: "SELECT * FROM read_csv('/etc/passwd')" });
    expect(refused.status).toBe(400);
    expect(await json(refused)).toMatchObject({ code: 'bad_request' });
    const slow = await postTo(shortApp, '/api/v1/query', {
      sql: 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT max(i) FROM r',
    });
    expect(slow.status).toBe(408);
    expect(await json(slow)).toEqual({
      detail: `the query ran longer than ${SHORT_QUERY_TIMEOUT_MS} ms and was stopped`,
      code: 'query_timeout',
    });
    expect((await post('/api/v1/query', '{"sql":')).status).toBe(400);
    expect((await post('/api/v1/query', { params: [] })).status).toBe(422);
    expect((await post('/api/v1/query', { sql: 'SELECT ?', params: [{}] })).status).toBe(422);
  });

  test('a null params counts as absent, as a null optional field of an event does', async () => {
    // A client that always sends its params (None, null, nil when there are none) must not
    // get a 422 for a statement without any.
    const res = await post('/api/v1/query?tenant_id=acme', {
      sql: 'SELECT 1 AS one',
      params: null,
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ rows: [[1]], row_count: 1 });
  });

  test("a tenant's statements past its share are 429s with Retry-After", async () => {
    // (That other tenants still run meanwhile is shown by test/query/run-sql.test.ts, with a
    // time limit that a loaded machine's process start cannot reach.)
    const slow =
      'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT max(i) FROM r';
    const burst = Array.from({ length: queryLimits.sqlTenantProcessesMax + 1 }, () =>
      postTo(shortApp, '/api/v1/query?tenant_id=acme', { sql: slow }),
    );
    const answers = await Promise.all(burst);
    expect(answers.map((a) => a.status).sort()).toEqual([
      ...Array(queryLimits.sqlTenantProcessesMax).fill(408),
      429,
    ]);
    const refused = answers.find((a) => a.status === 429);
    expect(refused?.headers.get('retry-after')).toBe('1');
    expect(await refused?.json()).toEqual({
      detail: `${queryLimits.sqlTenantProcessesMax} SQL queries of this tenant are running (its limit); retry later`,
      code: 'tenant_overloaded',
    });
  });

  test('reads its body like the ingest routes: JSON only, gzip taken, size limited', async () => {
    const send = (body: BodyInit, headers: Record<string, string>) =>
      app.handle(
        new Request('http://localhost/api/v1/query?tenant_id=acme', {
          method: 'POST',
          headers,
          body,
        }),
      );
    const xml = await send('<sql/>', { 'content-type': 'application/xml' });
    expect(xml.status).toBe(415);
    expect(await json(xml)).toMatchObject({ code: 'unsupported_media_type' });
    const sql = JSON.stringify({ sql: 'SELECT count(*) AS n FROM events' });
    const gzipped = await send(gzipSync(sql), {
      'content-type': 'application/json',
      'content-encoding': 'gzip',
    });
    expect(gzipped.status).toBe(200);
    expect(await json(gzipped)).toMatchObject({ rows: [[6]] });
    const huge = await send(JSON.stringify({ sql: `SELECT 1 -- ${'x'.repeat(1 << 20)}` }), {
      'content-type': 'application/json',
    });
    expect(huge.status).toBe(413);
  });
});

describe('the read routes', () => {
  test('ask tenantOf on every route', async () => {
    tenantCalls.length = 0;
    await get('/api/v1/stats');
    await get('/api/v1/timeseries');
    await get('/api/v1/events');
    await get('/api/v1/metrics');
    await get('/api/v1/metrics/x');
    await get('/api/v1/metrics/aggregate/cpu');
    await post('/api/v1/query', { sql: 'SELECT 1' });
    expect(tenantCalls).toEqual([
      '/api/v1/stats',
      '/api/v1/timeseries',
      '/api/v1/events',
      '/api/v1/metrics',
      '/api/v1/metrics/x',
      '/api/v1/metrics/aggregate/cpu',
      // Once before its body is read, and again once it is in (see auth-slow-body.test.ts).
      '/api/v1/query',
      '/api/v1/query',
    ]);
  });

  test('are documented in OpenAPI with summaries and query parameters', async () => {
    const doc = (await json(await get('/openapi/json'))) as {
      paths: Record<string, Record<string, { summary?: string; parameters?: { name: string }[] }>>;
    };
    const series = doc.paths['/api/v1/timeseries']?.get;
    expect(series?.summary).toBe('A metric per time bucket, optionally grouped');
    expect(series?.parameters?.map((p) => p.name)).toEqual(
      expect.arrayContaining(['metric', 'bucket', 'tz', 'group_by', 'fill', 'from', 'to']),
    );
    for (const route of [
      '/api/v1/stats',
      '/api/v1/events',
      '/api/v1/metrics',
      '/api/v1/metrics/{id}',
    ]) {
      expect([route, typeof doc.paths[route]?.get?.summary]).toEqual([route, 'string']);
    }
    expect(doc.paths['/api/v1/query']?.post?.summary).toBeString();
    expect(doc.paths['/api/v1/metrics/aggregate/{name}']?.get?.summary).toBeString();
  });

  test('answer what OpenAPI documents for them', async () => {
    type Op = { responses?: Record<string, { content?: Record<string, { schema?: unknown }> }> };
    const doc = (await json(await get('/openapi/json'))) as {
      paths: Record<string, Record<string, Op>>;
    };
    const answers: [string, string, TSchema, Promise<Response>][] = [
      ['/api/v1/stats', 'get', StatsOut, get('/api/v1/stats?tenant_id=acme')],
      [
        '/api/v1/timeseries',
        'get',
        TimeSeriesOut,
        get('/api/v1/timeseries?tenant_id=acme&group_by=path'),
      ],
      [
        '/api/v1/funnel',
        'get',
        FunnelOut,
        get('/api/v1/funnel?tenant_id=acme&step=path:/&step=path:/pricing&from=2026-03-08'),
      ],
      [
        '/api/v1/cohorts',
        'get',
        CohortsOut,
        get('/api/v1/cohorts?tenant_id=acme&start=path:/&return=any&from=2026-03-08'),
      ],
      ['/api/v1/events', 'get', EventPageOut, get('/api/v1/events?tenant_id=acme&limit=2')],
      ['/api/v1/metrics', 'get', MetricPageOut, get('/api/v1/metrics?tenant_id=acme')],
      ['/api/v1/metrics/{id}', 'get', MetricPointOut, get('/api/v1/metrics/m1?tenant_id=acme')],
      [
        '/api/v1/metrics/aggregate/{name}',
        'get',
        MetricAggregateOut,
        get('/api/v1/metrics/aggregate/cpu?tenant_id=acme&from=2026-03-08&to=2026-03-09'),
      ],
      [
        '/api/v1/query',
        'post',
        SqlResultOut,
        post('/api/v1/query?tenant_id=acme', { sql: 'SELECT 1 AS one' }),
      ],
    ];
    for (const [route, method, schema, answer] of answers) {
      const response = await answer;
      expect([route, response.status]).toEqual([route, 200]);
      const responses = doc.paths[route]?.[method]?.responses ?? {};
      expect([route, Object.keys(responses)]).toEqual([route, expect.arrayContaining(['422'])]);
      const documented = responses['200']?.content?.['application/json']?.schema;
      expect([route, documented]).toEqual([route, JSON.parse(JSON.stringify(schema))]);
      const errors = [...TypeCompiler.Compile(closed(schema)).Errors(await response.json())];
      expect([route, errors.map((e) => `${e.path}: ${e.message}`)]).toEqual([route, []]);
    }
  });
});
