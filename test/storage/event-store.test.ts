import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

const DAY = 86_400_000;

async function sendBatch(app: TestApp, ids: string[], extra: Record<string, unknown> = {}) {
  const res = await app.post('/api/v1/events/batch', {
    events: ids.map((id) => ({ event_id: id, name: 'page_view', path: `/${id}`, ...extra })),
  });
  expect(res.status).toBe(202);
}

/** Rows and distinct event ids a query sees for `tenant`: equal when nothing is counted twice. */
async function idsSeen(app: TestApp, tenant: string): Promise<{ rows: number; ids: number }> {
  const snapshot = await app.engine.store.snapshot(tenant);
  try {
    const r = await snapshot.connection.runAndReadAll(
      `SELECT count(*) AS rows, count(DISTINCT event_id) AS ids FROM ${snapshot.from} AS e`,
      snapshot.params,
    );
    const row = r.getRowObjectsJS()[0] as { rows: bigint; ids: bigint };
    return { rows: Number(row.rows), ids: Number(row.ids) };
  } finally {
    snapshot.release();
  }
}

/** Segment files (not their minute-count companions), relative to the segments directory. */
function segmentFiles(dataDir: string): string[] {
  return parquetFiles(dataDir).filter((f) => !f.endsWith('.minutes.parquet'));
}

function parquetFiles(dataDir: string): string[] {
  const root = path.join(dataDir, 'segments');
  return fs.existsSync(root)
    ? (fs.readdirSync(root, { recursive: true }) as string[])
        .filter((f) => f.endsWith('.parquet'))
        .sort()
    : [];
}

