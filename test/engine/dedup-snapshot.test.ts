// The dedup index's snapshot file: an index comes back from it exactly (every key, the size,
// how far back it remembers, its deleted tenants' epochs, its hash seed), and a file that is
// damaged, cut short, made for another window or for a store that changed since is not used.

import { afterEach, describe, expect, spyOn, test } from 'bun:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  readDedupSnapshot,
  removeDedupSnapshot,
  type SavedIndex,
  SNAPSHOT_FILE,
  saveDedupSnapshot,
} from '../../src/engine/dedup-snapshot.ts';
import { SLOTS_MIN } from '../../src/engine/dedup-table.ts';
import { DedupIndex } from '../../src/engine/index.ts';
import * as durable from '../../src/storage/durable-fs.ts';
import type { StoreMark } from '../../src/storage/index.ts';
import { makeTempDir } from '../helpers/temp-dir.ts';

const DAY = 86_400_000;
const WINDOW = 8 * DAY; // generations of one day
const NOW = 1000 * DAY;
const MARK: StoreMark = {
  lastSeq: 42,
  logFilesDigest: 'ef',
  flushedThroughSeq: 40,
  segments: 3,
  segmentsMaxId: 7,
  segmentsDigest: 'ab',
  tombstonesDigest: 'cd',
};
const sameMark = () => null;

let temp: ReturnType<typeof makeTempDir> | undefined;
afterEach(() => temp?.remove());

function dir(): string {
  temp = makeTempDir('tally-dedup-snapshot-');
  return temp.dir;
}

const tenantOf = (i: number) => `tenant_${i % 7}`;
const idOf = (i: number) => `id-${i.toString(36).padStart(8, '0')}`;

/**
 * An index with `n` keys over the last 8 days, generations dropped early and two tenants
 * deleted after their keys were added; with the keys as they were added.
 */
function filledIndex(n: number): { index: DedupIndex; keys: string[] } {
  const index = new DedupIndex({ windowMs: WINDOW, keysMax: n });
  const keys = Array.from({ length: n }, (_, i) => index.keyOf(tenantOf(i), idOf(i)));
  for (const [i, key] of keys.entries()) index.add(key, NOW - (i % 8) * DAY);
  index.forgetTenant('tenant_3');
  index.forgetTenant('tenant_3');
  index.forgetTenant('tenant_5');
  index.makeRoom(n / 4, NOW); // drops the oldest day(s): rememberedSince is set
  return { index, keys };
}

function flipByte(file: string, at: number): void {
  const bytes = fs.readFileSync(file);
  bytes[at] = (bytes[at] as number) ^ 0x40;
  fs.writeFileSync(file, bytes);
}

