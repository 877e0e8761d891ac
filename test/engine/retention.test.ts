// Retention over the real store with an injected clock: a pass deletes exactly the whole UTC
// days older than today − the tenant's days (its project's, else RETENTION_DAYS), catalog
// rows, segment files and their minute counts, as every read shows; late events for such days
// go at the pass after their flush; a read or a compaction running across a pass sees each
// event once or not at all; a stop after each step leaves the days deleted after a restart;
// a deleted day takes the by=person links of its events with it.

import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DAY_MS } from '../../src/core/index.ts';
import type { RetentionDrop } from '../../src/engine/index.ts';
import type { FaultPoint } from '../../src/storage/index.ts';
import { countersBuilt, makeTestApp, type TestApp } from '../helpers/app.ts';
import {
  COPY,
  filesHolding,
  recordIds,
  restartWithFirstRecordDamaged,
} from '../helpers/damaged-copies.ts';

let t: TestApp | undefined;
afterEach(() => t?.close());

/** T0 is 2026-11-25T12:00Z: the days of the events every test starts with. */
const DAYS = ['2026-11-20', '2026-11-22', '2026-11-23', '2026-11-24', '2026-11-25'];
const RANGE = 'from=2026-11-01T00:00:00Z&to=2026-11-26T00:00:00Z';

async function send(app: TestApp, tenant: string, events: [string, string][]): Promise<void> {
  const res = await app.post('/api/v1/events/batch', {
    events: events.map(([id, day]) => ({
      event_id: id,
      name: 'page_view',
      tenant_id: tenant,
      timestamp: `${day}T06:00:00Z`,
    })),
  });
  expect(res.status).toBe(202);
  await countersBuilt(app, tenant);
}

/** Two events a day of DAYS for `tenant`, flushed: one segment per day. */
async function fill(app: TestApp, tenant: string): Promise<void> {
  await send(
    app,
    tenant,
    DAYS.flatMap((day): [string, string][] => [
      [`${tenant}-${day}-a`, day],
      [`${tenant}-${day}-b`, day],
    ]),
  );
  await app.engine.store.flusher.flush();
}

const json = async (app: TestApp, route: string) =>
  (await (await app.get(route)).json()) as Record<string, unknown>;

/** What the reads show of a tenant: total, per-day counts, listed event ids (sorted). */
async function reads(app: TestApp, tenant: string) {
  const stats = await json(app, `/api/v1/stats?tenant_id=${tenant}&${RANGE}`);
  const series = await json(app, `/api/v1/timeseries?tenant_id=${tenant}&bucket=day&${RANGE}`);
  const points = (series.series as { points: { bucket: string; value: number }[] }[])[0]?.points;
  const perDay = (points ?? [])
    .filter((p) => p.value > 0)
    .map((p) => [p.bucket.slice(0, 10), p.value]);
  const list = await json(app, `/api/v1/events?tenant_id=${tenant}&limit=100&${RANGE}`);
  const ids = (list.events as { event_id: string }[]).map((e) => e.event_id).sort();
  return { total: stats.total_events, perDay, ids };
}

/** The days with files on disk (segments and minute counts) per tenant directory. */
function daysOnDisk(app: TestApp): string[] {
  const root = path.join(app.dataDir, 'segments');
  const files = fs.readdirSync(root, { recursive: true }) as string[];
  const parquet = files.filter((f) => f.endsWith('.parquet'));
  return [...new Set(parquet.map((f) => path.dirname(f)))].sort();
}

const catalogDays = (app: TestApp, tenant: string) => [
  ...new Set(app.engine.store.catalog.segmentsOf(tenant).map((s) => s.day)),
];

const idsOf = (tenant: string, days: string[]) =>
  days.flatMap((day) => [`${tenant}-${day}-a`, `${tenant}-${day}-b`]).sort();

