// Erasing one person's events in the store: the events of that tenant with that id, flushed
// and unflushed, leave every read; only the segments holding one are rewritten (the others
// keep their catalog ids); other people, other tenants and later events of the person stay;
// a snapshot held across the rewrite sees the old events whole, and a compaction racing it
// leaves each kept event once.

import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ErasureField } from '../../src/core/index.ts';
import * as durable from '../../src/storage/durable-fs.ts';
import { ErasureLog } from '../../src/storage/erasure-log.ts';
import { minuteCountsFile, type Segment } from '../../src/storage/index.ts';
import { WriteAheadLog } from '../../src/storage/wal.ts';
import { countEvents, countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

type Sent = { id: string; user?: string; anon?: string };

async function send(app: TestApp, tenant: string, events: Sent[]): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: events.map((e) => ({
      event_id: e.id,
      name: 'page_view',
      tenant_id: tenant,
      user_id: e.user,
      anonymous_id: e.anon,
    })),
  });
  expect(res.status).toBe(202);
  await countersBuilt(app, tenant);
}

/** A tenant's event ids, through a store snapshot (segments ∪ hot), sorted. */
async function idsOf(app: TestApp, tenant: string): Promise<string[]> {
  const snapshot = await app.engine.store.snapshot(tenant);
  try {
    const r = await snapshot.connection.runAndReadAll(
      `SELECT event_id FROM ${snapshot.from} AS e ORDER BY event_id`,
      snapshot.params,
    );
    return r.getRowObjectsJS().map((row) => String(row.event_id));
  } finally {
    snapshot.release();
  }
}

async function eraseAndWait(app: TestApp, tenant: string, field: ErasureField, value: string) {
  const accepted = await app.engine.erasures.request(tenant, field, value);
  expect(accepted.status).toBe('pending');
  await app.engine.erasures.settled();
  return app.engine.erasures.get(tenant, accepted.id);
}

const segmentIds = (app: TestApp, tenant: string) =>
  app.engine.store.catalog.segmentsOf(tenant).map((s) => s.id);

