import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBInstance } from '@duckdb/node-api';
import { HOT_TABLE, openDuckDb } from '../../src/storage/duckdb.ts';
import type { FileIo } from '../../src/storage/file-io.ts';
import { HotTier } from '../../src/storage/hot-tier.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const remove of cleanups.splice(0)) remove();
});

const T0 = Date.parse('2026-11-25T12:00:00Z');

async function setup(io?: FileIo) {
  const t = makeTempDir();
  cleanups.push(t.remove);
  const instance = await openDuckDb({
    segmentsDir: path.join(t.dir, 'segments'),
    stagingDir: path.join(t.dir, 'staging'),
    memoryLimitBytes: 256 * 1024 * 1024,
    threads: 1,
  });
  const hot = new HotTier(instance, path.join(t.dir, 'staging'), io);
  const rowsBySeq = async () => {
    const c = await instance.connect();
    try {
      const r = await c.runAndReadAll(
        `SELECT seq, string_agg(event_id, ',' ORDER BY event_id) AS ids FROM ${HOT_TABLE}
         GROUP BY seq ORDER BY seq`,
      );
      return r.getRowObjectsJS().map((row) => `${row.seq}:${row.ids}`);
    } finally {
      c.closeSync();
    }
  };
  const allRows = async () => {
    const c = await instance.connect();
    try {
      const r = await c.runAndReadAll(`SELECT * FROM ${HOT_TABLE} ORDER BY event_id`);
      return r.getRowObjectsJson();
    } finally {
      c.closeSync();
    }
  };
  return { hot, rowsBySeq, allRows };
}

function group(tenant: string, ids: string[], user?: string) {
  const lines = ids.map((id) =>
    JSON.stringify({ event_id: id, tenant, name: 'x', timestamp: T0, user_id: user }),
  );
  const days = [Math.floor(T0 / 86_400_000)];
  return { tenant, events: ids.length, days, payload: Buffer.from(lines.join('\n')) };
}

