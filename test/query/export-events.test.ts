// The pages of an export (query/queries/export-events.ts): the total order (timestamp, event_id,
// received_at) across pages, each event exactly once while flushes and a compaction move events
// between pages, the events received by the first page and no later ones, the filters (bots
// always in), a stop once the client goes away, and a page that waits out a full read queue.

import { afterEach, describe, expect, test } from 'bun:test';
import { DEFAULT_TENANT } from '../../src/core/index.ts';
import {
  EXPORT_COLUMNS,
  type ExportOptions,
  exportEventPages,
  type PageBounds,
  queryLimits,
} from '../../src/query/index.ts';
import { readsWaiting, withSnapshot } from '../../src/query/read.ts';
import type { EventSource } from '../../src/storage/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { rowsOnly } from '../helpers/export-pages.ts';
import { idsInOrder } from '../helpers/list-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

type Exported = Record<string, unknown>;

/** Every page of an export, as lists of event ids. */
async function pagesOf(
  source: EventSource,
  tenant: string,
  options: ExportOptions,
  pageRows: number,
): Promise<string[][]> {
  const pages: string[][] = [];
  for await (const page of exportEventPages(
    source,
    tenant,
    options,
    undefined,
    rowsOnly(pageRows),
  )) {
    pages.push(page.map((e) => String(e.event_id)));
  }
  return pages;
}

let t: TestApp | undefined;
let memory: MemorySource | undefined;
afterEach(async () => {
  await t?.close();
  memory?.close();
  t = undefined;
  memory = undefined;
});

const MINUTE = 60_000;

describe('the pages of an export, on the real store', () => {
  test('follow (timestamp, event_id) across pages, each event once, as flushes and a compaction run', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
    const { store } = t.engine;
    // Three batches in no order of time, two flushed to segments and one left unflushed;
    // timestamps repeat, so event_id decides within one millisecond.
    const sent: { event_id: string; timestamp: number }[] = [];
    for (const batch of [0, 1, 2]) {
      const events = Array.from({ length: 9 }, (_, i) => ({
        event_id: `b${batch}-${String(i).padStart(2, '0')}`,
        name: 'click',
        timestamp: T0 - ((i * 7 + batch * 3) % 12) * MINUTE,
      }));
      sent.push(...events);
      const res = await t.post('/api/v1/events/batch', { events });
      expect(res.status).toBe(202);
      if (batch < 2) await store.flusher.flush();
    }
    const expected = [...sent]
      .sort((a, b) => a.timestamp - b.timestamp || (a.event_id < b.event_id ? -1 : 1))
      .map((e) => e.event_id);

    const pages = exportEventPages(store, DEFAULT_TENANT, {}, undefined, rowsOnly(5));
    const seen: Exported[] = [];
    const first = await pages.next();
    seen.push(...(first.value ?? []));
    // Between pages: the unflushed batch is flushed, and events arrive later (received after
    // the export began), some sorting after the key reached.
    await store.flusher.flush();
    t.clock.advance(1000);
    const late = [{ event_id: 'late-1', name: 'click', timestamp: T0 }];
    expect((await t.post('/api/v1/events/batch', { events: late })).status).toBe(202);
    seen.push(...((await pages.next()).value ?? []));
    // And the day's segments are merged into one.
    expect(await store.compactor.compact()).toBeGreaterThan(0);
    for await (const page of pages) seen.push(...page);

    expect(seen.map((e) => e.event_id)).toEqual(expected);
    expect(Object.keys(seen[0] ?? {})).toEqual([...EXPORT_COLUMNS]);
    // The late event is stored and in the next export.
    const again = (await pagesOf(store, DEFAULT_TENANT, {}, 100)).flat();
    expect(again).toHaveLength(expected.length + 1);
    expect(again).toContain('late-1');
  });

  test('events acknowledged before the export began are in it, flushed or not', async () => {
    t = await makeTestApp();
    const events = (prefix: string) =>
      Array.from({ length: 4 }, (_, i) => ({ event_id: `${prefix}${i}`, name: 'view' }));
    expect((await t.post('/api/v1/events/batch', { events: events('f') })).status).toBe(202);
    await t.engine.store.flusher.flush();
    expect((await t.post('/api/v1/events/batch', { events: events('h') })).status).toBe(202);
    const ids = (await pagesOf(t.engine.store, DEFAULT_TENANT, {}, 3)).flat();
    expect(ids.sort()).toEqual(['f0', 'f1', 'f2', 'f3', 'h0', 'h1', 'h2', 'h3']);
  });
});

