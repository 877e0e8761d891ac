// The write-ahead log: numbered append-only files of CRC-framed records in `<dataDir>/wal/`.
// Appends are written with one writev per group (a large one off the event loop) and made
// durable with fdatasync (or left to the OS page cache in 'os' mode). Opening the log replays
// every record and truncates a torn tail, the only damage a crash can leave, since a file is
// never written again once rotated. A write that finds the disk full (ENOSPC, EDQUOT) is cut
// back to the last whole record before it and reported as a WalDiskFullError: the log stays
// whole and takes the next append once there is room.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { assert, isOutOfSpace } from '../core/index.ts';
import { fsyncPath, makeDirsDurably } from './durable-fs.ts';
import { type FileIo, nodeFileIo, writeFully, writeFullySync } from './file-io.ts';
import { WalDiskFullError, WalFileDeletedError } from './wal-errors.ts';
import { FRAME_HEADER_BYTES, FRAME_PAYLOAD_BYTES_MAX, frameHeader } from './wal-frame.ts';
import {
  filesPastReleasedGap,
  logFileNames,
  replayFiles,
  type WalDamage,
  type WalFile,
  type WalRecord,
  walFileName,
} from './wal-replay.ts';
import { LogSyncs } from './wal-syncs.ts';

export type { WalDamage, WalRecord };
export { WalDiskFullError, WalFileDeletedError };

export type Durability = 'fsync' | 'os';

export interface WalOptions {
  dir: string;
  fileBytesMax: number;
  durability: Durability;
  /** The file system calls writes go through (tests put a full disk behind them). */
  io?: FileIo;
}

/**
 * Appends up to this size are written inline: a writev of a few pages costs less than handing
 * it to an I/O thread and waiting for the answer. Larger ones go to the I/O threads, so a big
 * batch does not hold up every other request while the kernel copies it.
 */
export const INLINE_WRITE_BYTES_MAX = 64 * 1024;

export class WriteAheadLog {
  private fd: number;
  private fileBytes: number;
  private nextSeq: number;
  /** Highest seq whose frame is written (in the page cache, not necessarily durable). */
  private writtenSeq: number;
  private writing = false;
  /** The log's fdatasyncs, and whether one failed (see wal-syncs.ts). */
  private readonly syncs = new LogSyncs();
  private closed = false;
  private readonly io: FileIo;
  /** Why the log takes no more appends: a failed rotation's file could not be removed. */
  private broken: Error | null = null;
  /** A failed rotation's file was removed, and the removal not yet made durable. */
  private removalUnsynced = false;
  /** A released file's deletion is not durable yet (its fsync failed). */
  private releaseUnsynced = false;

  private constructor(
    private readonly options: WalOptions,
    private readonly files: WalFile[],
    lastSeq: number,
    /** What opening cut from the newest file; the caller reports it. */
    readonly damage: WalDamage | null,
  ) {
    const current = files.at(-1);
    assert(current !== undefined, 'the log always has a current file');
    // Opened without a record, it gets none at or below the seq numbering goes on above.
    if (current.lastSeq === current.afterSeq) current.afterSeq = lastSeq;
    this.io = options.io ?? nodeFileIo;
    this.fd = this.io.openAppend(path.join(options.dir, current.name));
    this.fileBytes = fs.fstatSync(this.fd).size;
    this.nextSeq = lastSeq + 1;
    this.writtenSeq = lastSeq;
  }

  /**
   * Opens (or creates) the log, calling `onRecord` for every committed record in order. A torn
   * tail of the newest file is truncated; damage anywhere else refuses to start. `seqFloor` is
   * the highest seq known to exist elsewhere (flushed into segments, or named by a deleted
   * tenant's tombstone): numbering goes on above it even when the files left hold no record,
   * e.g. when the only file is new and empty after the ones before it were released.
   * `flushedSeq` (the catalog's watermark) tells whether a file missing between two others
   * held only records flushed already (see filesPastReleasedGap).
   */
  static open(
    options: WalOptions,
    onRecord: (record: WalRecord) => void,
    seqFloor = 0,
    flushedSeq = 0,
  ): WriteAheadLog {
    makeDirsDurably(options.dir);
    // Before anything is replayed or cut.
    const names = filesPastReleasedGap(options.dir, logFileNames(options.dir), flushedSeq);
    const { files, lastSeq, damage } = replayFiles(options.dir, names, onRecord);
    if (files.length === 0) files.push(createFile(options.dir, 1, options.io ?? nodeFileIo));
    // What the newest file held may be in the page cache only (written, its group's fdatasync
    // not done before a crash): replayed, its ids are duplicates, and a request of duplicates
    // only is answered with no sync of its own (GroupCommitter.barrier). Older files were
    // synced before their rotation.
    const newest = files.at(-1) as WalFile;
    if (options.durability === 'fsync') fsyncPath(path.join(options.dir, newest.name));
    return new WriteAheadLog(options, files, Math.max(lastSeq, seqFloor), damage);
  }

