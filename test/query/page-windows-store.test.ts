// Pages read in time windows over the real store, where a window reads only the segments whose
// catalog min/max times meet it (EventSnapshot.within/allWithin): the memory source reads every
// file for any window, so only here is that pruning tried. Events sit on the windows' edges,
// on UTC midnights, at one instant under several ids, before 1970 and at the first instant of
// year 0000; the segments are flushed in several batches per day, compacted, rewritten by a
// person's erasure and read again after a restart. Every list, export and offset page (seed
// 002's listing, whose windows start at the range's first event) must still be the range's
// events, each once, in order.

import { afterEach, describe, expect, test } from 'bun:test';
import { EPOCH_MS_MIN, utcDay } from '../../src/core/index.ts';
import { exportEventPages, listEventPage, listEvents, listMetrics } from '../../src/query/index.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { rowsOnly } from '../helpers/export-pages.ts';
import { seededRandom } from '../helpers/random.ts';

/**
 * The staged test's budget: its thousand-odd paged reads take ~90 s alone on a slow 2-vCPU host,
 * and over 180 s there with three other test files running beside it.
 */
const STAGED_PAGES_TIMEOUT_MS = 420_000;

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

interface Sent {
  id: string;
  ms: number;
  user: string;
  value: number | null;
}

/** The instants the windows of a page anchored at T0 (now) start and end at, and ±1 ms. */
function edgeInstants(): number[] {
  const edges = [T0];
  for (let span = HOUR; span < 40 * 365 * DAY; span *= 8) edges.push(T0 - span);
  // The export's windows start at its first event: an hour, then 8× wider.
  const first = -DAY;
  for (let span = HOUR; span < 40 * 365 * DAY; span *= 8) edges.push(first + span);
  const days = [T0 - (T0 % DAY), T0 - (T0 % DAY) - DAY, 0, -DAY, first];
  return [...edges, ...days].flatMap((ms) => [ms - 1, ms, ms + 1]);
}

function eventsOf(seed: number): Sent[] {
  const random = seededRandom(seed);
  const instants = [
    ...edgeInstants(),
    EPOCH_MS_MIN,
    EPOCH_MS_MIN + 1,
    EPOCH_MS_MIN + HOUR,
    T0 + 23 * HOUR, // a client's clock ahead of the server's
  ];
  for (let i = 0; i < 20; i++) instants.push(T0 - Math.floor(random() ** 3 * 30 * 365 * DAY));
  const events: Sent[] = [];
  for (const [i, ms] of instants.entries()) {
    // Some instants under several ids, not in id order of sending.
    const copies = i % 7 === 0 ? 3 : 1;
    for (let c = copies - 1; c >= 0; c--) {
      events.push({
        id: `e${String(events.length).padStart(3, '0')}-${c}`,
        ms,
        user: `u${i % 5}`,
        value: i % 3 === 0 ? null : i,
      });
    }
  }
  return events;
}

async function send(app: TestApp, events: Sent[]): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: events.map((e) => ({
      event_id: e.id,
      name: 'tick',
      timestamp: e.ms,
      user_id: e.user,
      ...(e.value === null ? {} : { value: e.value }),
    })),
  });
  expect(res.status).toBe(202);
}

const newestFirst = (a: Sent, b: Sent) => b.ms - a.ms || (a.id < b.id ? -1 : 1);
const oldestFirst = (a: Sent, b: Sent) => a.ms - b.ms || (a.id < b.id ? -1 : 1);

type Range = { fromMs?: number; toMs?: number };

const inRange = (range: Range) => (e: Sent) =>
  (range.fromMs === undefined || e.ms >= range.fromMs) &&
  (range.toMs === undefined || e.ms < range.toMs);

async function listed(app: TestApp, range: Range, limit: number): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(app.engine.store, 'default', {
      ...range,
      limit,
      cursor,
      nowMs: T0,
    });
    pages.push(page.events.map((e) => String(e.event_id)));
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

async function metricIds(app: TestApp, range: Range, limit: number): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await listMetrics(app.engine.store, 'default', {
      ...range,
      limit,
      cursor,
      nowMs: T0,
    });
    ids.push(...page.metrics.map((m) => String(m.id)));
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return ids;
}

async function exported(app: TestApp, range: Range, pageRows: number): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of exportEventPages(
    app.engine.store,
    'default',
    range,
    undefined,
    rowsOnly(pageRows),
  ))
    pages.push(page.map((e) => String(e.event_id)));
  return pages;
}

/**
 * Every offset page of seed 002's listing (listEventPage, read oldest window first from the
 * range's first event) of `range`, one past the end too, with the total each reported.
 */