describe('a retention pass', () => {
  test('deletes exactly the days before today − RETENTION_DAYS, everywhere', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await fill(t, 'acme');
    const before = await reads(t, 'acme');
    expect(before.total).toBe(10);
    expect(before.perDay).toEqual(DAYS.map((d) => [d, 2]));
    expect(before.ids).toEqual(idsOf('acme', DAYS));
    // Each segment has its minute counts beside it.
    const files = (dir: string) => fs.readdirSync(path.join(t?.dataDir ?? '', 'segments', dir));
    expect(files('tenant=acme/day=2026-11-20').length).toBe(2);

    // The log line's `bytes`: the catalogued bytes of the segments deleted.
    const goingBytes = t.engine.store.catalog
      .segmentsOf('acme')
      .filter((s) => s.day < '2026-11-23')
      .reduce((n, s) => n + s.bytes, 0);
    expect(goingBytes).toBeGreaterThan(0);
    const drops = await t.retention.run();
    // Today 2026-11-25 − 2 days = 2026-11-23: the days strictly before it go.
    expect(drops).toEqual([
      expect.objectContaining({
        tenant: 'acme',
        retentionDays: 2,
        keptFromDay: '2026-11-23',
        fromDay: '2026-11-20',
        toDay: '2026-11-22',
        segments: 2,
        events: 4,
        filesPending: null,
      }),
    ]);
    const after = await reads(t, 'acme');
    expect(after.total).toBe(6);
    expect(after.perDay).toEqual(DAYS.slice(2).map((d) => [d, 2]));
    expect(after.ids).toEqual(idsOf('acme', DAYS.slice(2)));
    expect(catalogDays(t, 'acme')).toEqual(DAYS.slice(2));
    expect(daysOnDisk(t)).toEqual(DAYS.slice(2).map((d) => `tenant=acme/day=${d}`));
    const line = t.logs.map((l) => JSON.parse(l)).find((l) => l.msg === 'retention deleted days');
    expect(line).toMatchObject({
      tenant: 'acme',
      from_day: '2026-11-20',
      to_day: '2026-11-22',
      retention_days: 2,
      segments: 2,
      events: 4,
      bytes: goingBytes,
    });
    expect(t.retention.lastRunAt).toBe(t.clock.now());

    // Nothing more to do the same day; a day later, one more day goes.
    expect(await t.retention.run()).toEqual([]);
    t.clock.advance(DAY_MS);
    expect((await t.retention.run()).map((d) => [d.fromDay, d.toDay])).toEqual([
      ['2026-11-23', '2026-11-23'],
    ]);
    expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(3)));
    await t.restart();
    expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(3)));
  });

  test("a project's retention_days wins over the default; 0 keeps all, and so does none", async () => {
    t = await makeTestApp({}, { retentionDays: 4 });
    for (const tenant of ['acme', 'globex', 'initech']) await fill(t, tenant);
    const project = t.engine.store.sqlite.query(
      'INSERT INTO projects (id, name, created_at, retention_days) VALUES (?1, ?1, 0, ?2)',
    );
    project.run('globex', 1);
    project.run('initech', 0);
    const drops = await t.retention.run();
    expect(drops.map((d) => [d.tenant, d.fromDay, d.toDay])).toEqual([
      ['acme', '2026-11-20', '2026-11-20'], // the default: kept from 2026-11-21
      ['globex', '2026-11-20', '2026-11-23'], // its own 1 day: kept from 2026-11-24
    ]);
    expect((await reads(t, 'initech')).total).toBe(10);
    expect((await reads(t, 'globex')).ids).toEqual(idsOf('globex', DAYS.slice(3)));
  });

  test('a project changed while a pass runs is deleted by its new days, not the old', async () => {
    let app: TestApp | null = null;
    t = await makeTestApp(
      {
        // Between acme's deletion and globex's, globex's owner keeps everything (200 at once).
        fault: (point: FaultPoint) => {
          if (point !== 'retention:after-catalog' || app === null) return;
          const projects = app.engine.store.sqlite.query(
            'UPDATE projects SET retention_days = ?2 WHERE id = ?1',
          );
          projects.run('globex', 0);
        },
      },
      { retentionDays: 2 },
    );
    app = t;
    for (const tenant of ['acme', 'globex']) await fill(t, tenant);
    t.engine.store.sqlite
      .query(
        "INSERT INTO projects (id, name, created_at, retention_days) VALUES ('globex', 'g', 0, 1)",
      )
      .run();
    const drops = await t.retention.run();
    expect(drops.map((d) => d.tenant)).toEqual(['acme']);
    expect((await reads(t, 'globex')).total).toBe(10);
  });

  test('a project changed while its deletion waits for the write lock keeps its days', async () => {
    let app: TestApp | null = null;
    let pass: Promise<RetentionDrop[]> | null = null;
    t = await makeTestApp(
      {
        // A flush holds the write lock: the pass checks acme (1 day: delete) and waits for the
        // lock; meanwhile acme's owner keeps everything.
        fault: (point: FaultPoint) => {
          if (point !== 'flush:after-catalog' || app === null || pass !== null) return;
          pass = app.retention.run();
          app.engine.store.sqlite
            .query("UPDATE projects SET retention_days = 0 WHERE id = 'acme'")
            .run();
        },
      },
      { retentionDays: 0 },
    );
    await send(t, 'acme', [['old', '2026-11-20']]);
    await t.engine.store.flusher.flush();
    t.engine.store.sqlite
      .query(
        "INSERT INTO projects (id, name, created_at, retention_days) VALUES ('acme', 'a', 0, 1)",
      )
      .run();
    app = t;
    await send(t, 'acme', [['new', '2026-11-25']]);
    await t.engine.store.flusher.flush();
    expect(pass).not.toBeNull();
    expect(await (pass as unknown as Promise<RetentionDrop[]>)).toEqual([]);
    expect((await reads(t, 'acme')).ids).toEqual(['new', 'old']);
  });

  test('GET /api/v1/status shows RETENTION_DAYS and when the last pass began', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    const status = () => json(t as TestApp, '/api/v1/status');
    expect(await status()).toMatchObject({ retention_days: 2, retention_last_run_at: null });
    await t.retention.run();
    expect(await status()).toMatchObject({ retention_last_run_at: '2026-11-25T12:00:00.000Z' });
  });

  test('RETENTION_DAYS=0 keeps everything', async () => {
    t = await makeTestApp();
    await fill(t, 'acme');
    t.clock.advance(3650 * DAY_MS);
    expect(await t.retention.run()).toEqual([]);
    expect((await reads(t, 'acme')).total).toBe(10);
  });
});

