// A tenant's deletion in the store: its events leave every place they are (hot tier, segments,
// catalog, disk), a flush or compaction running across the decision brings none back, a stop
// after any step leaves it deleted after a restart, and another tenant keeps every event.

import { afterEach, describe, expect, test } from 'bun:test';
import * as assert from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FaultPoint } from '../../src/storage/index.ts';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

async function send(app: TestApp, tenant: string, ids: string[]): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: ids.map((id) => ({ event_id: id, name: 'page_view', tenant_id: tenant })),
  });
  expect(res.status).toBe(202);
  await countersBuilt(app, tenant);
}

/** Deletes `tenant` through the store alone (no project rows): the tombstone is the decision. */
const erase = (app: TestApp, tenant: string) =>
  app.engine.store.eraser.erase(tenant, (tombstone) => tombstone());

/** Tenants with parquet files on disk (segments or minute counts). */
function tenantsOnDisk(app: TestApp): string[] {
  const root = path.join(app.dataDir, 'segments');
  const files = fs.readdirSync(root, { recursive: true }) as string[];
  const dirs = files.filter((f) => f.endsWith('.parquet')).map((f) => f.split(path.sep)[0] ?? '');
  return [...new Set(dirs)].sort();
}

const catalogTenants = (app: TestApp) =>
  (
    app.engine.store.sqlite.query('SELECT DISTINCT tenant FROM segments ORDER BY 1').all() as {
      tenant: string;
    }[]
  ).map((r) => r.tenant);

/** A fault hook that runs `action` once, the first time `point` is reached. */
function once(point: FaultPoint, action: () => void) {
  let done = false;
  return (reached: FaultPoint) => {
    if (reached !== point || done) return;
    done = true;
    action();
  };
}

