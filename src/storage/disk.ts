// Whether the data directory can take writes: it is the directory opened at start (not deleted
// or replaced since), is writable, and has free space. The reason never names the directory:
// it reaches unauthenticated clients in 503 answers.

import * as fs from 'node:fs';
import { type FileIo, nodeFileIo } from './file-io.ts';

export type DiskStatus = { ok: true; freeBytes: number } | { ok: false; reason: string };

export function checkDisk(
  dir: string,
  freeBytesMin: number,
  io: Pick<FileIo, 'freeBytes'> = nodeFileIo,
): DiskStatus {
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch (error) {
    return { ok: false, reason: `the data directory is not writable (${errorCode(error)})` };
  }
  const freeBytes = io.freeBytes(dir);
  const reason = lackOfSpace(freeBytes, freeBytesMin);
  return reason === null ? { ok: true, freeBytes } : { ok: false, reason };
}

/**
 * Why `freeBytes` free cannot take writes, or null. A full disk never can, even with
 * DISK_FREE_BYTES_MIN=0 (which turns the margin off, not the check): the next log write
 * would fail with ENOSPC (refused, see GroupCommitter).
 */
export function lackOfSpace(freeBytes: number, freeBytesMin: number): string | null {
  if (freeBytes === 0) return "the data directory's disk is full (0 bytes free)";
  if (freeBytes >= freeBytesMin) return null;
  return (
    `only ${freeBytes} bytes free in the data directory; ` +
    `at least ${freeBytesMin} are required (DISK_FREE_BYTES_MIN)`
  );
}

/**
 * For a start that failed: `; only N bytes free …` when the data directory's file system is
 * below `freeBytesMin` (a full disk shows up as SQLite's "disk I/O error", which does not say
 * so), else ''.
 */
export function lowSpaceNote(dir: string, freeBytesMin: number): string {
  let stat: fs.StatsFs;
  try {
    stat = fs.statfsSync(dir);
  } catch {
    return ''; // no directory to look at: the error itself says why
  }
  const freeBytes = stat.bavail * stat.bsize;
  if (freeBytes >= freeBytesMin && freeBytes > 0) return '';
  return `; only ${freeBytes} bytes free on its disk (DISK_FREE_BYTES_MIN is ${freeBytesMin})`;
}

/** Which directory a path names: its device and inode, as found at open. */
export interface DirIdentity {
  dev: number;
  ino: number;
}

export function dirIdentity(dir: string): DirIdentity {
  const { dev, ino } = fs.statSync(dir);
  return { dev, ino };
}

/**
 * Whether `dir` still names the directory the store opened: after `rm -rf $DATA_DIR` (and a
 * new, empty one in its place) the open files live on in a tree no restart will find.
 */
export function checkSameDir(dir: string, opened: DirIdentity): DiskStatus | null {
  let now: DirIdentity;
  try {
    now = dirIdentity(dir);
  } catch (error) {
    return { ok: false, reason: `the data directory is gone (${errorCode(error)})` };
  }
  if (now.dev === opened.dev && now.ino === opened.ino) return null;
  return { ok: false, reason: 'the data directory was deleted and made again since start' };
}

function errorCode(error: unknown): string {
  return error instanceof Error && 'code' in error ? String(error.code) : String(error);
}
