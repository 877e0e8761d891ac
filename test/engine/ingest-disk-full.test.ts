// Through the HTTP app: a log write that finds the disk full refuses its requests (503), the
// node stays up, refuses ingest before writing while the disk is full, answers reads, resumes
// by itself once there is room, and a restart replays exactly the acknowledged events.

import { afterEach, describe, expect, test } from 'bun:test';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const body = (r: Response) => r.json() as Promise<Record<string, unknown>>;

/** One request naming two tenants: one log record each, both in one group commit. */
const batch = {
  events: [
    { event_id: 'r-acme', name: 'small', tenant_id: 'acme', timestamp: T0 },
    {
      event_id: 'r-beta',
      name: 'large',
      tenant_id: 'beta',
      timestamp: T0,
      properties: { blob: 'x'.repeat(8000) },
    },
  ],
};

async function ids(app: TestApp, tenant: string): Promise<string[]> {
  const list = await body(await app.get(`/api/v1/events?tenant_id=${tenant}&limit=100`));
  return (list.events as { event_id: string }[]).map((e) => e.event_id).sort();
}

describe('a full disk during a log write', () => {
  test('refuses that commit, keeps serving, resumes with room; a restart has each ack once', async () => {
    const disk = new LimitedDisk();
    const fatal: unknown[] = [];
    t = await makeTestApp({ fileIo: disk, onFatal: (error) => fatal.push(error) });
    for (const tenant of ['acme', 'beta']) {
      // Rebuilt first: no rebuild's read loads the events into the hot table before the read
      // below, which finds the disk full.
      await t.engine.registry.actorFor(tenant)?.whenReady();
      const res = await t.post('/api/v1/events', {
        event_id: `a-${tenant}`,
        name: 'x',
        tenant_id: tenant,
      });
      expect(res.status).toBe(202);
    }
    // Room for acme's record whole and part of beta's: a short write, then ENOSPC.
    disk.roomBytes = 2000;
    const refused = await t.post('/api/v1/events/batch', batch);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('retry-after')).toBe('1');
    const answer = await body(refused);
    expect(answer.code).toBe('overloaded');
    expect(answer.detail).toContain("the data directory's disk is full (ENOSPC");
    expect(fatal).toEqual([]);

    // Refused at once, before anything is written, though the last disk check was fine.
    disk.roomBytes = 0; // and the disk fills up entirely: not even a staging file fits
    const writes = disk.writes;
    const next = await t.post('/api/v1/events', { event_id: 'n1', name: 'x', tenant_id: 'acme' });
    expect(next.status).toBe(503);
    expect((await body(next)).detail).toContain('disk is full');
    expect(disk.writes).toBe(writes);
    const ready = await t.get('/ready');
    expect(ready.status).toBe(503);
    expect(await body(ready)).toMatchObject({
      code: 'not_ready',
      detail: expect.stringContaining("the data directory's disk is full"),
    });
    // Reads go on (loading the acknowledged events from memory); nothing refused shows.
    expect(await ids(t, 'acme')).toEqual(['a-acme']);
    expect(disk.writes).toBeGreaterThan(writes); // the staging file was tried, and failed
    expect((await t.get('/api/v1/events/r-acme?tenant_id=acme')).status).toBe(404);
    // The SQL endpoint's export needs room: a clear 503, as DuckDB words the full disk.
    const store = t.engine.store as unknown as { exportFiles: () => Promise<unknown> };
    const exportFiles = store.exportFiles;
    store.exportFiles = () =>
      Promise.reject(new Error('IO Error: Could not write file "x": No space left on device'));
    const sql = await t.post('/api/v1/query', { sql: 'SELECT count(*) FROM events' });
    expect(sql.status).toBe(503);
    expect(sql.headers.get('retry-after')).toBe('1');
    expect(await body(sql)).toMatchObject({
      code: 'overloaded',
      detail: expect.stringContaining('disk is full'),
    });
    store.exportFiles = exportFiles;
    const actor = t.engine.registry.peek('acme');
    await actor?.whenReady();
    const live = actor?.rollups.snapshot(t.clock.now());
    expect(live?.windows['1h'].events).toBe(1);

    // Space is freed: the next check (a second on) resumes ingest, with no restart.
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    t.clock.advance(1000);
    expect((await t.get('/ready')).status).toBe(200);
    const retry = await t.post('/api/v1/events/batch', batch);
    expect(retry.status).toBe(202);
    expect(await body(retry)).toMatchObject({ accepted: 2, duplicates: 0 });
    const again = await t.post('/api/v1/events/batch', batch);
    expect(await body(again)).toMatchObject({ accepted: 0, duplicates: 2 });
    expect(await ids(t, 'acme')).toEqual(['a-acme', 'r-acme']);
    const counted = await body(
      await t.post('/api/v1/query?tenant_id=acme', { sql: 'SELECT count(*) AS n FROM events' }),
    );
    expect(counted.rows).toEqual([[2]]);

    await t.restart();
    expect(await ids(t, 'acme')).toEqual(['a-acme', 'r-acme']);
    expect(await ids(t, 'beta')).toEqual(['a-beta', 'r-beta']);
    expect(await t.count('acme')).toBe(2);
    expect(await t.count('beta')).toBe(2);
    expect(fatal).toEqual([]);
  });

  test('a batch naming a tenant whose actor is just starting is refused whole', async () => {
    const disk = new LimitedDisk();
    const fatal: unknown[] = [];
    t = await makeTestApp({ fileIo: disk, onFatal: (error) => fatal.push(error) });
    const first = { event_id: 'a-acme', name: 'x', tenant_id: 'acme' };
    expect((await t.post('/api/v1/events', first)).status).toBe(202);
    // beta has no actor yet: the batch starts it (its live counters are rebuilt from the
    // store first), while acme's is ready. Room for acme's record, not for beta's.
    expect(t.engine.registry.peek('beta')).toBeUndefined();
    disk.roomBytes = 2000;
    const refused = await t.post('/api/v1/events/batch', batch);
    expect(refused.status).toBe(503);
    expect(await ids(t, 'acme')).toEqual(['a-acme']);
    expect(await ids(t, 'beta')).toEqual([]);
    expect(fatal).toEqual([]);

    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    t.clock.advance(1000);
    const retry = await t.post('/api/v1/events/batch', batch);
    expect(await body(retry)).toMatchObject({ accepted: 2, duplicates: 0 });
    await t.restart();
    expect(await ids(t, 'acme')).toEqual(['a-acme', 'r-acme']);
    expect(await ids(t, 'beta')).toEqual(['r-beta']);
  });

  // README Limits: "Only when, at the bound of resident tenants (`ACTORS_MAX`), the batch waited
  // three times and each time a tenant's new actor was evicted again before it could be used,
  // does the batch go in parts; if the disk fills between those commits, it is answered `503`
  // while the tenants written before keep their events (a retry with the same `event_id`s
  // stores the rest exactly once)". The eviction is played by an actor never started in time.
  test('a batch that waited three times goes in parts: a full disk keeps the part written', async () => {
    const disk = new LimitedDisk();
    t = await makeTestApp({ fileIo: disk });
    const first = { event_id: 'a-acme', name: 'x', tenant_id: 'acme' };
    expect((await t.post('/api/v1/events', first)).status).toBe(202);
    await t.engine.registry.peek('acme')?.whenReady();
    const beta = t.engine.registry.actorFor('beta');
    if (beta === null) throw new Error('no actor for beta');
    await beta.whenReady();
    let waits = 0;
    const whenStarted = beta.whenStarted.bind(beta);
    Object.defineProperty(beta, 'isStarted', { get: () => false });
    beta.whenStarted = () => {
      waits++;
      // Past the batch's waits, its part's tick: the actor starts a moment later.
      return waits > 3 ? Bun.sleep(50).then(whenStarted) : whenStarted();
    };
    disk.roomBytes = 2000; // acme's record, not beta's
    const refused = await t.post('/api/v1/events/batch', batch);
    expect(waits).toBe(3 + 1); // the batch's three waits, then its part's own tick
    expect(refused.status).toBe(503);
    expect(await ids(t, 'acme')).toEqual(['a-acme', 'r-acme']);
    expect(await ids(t, 'beta')).toEqual([]);
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    t.clock.advance(1000);
    const retry = await t.post('/api/v1/events/batch', batch);
    expect(await body(retry)).toMatchObject({ accepted: 1, duplicates: 1 });
    await t.restart();
    expect(await ids(t, 'acme')).toEqual(['a-acme', 'r-acme']);
    expect(await ids(t, 'beta')).toEqual(['r-beta']);
  });

  test('an exhausted quota (EDQUOT) is tried again once a second, not at every request', async () => {
    const disk = new LimitedDisk(Number.MAX_SAFE_INTEGER, 'EDQUOT');
    const logged: string[] = [];
    t = await makeTestApp({
      fileIo: disk,
      onDiskFull: (error) => logged.push(error.message),
      onDiskRoom: () => logged.push('room'),
    });
    disk.freeBytes = () => 2 ** 40; // a quota: the file system shows room all the same
    const post = (id: string) => t?.post('/api/v1/events', { event_id: id, name: 'x' });
    expect((await post('e0'))?.status).toBe(202);
    // Its actor's rebuild reads after the 202; its load of the hot table is a write: done here.
    await t.engine.registry.peek('default')?.whenReady();
    disk.roomBytes = 0;
    expect((await post('e1'))?.status).toBe(503);
    const writes = disk.writes;
    for (const id of ['e2', 'e3', 'e4']) {
      const refused = await post(id);
      expect(refused?.status).toBe(503);
      expect(await refused?.json()).toMatchObject({ detail: expect.stringContaining('quota') });
    }
    expect(disk.writes).toBe(writes); // refused before writing: the log was not tried again
    expect(logged).toHaveLength(1);
    t.clock.advance(1000);
    expect((await post('e5'))?.status).toBe(503); // the check a second on tries once more
    expect(disk.writes).toBe(writes + 1);
    disk.roomBytes = Number.MAX_SAFE_INTEGER; // the quota is raised
    t.clock.advance(1000);
    expect((await post('e6'))?.status).toBe(202);
    expect(await t.count()).toBe(2);
  });

  test('requests naming events of a refused group are refused too, never called duplicates', async () => {
    const disk = new LimitedDisk();
    t = await makeTestApp({ fileIo: disk });
    const app = t;
    expect((await app.post('/api/v1/events', { event_id: 'warm', name: 'x' })).status).toBe(202);
    const event = (id: string) => ({
      event_id: id,
      name: 'x',
      properties: { blob: 'x'.repeat(8000) },
    });
    const big = { events: Array.from({ length: 10 }, (_, i) => event(`big-${i}`)) };
    const onlyDuplicates = { events: [event('big-0'), event('big-1')] };
    const mixed = { events: [event('big-2'), event('new')] };
    const committer = app.engine.store.committer as unknown as { inFlight: number };
    // big's record (over 64 KiB) is written on an I/O thread: held, then a short write.
    disk.roomBytes = 1000;
    const release = disk.holdWrites();
    const answers = [app.post('/api/v1/events/batch', big)];
    await until(() => committer.inFlight === 1);
    // All duplicates of big's events: it waits for big's commit (a barrier) ...
    answers.push(app.post('/api/v1/events/batch', onlyDuplicates));
    await until(() => committer.inFlight === 2);
    // ... and one duplicate with a new event, in a group behind big's.
    answers.push(app.post('/api/v1/events/batch', mixed));
    await until(() => committer.inFlight === 3);
    const lastSeq = () => app.engine.store.backlog().last_seq;
    const seqBefore = lastSeq();
    release();
    for (const answer of await Promise.all(answers)) {
      expect(answer.status).toBe(503);
      expect((await body(answer)).detail).toContain('disk is full');
    }
    expect(lastSeq()).toBe(seqBefore); // no seq was taken by what was refused
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    app.clock.advance(1000);
    // Nothing of them is stored, and their ids are new again.
    expect(await body(await app.post('/api/v1/events/batch', onlyDuplicates))).toMatchObject({
      accepted: 2,
    });
    expect(await body(await app.post('/api/v1/events/batch', big))).toMatchObject({
      accepted: 8,
      duplicates: 2,
    });
    expect(await body(await app.post('/api/v1/events/batch', mixed))).toMatchObject({
      accepted: 1,
      duplicates: 1,
    });
    expect(lastSeq()).toBe(seqBefore + 3); // one record each, numbered on from the last one
    await app.engine.store.flusher.flush();
    await app.restart();
    expect(await app.count()).toBe(12);
    expect(lastSeq()).toBe(seqBefore + 3);
  });
});

/** Waits for `condition` (real writes and fsyncs: up to 10 s on a busy machine). */
async function until(condition: () => boolean): Promise<void> {
  const deadline = performance.now() + 10_000;
  while (!condition() && performance.now() < deadline) await Bun.sleep(2);
  expect(condition()).toBe(true);
}