describe('erasing a person', () => {
  test('flushed and unflushed events go; others, other tenants and later events stay', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await send(t, 'globex', [{ id: 'g1', user: 'u1' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [
      { id: 'a3', user: 'u1' },
      { id: 'a4', anon: 'u1' },
    ]);

    const done = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(done).toMatchObject({
      status: 'done',
      hotEvents: 1,
      segmentEvents: 1,
      segmentsRewritten: 1,
      reason: null,
    });
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a4']); // a4: anonymous_id, not user_id
    expect(await idsOf(t, 'globex')).toEqual(['g1']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a4']);

    // Later events of the person are stored as any other, also across a restart.
    await send(t, 'acme', [{ id: 'a5', user: 'u1' }]);
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a4', 'a5']);
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a4', 'a5']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a4', 'a5']);
  });

  test('unflushed events loaded in the hot table go; the others are read once', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await send(t, 'globex', [{ id: 'g1', user: 'u1' }]);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a2']); // loads the hot table
    await send(t, 'acme', [{ id: 'a3', user: 'u1' }]);
    const done = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(done).toMatchObject({ status: 'done', hotEvents: 2, segmentsRewritten: 0 });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
    expect(await idsOf(t, 'globex')).toEqual(['g1']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
    expect(await idsOf(t, 'globex')).toEqual(['g1']);
  });

  test('one committed as it is accepted (its fdatasync running) goes, and is counted', async () => {
    t = await makeTestApp();
    const app = t;
    await send(app, 'acme', [{ id: 'a1', user: 'u1' }]);
    // The next group's fdatasync waits: its record is written (at or below the erasure's seq)
    // but reaches the hot tier only after the erasure was accepted.
    let syncs = () => {};
    const held = new Promise<void>((resolve) => {
      syncs = resolve;
    });
    const sync = WriteAheadLog.prototype.sync;
    const waiting = spyOn(WriteAheadLog.prototype, 'sync').mockImplementation(async function (
      this: WriteAheadLog,
    ) {
      await held;
      return sync.call(this);
    });
    const written = app.engine.store.lastSeq;
    const inFlight = send(app, 'acme', [
      { id: 'a2', user: 'u1' },
      { id: 'a3', user: 'u1' },
      { id: 'a4', user: 'u2' },
    ]);
    while (app.engine.store.lastSeq === written) await Bun.sleep(1);
    const accepted = await app.engine.erasures.request('acme', 'user_id', 'u1');
    expect(accepted.throughSeq).toBe(app.engine.store.lastSeq);
    syncs();
    await inFlight;
    waiting.mockRestore();
    await app.engine.erasures.settled();
    expect(await idsOf(app, 'acme')).toEqual(['a4']);
    // Every event it erased is in its counts (a2 and a3 were left out of them).
    const done = app.engine.erasures.get('acme', accepted.id);
    expect(done).toMatchObject({ status: 'done', hotEvents: 3, segmentEvents: 0 });
  });

  test('a restart before any flush replays the log without the erased events', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await eraseAndWait(t, 'acme', 'user_id', 'u1');
    await send(t, 'acme', [{ id: 'a3', user: 'u1' }]); // after: kept
    await t.restart(); // the log still holds every record: nothing was flushed
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a3']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a2', 'a3']);
  });

  test('only the segments holding the person are rewritten; the others keep their ids', async () => {
    t = await makeTestApp({ compactSegmentsMin: 1000 });
    await send(t, 'acme', [{ id: 'a1', user: 'u2' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [
      { id: 'a2', user: 'u1' },
      { id: 'a3', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a4', user: 'u1' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a5', user: 'u3' }]);
    await t.engine.store.flusher.flush();
    const [first, mixed, only, last] = segmentIds(t, 'acme') as [number, number, number, number];

    const done = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(done).toMatchObject({ status: 'done', segmentEvents: 2, segmentsRewritten: 2 });
    const after = segmentIds(t, 'acme');
    expect(after).toContain(first);
    expect(after).toContain(last);
    expect(after).not.toContain(mixed);
    expect(after).not.toContain(only); // it held only the person's event: dropped, no file
    expect(after).toHaveLength(3);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a3', 'a5']);
    // The minute counts follow: the rewritten segment counts its one event left.
    const rewritten = t.engine.store.catalog.segmentsOf('acme').find((s) => s.id > last);
    expect(rewritten).toMatchObject({ rows: 1, hasMinuteCounts: true });
  });

  test('anonymous_id and visitor_id name a person too', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', anon: 'anon-1' },
      { id: 'a2', anon: 'anon-2' },
    ]);
    await t.engine.store.flusher.flush();
    expect(await eraseAndWait(t, 'acme', 'anonymous_id', 'anon-1')).toMatchObject({
      status: 'done',
      segmentEvents: 1,
    });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
    const snapshot = await t.engine.store.snapshot('acme');
    const r = await snapshot.connection.runAndReadAll(
      `SELECT visitor_id FROM ${snapshot.from} AS e`,
      snapshot.params,
    );
    snapshot.release();
    const visitor = String(r.getRowObjectsJS()[0]?.visitor_id);
    expect(await eraseAndWait(t, 'acme', 'visitor_id', visitor)).toMatchObject({
      status: 'done',
      segmentEvents: 1,
    });
    expect(await idsOf(t, 'acme')).toEqual([]);
  });

  test('a snapshot held across the rewrite sees every old event once; a new one the rest', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    const held = await t.engine.store.snapshot('acme');
    try {
      await eraseAndWait(t, 'acme', 'user_id', 'u1');
      const r = await held.connection.runAndReadAll(
        `SELECT event_id FROM ${held.from} AS e ORDER BY event_id`,
        held.params,
      );
      expect(r.getRowObjectsJS().map((row) => row.event_id)).toEqual(['a1', 'a2']);
      expect(await idsOf(t, 'acme')).toEqual(['a2']);
    } finally {
      held.release();
    }
    expect(await countEvents(t.engine.store, 'acme')).toBe(1);
  });

  test('done only once the replaced segment files are gone: a read holding them delays it', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    // Its actor's rebuild reads after the 202: done, so that the only read holding the old
    // files is the one below (the rebuild's, of every segment, would keep them a moment longer).
    await t.engine.registry.peek('acme')?.whenReady();
    await t.engine.store.flusher.flush();
    const [old] = t.engine.store.catalog.segmentsOf('acme') as [Segment];
    const oldFile = path.join(t.dataDir, 'segments', old.file);
    expect(fs.existsSync(oldFile)).toBe(true);
    const held = await t.engine.store.snapshot('acme'); // an export that began before
    let erasure: Awaited<ReturnType<typeof eraseAndWait>>;
    try {
      erasure = await eraseAndWait(t, 'acme', 'user_id', 'u1');
      // The old file still holds the person's event: `done` would be untrue.
      expect(fs.existsSync(oldFile)).toBe(true);
      expect(erasure).toMatchObject({ status: 'pending', segmentsRewritten: 1 });
      expect(erasure?.reason).toContain('2 files of the segments they replaced are still on disk');
    } finally {
      held.release(); // the files go, and the erasure is tried again at once
    }
    expect(fs.existsSync(oldFile)).toBe(false);
    await t.engine.erasures.settled();
    const id = erasure?.id as string;
    expect(t.engine.erasures.get('acme', id)).toMatchObject({ status: 'done', reason: null });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('a compaction that merged the segment first: its merge is rewritten', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    await send(t, 'acme', [{ id: 'a1', user: 'u1' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a2', user: 'u2' }]);
    await t.engine.store.flusher.flush();
    const store = t.engine.store;
    // A rewrite of the segment listed before the merge commits nothing.
    const match = { tenant: 'acme', field: 'user_id' as const, value: 'u1', throughSeq: 1e9 };
    const rewriter = (store.erasures as unknown as { deps: { rewriter: RewriterLike } }).deps
      .rewriter;
    const swapped = await rewriter.reading(async () => {
      const [stale] = await rewriter.affected(match);
      expect(await store.compactor.compact()).toBe(1);
      return rewriter.rewrite(stale as never, match, () => {
        throw new Error('never counted');
      });
    });
    expect(swapped).toBeNull();
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a2']);
    expect(await eraseAndWait(t, 'acme', 'user_id', 'u1')).toMatchObject({ status: 'done' });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('a compaction that read a segment rewritten since commits nothing, though its id is reused', async () => {
    let app: TestApp | undefined;
    let rewritten = false;
    t = app = await makeTestApp({
      compactSegmentsMin: 2,
      fault: (point) => {
        if (point !== 'compact:after-rename' || app === undefined) return;
        // An erasure's swap commits first: the highest segment goes, and its rewrite takes
        // the freed id (SQLite gives the next row max(id) + 1).
        const catalog = app.engine.store.catalog;
        const newest = catalog.segmentsOf('acme').at(-1) as Segment;
        const file = newest.file.replace('.parquet', '-rewritten.parquet');
        const dir = path.join(app.dataDir, 'segments');
        fs.copyFileSync(path.join(dir, newest.file), path.join(dir, file));
        fs.copyFileSync(
          path.join(dir, minuteCountsFile(newest.file)),
          path.join(dir, minuteCountsFile(file)),
        );
        const { id: _, ...rest } = newest;
        rewritten = catalog.replaceSegment(newest, { ...rest, file }, () => {});
        expect(catalog.segmentsOf('acme').at(-1)?.id).toBe(newest.id);
      },
    });
    await send(t, 'acme', [{ id: 'a1', user: 'u2' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a2', user: 'u2' }]);
    await t.engine.store.flusher.flush();
    expect(await t.engine.store.compactor.compact()).toBe(0); // refused: a source was replaced
    expect(rewritten).toBe(true);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a2']);
  });

  test("a merge of several flushes keeps each row's seq: the person's later rows stay", async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    await send(t, 'acme', [{ id: 'a1', user: 'u1' }]); // seq 1
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a2', user: 'u1' }]); // seq 2
    await t.engine.store.flusher.flush();
    expect(await t.engine.store.compactor.compact()).toBe(1);
    const rewriter = (t.engine.store.erasures as unknown as { deps: { rewriter: RewriterLike } })
      .deps.rewriter;
    const match = { tenant: 'acme', field: 'user_id' as const, value: 'u1', throughSeq: 1 };
    const swapped = await rewriter.reading(async () => {
      const [merged] = await rewriter.affected(match);
      return rewriter.rewrite(merged as never, match, () => {});
    });
    expect(swapped).toMatchObject({ events: 1 });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('a compaction running alongside: every kept event once, the erased none', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 3; i++) {
        await send(t, 'acme', [
          { id: `r${round}-p${i}`, user: 'u1' },
          { id: `r${round}-k${i}`, user: 'u2' },
        ]);
        await t.engine.store.flusher.flush();
      }
      const erasing = t.engine.erasures.request('acme', 'user_id', 'u1');
      await Promise.all([t.engine.store.compactor.compact(), erasing]);
      await t.engine.erasures.settled();
      const ids = await idsOf(t, 'acme');
      expect(ids.filter((id) => id.includes('-p'))).toEqual([]);
      expect(ids).toHaveLength(3 * (round + 1));
      expect(new Set(ids).size).toBe(ids.length);
    }
  });
});

// README Limits: erasures "run one at a time for the whole server".
test('erasures of two projects asked for at once run one after the other', async () => {
  const steps: string[] = [];
  t = await makeTestApp({
    fault: (point) => {
      if (point === 'erase:after-write' || point === 'erase:before-done') steps.push(point);
    },
  });
  for (const tenant of ['acme', 'globex']) {
    await send(t, tenant, [
      { id: `${tenant}-1`, user: 'u1' },
      { id: `${tenant}-2`, user: 'u2' },
    ]);
  }
  await t.engine.store.flusher.flush();
  const asked = await Promise.all(
    ['acme', 'globex'].map((tenant) => t?.engine.erasures.request(tenant, 'user_id', 'u1')),
  );
  expect(asked.map((e) => e?.status)).toEqual(['pending', 'pending']);
  await t.engine.erasures.settled();
  // Each rewrites its project's segment and is done before the other writes anything.
  expect(steps).toEqual([
    'erase:after-write',
    'erase:before-done',
    'erase:after-write',
    'erase:before-done',
  ]);
  expect([await idsOf(t, 'acme'), await idsOf(t, 'globex')]).toEqual([['acme-2'], ['globex-2']]);
});

describe('an erasure that fails, or reads that run alongside', () => {
  test('a failed step: failed with its reason, nothing lost or doubled; erased when asked again', async () => {
    let failOnce = true;
    t = await makeTestApp({
      fault: (point) => {
        if (point !== 'erase:after-rename' || !failOnce) return;
        failOnce = false;
        throw new Error('disk I/O error (test)');
      },
    });
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    const before = segmentIds(t, 'acme');
    const failed = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(failed).toMatchObject({ status: 'failed', reason: 'disk I/O error (test)' });
    expect(failed.finishedAt).not.toBeNull();
    expect(segmentIds(t, 'acme')).toEqual(before);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a2']);
    const staged = fs.readdirSync(path.join(t.dataDir, 'staging'));
    expect(staged.filter((f) => f.startsWith('erased-'))).toEqual([]);
    await t.restart(); // a failed erasure is not resumed
    expect(t.engine.store.erasureLog.get(failed.id)).toMatchObject({ status: 'failed' });
    expect(await eraseAndWait(t, 'acme', 'user_id', 'u1')).toMatchObject({ status: 'done' });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('reads during the rewrites: the others always whole and once, the person only going', async () => {
    t = await makeTestApp({ compactSegmentsMin: 1000 });
    for (let i = 0; i < 6; i++) {
      await send(t, 'acme', [
        { id: `p${i}`, user: 'u1' },
        { id: `k${i}`, user: 'u2' },
      ]);
      await t.engine.store.flusher.flush();
    }
    await t.engine.erasures.request('acme', 'user_id', 'u1');
    let running = true;
    const done = t.engine.erasures.settled().then(() => {
      running = false;
    });
    let persons = 6;
    let reads = 0;
    while (running || reads === 0) {
      const ids = await idsOf(t, 'acme');
      expect(ids.filter((id) => id.startsWith('k'))).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
      const seen = ids.filter((id) => id.startsWith('p')).length;
      expect(seen).toBeLessThanOrEqual(persons);
      persons = seen;
      reads++;
    }
    await done;
    expect(await idsOf(t, 'acme')).toEqual(['k0', 'k1', 'k2', 'k3', 'k4', 'k5']);
  });
});

describe('the ids of erased events', () => {
  test('stay in the dedup index: sent again, they are duplicates and not stored', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [{ id: 'a1', user: 'u1' }]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a2', user: 'u1' }]);
    await eraseAndWait(t, 'acme', 'user_id', 'u1');
    const res = await t.post('/api/v1/events/batch', {
      events: ['a1', 'a2', 'a3'].map((id) => ({
        event_id: id,
        name: 'page_view',
        tenant_id: 'acme',
        user_id: 'u1',
      })),
    });
    expect(res.status).toBe(202);
    const body = (await res.json()) as { duplicates?: number };
    expect(body).toMatchObject({ duplicates: 2 });
    expect(await idsOf(t, 'acme')).toEqual(['a3']);
  });

  test('stay across a clean restart; a rebuild after the log let them go takes them anew', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'b1', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    // Unflushed when erased: the erasure closes their log file, flushes and deletes it.
    await send(t, 'acme', [
      { id: 'a2', user: 'u1' },
      { id: 'b2', user: 'u2' },
    ]);
    await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(t.engine.store.backlog()).toMatchObject({ wal_files: 1, hot_bytes: 0 });
    const again = async () => {
      const res = await (t as TestApp).post('/api/v1/events/batch', {
        events: ['a1', 'a2', 'b1', 'b2'].map((id) => ({
          event_id: id,
          name: 'page_view',
          tenant_id: 'acme',
          user_id: id.startsWith('a') ? 'u1' : 'u2',
        })),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { results: { status: string }[] }).results.map((r) => r.status);
    };
    await t.restart(); // the index's snapshot
    expect(await again()).toEqual(['duplicate', 'duplicate', 'duplicate', 'duplicate']);
    expect(await idsOf(t, 'acme')).toEqual(['b1', 'b2']);
    // As after a crash: rebuilt from the segments and the log, which no longer hold a1 or a2
    // (README: a resend is a duplicate until a start rebuilds the index, and stored after).
    const dir = t.dataDir;
    await t.restart(() => fs.rmSync(path.join(dir, 'dedup-index.snapshot')));
    expect(await again()).toEqual(['accepted', 'accepted', 'duplicate', 'duplicate']);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'a2', 'b1', 'b2']);
  });
});

describe('an id with a lone surrogate', () => {
  test('is erased as ingest stored it (U+FFFD), unflushed events too', async () => {
    t = await makeTestApp();
    const lone = 'u\ud800';
    await send(t, 'acme', [
      { id: 'a1', user: lone },
      { id: 'a2', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', [{ id: 'a3', user: lone }]); // unflushed: cut from the hot tier
    const done = await eraseAndWait(t, 'acme', 'user_id', lone);
    expect(done).toMatchObject({ status: 'done', value: 'u\ufffd', hotEvents: 1 });
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });
});

describe('a project deleted while an erasure waits to be accepted', () => {
  test('the erasure is refused (404): none outlives the project', async () => {
    t = await makeTestApp();
    const others = Array.from({ length: 500 }, (_, i) => ({ id: `k${i}`, user: 'u2' }));
    await send(t, 'acme', [...others, { id: 'p1', user: 'u1' }]);
    const flushing = t.engine.store.flusher.flush(); // the acceptance waits for it
    const erasing = t.engine.erasures.request('acme', 'user_id', 'u1');
    const deleting = t.engine.deletions.delete('acme', { decide: (tombstone) => tombstone() });
    const [, erased] = await Promise.allSettled([flushing, erasing, deleting]);
    expect(erased).toMatchObject({ status: 'rejected', reason: { code: 'not_found' } });
    await t.engine.erasures.settled();
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toEqual([]);
    // The same id again (a new project): events and erasures as for any other.
    await send(t, 'acme', [{ id: 'n1', user: 'u1' }]);
    expect(await eraseAndWait(t, 'acme', 'user_id', 'u1')).toMatchObject({ hotEvents: 1 });
    expect(await idsOf(t, 'acme')).toEqual([]);
  });

  test('one asked for while the deletion drains the ingest: refused (404), not a 202', async () => {
    t = await makeTestApp();
    const app = t;
    await send(app, 'acme', [{ id: 'p1', user: 'u1' }]);
    // An event in flight (its fdatasync held) keeps the deletion draining the tenant's ingest.
    let syncs = () => {};
    const held = new Promise<void>((resolve) => {
      syncs = resolve;
    });
    const sync = WriteAheadLog.prototype.sync;
    const waiting = spyOn(WriteAheadLog.prototype, 'sync').mockImplementation(async function (
      this: WriteAheadLog,
    ) {
      await held;
      return sync.call(this);
    });
    const written = app.engine.store.lastSeq;
    const inFlight = send(app, 'acme', [{ id: 'p2', user: 'u1' }]);
    while (app.engine.store.lastSeq === written) await Bun.sleep(1);
    const deleting = app.engine.deletions.delete('acme', { decide: (tombstone) => tombstone() });
    expect(app.engine.deletions.isDeleting('acme')).toBe(true);
    const erasing = app.engine.erasures.request('acme', 'user_id', 'u1');
    // Refused at once: accepted, it would be deleted with the project after its 202.
    await expect(erasing).rejects.toMatchObject({ code: 'not_found' });
    syncs();
    await inFlight;
    await deleting;
    waiting.mockRestore();
    expect(app.engine.store.erasureLog.listOf('acme', 10)).toEqual([]);
    expect(await idsOf(app, 'acme')).toEqual([]);
  });

  test('a deletion decided while the hot tier is cut: refused (404), not an empty answer', async () => {
    let app: TestApp | undefined;
    t = app = await makeTestApp({
      fault: (point) => {
        if (point === 'erase:after-record') app?.engine.store.catalog.deleteTenant('acme', 0);
      },
    });
    await send(t, 'acme', [{ id: 'p1', user: 'u1' }]);
    const erasing = t.engine.erasures.request('acme', 'user_id', 'u1');
    await expect(erasing).rejects.toMatchObject({ code: 'not_found' });
    await t.engine.erasures.settled();
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toEqual([]);
  });
});

describe('a log that lost its unsynced tail', () => {
  test('events after the restart get seqs above the erasure: kept, flushed and replayed', async () => {
    // The power loss comes once the erasure is accepted, before it closes the log file.
    let stop = true;
    t = await makeTestApp({
      fault: (point) => {
        if (point !== 'erase:after-cut' || !stop) return;
        stop = false;
        throw new Error('the power went');
      },
    });
    await send(t, 'acme', [{ id: 'a1', user: 'u2' }]);
    const walDir = path.join(t.dataDir, 'wal');
    const [walFile] = fs.readdirSync(walDir).map((f) => path.join(walDir, f));
    const durableBytes = fs.statSync(walFile as string).size;
    // The erasure's seq is the log's last written one: globex's record here, which a power loss
    // may take when it was written but not synced as the erasure was accepted.
    await send(t, 'globex', [{ id: 'g1', user: 'u1' }]);
    await expect(t.engine.erasures.request('acme', 'user_id', 'u1')).rejects.toThrow('power');
    await t.restart(() => fs.truncateSync(walFile as string, durableBytes));
    await t.engine.erasures.settled(); // resumed at the start
    expect(t.engine.store.erasureLog.listOf('acme', 10)).toMatchObject([{ status: 'done' }]);
    await send(t, 'acme', [{ id: 'b1', user: 'u1' }]);
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'b1']);
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'b1']);
    await t.engine.store.flusher.flush();
    expect(await idsOf(t, 'acme')).toEqual(['a1', 'b1']);
  });
});

describe('an erasure accepted while the store closes', () => {
  test('stays pending and the next start finishes it: the close does not wait on it', async () => {
    t = await makeTestApp();
    await send(t, 'acme', [
      { id: 'a1', user: 'u1' },
      { id: 'a2', user: 'u2' },
    ]);
    await t.engine.store.flusher.flush();
    // Accepted after the close began: run then, its rewrite would hold the segment as a reader
    // and wait for the write lock the close holds until no reader is left.
    const accepted = t.engine.erasures.request('acme', 'user_id', 'u1');
    const restarted = t.restart().then(() => 'restarted');
    // A deadline that only ends a hang (the close waited for ever): a restart on a loaded
    // machine may take seconds.
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('close hung'), 30_000);
    });
    expect(await Promise.race([restarted, timeout])).toBe('restarted');
    clearTimeout(timer);
    const { id } = await accepted;
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', id).status).toBe('done');
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });
});

