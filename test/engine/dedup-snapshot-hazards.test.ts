// What could make the dedup index's snapshot hold a key of an event that is not stored (its
// retry would be called a duplicate and lost), or lack one of a stored event (stored twice):
// groups refused for a full disk before the close, a store that failed fatally, an index
// shortened under DEDUP_KEYS_MAX and a higher one at the next start, and file system oddities
// where the snapshot or its temp file go. Each restart answers as a rebuild would.

import { afterEach, describe, expect, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createLogger, DAY_MS, ManualClock } from '../../src/core/index.ts';
import { type Engine, type EngineOptions, openEngine } from '../../src/engine/index.ts';
import { engineOptions, T0 } from '../helpers/app.ts';
import { LimitedDisk } from '../helpers/limited-disk.ts';
import { makeEvent } from '../helpers/memory-source.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const SNAPSHOT = 'dedup-index.snapshot';

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
  temp = makeTempDir('tally-dedup-hazards-');
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

async function ingest(tenant: string, ids: string[]) {
  const events = ids.map((id) => makeEvent({ tenant, event_id: id, timestamp: clock.now() }));
  return (engine as Engine).ingestor.ingest(events);
}

/** Sends `ids` of `tenant` (received now); each one's status. */
async function send(tenant: string, ids: string[]): Promise<string[]> {
  const outcome = await ingest(tenant, ids);
  if (outcome.kind !== 'ok') throw new Error(`refused: ${JSON.stringify(outcome)}`);
  return outcome.results.map((r) => r.status);
}

const ids = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const statuses = (status: string, n: number) => new Array<string>(n).fill(status);
const snapshotPath = () => path.join(temp.dir, SNAPSHOT);
const said = (msg: string) => logs.filter((l) => l.msg.includes(msg));
const loaded = () => said('loaded from its snapshot').length;
const notWritten = () => said('snapshot not written').map((l) => l.reason);
const notUsed = () => said('snapshot not used').map((l) => l.reason);

describe('the snapshot holds only durable events, and every remembered one', () => {
  test('ids of groups a full disk refused before the close are new after the restart', async () => {
    setUp();
    const disk = new LimitedDisk();
    await open({ fileIo: disk });
    expect(await send('acme', ids('kept-', 5))).toEqual(statuses('accepted', 5));
    disk.roomBytes = 100; // part of the next record fits: a short write, then ENOSPC
    expect(await ingest('acme', ids('refused-', 20))).toMatchObject({ kind: 'overloaded' });
    disk.roomBytes = Number.MAX_SAFE_INTEGER;
    await close();
    expect(notWritten()).toEqual([]);
    await open();
    expect(loaded()).toBe(1);
    expect(await send('acme', [...ids('kept-', 5), ...ids('refused-', 20)])).toEqual([
      ...statuses('duplicate', 5),
      ...statuses('accepted', 20),
    ]);
  });

  test('a deletion whose purge failed after its decision (a fatal error) leaves no snapshot', async () => {
    setUp();
    const fatal: unknown[] = [];
    await open({ onFatal: (error) => fatal.push(error) });
    expect(await send('acme', ['x-1'])).toEqual(['accepted']);
    expect(await send('beta', ['y-1'])).toEqual(['accepted']);
    const hot = (engine as Engine).store.hot as unknown as { purgeTenant: () => never };
    hot.purgeTenant = () => {
      throw new Error('IO Error: purge failed');
    };
    const deleting = (engine as Engine).deletions.delete('acme', {
      decide: (tombstone) => tombstone(),
    });
    expect(deleting).rejects.toThrow('purge failed');
    await deleting.catch(() => undefined);
    expect(fatal).toHaveLength(1);
    await close();
    expect(notWritten()).toEqual([expect.stringContaining('purge failed')]);
    await open();
    expect(loaded()).toBe(0);
    // The tombstone holds: acme's event is not stored, so its id is new; beta's stays known.
    expect(await send('acme', ['x-1'])).toEqual(['accepted']);
    expect(await send('beta', ['y-1'])).toEqual(['duplicate']);
  });

  test('an index shortened under DEDUP_KEYS_MAX, restarted with a higher one, is rebuilt', async () => {
    setUp();
    const options = { dedupWindowMs: 8 * DAY_MS, dedupKeysMax: 25 };
    await open(options);
    for (let day = 0; day < 4; day++) {
      await send('acme', ids(`d${day}-`, 10));
      clock.advance(DAY_MS);
    }
    // The oldest days went early: their ids are stored but no longer remembered.
    expect(engine?.dedup.rememberedSince(clock.now())).not.toBeNull();
    await engine?.store.flusher.flush(); // in segments: the log replays none of them
    await close();
    await open({ ...options, dedupKeysMax: 1000 });
    expect(notUsed()).toEqual([expect.stringContaining('DEDUP_KEYS_MAX')]);
    expect(engine?.dedup.rememberedSince(clock.now())).toBeNull();
    expect(await send('acme', ids('d0-', 10))).toEqual(statuses('duplicate', 10));
    // The same limit again: the snapshot is used, as short as the index it was.
    await close();
    await open({ ...options, dedupKeysMax: 1000 });
    expect(loaded()).toBe(1);
    expect(engine?.dedup.rememberedSince(clock.now())).toBeNull();
  });
});