describe('deleting a tenant', () => {
  test('its flushed and unflushed events, catalog rows and files go; the other stays', async () => {
    t = await makeTestApp();
    await send(t, 'acme', ['a1', 'a2']);
    await send(t, 'globex', ['g1']);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', ['a3']);
    await send(t, 'globex', ['g2']);
    expect(tenantsOnDisk(t)).toEqual(['tenant=acme', 'tenant=globex']);

    const erased = await erase(t, 'acme');
    expect(erased).toMatchObject({ segments: 1, hotEvents: 1, filesPending: null });
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(2);
    expect(catalogTenants(t)).toEqual(['globex']);
    expect(tenantsOnDisk(t)).toEqual(['tenant=globex']);
    // The unflushed record is never flushed afterwards, nor replayed after a restart.
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 });
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(2);
    expect(catalogTenants(t)).toEqual(['globex']);
  });

  test('the log files of its records go: the current one is closed, the flushed deleted', async () => {
    t = await makeTestApp();
    const logHolds = (app: TestApp, id: string) => {
      const dir = path.join(app.dataDir, 'wal');
      return fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(id));
    };
    await send(t, 'acme', ['acme-flushed-1']);
    await send(t, 'globex', ['g1']);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', ['acme-unflushed-2']);
    await send(t, 'globex', ['g2']);
    await erase(t, 'acme');
    // Still owed to a flush: g2's record shares its file with acme's unflushed one.
    expect(logHolds(t, 'acme-flushed-1')).toEqual(logHolds(t, 'g2'));
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 });
    expect(logHolds(t, 'acme-flushed-1')).toEqual([]);
    expect(logHolds(t, 'acme-unflushed-2')).toEqual([]);
    await send(t, 'globex', ['g3']);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(3);
  });

  test('when its events were all the log held unflushed, the next flush lets them go', async () => {
    t = await makeTestApp();
    const logHolds = (app: TestApp, id: string) => {
      const dir = path.join(app.dataDir, 'wal');
      return fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(id));
    };
    await send(t, 'globex', ['g1']);
    await t.engine.store.flusher.flush();
    await send(t, 'acme', ['acme-unflushed-1']);
    await erase(t, 'acme');
    // No event of any tenant is left to flush: the flush passes the deleted records all the same.
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 0 });
    expect(logHolds(t, 'acme-unflushed-1')).toEqual([]);
    await send(t, 'globex', ['g2']);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(2);
  });

  test('a file that cannot be removed is reported; deleted all the same, swept at start', async () => {
    t = await makeTestApp();
    await send(t, 'acme', ['a1']);
    await t.engine.store.flusher.flush();
    // A file that refuses removal, as on a file system remounted read-only: here a directory
    // in its place (rm refuses it even to root).
    const [segment] = t.engine.store.catalog.segmentsOf('acme');
    const stuck = path.join(t.dataDir, 'segments', segment?.file as string);
    fs.rmSync(stuck);
    fs.mkdirSync(stuck);
    const erased = await erase(t, 'acme');
    expect(erased.filesPending).toContain('is a directory');
    expect(await t.count('acme')).toBe(0);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(fs.existsSync(stuck)).toBe(false);
    expect(fs.readdirSync(path.join(t.dataDir, 'segments'))).toEqual([]);
  });

  test('a held snapshot keeps the files it reads until it is released', async () => {
    t = await makeTestApp();
    await send(t, 'acme', ['a1']);
    await t.engine.store.flusher.flush();
    const held = await t.engine.store.snapshot('acme');
    await erase(t, 'acme');
    expect(tenantsOnDisk(t)).toEqual(['tenant=acme']);
    const rows = await held.connection.runAndReadAll(
      `SELECT count(*) AS n FROM ${held.from} AS e`,
      held.params,
    );
    expect(Number((rows.getRowObjectsJS()[0] as { n: bigint }).n)).toBe(1); // it ran before
    held.release();
    expect(tenantsOnDisk(t)).toEqual([]);
    expect(await t.count('acme')).toBe(0);
  });

  /**
   * globex's g1 and acme's a1 unflushed, read by one load (so its rows carry the seq of acme's,
   * the last of them), then acme deleted. Both actors are made first (g0, a0, flushed): making
   * one reads the store, which loads what is there.
   */
  async function deleteAfterMixedLoad(): Promise<TestApp> {
    const app = await makeTestApp();
    t = app; // closed after the test
    await send(app, 'globex', ['g0']);
    await send(app, 'acme', ['a0']);
    await app.engine.store.flusher.flush();
    await send(app, 'globex', ['g1']);
    await send(app, 'acme', ['a1']);
    expect(await app.count('globex')).toBe(2); // the one load
    await erase(app, 'acme');
    return app;
  }

  test('rows loaded with a deleted tenant’s stay readable and flush once', async () => {
    t = await deleteAfterMixedLoad();
    expect(await t.count('globex')).toBe(2);
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 });
    expect(await t.count('globex')).toBe(2);
  });

  test('a flush after the purge took a load’s last group deletes every flushed row', async () => {
    t = await deleteAfterMixedLoad();
    // The flush ends at globex's seq, below the label of g1's row: that row must go too, or
    // the next load makes it visible again beside its segment copy.
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 });
    await send(t, 'globex', ['g2']);
    expect(await t.count('globex')).toBe(3);
    expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 });
    expect(await t.count('globex')).toBe(3);
    await t.restart();
    expect(await t.count('globex')).toBe(3);
  });

  test('events sent after the deletion are kept, also after a restart', async () => {
    t = await makeTestApp();
    await send(t, 'acme', ['a1']);
    await erase(t, 'acme');
    await send(t, 'acme', ['b1']);
    expect(await t.count('acme')).toBe(1);
    await t.restart(); // replayed: above the tombstone's seq
    expect(await t.count('acme')).toBe(1);
    await t.engine.store.flusher.flush();
    const tombstones = t.engine.store.sqlite.query('SELECT * FROM tenant_tombstones').all();
    expect(tombstones).toEqual([]); // the watermark passed it: replay skips those records anyway
    await t.restart();
    expect(await t.count('acme')).toBe(1);
  });
});

describe('a log that lost its unsynced tail', () => {
  test('events after the restart get seqs above the tombstone: kept, flushed and replayed', async () => {
    t = await makeTestApp();
    await send(t, 'acme', ['a1']);
    const walDir = path.join(t.dataDir, 'wal');
    const [walFile] = fs.readdirSync(walDir).map((f) => path.join(walDir, f));
    const durableBytes = fs.statSync(walFile as string).size;
    // The tombstone's seq is the log's last written one: here globex's record, which a power
    // loss may take when it was written but not yet synced as the deletion was decided
    // (SQLite, synchronous=FULL, kept the tombstone). Cut from the file as such a loss would.
    await send(t, 'globex', ['g1']);
    await erase(t, 'acme');
    await t.restart(() => fs.truncateSync(walFile as string, durableBytes));
    await send(t, 'acme', ['b1']);
    expect(await t.count('acme')).toBe(1);
    await t.restart();
    expect(await t.count('acme')).toBe(1);
    await t.engine.store.flusher.flush();
    expect(await t.count('acme')).toBe(1);
  });
});