describe('a shutdown while a pass runs', () => {
  test('the pass ends after the tenant it is deleting, and no pass starts after', async () => {
    let app: TestApp | null = null;
    let stopped: Promise<void> | null = null;
    t = await makeTestApp(
      {
        fault: (point: FaultPoint) => {
          if (point === 'retention:after-catalog' && app !== null) stopped ??= app.retention.stop();
        },
      },
      { retentionDays: 2 },
    );
    app = t;
    for (const tenant of ['acme', 'globex', 'initech']) await fill(t, tenant);
    const drops = await t.retention.run();
    await stopped;
    // acme's days went whole (catalog and files); the others wait for the next start.
    expect(drops.map((d) => d.tenant)).toEqual(['acme']);
    expect(catalogDays(t, 'acme')).toEqual(DAYS.slice(2));
    expect(catalogDays(t, 'globex')).toEqual(DAYS);
    expect(await t.retention.run()).toEqual([]);
    expect(catalogDays(t, 'initech')).toEqual(DAYS);
  });
});

describe('day boundaries', () => {
  test('at 00:00 and 23:59:59.999 UTC alike, a day goes once all of it is past the days', async () => {
    t = await makeTestApp({}, { retentionDays: 30 });
    const oct = ['2026-10-24', '2026-10-25', '2026-10-26', '2026-10-27'];
    await send(
      t,
      'acme',
      oct.map((day): [string, string] => [day, day]),
    );
    await t.engine.store.flusher.flush();
    // The README's example: 30 days on 2026-11-25 keep 2026-10-26 on.
    t.clock.set(Date.parse('2026-11-25T00:00:00Z'));
    expect((await t.retention.run()).map((d) => [d.keptFromDay, d.fromDay, d.toDay])).toEqual([
      ['2026-10-26', '2026-10-24', '2026-10-25'],
    ]);
    t.clock.set(Date.parse('2026-11-25T23:59:59.999Z'));
    expect(await t.retention.run()).toEqual([]);
    t.clock.advance(1);
    expect((await t.retention.run()).map((d) => d.toDay)).toEqual(['2026-10-26']);
    expect(catalogDays(t, 'acme')).toEqual(['2026-10-27']);
  });
});

