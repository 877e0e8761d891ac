// The engine's side of an erasure: once it has ended, the tenant's live rollups are rebuilt
// from the store, so they count what the reads count.

import { afterEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';
import { holdDisk } from '../helpers/hold-disk.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

test('a failed erasure rebuilds the live rollups too: its unflushed events were cut', async () => {
  let failOnce = true;
  t = await makeTestApp({
    fault: (point) => {
      if (point !== 'erase:after-rename' || !failOnce) return;
      failOnce = false;
      throw new Error('disk I/O error (test)');
    },
  });
  const send = async (event: Record<string, unknown>) => {
    const res = await (t as TestApp).post('/api/v1/events', { tenant_id: 'acme', ...event });
    expect(res.status).toBe(202);
  };
  await send({ event_id: 'flushed', name: 'page_view', user_id: 'u1' });
  await send({ event_id: 'kept', name: 'page_view', user_id: 'u2' });
  await t.engine.store.flusher.flush(); // a segment to rewrite, whose rewrite fails
  await send({ event_id: 'hot', name: 'cpu', value: 9, user_id: 'u1' }); // cut at acceptance
  const actor = t.engine.registry.peek('acme');
  await actor?.whenReady();
  expect(actor?.rollups.latestMetric('cpu')?.value).toBe(9);

  const accepted = await t.engine.erasures.request('acme', 'user_id', 'u1');
  await t.engine.erasures.settled();
  expect(t.engine.erasures.get('acme', accepted.id)).toMatchObject({ status: 'failed' });

  // The reads no longer hold the point (the hot tier cut it): nor do the live counters.
  const rebuilt = t.engine.registry.actorFor('acme');
  await rebuilt?.whenReady();
  expect(rebuilt?.rollups.latestMetric('cpu')).toBeUndefined();
});

test('an erasure left to retry its log release rebuilds them at once: its segments are rewritten', async () => {
  let failFlush = false;
  t = await makeTestApp({
    fault: (point) => {
      if (point === 'flush:after-rename' && failFlush) throw new Error('disk I/O error (test)');
    },
  });
  const send = async (event: Record<string, unknown>) => {
    const res = await (t as TestApp).post('/api/v1/events', { tenant_id: 'acme', ...event });
    expect(res.status).toBe(202);
  };
  await send({ event_id: 'flushed', name: 'cpu', value: 7, user_id: 'u1' });
  await t.engine.store.flusher.flush(); // a segment to rewrite
  const actor = t.engine.registry.peek('acme');
  await actor?.whenReady();
  expect(actor?.rollups.latestMetric('cpu')?.value).toBe(7);
  await send({ event_id: 'kept', name: 'page_view', user_id: 'u2' }); // for the release to flush

  failFlush = true; // the release's flush fails: the erasure stays pending, with its reason
  const accepted = await t.engine.erasures.request('acme', 'user_id', 'u1');
  await t.engine.erasures.settled();
  const waiting = t.engine.erasures.get('acme', accepted.id);
  expect(waiting).toMatchObject({ status: 'pending', segmentsRewritten: 1 });
  expect(waiting.reason).toContain('disk I/O error (test)');

  // The reads no longer hold the point (its segment was rewritten): nor do the live counters.
  const rebuilt = t.engine.registry.actorFor('acme');
  await rebuilt?.whenReady();
  expect(rebuilt?.rollups.latestMetric('cpu')).toBeUndefined();
  failFlush = false;
});

test("a busy tenant's counters are rebuilt after an erasure, though its requests never pause", async () => {
  t = await makeTestApp();
  const app = t;
  const { registry } = app.engine;
  const event = (id: string, user: string, more: Record<string, unknown> = {}) =>
    app.post('/api/v1/events', {
      tenant_id: 'acme',
      event_id: id,
      name: 'x',
      user_id: user,
      ...more,
    });
  expect((await event('gone', 'u1', { name: 'cpu', value: 9 })).status).toBe(202);
  expect((await event('kept', 'u2')).status).toBe(202);
  const before = registry.peek('acme');
  // The erasure's end asks for the rebuild; it is passed on once a request is in flight, as
  // one always is for a tenant whose requests overlap every commit.
  const rebuild = registry.rebuild.bind(registry);
  let asked = '';
  registry.rebuild = (tenant) => {
    asked = tenant;
  };
  await app.engine.erasures.request('acme', 'user_id', 'u1');
  await app.engine.erasures.settled();
  expect(asked).toBe('acme');
  const openDisk = holdDisk(app); // the disk holds every commit until it is opened
  try {
    const first = event('first', 'u2');
    while ((before?.inFlight ?? 0) === 0) await Bun.sleep(1);
    rebuild(asked);
    const next = event('next', 'u2'); // sent before the first is answered
    while ((registry.peek('acme')?.inFlight ?? 0) === 0) await Bun.sleep(1);
    const counting = registry.peek('acme'); // the actor that counts the events sent from now
    expect(counting === before).toBe(false);
    openDisk();
    expect([(await first).status, (await next).status]).toEqual([202, 202]);
    await counting?.whenReady();
    expect(counting?.rollups.latestMetric('cpu')).toBeUndefined(); // the erased point
    // Each event still stored counted once: the one in flight across the rebuild too.
    expect(counting?.rollups.snapshot(app.clock.now()).windows['24h'].events).toBe(3);
  } finally {
    openDisk();
  }
});
