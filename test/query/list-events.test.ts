import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { AppError } from '../../src/core/index.ts';
import {
  aggregateMetric,
  getEvent,
  getMetric,
  type ListEventsOptions,
  listEvents,
  listMetrics,
} from '../../src/query/index.ts';
import { idsInOrder } from '../helpers/list-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-04-01T12:00:00Z');

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

async function allPages(options: Omit<ListEventsOptions, 'cursor'>): Promise<string[][]> {
  const pages: string[][] = [];
  let cursor: string | undefined;
  do {
    const page = await listEvents(source, 'acme', { ...options, cursor });
    pages.push(page.events.map((e) => String(e.event_id)));
    cursor = page.next_cursor ?? undefined;
  } while (cursor !== undefined);
  return pages;
}

describe('listEvents', () => {
  test('pages in (timestamp desc, event_id) order, stable across equal timestamps and tiers', async () => {
    // 25 events on 5 timestamps, ids shuffled, half flushed to a segment.
    const ids = Array.from({ length: 25 }, (_, i) => `e${String((i * 7) % 25).padStart(2, '0')}`);
    const events = ids.map((event_id, i) => makeEvent({ event_id, timestamp: T + (i % 5) * 1000 }));
    await source.add(events.slice(0, 12));
    await source.flush();
    await source.add(events.slice(12));
    const expected = [...events]
      .sort((a, b) => b.timestamp - a.timestamp || (a.event_id < b.event_id ? -1 : 1))
      .map((e) => e.event_id);
    const pages = await allPages({ limit: 4 });
    expect(pages.map((p) => p.length)).toEqual([4, 4, 4, 4, 4, 4, 1]);
    expect(pages.flat()).toEqual(expected);
    // New events newer than the cursor do not shift later pages.
    const first = await listEvents(source, 'acme', { limit: 10 });
    await source.add([makeEvent({ event_id: 'late', timestamp: T + 60_000 })]);
    const second = await listEvents(source, 'acme', { limit: 10, cursor: first.next_cursor ?? '' });
    expect(second.events.map((e) => e.event_id)).toEqual(expected.slice(10, 20));
  });

  test('the last page has next_cursor null; an exact fit has no empty extra page', async () => {
    await source.add([makeEvent({ timestamp: T }), makeEvent({ timestamp: T + 1 })]);
    expect(await allPages({ limit: 2 })).toHaveLength(1);
    expect((await listEvents(source, 'acme', { limit: 5 })).next_cursor).toBeNull();
  });

  test('filters by name, user, session, source, path and time; other tenants never show', async () => {
    await source.add([
      makeEvent({
        timestamp: T,
        name: 'signup',
        user_id: 'u1',
        session_id: 's1',
        source: 'web',
        path: '/a',
      }),
      makeEvent({ timestamp: T + 1000, name: 'signup', user_id: 'u2', source: 'ios' }),
      makeEvent({ timestamp: T + 2000, user_id: 'u1', session_id: 's1', path: '/a', is_bot: true }),
      makeEvent({ timestamp: T, tenant: 'globex', name: 'signup', user_id: 'u1' }),
    ]);
    const count = async (options: Partial<ListEventsOptions>) =>
      (await listEvents(source, 'acme', { limit: 100, ...options })).events.length;
    expect(await count({})).toBe(3);
    expect(await count({ name: 'signup' })).toBe(2);
    expect(await count({ user_id: 'u1' })).toBe(2);
    expect(await count({ session_id: 's1', path: '/a' })).toBe(2);
    expect(await count({ source: 'ios' })).toBe(1);
    expect(await count({ fromMs: T + 1000, toMs: T + 2000 })).toBe(1);
    expect((await listEvents(source, 'globex', { limit: 100 })).events).toHaveLength(1);
  });

  test('an id stored twice (sent again after its dedup window) reads as its last copy', async () => {
    const DAY = 86_400_000;
    const copy = (received: number, name: string) =>
      makeEvent({ event_id: 'twice', timestamp: T, received_at: received, name });
    // Each order of arrival, in the hot tier and in segments (read in no set order).
    await source.add([copy(T + 8 * DAY, 'second'), copy(T, 'first')]);
    expect((await getEvent(source, 'acme', 'twice'))?.name).toBe('second');
    await source.flush();
    await source.add([copy(T + 20 * DAY, 'third')]);
    expect((await getEvent(source, 'acme', 'twice'))?.name).toBe('third');
    await source.flush();
    for (let i = 0; i < 5; i++)
      expect((await getEvent(source, 'acme', 'twice'))?.name).toBe('third');
  });

  test('a metric id stored twice reads as its last copy: none when that one has no value', async () => {
    const DAY = 86_400_000;
    const copy = (received: number, value: number | null) =>
      makeEvent({ event_id: 'm', timestamp: T, received_at: received, name: 'cpu', value });
    await source.add([copy(T, 0.5)]);
    await source.flush();
    await source.add([copy(T + 8 * DAY, 0.7)]);
    expect((await getMetric(source, 'acme', 'm'))?.value).toBe(0.7);
    // Sent again without a value: /events/{id} shows that copy, so it is no metric point now.
    await source.add([copy(T + 20 * DAY, null)]);
    expect((await getEvent(source, 'acme', 'm'))?.value).toBeNull();
    expect(await getMetric(source, 'acme', 'm')).toBeNull();
  });

  test('events are presented like presentEvent, derived fields included, seq left out', async () => {
    const event = makeEvent({
      event_id: 'shown',
      timestamp: T,
      received_at: T + 5,
      user_id: 'u1',
      path: '/p',
      duration: 1.5,
      properties: { plan: 'pro', nested: { n: [1, 2] } },
    });
    await source.add([event]);
    await source.flush();
    const [shown] = (await listEvents(source, 'acme', { limit: 1 })).events;
    expect(shown).toEqual({
      ...event,
      timestamp: '2026-04-01T12:00:00.000Z',
      received_at: '2026-04-01T12:00:00.005Z',
    });
    expect(await getEvent(source, 'acme', 'shown')).toEqual(shown as Record<string, unknown>);
    expect(await getEvent(source, 'globex', 'shown')).toBeNull();
    expect(await getEvent(source, 'acme', 'missing')).toBeNull();
  });

  test('pages read newest window first, whatever the windows cut: seeded, any range', async () => {
    const random = seededRandom(20261127);
    const HOUR = 3_600_000;
    // Events at every distance from now a window may hold: minutes to decades, a few after now,
    // ties on window edges; some flushed, some of another name.
    const offsets = [0, 1, HOUR, HOUR + 1, 8 * HOUR, 64 * HOUR, 512 * HOUR, 40 * 8760 * HOUR];
    const events = Array.from({ length: 120 }, (_, i) => {
      const offset =
        i < offsets.length * 2
          ? (offsets[i % offsets.length] as number)
          : Math.floor(random() ** 4 * 30 * 8760 * HOUR) - (i % 17 === 0 ? 5 * HOUR : 0);
      const name = i % 3 === 0 ? 'signup' : 'page_view';
      return makeEvent({ event_id: `e${String(i).padStart(3, '0')}`, timestamp: T - offset, name });
    });
    await source.add(events.slice(0, 70));
    await source.flush();
    await source.add(events.slice(70));
    for (let round = 0; round < 12; round++) {
      const limit = 1 + Math.floor(random() * 30);
      const fromMs = round % 3 === 0 ? undefined : T - Math.floor(random() * 600 * HOUR);
      const toMs = round % 4 === 0 ? undefined : T - Math.floor(random() * 10 * HOUR);
      const name = round % 5 === 1 ? 'signup' : undefined;
      const expected = idsInOrder(events, { fromMs, toMs, name }, 'newest first');
      const pages = await allPages({ limit, fromMs, toMs, name, nowMs: T });
      expect({ round, ids: pages.flat() }).toEqual({ round, ids: expected });
      expect(pages.slice(0, -1).every((p) => p.length === limit)).toBe(true);
    }
  });

  test("a first page held by the newest hour reads only that hour's segments", async () => {
    await source.add([
      makeEvent({ event_id: 'new', timestamp: T - 60_000 }),
      makeEvent({ event_id: 'newer', timestamp: T - 1000 }),
      makeEvent({ event_id: 'old', timestamp: T - 90 * 86_400_000 }),
    ]);
    source.withinRanges.length = 0;
    const page = await listEvents(source, 'acme', { limit: 1, nowMs: T });
    expect(page.events.map((e) => e.event_id)).toEqual(['newer']);
    expect(source.withinRanges).toEqual([{ fromMs: T - 3_600_000, toMs: undefined }]);
    // The next page starts at its cursor: the hour below it first.
    source.withinRanges.length = 0;
    const next = await listEvents(source, 'acme', {
      limit: 1,
      nowMs: T,
      cursor: page.next_cursor ?? '',
    });
    // (It then looks further back for one more, to know whether a third page exists.)
    expect(next.events.map((e) => e.event_id)).toEqual(['new']);
    expect(source.withinRanges[0]).toEqual({ fromMs: T - 1000 + 1 - 3_600_000, toMs: undefined });
    // Reaching the old event takes the windows down to it, each once, newest first.
    source.withinRanges.length = 0;
    const all = await listEvents(source, 'acme', { limit: 5, nowMs: T });
    expect(all.events.map((e) => e.event_id)).toEqual(['newer', 'new', 'old']);
    const lows = source.withinRanges.map((r) => r.fromMs ?? Number.NEGATIVE_INFINITY);
    expect(lows).toEqual([...lows].sort((a, b) => b - a));
    expect(source.withinRanges.length).toBeGreaterThan(4);
  });

  test("fields come back exactly through the row's JSON text: any double, any string", async () => {
    const random = seededRandom(7);
    const bits = new Float64Array(1);
    const words = new Uint32Array(bits.buffer);
    const doubles = [0.1 + 0.2, 5e-324, 1.7976931348623157e308, -1e292, 1 / 3, 2 ** 53 + 2];
    while (doubles.length < 200) {
      words[0] = random() * 2 ** 32;
      words[1] = random() * 2 ** 32;
      if (Number.isFinite(bits[0]) && Math.abs(bits[0] as number) <= 1e292)
        doubles.push(bits[0] as number);
    }
    const text = 'é\u2028"\\\n\t\u0001😀 </script>';
    const events = doubles.map((value, i) =>
      makeEvent({
        event_id: `d${String(i).padStart(3, '0')}`,
        timestamp: T + i,
        value,
        duration: Math.abs(value),
        path: `/${text}`,
        user_agent: text,
        properties: { text, n: value, big: '12345678901234567890123' },
      }),
    );
    await source.add(events.slice(0, 100));
    await source.flush();
    await source.add(events.slice(100));
    const pages = await listEvents(source, 'acme', { limit: 1000 });
    const byId = new Map(pages.events.map((e) => [e.event_id, e]));
    for (const event of events) {
      const shown = byId.get(event.event_id);
      expect(shown?.value).toBe(event.value);
      expect(shown?.duration).toBe(event.duration);
      expect(shown?.path).toBe(event.path);
      expect(shown?.user_agent).toBe(text);
      expect(shown?.properties).toEqual(event.properties);
    }
  });

  test('two events of one id and time (sent again after the dedup window) both come, across a page edge', async () => {
    const week = 8 * 86_400_000;
    await source.add([
      makeEvent({ event_id: 'twice', timestamp: T, received_at: T + week, name: 'again' }),
      makeEvent({ event_id: 'twice', timestamp: T, received_at: T }),
      makeEvent({ event_id: 'older', timestamp: T - 1 }),
    ]);
    for (const limit of [1, 2, 3]) {
      expect((await allPages({ limit })).flat()).toEqual(['twice', 'twice', 'older']);
    }
    // Received first, first: the page order is total.
    const names = (await listEvents(source, 'acme', { limit: 1 })).events.map((e) => e.name);
    expect(names).toEqual(['page_view']);
    // A cursor of the pair alone (handed out before receipts were in it) goes on after both.
    const pair = Buffer.from(JSON.stringify([String(T * 1000), 'twice'])).toString('base64url');
    const after = await listEvents(source, 'acme', { limit: 5, cursor: pair });
    expect(after.events.map((e) => e.event_id)).toEqual(['older']);
  });

  test('a cursor that is not ours is a 422 on cursor', async () => {
    const bad = [
      '["x","y"]',
      '["1","y","x"]',
      '["1","y","1","1"]',
      `["1","y","${-62_167_219_200_001_000n}"]`,
    ].map((json) => Buffer.from(json).toString('base64url'));
    for (const cursor of ['nope', ...bad, '']) {
      const run = listEvents(source, 'acme', { limit: 5, cursor });
      await expect(run).rejects.toBeInstanceOf(AppError);
      await expect(run).rejects.toMatchObject({
        status: 422,
        issues: [{ loc: ['query', 'cursor'], type: 'value_error' }],
      });
    }
  });
});

