// Schema evolution of stored events (segment-format.ts): a data directory left by the release
// before `country` (catalog at schema 8, a segment written with the old column list, log records
// without the field) opens, reads every old event with a null country beside new events with
// theirs, compacts a day mixing old and new segments into one of the current format with every
// event once, and does so again after a restart.

import { Database } from 'bun:sqlite';
import { afterAll, afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { CountryDb } from '../../src/engine/index.ts';
import {
  EVENT_COLUMNS,
  minuteCountsFile,
  WriteAheadLog,
  writeMinuteCounts,
} from '../../src/storage/index.ts';
import { migrations } from '../../src/storage/migrations/index.ts';
import { makeTestApp, T0, type TestApp } from '../helpers/app.ts';
import { writeTestCountryDb } from '../helpers/mmdb-writer.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

type Json = Record<string, unknown>;

/** The columns of a stored event before `country`, as that release wrote its segments. */
const OLD_COLUMNS = EVENT_COLUMNS.filter(([name]) => name !== 'country');
const OLD_SCHEMA_VERSION = 8;
const OLD_SEGMENT = 'tenant=acme/day=2026-11-25/0000000000000002-0ld0ld00.parquet';

/** An event as that release stored it: every field but `country`. */
function oldEvent(id: string, minute: number): Json {
  return {
    event_id: id,
    tenant: 'acme',
    name: 'page_view',
    timestamp: T0 - 3_600_000 + minute * 60_000,
    received_at: T0 - 3_600_000 + minute * 60_000,
    user_id: null,
    anonymous_id: null,
    session_id: null,
    source: null,
    path: `/old/${id}`,
    referrer: null,
    url: null,
    user_agent: null,
    ip: null,
    duration: null,
    value: null,
    properties: null,
    os: 'Linux',
    browser: 'Firefox',
    device: 'desktop',
    is_bot: false,
    visitor_id: `v-${id}`,
  };
}

/**
 * Leaves in `dir` what the release before countries would have: its catalog (schema 8) listing
 * one segment of `o1`, `o2` (log records 1–2, flushed) with its minute counts, and records 3–4
 * not flushed yet, holding `o3` and `o4`.
 */
async function writeOldDataDir(dir: string): Promise<void> {
  const segments = path.join(dir, 'segments');
  fs.mkdirSync(path.join(segments, path.dirname(OLD_SEGMENT)), { recursive: true });
  const file = path.join(segments, OLD_SEGMENT);
  const duck = await DuckDBInstance.create(':memory:');
  const c = await duck.connect();
  const defs = OLD_COLUMNS.map(([name, type]) => `"${name}" ${type}`).join(', ');
  await c.run(`CREATE TABLE old_events (${defs})`);
  for (const [i, id] of ['o1', 'o2'].entries()) {
    const e = oldEvent(id, i);
    await c.run(
      `INSERT INTO old_events (event_id, tenant, name, "timestamp", received_at, path, os,
         browser, device, is_bot, visitor_id, seq)
       VALUES ($id, 'acme', 'page_view', make_timestamptz($us::BIGINT), make_timestamptz($us::BIGINT), $path,
         'Linux', 'Firefox', 'desktop', false, $visitor, 2)`,
      { id, us: BigInt(e.timestamp as number) * 1000n, path: e.path as string, visitor: `v-${id}` },
    );
  }
  await c.run(`COPY (SELECT * FROM old_events ORDER BY "timestamp", event_id) TO '${file}'`);
  await writeMinuteCounts(
    c,
    `read_parquet('${file}')`,
    {},
    path.join(segments, minuteCountsFile(OLD_SEGMENT)),
  );
  c.closeSync();
  duck.closeSync();

  const db = new Database(path.join(dir, 'tally.sqlite'), { create: true, strict: true });
  for (const migration of migrations.slice(0, OLD_SCHEMA_VERSION)) migration(db);
  db.run(`PRAGMA user_version = ${OLD_SCHEMA_VERSION}`);
  db.query(
    `INSERT INTO segments (tenant, day, file, rows, bytes, min_ts, max_ts, max_received_at,
       has_minute_counts, created_at)
     VALUES ('acme', '2026-11-25', $file, 2, $bytes, $min, $max, $max, 1, $min)`,
  ).run({ file: OLD_SEGMENT, bytes: fs.statSync(file).size, min: T0 - 3_600_000, max: T0 });
  db.run("UPDATE meta SET value = '2' WHERE key = 'flushed_through_seq'");
  db.close();

  const options = { dir: path.join(dir, 'wal'), fileBytesMax: 1 << 20, durability: 'fsync' };
  const wal = WriteAheadLog.open(options as Parameters<typeof WriteAheadLog.open>[0], () => {}, 2);
  for (const [i, id] of ['o3', 'o4'].entries()) {
    await wal.append([Buffer.from(JSON.stringify(oldEvent(id, 10 + i)))]);
  }
  await wal.sync();
  wal.close();
}

const geo = makeTempDir('tally-geoip-');
afterAll(geo.remove);
const countries = CountryDb.open(writeTestCountryDb(geo.dir));

let t: TestApp | undefined;
let old: { dir: string; remove: () => void } | undefined;
afterEach(async () => {
  await t?.close();
  old?.remove();
  t = undefined;
});

const json = async (app: TestApp, url: string) => {
  const res = await app.get(url);
  expect(res.status).toBe(200);
  return (await res.json()) as Json;
};

/** Every event of acme as the reads see it: id → country, and how many rows there were. */
async function countriesById(app: TestApp): Promise<{ rows: number; byId: Json }> {
  const page = (await json(app, '/api/v1/events?tenant_id=acme&limit=100')).events as Json[];
  const byId = Object.fromEntries(page.map((e) => [e.event_id, e.country]));
  return { rows: page.length, byId };
}

const EXPECTED = { o1: null, o2: null, o3: null, o4: null, n1: 'GB', n2: 'SE' };

async function expectEveryEventOnce(app: TestApp): Promise<void> {
  expect(await countriesById(app)).toEqual({ rows: 6, byId: EXPECTED });
  const stats = await json(app, '/api/v1/stats?tenant_id=acme');
  expect(stats).toMatchObject({ total_events: 6, page_views: 6, unique_visitors: 6 });
  expect(stats.countries).toEqual([
    { country: 'GB', events: 1, visitors: 1 },
    { country: 'SE', events: 1, visitors: 1 },
  ]);
  const sql = await app.post('/api/v1/query?tenant_id=acme', {
    sql: 'SELECT country, count(*), count(DISTINCT event_id) FROM events GROUP BY 1 ORDER BY 1',
  });
  expect(((await sql.json()) as Json).rows).toEqual([
    ['GB', 1, 1],
    ['SE', 1, 1],
    [null, 4, 4],
  ]);
  // Counted from minute counts (old and new companions) and from the events themselves.
  const series = await json(app, '/api/v1/timeseries?tenant_id=acme&from=2026-11-25&bucket=day');
  expect((series.series as Json[])[0]).toMatchObject({ events: 6 });
  const gb = await json(app, '/api/v1/timeseries?tenant_id=acme&from=2026-11-25&country=GB');
  expect((gb.series as Json[])[0]).toMatchObject({ events: 1 });
}

describe('a data directory from before countries', () => {
  test('reads old segments and log records with a null country beside new events', async () => {
    old = makeTempDir('tally-old-');
    await writeOldDataDir(old.dir);
    t = await makeTestApp(
      { dataDir: old.dir, countries, compactSegmentsMin: 2 },
      { trustProxy: true },
    );
    const app = t;
    const send = async (id: string, ip: string) => {
      const res = await app.post(
        '/api/v1/events',
        { event_id: id, tenant_id: 'acme', name: 'page_view', timestamp: T0 - 60_000 },
        { 'x-forwarded-for': ip },
      );
      expect(res.status).toBe(202);
    };
    await send('n1', '81.2.69.160');
    await send('n2', '89.160.20.112');
    await expectEveryEventOnce(app);
    // An old event sent again is a duplicate: its id was read from the old segment.
    const again = await app.post('/api/v1/events', {
      event_id: 'o1',
      tenant_id: 'acme',
      name: 'x',
    });
    expect(((await again.json()) as Json).duplicate).toBe(true);

    // A flush writes the current format beside the old segment, in the same day.
    expect(await app.engine.store.flusher.flush()).toMatchObject({ rows: 4 });
    const formats = () =>
      app.engine.store.catalog.segmentsOf('acme').map((s) => [s.file === OLD_SEGMENT, s.format]);
    expect(formats()).toEqual([
      [true, 1],
      [false, 2],
    ]);
    await expectEveryEventOnce(app);

    // Compaction merges the two into one segment of the current format, every event once.
    expect(await app.engine.store.compactor.compact()).toBe(1);
    expect(formats()).toEqual([[false, 2]]);
    await expectEveryEventOnce(app);

    await app.restart();
    await expectEveryEventOnce(app);
  });

  test('a restart before any flush replays the old records; they flush and compact', async () => {
    old = makeTempDir('tally-old-');
    await writeOldDataDir(old.dir);
    t = await makeTestApp({ dataDir: old.dir, countries, compactSegmentsMin: 2 });
    const app = t;
    await app.restart();
    expect(await countriesById(app)).toEqual({
      rows: 4,
      byId: { o1: null, o2: null, o3: null, o4: null },
    });
    await app.engine.store.flusher.flush();
    expect(await app.engine.store.compactor.compact()).toBe(1);
    await app.restart();
    expect((await countriesById(app)).rows).toBe(4);
    const db = app.engine.store.sqlite;
    expect(db.query('PRAGMA user_version').get()).toEqual({ user_version: migrations.length });
  });
});