/** The compression codecs of the segment files' columns, from their Parquet footers. */
async function compressionsOf(dataDir: string): Promise<string[]> {
  const files = segmentFiles(dataDir).map((f) => path.join(dataDir, 'segments', f));
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const list = files.map((f) => `'${f.replaceAll("'", "''")}'`).join(', ');
    const r = await connection.runAndReadAll(
      `SELECT DISTINCT compression FROM parquet_metadata([${list}]) ORDER BY 1`,
    );
    return r.getRowObjectsJS().map((row) => String(row.compression));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

describe('flush', () => {
  test('moves acknowledged events into one segment per tenant and UTC day', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['a1', 'a2'], { tenant_id: 'acme' });
    await sendBatch(t, ['g1'], { tenant_id: 'globex' });
    // A late event lands in its own day's partition.
    await sendBatch(t, ['late'], { tenant_id: 'acme', timestamp: T0 - 40 * DAY });
    // Days are UTC days: the last millisecond of a day stays in it, whatever the offset sent.
    await sendBatch(t, ['old'], { tenant_id: 'acme', timestamp: '2026-11-25T01:59:59.999+02:00' });
    const result = await t.engine.store.flusher.flush();
    expect(result).toMatchObject({ segments: 4, rows: 5 });
    const files = segmentFiles(t.dataDir);
    expect(files.map((f) => path.dirname(f))).toEqual([
      'tenant=acme/day=2026-10-16',
      'tenant=acme/day=2026-11-24',
      'tenant=acme/day=2026-11-25',
      'tenant=globex/day=2026-11-25',
    ]);
    expect(t.engine.store.hot.bytes).toBe(0);
    expect(await t.count('acme')).toBe(4);
    expect(await t.count('globex')).toBe(1);
    expect((await t.get('/api/v1/events/late?tenant_id=acme')).status).toBe(200);
    expect((await t.get('/api/v1/events/old?tenant_id=acme')).status).toBe(200);
  });

  const shm = '/dev/shm';
  const apart = fs.existsSync(shm) ? test : test.skip;
  apart('segments on a file system of their own (a symlink to another mount) flush', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    const elsewhere = fs.mkdtempSync(path.join(shm, 'tally-segments-'));
    try {
      const segments = path.join(t.dataDir, 'segments');
      expect(fs.statSync(elsewhere).dev).not.toBe(fs.statSync(t.dataDir).dev);
      fs.rmSync(segments, { recursive: true });
      fs.symlinkSync(elsewhere, segments);
      await t.restart();
      await sendBatch(t, ['a1', 'a2'], { tenant_id: 'acme' });
      expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 2 });
      await sendBatch(t, ['a3'], { tenant_id: 'acme' });
      expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 1 });
      expect(await t.engine.store.compactor.compact()).toBe(1);
      await t.restart(); // the sweep at start keeps what the catalog lists, removes no copy
      expect(await t.count('acme')).toBe(3);
      const day = path.join(elsewhere, 'tenant=acme', 'day=2026-11-25');
      expect(fs.readdirSync(day).filter((f) => f.includes('.copying'))).toEqual([]);
      expect(segmentFiles(t.dataDir)).toHaveLength(1);
    } finally {
      await t.close();
      t = undefined;
      fs.rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  test('a tenant id whose escaped form is too long for a file name flushes like any', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    // 128 characters, valid, escaped to 384 bytes (`:` is `%3A`): past a file name's 255.
    const long = `a${':'.repeat(127)}`;
    await sendBatch(t, ['l1'], { tenant_id: long });
    await sendBatch(t, ['a1'], { tenant_id: 'acme' });
    expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 2, rows: 2 });
    await sendBatch(t, ['l2'], { tenant_id: long });
    expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 1 });
    expect(await t.engine.store.compactor.compact()).toBe(1); // the long id's two segments
    await t.restart(); // the sweep at start keeps the files the catalog lists
    expect(await idsSeen(t, long)).toEqual({ rows: 2, ids: 2 });
    expect(await t.count('acme')).toBe(1);
  });

  test('a long SQL statement holds no lock: flushes and other reads go on meanwhile', async () => {
    // The statement runs until its limit: room for the flush and the read below to finish
    // first on a loaded machine; the export it starts with is awaited up to EXPORT_WAIT_MS.
    const STATEMENT_MS = 10_000;
    const EXPORT_WAIT_MS = 30_000;
    const app = await makeTestApp({}, { queryTimeoutMs: STATEMENT_MS });
    t = app;
    await sendBatch(app, ['a1', 'a2']);
    let sqlDone = false;
    const slow = app
      .post('/api/v1/query', {
        sql: 'WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT max(i) FROM r',
      })
      .then((res) => {
        sqlDone = true;
        return res.status;
      });
    const staging = path.join(app.dataDir, 'staging');
    const exports = () => fs.readdirSync(staging).filter((f) => f.startsWith('export-'));
    // Exported: the statement is starting (its time limit counts from its start).
    const deadline = performance.now() + EXPORT_WAIT_MS;
    for (; exports().length === 0; await Bun.sleep(10)) {
      if (performance.now() > deadline) throw new Error('the statement never exported its events');
    }
    expect(await app.engine.store.flusher.flush()).toMatchObject({ rows: 2 });
    expect(await app.count()).toBe(2);
    expect(sqlDone).toBe(false);
    expect(await slow).toBe(408);
    expect(exports()).toEqual([]); // its exported files are gone with it
  });

  test('a range reaching past year 9999 or before year 0000 still reads the segments', async () => {
    const app = await makeTestApp();
    t = app;
    await sendBatch(app, ['a1', 'a2']);
    await app.engine.store.flusher.flush();
    const stats = async (query: string) =>
      ((await (await app.get(`/api/v1/stats?${query}`)).json()) as { total_events: number })
        .total_events;
    expect(await stats('from=2026-01-01&to=9999-12-31&tz=America/New_York')).toBe(2);
    expect(await stats('from=0000-01-01&to=2027-01-01&tz=Asia/Tokyo')).toBe(2);
  });

  test('after a flush and a restart, nothing is replayed twice and ids stay deduplicated', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['x1', 'x2']);
    await t.engine.store.flusher.flush();
    await sendBatch(t, ['x3']);
    await t.restart();
    expect(await t.count()).toBe(3);
    const again = await t.post('/api/v1/events/batch', {
      events: ['x1', 'x2', 'x3', 'x4'].map((id) => ({ event_id: id, name: 'page_view' })),
    });
    expect(await again.json()).toMatchObject({ accepted: 1, duplicates: 3 });
  });

  test('queries during a flush see every event once, loaded before, during or after it', async () => {
    t = await makeTestApp();
    const app = t;
    await sendBatch(app, ['a1', 'a2'], { tenant_id: 'acme' });
    expect(await app.count('acme')).toBe(2); // a1, a2 are in the hot table now
    await sendBatch(app, ['b1', 'b2'], { tenant_id: 'acme' });
    await sendBatch(app, ['b3'], { tenant_id: 'acme', timestamp: T0 - 3 * DAY }); // a 2nd day
    await sendBatch(app, ['g1'], { tenant_id: 'globex' });
    // The new actors' rebuilds read the store after their 202: done before the race below.
    for (const tenant of ['acme', 'globex']) await app.engine.registry.peek(tenant)?.whenReady();
    const flushing = app.engine.store.flusher.flush();
    // Queries race the flush: whichever step it is at, each sees every event exactly once,
    // and one of them loads b1..g1 into the hot table while the flush writes them out.
    const during = [idsSeen(app, 'acme'), idsSeen(app, 'globex')];
    await Bun.sleep(0);
    await sendBatch(app, ['c1'], { tenant_id: 'acme' }); // arrives during the flush
    during.push(idsSeen(app, 'acme'));
    const [first, globex, last] = await Promise.all(during);
    // The first query's snapshot may be taken before or after c1 is acknowledged.
    expect(first?.rows === 5 || first?.rows === 6).toBe(true);
    expect(first?.rows).toBe(first?.ids as number);
    expect(globex).toEqual({ rows: 1, ids: 1 });
    expect(last).toEqual({ rows: 6, ids: 6 });
    expect(await flushing).toMatchObject({ segments: 3, rows: 6 });
    expect(await app.count('acme')).toBe(6);
    expect(await app.count('globex')).toBe(1);
    expect(segmentFiles(app.dataDir).map((f) => path.dirname(f))).toEqual([
      'tenant=acme/day=2026-11-22',
      'tenant=acme/day=2026-11-25',
      'tenant=globex/day=2026-11-25',
    ]);
    // c1 stays hot until the next flush, then lands in a segment of its own.
    expect(app.engine.store.hot.bytes).toBeGreaterThan(0);
    expect(await app.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 1 });
    expect(app.engine.store.hot.bytes).toBe(0);
    expect(await app.count('acme')).toBe(6);
    await app.restart();
    expect(await app.count('acme')).toBe(6);
  });

  test('a flush started behind two queries stores each event once, also after a restart', async () => {
    t = await makeTestApp();
    const app = t;
    await sendBatch(app, ['a1']);
    const q1 = idsSeen(app, 'default'); // loads a1 into the hot table
    await sendBatch(app, ['a2']);
    const q2 = idsSeen(app, 'default'); // waits for that load
    const flushed = app.engine.store.flusher.flush(); // waits too
    await sendBatch(app, ['a3']); // committed meanwhile
    await Promise.all([q1, q2, flushed]);
    expect(await idsSeen(app, 'default')).toEqual({ rows: 3, ids: 3 });
    await app.engine.store.flusher.flush();
    expect(await idsSeen(app, 'default')).toEqual({ rows: 3, ids: 3 });
    await app.restart();
    expect(await idsSeen(app, 'default')).toEqual({ rows: 3, ids: 3 });
  });

  test('a log left with only an empty file after a flush numbers on above the flushed seq', async () => {
    t = await makeTestApp({ walFileBytesMax: 1 }); // every commit after the first rotates
    const app = t;
    for (const id of ['a', 'b', 'c']) await sendBatch(app, [id]);
    await app.engine.store.flusher.flush(); // through seq 3; the closed files are released
    const walDir = path.join(app.dataDir, 'wal');
    await app.restart(() => {
      // As a crash leaves it: the next commit had created a new file, its write not landed.
      const files = fs.readdirSync(walDir).sort();
      const last = files.at(-1) as string;
      fs.rmSync(path.join(walDir, last));
      const next = `${String(Number(last.slice(0, 10)) + 1).padStart(10, '0')}.wal`;
      fs.writeFileSync(path.join(walDir, next), '');
    });
    expect(app.engine.store.lastSeq).toBe(3);
    await sendBatch(app, ['d']);
    await app.restart();
    expect(await app.count()).toBe(4); // 'd' is acknowledged, so it survives the restart
  });

  test('events replayed from the log after a restart flush into their own days', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['r1', 'r2'], { tenant_id: 'acme' });
    await sendBatch(t, ['r3'], { tenant_id: 'acme', timestamp: T0 - 2 * DAY });
    await sendBatch(t, ['r4'], { tenant_id: 'globex' });
    await t.restart(); // the replayed groups' days are not known until the flush reads them
    expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 3, rows: 4 });
    expect(segmentFiles(t.dataDir).map((f) => path.dirname(f))).toEqual([
      'tenant=acme/day=2026-11-23',
      'tenant=acme/day=2026-11-25',
      'tenant=globex/day=2026-11-25',
    ]);
    expect(await t.count('acme')).toBe(3);
    await t.restart();
    expect(await t.count('acme')).toBe(3);
    expect(await t.count('globex')).toBe(1);
  });

  test('a flush that would leave an event out commits nothing and keeps the log', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['k1', 'k2']);
    // Simulate a wrong day note: the flush would write no segment holding these events.
    const groups = (t.engine.store.hot as unknown as { groups: { days: number[] }[] }).groups;
    (groups[0] as { days: number[] }).days = [0];
    await expect(t.engine.store.flusher.flush()).rejects.toThrow(/wrote 0 of its 2 events/);
    expect(t.engine.store.catalog.flushedThroughSeq()).toBe(0);
    expect(await t.count()).toBe(2);
    await t.restart(); // replayed from the log, the days are found by reading the events
    expect(await t.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 2 });
    expect(await t.count()).toBe(2);
  });

  test('a flush whose catalog commit fails gives its events back and removes its files', async () => {
    t = await makeTestApp();
    const app = t;
    await sendBatch(app, ['f1']);
    const { catalog } = app.engine.store;
    const commitFlush = catalog.commitFlush.bind(catalog);
    catalog.commitFlush = () => {
      throw new Error('SQLITE_FULL: database or disk is full');
    };
    await expect(app.engine.store.flusher.flush()).rejects.toThrow('SQLITE_FULL');
    catalog.commitFlush = commitFlush; // the disk has room again
    const segmentsDir = path.join(app.dataDir, 'segments');
    const files = (dir: string): string[] =>
      fs
        .readdirSync(dir, { recursive: true, withFileTypes: true })
        .flatMap((e) => (e.isFile() ? [e.name] : []));
    expect(files(segmentsDir)).toEqual([]);
    expect(await app.count()).toBe(1);
    await sendBatch(app, ['f2']);
    expect(await app.engine.store.flusher.flush()).toMatchObject({ segments: 1, rows: 2 });
    expect(await idsSeen(app, 'default')).toEqual({ rows: 2, ids: 2 });
  });

  test('a snapshot that fails lets go of its lock: flushes and later reads go on', async () => {
    t = await makeTestApp();
    const app = t;
    await sendBatch(app, ['s1']);
    const { catalog } = app.engine.store;
    const segmentsOf = catalog.segmentsOf.bind(catalog);
    catalog.segmentsOf = () => {
      throw new Error('SQLITE_IOERR: disk I/O error');
    };
    await expect(app.engine.store.snapshot('default')).rejects.toThrow('SQLITE_IOERR');
    catalog.segmentsOf = segmentsOf;
    const flushed = app.engine.store.flusher.flush(); // a writer: waits for every reader
    const winner = await Promise.race([flushed.then(() => 'flushed'), Bun.sleep(5000)]);
    expect(winner).toBe('flushed');
    expect(await idsSeen(app, 'default')).toEqual({ rows: 1, ids: 1 });
  });

  test('removes segment files the catalog does not know at start', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['s1']);
    await t.engine.store.flusher.flush();
    const stray = path.join(
      t.dataDir,
      'segments',
      'tenant=default',
      'day=2026-11-25',
      'stray.parquet',
    );
    fs.copyFileSync(path.join(t.dataDir, 'segments', segmentFiles(t.dataDir)[0] as string), stray);
    await t.restart();
    expect(fs.existsSync(stray)).toBe(false);
    expect(await t.count()).toBe(1);
  });
});