describe('a flush or compaction across the decision', () => {
  test('a flush that took the events before the decision commits none of them', async () => {
    let app: TestApp | null = null;
    t = await makeTestApp({
      // The decision lands between the flush writing its segments and committing them.
      fault: once('flush:after-write', () => void erase(app as TestApp, 'acme')),
    });
    app = t;
    await send(t, 'acme', ['a1', 'a2']);
    await send(t, 'globex', ['g1']);
    const flushed = await t.engine.store.flusher.flush();
    expect(flushed).toMatchObject({ segments: 1, rows: 1 });
    expect(catalogTenants(t)).toEqual(['globex']);
    expect(tenantsOnDisk(t)).toEqual(['tenant=globex']);
    expect(await t.count('acme')).toBe(0);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(1);
  });

  test('a compaction merging the segments meanwhile commits nothing and leaves no file', async () => {
    let app: TestApp | null = null;
    t = await makeTestApp({
      compactSegmentsMin: 2,
      fault: once('compact:after-write', () => void erase(app as TestApp, 'acme')),
    });
    app = t;
    for (const id of ['a1', 'a2', 'a3']) {
      await send(t, 'acme', [id]);
      await t.engine.store.flusher.flush();
    }
    await send(t, 'globex', ['g1']);
    await t.engine.store.flusher.flush();
    expect(await t.engine.store.compactor.compact()).toBe(0);
    expect(catalogTenants(t)).toEqual(['globex']);
    expect(tenantsOnDisk(t)).toEqual(['tenant=globex']);
    expect(await t.count('acme')).toBe(0);
    await t.restart();
    expect(await t.count('acme')).toBe(0);
    expect(await t.count('globex')).toBe(1);
  });
});

describe('a compaction that listed the segments before the deletion', () => {
  test('still reads them (they stay until it is done), then commits nothing', async () => {
    t = await makeTestApp({ compactSegmentsMin: 2 });
    for (const id of ['a1', 'a2']) {
      await send(t, 'acme', [id]);
      await t.engine.store.flusher.flush();
    }
    // Listed in the call's first turn; its merge reads the files after the deletion.
    const compaction = t.engine.store.compactor.compact();
    await erase(t, 'acme');
    expect(await compaction).toBe(0);
    expect(tenantsOnDisk(t)).toEqual([]);
    expect(await t.count('acme')).toBe(0);
  });
});

describe('a stop after each step of a deletion', () => {
  for (const point of ['delete:after-catalog', 'delete:after-retire'] as const) {
    test(`${point}: the first flush after the start closes the log file and lets them go`, async () => {
      t = await makeTestApp({ fault: once(point, () => assert.fail(`stopped at ${point}`)) });
      const logHolds = (app: TestApp, id: string) => {
        const dir = path.join(app.dataDir, 'wal');
        return fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(id));
      };
      await send(t, 'acme', ['acme-flushed-1']);
      await t.engine.store.flusher.flush();
      await send(t, 'acme', ['acme-unflushed-2']);
      await send(t, 'globex', ['g1']);
      await expect(erase(t, 'acme')).rejects.toThrow(`stopped at ${point}`);
      expect(logHolds(t, 'acme-flushed-1')).toEqual(['0000000001.wal']);
      await t.restart();
      expect(logHolds(t, 'acme-flushed-1')).toEqual(['0000000001.wal']);
      expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 1 }); // g1
      expect(logHolds(t, 'acme-flushed-1')).toEqual([]);
      expect(logHolds(t, 'acme-unflushed-2')).toEqual([]);
      await t.restart();
      expect(await t.count('acme')).toBe(0);
      expect(await t.count('globex')).toBe(1);
    });
  }

  for (const point of ['delete:after-catalog', 'delete:after-purge'] as const) {
    test(`${point}: after a restart nothing of the tenant is back, its files are gone`, async () => {
      t = await makeTestApp({
        fault: (reached) => {
          if (reached === point) throw new Error(`stopped at ${point}`);
        },
      });
      await send(t, 'acme', ['a1']);
      await send(t, 'globex', ['g1']);
      await t.engine.store.flusher.flush();
      await send(t, 'acme', ['a2']);
      await send(t, 'globex', ['g2']);
      await expect(erase(t, 'acme')).rejects.toThrow(`stopped at ${point}`);
      await t.restart();
      expect(await t.count('acme')).toBe(0);
      expect(await t.count('globex')).toBe(2);
      expect(tenantsOnDisk(t)).toEqual(['tenant=globex']);
      const dirs = fs.readdirSync(path.join(t.dataDir, 'segments'));
      expect(dirs).toEqual(['tenant=globex']); // its emptied directories went too
    });
  }
});