describe('work running as the close begins is finished before the snapshot is made', () => {
  test("a deletion, a flush, a compaction and a new tenant's first ingest", async () => {
    setUp();
    await open({ compactSegmentsMin: 2 });
    await send('acme', ['a-1']);
    await engine?.store.flusher.flush();
    await send('acme', ['a-2']);
    await send('beta', ['b-1']);
    await engine?.store.flusher.flush();
    await send('beta', ['b-2']);
    const e = engine as Engine;
    // None awaited before the close: each is running (or starting) when it begins.
    const deleting = e.deletions.delete('acme', { decide: (tombstone) => tombstone() });
    const flushing = e.store.flusher.flush();
    const compacting = e.store.compactor.compact();
    const first = e.ingestor.ingest([
      makeEvent({ tenant: 'gamma', event_id: 'g-1', timestamp: clock.now() }),
    ]);
    await close();
    expect(await first).toMatchObject({ kind: 'ok', accepted: 1 });
    await Promise.all([deleting, flushing, compacting]);
    expect(notWritten()).toEqual([]);
    await open({ compactSegmentsMin: 2 });
    expect(loaded()).toBe(1);
    expect(await send('acme', ['a-1', 'a-2'])).toEqual(statuses('accepted', 2));
    expect(await send('beta', ['b-1', 'b-2'])).toEqual(statuses('duplicate', 2));
    expect(await send('gamma', ['g-1'])).toEqual(['duplicate']);
  });
});

