// Restarts of the engine with the dedup index's snapshot: a clean close leaves one, the next
// open uses it (and deletes it) only while the store is exactly as it was, and every id is a
// duplicate or new exactly as a full rebuild from the segments and the log says. A snapshot
// left behind by a crash between its load and its delete, one of a store that changed since,
// one made before a project was deleted, and a damaged one are not used; none makes an event
// refused or lost.

import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger, DAY_MS, ManualClock } from '../../src/core/index.ts';
import { DedupIndex } from '../../src/engine/dedup-index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { engineOptions, T0 } from '../helpers/app.ts';
import { makeEvent } from '../helpers/memory-source.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const SNAPSHOT = 'dedup-index.snapshot';
const tombstoneOnly = { decide: (tombstone: () => void) => tombstone() };

let temp: ReturnType<typeof makeTempDir>;
let clock: ManualClock;
let engine: Engine | undefined;
let logs: { msg: string; reason?: string }[];

afterEach(async () => {
  await engine?.close();
  engine = undefined;
  temp.remove();
});

function setUp(): void {
  temp = makeTempDir('tally-dedup-restart-');
  clock = new ManualClock(T0);
  logs = [];
}

async function open(overrides: Partial<EngineOptions> = {}): Promise<Engine> {
  const log = createLogger('info', (line) => logs.push(JSON.parse(line)));
  engine = await openEngine(engineOptions(temp.dir, clock, { log, ...overrides }));
  return engine;
}

async function close(): Promise<void> {
  await engine?.close();
  engine = undefined;
}

/** Sends `ids` of `tenant` (received now); each one's status. */
async function send(tenant: string, ids: string[]): Promise<string[]> {
  const events = ids.map((id) => makeEvent({ tenant, event_id: id, timestamp: clock.now() }));
  const outcome = await (engine as Engine).ingestor.ingest(events);
  if (outcome.kind !== 'ok') throw new Error(`refused: ${JSON.stringify(outcome)}`);
  return outcome.results.map((r) => r.status);
}