describe('event ids of deleted days', () => {
  test('stay duplicates across a clean restart; a rebuilt index takes them anew', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    const again = async () => {
      const res = await (t as TestApp).post('/api/v1/events', {
        event_id: 'old',
        name: 'page_view',
        timestamp: '2026-11-20T06:00:00Z',
      });
      return ((await res.json()) as { duplicate: boolean }).duplicate;
    };
    expect(await again()).toBe(false);
    await t.engine.store.flusher.flush();
    expect((await t.retention.run()).map((d) => d.events)).toEqual([1]);
    expect(await again()).toBe(true);
    await t.restart();
    expect(await again()).toBe(true);
    // As after a crash: no snapshot of the index, rebuilt from the segments, which lost it.
    const dir = t.dataDir;
    await t.restart(() => fs.rmSync(path.join(dir, 'dedup-index.snapshot')));
    expect(await again()).toBe(false);
    await t.engine.store.flusher.flush();
    expect((await t.retention.run()).map((d) => d.events)).toEqual([1]);
    expect(await t.count()).toBe(0);
  });
});

describe('late events for a day already past retention', () => {
  test('are stored and read until flushed, then go at the next pass', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await fill(t, 'acme');
    await t.retention.run();
    await send(t, 'acme', [['late', '2026-11-20']]);
    expect((await reads(t, 'acme')).ids).toContain('late');
    // Unflushed, it is in no segment: the pass cannot delete it yet.
    expect(await t.retention.run()).toEqual([]);
    expect((await reads(t, 'acme')).ids).toContain('late');
    await t.engine.store.flusher.flush();
    expect(catalogDays(t, 'acme')).toContain('2026-11-20');
    const drops = await t.retention.run();
    expect(drops.map((d) => [d.fromDay, d.toDay, d.events])).toEqual([
      ['2026-11-20', '2026-11-20', 1],
    ]);
    expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(2)));
    await t.restart(); // flushed: not replayed from the log
    expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(2)));
  });
});