/** The files under `dir` (a data directory) whose bytes hold `needle`, relative to it. */
function filesHolding(dir: string, needle: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true, recursive: true }).flatMap((entry) => {
    const file = path.join(entry.parentPath, entry.name);
    const holds = entry.isFile() && fs.readFileSync(file).includes(needle);
    return holds ? [path.relative(dir, file)] : [];
  });
}

/** Two events of acme: u1's carrying `marker` in a property, u2's without. */
async function sendMarked(app: TestApp, marker: string): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: [
      { event_id: 'a1', name: 'signup', tenant_id: 'acme', user_id: 'u1', properties: { marker } },
      { event_id: 'a2', name: 'signup', tenant_id: 'acme', user_id: 'u2' },
    ],
  });
  expect(res.status).toBe(202);
  await countersBuilt(app, 'acme');
}

describe('the write-ahead log after an erasure', () => {
  test.each(['fsync', 'os'] as const)(
    'once done (DURABILITY=%s), no log file holds the flushed events: the current one is closed',
    async (durability) => {
      t = await makeTestApp({ durability });
      const marker = 'person-7@example.com';
      await sendMarked(t, marker);
      await t.engine.store.flusher.flush();
      expect(filesHolding(t.dataDir, marker).length).toBe(2); // its log record and its segment
      const erasure = await eraseAndWait(t, 'acme', 'user_id', 'u1');
      expect(erasure.status).toBe('done');
      expect(filesHolding(t.dataDir, marker)).toEqual([]);
      // Later events go to the new log file and are kept, across a restart too.
      await send(t, 'acme', [{ id: 'a3', user: 'u1' }]);
      await t.restart();
      expect(await idsOf(t, 'acme')).toEqual(['a2', 'a3']);
      expect(filesHolding(t.dataDir, marker)).toEqual([]);
    },
  );

  test('the records of unflushed events go before it is done: a flush passes them', async () => {
    t = await makeTestApp();
    const marker = 'person-8@example.com';
    const res = await t.post('/api/v1/events/batch', {
      events: [
        {
          event_id: 'b1',
          name: 'signup',
          tenant_id: 'acme',
          user_id: 'u1',
          properties: { marker },
        },
        { event_id: 'b2', name: 'signup', tenant_id: 'acme', user_id: 'u2' },
      ],
    });
    expect(res.status).toBe(202);
    const erasure = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(erasure.status).toBe('done');
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    expect(await idsOf(t, 'acme')).toEqual(['b2']);
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['b2']);
  });

  test("when the person's events were all the log held unflushed, its file goes too", async () => {
    t = await makeTestApp();
    await send(t, 'acme', [{ id: 'c0', user: 'u2' }]);
    await t.engine.store.flusher.flush();
    const marker = 'person-9@example.com';
    for (const id of ['c1', 'c2']) {
      const res = await t.post('/api/v1/events', {
        event_id: id,
        name: 'signup',
        tenant_id: 'acme',
        user_id: 'u1',
        properties: { marker },
      });
      expect(res.status).toBe(202);
    }
    expect(filesHolding(t.dataDir, marker).length).toBe(1); // the log file; no segment
    const erasure = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(erasure).toMatchObject({ status: 'done', hotEvents: 2 });
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    expect(fs.readdirSync(path.join(t.dataDir, 'wal'))).toEqual(['0000000002.wal']);
    await send(t, 'acme', [{ id: 'c3', user: 'u1' }]); // after the erasure: kept
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['c0', 'c3']);
    await t.engine.store.flusher.flush();
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['c0', 'c3']);
  });
});