  /**
   * Writes one frame per payload at the end of the log (not yet durable); resolves with the
   * last seq. One append at a time: the caller waits for it before the next.
   */
  async append(payloads: readonly Uint8Array[]): Promise<number> {
    assert(!this.closed, 'append to a closed log');
    assert(!this.writing, 'one append at a time');
    if (this.broken !== null) throw this.broken;
    this.syncRemoval();
    // Headers and payloads go out in one writev: no copy of the payloads into a frame buffer.
    const parts: Uint8Array[] = [];
    let bytes = 0;
    let seq = this.nextSeq;
    for (const p of payloads) {
      // Replay reads a longer frame as corruption: such a record must never be acknowledged.
      assert(p.length <= FRAME_PAYLOAD_BYTES_MAX, 'a log record is within the frame limit');
      parts.push(frameHeader(seq++, p), p);
      bytes += FRAME_HEADER_BYTES + p.length;
    }
    this.writing = true;
    try {
      if (bytes <= INLINE_WRITE_BYTES_MAX) writeFullySync(this.fd, parts, this.io);
      else await writeFully(this.fd, parts, this.io);
    } catch (error) {
      if (!isOutOfSpace(error)) throw error; // EIO and the like: the caller stops
      await this.cutBack(error);
      throw new WalDiskFullError(error, bytes);
    } finally {
      this.writing = false;
    }
    // Only now do the seqs exist: a failed write numbers nothing.
    this.nextSeq = seq;
    this.writtenSeq = seq - 1;
    this.fileBytes += bytes;
    const current = this.files.at(-1);
    assert(current !== undefined, 'the log always has a current file');
    current.lastSeq = this.writtenSeq;
    return this.writtenSeq;
  }

  /**
   * Cuts the current file back to the end of the last whole record, after a write that found
   * no room wrote part of its bytes, and makes the cut durable before the append is refused:
   * an earlier group's fdatasync may already have made whole records of the refused append
   * durable, and a restart must not replay them (their requests are answered 503, and a retry
   * would be stored twice). A cut that fails leaves the log unknown: that error stops the
   * process (the caller's onFatal), and the restart cuts the torn tail.
   */
  private async cutBack(writeError: unknown): Promise<void> {
    try {
      this.io.truncate(this.fd, this.fileBytes);
      await this.syncs.run(this.fd);
    } catch (error) {
      throw new Error(
        `the write-ahead log could not be cut back after a write found no room (${String(error)})`,
        { cause: writeError },
      );
    }
  }

  /**
   * Makes everything appended so far durable (the sync is left to the OS in 'os' mode), and
   * fails when the current file was deleted under the process: its records would be synced to
   * an inode no restart can find, so they must never be acknowledged.
   */
  async sync(): Promise<void> {
    const fd = this.fd;
    if (this.options.durability === 'fsync') {
      await this.syncs.durable(fd); // and no other fdatasync of the log failed (see there)
    }
    this.ensureLinked(fd);
  }

  /**
   * The current file's name relative to the data directory when it has no link left (deleted
   * while open), else null. One fstat: cheap enough for every commit (see `ensureLinked`).
   */
  unlinkedFile(): string | null {
    if (this.closed) return null;
    return fs.fstatSync(this.fd).nlink === 0 ? this.currentName() : null;
  }

  /**
   * Throws when the file behind `fd` was deleted. One fstat per group commit: measured at
   * 0.3 µs on the test VM (ext4), against ~220 µs for the write + fdatasync it follows; at
   * ~1k groups/s that is 0.3 ms of CPU a second.
   */
  private ensureLinked(fd: number): void {
    if (fs.fstatSync(fd).nlink > 0) return;
    throw new WalFileDeletedError(
      `the write-ahead log file ${this.currentName()} was deleted while in use; ` +
        'the records written since are not acknowledged',
    );
  }

  private currentName(): string {
    const current = this.files.at(-1);
    assert(current !== undefined, 'the log always has a current file');
    return `${path.basename(this.options.dir)}/${current.name}`;
  }

  /** Whether the current file is full, so the next append should go to a new one. */
  get full(): boolean {
    return this.fileBytes >= this.options.fileBytesMax;
  }

  /**
   * Makes the current file durable before a rotation closes it, in 'os' mode too (where no
   * group syncs): a power loss may then tear only the newest file, which opening cuts, while
   * damage in an older one refuses the start. Once per file, so 'os' keeps its speed. A
   * rotation asked for (`force`) syncs in 'fsync' mode too: it may come before any group
   * synced the file since opening cut its torn tail, and that cut must not come undone in a
   * file that is no longer the newest.
   */
  syncBeforeRotation(force = false): Promise<void> {
    if (force) return this.syncs.run(this.fd);
    if (this.options.durability !== 'os' || !this.full) return Promise.resolve();
    return this.syncs.run(this.fd);
  }

  /**
   * Whether the current file holds a record at or below `seq`: the file is released only once
   * closed (see `rotate`), so an erased person's records would stay in it until it filled.
   */
  holdsThrough(seq: number): boolean {
    const current = this.files.at(-1);
    return this.fileBytes > 0 && current !== undefined && current.afterSeq < seq;
  }