describe('the write-ahead log after a pass', () => {
  /** The write-ahead log files whose bytes hold `needle`. */
  function logFilesHolding(app: TestApp, needle: string): string[] {
    const dir = path.join(app.dataDir, 'wal');
    return fs.readdirSync(dir).filter((f) => fs.readFileSync(path.join(dir, f)).includes(needle));
  }

  test('holds no record of a deleted day: not of a late event, nor of one flushed before', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await fill(t, 'acme');
    await send(t, 'acme', [['kept', '2026-11-25']]); // unflushed, in the same log file
    // The current log file holds the old days' records (they are flushed) until it fills.
    expect(logFilesHolding(t, 'acme-2026-11-20-a')).toEqual(['0000000001.wal']);
    await t.retention.run();
    expect(logFilesHolding(t, 'acme-2026-11-20-a')).toEqual([]);
    // A late event for a deleted day: stored, flushed, and gone from the log at the next pass.
    await send(t, 'acme', [['late', '2026-11-20']]);
    await t.engine.store.flusher.flush();
    expect(logFilesHolding(t, '"late"').length).toBe(1);
    await t.retention.run();
    expect(logFilesHolding(t, '"late"')).toEqual([]);
    await send(t, 'acme', [['later', '2026-11-25']]);
    await t.restart();
    const kept = [...idsOf('acme', DAYS.slice(2)), 'kept', 'later'].sort();
    expect((await reads(t, 'acme')).ids).toEqual(kept);
    expect(logFilesHolding(t, 'acme-2026-11-20-a')).toEqual([]);
  });

  test('a pass over many tenants closes one log file and flushes once, not one per tenant', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    const tenants = ['acme', 'globex', 'initech'];
    for (const tenant of tenants) await fill(t, tenant);
    const { retention, flusher } = t.engine.store;
    // Events keep coming between the tenants' deletions, and are flushed as usual.
    const drop = retention.dropDaysBefore.bind(retention);
    let sent = 0;
    retention.dropDaysBefore = async (tenant, keptFrom) => {
      const dropped = await drop(tenant, keptFrom);
      await send(t as TestApp, 'acme', [[`during-${sent++}`, '2026-11-25']]);
      await flusher.flush();
      return dropped;
    };
    const flush = spyOn(flusher, 'flush');
    expect((await t.retention.run()).map((d) => d.tenant)).toEqual(tenants);
    expect(flush).toHaveBeenCalledTimes(3); // the tenants' own: none more for the log
    expect(fs.readdirSync(path.join(t.dataDir, 'wal'))).toEqual(['0000000002.wal']);
    for (const tenant of tenants) expect(logFilesHolding(t, `${tenant}-2026-11-20-a`)).toEqual([]);
  });

  for (const point of ['retention:after-catalog', 'retention:after-retire'] as const) {
    test(`${point}: a stop before the log lets them go leaves them to the first flush`, async () => {
      let stop = true;
      const fault = (reached: FaultPoint) => {
        if (reached !== point || !stop) return;
        stop = false;
        throw new Error(`stopped at ${point}`);
      };
      t = await makeTestApp({ fault }, { retentionDays: 2 });
      await fill(t, 'acme');
      await expect(t.retention.run()).rejects.toThrow(`stopped at ${point}`);
      expect(logFilesHolding(t, 'acme-2026-11-20-a')).toEqual(['0000000001.wal']);
      await t.restart();
      expect(await t.engine.store.flusher.flush()).toMatchObject({ rows: 0 });
      expect(logFilesHolding(t, 'acme-2026-11-20-a')).toEqual([]);
      expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(2)));
    });
  }
});

describe('a read or a compaction across a pass', () => {
  test('a held snapshot still reads every event it listed; its files go on release', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await fill(t, 'acme');
    const held = await t.engine.store.snapshot('acme');
    await t.retention.run();
    expect(daysOnDisk(t)).toContain('tenant=acme/day=2026-11-20');
    const counted = await held.connection.runAndReadAll(
      `SELECT count(*) AS n, count(DISTINCT event_id) AS ids FROM ${held.from} AS e`,
      held.params,
    );
    expect(counted.getRowObjectsJS()).toEqual([{ n: 10n, ids: 10n }]);
    expect(await t.count('acme')).toBe(6); // a snapshot taken now lists none of the old days
    held.release();
    expect(daysOnDisk(t)).toEqual(DAYS.slice(2).map((d) => `tenant=acme/day=${d}`));
  });

  test('a compaction merging an old day meanwhile commits nothing and leaves no file', async () => {
    let app: TestApp | null = null;
    let pass: Promise<unknown> | null = null;
    t = await makeTestApp(
      {
        compactSegmentsMin: 2,
        // The pass lands between the merge writing its file and swapping it in.
        fault: (point: FaultPoint) => {
          if (point === 'compact:after-write' && app !== null) pass = app.retention.run();
        },
      },
      { retentionDays: 2 },
    );
    app = t;
    for (const id of ['o1', 'o2', 'o3']) {
      await send(t, 'acme', [[id, '2026-11-20']]);
      await t.engine.store.flusher.flush();
    }
    await send(t, 'acme', [['new', '2026-11-25']]);
    await t.engine.store.flusher.flush();
    expect(await t.engine.store.compactor.compact()).toBe(0);
    expect(pass).not.toBeNull(); // the merge was written, and the pass ran across it
    await pass;
    expect(catalogDays(t, 'acme')).toEqual(['2026-11-25']);
    expect(daysOnDisk(t)).toEqual(['tenant=acme/day=2026-11-25']);
    expect((await reads(t, 'acme')).ids).toEqual(['new']);
    await t.restart();
    expect((await reads(t, 'acme')).ids).toEqual(['new']);
  });
});

