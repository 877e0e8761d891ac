// The seven top lists of getStats (stats-lists.ts: a ranking scan, then one bit mask per
// visitor) against the statement they replaced (one GROUPING SETS over every (list, value,
// visitor) pair, copied below as it was), over random events of many shapes: a value shared by
// several lists, empty and null values, quotes, backslashes, NUL, combining marks, long values,
// ties at the cut, more than 64 and 100 values, events without a visitor, bots, every filter,
// visit filters, hot rows and flushed segments, empty ranges. Both must answer alike.

import { afterEach, describe, expect, test } from 'bun:test';
import { listValue } from '@duckdb/node-api';
import type { StoredEvent } from '../../src/core/index.ts';
import { filterConditions, whereOf } from '../../src/query/filters.ts';
import { type EventFilters, getStats, PAGE_VIEW_NAMES } from '../../src/query/index.ts';
import { visitRangeOf } from '../../src/query/queries/visit-rows.ts';
import { type VisitScope, visitScopedFrom } from '../../src/query/queries/visit-scope.ts';
import { numberOf, readRows, withSnapshot } from '../../src/query/read.ts';
import { SqlParams } from '../../src/query/sql-params.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-03-08T00:00:00Z');
const HOUR = 3_600_000;

const BREAKDOWNS = [
  { list: 'top_paths', column: 'path', key: 'path' },
  { list: 'top_referrers', column: 'referrer', key: 'referrer' },
  { list: 'top_events', column: 'name', key: 'name' },
  { list: 'os', column: 'os', key: 'os' },
  { list: 'browsers', column: 'browser', key: 'browser' },
  { list: 'devices', column: 'device', key: 'device' },
  { list: 'countries', column: 'country', key: 'country' },
] as const;

interface Options {
  filters: EventFilters;
  top: number;
  visits?: VisitScope | undefined;
}

/** The lists statement of get-stats.ts before stats-lists.ts, unchanged. */
function listsQuery(from: string, options: Options, params: SqlParams): string {
  const where = whereOf(filterConditions(options.filters, params));
  const views = params.add(listValue(PAGE_VIEW_NAMES));
  const columns = BREAKDOWNS.map((b) => b.column);
  const which = BREAKDOWNS.map((b) => `WHEN grouping(${b.column}) = 0 THEN '${b.list}'`);
  return `WITH f AS (
      SELECT ${columns.map((c) => `e."${c}" AS ${c}`).join(', ')}, e.visitor_id,
        list_contains(${views}, e.name) AS is_view
      FROM ${from} AS e ${where}
    ), per_visitor AS (
      SELECT CASE ${which.join(' ')} END AS list, coalesce(${columns.join(', ')}) AS value,
        visitor_id, count(*) AS events, count(*) FILTER (WHERE is_view) AS views
      FROM f GROUP BY GROUPING SETS (${columns.map((c) => `(${c}, visitor_id)`).join(', ')})
    ), g AS (
      SELECT list, value, sum(events) AS events, sum(views) AS views,
        count(visitor_id) AS visitors,
        count(visitor_id) FILTER (WHERE views > 0) AS view_visitors
      FROM per_visitor GROUP BY list, value
    ), ranked AS (
      SELECT *, row_number() OVER (
          PARTITION BY list
          ORDER BY CASE WHEN list = 'top_paths' THEN views ELSE events END DESC, value
        ) AS rank
      FROM g
      WHERE value IS NOT NULL AND value <> '' AND (list <> 'top_paths' OR views > 0)
    )
    SELECT list, value, events, views, visitors, view_visitors FROM ranked
    WHERE rank <= ${params.add(options.top)} ORDER BY list, rank`;
}

