// An actor dropped while its live counters are rebuilt, by an erasure's end or a retention pass
// (registry.rebuild) or by its tenant's deletion (registry.forget), has its rebuild stopped as
// an evicted one does: the DuckDB statement reading a day of its events is interrupted, the
// commits it held stop counting against rebuildLimits.deferredBytesMax at once, no rebuild
// error is told, and its events still in flight are committed and answered, counted once by the
// tenant's next actor, from the store.

import { afterEach, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  batch,
  endlessNextSnapshot,
  holdNextSnapshot,
  latestWaitingOn,
  soon,
  statusSoon,
} from '../helpers/held-rebuild.ts';
import { holdDisk } from '../helpers/hold-disk.ts';

let t: TestApp | undefined;
const cleanup: (() => void)[] = [];
afterEach(async () => {
  for (const undo of cleanup.splice(0)) undo();
  await t?.close();
  t = undefined;
});

const tombstoneOnly = { decide: (tombstone: () => void) => tombstone() };

/**
 * A test app whose tenant `a` has `n` events in a segment and no actor: its next use rebuilds
 * its counters through an endless read (endlessNextSnapshot); rebuild errors go to `failures`.
 */
async function appWithStoredEvents(n: number, deferredBytesMax?: number) {
  const failures: unknown[] = [];
  const overrides = deferredBytesMax === undefined ? {} : { deferredBytesMax };
  t = await makeTestApp({ ...overrides, onRebuildError: (_, e) => failures.push(e) });
  const app = t;
  expect(await statusSoon(app, batch('a', 'e0', n))).toBe(202);
  await countersBuilt(app, 'a');
  await app.engine.store.flusher.flush();
  app.engine.registry.rebuild('a'); // as an idle eviction: the next use rebuilds
  const endless = endlessNextSnapshot(app);
  cleanup.push(endless.abandon);
  return { app, failures, endless };
}

/** The events of the last hour counted by `tenant`'s next actor, once rebuilt. */
async function countedByNext(app: TestApp, tenant: string): Promise<number | undefined> {
  const next = app.engine.registry.actorFor(tenant);
  await next?.whenReady();
  expect(app.engine.registry.rebuildStopped(next as object)).toBe(false);
  return next?.rollups.snapshot(app.clock.now()).windows['1h'].events;
}

test("an erasure's end stops the rebuild of the actor it drops", async () => {
  const { app, failures, endless } = await appWithStoredEvents(3);
  const { registry } = app.engine;
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held while the read runs
  const first = registry.peek('a');
  await endless.started;
  expect(registry.deferredBytes).toBeGreaterThan(0);
  registry.rebuild('a'); // as an erasure's end does
  expect(await soon(first?.whenReady() as Promise<void>)).toBeUndefined(); // settled, at once
  expect(registry.deferredBytes).toBe(0);
  expect(endless.interrupts()).toBeGreaterThan(0);
  await endless.released; // the statement ended, interrupted, and its snapshot was let go
  expect(registry.rebuildStopped(first as object)).toBe(true);
  expect(registry.rebuildFailed(first as object)).toBe(false);
  expect(await countedByNext(app, 'a')).toBe(3 + 2);
  expect(await app.count('a')).toBe(3 + 2);
  expect(failures).toEqual([]);
});

test('events waiting in its mailbox for the stopped rebuild are committed and counted once', async () => {
  // Past the bound of held bytes, the actor's ticks wait for its rebuild.
  const { app, failures, endless } = await appWithStoredEvents(3, 1);
  const { registry } = app.engine;
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held, up to the bound
  const first = registry.peek('a');
  await endless.started;
  app.clock.advance(1000);
  const waiting = app.post('/api/v1/events/batch', batch('a', 'e2', 4));
  while ((first?.inFlight ?? 0) === 0) await Bun.sleep(1);
  registry.rebuild('a');
  // The successor takes the tenant's new events, and starts once the dropped one's are in.
  expect(await statusSoon(app, batch('a', 'e3', 5))).toBe(202);
  const answered = await soon(waiting);
  expect(answered === 'waited' ? answered : answered.status).toBe(202);
  expect(registry.rebuildStopped(first as object)).toBe(true);
  expect(await countedByNext(app, 'a')).toBe(3 + 2 + 4 + 5);
  expect(registry.deferredBytes).toBe(0); // the successor's hold (e3's) let go too
  expect(await app.count('a')).toBe(3 + 2 + 4 + 5);
  expect(failures).toEqual([]);
});

