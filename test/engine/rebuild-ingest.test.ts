// A tenant's ingest does not wait for its actor's rollups to be rebuilt from the store (a day of
// events read through DuckDB: seconds while it is busy), and the events committed meanwhile are
// counted once the rebuild is done: exactly once, whether the rebuild's read saw them (in a
// segment or a hot row) or not, across flushes before and after that read.

import { afterEach, describe, expect, test } from 'bun:test';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import { batch, gate, holdNextSnapshot, statusSoon } from '../helpers/held-rebuild.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

/** The rollups of `tenant` as a new actor rebuilds them from the store alone. */
async function rebuiltFromStore(app: TestApp, tenant: string) {
  app.engine.registry.rebuild(tenant);
  const actor = app.engine.registry.actorFor(tenant);
  await actor?.whenReady();
  return actor?.rollups.snapshot(app.clock.now());
}

describe('ingest during a rebuild of the live counters', () => {
  // After an idle eviction (the earlier events in a segment), or after a restart (replayed
  // from the log into the hot tier).
  for (const flushBeforeRead of [true, false]) {
    const when = flushBeforeRead
      ? 'after an eviction, events flushed before its read'
      : 'after a restart, events in the hot tier at its read';
    test(`a held rebuild delays no 202, and counts each event once (${when})`, async () => {
      t = await makeTestApp();
      expect(await statusSoon(t, batch('a', 'p', 3))).toBe(202);
      if (flushBeforeRead) {
        await t.engine.store.flusher.flush();
        t.engine.registry.rebuild('a'); // as an idle eviction: the next use rebuilds
      } else {
        await t.restart();
      }
      const app = t;
      const { registry, store } = app.engine;
      const held = holdNextSnapshot(app);
      try {
        // Before the rebuild's read is taken: answered at once, not after the rebuild.
        expect(await statusSoon(app, batch('a', 'e1', 4))).toBe(202);
        const actor = registry.peek('a');
        expect(await statusSoon(app, batch('a', 'e2', 3))).toBe(202);
        // Its read then sees them in segments only (the hot tier empty), or in hot rows.
        if (flushBeforeRead) await store.flusher.flush();
        held.taking.open();
        await held.taken;
        // After the read is taken: it does not see these, flushed during the rebuild or not.
        expect(await statusSoon(app, batch('a', 'e3', 5))).toBe(202);
        await store.flusher.flush();
        expect(await statusSoon(app, batch('a', 'e4', 2))).toBe(202);
        let ready = false;
        void actor?.whenReady().then(() => {
          ready = true;
        });
        await Bun.sleep(20);
        expect(ready).toBe(false); // the live counters are not shown before they are whole
        held.reading.open();
        await actor?.whenReady();
        expect(registry.rebuildFailed(actor as object)).toBe(false);
        const live = actor?.rollups.snapshot(app.clock.now());
        expect(live?.windows['1h'].events).toBe(3 + 4 + 3 + 5 + 2);
        expect(await app.count('a')).toBe(3 + 4 + 3 + 5 + 2);
        // Names, uniques, top paths and latest metrics too: as a rebuild from the store alone.
        expect(live).toEqual(await rebuiltFromStore(app, 'a'));
        expect(live?.latest_metrics.map((m) => m.value)).toEqual([10 * 2 + 2]); // e4's
      } finally {
        held.restore();
      }
    });
  }

  test('commits after the rebuild count at once, as before', async () => {
    t = await makeTestApp();
    const app = t;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202);
      const actor = app.engine.registry.peek('a');
      held.taking.open();
      held.reading.open();
      await actor?.whenReady();
      expect(await statusSoon(app, batch('a', 'e2', 3))).toBe(202);
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(5);
    } finally {
      held.restore();
    }
  });

  test('events held while the wall clock stepped back are counted, not left out as future', async () => {
    t = await makeTestApp();
    const app = t;
    const held = holdNextSnapshot(app);
    try {
      const actor = app.engine.registry.actorFor('a');
      held.taking.open();
      await held.taken;
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // after the read: held
      app.clock.advance(-10 * 60_000); // NTP steps the clock back ten minutes
      held.reading.open();
      await actor?.whenReady();
      // As of their receipt, as the rebuild's read counts those it sees, and as live counting
      // did when they came: the same counters as a rebuild from the store alone.
      const live = () => actor?.rollups.snapshot(app.clock.now());
      expect(live()).toEqual(await rebuiltFromStore(app, 'a'));
      app.clock.advance(10 * 60_000 + 1000); // caught up: they show
      expect(live()?.windows['1h'].events).toBe(2);
    } finally {
      held.restore();
    }
  });

  test('a rebuild that fails while commits are held still behaves as before', async () => {
    const failures: string[] = [];
    t = await makeTestApp({ onRebuildError: (tenant, e) => failures.push(`${tenant}: ${e}`) });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('n', 'e1', 2))).toBe(202);
      const actor = registry.peek('n');
      held.fail(new Error('Out of Memory Error'));
      await actor?.whenReady();
      expect(failures).toEqual(['n: Error: Out of Memory Error']);
      expect(registry.rebuildFailed(actor as object)).toBe(true);
      // Counted as they came, from empty counters: it read nothing.
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2);
      expect(await statusSoon(app, batch('n', 'e2', 3))).toBe(202);
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(5);
      expect(actor?.inFlight).toBe(0);
      expect(registry.evictIdle()).toBe(1); // retried at the next check, as before
    } finally {
      held.restore();
    }
  });

  test('past the bound of events held during rebuilds, ticks wait for the rebuild again', async () => {
    t = await makeTestApp({ deferredBytesMax: 1 });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      // The first commit is held (the bound is soft by it), and reaches the bound.
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202);
      const actor = registry.peek('a');
      expect(actor?.isStarted).toBe(false);
      const second = app.post('/api/v1/events/batch', batch('a', 'e2', 3));
      await Bun.sleep(50);
      expect(actor?.inFlight).toBe(3); // waiting in its mailbox for the rebuild, as before
      held.taking.open();
      held.reading.open();
      expect((await second).status).toBe(202);
      await actor?.whenReady();
      expect(actor?.isStarted).toBe(true);
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(5);
    } finally {
      held.restore();
    }
  });

  test("past the bound, a new tenant's first tick waits for its rebuild too", async () => {
    t = await makeTestApp({ deferredBytesMax: 1 });
    const app = t;
    const { registry, store } = app.engine;
    // Every snapshot waits, so every rebuild runs until the gate opens.
    const real = store.snapshot.bind(store);
    const reads = gate();
    store.snapshot = async (tenant, range) => {
      await reads.opened;
      return real(tenant, range);
    };
    try {
      // The first commit is held (the bound is soft by it), and reaches the bound.
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202);
      // Another tenant's new actor holds nothing yet: it waits for its rebuild all the same,
      // else each new tenant would add one tick more (a mailbox's bytes) past the bound.
      const other = app.post('/api/v1/events/batch', batch('b', 'f1', 3));
      await Bun.sleep(50);
      const actor = registry.peek('b');
      expect(actor?.isStarted).toBe(false);
      expect(actor?.inFlight).toBe(3); // waiting in its mailbox for the rebuild
      reads.open();
      expect((await other).status).toBe(202);
      await actor?.whenReady();
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(3);
      await registry.peek('a')?.whenReady();
      expect(registry.peek('a')?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2);
    } finally {
      store.snapshot = real;
      reads.open();
    }
  });
});