async function offsetPaged(app: TestApp, range: Range, pageSize: number) {
  const pages: string[][] = [];
  const totals = new Set<number>();
  for (let page = 1; ; page++) {
    const read = await listEventPage(app.engine.store, 'default', { ...range, page, pageSize });
    totals.add(read.total);
    pages.push(read.items.map((e) => e.event_id));
    if (read.items.length === 0) break;
  }
  return { pages, totals: [...totals] };
}

/** Every list and export over the ranges `ranges` holds exactly the events of `kept`. */
async function expectPagesOf(app: TestApp, kept: Sent[], ranges: Range[], stage: string) {
  for (const [i, range] of ranges.entries()) {
    const inIt = kept.filter(inRange(range));
    const newest = [...inIt].sort(newestFirst).map((e) => e.id);
    const oldest = [...inIt].sort(oldestFirst).map((e) => e.id);
    // Limit 1 on the narrow ranges (a page a snapshot: slow over many events).
    const limit = inIt.length <= 12 ? 1 : ([9, 1000, 4][i % 3] as number);
    const pages = await listed(app, range, limit);
    expect({ stage, range, ids: pages.flat() }).toEqual({ stage, range, ids: newest });
    expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    const valued = [...inIt].filter((e) => e.value !== null).sort(newestFirst);
    const metrics = await metricIds(app, range, [6, 1000][i % 2] as number);
    expect({ stage, range, metrics }).toEqual({ stage, range, metrics: valued.map((e) => e.id) });
    const rows = inIt.length <= 12 ? 1 : ([5, 1000, 11][i % 3] as number);
    const exportPages = await exported(app, range, rows);
    expect({ stage, range, ids: exportPages.flat() }).toEqual({ stage, range, ids: oldest });
    expect(exportPages.slice(0, -1).every((p) => p.length === rows)).toBe(true);
    const size = inIt.length <= 12 ? 1 : ([7, 1000, 13][i % 3] as number);
    const offset = await offsetPaged(app, range, size);
    const want = Array.from({ length: Math.ceil(oldest.length / size) }, (_, p) =>
      oldest.slice(p * size, (p + 1) * size),
    );
    expect({ stage, range, offset }).toEqual({
      stage,
      range,
      offset: { pages: [...want, []], totals: [oldest.length] },
    });
  }
}

/** Ranges whose ends lie on events, window edges, midnights, before 1970 and in the future. */
function rangesOf(events: Sent[], seed: number): Range[] {
  const random = seededRandom(seed);
  const at = () => (events[Math.floor(random() * events.length)] as Sent).ms;
  const ranges: Range[] = [
    {},
    { toMs: T0 },
    { fromMs: T0 - HOUR },
    { fromMs: T0 - 8 * HOUR, toMs: T0 - HOUR },
    { fromMs: -DAY, toMs: 1 },
    { toMs: EPOCH_MS_MIN + 1 },
    { fromMs: EPOCH_MS_MIN, toMs: EPOCH_MS_MIN + HOUR + 1 },
    { fromMs: T0 - DAY, toMs: T0 + 2 * DAY },
    { fromMs: T0 + HOUR },
  ];
  for (let i = 0; i < 5; i++) {
    const [a, b] = [at(), at()].sort((x, y) => x - y) as [number, number];
    ranges.push(i % 3 === 0 ? { fromMs: a } : i % 3 === 1 ? { toMs: b } : { fromMs: a, toMs: b });
  }
  return ranges;
}

