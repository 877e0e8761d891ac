import { afterEach, describe, expect, test } from 'bun:test';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import { holdDisk } from '../helpers/hold-disk.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const views = (tenant: string, n: number) => ({
  events: Array.from({ length: n }, (_, i) => ({
    event_id: `${tenant}-${i}`,
    name: 'page_view',
    path: `/${i % 2}`,
    tenant_id: tenant,
    user_id: `u${i}`,
  })),
});

async function liveEvents(app: TestApp, tenant: string): Promise<number> {
  const actor = app.engine.registry.actorFor(tenant);
  if (actor === null) throw new Error('no room for an actor');
  await actor.whenReady();
  return actor.rollups.snapshot(app.clock.now()).windows['1h'].events;
}

describe('actor registry', () => {
  test('resident actors are bounded: idle ones make room, and come back rebuilt', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    await t.post('/api/v1/events/batch', views('a', 3));
    await t.post('/api/v1/events/batch', views('b', 4));
    expect(t.engine.registry.size).toBe(2);
    await t.post('/api/v1/events/batch', views('c', 5)); // evicts an idle one
    expect(t.engine.registry.size).toBe(2);
    expect(await liveEvents(t, 'a')).toBe(3);
    expect(await liveEvents(t, 'b')).toBe(4);
    expect(await liveEvents(t, 'c')).toBe(5);
    expect(t.engine.registry.size).toBe(2);
  });

  test('at the bound the least recently active actor makes room, not the first created', async () => {
    t = await makeTestApp({ actorsMax: 3 });
    for (const tenant of ['a', 'b', 'c']) {
      await t.post('/api/v1/events/batch', views(tenant, 1));
      t.clock.advance(1000);
    }
    await t.post('/api/v1/events', { event_id: 'a-again', name: 'x', tenant_id: 'a' });
    t.clock.advance(1000);
    const busy = t.engine.registry.peek('a'); // idle between two commits, but the busiest
    await countersBuilt(t, 'a', 'b', 'c'); // one still rebuilding would give way last
    await t.post('/api/v1/events/batch', views('d', 1));
    const resident = ['a', 'b', 'c', 'd'].filter((x) => t?.engine.registry.peek(x) !== undefined);
    expect(resident).toEqual(['a', 'c', 'd']); // b, untouched the longest, made room
    expect(t.engine.registry.peek('a') === busy).toBe(true); // kept: no rebuild of its day
  });

  test('after the wall clock stepped back, idle actors still make room for a new tenant', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    await t.post('/api/v1/events/batch', views('a', 1));
    await t.post('/api/v1/events/batch', views('b', 1));
    t.clock.advance(-3_600_000); // NTP steps the clock back an hour
    const res = await t.post('/api/v1/events/batch', views('c', 1));
    expect(res.status).toBe(202);
    expect(t.engine.registry.size).toBe(2);
  });

  test('a batch never evicts the actor of one of its own tenants to make room', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    const app = t;
    // The disk holds tenant c's commit, so its actor has events in flight and cannot go.
    const openDisk = holdDisk(app);
    try {
      const first = app.post('/api/v1/events/batch', views('c', 1));
      while ((app.engine.registry.peek('c')?.inFlight ?? 0) === 0) await Bun.sleep(1);
      const batch = { events: [...views('a', 1).events, ...views('b', 1).events] };
      const res = await app.post('/api/v1/events/batch', batch);
      expect(res.status).toBe(503); // b finds no room but a's actor, which it keeps: all or nothing
      expect(app.engine.registry.peek('a')).toBeDefined(); // the actor it took is still resident
      openDisk();
      expect((await first).status).toBe(202);
      expect((await app.count('a')) + (await app.count('b'))).toBe(0);
    } finally {
      openDisk();
    }
  });

  test('a batch naming more tenants than the bound is a 422: it could never be taken', async () => {
    t = await makeTestApp({ actorsMax: 1 });
    const batch = { events: [...views('a', 1).events, ...views('b', 1).events] };
    const res = await t.post('/api/v1/events/batch', batch);
    expect(res.status).toBe(422); // not a 503 whose Retry-After has it sent again for ever
    expect((await t.count('a')) + (await t.count('b'))).toBe(0);
    expect(t.engine.registry.size).toBe(0); // refused before any actor was taken
  });

  // README "Ingest": 503 + Retry-After when the node is over a bound, "too many active tenants".
  test('a new tenant is 503 with Retry-After while every resident one has events in flight', async () => {
    t = await makeTestApp({ actorsMax: 1 });
    const app = t;
    // The disk holds the first tenant's commit, so its actor has events in flight.
    const openDisk = holdDisk(app);
    try {
      const first = app.post('/api/v1/events/batch', views('a', 1));
      while ((app.engine.registry.peek('a')?.inFlight ?? 0) === 0) await Bun.sleep(1);
      const res = await app.post('/api/v1/events/batch', views('b', 1));
      expect([res.status, res.headers.get('retry-after')]).toEqual([503, '1']);
      expect(await res.json()).toMatchObject({ code: 'overloaded' });
      openDisk();
      expect((await first).status).toBe(202);
      // Once a is idle it makes room: b is taken.
      expect((await app.post('/api/v1/events/batch', views('b', 1))).status).toBe(202);
      expect(await app.count('b')).toBe(1);
    } finally {
      openDisk();
    }
  });

  test('a tenant whose live counters cannot be rebuilt still ingests, and says why', async () => {
    const failures: string[] = [];
    t = await makeTestApp({ onRebuildError: (tenant, e) => failures.push(`${tenant}: ${e}`) });
    const { store } = t.engine;
    const snapshot = store.snapshot.bind(store);
    store.snapshot = () => Promise.reject(new Error('Out of Memory Error'));
    const res = await t.post('/api/v1/events/batch', views('n', 2));
    store.snapshot = snapshot;
    expect(res.status).toBe(202);
    expect(failures).toEqual(['n: Error: Out of Memory Error']);
    expect(await t.count('n')).toBe(2);
    expect(await liveEvents(t, 'n')).toBe(2); // counted as they came, from empty counters
    expect(t.engine.registry.actorFor('n')?.inFlight).toBe(0);
  });

  test('actors idle past ACTOR_IDLE are evicted; their state is rebuilt from the store', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    await t.post('/api/v1/events/batch', views('a', 6));
    await t.engine.store.flusher.flush();
    await countersBuilt(t, 'a'); // an actor still rebuilding is not idle
    t.clock.advance(30_000);
    expect(t.engine.registry.evictIdle()).toBe(0);
    t.clock.advance(31_000);
    expect(t.engine.registry.evictIdle()).toBe(1);
    expect(t.engine.registry.size).toBe(0);
    expect(await liveEvents(t, 'a')).toBe(6);
  });

  test('a watched tenant is never evicted as idle', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    await t.post('/api/v1/events/batch', views('a', 2));
    await countersBuilt(t, 'a'); // an actor still rebuilding is not idle
    t.engine.registry.watch('a'); // a live socket reads it
    t.clock.advance(61_000);
    expect(t.engine.registry.evictIdle()).toBe(0);
    t.engine.registry.unwatch('a');
    expect(t.engine.registry.evictIdle()).toBe(1);
  });

  test('a rebuild counts late (backfilled) events by their receipt, as they were counted live', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    const day = 86_400_000;
    const now = t.clock.now();
    const late = (id: string, ago: number) => ({
      event_id: id,
      name: 'import',
      tenant_id: 'a',
      user_id: 'u',
      timestamp: now - ago,
    });
    const backfill = [late('w', 7 * day), late('y', 400 * day), ...views('a', 1).events];
    await t.post('/api/v1/events/batch', { events: backfill });
    await t.engine.store.flusher.flush();
    await t.post('/api/v1/events', late('h', 30 * day)); // still in the hot tier
    expect(await liveEvents(t, 'a')).toBe(4);
    t.clock.advance(61_000);
    expect(t.engine.registry.evictIdle()).toBe(1);
    expect(await liveEvents(t, 'a')).toBe(4);
    t.clock.advance(day); // a day after their receipt they leave the 24 h window, rebuilt or not
    expect(t.engine.registry.evictIdle()).toBe(1);
    const actor = t.engine.registry.actorFor('a');
    await actor?.whenReady();
    expect(actor?.rollups.snapshot(t.clock.now()).windows['24h'].events).toBe(0);
  });

  // README Limits: the counters from the events received in the last 24 h, "and the latest value
  // of each metric … from every metric point the project has stored".
  test("a rebuild takes a metric's latest value from a point received days before", async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    const point = { event_id: 'old', name: 'disk_free', value: 42, tenant_id: 'a' };
    expect((await t.post('/api/v1/events', point)).status).toBe(202);
    await t.engine.store.flusher.flush();
    t.clock.advance(3 * 86_400_000);
    await t.post('/api/v1/events/batch', views('a', 1));
    await countersBuilt(t, 'a');
    await t.restart();
    const actor = t.engine.registry.actorFor('a');
    await actor?.whenReady();
    expect(actor?.rollups.snapshot(t.clock.now()).windows['24h'].events).toBe(1);
    expect(actor?.rollups.latestMetric('disk_free')).toMatchObject({ value: 42 });
  });

  test('a rebuild after the wall clock stepped back still counts what was received before', async () => {
    t = await makeTestApp();
    const app = t;
    await app.post('/api/v1/events/batch', views('a', 3));
    const snapshotOf = async () => {
      const actor = app.engine.registry.actorFor('a');
      await actor?.whenReady();
      return actor?.rollups.snapshot(app.clock.now());
    };
    app.clock.advance(-10 * 60_000); // NTP steps the clock back ten minutes
    const never = app.engine.registry.peek('a'); // the actor that counted them live
    await never?.whenReady();
    app.engine.registry.rebuild('a'); // as an erasure, a retention pass or a restart does
    const rebuilt = await snapshotOf();
    expect(rebuilt).toEqual(never?.rollups.snapshot(app.clock.now()) as never);
    app.clock.advance(10 * 60_000 + 1000); // caught up: the three events show again
    const caughtUp = await snapshotOf();
    expect(caughtUp?.windows['24h']).toMatchObject({ events: 3, uniques: 3 });
    expect(caughtUp).toEqual(never?.rollups.snapshot(app.clock.now()) as never);
  });

  test('watched tenants give way to a new tenant at the bound: watching never blocks ingest', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    await t.post('/api/v1/events/batch', views('a', 1));
    await t.post('/api/v1/events/batch', views('b', 1));
    t.engine.registry.watch('a');
    t.engine.registry.watch('b');
    const res = await t.post('/api/v1/events/batch', views('c', 3));
    expect(res.status).toBe(202);
    expect(t.engine.registry.size).toBe(2);
    expect(await liveEvents(t, 'c')).toBe(3);
  });

  test('a live subscribe makes room with an unwatched actor only, never a watched one', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    await t.post('/api/v1/events/batch', views('a', 1));
    await t.post('/api/v1/events/batch', views('b', 1));
    await countersBuilt(t, 'a', 'b'); // an actor still rebuilding gives way to no subscribe
    const { registry } = t.engine;
    registry.watch('a');
    expect(registry.actorForWatch('c')).not.toBeNull(); // b, unwatched, gave way
    expect(registry.peek('b')).toBeUndefined();
    registry.watch('c');
    expect(registry.actorForWatch('d')).toBeNull(); // a and c are watched: both stay
    expect([registry.peek('a'), registry.peek('c')].every((a) => a !== undefined)).toBe(true);
    expect(registry.actorForWatch('a')).toBe(registry.peek('a') ?? null); // resident: as is
  });

  test('an unwatched actor gives way before a watched one', async () => {
    t = await makeTestApp({ actorsMax: 2 });
    await t.post('/api/v1/events/batch', views('a', 1));
    await t.post('/api/v1/events/batch', views('b', 1));
    await countersBuilt(t, 'a', 'b'); // one still rebuilding would give way after both
    t.engine.registry.watch('a');
    await t.post('/api/v1/events/batch', views('c', 1));
    expect(t.engine.registry.peek('a')).toBeDefined();
    expect(t.engine.registry.peek('b')).toBeUndefined();
  });

  test('past ROLLUP_BYTES_MAX the least recently active idle actors go, unwatched first', async () => {
    t = await makeTestApp();
    const pages = (tenant: string) => ({
      events: Array.from({ length: 300 }, (_, i) => ({
        event_id: `${tenant}-${i}`,
        name: 'page_view',
        path: `/${tenant}/${'x'.repeat(100)}/${i}`,
        tenant_id: tenant,
        user_id: `u${i}`,
      })),
    });
    for (const tenant of ['old', 'watched', 'recent']) {
      await t.post('/api/v1/events/batch', pages(tenant));
      t.clock.advance(1000);
    }
    const { registry } = t.engine;
    for (const tenant of ['old', 'watched', 'recent']) await registry.peek(tenant)?.whenReady();
    registry.watch('watched');
    const each = (registry.peek('recent')?.rollups.approxBytes ?? 0) as number;
    expect(each).toBeGreaterThan(100 * 1024); // 300 paths of ~110 characters, in 4 windows
    expect(registry.rollupBytes).toBeGreaterThan(2.5 * each);
    // A budget for about one tenant and a half: the oldest unwatched goes first, then the
    // next unwatched, and only then would a watched one.
    const budget = Math.floor(1.5 * each);
    const { bytes, evicted } = registry.fitBudget(budget);
    expect(evicted).toBe(2);
    expect(bytes).toBeLessThanOrEqual(budget);
    expect([registry.peek('old'), registry.peek('recent')]).toEqual([undefined, undefined]);
    expect(registry.peek('watched')).toBeDefined();
    expect(registry.rollupBytes).toBe(bytes);
    // GET /api/v1/status shows the estimate the budget holds (README Limits).
    const status = (await (await t.get('/api/v1/status')).json()) as { rollup_bytes: number };
    expect(status.rollup_bytes).toBe(bytes);
  });

  // README Limits: "Tenants with events in flight … are never evicted for it".
  test('past ROLLUP_BYTES_MAX a tenant with events in flight stays; an idle one goes', async () => {
    t = await makeTestApp();
    const app = t;
    for (const tenant of ['idle', 'busy']) {
      await app.post('/api/v1/events/batch', views(tenant, 2));
      await countersBuilt(app, tenant);
    }
    const openDisk = holdDisk(app);
    try {
      const sent = app.post('/api/v1/events/batch', views('busy', 3));
      while ((app.engine.registry.peek('busy')?.inFlight ?? 0) === 0) await Bun.sleep(1);
      expect(app.engine.registry.fitBudget(0).evicted).toBe(1);
      expect(app.engine.registry.peek('idle')).toBeUndefined();
      expect(app.engine.registry.peek('busy')).toBeDefined();
      openDisk();
      expect((await sent).status).toBe(202);
      expect(app.engine.registry.fitBudget(0).evicted).toBe(1); // idle now, it goes too
    } finally {
      openDisk();
    }
  });

  test('a failed rebuild is retried while the tenant keeps ingesting', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    const { store, registry } = t.engine;
    const snapshot = store.snapshot.bind(store);
    store.snapshot = () => Promise.reject(new Error('Out of Memory Error'));
    await t.post('/api/v1/events/batch', views('n', 2));
    store.snapshot = snapshot;
    const failed = registry.peek('n');
    expect(failed !== undefined && registry.rebuildFailed(failed)).toBe(true);
    registry.watch('n');
    // One event a minute: never idle for ACTOR_IDLE, yet the next check after each commit
    // finds nothing in flight.
    t.clock.advance(30_000);
    await t.post('/api/v1/events', { event_id: 'n-late', name: 'x', tenant_id: 'n' });
    expect(registry.evictIdle()).toBe(1);
    const again = registry.actorFor('n');
    await again?.whenReady();
    expect(again !== null && registry.rebuildFailed(again)).toBe(false);
    expect(await liveEvents(t, 'n')).toBe(3);
  });

  test('a failed rebuild is known to live sockets; such an actor goes when idle', async () => {
    t = await makeTestApp({ actorIdleMs: 60_000 });
    const { store, registry } = t.engine;
    const snapshot = store.snapshot.bind(store);
    store.snapshot = () => Promise.reject(new Error('Out of Memory Error'));
    const actor = registry.actorFor('n');
    if (actor === null) throw new Error('no room for an actor');
    await actor.whenReady();
    store.snapshot = snapshot;
    expect(registry.rebuildFailed(actor)).toBe(true);
    registry.watch('n');
    t.clock.advance(61_000);
    expect(registry.evictIdle()).toBe(1); // watched, but its counters are not whole
    const again = registry.actorFor('n');
    await again?.whenReady();
    expect(again !== null && registry.rebuildFailed(again)).toBe(false);
  });
});
