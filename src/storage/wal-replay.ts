// Reading the write-ahead log back at open (see wal.ts): every record of every file in order,
// a torn tail of the newest file cut (what a crash leaves), and any other damage, or a file
// missing between two others, refused: replaying around it would skip acknowledged events
// (unless the missing file provably held only flushed records: see filesPastReleasedGap).
// Such a log is a DamagedStoreError: the start stops with its one line (exit 2), not a trace.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncPath } from './durable-fs.ts';
import { DamagedStoreError } from './segment-check.ts';
import {
  decodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_PAYLOAD_BYTES_MAX,
  type FrameRead,
  framesAfterDamage,
} from './wal-frame.ts';

/** Damage found at open in the newest file, where the log was cut (see `replayFile`). */
export interface WalDamage {
  file: string;
  offset: number;
  reason: string;
  /** Bytes cut from the file. */
  bytes: number;
  /** Valid records found after the damage, which a torn write cannot explain. */
  framesAfter: number;
  /** Where the cut bytes were kept (when records followed the damage), else null. */
  savedAs: string | null;
}

export interface WalRecord {
  seq: number;
  payload: Uint8Array;
}

/** One log file as the log keeps track of it. */
export interface WalFile {
  index: number;
  name: string;
  lastSeq: number;
  /** Every record of the file is above this seq (the last one before the file began). */
  afterSeq: number;
}

/** Replays `names` (sorted) in order: each file with its seqs, the last seq, any damage cut. */
export function replayFiles(
  dir: string,
  names: readonly string[],
  onRecord: (record: WalRecord) => void,
): { files: WalFile[]; lastSeq: number; damage: WalDamage | null } {
  const files: WalFile[] = [];
  let lastSeq = 0;
  let damage: WalDamage | null = null;
  names.forEach((name, i) => {
    let firstSeq = 0; // none yet
    const replay = replayFile(path.join(dir, name), i === names.length - 1, lastSeq, (r) => {
      if (firstSeq === 0) firstSeq = r.seq;
      onRecord(r);
    });
    const afterSeq = firstSeq === 0 ? lastSeq : firstSeq - 1;
    lastSeq = Math.max(lastSeq, replay.lastSeq);
    damage = replay.damage ?? damage;
    files.push({ index: indexOf(name), name, lastSeq: replay.lastSeq, afterSeq });
  });
  return { files, lastSeq, damage };
}

function replayFile(
  file: string,
  isNewest: boolean,
  prevSeq: number,
  onRecord: (record: WalRecord) => void,
): { lastSeq: number; damage: WalDamage | null } {
  const frames = new FrameReader(file);
  try {
    let at = 0;
    let lastSeq = prevSeq;
    for (;;) {
      const read = frames.at(at);
      if (read.kind === 'end') return { lastSeq, damage: null };
      if (read.kind === 'torn') {
        if (!isNewest) {
          throw new DamagedStoreError(
            `write-ahead log file ${file} is damaged at byte ${at} (${read.reason}); it is not ` +
              'the newest file, so this is not a torn write: restore it from backup or move it ' +
              'away',
          );
        }
        const rest = frames.rest(at);
        return { lastSeq, damage: cutTail(file, rest, at, read.reason, lastSeq) };
      }
      if (read.seq <= lastSeq) {
        throw new DamagedStoreError(
          `write-ahead log sequence goes backwards in ${file} at byte ${at}: ` +
            'restore the log from a backup',
        );
      }
      lastSeq = read.seq;
      onRecord({ seq: read.seq, payload: read.payload });
      at = read.next;
    }
  } finally {
    frames.close();
  }
}

/**
 * Bytes of a log file read at a time at open (more for a larger frame): a file is never read
 * whole, since one may pass 4 GiB (WAL_FILE_BYTES_MAX's top, and the group that filled it),
 * the most a Buffer holds.
 */
const READ_BYTES = 1024 * 1024;

/** The frames of one log file, read a part at a time (see READ_BYTES). */
class FrameReader {
  private readonly fd: number;
  private readonly size: number;
  private data = Buffer.alloc(0);
  /** The file offset of `data`'s first byte. */
  private start = 0;