describe('a stop after each step of a pass', () => {
  for (const point of ['retention:after-catalog', 'retention:after-retire'] as const) {
    test(`${point}: after a restart nothing deleted is back, and no file stays`, async () => {
      t = await makeTestApp(
        {
          fault: (reached) => {
            if (reached === point) throw new Error(`stopped at ${point}`);
          },
        },
        { retentionDays: 2 },
      );
      await fill(t, 'acme');
      await expect(t.retention.run()).rejects.toThrow(`stopped at ${point}`);
      await t.restart();
      expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(2)));
      expect(daysOnDisk(t)).toEqual(DAYS.slice(2).map((d) => `tenant=acme/day=${d}`));
      const dirs = fs.readdirSync(path.join(t.dataDir, 'segments', 'tenant=acme'));
      expect(dirs.sort()).toEqual(DAYS.slice(2).map((d) => `day=${d}`)); // emptied ones went
    });
  }
});

describe('a retention pass and the links of by=person', () => {
  test('a deleted day takes its links: the next link of the anonymous id is its user', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    const at = (day: string, hour = 6) => `${day}T${String(hour).padStart(2, '0')}:00:00Z`;
    const res = await t.post('/api/v1/events/batch', {
      events: [
        // a's first link, on a day the pass deletes; its second, on a day kept.
        { name: 'login', user_id: 'u1', anonymous_id: 'a', timestamp: at('2026-11-20') },
        { name: 'login', user_id: 'u2', anonymous_id: 'a', timestamp: at('2026-11-24') },
        { name: 'page_view', path: '/p', anonymous_id: 'a', timestamp: at('2026-11-25', 1) },
        { name: 'signup', user_id: 'u1', timestamp: at('2026-11-25', 2) },
      ],
    });
    expect(res.status).toBe(202);
    await t.engine.store.flusher.flush();
    const funnel = async () => {
      const route = `/api/v1/funnel?by=person&step=path:/p&step=name:signup&${RANGE}`;
      return ((await json(t as TestApp, route)).steps as { count: number }[]).map((s) => s.count);
    };
    expect(await funnel()).toEqual([1, 1]); // the view is u1's, who signs up
    await t.retention.run();
    expect(await funnel()).toEqual([1, 0]); // now u2's: u1's link is deleted with its day
  });
});