describe('every end of a rebuild lets go of the commits it held', () => {
  const tombstoneOnly = { decide: (tombstone: () => void) => tombstone() };

  test('an onRebuildError that throws neither keeps them held nor leaves whenReady unsettled', async () => {
    const fatals: unknown[] = [];
    const bug = new Error('the callback failed');
    t = await makeTestApp({
      deferredBytesMax: 1,
      onRebuildError: () => {
        throw bug;
      },
      onFatal: (error) => fatals.push(error),
    });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('n', 'e1', 2))).toBe(202); // held, up to the bound
      const actor = registry.peek('n');
      expect(registry.deferredBytes).toBeGreaterThan(0);
      const second = app.post('/api/v1/events/batch', batch('n', 'e2', 3)); // waits for it
      held.fail(new Error('Out of Memory Error'));
      await actor?.whenReady();
      expect(registry.rebuildFailed(actor as object)).toBe(true);
      expect(registry.deferredBytes).toBe(0);
      expect((await second).status).toBe(202);
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(5);
      // A bug of the callback's is not hidden: it is fatal, once the actor has settled.
      expect(fatals).toEqual([bug]);
    } finally {
      held.restore();
    }
  });

  test('a rebuild that fails after its read of recent events counts each event once', async () => {
    const failures: string[] = [];
    t = await makeTestApp({ onRebuildError: (tenant, e) => failures.push(`${tenant}: ${e}`) });
    const app = t;
    const { registry, store } = app.engine;
    expect(await statusSoon(app, batch('n', 'e0', 2))).toBe(202);
    await store.flusher.flush();
    registry.rebuild('n'); // as an idle eviction: the next use rebuilds
    const held = holdNextSnapshot(app);
    const real = store.snapshot.bind(store);
    try {
      expect(await statusSoon(app, batch('n', 'e1', 3))).toBe(202); // before the read: seen
      const actor = registry.peek('n');
      held.taking.open();
      await held.taken;
      expect(await statusSoon(app, batch('n', 'e2', 4))).toBe(202); // after it: held
      // The read of every metric point, after the recent events were counted, fails.
      store.snapshot = () => Promise.reject(new Error('Out of Memory Error'));
      held.reading.open();
      await actor?.whenReady();
      expect(failures).toEqual(['n: Error: Out of Memory Error']);
      expect(registry.rebuildFailed(actor as object)).toBe(true);
      expect(registry.deferredBytes).toBe(0);
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2 + 3 + 4);
    } finally {
      store.snapshot = real;
      held.restore();
    }
  });

  for (const how of ['dropped to be rebuilt', 'deleted with its tenant'] as const) {
    test(`an actor ${how} while rebuilding settles and lets go of what it held`, async () => {
      t = await makeTestApp();
      const app = t;
      const { registry, deletions } = app.engine;
      const held = holdNextSnapshot(app);
      try {
        expect(await statusSoon(app, batch('n', 'e1', 2))).toBe(202); // held
        const actor = registry.peek('n');
        expect(registry.deferredBytes).toBeGreaterThan(0);
        if (how === 'dropped to be rebuilt') registry.rebuild('n');
        else await deletions.delete('n', tombstoneOnly);
        expect(registry.peek('n')).toBeUndefined();
        held.taking.open();
        held.reading.open();
        await actor?.whenReady();
        expect(registry.deferredBytes).toBe(0);
        // The tenant's next actor counts what the store holds then, each event once.
        const next = registry.actorFor('n');
        await next?.whenReady();
        const kept = how === 'dropped to be rebuilt' ? 2 : 0;
        expect(next?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(kept);
        expect(registry.deferredBytes).toBe(0);
      } finally {
        held.restore();
      }
    });
  }
});