describe('snapshot', () => {
  test('sees the same events however long it is held, while others load newer ones', async () => {
    t = await makeTestApp();
    const app = t;
    await sendBatch(app, ['a']);
    const held = await app.engine.store.snapshot('default');
    const seen = async () => {
      const r = await held.connection.runAndReadAll(
        `SELECT (SELECT count(*) FROM ${held.from} AS e) AS rows,
                (SELECT sum(events) FROM ${held.minutesFrom} AS m) AS counted`,
        held.params,
      );
      const row = r.getRowObjectsJS()[0] as { rows: bigint; counted: bigint };
      return { rows: Number(row.rows), counted: Number(row.counted) };
    };
    try {
      expect(await seen()).toEqual({ rows: 1, counted: 1 });
      await sendBatch(app, ['b']);
      expect(await app.count()).toBe(2); // another reader's snapshot loads b into the hot table
      expect(await seen()).toEqual({ rows: 1, counted: 1 });
      const exported = await held.exportFiles();
      try {
        const r = await held.connection.runAndReadAll(
          `SELECT count(*) AS n FROM read_parquet([${exported.files.map((f) => `'${f.path}'`)}])`,
        );
        expect(Number((r.getRowObjectsJS()[0] as { n: bigint }).n)).toBe(1);
      } finally {
        exported.remove();
      }
    } finally {
      held.release();
    }
    expect(await idsSeen(app, 'default')).toEqual({ rows: 2, ids: 2 });
  });
  test('within reads only the segments holding an event of its range, and every hot row', async () => {
    t = await makeTestApp();
    const app = t;
    // Three days flushed to three segments, one event left unflushed; each at a known instant.
    const at = { old: T0 - 10 * DAY, mid: T0 - DAY + 1, now: T0, hot: T0 - 20 * DAY };
    for (const id of ['old', 'mid', 'now'] as const)
      await sendBatch(app, [id], { timestamp: new Date(at[id]).toISOString() });
    await app.engine.store.flusher.flush();
    await sendBatch(app, ['hot'], { timestamp: at.hot });
    const held = await app.engine.store.snapshot('default');
    const idsWithin = async (range: { fromMs?: number; toMs?: number }) => {
      const r = await held.connection.runAndReadAll(
        `SELECT event_id FROM ${held.within(range)} AS e ORDER BY event_id`,
        held.params,
      );
      return r.getRowObjectsJS().map((row) => String(row.event_id));
    };
    try {
      expect(await idsWithin({})).toEqual(['hot', 'mid', 'now', 'old']);
      // Rows are not filtered by time (the query does that): whole segments, and the hot row.
      expect(await idsWithin({ fromMs: T0 - 2 * DAY })).toEqual(['hot', 'mid', 'now']);
      expect(await idsWithin({ toMs: T0 - 5 * DAY })).toEqual(['hot', 'old']);
      expect(await idsWithin({ fromMs: T0 - 9 * DAY, toMs: T0 - 2 * DAY })).toEqual(['hot']);
      // At its edges: an event at a range's first instant is in it, one at its end is not.
      expect(await idsWithin({ fromMs: at.mid, toMs: at.mid + 1 })).toEqual(['hot', 'mid']);
      expect(await idsWithin({ fromMs: at.mid + 1, toMs: T0 })).toEqual(['hot']);
      expect(await idsWithin({ fromMs: T0 - 5 * DAY, toMs: at.mid })).toEqual(['hot']);
    } finally {
      held.release();
    }
  });

  test("a held snapshot holds up no flush, compaction or other tenant's read", async () => {
    t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
    const app = t;
    for (const id of ['a1', 'a2']) {
      await sendBatch(app, [id], { tenant_id: 'acme' });
      await app.engine.store.flusher.flush();
    }
    await sendBatch(app, ['a3'], { tenant_id: 'acme' });
    // One tenant's long read: the snapshot is held as a slow query would hold it.
    const held = await app.engine.store.snapshot('acme');
    const seen = async () => {
      const r = await held.connection.runAndReadAll(
        `SELECT count(*) AS rows, count(DISTINCT event_id) AS ids FROM ${held.from} AS e`,
        held.params,
      );
      const row = r.getRowObjectsJS()[0] as { rows: bigint; ids: bigint };
      return { rows: Number(row.rows), ids: Number(row.ids) };
    };
    const soon = <T>(work: Promise<T>) =>
      Promise.race([work.then(() => 'done'), Bun.sleep(5000).then(() => 'held up')]);
    try {
      expect(await seen()).toEqual({ rows: 3, ids: 3 });
      await sendBatch(app, ['g1'], { tenant_id: 'globex' });
      // The flush moves a3 and g1 out of the hot table, the compaction merges acme's three
      // segments: neither waits for the held snapshot, nor does another tenant's read.
      expect(await soon(app.engine.store.flusher.flush())).toBe('done');
      expect(await soon(app.engine.store.compactor.compact())).toBe('done');
      expect(await soon(idsSeen(app, 'globex'))).toBe('done');
      expect(await idsSeen(app, 'globex')).toEqual({ rows: 1, ids: 1 });
      expect(await idsSeen(app, 'acme')).toEqual({ rows: 3, ids: 3 });
      // The held snapshot still reads what it saw: its hot rows and the replaced segments.
      expect(await seen()).toEqual({ rows: 3, ids: 3 });
      const exported = await held.exportFiles();
      exported.remove();
    } finally {
      held.release();
    }
    // Released, the replaced segments are removed: acme's merged one and globex's remain.
    expect(segmentFiles(app.dataDir).map((f) => path.dirname(f))).toEqual([
      'tenant=acme/day=2026-11-25',
      'tenant=globex/day=2026-11-25',
    ]);
    expect(await idsSeen(app, 'acme')).toEqual({ rows: 3, ids: 3 });
  });
  test('a replaced file that cannot be removed fails no read; compaction reports it', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2, smallSegmentBytesMax: 1 << 30 });
    const app = t;
    const store = app.engine.store;
    for (const id of ['a1', 'a2']) {
      await sendBatch(app, [id]);
      await store.flusher.flush();
    }
    const [first] = segmentFiles(app.dataDir);
    const held = await store.snapshot('default');
    expect(await store.compactor.compact()).toBe(1);
    // A replaced file that refuses removal, as on a file system remounted read-only: here a
    // directory in its place (rm refuses it even to root).
    const stuck = path.join(app.dataDir, 'segments', first as string);
    fs.rmSync(stuck);
    fs.mkdirSync(stuck);
    held.release(); // the removal fails: not this read's failure, nor any later read's
    expect(await idsSeen(app, 'default')).toEqual({ rows: 2, ids: 2 });
    expect((await app.get('/api/v1/stats')).status).toBe(200);
    // The file stays retired: the next compaction that retires files tries it again and
    // reports it, rather than leaving it unsaid.
    await sendBatch(app, ['a3']);
    await store.flusher.flush();
    const later = await store.snapshot('default');
    await expect(store.compactor.compact()).rejects.toThrow('is a directory');
    // Close waits for the snapshot held, and is woken by its release even if a removal fails.
    const app2 = app;
    t = undefined;
    const closing = app2.close().then(() => 'closed');
    later.release();
    expect(await Promise.race([closing, Bun.sleep(5000).then(() => 'held up')])).toBe('closed');
  });
});