describe('pages over the real store, windows pruned by the catalog', () => {
  // Five stages, each paging 14 ranges four ways, many a page of one event (one snapshot each):
  // ~50-60 s on a busy 2-vCPU host, where the suite's 60 s a test cut it short.
  test(
    'flushed in batches, compacted, a person erased, restarted: each event once, in order',
    async () => {
      t = await makeTestApp({ compactSegmentsMin: 2 });
      const app = t;
      const events = eventsOf(20261127);
      const ranges = rangesOf(events, 7);
      // Four batches, each flushed: most days get several segments.
      const quarter = Math.ceil(events.length / 4);
      for (let i = 0; i < 4; i++) {
        await send(app, events.slice(i * quarter, (i + 1) * quarter));
        if (i < 3) await app.engine.store.flusher.flush();
      }
      await expectPagesOf(app, events, ranges, 'flushed in batches, the last unflushed');
      await app.engine.store.flusher.flush();
      while ((await app.engine.store.compactor.compact()) > 0) {}
      await expectPagesOf(app, events, ranges, 'compacted');
      const accepted = await app.engine.erasures.request('default', 'user_id', 'u2');
      expect(accepted.status).toBe('pending');
      await app.engine.erasures.settled();
      const erased = events.filter((e) => e.user !== 'u2');
      await expectPagesOf(app, erased, ranges, 'a person erased');
      // Late events of old days left in the log: replayed at the restart, flushed after it into
      // days that have a segment already.
      const late = [-DAY - 1, -1, T0 - 64 * HOUR, T0 - HOUR, EPOCH_MS_MIN].map(
        (ms, i): Sent => ({ id: `late${i}`, ms, user: 'u1', value: i }),
      );
      await send(app, late);
      const kept = [...erased, ...late];
      await app.restart();
      await expectPagesOf(app, kept, ranges, 'restarted, late events replayed');
      await app.engine.store.flusher.flush();
      await expectPagesOf(app, kept, ranges, 'restarted, late events flushed');
      // A cursor from a page of another range or filter: the page is what follows its key.
      const other = { fromMs: T0 - 9 * HOUR, toMs: T0 + HOUR };
      let cursor: string | null = null;
      let last: Sent | undefined;
      for (let i = 0; i < 4; i++) {
        const page = await listMetrics(app.engine.store, 'default', {
          ...other,
          limit: 2,
          cursor: cursor ?? undefined,
          nowMs: T0,
        });
        cursor = page.next_cursor;
        if (cursor === null) break;
        last = kept.find((e) => e.id === page.metrics.at(-1)?.id);
        for (const range of ranges.slice(0, 6)) {
          const after = (e: Sent) =>
            last !== undefined && (e.ms < last.ms || (e.ms === last.ms && e.id > last.id));
          const want = kept.filter(inRange(range)).filter(after).sort(newestFirst).slice(0, 5);
          const got = await listEvents(app.engine.store, 'default', {
            ...range,
            limit: 5,
            cursor,
            nowMs: T0,
          });
          expect({ range, ids: got.events.map((e) => e.event_id) }).toEqual({
            range,
            ids: want.map((e) => e.id),
          });
        }
      }
      expect(last).toBeDefined();
    },
    STAGED_PAGES_TIMEOUT_MS,
  );
});

/**
 * `source` whose snapshots run `between` before every statement after their first: what other
 * work does while a page is read window by window (the page's windows are separate statements).
 */
function interleaved(source: EventSource, between: () => Promise<void>): EventSource {
  return {
    ...source,
    snapshot: async (tenant, range) => {
      const snapshot = await source.snapshot(tenant, range);
      const connection = snapshot.connection;
      let statements = 0;
      const run: typeof connection.runAndReadAll = async (...args) => {
        if (statements++ > 0) await between();
        return connection.runAndReadAll(...args);
      };
      const wrapped = new Proxy(connection, {
        get: (target, key) =>
          key === 'runAndReadAll' ? run : Reflect.get(target, key, target).bind?.(target),
      });
      return { ...snapshot, connection: wrapped };
    },
  } as EventSource;
}

describe('the windows of one page are one snapshot while flushes, compactions and erasures run', () => {
  test('a list page read window by window sees the events as its snapshot had them', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    const app = t;
    const store = app.engine.store;
    // Two events in the newest hour, the rest days apart: a page of 6 reads several windows.
    const offsets = [
      5,
      30 * 60,
      3 * 3600,
      20 * 3600,
      3 * 86_400,
      9 * 86_400,
      40 * 86_400,
      90 * 86_400,
    ];
    const events: Sent[] = offsets.map((s, i) => ({
      id: `old${i}`,
      ms: T0 - s * 1000,
      user: i % 2 === 0 ? 'even' : 'odd',
      value: i,
    }));
    for (const half of [events.slice(0, 4), events.slice(4)]) {
      await send(app, half);
      await store.flusher.flush();
    }
    let step = 0;
    const between = async () => {
      step++;
      // Newer events in a window read already and in ones still to read, then the work that
      // moves events between the hot tier and segments, or rewrites them.
      await send(app, [
        { id: `new${step}a`, ms: T0 - 60_000, user: 'even', value: 1 },
        { id: `new${step}b`, ms: T0 - 10 * 86_400_000, user: 'even', value: 1 },
      ]);
      await store.flusher.flush();
      while ((await store.compactor.compact()) > 0) {}
      if (step === 2) {
        await app.engine.erasures.request('default', 'user_id', 'odd');
        await app.engine.erasures.settled();
      }
    };
    const source = interleaved(store, between);
    const page = await listEvents(source, 'default', { limit: 6, nowMs: T0 });
    expect(step).toBeGreaterThanOrEqual(3);
    const expected = [...events].sort(newestFirst).map((e) => e.id);
    expect(page.events.map((e) => e.event_id)).toEqual(expected.slice(0, 6));
    // The store now: the odd person's events gone, the new ones in. A metric page read while
    // more arrive and move sees that, not what came during its read.
    const now = await idsOfList(app);
    expect(now.filter((id) => id.startsWith('old'))).toEqual(
      expected.filter((id) => events.find((e) => e.id === id)?.user === 'even'),
    );
    expect(now.filter((id) => id.startsWith('new'))).toHaveLength(2 * step);
    const metrics = await listMetrics(interleaved(store, between), 'default', {
      limit: 7,
      nowMs: T0,
    });
    expect(metrics.metrics.map((m) => m.id)).toEqual(now.slice(0, 7));
  });
});