  constructor(file: string) {
    this.fd = fs.openSync(file, 'r');
    this.size = fs.fstatSync(this.fd).size;
  }

  /** The frame at file offset `at` (`next` a file offset too), as decodeFrame reads it. */
  at(at: number): FrameRead {
    for (;;) {
      const from = at - this.start;
      const read = decodeFrame(this.data, from);
      if (read.kind === 'frame') return { ...read, next: this.start + read.next };
      if (this.start + this.data.length === this.size) return read; // the file's end is in
      if (this.data.length - from < FRAME_HEADER_BYTES) {
        this.load(at, READ_BYTES);
        continue;
      }
      const length = this.data.readUInt32LE(from);
      // An impossible length is damage however much follows; so is a whole frame read invalid.
      if (length > FRAME_PAYLOAD_BYTES_MAX) return read;
      const frameBytes = FRAME_HEADER_BYTES + length;
      if (from + frameBytes <= this.data.length) return read;
      this.load(at, Math.max(READ_BYTES, frameBytes));
    }
  }

  /** Every byte from file offset `at` to the end (the damaged tail of the newest file). */
  rest(at: number): Buffer {
    this.load(at, this.size - at);
    return this.data;
  }

  close(): void {
    fs.closeSync(this.fd);
  }

  private load(at: number, bytes: number): void {
    const data = Buffer.allocUnsafe(Math.min(bytes, this.size - at));
    for (let done = 0; done < data.length; ) {
      const n = fs.readSync(this.fd, data, done, data.length - done, at + done);
      if (n === 0) throw new Error(`write-ahead log file shrank while it was read (at ${at})`);
      done += n;
    }
    this.data = data;
    this.start = at;
  }
}

/**
 * Cuts the newest file at the first invalid frame, the end of what a crash left durable. When
 * valid records follow the damage, the cut bytes are first kept in `<file>.damaged-<offset>`
 * (`-<n>` appended when damage at that offset was kept before: that copy is never overwritten)
 * (fsynced): they may hold acknowledged events, to be recovered by hand, never silently lost.
 */
function cutTail(
  file: string,
  /** The file's bytes from `at` on. */
  rest: Buffer,
  at: number,
  reason: string,
  lastSeq: number,
): WalDamage {
  const framesAfter = framesAfterDamage(rest, 0, lastSeq);
  let savedAs: string | null = null;
  if (framesAfter > 0) {
    savedAs = saveDamage(file, at, rest);
    fsyncPath(savedAs);
    fsyncPath(path.dirname(file));
  }
  fs.truncateSync(file, at);
  return { file, offset: at, reason, bytes: rest.length, framesAfter, savedAs };
}

/**
 * Writes `bytes` to a new file named after the damage and returns its name: `-2`, `-3` … follow
 * when damage at the same offset was kept before (new records filled the cut, then the same
 * bad sector tore them again), since that copy may hold acknowledged events too.
 */