describe('compaction', () => {
  test('merges small segments of a tenant-day; concurrent queries see each event once', async () => {
    t = await makeTestApp({ compactSegmentsMin: 3, smallSegmentBytesMax: 1 << 30 });
    const app = t;
    for (let i = 0; i < 5; i++) {
      await sendBatch(app, [`c${i}a`, `c${i}b`]);
      await app.engine.store.flusher.flush();
    }
    expect(segmentFiles(app.dataDir)).toHaveLength(5);
    // README "How it stores events": snappy when flushed, zstd once compacted.
    expect(await compressionsOf(app.dataDir)).toEqual(['SNAPPY']);
    let stop = false;
    const counts: number[] = [];
    const reader = (async () => {
      while (!stop) counts.push(await app.count());
    })();
    expect(await app.engine.store.compactor.compact()).toBe(1);
    stop = true;
    await reader;
    expect(segmentFiles(app.dataDir)).toHaveLength(1);
    expect(await compressionsOf(app.dataDir)).toEqual(['ZSTD']);
    // The merged segment has its minute counts; the old companions are gone with their segments.
    expect(parquetFiles(app.dataDir)).toHaveLength(2);
    expect(counts.length).toBeGreaterThan(0);
    expect(new Set(counts)).toEqual(new Set([10]));
    const sorted = await app.engine.store.snapshot('default');
    try {
      const r = await sorted.connection.runAndReadAll(
        `SELECT count(*) = sum(CASE WHEN ok THEN 1 ELSE 0 END) AS ok FROM (
           SELECT "timestamp" >= lag("timestamp") OVER () OR lag("timestamp") OVER () IS NULL AS ok
           FROM ${sorted.from} AS e)`,
        sorted.params,
      );
      expect((r.getRowObjectsJS()[0] as { ok: boolean }).ok).toBe(true);
    } finally {
      sorted.release();
    }
  });
});