describe('the clock and the window across a restart', () => {
  test('a clock stepped forward past the window or back: as a rebuild would answer', async () => {
    setUp();
    const window = { dedupWindowMs: 8 * DAY_MS };
    await open(window);
    await send('acme', ['day-0']);
    await engine?.store.flusher.flush();
    clock.advance(3 * DAY_MS);
    await send('acme', ['day-3']);
    await close();
    // Back by two days: ids received "later" than now are remembered all the same.
    clock.set(clock.now() - 2 * DAY_MS);
    await open(window);
    expect(loaded()).toBe(1);
    expect(await send('acme', ['day-0', 'day-3', 'back'])).toEqual([
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    await close();
    // Forward past the window of day 0 (generations of a day: it goes after 9 days at most).
    clock.set(T0 + 10 * DAY_MS);
    await open(window);
    expect(loaded()).toBe(2);
    const forward = ['day-0', 'day-3', 'back'];
    expect(await send('acme', forward)).toEqual(['accepted', 'duplicate', 'accepted']);
    // A rebuild remembers the same: the copies just stored, and day 3's.
    await close();
    fs.rmSync(snapshotPath());
    await open(window);
    expect(await send('acme', forward)).toEqual(statuses('duplicate', 3));
  });

  test('DEDUP_WINDOW=0 keeps every id through restarts, however old', async () => {
    setUp();
    await open({ dedupWindowMs: 0 });
    await send('acme', ['old']);
    await engine?.store.flusher.flush();
    clock.advance(400 * DAY_MS);
    await send('acme', ['new']);
    await close();
    await open({ dedupWindowMs: 0 });
    expect(loaded()).toBe(1);
    expect(await send('acme', ['old', 'new', 'other'])).toEqual([
      'duplicate',
      'duplicate',
      'accepted',
    ]);
    await close();
    await open({ dedupWindowMs: 7 * DAY_MS }); // another window: rebuilt, as it asks
    expect(notUsed()).toEqual([`it was made for DEDUP_WINDOW=0ms`]);
    expect(await send('acme', ['old', 'new'])).toEqual(['accepted', 'duplicate']);
  });

  // README "How it stores events": with DEDUP_WINDOW=0, which forgets nothing, a lower
  // DEDUP_KEYS_MAX at the next start cannot be met by forgetting: ingest is refused (503)
  // until DEDUP_KEYS_MAX is raised above the ids remembered.
  test('DEDUP_WINDOW=0 restarted under a lower DEDUP_KEYS_MAX refuses new ids until raised', async () => {
    setUp();
    await open({ dedupWindowMs: 0 });
    await send('acme', ids('k', 10));
    await close();
    await open({ dedupWindowMs: 0, dedupKeysMax: 5 });
    expect(loaded()).toBe(1);
    expect(engine?.dedup.size).toBe(10); // nothing forgotten
    expect(await ingest('acme', ['new'])).toMatchObject({
      kind: 'overloaded', // a 503 (test/engine/ingest.test.ts)
      reason: 'the deduplication index is full',
    });
    await close();
    await open({ dedupWindowMs: 0, dedupKeysMax: 11 });
    expect(await send('acme', ['k0'])).toEqual(['duplicate']);
    expect(await send('acme', ['new'])).toEqual(['accepted']);
  });
});

describe('what is found where the snapshot goes', () => {
  test('a directory in its place: the start rebuilds, the close writes none, nothing is lost', async () => {
    setUp();
    await open();
    await send('acme', ids('a', 5));
    await close();
    fs.rmSync(snapshotPath());
    fs.mkdirSync(snapshotPath());
    fs.writeFileSync(path.join(snapshotPath(), 'keep'), "the operator's");
    await open();
    expect(notUsed()).toEqual(['it is not a file']);
    expect(await send('acme', [...ids('a', 5), 'b'])).toEqual([
      ...statuses('duplicate', 5),
      'accepted',
    ]);
    await close();
    expect(notWritten()).toHaveLength(1);
    expect(fs.readdirSync(snapshotPath())).toEqual(['keep']);
    expect(fs.existsSync(`${snapshotPath()}.tmp`)).toBe(false);
  });
});

describe('a data directory changed between the close and the start', () => {
  test('a log file put back from an older backup, the last seq the same: not used', async () => {
    setUp();
    const small = { walFileBytesMax: 1024 }; // a file per few records
    await open(small);
    const sent = ids('r', 30);
    for (const id of sent) await send('acme', [id]); // a record each, a few to a file
    await close();
    const walDir = path.join(temp.dir, 'wal');
    const files = fs.readdirSync(walDir).sort();
    expect(files.length).toBeGreaterThan(3);
    // Not the newest, so the log's last seq stays (and so does every catalog fact): the file
    // as a backup taken after its first record had it.
    const file = path.join(walDir, files[1] as string);
    const whole = fs.readFileSync(file);
    const firstFrameBytes = 16 + whole.readUInt32LE(0);
    fs.truncateSync(file, firstFrameBytes);
    const lost = whole.subarray(firstFrameBytes).toString('latin1');
    await open(small);
    expect(notUsed()).toEqual([expect.stringMatching(/^the log.s files are not those/)]);
    // The ids of the file removed are not stored: new, not duplicates.
    const gone = sent.filter((id) => lost.includes(`"${id}"`));
    expect(gone.length).toBeGreaterThan(0);
    expect(await send('acme', gone)).toEqual(statuses('accepted', gone.length));
  });
});
