// The file system calls the write-ahead log writes through, and the free-space measure the disk
// check reads, behind one interface: production uses node:fs, and a test puts a full disk behind
// it (a short write, then ENOSPC, as the kernel does). Writes off the event loop go out on the
// log's own I/O threads (log-io.ts), so a slow disk delays the requests waiting for that write,
// not every other, and no DuckDB statement holding Bun's pool delays it.

import * as fs from 'node:fs';
import { logIo } from './log-io.ts';

export interface FileIo {
  /** writev(2) at the file's offset: the bytes written (a short write is possible), or throws. */
  writevSync(fd: number, parts: readonly Uint8Array[]): number;
  /** The same on an I/O thread. */
  writev(fd: number, parts: readonly Uint8Array[]): Promise<number>;
  /** Opens `file` for appending, creating it when missing (which can fail with ENOSPC). */
  openAppend(file: string): number;
  /** Cuts the file to `bytes` (ftruncate), giving the space after it back. */
  truncate(fd: number, bytes: number): void;
  /** Bytes an unprivileged writer may still use on the file system holding `dir`. */
  freeBytes(dir: string): number;
}

export const nodeFileIo: FileIo = {
  writevSync: (fd, parts) => fs.writevSync(fd, parts as Uint8Array[]),
  // On the log's own threads: Bun's pool may be held by DuckDB statements (see log-io.ts).
  writev: (fd, parts) => logIo.writev(fd, parts),
  openAppend: (file) => fs.openSync(file, 'a'),
  truncate: (fd, bytes) => fs.ftruncateSync(fd, bytes),
  freeBytes: (dir) => {
    const stat = fs.statfsSync(dir);
    return stat.bavail * stat.bsize;
  },
};

/** Writes every byte of `parts` at the file's current offset (one writev, more if short). */
export async function writeFully(
  fd: number,
  parts: readonly Uint8Array[],
  io: FileIo = nodeFileIo,
): Promise<void> {
  let rest = parts;
  while (rest.length > 0) rest = remainderOf(rest, await io.writev(fd, rest));
}

/** `writeFully` on the calling thread, for a write small enough not to be worth a hand-off. */
export function writeFullySync(
  fd: number,
  parts: readonly Uint8Array[],
  io: FileIo = nodeFileIo,
): void {
  let rest = parts;
  while (rest.length > 0) rest = remainderOf(rest, io.writevSync(fd, rest));
}

/** The parts left after the first `written` bytes (a short write is rare on files). */
export function remainderOf(parts: readonly Uint8Array[], written: number): readonly Uint8Array[] {
  let skip = written;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i] as Uint8Array;
    if (skip < part.length) return [part.subarray(skip), ...parts.slice(i + 1)];
    skip -= part.length;
  }
  return [];
}