/** The old lists of `options`, read as getStats read them (visit scope included). */
async function oldLists(source: EventSource, tenant: string, options: Options) {
  const { fromMs, toMs } = options.filters;
  const rows = await withSnapshot(source, tenant, visitRangeOf(fromMs, toMs), undefined, (s) => {
    const params = new SqlParams();
    const from =
      options.visits === undefined
        ? s.from
        : visitScopedFrom(s, options.visits, options.filters, PAGE_VIEW_NAMES, params);
    return readRows(s, listsQuery(from, options, params), params);
  });
  const lists: Record<string, Record<string, string | number>[]> = {};
  for (const b of BREAKDOWNS) lists[b.list] = [];
  for (const row of rows) {
    const b = BREAKDOWNS.find((x) => x.list === row.list);
    if (b === undefined) throw new Error(`unknown list ${String(row.list)}`);
    const value = String(row.value);
    lists[b.list]?.push(
      b.list === 'top_paths'
        ? { path: value, views: numberOf(row.views), visitors: numberOf(row.view_visitors) }
        : { [b.key]: value, events: numberOf(row.events), visitors: numberOf(row.visitors) },
    );
  }
  return lists;
}

/** Values met in several lists and columns, odd ones among them. */
const SHARED = [
  'x',
  'X',
  '',
  "it's",
  'a\\b',
  '"q"',
  'a\u0000b',
  'a',
  'é',
  'e\u0301',
  '😀',
  '%_',
  ' x',
  'x ',
  '/',
  'page_view',
  'DE',
  `/${'long/'.repeat(300)}`,
];

interface Shape {
  events: number;
  /** Distinct values a column draws from besides SHARED. */
  values: number;
  visitors: number;
  flush: boolean;
}

function randomEvents(seed: number, shape: Shape): StoredEvent[] {
  const random = seededRandom(seed);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)] as V;
  // Skewed, so that ranks differ, and small, so that ties are many.
  const drawn = (prefix: string): string | null => {
    const r = random();
    if (r < 0.05) return null;
    if (r < 0.2) return pick(SHARED);
    return `${prefix}${Math.floor(random() ** 2 * shape.values)}`;
  };
  const names = [...PAGE_VIEW_NAMES, 'signup', 'click', '$engagement', 'x', "it's"];
  return Array.from({ length: shape.events }, () => {
    const visitor = Math.floor(random() * shape.visitors);
    const path = drawn('/p/');
    return makeEvent({
      timestamp: T + Math.floor(random() * 72 * HOUR),
      visitor_id: random() < 0.03 ? (null as unknown as string) : `v${visitor}`,
      session_id: random() < 0.5 ? `s${visitor}-${Math.floor(random() * 3)}` : null,
      name: random() < 0.8 ? pick(names) : (drawn('n') ?? 'y'),
      path,
      url: path === null ? null : `https://site.example${path}?utm_source=${pick(['a', 'b'])}`,
      referrer: drawn('https://r.example/'),
      os: drawn('os') ?? '',
      browser: pick(['Chrome', 'x', '', 'a\u0000b']),
      device: pick(['desktop', 'mobile', 'bot', 'x']),
      country: pick([null, '', 'DE', 'FR', 'x', 'é']),
      is_bot: random() < 0.15,
      properties: random() < 0.5 ? { plan: pick(['a', 'b', 1]) } : null,
    });
  });
}

function randomOptions(seed: number, events: StoredEvent[]): Options {
  const random = seededRandom(seed * 7919);
  const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)] as V;
  const some = pick(events);
  const filters: EventFilters = { includeBots: random() < 0.5 };
  if (random() < 0.3) {
    const column = pick([
      'path',
      'referrer',
      'name',
      'os',
      'browser',
      'device',
      'country',
    ] as const);
    filters.equals = { [column]: some?.[column] ?? 'x' };
  }
  if (random() < 0.2) filters.properties = { plan: pick(['a', '1']) };
  if (random() < 0.4) {
    filters.fromMs = T + Math.floor(random() * 80 * HOUR) - 4 * HOUR;
    filters.toMs = filters.fromMs + Math.floor(random() * 30 * HOUR);
  }
  const top = pick([1, 2, 3, 10, 64, 65, 100]);
  const r = random();
  const visits: VisitScope | undefined =
    r < 0.15
      ? { equals: { entry_page: some?.path ?? '/' } }
      : r < 0.25
        ? { equals: { utm_source: 'a' } }
        : undefined;
  return { filters, top, visits };
}

