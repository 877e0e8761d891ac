// The dedup index's snapshot file, `<data dir>/dedup-index.snapshot`: written at a clean
// shutdown, read (then deleted) by the next start instead of reading every id of the window's
// segments. Layout, integers little-endian:
//
//   bytes 0–7    magic "TLYDEDUP"
//   u32          format version (SNAPSHOT_VERSION)
//   u32          header length H in bytes
//   H bytes      header, UTF-8 JSON: byteOrder ("LE"), windowMs, keysMax, seed, count,
//                shortenedTo, epochs ([tenant, epoch] of deleted tenants), generations
//                ([number, slots, keys] each, oldest first), mark (the StoreMark of the data
//                directory it was made for), savedAt
//   tables       each generation's table in header order: slots × 4 int32 (16 bytes a slot,
//                the index's Int32Array as it is in memory, so loading it rehashes nothing)
//   u32          CRC-32 of every byte before it
//
// Its size is 16 bytes per slot of the index (23–46 bytes per key) plus the header. It is
// written to a temp file, fsynced, renamed over, and the directory fsynced: a crash at any
// point leaves either no snapshot or a whole one. Reading checks the magic, the version, the
// byte order, the window, the shape of every table, the size and the CRC before any of it is
// used.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fsyncPath, type StoreMark } from '../storage/index.ts';
import { DedupIndex, type DedupOptions, type DedupState, slotsWithin } from './dedup-index.ts';
import { generationProblem } from './dedup-table.ts';
import { KEY_HASH_LANES } from './key-hash.ts';

export const SNAPSHOT_FILE = 'dedup-index.snapshot';
const TEMP_FILE = `${SNAPSHOT_FILE}.tmp`;
const MAGIC = 'TLYDEDUP';
const SNAPSHOT_VERSION = 2;
/** Magic, version and header length. */
const PREFIX_BYTES = 16;
const TRAILER_BYTES = 4;
const SLOT_BYTES = KEY_HASH_LANES * 4;
/** A header past this is not one Tally wrote (it holds one line per deleted tenant). */
const HEADER_BYTES_MAX = 256 * 1024 * 1024;

interface Header {
  byteOrder: string;
  windowMs: number;
  /** The DEDUP_KEYS_MAX the index was kept within (see SavedIndex). */
  keysMax: number;
  seed: number;
  count: number;
  shortenedTo: number | null;
  epochs: [string, number][];
  generations: [number, number, number][];
  mark: StoreMark;
  savedAt: number;
}

/**
 * Writes `index` with the `mark` of the store it was made from; the bytes written. The index
 * must not change meanwhile (no ingest runs: the tables are written as they are); its tables
 * are held until the file is closed, so that none is freed while a write may read it.
 */
export async function saveDedupSnapshot(
  dataDir: string,
  index: DedupIndex,
  mark: StoreMark,
  savedAt: number,
): Promise<number> {
  const { state, release } = index.holdState();
  try {
    return await writeSnapshot(dataDir, index, state, { mark, savedAt });
  } finally {
    release();
  }
}

async function writeSnapshot(
  dataDir: string,
  index: DedupIndex,
  state: DedupState,
  at: { mark: StoreMark; savedAt: number },
): Promise<number> {
  const { mark, savedAt } = at;
  const header: Header = {
    byteOrder: os.endianness(),
    windowMs: index.windowMs,
    keysMax: index.keysMax,
    seed: state.seed,
    count: state.count,
    shortenedTo: state.shortenedTo,
    epochs: state.epochs,
    generations: state.generations.map((g) => [g.gen, g.slots.length / KEY_HASH_LANES, g.count]),
    mark,
    savedAt,
  };
  const json = Buffer.from(JSON.stringify(header));
  const prefix = Buffer.alloc(PREFIX_BYTES);
  prefix.write(MAGIC, 0, 'latin1');
  prefix.writeUInt32LE(SNAPSHOT_VERSION, 8);
  prefix.writeUInt32LE(json.length, 12);
  const tables = state.generations.map(
    (g) => new Uint8Array(g.slots.buffer, g.slots.byteOffset, g.slots.byteLength),
  );
  const temp = path.join(dataDir, TEMP_FILE);
  // A new file, so 0600 holds (the seed is in it) and no link left at the name is written
  // through: whatever is there is removed first, and O_EXCL refuses a link made meanwhile.
  fs.rmSync(temp, { force: true });
  const file = await fs.promises.open(temp, 'wx', 0o600);
  let bytes = 0;
  try {
    let crc = 0;
    for (const part of [prefix, json, ...tables]) {
      crc = Bun.hash.crc32(part, crc);
      bytes += await writeAll(file, part);
    }
    const trailer = Buffer.alloc(TRAILER_BYTES);
    trailer.writeUInt32LE(crc >>> 0, 0);
    bytes += await writeAll(file, trailer);
    await file.sync();
    await file.close();
    fs.renameSync(temp, path.join(dataDir, SNAPSHOT_FILE));
  } catch (error) {
    await file.close().catch(() => undefined); // closed already when the rename failed
    fs.rmSync(temp, { force: true });
    throw error;
  }
  fsyncPath(dataDir);
  return bytes;
}