describe('the live counters after a pass', () => {
  /** The live counters of `tenant` as the WebSocket shows them now. */
  const live = async (app: TestApp, tenant: string) => {
    const actor = app.engine.registry.peek(tenant);
    await actor?.whenReady(); // as the WebSocket waits for a rebuild
    return actor?.rollups.snapshot(app.clock.now());
  };

  test('no longer show the deleted days: a late event, a metric point of a deleted day', async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await fill(t, 'acme');
    expect((await live(t, 'acme'))?.windows['24h'].events).toBe(10);
    await t.retention.run();
    // The 4 events of the deleted days, received now, are no longer counted.
    expect(((await live(t, 'acme')) ?? (await rebuilt(t, 'acme'))).windows['24h'].events).toBe(6);
    // A late event and the only point of a metric, both stamped on a day past retention.
    const res = await t.post('/api/v1/events', {
      event_id: 'late-metric',
      name: 'cpu_load',
      tenant_id: 'acme',
      timestamp: '2026-11-20T06:00:00Z',
      value: 0.5,
    });
    expect(res.status).toBe(202);
    await t.engine.store.flusher.flush();
    expect((await t.get('/api/v1/metrics/latest/cpu_load?tenant_id=acme')).status).toBe(200);
    expect((await live(t, 'acme'))?.windows['24h'].events).toBe(7);

    const drops = await t.retention.run();
    expect(drops.map((d) => [d.fromDay, d.toDay, d.events])).toEqual([
      ['2026-11-20', '2026-11-20', 1],
    ]);
    // Deleted from the store: every read, the live ones too, no longer shows it.
    expect((await t.get('/api/v1/metrics/latest/cpu_load?tenant_id=acme')).status).toBe(404);
    expect((await reads(t, 'acme')).ids).toEqual(idsOf('acme', DAYS.slice(2)));
    const after = (await live(t, 'acme')) ?? (await rebuilt(t, 'acme'));
    expect(after.latest_metrics).toEqual([]);
    expect(after.windows['24h'].events).toBe(6);
  });
});

/** The tenant's rollups once its actor is made again and rebuilt. */
async function rebuilt(app: TestApp, tenant: string) {
  const actor = app.engine.registry.actorFor(tenant);
  if (actor === null) throw new Error('no actor');
  await actor.whenReady();
  return actor.rollups.snapshot(app.clock.now());
}

describe('a retention pass and the copies of damaged log bytes a start kept', () => {
  test("their records' events of deleted days go; the rest of each copy stays", async () => {
    t = await makeTestApp({}, { retentionDays: 2 });
    await send(t, 'globex', [['g0', '2026-11-25']]); // the record to be damaged
    await send(t, 'acme', [
      ['old-1', '2026-11-20'],
      ['kept-1', '2026-11-25'],
    ]);
    await send(t, 'globex', [['old-g', '2026-11-20']]);
    await send(t, 'acme', [['kept-2', '2026-11-24']]);
    await t.engine.store.flusher.flush();
    const damaged = await restartWithFirstRecordDamaged(t);
    const copy = path.join(t.dataDir, 'wal', COPY);
    expect(recordIds(copy)).toEqual([['old-1', 'kept-1'], ['old-g'], ['kept-2']]);

    await t.retention.run();
    expect(filesHolding(t.dataDir, '"old-1"')).toEqual([]);
    expect(filesHolding(t.dataDir, '"old-g"')).toEqual([]);
    expect(recordIds(copy)).toEqual([['kept-1'], ['kept-2']]);
    expect(fs.readFileSync(copy).subarray(0, damaged.length).equals(damaged)).toBe(true);
  });

  test('a pass after a stop past the catalog step still cuts them', async () => {
    let stop = true;
    t = await makeTestApp(
      {
        fault: (reached: FaultPoint) => {
          if (reached !== 'retention:after-catalog' || !stop) return;
          stop = false;
          throw new Error('stopped');
        },
      },
      { retentionDays: 2 },
    );
    await send(t, 'acme', [['k0', '2026-11-25']]); // the record to be damaged
    await send(t, 'acme', [['old-1', '2026-11-20']]);
    await t.engine.store.flusher.flush();
    await restartWithFirstRecordDamaged(t);
    stop = true;
    await expect(t.retention.run()).rejects.toThrow('stopped');
    expect(filesHolding(t.dataDir, '"old-1"')).toEqual([`wal/${COPY}`]);
    await t.restart();
    expect(await t.retention.run()).toEqual([]); // its days went before the stop
    expect(filesHolding(t.dataDir, '"old-1"')).toEqual([]);
  });
});
