// A disk with a set number of bytes left, put behind the log's FileIo seam: a write past the
// room writes what fits and returns that short count, and the next one fails with a real
// `{ code: 'ENOSPC' }` error (or another code), as the kernel does on a full file system.
// Creating a file with no room fails the same way; a cut gives its bytes back to the room, and
// free space reads as the room left.

import * as fs from 'node:fs';
import { type FileIo, nodeFileIo } from '../../src/storage/index.ts';

export class LimitedDisk implements FileIo {
  /** Write calls the log made (the ones refused for lack of room too). */
  writes = 0;
  private held: Promise<void> | null = null;

  constructor(
    /** Bytes writes may still add; a test sets it to fill or free the disk. */
    public roomBytes = Number.MAX_SAFE_INTEGER,
    /** The error a write with no room fails with. */
    public code: 'ENOSPC' | 'EDQUOT' | 'EIO' = 'ENOSPC',
  ) {}

  writevSync(fd: number, parts: readonly Uint8Array[]): number {
    return nodeFileIo.writevSync(fd, this.take(parts));
  }

  async writev(fd: number, parts: readonly Uint8Array[]): Promise<number> {
    if (this.held !== null) await this.held;
    return nodeFileIo.writev(fd, this.take(parts));
  }

  openAppend(file: string): number {
    if (this.roomBytes === 0 && !fs.existsSync(file)) throw this.error(`open '${file}'`);
    return nodeFileIo.openAppend(file);
  }

  truncate(fd: number, bytes: number): void {
    const cut = fs.fstatSync(fd).size - bytes;
    nodeFileIo.truncate(fd, bytes);
    if (cut > 0) this.roomBytes += cut;
  }

  freeBytes(): number {
    return this.roomBytes;
  }

  /** Holds every write handed to an I/O thread until the returned function is called. */
  holdWrites(): () => void {
    let release = () => {};
    this.held = new Promise((resolve) => {
      release = () => {
        this.held = null;
        resolve();
      };
    });
    return release;
  }

  /** The parts cut to the room left (taken from it); throws when there is none. */
  private take(parts: readonly Uint8Array[]): readonly Uint8Array[] {
    this.writes++;
    let bytes = 0;
    for (const p of parts) bytes += p.length;
    if (bytes === 0) return parts;
    if (this.roomBytes === 0) throw this.error('write');
    const fit = Math.min(bytes, this.roomBytes);
    this.roomBytes -= fit;
    return fit === bytes ? parts : firstBytes(parts, fit);
  }

  private error(call: string): Error {
    return Object.assign(new Error(`${this.code}: ${call} failed`), {
      code: this.code,
      syscall: call,
    });
  }
}

/** The first `count` bytes of `parts`, as parts. */
function firstBytes(parts: readonly Uint8Array[], count: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let left = count;
  for (const p of parts) {
    if (left === 0) break;
    out.push(p.subarray(0, Math.min(p.length, left)));
    left -= Math.min(p.length, left);
  }
  return out;
}