describe('the dedup snapshot', () => {
  test('an index comes back with every key, its size, reach, epochs and seed', async () => {
    const d = dir();
    const { index: before, keys } = filledIndex(20_000);
    expect(before.rememberedSince(NOW)).not.toBeNull();
    const bytes = await saveDedupSnapshot(d, before, MARK, NOW);
    expect(fs.statSync(path.join(d, SNAPSHOT_FILE)).size).toBe(bytes);
    const read = readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 20_000 }, sameMark);
    if (read.kind !== 'read') throw new Error(`not read: ${JSON.stringify(read)}`);
    const after = read.index;
    expect(after.size).toBe(before.size);
    expect(after.rememberedSince(NOW)).toBe(before.rememberedSince(NOW));
    let held = 0;
    for (const [i, key] of keys.entries()) {
      // Same hashes (same seed): the same answers, key by key.
      const has = before.has(key);
      expect(after.has(key)).toBe(has);
      if (has) held++;
      // Same epochs: the keys made now are the same strings.
      expect(after.keyOf(tenantOf(i), idOf(i))).toBe(before.keyOf(tenantOf(i), idOf(i)));
    }
    expect(held).toBe(before.size);
    // The deleted tenants' ids were added under their old epoch: new after the load too.
    expect(after.has(keys[3] as string)).toBe(true); // the old key itself is kept
    expect(after.has(after.keyOf(tenantOf(3), idOf(3)))).toBe(false);
    expect(after.has(after.keyOf(tenantOf(1), idOf(1)))).toBe(true);
    // It goes on working: adds, expiry, removal.
    after.add(after.keyOf('tenant_1', 'new'), NOW);
    expect(after.has(after.keyOf('tenant_1', 'new'))).toBe(true);
    expect(after.size).toBe(before.size + 1);
    after.expire(NOW + 20 * DAY);
    expect(after.size).toBe(0);
  });

  test('a window of 0 (forever) round-trips too', async () => {
    const d = dir();
    const before = new DedupIndex({ windowMs: 0, keysMax: 10 });
    before.add('a', 0);
    before.add('b', NOW);
    await saveDedupSnapshot(d, before, MARK, NOW);
    const read = readDedupSnapshot(d, { windowMs: 0, keysMax: 10 }, sameMark);
    expect(read.kind).toBe('read');
    if (read.kind === 'read')
      expect([read.index.has('a'), read.index.has('b')]).toEqual([true, true]);
  });

  test('a table replaced by a doubling while its write is in flight is written whole', async () => {
    const d = dir();
    const index = new DedupIndex({ windowMs: 0, keysMax: 10_000 });
    const full = Math.floor(SLOTS_MIN * 0.7); // the next key doubles the table
    for (let i = 0; i < full; i++) index.add(`k${i}`, NOW);
    const saving = saveDedupSnapshot(d, index, MARK, NOW);
    // Not allowed of the engine (ingest is stopped first), but the old table must not be freed
    // under the write: it reads the table as the snapshot began.
    index.add('late', NOW);
    expect(index.bytes).toBe(2 * SLOTS_MIN * 16);
    await saving;
    const read = readDedupSnapshot(d, { windowMs: 0, keysMax: 10_000 }, sameMark);
    if (read.kind !== 'read') throw new Error(`not read: ${JSON.stringify(read)}`);
    expect(read.index.size).toBe(full);
    expect(read.index.bytes).toBe(SLOTS_MIN * 16);
    for (let i = 0; i < full; i++) expect(read.index.has(`k${i}`)).toBe(true);
    expect(read.index.has('late')).toBe(false);
  });

  test('a flipped byte anywhere, a cut file or another window is not used, and says why', async () => {
    const d = dir();
    await saveDedupSnapshot(d, filledIndex(5000).index, MARK, NOW);
    const file = path.join(d, SNAPSHOT_FILE);
    const whole = fs.readFileSync(file);
    const options = { windowMs: WINDOW, keysMax: 5000 };
    const reasonOf = () => {
      const read = readDedupSnapshot(d, options, sameMark);
      return read.kind === 'unusable' ? read.reason : read.kind;
    };
    expect(reasonOf()).toBe('read');
    flipByte(file, whole.length - 1000); // in a table
    expect(reasonOf()).toBe('its checksum does not match');
    fs.writeFileSync(file, whole);
    flipByte(file, whole.length - 2); // in the checksum itself
    expect(reasonOf()).toBe('its checksum does not match');
    fs.writeFileSync(file, whole);
    flipByte(file, 40); // in the header's JSON
    expect(reasonOf()).toMatch(/header is damaged|checksum does not match|window/);
    fs.writeFileSync(file, whole);
    flipByte(file, 8); // the version
    expect(reasonOf()).toMatch(/^its format version is /);
    fs.writeFileSync(file, whole.subarray(0, whole.length - 16));
    expect(reasonOf()).toMatch(/^it holds \d+ bytes, not \d+$/);
    fs.writeFileSync(file, whole.subarray(0, 10));
    expect(reasonOf()).toBe('it is cut short (10 bytes)');
    fs.writeFileSync(file, whole);
    const read = readDedupSnapshot(d, { windowMs: DAY, keysMax: 5000 }, sameMark);
    expect(read).toEqual({ kind: 'unusable', reason: `it was made for DEDUP_WINDOW=${WINDOW}ms` });
  });

  test('a store that changed since is not used, and its tables are not even read', async () => {
    const d = dir();
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    const seen: SavedIndex[] = [];
    const read = readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 100 }, (then) => {
      seen.push(then);
      return 'the log moved on';
    });
    expect(read).toEqual({ kind: 'unusable', reason: 'the log moved on' });
    // With how far back the index was whole and under which DEDUP_KEYS_MAX.
    expect(seen).toEqual([{ mark: MARK, keysMax: 100, shortenedTo: NOW - 4 * DAY }]);
  });

  test('no file is absent; removing it takes a cut write left behind too', async () => {
    const d = dir();
    expect(readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 1 }, sameMark)).toEqual({
      kind: 'absent',
    });
    expect(removeDedupSnapshot(d)).toBe(false);
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    fs.writeFileSync(path.join(d, `${SNAPSHOT_FILE}.tmp`), 'half');
    expect(removeDedupSnapshot(d)).toBe(true);
    expect(fs.readdirSync(d)).toEqual([]);
  });

  test("its file is its owner's only (it holds the hash seed), whatever was at the temp name", async () => {
    const d = dir();
    const outside = path.join(d, 'outside');
    fs.writeFileSync(outside, 'not for Tally');
    // A temp file left readable by all, then a link to another file: neither is written through.
    const temp = path.join(d, `${SNAPSHOT_FILE}.tmp`);
    fs.writeFileSync(temp, 'left', { mode: 0o644 });
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    const file = path.join(d, SNAPSHOT_FILE);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    fs.symlinkSync(outside, temp);
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    expect(fs.lstatSync(file).isFile()).toBe(true);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(fs.readFileSync(outside, 'utf8')).toBe('not for Tally');
    expect(fs.readdirSync(d).sort()).toEqual([SNAPSHOT_FILE, 'outside'].sort());
  });

  // README "How it stores events": to a temp file, fsynced, renamed, the directory fsynced.
  test('is written to a temp file, synced, renamed into place, then the directory synced', async () => {
    const d = dir();
    const steps: string[] = [];
    const name = (p: string) => path.relative(d, p) || '.';
    // The real ones, before the spies take their place.
    const { open } = fs.promises;
    const { renameSync } = fs;
    const { fsyncPath } = durable;
    const spies = [
      spyOn(fs.promises, 'open').mockImplementation(async (...args) => {
        const handle = await open(...args);
        const sync = handle.sync.bind(handle);
        handle.sync = async () => {
          steps.push(`sync ${name(String(args[0]))}`);
          return sync();
        };
        return handle;
      }),
      spyOn(fs, 'renameSync').mockImplementation((from, to) => {
        steps.push(`rename ${name(String(from))} ${name(String(to))}`);
        renameSync(from, to);
      }),
      spyOn(durable, 'fsyncPath').mockImplementation((target) => {
        steps.push(`fsync ${name(target)}`);
        fsyncPath(target);
      }),
    ];
    try {
      await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    } finally {
      for (const spy of spies) spy.mockRestore();
    }
    expect(steps).toEqual([
      `sync ${SNAPSHOT_FILE}.tmp`,
      `rename ${SNAPSHOT_FILE}.tmp ${SNAPSHOT_FILE}`,
      'fsync .',
    ]);
  });

  test('a write that cannot take its place leaves no temp file behind', async () => {
    const d = dir();
    fs.mkdirSync(path.join(d, SNAPSHOT_FILE));
    fs.writeFileSync(path.join(d, SNAPSHOT_FILE, 'kept'), 'x');
    expect(saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW)).rejects.toThrow();
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW).catch(() => undefined);
    expect(fs.readdirSync(d)).toEqual([SNAPSHOT_FILE]);
  });

  test('a directory, a device or a pipe in its place is not read, and not removed if a directory', () => {
    const d = dir();
    const file = path.join(d, SNAPSHOT_FILE);
    const options = { windowMs: WINDOW, keysMax: 1 };
    fs.mkdirSync(file);
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'it is not a file',
    });
    expect(removeDedupSnapshot(d)).toBe(false);
    expect(fs.existsSync(file)).toBe(true);
    fs.rmdirSync(file);
    fs.symlinkSync('/dev/zero', file);
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'it is not a file',
    });
    expect(removeDedupSnapshot(d)).toBe(true); // the link, not what it names
    expect(fs.readdirSync(d)).toEqual([]);
    // A pipe: opening it would wait for a writer, and the start with it.
    expect(Bun.spawnSync(['mkfifo', file]).exitCode).toBe(0);
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'it is not a file',
    });
    expect(removeDedupSnapshot(d)).toBe(true);
    expect(fs.readdirSync(d)).toEqual([]);
  });
});