describe('metrics', () => {
  async function addMetrics() {
    await source.add([
      makeEvent({
        event_id: 'm1',
        timestamp: T,
        name: 'cpu',
        value: 0.5,
        properties: { host: 'a' },
      }),
      makeEvent({ event_id: 'm2', timestamp: T + 60_000, name: 'cpu', value: 1.5 }),
      makeEvent({ event_id: 'm3', timestamp: T + 3_600_000, name: 'cpu', value: 4 }),
      makeEvent({ event_id: 'm4', timestamp: T, name: 'mem', value: 100 }),
      makeEvent({ event_id: 'pv', timestamp: T, name: 'cpu' }),
    ]);
  }

  test('a metric point is an event with a value; tags are its properties', async () => {
    await addMetrics();
    const list = await listMetrics(source, 'acme', { name: 'cpu', limit: 2 });
    expect(list.metrics.map((m) => m.id)).toEqual(['m3', 'm2']);
    const rest = await listMetrics(source, 'acme', {
      name: 'cpu',
      limit: 2,
      cursor: list.next_cursor ?? '',
    });
    expect(rest).toEqual({
      metrics: [
        {
          id: 'm1',
          name: 'cpu',
          value: 0.5,
          timestamp: '2026-04-01T12:00:00.000Z',
          received_at: '2026-04-01T12:00:00.000Z',
          tags: { host: 'a' },
          source: null,
        },
      ],
      next_cursor: null,
    });
    expect((await listMetrics(source, 'acme', { limit: 10 })).metrics).toHaveLength(4);
    expect(await getMetric(source, 'acme', 'm4')).toMatchObject({
      name: 'mem',
      value: 100,
      tags: {},
    });
    expect(await getMetric(source, 'acme', 'pv')).toBeNull();
  });

  test('aggregates count, sum, avg, min, max, p50 and p95 per bucket', async () => {
    await addMetrics();
    const buckets = await aggregateMetric(source, 'acme', 'cpu', {
      bucket: 'hour',
      tz: 'Europe/Berlin',
      fromMs: T - 3_600_000,
      toMs: T + 2 * 3_600_000,
    });
    expect(buckets).toEqual([
      {
        bucket: '2026-04-01T14:00:00+02:00',
        count: 2,
        sum: 2,
        avg: 1,
        min: 0.5,
        max: 1.5,
        p50: 1,
        p95: expect.closeTo(1.45, 9),
      },
      {
        bucket: '2026-04-01T15:00:00+02:00',
        count: 1,
        sum: 4,
        avg: 4,
        min: 4,
        max: 4,
        p50: 4,
        p95: 4,
      },
    ]);
  });
});
