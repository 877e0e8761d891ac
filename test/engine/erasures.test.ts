// The engine's side of an erasure: once it has ended, the tenant's live rollups are rebuilt
// from the store, so they count what the reads count.

import { afterEach, expect, test } from 'bun:test';
import { makeTestApp, type TestApp } from '../helpers/app.ts';

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