  /**
   * The first log file (closed or current) still holding a record at or below `seq`, by name,
   * or null when none does: what an erasure checks before it says its records left the disk.
   */
  fileHoldingThrough(seq: number): string | null {
    const current = this.files.at(-1);
    for (const file of this.files) {
      const holdsAny = file === current ? this.fileBytes > 0 : file.lastSeq > file.afterSeq;
      if (holdsAny && file.afterSeq < seq) return file.name;
    }
    return null;
  }

  /** The last seq of the closed files (0 when there is none): what they still hold. */
  get closedThroughSeq(): number {
    return this.files.length > 1 ? (this.files.at(-2)?.lastSeq ?? 0) : 0;
  }

  /**
   * Starts a new file once the current one is full. Call only when nothing is unsynced (in
   * 'os' mode, after `syncBeforeRotation`). With no room for the new file (WalDiskFullError,
   * for an append of `bytes`), the current one stays.
   */
  rotateIfFull(bytes: number): void {
    if (this.full) this.rotate(bytes);
  }

  /**
   * Starts a new file now (an erasure's, so that the file holding its records can be released
   * once flushed); the same conditions as `rotateIfFull` (`syncBeforeRotation(true)` first).
   * One that fails leaves no new file (see `discard`).
   */
  rotate(bytes = 0): void {
    const current = this.files.at(-1);
    assert(current !== undefined, 'the log always has a current file');
    const name = walFileName(current.index + 1);
    const file = path.join(this.options.dir, name);
    let fd: number | undefined;
    try {
      fd = this.io.openAppend(file);
      fsyncPath(this.options.dir);
    } catch (error) {
      this.discard(file, fd, error);
      if (isOutOfSpace(error)) throw new WalDiskFullError(error, bytes);
      throw error;
    }
    this.removalUnsynced = false; // that fsync made an earlier removal durable too
    fs.closeSync(this.fd);
    const afterSeq = current.lastSeq;
    this.files.push({ index: current.index + 1, name, lastSeq: afterSeq, afterSeq });
    this.fd = fd;
    this.fileBytes = 0;
  }

  /**
   * Removes the file a failed rotation may have made: appends go on in the current file, which
   * must stay the newest (a torn tail in an older file refuses the start). The removal is made
   * durable before the next append; one that fails stops the log (every append throws).
   */
  private discard(file: string, fd: number | undefined, cause: unknown): void {
    try {
      if (fd !== undefined) fs.closeSync(fd);
      fs.rmSync(file, { force: true });
    } catch (error) {
      this.broken = new Error(
        `the write-ahead log file ${path.basename(file)} a failed rotation made could not be ` +
          `removed (${String(error)}); appends to the file before it stopped`,
        { cause },
      );
      return;
    }
    this.removalUnsynced = true;
    try {
      this.syncRemoval();
    } catch {
      // Tried again before the next append (out of descriptors now, say).
    }
  }

  /** Makes a failed rotation's removal durable (throws when the directory cannot be synced). */
  private syncRemoval(): void {
    if (!this.removalUnsynced) return;
    fsyncPath(this.options.dir);
    this.removalUnsynced = false;
  }

  /**
   * Deletes every closed file whose records all have seq ≤ `seq` (they live elsewhere now),
   * oldest first, each deletion made durable before the next, and one a failed fsync left
   * first, even with none to release (see open for why; an erasure then checks them gone).
   */
  releaseThrough(seq: number): number {
    if (this.releaseUnsynced) fsyncPath(this.options.dir);
    this.releaseUnsynced = false;
    let released = 0;
    while (this.files.length > 1) {
      const oldest = this.files[0];
      assert(oldest !== undefined, 'files is non-empty');
      if (oldest.lastSeq > seq) break;
      fs.rmSync(path.join(this.options.dir, oldest.name));
      this.files.shift();
      released++;
      this.releaseUnsynced = true;
      fsyncPath(this.options.dir);
      this.releaseUnsynced = false;
    }
    return released;
  }

  /** Highest seq written to the log. */
  get lastSeq(): number {
    return this.writtenSeq;
  }

  get fileCount(): number {
    return this.files.length;
  }

  /**
   * Every log file in the directory now, by name, with its size (null when they cannot be
   * listed): what a mark of the store keeps (see store-mark.ts), so that a file removed or
   * replaced while the log was closed shows.
   */
  fileSizes(): { name: string; bytes: number }[] | null {
    const { dir } = this.options;
    try {
      return logFileNames(dir).map((name) => ({
        name,
        bytes: fs.statSync(path.join(dir, name)).size,
      }));
    } catch {
      return null; // deleted under the process, say: no later log is this one
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    fs.closeSync(this.fd);
  }
}

function createFile(dir: string, index: number, io: FileIo): WalFile {
  const name = walFileName(index);
  fs.closeSync(io.openAppend(path.join(dir, name)));
  fsyncPath(dir);
  return { index, name, lastSeq: 0, afterSeq: 0 };
}