describe('compaction in steps', () => {
  test('one merge takes at most COMPACT_ROWS_MAX events, the smallest segments first', async () => {
    t = await makeTestApp({
      compactSegmentsMin: 3,
      smallSegmentBytesMax: 1 << 30,
      compactRowsMax: 5,
    });
    for (let i = 0; i < 5; i++) {
      await sendBatch(t, [`s${i}a`, `s${i}b`]);
      await t.engine.store.flusher.flush();
    }
    const rowsOf = () => t?.engine.store.catalog.segmentsOf('default').map((s) => s.rows);
    expect(rowsOf()).toEqual([2, 2, 2, 2, 2]);
    expect(await t.engine.store.compactor.compact()).toBe(1);
    expect(rowsOf()).toEqual([2, 2, 2, 4]); // s0, s1 merged (4 ≤ 5; a third would be 6)
    expect(await t.engine.store.compactor.compact()).toBe(1);
    expect(rowsOf()).toEqual([2, 4, 4]); // s2, s3 merged
    // s4 and a merged file would be 6 events: nothing to merge until more small ones arrive.
    expect(await t.engine.store.compactor.compact()).toBe(0);
    await sendBatch(t, ['s5a']);
    await t.engine.store.flusher.flush();
    await sendBatch(t, ['s6a']);
    await t.engine.store.flusher.flush();
    // The merged files do not block newer small ones: s4, s5, s6 (1 + 1 + 2) go together.
    expect(await t.engine.store.compactor.compact()).toBe(1);
    expect(rowsOf()).toEqual([4, 4, 4]);
    expect(await t.count()).toBe(12);
  });
});