test('a commit in flight as its rebuild is stopped is answered and counted once', async () => {
  const { app, failures, endless } = await appWithStoredEvents(3);
  const { registry } = app.engine;
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held while the read runs
  const first = registry.peek('a');
  await endless.started;
  const openDisk = holdDisk(app); // the next commit waits for the disk
  cleanup.push(openDisk);
  app.clock.advance(1000);
  const committing = app.post('/api/v1/events/batch', batch('a', 'e2', 4));
  while ((first?.inFlight ?? 0) === 0) await Bun.sleep(1);
  registry.rebuild('a');
  expect(await soon(first?.whenReady() as Promise<void>)).toBeUndefined();
  expect(registry.deferredBytes).toBe(0);
  openDisk();
  // Committed after the hold was let go: neither held (an assert) nor refused.
  expect((await committing).status).toBe(202);
  expect(registry.deferredBytes).toBe(0);
  expect(await countedByNext(app, 'a')).toBe(3 + 2 + 4);
  expect(failures).toEqual([]);
});

test('a latest point waiting for a rebuild an erasure stopped is read from the store', async () => {
  t = await makeTestApp();
  const app = t;
  const { registry } = app.engine;
  const held = holdNextSnapshot(app);
  cleanup.push(held.restore);
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // its rebuild's read held
  const first = registry.peek('a');
  if (first === undefined) throw new Error('no actor');
  const { latest } = await latestWaitingOn(app, first, 'a');
  registry.rebuild('a');
  const res = await soon(latest);
  expect(res === 'waited' ? res : res.status).toBe(200);
  expect(((await (res as Response).json()) as { value: number }).value).toBe(10 * 2 + 2);
  expect(registry.rebuildStopped(first)).toBe(true);
});

test("a tenant's deletion stops its actor's rebuild, and its files go at once", async () => {
  const { app, failures, endless } = await appWithStoredEvents(3);
  const { registry, deletions } = app.engine;
  expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held while the read runs
  const first = registry.peek('a');
  await endless.started;
  expect(registry.deferredBytes).toBeGreaterThan(0);
  const erased = await deletions.delete('a', tombstoneOnly);
  expect(erased).toMatchObject({ segments: 1, filesPending: null });
  expect(await soon(first?.whenReady() as Promise<void>)).toBeUndefined();
  expect(registry.deferredBytes).toBe(0);
  expect(endless.interrupts()).toBeGreaterThan(0);
  // Its segment files stayed while the read held them: they go once it is let go, not once a
  // day's read of a deleted tenant ends.
  expect(await soon(endless.released)).toBeUndefined();
  expect(filesOf(app, 'a')).toEqual([]);
  expect(registry.rebuildStopped(first as object)).toBe(true);
  expect(registry.rebuildFailed(first as object)).toBe(false);
  expect(await countedByNext(app, 'a')).toBe(0);
  expect(failures).toEqual([]);
});

/** The segment files of `tenant` on disk. */
function filesOf(app: TestApp, tenant: string): string[] {
  const dir = path.join(app.dataDir, 'segments', `tenant=${tenant}`);
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.parquet'));
}

test('a successor dropped before its predecessor is drained still commits after it', async () => {
  // Past the bound of held bytes (another tenant's rebuild holds a commit), a new actor's ticks
  // wait for its rebuild; stopping that rebuild must not let them run before the events of the
  // actor it follows are answered: the tenant keeps one writer, and the next actor, started
  // once the dropped one is drained, counts every event from the store.
  t = await makeTestApp({ deferredBytesMax: 1 });
  const app = t;
  const { registry, store } = app.engine;
  expect(await statusSoon(app, batch('a', 'e0', 3))).toBe(202);
  await countersBuilt(app, 'a');
  const held = holdNextSnapshot(app); // b's rebuild
  cleanup.push(held.restore);
  expect(await statusSoon(app, batch('b', 'b0', 2))).toBe(202);
  expect(registry.deferredBytes).toBeGreaterThan(0);
  const openDisk = holdDisk(app);
  cleanup.push(openDisk);
  app.clock.advance(1000);
  const first = registry.peek('a');
  const inFlight = app.post('/api/v1/events/batch', batch('a', 'e1', 2));
  while ((first?.inFlight ?? 0) === 0) await Bun.sleep(1);
  registry.rebuild('a'); // its successor starts once e1 is answered
  app.clock.advance(1000);
  const waiting = app.post('/api/v1/events/batch', batch('a', 'e2', 4));
  let second = registry.peek('a');
  while ((second?.inFlight ?? 0) === 0) {
    await Bun.sleep(1);
    second = registry.peek('a');
  }
  let submitted = 0;
  const submit = store.committer.submit.bind(store.committer);
  store.committer.submit = (...args) => {
    submitted++;
    return submit(...args);
  };
  registry.rebuild('a'); // stops the successor's rebuild, which had not begun
  await second?.whenReady();
  for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
  expect(submitted).toBe(0); // e2 waits for e1, still on the disk
  openDisk();
  expect((await inFlight).status).toBe(202);
  const answered = await soon(waiting);
  expect(answered === 'waited' ? answered : answered.status).toBe(202);
  expect(await countedByNext(app, 'a')).toBe(3 + 2 + 4);
  expect(await app.count('a')).toBe(3 + 2 + 4);
});