describe('events acknowledged while an export runs', () => {
  test('one received by the bound (the same millisecond) comes only if it sorts after the pages read', async () => {
    t = await makeTestApp();
    const { store } = t.engine;
    const at = (minutes: number) => T0 - minutes * MINUTE;
    const event = (id: string, minutes: number) => ({
      event_id: id,
      name: 'v',
      timestamp: at(minutes),
    });
    const first = [event('a', 5), event('b', 4), event('c', 3), event('d', 2)];
    expect((await t.post('/api/v1/events/batch', { events: first })).status).toBe(202);
    const pages = exportEventPages(store, DEFAULT_TENANT, {}, undefined, rowsOnly(2));
    const seen = ((await pages.next()).value ?? []).map((e) => String(e.event_id));
    expect(seen).toEqual(['a', 'b']);
    // Received in the millisecond of the bound (the clock did not move): one sorts before the
    // key reached, one after; the clock set back gives the same.
    const late = [event('before', 6), event('after', 1)];
    expect((await t.post('/api/v1/events/batch', { events: late })).status).toBe(202);
    t.clock.advance(-60_000);
    const setBack = [event('set-back', 0)];
    expect((await t.post('/api/v1/events/batch', { events: setBack })).status).toBe(202);
    t.clock.advance(120_000);
    const later = [event('later', 0)];
    expect((await t.post('/api/v1/events/batch', { events: later })).status).toBe(202);
    for await (const page of pages) seen.push(...page.map((e) => String(e.event_id)));
    expect(seen).toEqual(['a', 'b', 'c', 'd', 'after', 'set-back']);
  });
});

