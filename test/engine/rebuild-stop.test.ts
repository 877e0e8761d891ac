// An actor evicted while its live counters are rebuilt (at ACTORS_MAX, when no other actor can
// make room) has its rebuild stopped: the DuckDB statement reading a day of its events is
// interrupted, the commits it held stop counting against rebuildLimits.deferredBytesMax at once,
// no rebuild error is told, whoever waited for it reads none of its partial counters, and the
// tenant's next actor counts every event from the store, once.

import { afterEach, expect, test } from 'bun:test';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  batch,
  endlessNextSnapshot,
  holdNextSnapshot,
  latestWaitingOn,
  statusSoon,
} from '../helpers/held-rebuild.ts';

let t: TestApp | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

test('evicted while its read runs in DuckDB, the statement is interrupted', async () => {
  const failures: unknown[] = [];
  t = await makeTestApp({ actorsMax: 1, onRebuildError: (_, e) => failures.push(e) });
  const app = t;
  const { registry, store } = app.engine;
  expect(await statusSoon(app, batch('a', 'e0', 3))).toBe(202);
  await countersBuilt(app, 'a');
  await store.flusher.flush();
  registry.rebuild('a'); // as an idle eviction: the next use rebuilds
  const endless = endlessNextSnapshot(app);
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held while the read runs
  const first = registry.peek('a');
  await endless.started;
  expect(registry.deferredBytes).toBeGreaterThan(0);
  let settled = false;
  void first?.whenReady().then(() => {
    settled = true;
  });
  // A new tenant's events take its place (no other actor can make room).
  const other = registry.actorFor('b');
  expect(registry.peek('a')).toBeUndefined();
  await other?.whenReady(); // a read of its own, after the stopped one
  expect(settled).toBe(true);
  expect(registry.deferredBytes).toBe(0);
  expect(endless.interrupts()).toBeGreaterThan(0);
  await endless.released; // the statement ended, interrupted, and its snapshot was let go
  expect(registry.rebuildStopped(first as object)).toBe(true);
  expect(registry.rebuildFailed(first as object)).toBe(false);
  expect(failures).toEqual([]);
  // The tenant's next actor counts every event from the store, each once.
  const next = registry.actorFor('a');
  await next?.whenReady();
  expect(next?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(3 + 2);
  expect(registry.rebuildStopped(next as object)).toBe(false);
  expect(await app.count('a')).toBe(3 + 2);
  expect(failures).toEqual([]);
});

test('a latest point waiting for a stopped rebuild is read from the store', async () => {
  t = await makeTestApp({ actorsMax: 1 });
  const app = t;
  const { registry } = app.engine;
  const held = holdNextSnapshot(app);
  try {
    expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // its rebuild's read held
    const first = registry.peek('a');
    if (first === undefined) throw new Error('no actor');
    const { latest } = await latestWaitingOn(app, first, 'a');
    registry.actorFor('b'); // takes its place: the rebuild is stopped, the GET goes on
    const res = await latest;
    expect(res.status).toBe(200);
    expect(((await res.json()) as { value: number }).value).toBe(10 * 2 + 2); // e1's point
    expect(registry.rebuildStopped(first)).toBe(true);
  } finally {
    held.restore();
  }
});