describe('HotTier', () => {
  test('a load during a flush never mixes the flushed groups with later ones', async () => {
    const { hot, rowsBySeq } = await setup();
    hot.add(1, group('acme', ['a1', 'a2']));
    await hot.sync(); // in the table before the flush
    hot.add(2, group('acme', ['b1']));
    hot.add(3, group('globex', ['g1']));
    const plan = await hot.beginFlush(0);
    expect(plan).toMatchObject({ through: 3, tableThrough: 1 });
    expect([...(plan?.staged.keys() ?? [])]).toEqual(['acme', 'globex']);
    hot.add(4, group('acme', ['c1'])); // arrives during the flush
    await hot.sync(); // a query: loads 2..3 and 4 separately
    expect(await rowsBySeq()).toEqual(['1:a1,a2', '3:b1,g1', '4:c1']);
    await hot.endFlush(plan as NonNullable<typeof plan>);
    expect(await rowsBySeq()).toEqual(['4:c1']);
    expect(hot.bytes).toBe(group('acme', ['c1']).payload.length * 3);
    expect(await hot.beginFlush(3)).toMatchObject({ through: 4, tableThrough: 4 });
  });

  test('a flush waits for queued loads before it takes its cut-off', async () => {
    const { hot, rowsBySeq } = await setup();
    hot.add(1, group('acme', ['a1']));
    const q1 = hot.sync(); // a query loads group 1
    hot.add(2, group('acme', ['a2']));
    const q2 = hot.sync(); // another waits for that load
    const flushing = hot.beginFlush(0);
    hot.add(3, group('acme', ['a3'])); // committed while both wait
    await Promise.all([q1, q2]);
    const plan = await flushing;
    // q2 loaded 2 and 3 as one chunk labelled 3: the flush takes all of it, never half.
    expect(plan).toMatchObject({ through: 3, tableThrough: 3 });
    await hot.endFlush(plan as NonNullable<typeof plan>);
    expect(await rowsBySeq()).toEqual([]);
    expect(await hot.beginFlush(3)).toBeNull();
  });

  test('a flush passes the records that kept no event, and takes none below the watermark', async () => {
    const { hot } = await setup();
    hot.add(1, group('acme', ['a1']));
    hot.passed(2); // replay skipped it: its tenant was deleted
    expect(await hot.erase({ tenant: 'acme', field: 'user_id', value: 'u', throughSeq: 3 })).toBe(
      0,
    );
    hot.add(3, group('acme', ['a3'], 'u')); // cut whole as it arrives
    const plan = await hot.beginFlush(0);
    expect(plan).toMatchObject({ through: 3, tableThrough: 0 });
    await hot.endFlush(plan as NonNullable<typeof plan>);
    expect(await hot.beginFlush(3)).toBeNull();
    // Only records that kept nothing since the watermark: a flush of none, to pass them.
    hot.add(4, group('acme', ['a4'], 'u2'));
    await hot.erase({ tenant: 'acme', field: 'user_id', value: 'u2', throughSeq: 4 });
    const passing = await hot.beginFlush(3);
    expect(passing).toMatchObject({ through: 4, tableThrough: 0 });
    expect(passing?.staged.size).toBe(0);
    await hot.endFlush(passing as NonNullable<typeof passing>);
    expect(await hot.beginFlush(4)).toBeNull();
    // A flush never goes below the watermark (records replay skipped are not handed over).
    expect(await hot.beginFlush(9)).toBeNull();
    expect(() => hot.passed(4)).toThrow('hot groups arrive in log order');
  });

  test("each tenant's bytes are kept apart through adds, erasures, flushes and purges", async () => {
    const { hot } = await setup();
    const bytes = (g: { payload: Uint8Array }) => g.payload.length * 3;
    hot.add(1, group('acme', ['a1', 'a2'], 'u'));
    hot.add(2, group('globex', ['g1']));
    expect(hot.bytesOf('acme')).toBe(bytes(group('acme', ['a1', 'a2'], 'u')));
    expect(hot.tenants).toBe(2);
    await hot.erase({ tenant: 'acme', field: 'user_id', value: 'u', throughSeq: 1 });
    expect(hot.bytesOf('acme')).toBe(0);
    expect(hot.tenants).toBe(1);
    const plan = await hot.beginFlush(0);
    hot.add(3, group('acme', ['a3'])); // arrives during the flush: not flushed
    await hot.endFlush(plan as NonNullable<typeof plan>);
    expect(hot.bytesOf('globex')).toBe(0);
    expect(hot.bytesOf('acme')).toBe(bytes(group('acme', ['a3'])));
    hot.add(4, group('globex', ['g2']));
    await hot.purgeTenant('acme');
    expect(hot.bytesOf('acme')).toBe(0);
    expect([hot.tenants, hot.bytes]).toEqual([1, bytes(group('globex', ['g2']))]);
  });

  test('an aborted flush keeps its groups for the next one', async () => {
    const { hot } = await setup();
    hot.add(1, group('acme', ['a1']));
    const first = await hot.beginFlush(0);
    await hot.abortFlush(first as NonNullable<typeof first>);
    hot.add(2, group('acme', ['a2']));
    const second = await hot.beginFlush(0);
    expect(second).toMatchObject({ through: 2, tableThrough: 0 });
    expect(second?.staged.get('acme')?.days).toEqual([Math.floor(T0 / 86_400_000)]);
  });

  test('with no room for a staging file (a full disk) a load reads the same rows from memory', async () => {
    const full = {
      tenant: 'acme',
      name: 'purchase "big" \\ one',
      timestamp: T0,
      received_at: T0 + 5,
      user_id: 'ü-1',
      path: '/a\nb',
      duration: 1.5,
      value: -2,
      properties: { plan: 'pro', n: 3, nested: { ok: true }, list: [1, 'x'] },
      os: 'Linux',
      is_bot: true,
      visitor_id: 'v',
    };
    const lines = [
      JSON.stringify({ event_id: 'e1', ...full }),
      JSON.stringify({ event_id: 'e2', tenant: 'acme', name: 'bare', timestamp: T0 - 1 }),
    ];
    const groupOf = () => ({
      tenant: 'acme',
      events: 2,
      days: null,
      payload: Buffer.from(lines.join('\n')),
    });
    const disk = new LimitedDisk(0); // a full disk: every staging write fails with ENOSPC
    const fromMemory = await setup(disk);
    fromMemory.hot.add(7, groupOf());
    await fromMemory.hot.sync();
    expect(disk.writes).toBeGreaterThan(0);
    const fromFile = await setup();
    fromFile.hot.add(7, groupOf());
    await fromFile.hot.sync();
    const rows = await fromMemory.allRows();
    expect(rows).toHaveLength(2);
    expect(rows[0]).toMatchObject({ event_id: 'e1', name: full.name, path: full.path });
    expect(JSON.parse(String(rows[0]?.properties))).toEqual(full.properties);
    expect(rows[0]).toMatchObject({ duration: 1.5, value: -2, is_bot: true, user_id: 'ü-1' });
    expect(rows).toEqual(await fromFile.allRows());
  });

  test('a staging write that fails otherwise (EIO) fails the load', async () => {
    const { hot } = await setup(new LimitedDisk(0, 'EIO'));
    hot.add(1, group('acme', ['a1']));
    await expect(hot.sync()).rejects.toMatchObject({ code: 'EIO' });
  });

  test('a load whose staging file cannot be removed is loaded once, not again', async () => {
    const { hot, rowsBySeq } = await setup();
    hot.add(1, group('acme', ['a1', 'a2']));
    // The rows are in the table when removing their staging file fails (EIO, say): the read
    // fails, but a later one must not load the same groups a second time.
    const realRm = fs.promises.rm;
    const rm = spyOn(fs.promises, 'rm').mockImplementationOnce(async () => {
      throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
    });
    try {
      await expect(hot.sync()).rejects.toThrow('EIO');
    } finally {
      rm.mockRestore();
    }
    expect(fs.promises.rm).toBe(realRm);
    hot.add(2, group('acme', ['b1']));
    await hot.sync();
    expect(await rowsBySeq()).toEqual(['1:a1,a2', '2:b1']);
    // A flush takes the table's rows once each.
    const plan = await hot.beginFlush(0);
    expect(plan).toMatchObject({ through: 2, tableThrough: 2 });
    await hot.endFlush(plan as NonNullable<typeof plan>);
    expect(await rowsBySeq()).toEqual([]);
  });

  test("a flush's end whose staging files cannot be removed has deleted its rows first", async () => {
    const { hot, rowsBySeq } = await setup();
    hot.add(1, group('acme', ['a1', 'a2']));
    await hot.sync();
    hot.add(2, group('acme', ['b1'])); // staged by the flush itself, not loaded
    const plan = await hot.beginFlush(0);
    // The segments are in the catalog: the store stops on this failure, and until it has,
    // a read must not find the flushed rows in the hot table beside their segments.
    const rm = spyOn(fs.promises, 'rm').mockImplementationOnce(async () => {
      throw Object.assign(new Error('EIO: i/o error, unlink'), { code: 'EIO' });
    });
    try {
      await expect(hot.endFlush(plan as NonNullable<typeof plan>)).rejects.toThrow('EIO');
    } finally {
      rm.mockRestore();
    }
    expect(await rowsBySeq()).toEqual([]);
  });

  test('a loader whose statement cannot be prepared closes its connection', async () => {
    const t = makeTempDir();
    cleanups.push(t.remove);
    const stagingDir = path.join(t.dir, 'staging');
    const instance = await openDuckDb({
      segmentsDir: path.join(t.dir, 'segments'),
      stagingDir,
      memoryLimitBytes: 256 * 1024 * 1024,
      threads: 1,
    });
    // The first connection refuses to prepare (DuckDB out of memory, say); the rest work.
    let refusals = 1;
    const opened: { closed: boolean }[] = [];
    const flaky = {
      connect: async () => {
        const c = await instance.connect();
        const seen = { closed: false };
        opened.push(seen);
        const refuse = refusals-- > 0;
        return new Proxy(c, {
          get(target, key) {
            if (key === 'prepare' && refuse) {
              return () => Promise.reject(new Error('Out of Memory Error: prepare'));
            }
            if (key === 'closeSync') {
              return () => {
                seen.closed = true;
                target.closeSync();
              };
            }
            const value = Reflect.get(target, key);
            return typeof value === 'function' ? value.bind(target) : value;
          },
        });
      },
    } as unknown as DuckDBInstance;
    const hot = new HotTier(flaky, stagingDir);
    hot.add(1, group('acme', ['a1']));
    await expect(hot.sync()).rejects.toThrow('Out of Memory Error');
    await hot.sync(); // prepared again, on a new connection
    await hot.close();
    expect(opened.length).toBe(2);
    expect(opened.map((c) => c.closed)).toEqual([true, true]);
    instance.closeSync();
  });
});