describe('an erasure whose log release fails after its segments were rewritten', () => {
  /** The files under the data directory whose bytes hold `needle`. */
  test('no room for the new log file: pending with the reason, done after a later flush', async () => {
    const disk = new LimitedDisk();
    t = await makeTestApp({ fileIo: disk });
    const marker = 'person-10@example.com';
    await sendMarked(t, marker);
    await t.engine.store.flusher.flush();
    disk.roomBytes = 0; // the log file holding the person's record cannot be closed
    const waiting = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    // Not failed (its segments are rewritten), nor done (the log still holds the record).
    expect(waiting).toMatchObject({ status: 'pending', segmentsRewritten: 1, finishedAt: null });
    expect(waiting.reason).toContain('its segments are rewritten, but the write-ahead log still');
    expect(waiting.reason).toContain('ENOSPC');
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
    expect(filesHolding(t.dataDir, marker).map((f) => path.basename(path.dirname(f)))).toEqual([
      'wal',
    ]);
    // A flush while the disk is still full: tried again, still pending.
    await t.engine.store.flusher.flush();
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', waiting.id).status).toBe('pending');

    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    await t.engine.store.flusher.flush(); // the release is tried again after it
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', waiting.id)).toMatchObject({
      status: 'done',
      reason: null,
      segmentsRewritten: 1, // not rewritten again
    });
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    await t.restart();
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('its flush fails: pending, and the next start finishes it', async () => {
    let failFlush = false;
    t = await makeTestApp({
      fault: (point) => {
        if (point === 'flush:after-rename' && failFlush) throw new Error('disk I/O error (test)');
      },
    });
    const marker = 'person-11@example.com';
    await sendMarked(t, marker); // unflushed: the erasure's flush passes its record
    failFlush = true;
    const waiting = await eraseAndWait(t, 'acme', 'user_id', 'u1');
    expect(waiting).toMatchObject({ status: 'pending', hotEvents: 1 });
    expect(waiting.reason).toContain('disk I/O error (test)');
    expect(filesHolding(t.dataDir, marker)).toHaveLength(1); // the log file
    failFlush = false;
    await t.restart(); // resumed at the start
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', waiting.id)).toMatchObject({ status: 'done' });
    expect(filesHolding(t.dataDir, marker)).toEqual([]);
    expect(await idsOf(t, 'acme')).toEqual(['a2']);
  });

  test('tried again after a flush, or resumed at a start: no old reason shows while it runs', async () => {
    // The reason says why it waits; once tried again, it no longer does (one that fails again
    // sets its own). Read as each try ends, just before it is marked done.
    const finish = ErasureLog.prototype.finish;
    const reasonsAtFinish: (string | null)[] = [];
    const finished = spyOn(ErasureLog.prototype, 'finish').mockImplementation(function (
      this: ErasureLog,
      id,
      status,
      reason,
    ) {
      reasonsAtFinish.push(this.get(id)?.reason ?? null);
      finish.call(this, id, status, reason);
    });
    try {
      let failFlush = false;
      const disk = new LimitedDisk();
      t = await makeTestApp({
        fileIo: disk,
        fault: (point) => {
          if (point === 'flush:after-rename' && failFlush) throw new Error('disk I/O error (test)');
        },
      });
      // Tried again after a flush: no room for its new log file, then room.
      await sendMarked(t, 'person-14@example.com');
      await t.engine.store.flusher.flush();
      disk.roomBytes = 0;
      const first = await eraseAndWait(t, 'acme', 'user_id', 'u1');
      expect(first.reason).toContain('ENOSPC');
      disk.roomBytes = Number.MAX_SAFE_INTEGER;
      await t.engine.store.flusher.flush();
      await t.engine.erasures.settled();
      expect(t.engine.erasures.get('acme', first.id).status).toBe('done');
      // Resumed at a start: its flush failed.
      await send(t, 'acme', [{ id: 'd1', user: 'u3' }]);
      failFlush = true;
      const second = await eraseAndWait(t, 'acme', 'user_id', 'u3');
      expect(second.reason).toContain('disk I/O error (test)');
      failFlush = false;
      await t.restart();
      await t.engine.erasures.settled();
      expect(t.engine.erasures.get('acme', second.id).status).toBe('done');
      expect(reasonsAtFinish).toEqual([null, null]);
    } finally {
      finished.mockRestore();
    }
  });

  test('two waiting for a log file do not start each other again from their own flushes', async () => {
    // Each retry's release flushes while the file holding its records is not flushed through;
    // each of those flushes started the other's retry again, for ever (promise steps only:
    // no timer, no request ran meanwhile). Here an acknowledged group has not reached the hot
    // tier yet (the moment between its commit and `committed`), so no flush passes it.
    t = await makeTestApp();
    const store = t.engine.store;
    await sendMarked(t, 'person-13@example.com');
    await store.flusher.flush();
    const committed = store.committed.bind(store);
    let held = () => {};
    store.committed = (seq, group) => {
      held = () => committed(seq, group);
    };
    const res = await t.post('/api/v1/events', { tenant_id: 'acme', name: 'x', user_id: 'u9' });
    expect(res.status).toBe(202);
    store.committed = committed;
    let flushes = 0;
    const flush = store.flusher.flush.bind(store.flusher);
    store.flusher.flush = () => {
      if (++flushes === 100) held(); // the group reaches the hot tier: the loop can end
      return flush();
    };

    const first = await t.engine.erasures.request('acme', 'user_id', 'u1');
    const second = await t.engine.erasures.request('acme', 'user_id', 'u2');
    await t.engine.erasures.settled();
    await store.flusher.flush(); // tries both again
    await Bun.sleep(20); // a timer runs only once the promise steps stop
    await t.engine.erasures.settled();
    expect(flushes).toBeLessThan(20);
    expect(t.engine.erasures.get('acme', first.id).reason).toContain('still holds records');
    expect(t.engine.erasures.get('acme', second.id).reason).toContain('still holds records');

    held();
    await store.flusher.flush();
    await t.engine.erasures.settled();
    expect(t.engine.erasures.get('acme', first.id).status).toBe('done');
    expect(t.engine.erasures.get('acme', second.id).status).toBe('done');
  });

  test('the fsync of its log file deletion fails: not done until one succeeds', async () => {
    // The unlink of the file holding the person's record is durable only once the directory
    // is fsynced: a power loss before that may bring the file back.
    t = await makeTestApp();
    const walDir = path.join(t.dataDir, 'wal');
    const first = path.join(walDir, '0000000001.wal');
    let failSync = true;
    const real = durable.fsyncPath;
    const fsynced = spyOn(durable, 'fsyncPath').mockImplementation((target) => {
      // The rotation's fsync passes; those after the person's file was unlinked fail.
      if (failSync && target === walDir && !fs.existsSync(first)) throw new Error('EIO (test)');
      real(target);
    });
    try {
      await sendMarked(t, 'person-12@example.com');
      await t.engine.store.flusher.flush();
      const waiting = await eraseAndWait(t, 'acme', 'user_id', 'u1');
      expect(waiting).toMatchObject({ status: 'pending', segmentsRewritten: 1 });
      expect(waiting.reason).toContain('EIO (test)');
      expect(fs.existsSync(first)).toBe(false); // unlinked, not durably
      // A flush while the directory still cannot be synced: the deletion is still not durable.
      await t.engine.store.flusher.flush().catch(() => undefined);
      await t.engine.erasures.settled();
      expect(t.engine.erasures.get('acme', waiting.id).status).toBe('pending');

      failSync = false;
      await t.engine.store.flusher.flush();
      await t.engine.erasures.settled();
      expect(t.engine.erasures.get('acme', waiting.id)).toMatchObject({ status: 'done' });
    } finally {
      fsynced.mockRestore();
    }
  });
});

interface RewriterLike {
  reading<T>(work: () => Promise<T>): Promise<T>;
  affected(match: { tenant: string; field: 'user_id'; value: string }): Promise<unknown[]>;
  rewrite(
    segment: never,
    match: { tenant: string; field: 'user_id'; value: string; throughSeq: number },
    onSwap: (events: number) => void,
  ): Promise<unknown>;
}
