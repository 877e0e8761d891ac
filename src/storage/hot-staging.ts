// The hot tier's NDJSON staging files: writing a tenant's groups to one (JSON lines, one per
// event), describing what it holds, removing them, and the SQL that reads them (into the hot
// table or, via the flusher, straight into Parquet). The same rows can be loaded from memory
// when a full disk leaves no room for a staging file.

import * as fs from 'node:fs';
import { HOT_TABLE } from './duckdb.ts';
import { EVENT_COLUMNS } from './event-columns.ts';
import { type FileIo, writeFully } from './file-io.ts';

/** A tenant's part of a flush that was not in the hot table: a staging file and its days. */
export interface StagedPart {
  file: string;
  events: number;
  /** The UTC days of its events; null when some group's days are not known. */
  days: number[] | null;
}

/** What a staging file is written from: a hot group's events (see HotGroup in hot-tier.ts). */
interface StagedLines {
  events: number;
  days: readonly number[] | null;
  /** Newline-separated JSON lines, no trailing newline. */
  payload: Uint8Array;
}

const NEWLINE = Buffer.from('\n');

const isTime = (name: string) => name === 'timestamp' || name === 'received_at';

const NDJSON_COLUMNS = `{${EVENT_COLUMNS.filter(([name]) => name !== 'seq')
  .map(([name, type]) => `'${name}': '${isTime(name) ? 'BIGINT' : type}'`)
  .join(', ')}}`;

/**
 * The stored-event rows of NDJSON staging files (`filesSql`: a quoted path, a list of them or
 * a parameter), in table column order, every row with the seq `seqSql`. A line logged before
 * a column existed (no `country`) reads as NULL there, as an older segment does.
 */
export function stagedRowsSql(filesSql: string, seqSql: string): string {
  const columns = EVENT_COLUMNS.map(([name]) => {
    if (name === 'seq') return `${seqSql}::BIGINT AS seq`;
    return isTime(name) ? `make_timestamptz("${name}" * 1000) AS "${name}"` : `"${name}"`;
  }).join(', ');
  return `SELECT ${columns}
    FROM read_ndjson(${filesSql}, columns = ${NDJSON_COLUMNS}, format = 'newline_delimited')`;
}

/** Prepared once: only the staging file and the load's seq change from one load to the next. */
export const LOAD_SQL = `INSERT INTO ${HOT_TABLE} ${stagedRowsSql('$file', '$seq')}`;

/** The NDJSON columns as json_transform's structure: the same names and types. */
const JSON_STRUCTURE = JSON.stringify(
  Object.fromEntries(
    EVENT_COLUMNS.filter(([name]) => name !== 'seq').map(([name, type]) => [
      name,
      isTime(name) ? 'BIGINT' : type,
    ]),
  ),
);

/** The rows of `$lines` (JSON lines joined by newlines, from memory), as `stagedRowsSql`. */
export const MEMORY_LOAD_SQL = `INSERT INTO ${HOT_TABLE} SELECT ${EVENT_COLUMNS.map(([name]) => {
  if (name === 'seq') return '$seq::BIGINT AS seq';
  const field = `struct_extract(r, '${name}')`;
  return isTime(name) ? `make_timestamptz(${field} * 1000) AS "${name}"` : `${field} AS "${name}"`;
}).join(', ')}
  FROM (SELECT json_transform(line, '${JSON_STRUCTURE}') AS r
        FROM (SELECT unnest(string_split($lines, chr(10))) AS line))`;

export async function writeStagingFile(
  file: string,
  groups: readonly StagedLines[],
  io: FileIo,
): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const g of groups) parts.push(g.payload, NEWLINE);
  const handle = await fs.promises.open(file, 'w');
  try {
    await writeFully(handle.fd, parts, io);
  } finally {
    await handle.close();
  }
}

/** What the staging file `file` of `groups` holds: its events and their days. */
export function stagedPartOf(file: string, groups: readonly StagedLines[]): StagedPart {
  const events = groups.reduce((n, g) => n + g.events, 0);
  return { file, events, days: daysOf(groups) };
}

export async function removeFiles(staged: Map<string, StagedPart>): Promise<void> {
  await Promise.all([...staged.values()].map((s) => fs.promises.rm(s.file, { force: true })));
}

function daysOf(groups: readonly StagedLines[]): number[] | null {
  const days = new Set<number>();
  for (const g of groups) {
    if (g.days === null) return null;
    for (const d of g.days) days.add(d);
  }
  return [...days].sort((a, b) => a - b);
}
