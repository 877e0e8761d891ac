// GET /api/v1/stats reads its range's events once, into a Parquet file of the staging
// directory, when its segments hold at most eventsOnceRowsMax rows (events-once.ts): the
// answers are those of the four statements over the segments, with visit filters, bots,
// beacons and visits across the range's edges, and the file is removed whether the read ends,
// fails or is stopped.

import { afterEach, beforeEach, expect, test } from 'bun:test';
import { existsSync } from 'node:fs';
import { ENGAGEMENT_EVENT_NAME, type StoredEvent } from '../../src/core/index.ts';
import {
  type EventFilters,
  getStats,
  type StatsOptions,
  type VisitScope,
} from '../../src/query/index.ts';
import type { EventSnapshot } from '../../src/storage/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';

const DAY = 86_400_000;
const MIN = 60_000;
const T = Date.parse('2026-03-08T00:00:00Z');
const SITE = 'https://shop.example';
const ALWAYS = { rowsMax: Number.MAX_SAFE_INTEGER, filesMin: 0 };
const NEVER = { rowsMax: -1, filesMin: 0 };

let source: MemorySource;
/** Every statement run on a snapshot's connection, and the files it was given to write. */
let statements: string[];
let files: string[];
let t: TestApp | undefined;

beforeEach(async () => {
  source = await createMemorySource();
  statements = [];
  files = [];
  // Three days, each flushed into a segment of its own, and a fourth left unflushed.
  for (let day = 0; day < 4; day++) {
    await source.add(dayOf(day));
    if (day < 3) await source.flush();
  }
  const snapshot = source.snapshot.bind(source);
  source.snapshot = async (tenant, range) => {
    const taken: EventSnapshot = {
      ...(await snapshot(tenant, range)),
      segments: { files: 0, rows: 0 },
    };
    const { connection } = taken;
    const run = connection.run.bind(connection);
    connection.run = (sql, ...rest) => {
      statements.push(sql);
      return run(sql, ...rest);
    };
    const tempFile = taken.tempFile;
    taken.tempFile = (extension) => {
      const file = tempFile(extension);
      files.push(file);
      return file;
    };
    return taken;
  };
});
afterEach(async () => {
  source.close();
  await t?.close();
  t = undefined;
});

/** A day's visits: sessions, a visit without one, campaign tags, beacons, a bot, a late night. */
function dayOf(day: number): StoredEvent[] {
  const at = (minutes: number, visitor: string, fields: Partial<StoredEvent> = {}) =>
    makeEvent({ timestamp: T + day * DAY + minutes * MIN, visitor_id: visitor, ...fields });
  const v = (name: string) => `${name}-${day % 2}`;
  return [
    at(9 * 60, v('a'), {
      session_id: `s${day}`,
      path: '/home',
      url: `${SITE}/home`,
      referrer: 'https://www.google.com/',
      duration: 12,
      country: 'DE',
    }),
    at(9 * 60 + 2, v('a'), { session_id: `s${day}`, path: '/pricing', duration: 30 }),
    at(9 * 60 + 3, v('a'), { session_id: `s${day}`, name: 'signup', path: '/pricing' }),
    at(12 * 60, v('b'), {
      path: '/blog',
      url: `${SITE}/blog?utm_source=news&utm_medium=email&utm_campaign=spring`,
      user_id: `u${day}`,
      browser: 'Firefox',
    }),
    // A beacon keeps b's visit alive past the 30 minutes to its next page.
    at(12 * 60 + 25, v('b'), { name: ENGAGEMENT_EVENT_NAME, path: '/blog' }),
    at(12 * 60 + 50, v('b'), { path: '/docs', url: `${SITE}/docs`, duration: 4.5 }),
    at(13 * 60, v('c'), {
      path: '/home',
      properties: { $interactive: false, plan: 'pro' },
      os: 'Linux',
    }),
    at(14 * 60, 'bot', { path: '/home', is_bot: true, device: 'bot' }),
    // Across midnight: a visit from 23:50 to 00:10 of the next day.
    at(23 * 60 + 50, v('d'), { path: '/late', url: `${SITE}/late`, referrer: 'https://t.co/' }),
    at(24 * 60 + 10, v('d'), { path: '/later', url: `${SITE}/later` }),
  ];
}

const cases: { name: string; filters: EventFilters; visits?: VisitScope; top?: number }[] = [
  { name: 'all time', filters: {} },
  {
    name: 'a range cutting visits',
    filters: { fromMs: T + 12 * 60 * MIN + 30 * MIN, toMs: T + 2 * DAY },
  },
  { name: 'to midnight', filters: { fromMs: T + DAY, toMs: T + 2 * DAY } },
  { name: 'bots', filters: { fromMs: T, toMs: T + 3 * DAY, includeBots: true } },
  { name: 'an event filter', filters: { equals: { path: '/home', os: 'Linux' } } },
  { name: 'a property', filters: { properties: { plan: 'pro' }, includeBots: true } },
  { name: 'a short top', filters: { fromMs: T, toMs: T + 4 * DAY }, top: 2 },
  {
    name: 'a visit filter',
    filters: { fromMs: T + DAY, toMs: T + 3 * DAY },
    visits: { equals: { entry_page: '/blog' } },
  },
  {
    name: 'a visit filter with bots and an event filter',
    filters: { includeBots: true, equals: { country: 'DE' } },
    visits: { equals: { referrer_source: 'Google', channel: 'Organic Search' } },
  },
];