const SHAPES: Shape[] = [
  { events: 400, values: 6, visitors: 30, flush: false },
  { events: 400, values: 6, visitors: 30, flush: true },
  { events: 1500, values: 150, visitors: 80, flush: true },
  { events: 1500, values: 90, visitors: 400, flush: false },
  { events: 60, values: 3, visitors: 5, flush: true },
];

let source: MemorySource | undefined;
let app: TestApp | undefined;
afterEach(async () => {
  source?.close();
  source = undefined;
  await app?.close();
  app = undefined;
});

describe('getStats top lists against the statement they replaced', () => {
  test('an empty tenant, and a range with no event', async () => {
    source = await createMemorySource();
    for (const filters of [{}, { fromMs: T - 10 * HOUR, toMs: T - 9 * HOUR }]) {
      const options = { filters, top: 10 };
      await source.add(filters.fromMs === undefined ? [] : randomEvents(1, SHAPES[0] as Shape));
      const stats = await getStats(source, 'acme', options);
      const old = await oldLists(source, 'acme', options);
      for (const { list } of BREAKDOWNS) expect(stats[list]).toEqual(old[list] as never);
    }
  });

  for (const [i, shape] of SHAPES.entries()) {
    test(`match over random events (${shape.events} events, ${shape.values} values)`, async () => {
      for (let seed = 1; seed <= 8; seed += 1) {
        source?.close();
        source = await createMemorySource();
        const events = randomEvents(seed * 31 + i, shape);
        const half = Math.floor(events.length / 2);
        await source.add(events.slice(0, half));
        if (shape.flush) await source.flush();
        await source.add(events.slice(half));
        const options = randomOptions(seed * 31 + i, events);
        const stats = await getStats(source, 'acme', options);
        const old = await oldLists(source, 'acme', options);
        for (const { list } of BREAKDOWNS) {
          expect({ seed, options, list, rows: stats[list] }).toEqual({
            seed,
            options,
            list,
            rows: old[list] as never,
          });
        }
      }
    });
  }

  test('match on the real store, over flushed segments and hot rows', async () => {
    app = await makeTestApp();
    const random = seededRandom(99);
    const pick = <V>(values: readonly V[]): V => values[Math.floor(random() * values.length)] as V;
    const agents = ['Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X)', 'curl/8.0', 'x'];
    for (const batch of [0, 1, 2]) {
      const events = Array.from({ length: 300 }, (_, i) => {
        const path = pick([...SHARED.filter((v) => v !== ''), `/p/${Math.floor(random() * 80)}`]);
        return {
          event_id: `b${batch}-${i}`,
          name: pick([...PAGE_VIEW_NAMES, 'signup', 'x']),
          timestamp: T0 - Math.floor(random() * 48 * HOUR),
          anonymous_id: `a${Math.floor(random() * 40)}`,
          ...(random() < 0.5 ? { session_id: `s${Math.floor(random() * 60)}` } : {}),
          path,
          url: `https://site.example${path.startsWith('/') ? path : `/${path}`}`,
          ...(random() < 0.7 ? { referrer: pick([...SHARED, 'https://r.example/']) } : {}),
          user_agent: pick(agents),
        };
      });
      const res = await app.post('/api/v1/events/batch', { events });
      expect(res.status).toBe(202);
      if (batch < 2) await app.engine.store.flusher.flush();
    }
    const store = app.engine.store;
    const first = (await getStats(store, 'default', { filters: {}, top: 1 })).top_paths[0]?.path;
    for (const options of [
      { filters: {}, top: 100 },
      { filters: { includeBots: true }, top: 3 },
      { filters: { fromMs: T0 - 30 * HOUR, toMs: T0 - 6 * HOUR }, top: 65 },
      { filters: { equals: { name: 'signup' } }, top: 1 },
      { filters: {}, top: 10, visits: { equals: { entry_page: first ?? '/' } } },
    ] as Options[]) {
      const stats = await getStats(store, 'default', options);
      const old = await oldLists(store, 'default', options);
      expect({ options, n: stats.top_events.length }).not.toEqual({ options, n: 0 });
      for (const { list } of BREAKDOWNS) {
        expect({ options, list, rows: stats[list] }).toEqual({
          options,
          list,
          rows: old[list] as never,
        });
      }
    }
  });
});