async function writeAll(file: fs.promises.FileHandle, part: Uint8Array): Promise<number> {
  for (let at = 0; at < part.length; ) {
    const { bytesWritten } = await file.write(part, at, part.length - at);
    at += bytesWritten;
  }
  return part.length;
}

/** What a snapshot says of the store and the index it was made from, before its tables. */
export interface SavedIndex {
  mark: StoreMark;
  /** The DEDUP_KEYS_MAX then: an index shortened under it lacks ids a higher one keeps. */
  keysMax: number;
  /** Ids received before this were no longer all remembered (null: the whole window was). */
  shortenedTo: number | null;
}

export type SnapshotRead =
  | { kind: 'absent' }
  | { kind: 'unusable'; reason: string }
  | { kind: 'read'; index: DedupIndex; bytes: number };

/**
 * The index a snapshot in `dataDir` holds, made with `options` (their window must be the
 * snapshot's), and its size in bytes; or why it cannot be used.
 * `usable(saved)` is asked before the tables are read: why the store is no longer the one the
 * snapshot was made for (or a rebuild would remember more), or null.
 */
export function readDedupSnapshot(
  dataDir: string,
  options: DedupOptions,
  usable: (saved: SavedIndex) => string | null,
): SnapshotRead {
  const file = path.join(dataDir, SNAPSHOT_FILE);
  let fd: number;
  try {
    // Not opened unless a regular file: a pipe would block the start, a device never end.
    const stat = fs.statSync(file, { throwIfNoEntry: false });
    if (stat === undefined) return { kind: 'absent' };
    if (!stat.isFile()) return { kind: 'unusable', reason: 'it is not a file' };
    fd = fs.openSync(file, 'r');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return { kind: 'absent' };
    return { kind: 'unusable', reason: `it cannot be opened: ${String(error)}` };
  }
  try {
    return readOpen(fd, options, usable);
  } catch (error) {
    return { kind: 'unusable', reason: `it cannot be read: ${String(error)}` };
  } finally {
    fs.closeSync(fd);
  }
}

function readOpen(
  fd: number,
  options: DedupOptions,
  usable: (saved: SavedIndex) => string | null,
): SnapshotRead {
  const size = fs.fstatSync(fd).size;
  const unusable = (reason: string): SnapshotRead => ({ kind: 'unusable', reason });
  if (size < PREFIX_BYTES + TRAILER_BYTES) return unusable(`it is cut short (${size} bytes)`);
  const prefix = readExactly(fd, Buffer.alloc(PREFIX_BYTES), 0);
  if (prefix.toString('latin1', 0, 8) !== MAGIC) return unusable('it is not a snapshot');
  const version = prefix.readUInt32LE(8);
  if (version !== SNAPSHOT_VERSION) return unusable(`its format version is ${version}`);
  const headerBytes = prefix.readUInt32LE(12);
  if (headerBytes > Math.min(HEADER_BYTES_MAX, size - PREFIX_BYTES - TRAILER_BYTES)) {
    return unusable('its header is damaged');
  }
  const json = readExactly(fd, Buffer.alloc(headerBytes), PREFIX_BYTES);
  const header = parseHeader(json.toString('utf8'));
  if (typeof header === 'string') return unusable(header);
  if (header.byteOrder !== os.endianness())
    return unusable(`its byte order is ${header.byteOrder}`);
  if (header.windowMs !== options.windowMs) {
    return unusable(`it was made for DEDUP_WINDOW=${header.windowMs}ms`);
  }
  const slots = header.generations.reduce((n, [, slotsCount]) => n + slotsCount, 0);
  const expected = PREFIX_BYTES + headerBytes + slots * SLOT_BYTES + TRAILER_BYTES;
  if (size !== expected) return unusable(`it holds ${size} bytes, not ${expected}`);
  // Whatever a file says, loading it takes no more memory than the index may have.
  const slotsMax = slotsWithin(options.keysMax);
  if (slots > slotsMax) {
    return unusable(
      `its tables (${slots} slots) are more than an index within ` +
        `DEDUP_KEYS_MAX=${options.keysMax} takes (${slotsMax})`,
    );
  }
  const { mark, keysMax, shortenedTo } = header;
  const changed = usable({ mark, keysMax, shortenedTo });
  if (changed !== null) return unusable(changed);
  const crc = Bun.hash.crc32(json, Bun.hash.crc32(prefix));
  return readTables(fd, header, options, { at: PREFIX_BYTES + headerBytes, crc, size });
}

