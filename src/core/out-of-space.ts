// Whether an error says the disk has no room for a write. The log refuses such a write instead
// of stopping (storage), reads that need a temporary file answer 503, and any other write that
// meets a full disk (SQLite's, for an account or a deletion) is 503 with Retry-After (http).

import { AppError } from './errors.ts';

/** How DuckDB words ENOSPC and EDQUOT in its IO errors (it gives no code). */
const NO_ROOM_MESSAGE = /^IO Error: .*(No space left on device|Disk quota exceeded)/;

/**
 * Whether `error` says the file system has no room for the write: ENOSPC (no free blocks or
 * inodes) or EDQUOT (the user's quota is used up), as node:fs reports them or DuckDB does, or
 * SQLITE_FULL (bun:sqlite: the database or its log could not grow). Any other error (EIO above
 * all) is not.
 */
export function isOutOfSpace(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL') return true;
  return error instanceof Error && NO_ROOM_MESSAGE.test(error.message);
}

/**
 * What a read throws when writing its temporary file failed: a full disk is a 503
 * `overloaded` naming what needed the room (`needs`; the node is not broken, the read may fit
 * later), any other error as it is.
 */
export function readRoomError(error: unknown, needs: string): unknown {
  if (!isOutOfSpace(error)) return error;
  return new AppError('overloaded', `the data directory's disk is full: ${needs}`, {
    cause: error,
  });
}