describe('a page read while its days or its tenant are deleted', () => {
  test('retention and a tenant deletion between its windows: the page is its snapshot', async () => {
    t = await makeTestApp();
    const app = t;
    const store = app.engine.store;
    const days = [0, 1, 2, 5, 9, 30, 200];
    const events: Sent[] = days.map((d, i) => ({
      id: `d${i}`,
      ms: T0 - d * DAY - 1000,
      user: 'u',
      value: i,
    }));
    for (const e of events) {
      await send(app, [e]);
      await store.flusher.flush();
    }
    const expected = [...events].sort(newestFirst).map((e) => e.id);
    let step = 0;
    let droppedSegments = 0;
    const between = async () => {
      step++;
      if (step === 1) {
        const dropped = await store.retention.dropDaysBefore('default', () => utcDay(T0 - 3 * DAY));
        droppedSegments = dropped?.segments ?? 0;
      }
      if (step === 2) await store.eraser.erase('default', (tombstone) => tombstone());
    };
    const page = await listEvents(interleaved(store, between), 'default', {
      limit: 6,
      nowMs: T0,
    });
    expect(step).toBeGreaterThanOrEqual(2);
    expect(droppedSegments).toBe(4);
    expect(page.events.map((e) => e.event_id)).toEqual(expected.slice(0, 6));
    expect(await idsOfList(app)).toEqual([]);
  });
});

describe('an export, each page its own snapshot, each read in windows', () => {
  test('every event once across flushes, compactions, an erasure and events received meanwhile', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    const app = t;
    const store = app.engine.store;
    const random = seededRandom(5);
    // Bursts at one instant, minutes, days and years apart; in several segments per day.
    const events: Sent[] = Array.from({ length: 60 }, (_, i) => ({
      id: `x${String(i).padStart(2, '0')}`,
      ms: T0 - (i % 6 === 0 ? 0 : Math.floor(random() ** 3 * 3 * 365 * DAY)) - HOUR,
      user: i % 4 === 0 ? 'gone' : 'kept',
      value: null,
    }));
    for (let i = 0; i < 3; i++) {
      await send(app, events.slice(i * 20, (i + 1) * 20));
      if (i < 2) await store.flusher.flush();
    }
    let step = 0;
    let erasedAfter: string | null = null;
    const exportedIds: string[] = [];
    const between = async () => {
      step++;
      // Received after the export began (its bound on received_at): never in it, wherever
      // they sort; flushed and compacted with the rest.
      app.clock.advance(1000);
      await send(app, [
        { id: `late${step}a`, ms: T0 - 2 * 365 * DAY, user: 'kept', value: null },
        { id: `late${step}b`, ms: T0, user: 'kept', value: null },
      ]);
      await store.flusher.flush();
      while ((await store.compactor.compact()) > 0) {}
    };
    const source = interleaved(store, between);
    for await (const page of exportEventPages(source, 'default', {}, undefined, rowsOnly(7))) {
      exportedIds.push(...page.map((e) => String(e.event_id)));
      await between(); // between pages too
      if (exportedIds.length >= 14 && erasedAfter === null) {
        // Between two pages (a page's own snapshot would still see the events it erases).
        erasedAfter = exportedIds.at(-1) ?? null;
        await app.engine.erasures.request('default', 'user_id', 'gone');
        await app.engine.erasures.settled();
      }
    }
    expect(step).toBeGreaterThan(8);
    const sorted = [...events].sort(oldestFirst);
    const cut = sorted.findIndex((e) => e.id === erasedAfter);
    // What was sent before the erasure stays sent; after it the erased person's events are gone.
    const expected = sorted.filter((e, i) => i <= cut || e.user === 'kept').map((e) => e.id);
    expect(expected.length).toBeLessThan(events.length);
    expect(exportedIds).toEqual(expected);
  });
});

async function idsOfList(app: TestApp): Promise<string[]> {
  return (await listed(app, {}, 1000)).flat();
}