/** One event through `e`, accepted. */
async function sendOne(e: Engine): Promise<void> {
  const outcome = await e.ingestor.ingest([makeEvent({ timestamp: clock.now() })]);
  expect(outcome).toMatchObject({ kind: 'ok', accepted: 1 });
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const statuses = (status: string, n: number) => new Array<string>(n).fill(status);
const snapshotPath = () => path.join(temp.dir, SNAPSHOT);
const said = (msg: string) => logs.filter((l) => l.msg.includes(msg));
const loaded = () => said('loaded from its snapshot').length;
const notUsed = () => said('snapshot not used').map((l) => l.reason);

/** Keeps a copy of the snapshot a clean close just wrote. */
function copySnapshot(): Buffer {
  expect(fs.existsSync(snapshotPath())).toBe(true);
  return fs.readFileSync(snapshotPath());
}

/** What a crash after the snapshot's load, before its delete, would leave: it, back. */
function putBack(stale: Buffer): void {
  fs.writeFileSync(snapshotPath(), stale);
}

describe('restarting with the dedup snapshot', () => {
  test('a clean restart loads it: ids in segments and in the log stay duplicates, others new', async () => {
    setUp();
    await open();
    await send('acme', ids('seg-', 50));
    await engine?.store.flusher.flush();
    await send('acme', ids('log-', 50));
    await send('beta', ids('beta-', 10));
    await close();
    expect(said('snapshot written')).toHaveLength(1);
    const stale = copySnapshot();

    await open();
    expect(loaded()).toBe(1);
    expect(fs.existsSync(snapshotPath())).toBe(false); // gone before any write
    expect(engine?.dedup.size).toBe(110);
    expect(await send('acme', [...ids('seg-', 50), ...ids('log-', 50)])).toEqual(
      statuses('duplicate', 100),
    );
    expect(await send('beta', ids('beta-', 10))).toEqual(statuses('duplicate', 10));
    expect(await send('beta', ['acme-only', 'seg-1'])).toEqual(statuses('accepted', 2));

    // The same answers from a full rebuild (no snapshot: as after a crash).
    await close();
    fs.rmSync(snapshotPath());
    await open();
    expect([loaded(), engine?.dedup.size]).toEqual([1, 112]);
    expect(await send('beta', ['acme-only', 'seg-1', 'beta-3', 'new'])).toEqual([
      'duplicate',
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    expect(stale.length).toBeGreaterThan(0);
  });

  test('a snapshot a crash left after its load is used while the store is unchanged, else not', async () => {
    setUp();
    await open();
    await send('acme', ids('a', 20));
    await engine?.store.flusher.flush();
    await send('acme', ids('b', 20));
    await close();
    const stale = copySnapshot();

    // Loaded and deleted, nothing written, then a crash: the one left is still the store's.
    await open();
    await close();
    putBack(stale);
    await open();
    expect(loaded()).toBe(2);
    expect(await send('acme', ids('a', 20))).toEqual(statuses('duplicate', 20));
    // Written since (the duplicates above wrote nothing): new ids, flushed out of the log.
    expect(await send('acme', ids('c', 20))).toEqual(statuses('accepted', 20));
    await engine?.store.flusher.flush();
    await send('acme', ids('d', 5));
    await close();
    putBack(stale);
    await open();
    expect(loaded()).toBe(2);
    expect(notUsed()).toEqual([expect.stringMatching(/^the log's last seq is \d+, not \d+$/)]);
    for (const prefix of ['a', 'b', 'c']) {
      expect(await send('acme', ids(prefix, 20))).toEqual(statuses('duplicate', 20));
    }
    expect(await send('acme', [...ids('d', 5), 'e'])).toEqual([
      ...statuses('duplicate', 5),
      'accepted',
    ]);
  });

  test('a snapshot of a store flushed or compacted since is not used', async () => {
    setUp();
    await open({ compactSegmentsMin: 2 });
    await send('acme', ids('a', 10));
    await engine?.store.flusher.flush();
    await send('acme', ids('b', 10));
    await close();
    const unflushed = copySnapshot();
    await open({ compactSegmentsMin: 2 });
    await engine?.store.flusher.flush(); // no new record: the log's last seq stays
    await close();
    const twoSegments = copySnapshot();
    putBack(unflushed);
    await open({ compactSegmentsMin: 2 });
    expect(notUsed()).toEqual([expect.stringMatching(/^the log is flushed through seq \d+, not/)]);
    expect(await engine?.store.compactor.compact()).toBe(1);
    await close();
    putBack(twoSegments);
    await open({ compactSegmentsMin: 2 });
    // SQLite gave the merged segment a rowid the store had used (no AUTOINCREMENT): the digest
    // of ids and files tells them apart, not the highest id.
    expect(notUsed()[1]).toBe(
      'the catalog lists other segments (1, highest id 1; then 2, highest id 2)',
    );
    expect(loaded()).toBe(1); // only the open right after the first close
    expect(await send('acme', [...ids('a', 10), ...ids('b', 10)])).toEqual(
      statuses('duplicate', 20),
    );
  });

  test('ids a deleted project had stay new after the restart; those sent since stay known', async () => {
    setUp();
    await open();
    await send('acme', ['old-1', 'old-2']);
    await engine?.store.flusher.flush();
    await send('acme', ['old-3']);
    await engine?.deletions.delete('acme', tombstoneOnly);
    expect(await send('acme', ['old-1', 'new-1'])).toEqual(statuses('accepted', 2));
    await close();
    await open();
    expect(loaded()).toBe(1);
    expect(await send('acme', ['old-1', 'new-1', 'old-2', 'old-3', 'new-2'])).toEqual([
      'duplicate',
      'duplicate',
      'accepted',
      'accepted',
      'accepted',
    ]);
  });

  test('a project deleted after the snapshot was made makes it unusable: its ids are new', async () => {
    setUp();
    await open();
    await send('acme', ['x-1']); // in the log only: deleting acme drops no segment
    await send('beta', ['y-1']);
    await close();
    const stale = copySnapshot();
    await open();
    await engine?.deletions.delete('acme', tombstoneOnly);
    await close();
    putBack(stale);
    await open();
    expect(notUsed()).toEqual(['a project was deleted since']);
    expect(await send('acme', ['x-1'])).toEqual(['accepted']);
    expect(await send('beta', ['y-1'])).toEqual(['duplicate']);
  });

  test('a damaged snapshot is not used, with a warning saying why', async () => {
    setUp();
    await open();
    await send('acme', ids('a', 30));
    await close();
    const bytes = copySnapshot();
    bytes[bytes.length - 100] = (bytes[bytes.length - 100] as number) ^ 1;
    putBack(bytes);
    await open();
    expect([loaded(), notUsed()]).toEqual([0, ['its checksum does not match']]);
    expect(fs.existsSync(snapshotPath())).toBe(false);
    expect(await send('acme', [...ids('a', 30), 'b'])).toEqual([
      ...statuses('duplicate', 30),
      'accepted',
    ]);
  });

  test('a lower DEDUP_KEYS_MAX at the next start forgets the oldest generations early', async () => {
    setUp();
    await open();
    for (let day = 0; day < 4; day++) {
      await send('acme', ids(`d${day}-`, 10));
      clock.advance(DAY_MS);
    }
    await close();
    const shortened: number[] = [];
    await open({ dedupKeysMax: 25, onDedupShortened: (dropped) => shortened.push(dropped) });
    expect(loaded()).toBe(1);
    expect(engine?.dedup.size).toBeLessThanOrEqual(25);
    expect(shortened.reduce((a, b) => a + b, 0)).toBe(40 - (engine?.dedup.size ?? 0));
    expect(await send('acme', ids('d3-', 10))).toEqual(statuses('duplicate', 10));
  });

  test('a rebuild holds no more ids than DEDUP_KEYS_MAX, though the segments hold more', async () => {
    setUp();
    const limits = { dedupKeysMax: 25, dedupWindowMs: 8 * DAY_MS }; // a generation a day
    await open(limits);
    // 10 new ids a day for 6 days: the index forgets the oldest days early as it runs, but
    // every event stays in its segment.
    for (let day = 0; day < 6; day++) {
      expect(await send('acme', ids(`d${day}-`, 10))).toEqual(statuses('accepted', 10));
      await (engine as Engine).store.flusher.flush();
      clock.advance(DAY_MS);
    }
    expect(engine?.dedup.size).toBeLessThanOrEqual(25);
    await close();
    fs.rmSync(snapshotPath()); // as after a crash: rebuilt from the 60 ids of the segments
    const addNewest = DedupIndex.prototype.addNewest;
    let held = 0;
    DedupIndex.prototype.addNewest = function (this: DedupIndex, key, receivedAt) {
      addNewest.call(this, key, receivedAt);
      held = Math.max(held, this.size);
    };
    try {
      await open(limits);
    } finally {
      DedupIndex.prototype.addNewest = addNewest;
    }
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(25);
    // As at run time: the newest days are remembered, the oldest forgotten early.
    const since = engine?.dedup.rememberedSince(clock.now()) ?? null;
    expect(since).not.toBeNull();
    expect(await send('acme', ids('d5-', 10))).toEqual(statuses('duplicate', 10));
    expect(await send('acme', ids('d0-', 10))).toEqual(statuses('accepted', 10));
  });

  test('an id stored again once forgotten early stays remembered after a rebuild', async () => {
    setUp();
    const limits = { dedupKeysMax: 25, dedupWindowMs: 8 * DAY_MS }; // a generation a day
    await open(limits);
    await send('acme', ids('a', 10));
    clock.advance(DAY_MS);
    await send('acme', ids('b', 10));
    clock.advance(DAY_MS);
    // 10 more would pass 25 (duplicates count too): day 0 is forgotten early ...
    expect(await send('acme', ids('b', 10))).toEqual(statuses('duplicate', 10));
    clock.advance(DAY_MS);
    // ... so a0 is stored again, and from now on remembered by this copy (day 3).
    expect(await send('acme', ['a0'])).toEqual(['accepted']);
    clock.advance(DAY_MS);
    await send('acme', ids('c', 10));
    clock.advance(DAY_MS);
    await send('acme', ids('d', 5)); // past 25 again: day 1 goes early
    expect(await send('acme', ['a0'])).toEqual(['duplicate']);
    await close();
    fs.rmSync(snapshotPath()); // as after a crash: both copies of a0 are read back
    await open(limits);
    // Day 3's copy is within what the index remembers: a0 is still a duplicate.
    expect(engine?.dedup.rememberedSince(clock.now())).toBeLessThanOrEqual(T0 + 3 * DAY_MS);
    expect(await send('acme', ['a0'])).toEqual(['duplicate']);
  });

  test('once closing, the engine takes no more events (the snapshot stays true)', async () => {
    setUp();
    const opened = await open();
    const closing = opened.close();
    engine = undefined;
    const late = await opened.ingestor.ingest([makeEvent({ timestamp: T0 })]);
    expect(late).toEqual({ kind: 'overloaded', reason: 'the server is shutting down' });
    await closing;
    expect(opened.dedup.size).toBe(0);
  });

  test('closing twice (a test harness, a second signal) writes the snapshot once', async () => {
    setUp();
    const opened = await open();
    engine = undefined;
    await sendOne(opened);
    await Promise.all([opened.close(), opened.close()]);
    await opened.close();
    expect(said('snapshot written')).toHaveLength(1);
  });
});