for (const c of cases) {
  test(`read once or by each statement, the same stats: ${c.name}`, async () => {
    const options: StatsOptions = { filters: c.filters, top: c.top ?? 10, visits: c.visits };
    const bySegments = await getStats(source, 'acme', options, undefined, NEVER);
    expect(files).toEqual([]);
    const once = await getStats(source, 'acme', options, undefined, ALWAYS);
    // One copy, read by every statement after it (twice by the visits': events and beacons).
    const [file] = files;
    expect(files).toHaveLength(1);
    const copying = statements.findIndex((sql) => sql.startsWith('COPY'));
    const reads = statements.slice(copying + 1).filter((sql) => !sql.startsWith('DROP'));
    expect(reads.length).toBeGreaterThanOrEqual(4);
    for (const sql of reads) {
      expect(sql).toContain(`read_parquet('${file}')`);
      expect(sql).not.toContain('tenant=acme'); // no segment file
    }
    expect(once).toEqual(bySegments);
    expect(bySegments.total_events).toBeGreaterThan(0);
  });
}

test('no copy over fewer files than filesMin or more rows than rowsMax', async () => {
  const options: StatsOptions = { filters: {}, top: 10 };
  const fake = { files: 3, rows: 100 }; // what each snapshot above says of its segments
  const taking = source.snapshot.bind(source);
  source.snapshot = async (tenant, range) => ({ ...(await taking(tenant, range)), segments: fake });
  await getStats(source, 'acme', options, undefined, { rowsMax: 100, filesMin: 4 });
  await getStats(source, 'acme', options, undefined, { rowsMax: 99, filesMin: 3 });
  expect(files).toEqual([]);
  await getStats(source, 'acme', options, undefined, { rowsMax: 100, filesMin: 3 });
  expect(files).toHaveLength(1);
});

test('the copy is removed after the read, and when a statement fails or the read stops', async () => {
  const options: StatsOptions = {
    filters: {},
    top: 10,
    visits: { equals: { entry_page: '/home' } },
  };
  await getStats(source, 'acme', options, undefined, ALWAYS);
  expect(files).toHaveLength(1);
  expect(files.filter(existsSync)).toEqual([]);

  // A statement after the copy fails: the read rejects with its error, the file is removed.
  const taking = source.snapshot.bind(source);
  source.snapshot = async (tenant, range) => {
    const taken = await taking(tenant, range);
    const { connection } = taken;
    const read = connection.runAndReadAll.bind(connection);
    connection.runAndReadAll = (sql, ...rest) =>
      sql.includes('AS total_events') ? Promise.reject(new Error('disk gone')) : read(sql, ...rest);
    return taken;
  };
  await expect(getStats(source, 'acme', options, undefined, ALWAYS)).rejects.toThrow('disk gone');
  expect(files).toHaveLength(2);
  expect(files.filter(existsSync)).toEqual([]);

  // The client goes away once the copy is written: no statement starts, the file is removed.
  const controller = new AbortController();
  source.snapshot = async (tenant, range) => {
    const taken = await taking(tenant, range);
    const { connection } = taken;
    const read = connection.runAndReadAll.bind(connection);
    connection.runAndReadAll = async (sql, ...rest) => {
      const reader = await read(sql, ...rest);
      if (sql.startsWith('COPY')) controller.abort();
      return reader;
    };
    return taken;
  };
  const before = statements.length;
  await expect(getStats(source, 'acme', options, controller.signal, ALWAYS)).rejects.toMatchObject({
    code: 'client_closed',
  });
  expect(statements.slice(before).filter((sql) => !sql.startsWith('COPY'))).toEqual([]);
  expect(files).toHaveLength(3);
  expect(files.filter(existsSync)).toEqual([]);

  // The copy itself fails (its disk full): what it wrote is removed.
  source.snapshot = async (tenant, range) => {
    const taken = await taking(tenant, range);
    const { connection } = taken;
    const read = connection.runAndReadAll.bind(connection);
    connection.runAndReadAll = async (sql, ...rest) => {
      if (!sql.startsWith('COPY')) return read(sql, ...rest);
      await read(sql, ...rest);
      throw new Error('IO Error: Could not write file: No space left on device');
    };
    return taken;
  };
  // A 503, as a Parquet export's on a full disk: the read may fit later.
  await expect(getStats(source, 'acme', options, undefined, ALWAYS)).rejects.toMatchObject({
    code: 'overloaded',
  });
  expect(files).toHaveLength(4);
  expect(files.filter(existsSync)).toEqual([]);
});

test('the store counts the rows of the segments a snapshot reads, from its catalog', async () => {
  t = await makeTestApp();
  const days = [3, 2, 1].map((d) => T0 - d * DAY);
  const res = await t.post('/api/v1/events/batch', {
    events: days.flatMap((ms, i) =>
      Array.from({ length: i + 1 }, (_, n) => ({
        event_id: `e${i}-${n}`,
        name: 'page_view',
        timestamp: ms + n * MIN,
        user_id: `u${n}`,
        path: `/p${n}`,
      })),
    ),
  });
  expect(res.status).toBe(202);
  await t.engine.store.flusher.flush();
  const all = await t.engine.store.snapshot('default');
  const lastTwo = await t.engine.store.snapshot('default', { fromMs: days[1] });
  try {
    expect([all.segments, lastTwo.segments]).toEqual([
      { files: 3, rows: 6 },
      { files: 2, rows: 5 },
    ]);
  } finally {
    all.release();
    lastTwo.release();
  }
  const options: StatsOptions = { filters: { fromMs: days[1] }, top: 10 };
  const once = await getStats(t.engine.store, 'default', options, undefined, ALWAYS);
  const bySegments = await getStats(t.engine.store, 'default', options, undefined, NEVER);
  expect(once).toEqual(bySegments);
  expect(once.total_events).toBe(5);
});
