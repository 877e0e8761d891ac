// Whether the segment files the catalog lists are there and readable. Opening the store stops
// with DamagedStoreError when one is missing or DuckDB cannot read it, rather than serve fewer
// events than were acknowledged or take their ids for new ones.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { SchemaTooNewError } from './sqlite.ts';

/**
 * The store's files are not what its catalog says: a segment it names is missing or cannot be
 * read. Opening stops rather than serve (or count as unique again) fewer events than were
 * acknowledged; the operator restores the file from a backup of the data directory.
 */
export class DamagedStoreError extends Error {
  override name = 'DamagedStoreError';
}

/** Throws DamagedStoreError naming the first of the catalog's files (relative) not on disk. */
export function checkSegmentsPresent(segmentsDir: string, files: readonly string[]): void {
  const missing = files.filter((f) => !fs.existsSync(path.join(segmentsDir, f)));
  if (missing.length === 0) return;
  throw new DamagedStoreError(
    `segment file segments/${missing[0]} is missing` +
      (missing.length > 1 ? ` (and ${missing.length - 1} more)` : '') +
      ', though the catalog lists it: restore it from a backup of the data directory',
  );
}

/** DuckDB's errors for a Parquet file it cannot read: cut short, not Parquet, gone, EIO. */
const UNREADABLE_FILE = /^(Invalid Input|IO) Error: /;

/** Runs a read of segment files; a file DuckDB cannot read becomes a DamagedStoreError. */
export async function readSegments<T>(read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    const message = error instanceof Error ? (error.message.split('\n')[0] ?? '') : '';
    if (!UNREADABLE_FILE.test(message)) throw error;
    throw new DamagedStoreError(
      `a segment file cannot be read (${message}): restore it from a backup of the data directory`,
    );
  }
}

/** A store only its operator can mend (damaged, or of a newer Tally): said in one line at start. */
export function isUnusableStore(error: unknown): error is Error {
  return error instanceof DamagedStoreError || error instanceof SchemaTooNewError;
}