describe('close', () => {
  test('waits for a running flush before closing the stores', async () => {
    t = await makeTestApp();
    await sendBatch(t, ['f1', 'f2', 'f3']);
    const flushing = t.engine.store.flusher.flush();
    await t.restart(); // closes while the flush runs
    expect(await flushing).toMatchObject({ rows: 3 });
    expect(await t.count()).toBe(3);
    expect(segmentFiles(t.dataDir)).toHaveLength(1);
  });
  test('waits for a snapshot that was being taken as it began', async () => {
    t = await makeTestApp();
    const app = t;
    t = undefined; // closed here
    await sendBatch(app, ['c1']); // not loaded yet: the snapshot loads it while close goes on
    const taking = app.engine.store.snapshot('default');
    const closing = app.close().then(() => 'closed');
    const held = await taking;
    try {
      const soon = await Promise.race([closing, Bun.sleep(300).then(() => 'waiting')]);
      expect(soon).toBe('waiting');
    } finally {
      held.release();
    }
    expect(await closing).toBe('closed');
  });
});

describe('readiness', () => {
  /** An app whose log failures are recorded instead of ending the test process. */
  async function appRecordingFatal(): Promise<{ app: TestApp; fatal: unknown[] }> {
    const fatal: unknown[] = [];
    const app = await makeTestApp({ onFatal: (error) => fatal.push(error) });
    return { app, fatal };
  }

  test('a deleted log file fails the next commit (no 202) and makes the store not ready', async () => {
    const { app, fatal } = await appRecordingFatal();
    t = app;
    await sendBatch(t, ['before']);
    expect(t.engine.store.readiness().ok).toBe(true);
    fs.rmSync(path.join(t.dataDir, 'wal'), { recursive: true });
    const res = await t.post('/api/v1/events', { event_id: 'after', name: 'x' });
    expect(res.status).toBe(503);
    expect(fatal).toHaveLength(1);
    expect(String(fatal[0])).toContain('wal/0000000001.wal was deleted while in use');
    expect(t.engine.store.readiness()).toEqual({ ok: false, reason: 'the write-ahead log failed' });
  });

  test('names the deleted log file before any commit finds it', async () => {
    const { app } = await appRecordingFatal();
    t = app;
    fs.rmSync(path.join(t.dataDir, 'wal', '0000000001.wal'));
    expect(t.engine.store.readiness()).toEqual({
      ok: false,
      reason: 'the write-ahead log file wal/0000000001.wal was deleted',
    });
  });

  // README Limits: "an older, rotated log file or `tally.sqlite` deleted on its own is not"
  // detected: only the current log file and the directory itself are looked at.
  test('an older log file or tally.sqlite deleted on its own goes unseen', async () => {
    t = await makeTestApp({ walFileBytesMax: 1 }); // every commit after the first rotates
    await sendBatch(t, ['r1']);
    await sendBatch(t, ['r2']);
    const wal = path.join(t.dataDir, 'wal');
    const files = fs.readdirSync(wal).sort();
    expect(files.length).toBeGreaterThan(1);
    fs.rmSync(path.join(wal, files[0] as string));
    fs.rmSync(path.join(t.dataDir, 'tally.sqlite'));
    expect(t.engine.store.readiness()).toMatchObject({ ok: true });
    expect((await t.post('/api/v1/events', { event_id: 'r3', name: 'x' })).status).toBe(202);
  });

  test('a data directory deleted and made again is not the one the store opened', async () => {
    const { app } = await appRecordingFatal();
    t = app;
    const moved = `${t.dataDir}-moved`;
    fs.renameSync(t.dataDir, moved);
    try {
      fs.mkdirSync(t.dataDir);
      expect(t.engine.store.readiness()).toEqual({
        ok: false,
        reason: 'the data directory was deleted and made again since start',
      });
      fs.rmdirSync(t.dataDir);
      expect(t.engine.store.readiness()).toEqual({
        ok: false,
        reason: 'the data directory is gone (ENOENT)',
      });
    } finally {
      fs.rmSync(t.dataDir, { recursive: true, force: true });
      fs.renameSync(moved, t.dataDir); // the test app closes and removes it as usual
    }
  });
});
