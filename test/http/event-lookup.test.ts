// A lookup by id (GET /api/v1/events/{id}, /api/v1/metrics/{id}) opens only the segments holding
// events received since the dedup index's generation of the id, when the index holds it; every
// segment otherwise (an id it forgot, or never stored). The answer is the same either way.

import { afterEach, expect, test } from 'bun:test';
import type { EventSnapshot } from '../../src/storage/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';

const HOUR = 3_600_000;

let t: TestApp | undefined;
afterEach(() => t?.close());

/** The segment files each snapshot taken from now on could read (its `allFrom`). */
function watchSnapshots(app: TestApp): string[] {
  const seen: string[] = [];
  const { store } = app.engine;
  const snapshot = store.snapshot.bind(store);
  store.snapshot = async (...args: Parameters<typeof snapshot>): Promise<EventSnapshot> => {
    const taken = await snapshot(...args);
    seen.push(taken.allFrom);
    return taken;
  };
  return seen;
}

async function sendAndFlush(app: TestApp, event: Record<string, unknown>): Promise<string> {
  expect((await app.post('/api/v1/events', event)).status).toBe(202);
  // A new actor's rebuild reads the store after its 202 (its second snapshot, of every
  // segment, after its first read): done here, so that the snapshots watched are the lookups'.
  await app.engine.registry.peek('default')?.whenReady();
  await app.engine.store.flusher.flush();
  const files = app.engine.store.catalog.segmentsOf('default').map((s) => s.file);
  return files[files.length - 1] as string;
}

test('an event received recently is looked up in the segments received since, not in all', async () => {
  // Generations of an hour (a window of 8 h): the index knows each id's receipt to the hour.
  t = await makeTestApp({ dedupWindowMs: 8 * HOUR });
  const app = t;
  const older = await sendAndFlush(app, { event_id: 'old', name: 'a', timestamp: T0 - 86_400_000 });
  app.clock.advance(3 * HOUR);
  const newer = await sendAndFlush(app, { event_id: 'new', name: 'b', value: 2 });
  expect(older).not.toBe(newer);
  const seen = watchSnapshots(app);

  const found = await app.get('/api/v1/events/new');
  expect([found.status, ((await found.json()) as { name: string }).name]).toEqual([200, 'b']);
  expect(seen[0]).toContain(newer);
  expect(seen[0]).not.toContain(older); // received 3 h before its generation began
  const metric = await app.get('/api/v1/metrics/new');
  expect([metric.status, ((await metric.json()) as { value: number }).value]).toEqual([200, 2]);
  expect(seen[1]).not.toContain(older);

  // Received in an older generation: its segment is opened (and the newer ones).
  expect((await app.get('/api/v1/events/old')).status).toBe(200);
  expect(seen[2]).toContain(older);
  // An id the index does not hold: every segment.
  expect((await app.get('/api/v1/events/nowhere')).status).toBe(404);
  expect(seen[3]).toContain(older);
  expect(seen[3]).toContain(newer);
});

test('an id the index forgot is still found, and one stored twice shows its copy received last', async () => {
  t = await makeTestApp({ dedupWindowMs: 8 * HOUR });
  const app = t;
  await sendAndFlush(app, { event_id: 'twice', name: 'first', value: 1 });
  await sendAndFlush(app, { event_id: 'once', name: 'kept' });
  app.clock.advance(10 * HOUR);
  app.engine.dedup.expire(app.clock.now()); // as the background timer does
  expect(app.engine.dedup.receivedSince('default', 'once')).toBeNull();
  const once = await app.get('/api/v1/events/once');
  expect([once.status, ((await once.json()) as { name: string }).name]).toEqual([200, 'kept']);

  expect((await app.get('/api/v1/metrics/twice')).status).toBe(200);
  // Forgotten, the id is taken again: the newer copy is the one shown.
  await sendAndFlush(app, { event_id: 'twice', name: 'second' });
  expect(app.engine.dedup.receivedSince('default', 'twice')).toBeGreaterThan(T0);
  const twice = await app.get('/api/v1/events/twice');
  expect([twice.status, ((await twice.json()) as { name: string }).name]).toEqual([200, 'second']);
  // The copy shown has no value: no metric point, though the first copy was one (README).
  expect((await app.get('/api/v1/metrics/twice')).status).toBe(404);
});