/** The tables and the trailer, once the header is known good; checks the CRC. */
function readTables(
  fd: number,
  header: Header,
  options: DedupOptions,
  from: { at: number; crc: number; size: number },
): SnapshotRead {
  let { at, crc } = from;
  const generations: DedupState['generations'] = [];
  for (const [gen, slotsCount, count] of header.generations) {
    const slots = new Int32Array(slotsCount * KEY_HASH_LANES);
    const bytes = new Uint8Array(slots.buffer);
    readExactly(fd, bytes, at);
    at += bytes.length;
    crc = Bun.hash.crc32(bytes, crc);
    generations.push({ gen, count, slots });
  }
  const stored = readExactly(fd, Buffer.alloc(TRAILER_BYTES), at).readUInt32LE(0);
  if (stored !== crc >>> 0) return { kind: 'unusable', reason: 'its checksum does not match' };
  // As many keys as said: a table with no empty slot left would make a lookup never end.
  for (const { count, slots } of generations) {
    const keys = occupiedSlots(slots);
    if (keys !== count) {
      const reason = `its header is damaged (${keys} keys in a table said to hold ${count})`;
      return { kind: 'unusable', reason };
    }
  }
  const { seed, count, shortenedTo, epochs } = header;
  const state: DedupState = { seed, count, shortenedTo, epochs, generations };
  return { kind: 'read', index: DedupIndex.restore(options, state), bytes: from.size };
}

/** Slots of a table that hold a key (lane 0 is not 0; see DedupIndex): its true count. */
function occupiedSlots(slots: Int32Array): number {
  let keys = 0;
  for (let at = 0; at < slots.length; at += KEY_HASH_LANES) if (slots[at] !== 0) keys++;
  return keys;
}

/** Reads `into.length` bytes at `position`; a file that ends first is an error. */
function readExactly<T extends Uint8Array>(fd: number, into: T, position: number): T {
  for (let done = 0; done < into.length; ) {
    const read = fs.readSync(fd, into, done, into.length - done, position + done);
    if (read === 0) throw new Error(`the file ends at byte ${position + done}`);
    done += read;
  }
  return into;
}

/** The header, checked for the shape `saveDedupSnapshot` writes; else why not. */
function parseHeader(text: string): Header | string {
  let h: Header;
  try {
    h = JSON.parse(text) as Header;
  } catch {
    return 'its header is damaged';
  }
  const isInt = (n: unknown): n is number => Number.isSafeInteger(n);
  const fields =
    typeof h === 'object' &&
    h !== null &&
    isInt(h.windowMs) &&
    isInt(h.keysMax) &&
    isInt(h.seed) &&
    h.seed >= 0 &&
    h.seed <= 0xffff_ffff &&
    isInt(h.count) &&
    (h.shortenedTo === null || typeof h.shortenedTo === 'number') &&
    Array.isArray(h.epochs) &&
    h.epochs.every((e) => Array.isArray(e) && typeof e[0] === 'string' && isInt(e[1])) &&
    Array.isArray(h.generations) &&
    h.generations.every((g) => Array.isArray(g) && g.length === 3 && g.every(isInt)) &&
    typeof h.mark === 'object' &&
    h.mark !== null;
  if (!fields) return 'its header is damaged';
  for (const [, slots, count] of h.generations) {
    const problem = generationProblem(slots, count);
    if (problem !== null) return `its header is damaged (${problem})`;
  }
  const keys = h.generations.reduce((n, [, , count]) => n + count, 0);
  if (keys !== h.count) return `its header is damaged (${keys} keys in tables, ${h.count} counted)`;
  if (new Set(h.generations.map(([gen]) => gen)).size !== h.generations.length) {
    return 'its header is damaged (a generation twice)';
  }
  return h;
}

/** Removes the snapshot (and a temp file a cut write left), durably: the next start rebuilds. */
export function removeDedupSnapshot(dataDir: string): boolean {
  let removed = false;
  for (const name of [SNAPSHOT_FILE, TEMP_FILE]) {
    const file = path.join(dataDir, name);
    // A directory there is none this module wrote, nor ever reads as one: it is left alone.
    const stat = fs.lstatSync(file, { throwIfNoEntry: false });
    if (stat === undefined || stat.isDirectory()) continue;
    fs.rmSync(file);
    removed = true;
  }
  if (removed) fsyncPath(dataDir);
  return removed;
}