describe('the pages of an export, over a memory source', () => {
  test('two events of one id and timestamp both come, on either side of a page boundary', async () => {
    memory = await createMemorySource();
    // The same event sent again after its dedup window: one id, one timestamp, two receipts.
    await memory.add([
      makeEvent({ event_id: 'twice', timestamp: T0, received_at: T0 + 8 * 86_400_000 }),
      makeEvent({ event_id: 'zz-after', timestamp: T0 }),
      makeEvent({ event_id: 'twice', timestamp: T0, received_at: T0 }),
    ]);
    const pages = await pagesOf(memory, 'acme', {}, 1);
    expect(pages).toEqual([['twice'], ['twice'], ['zz-after']]);
  });

  test('a page exactly full ends the export with an empty read, no empty page', async () => {
    memory = await createMemorySource();
    await memory.add([0, 1, 2, 3].map((i) => makeEvent({ timestamp: T0 + i })));
    expect((await pagesOf(memory, 'acme', {}, 2)).map((p) => p.length)).toEqual([2, 2]);
    expect(await pagesOf(memory, 'nobody', {}, 2)).toEqual([]);
  });

  test('by default a page is up to exportPageRows events, more than an event list', async () => {
    memory = await createMemorySource();
    const count = 2500;
    await memory.add(Array.from({ length: count }, (_, i) => makeEvent({ timestamp: T0 + i })));
    const sizes: number[] = [];
    for await (const page of exportEventPages(memory, 'acme', {})) sizes.push(page.length);
    expect(queryLimits.exportPageRows).toBeGreaterThan(count);
    expect(sizes).toEqual([count]);
  });

  test('a page ends at its bytes: with the event that reaches them, and never empty', async () => {
    memory = await createMemorySource();
    // Events whose JSON texts are all one length (ids, names and padding of one length),
    // 30 ms apart so that a page's bytes run out inside one window and across windows.
    const events = Array.from({ length: 60 }, (_, i) =>
      makeEvent({
        event_id: `e${String(i).padStart(2, '0')}`,
        timestamp: T0 + i * 30,
        properties: { pad: 'x'.repeat(1000) },
      }),
    );
    await memory.add(events);
    const ids = events.map((e) => e.event_id);
    const pages = async (bounds: PageBounds) => {
      const out: string[][] = [];
      for await (const page of exportEventPages(
        memory as MemorySource,
        'acme',
        {},
        undefined,
        bounds,
      )) {
        out.push(page.map((e) => String(e.event_id)));
      }
      expect(out.flat()).toEqual(ids);
      return out.map((page) => page.length);
    };
    // Fewer bytes than one event: one event a page.
    expect(await pages({ rows: 100, bytes: 1 })).toEqual(Array.from({ length: 60 }, () => 1));
    // Each event ~1.3 KB: a page of 5,000 bytes holds the 4 that start below them.
    const small = await pages({ rows: 100, bytes: 5000 });
    expect(new Set(small.slice(0, -1))).toEqual(new Set([4]));
    // Twice the bytes, about twice the events; the rows still bound a page.
    const [twice] = await pages({ rows: 100, bytes: 10_000 });
    expect(twice).toBeGreaterThanOrEqual(7);
    expect(twice).toBeLessThanOrEqual(8);
    expect(await pages({ rows: 3, bytes: 10_000 })).toEqual(Array.from({ length: 20 }, () => 3));
  });

  test('an event larger than a page’s bytes ends the page whose bytes it reaches', async () => {
    memory = await createMemorySource();
    const sizes = [10, 10, 6000, 10, 10, 10];
    await memory.add(
      sizes.map((size, i) =>
        makeEvent({ event_id: `s${i}`, timestamp: T0 + i, properties: { pad: 'y'.repeat(size) } }),
      ),
    );
    const out: string[][] = [];
    const bounds = { rows: 100, bytes: 2000 };
    for await (const page of exportEventPages(memory, 'acme', {}, undefined, bounds)) {
      out.push(page.map((e) => String(e.event_id)));
    }
    // The large one reaches the bytes of the page it ends; the next page starts after it.
    expect(out).toEqual([
      ['s0', 's1', 's2'],
      ['s3', 's4', 's5'],
    ]);
  });

  test('a page’s bytes bound what DuckDB holds, not only what the page holds', async () => {
    memory = await createMemorySource();
    // 3,000 events of ~30 KB (90 MB of JSON), in segments: the default pages (20,000 rows,
    // 8 MiB) held the texts of every row a window's first 20,000 could be, sorted, to cut
    // them by bytes after, and needed over 192 MB; kept to their keys and sizes, under 128 MB.
    const pad = 'z'.repeat(15_000);
    for (let batch = 0; batch < 6; batch += 1) {
      await memory.add(
        Array.from({ length: 500 }, (_, i) =>
          makeEvent({
            event_id: `e${String(batch * 500 + i).padStart(4, '0')}`,
            timestamp: T0 + batch * 500 + i,
            properties: { pad, more: pad },
          }),
        ),
      );
      await memory.flush();
    }
    const spill = makeTempDir('tally-spill-');
    const c = await memory.instance.connect();
    try {
      await c.run("SET memory_limit = '192MB'");
      await c.run('SET threads = 1');
      await c.run(`SET temp_directory = '${spill.dir}'`);
    } finally {
      c.closeSync();
    }
    const sizes: number[] = [];
    let next = 0;
    try {
      for await (const page of exportEventPages(memory, 'acme', {})) {
        sizes.push(page.length);
        for (const event of page) {
          expect(event.event_id).toBe(`e${String(next).padStart(4, '0')}`);
          next += 1;
        }
      }
    } finally {
      spill.remove();
    }
    expect(next).toBe(3000);
    // Pages of 8 MiB: 279 events of ~30 KB each, the last page the rest.
    expect(sizes.length).toBe(11);
  });

  test('each page reads the time just after its key first, in windows as long as the last page took', async () => {
    const source = await createMemorySource();
    memory = source;
    const HOUR = 3_600_000;
    // Four events a second apart, then one a year later.
    await source.add([
      ...[0, 1, 2, 3].map((i) => makeEvent({ event_id: `s${i}`, timestamp: T0 + i * 1000 })),
      makeEvent({ event_id: 'later', timestamp: T0 + 8760 * HOUR }),
    ]);
    source.withinRanges.length = 0;
    const pages = await pagesOf(source, 'acme', {}, 2);
    expect(pages).toEqual([['s0', 's1'], ['s2', 's3'], ['later']]);
    // A window that holds events is read twice (their keys and sizes, then their texts).
    const windows = source.withinRanges.filter(
      (r, i, all) => i === 0 || JSON.stringify(r) !== JSON.stringify(all[i - 1]),
    );
    const [first, second, ...rest] = windows;
    // The first page: an hour from the first event, which holds it.
    expect(first).toEqual({ fromMs: T0, toMs: T0 + HOUR });
    // The second: from its key, twice the 1 s the first page spanned.
    expect(second).toEqual({ fromMs: T0 + 1000, toMs: T0 + 3000 });
    // The third goes through wider windows up to the year-later event, each once, in order.
    const lows = rest.map((r) => r.fromMs ?? 0);
    expect(lows).toEqual([...lows].sort((a, b) => a - b));
    expect(rest.at(-1)?.toMs).toBeUndefined();
  });

  test('a page whose events share one instant is followed by a window of a second', async () => {
    // README: windows twice as long as the page before spanned, at least 1 s.
    const source = await createMemorySource();
    memory = source;
    await source.add(
      ['s0', 's1', 's2', 's3'].map((id) => makeEvent({ event_id: id, timestamp: T0 })),
    );
    source.withinRanges.length = 0;
    expect(await pagesOf(source, 'acme', {}, 2)).toEqual([
      ['s0', 's1'],
      ['s2', 's3'],
    ]);
    const second = source.withinRanges.find((r) => r.fromMs === T0 && r.toMs !== T0 + 3_600_000);
    expect(second).toEqual({ fromMs: T0, toMs: T0 + 1000 });
  });

  test('the pages of any range are its events in order, wherever the windows cut: seeded', async () => {
    const source = await createMemorySource();
    memory = source;
    const random = seededRandom(11_27);
    const HOUR = 3_600_000;
    const events = Array.from({ length: 150 }, (_, i) =>
      makeEvent({
        event_id: `e${String(i).padStart(3, '0')}`,
        // Bursts of one instant, minutes, and years apart.
        timestamp: T0 + (i % 10 === 0 ? 0 : Math.floor(random() ** 3 * 20 * 8760 * HOUR)),
        name: i % 4 === 0 ? 'tap' : 'page_view',
      }),
    );
    await source.add(events.slice(0, 90));
    await source.flush();
    await source.add(events.slice(90));
    for (let round = 0; round < 10; round++) {
      const pageRows = 1 + Math.floor(random() * 25);
      const fromMs = round % 3 === 0 ? undefined : T0 + Math.floor(random() * 100 * HOUR);
      const toMs = round % 4 === 0 ? undefined : T0 + Math.floor(random() * 5 * 8760 * HOUR);
      const name = round % 5 === 2 ? 'tap' : undefined;
      const expected = idsInOrder(events, { fromMs, toMs, name }, 'oldest first');
      const pages = await pagesOf(source, 'acme', { fromMs, toMs, name }, pageRows);
      expect({ round, ids: pages.flat() }).toEqual({ round, ids: expected });
      expect(pages.slice(0, -1).every((p) => p.length === pageRows)).toBe(true);
    }
  });

  test('filters as the event list, bots always in, the range half-open', async () => {
    const source = await createMemorySource();
    memory = source;
    await source.add([
      makeEvent({ event_id: 'bot', timestamp: T0, is_bot: true, device: 'bot' }),
      makeEvent({ event_id: 'u1', timestamp: T0 + 1, user_id: 'u1', session_id: 's1' }),
      makeEvent({ event_id: 'pro', timestamp: T0 + 2, properties: { plan: 'pro' } }),
      makeEvent({ event_id: 'ios', timestamp: T0 + 3, source: 'ios', path: '/p', name: 'tap' }),
      makeEvent({ event_id: 'de', timestamp: T0 + 4, country: 'DE' }),
      makeEvent({ event_id: 'other', timestamp: T0 + 5, tenant: 'globex' }),
    ]);
    const ids = async (options: ExportOptions) =>
      (await pagesOf(source, 'acme', options, 2)).flat();
    expect(await ids({})).toEqual(['bot', 'u1', 'pro', 'ios', 'de']);
    expect(await ids({ user_id: 'u1' })).toEqual(['u1']);
    expect(await ids({ session_id: 's1' })).toEqual(['u1']);
    expect(await ids({ name: 'tap' })).toEqual(['ios']);
    expect(await ids({ source: 'ios', path: '/p' })).toEqual(['ios']);
    expect(await ids({ country: 'de' })).toEqual(['de']);
    expect(await ids({ properties: { plan: 'pro' } })).toEqual(['pro']);
    expect(await ids({ fromMs: T0 + 1, toMs: T0 + 3 })).toEqual(['u1', 'pro']);
  });

  test('stops, and takes no further snapshot, once its client goes away', async () => {
    memory = await createMemorySource();
    await memory.add([0, 1, 2, 3, 4].map((i) => makeEvent({ timestamp: T0 + i })));
    let snapshots = 0;
    const source = memory;
    const counting: EventSource = {
      snapshot: (tenant, range) => {
        snapshots++;
        return source.snapshot(tenant, range);
      },
    };
    const client = new AbortController();
    const pages = exportEventPages(counting, 'acme', {}, client.signal, rowsOnly(2));
    expect((await pages.next()).value).toHaveLength(2);
    client.abort();
    const taken = snapshots;
    await expect(pages.next()).rejects.toMatchObject({ code: 'client_closed' });
    await Bun.sleep(20);
    expect(snapshots).toBe(taken);
    expect(memory.openSnapshots).toBe(0);
  });

  test('a later page waits while the tenant’s reads and their queue are full, then goes on', async () => {
    const source = await createMemorySource();
    memory = source;
    await source.add([0, 1, 2].map((i) => makeEvent({ timestamp: T0 + i })));
    const pages = exportEventPages(source, 'acme', {}, undefined, rowsOnly(2));
    expect((await pages.next()).value).toHaveLength(2);
    // Every place of the tenant's reads held, and every place in its queue taken.
    let release: () => void = () => undefined;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const places = queryLimits.tenantReadsRunningMax + queryLimits.tenantReadsWaitingMax;
    const held = Array.from({ length: places }, () =>
      withSnapshot(source, 'acme', {}, undefined, () => released),
    );
    while (readsWaiting(source, 'acme') < queryLimits.tenantReadsWaitingMax) await Bun.sleep(1);
    let settled = false;
    const next = pages.next().finally(() => {
      settled = true;
    });
    await Bun.sleep(queryLimits.exportPageRetryMs * 2);
    expect(settled).toBe(false);
    release();
    await Promise.all(held);
    expect((await next).value).toHaveLength(1);
    expect((await pages.next()).done).toBe(true);
  });
});
