// The column layouts segment files were written in, and how every reader reads any of them as
// the columns of EVENT_COLUMNS today. Schema evolution is explicit and small:
//   - a column is only ever added to EVENT_COLUMNS, never renamed, retyped or removed;
//   - each catalog entry records the format its file was written in (segments.format,
//     migration 009: entries from before it are format 1); a flush or compaction writes
//     SEGMENT_FORMAT, the current one;
//   - a reader groups the files by format and reads each group with the columns it has and a
//     typed NULL for those it lacks, in EVENT_COLUMNS order, so the groups, the hot table and
//     an export UNION by position. (One read_parquet over files of different layouts fails: it
//     takes the first file's columns, and a later file missing one is an error.)
// No file is rewritten when a column is added: an older segment is read as it is until a
// compaction merges it, and the merged file is written in the current format. The format is
// the catalog's, not looked up in each file's footer: a read costs no extra file access.

import { assert } from '../core/index.ts';
import { sqlStringBody } from './duckdb.ts';
import { EVENT_COLUMNS, type EventColumn } from './event-columns.ts';

/** The format flushes and compactions write: every column of EVENT_COLUMNS. */
export const SEGMENT_FORMAT = 2;

/** The columns each format lacks (format 1: segments written before `country`). */
const COLUMNS_MISSING: Record<number, readonly EventColumn[]> = {
  1: ['country'],
  2: [],
};

/** A segment file to read: its absolute path and the format it was written in. */
export interface SegmentFile {
  path: string;
  format: number;
}

/** The select list that reads a file of `format` as EVENT_COLUMNS, in their order. */
export function columnsOfFormat(format: number): string {
  const missing = COLUMNS_MISSING[format];
  assert(missing !== undefined, `segment format ${format} is known`);
  return EVENT_COLUMNS.map(([name, type]) =>
    missing.includes(name) ? `NULL::${type} AS "${name}"` : `"${name}"`,
  ).join(', ');
}

/**
 * A SELECT (no parentheses) of the events in `files` with the columns of EVENT_COLUMNS in their
 * order: one read_parquet per format, UNION ALL. `files` must not be empty.
 */
export function segmentRowsSql(files: readonly SegmentFile[]): string {
  assert(files.length > 0, 'segment rows of at least one file');
  const byFormat = new Map<number, string[]>();
  for (const file of files) {
    const quoted = `'${sqlStringBody(file.path)}'`;
    const list = byFormat.get(file.format);
    if (list === undefined) byFormat.set(file.format, [quoted]);
    else list.push(quoted);
  }
  return [...byFormat]
    .sort(([a], [b]) => b - a)
    .map(([format, paths]) => {
      return `SELECT ${columnsOfFormat(format)} FROM read_parquet([${paths.join(', ')}])`;
    })
    .join(' UNION ALL ');
}