describe('an actor still rebuilding is busy for the registry', () => {
  test('it is not evicted as idle, nor for ROLLUP_BYTES_MAX, nor for a live subscribe', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000, actorsMax: 1 });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held
      const actor = registry.peek('a');
      app.clock.advance(61_000);
      expect(registry.evictIdle()).toBe(0);
      expect(registry.fitBudget(0).evicted).toBe(0);
      expect(registry.actorForWatch('b')).toBeNull();
      expect(registry.peek('a')).toBe(actor as never); // its rebuild's read is not made again
      held.taking.open();
      held.reading.open();
      await actor?.whenReady();
      expect(actor?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2);
      expect(registry.evictIdle()).toBe(1); // rebuilt, and idle: it goes as before
    } finally {
      held.restore();
    }
  });

  test('at ACTORS_MAX a new tenant takes the place of another actor first', async () => {
    t = await makeTestApp({ actorsMax: 3 });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held, the least active
      const rebuilding = registry.peek('a');
      expect(await statusSoon(app, batch('b', 'f1', 1))).toBe(202);
      expect(await statusSoon(app, batch('w', 'g1', 1))).toBe(202);
      await countersBuilt(app, 'b', 'w');
      registry.watch('w');
      expect(await statusSoon(app, batch('c', 'h1', 1))).toBe(202);
      expect(registry.peek('b')).toBeUndefined(); // idle, rebuilt: it gave way
      await countersBuilt(app, 'c');
      registry.watch('c');
      expect(await statusSoon(app, batch('d', 'i1', 1))).toBe(202);
      expect(registry.peek('w')).toBeUndefined(); // watched, but rebuilt: it gave way next
      expect(registry.peek('a')).toBe(rebuilding as never);
    } finally {
      held.restore();
    }
  });

  test('when only it can make room its rebuild is stopped; each event counted once', async () => {
    const failures: unknown[] = [];
    t = await makeTestApp({ actorsMax: 1, onRebuildError: (_, e) => failures.push(e) });
    const app = t;
    const { registry } = app.engine;
    const held = holdNextSnapshot(app);
    try {
      expect(await statusSoon(app, batch('a', 'e1', 2))).toBe(202); // held by the first actor
      const first = registry.peek('a');
      let settled = false;
      void first?.whenReady().then(() => {
        settled = true;
      });
      expect(registry.deferredBytes).toBeGreaterThan(0);
      expect(await statusSoon(app, batch('b', 'f1', 3))).toBe(202); // takes its place
      expect(registry.peek('a')).toBeUndefined();
      // Its rebuild is stopped, its read still waiting for the store: it settled at once, and
      // let go of what it held (counted by the tenant's next actor, from the store).
      expect(settled).toBe(true);
      expect(registry.rebuildStopped(first as object)).toBe(true);
      expect(registry.rebuildFailed(first as object)).toBe(false);
      await countersBuilt(app, 'b');
      expect(registry.deferredBytes).toBe(0);
      // The tenant comes back while the first actor's read still waits: its successor reads
      // what that one committed, and holds what it commits itself.
      expect(await statusSoon(app, batch('a', 'e2', 4))).toBe(202);
      const second = registry.peek('a');
      await second?.whenReady();
      expect(second?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2 + 4);
      expect(registry.rebuildStopped(second as object)).toBe(false);
      // The stopped read, given its snapshot at last, reads nothing and lets it go (the store
      // closes in afterEach only once every snapshot is released); it is no failure.
      held.taking.open();
      held.reading.open();
      await held.taken;
      expect(await app.count('a')).toBe(2 + 4);
      expect(second?.rollups.snapshot(app.clock.now()).windows['1h'].events).toBe(2 + 4);
      expect(registry.deferredBytes).toBe(0);
      expect(failures).toEqual([]);
    } finally {
      held.restore();
    }
  });
});
