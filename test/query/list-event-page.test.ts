// The offset-paged event list of seed 002 (query/queries/list-event-page.ts): pages of the
// filtered events in (timestamp, event_id) order with their total, read in windows from the
// first event on, the windows before a page only counted.

import { afterEach, beforeEach, describe, expect, test } from 'bun:test';
import { listEventPage } from '../../src/query/index.ts';
import { idsInOrder } from '../helpers/list-oracle.ts';
import { createMemorySource, type MemorySource, makeEvent } from '../helpers/memory-source.ts';
import { seededRandom } from '../helpers/random.ts';

const T = Date.parse('2026-04-01T12:00:00Z');
const HOUR = 3_600_000;

let source: MemorySource;
beforeEach(async () => {
  source = await createMemorySource();
});
afterEach(() => {
  expect(source.openSnapshots).toBe(0);
  source.close();
});

describe('listEventPage', () => {
  test('every page of any range and filter is its slice of the sorted events: seeded', async () => {
    const random = seededRandom(2026_11_27);
    const events = Array.from({ length: 160 }, (_, i) =>
      makeEvent({
        event_id: `e${String(159 - i).padStart(3, '0')}`,
        // Ties in one instant, minutes and years apart, before 1970 too.
        timestamp: i % 9 === 0 ? T : T + Math.floor((random() - 0.1) ** 3 * 40 * 8760 * HOUR),
        name: i % 3 === 0 ? 'signup' : 'page_view',
        source: i % 2 === 0 ? 'web' : 'ios',
      }),
    );
    await source.add(events.slice(0, 100));
    await source.flush();
    await source.add(events.slice(100));
    for (let round = 0; round < 12; round++) {
      const pageSize = 1 + Math.floor(random() * 30);
      const fromMs = round % 3 === 0 ? undefined : T - Math.floor(random() * 8760 * HOUR);
      const toMs = round % 4 === 0 ? undefined : T + Math.floor(random() * 20 * 8760 * HOUR);
      const name = round % 5 === 1 ? 'signup' : undefined;
      const expected = idsInOrder(events, { fromMs, toMs, name }, 'oldest first');
      const pages = Math.ceil(expected.length / pageSize) + 1;
      for (let page = 1; page <= pages; page++) {
        const got = await listEventPage(source, 'acme', { fromMs, toMs, name, page, pageSize });
        expect({ round, page, total: got.total }).toEqual({ round, page, total: expected.length });
        expect({ round, page, ids: got.items.map((e) => e.event_id) }).toEqual({
          round,
          page,
          ids: expected.slice((page - 1) * pageSize, page * pageSize),
        });
      }
    }
  });

  test('a deep page counts the windows before it and reads only its own', async () => {
    // One event an hour for 100 hours: page 90 of 1 is in the fourth window (64 h on).
    await source.add(
      Array.from({ length: 100 }, (_, i) =>
        makeEvent({ event_id: `h${String(i).padStart(3, '0')}`, timestamp: T + i * HOUR }),
      ),
    );
    source.withinRanges.length = 0;
    const page = await listEventPage(source, 'acme', { page: 90, pageSize: 1 });
    expect(page).toMatchObject({ total: 100, items: [{ event_id: 'h089' }] });
    expect(source.withinRanges).toEqual([
      { fromMs: T, toMs: T + HOUR },
      { fromMs: T + HOUR, toMs: T + 9 * HOUR },
      { fromMs: T + 9 * HOUR, toMs: T + 73 * HOUR },
      { fromMs: T + 73 * HOUR, toMs: T + 585 * HOUR },
    ]);
    // A page past the end reads nothing but the total.
    source.withinRanges.length = 0;
    expect(await listEventPage(source, 'acme', { page: 101, pageSize: 1 })).toEqual({
      items: [],
      total: 100,
    });
    expect(source.withinRanges).toEqual([]);
  });

  test('two events of one id and time are paged by their receipt, each on its own page', async () => {
    // The id sent again after its dedup window: the later receipt stored first.
    await source.add([
      makeEvent({ event_id: 'twice', timestamp: T, received_at: T + 8 * 86_400_000 }),
      makeEvent({ event_id: 'twice', timestamp: T, received_at: T }),
      makeEvent({ event_id: 'after', timestamp: T + 1 }),
    ]);
    const received: number[] = [];
    for (const page of [1, 2, 3]) {
      const read = await listEventPage(source, 'acme', { page, pageSize: 1 });
      expect(read.total).toBe(3);
      received.push(...read.items.map((e) => e.received_at));
    }
    expect(received).toEqual([T, T + 8 * 86_400_000, T + 1]);
  });
});