function saveDamage(file: string, at: number, bytes: Uint8Array): string {
  for (let n = 1; ; n++) {
    const name = `${file}.damaged-${at}${n === 1 ? '' : `-${n}`}`;
    try {
      fs.writeFileSync(name, bytes, { flag: 'wx' });
      return name;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Throws when a file is missing between two of `names` (sorted): files are numbered one after
 * another and released only from the oldest on, so a gap is a file removed by hand, and
 * replaying around it would skip its records (acknowledged events) without a word.
 */
function checkNoneMissing(names: readonly string[]): void {
  for (let i = 1; i < names.length; i++) {
    const before = names[i - 1] as string;
    const after = names[i] as string;
    const missing = indexOf(before) + 1;
    if (indexOf(after) === missing) continue;
    throw new DamagedStoreError(
      `write-ahead log file ${walFileName(missing)} is missing (the log has ${before} and ` +
        `${after}): restore it from a backup`,
    );
  }
}

/**
 * The files of `names` (sorted) the log opens with. A file missing between two others is one
 * removed by hand, or a release (from the oldest file on) that a power loss cut short, on a
 * file system that kept a later deletion and lost an earlier one (an older Tally made none
 * durable before the next). The gap is passed over only when it provably held no record above
 * `flushedSeq`: the first record after it is at most one above, and every file before it is
 * whole. Those files are deleted, as the release meant to; any other gap refuses to open.
 */
export function filesPastReleasedGap(
  dir: string,
  names: readonly string[],
  flushedSeq: number,
): readonly string[] {
  const gap = lastGapOf(names);
  if (gap === -1) return names;
  const before = names.slice(0, gap);
  const after = names.slice(gap);
  const firstAfter = firstSeqOf(dir, after);
  const flushed = (name: string) => highestSeqOf(path.join(dir, name)) <= flushedSeq;
  const beforeFlushed = before.every(flushed);
  if (beforeFlushed && after.every((name) => fs.statSync(path.join(dir, name)).size === 0)) {
    throw unprovableGap(names, gap, flushedSeq);
  }
  if (firstAfter === null || firstAfter > flushedSeq + 1 || !beforeFlushed) {
    checkNoneMissing(names);
  }
  for (const name of before) fs.rmSync(path.join(dir, name));
  fsyncPath(dir);
  return after;
}

/**
 * The refusal of a gap whose files before it hold only flushed records while every file after
 * it is empty: no record tells whether the missing files held only flushed records (a release
 * an older Tally did not make durable, cut short by a power loss) or unflushed ones (removed by
 * hand). The operator knows which: it names the files and what to do in either case.
 */
function unprovableGap(names: readonly string[], gap: number, flushedSeq: number): Error {
  const before = names.slice(0, gap);
  const first = walFileName(indexOf(names[gap - 1] as string) + 1);
  const last = walFileName(indexOf(names[gap] as string) - 1);
  const missing = first === last ? `${first} is` : `${first} to ${last} are`;
  const after = names.slice(gap);
  const list = (files: readonly string[]) => files.join(', ');
  const hold = (files: readonly string[]) =>
    `${list(files)} ${files.length > 1 ? 'hold' : 'holds'}`;
  return new DamagedStoreError(
    `write-ahead log file ${missing} missing (the log has ${list(names)}); ${hold(before)} ` +
      `no record above the seq flushed into segments (${flushedSeq}) and ${hold(after)} ` +
      'no record at all, so nothing shows whether the missing files held ' +
      'records not flushed yet. If the gap is a release of flushed files that a power loss cut ' +
      'short on a Tally older than this one (which did not make each deletion durable before ' +
      `the next), delete ${list(before)} (the rest of that release) and start again; if files ` +
      'were removed by hand, restore them from a backup (without them, the events they held ' +
      'past the flushed seq are lost)',
  );
}

/** Where the last gap of `names` is (the index of the file after it), or -1. */
function lastGapOf(names: readonly string[]): number {
  for (let i = names.length - 1; i > 0; i--) {
    if (indexOf(names[i] as string) !== indexOf(names[i - 1] as string) + 1) return i;
  }
  return -1;
}

/** The seq of the first record in the first of `names` holding one (null: none, or damage). */
function firstSeqOf(dir: string, names: readonly string[]): number | null {
  for (const name of names) {
    const frames = new FrameReader(path.join(dir, name));
    try {
      const read = frames.at(0);
      if (read.kind === 'end') continue;
      return read.kind === 'frame' ? read.seq : null;
    } finally {
      frames.close();
    }
  }
  return null;
}

/** The highest seq `file` holds (0 when none), or Infinity when it is not whole. */
function highestSeqOf(file: string): number {
  const frames = new FrameReader(file);
  try {
    let highest = 0;
    for (let at = 0; ; ) {
      const read = frames.at(at);
      if (read.kind === 'end') return highest;
      if (read.kind === 'torn') return Number.POSITIVE_INFINITY;
      highest = Math.max(highest, read.seq);
      at = read.next;
    }
  } finally {
    frames.close();
  }
}

function indexOf(name: string): number {
  return Number(name.slice(0, 10));
}

const FILE_PATTERN = /^(\d{10})\.wal$/;

/** The log files in `dir`, by name (in order: the names are numbered with leading zeros). */
export function logFileNames(dir: string): string[] {
  return fs
    .readdirSync(dir)
    .filter((n) => FILE_PATTERN.test(n))
    .sort();
}

export function walFileName(index: number): string {
  return `${String(index).padStart(10, '0')}.wal`;
}