/** Rewrites a snapshot file with `edit` applied to its header and tables, its CRC made anew. */
function craft(
  file: string,
  edit: (header: Record<string, unknown>, tables: Int32Array[]) => Int32Array[],
): void {
  const bytes = fs.readFileSync(file);
  const headerBytes = bytes.readUInt32LE(12);
  const header = JSON.parse(bytes.toString('utf8', 16, 16 + headerBytes));
  let at = 16 + headerBytes;
  const tables = (header.generations as [number, number, number][]).map(([, slots]) => {
    const table = new Int32Array(slots * 4);
    new Uint8Array(table.buffer).set(bytes.subarray(at, at + slots * 16));
    at += slots * 16;
    return table;
  });
  const edited = edit(header, tables);
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.from(bytes.subarray(0, 16));
  prefix.writeUInt32LE(json.length, 12);
  const parts = [prefix, json, ...edited.map((t) => new Uint8Array(t.buffer))];
  let crc = 0;
  for (const part of parts) crc = Bun.hash.crc32(part, crc);
  const trailer = Buffer.alloc(4);
  trailer.writeUInt32LE(crc >>> 0, 0);
  fs.writeFileSync(file, Buffer.concat([...parts, trailer]));
}

describe('a snapshot made by hand (a valid checksum)', () => {
  test('a table whose keys are not as many as its header says is not used', async () => {
    const d = dir();
    const index = new DedupIndex({ windowMs: WINDOW, keysMax: 1000 });
    for (let i = 0; i < 100; i++) index.add(`k${i}`, NOW);
    await saveDedupSnapshot(d, index, MARK, NOW);
    const file = path.join(d, SNAPSHOT_FILE);
    const options = { windowMs: WINDOW, keysMax: 1000 };
    // Every slot taken (a lookup of an absent key would never end), the header saying 100.
    craft(file, (_, tables) => tables.map((t) => t.map((_v, i) => i + 1)));
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'its header is damaged (1024 keys in a table said to hold 100)',
    });
  });

  test('one of the other byte order, or with a generation twice, is not used', async () => {
    const d = dir();
    await saveDedupSnapshot(d, filledIndex(100).index, MARK, NOW);
    const file = path.join(d, SNAPSHOT_FILE);
    const whole = fs.readFileSync(file);
    const options = { windowMs: WINDOW, keysMax: 100 };
    craft(file, (header, tables) => {
      header.byteOrder = 'BE';
      return tables;
    });
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'its byte order is BE',
    });
    fs.writeFileSync(file, whole);
    craft(file, (header, tables) => {
      const generations = header.generations as number[][];
      (generations[1] as number[])[0] = (generations[0] as number[])[0] as number;
      return tables;
    });
    expect(readDedupSnapshot(d, options, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'its header is damaged (a generation twice)',
    });
  });

  test('tables larger than an index within DEDUP_KEYS_MAX can be are refused before any is read', async () => {
    const d = dir();
    const index = new DedupIndex({ windowMs: WINDOW, keysMax: 1000 });
    index.add('k', NOW);
    await saveDedupSnapshot(d, index, MARK, NOW);
    const file = path.join(d, SNAPSHOT_FILE);
    const whole = fs.readFileSync(file);
    // A table of 2^29 slots (8 GiB) declared in a file of 16 KiB: the size says no.
    craft(file, (header, tables) => {
      header.generations = [[Math.floor(NOW / DAY), 2 ** 29, 1]];
      return tables;
    });
    const small = readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 1000 }, sameMark);
    expect(small).toMatchObject({ reason: expect.stringMatching(/^it holds \d+ bytes, not \d+$/) });
    fs.writeFileSync(file, whole);
    // A file as large as its header says (sparse: no disk taken), of 1M slots: allocating its
    // tables would take 16 MiB; DEDUP_KEYS_MAX=1000 keys never take that many.
    craft(file, (header) => {
      header.generations = [[Math.floor(NOW / DAY), 2 ** 20, 1]];
      return [];
    });
    const declared = fs.statSync(file).size + 2 ** 20 * 16;
    fs.truncateSync(file, declared);
    const read = readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 1000 }, sameMark);
    expect(read).toEqual({
      kind: 'unusable',
      reason: expect.stringMatching(
        /^its tables \(1048576 slots\) are more than .*DEDUP_KEYS_MAX=1000/,
      ),
    });
    // A header length past the file is damage, not an allocation of 4 GiB.
    const bytes = fs.readFileSync(file).subarray(0, 4096);
    bytes.writeUInt32LE(0xffff_ffff, 12);
    fs.writeFileSync(file, bytes);
    expect(readDedupSnapshot(d, { windowMs: WINDOW, keysMax: 1000 }, sameMark)).toEqual({
      kind: 'unusable',
      reason: 'its header is damaged',
    });
  });
});
