// Acknowledged events not yet in a segment. Committed groups arrive as the log stored them (UTF-8
// JSON lines joined by newlines) and wait in memory; `sync` loads everything waiting into
// DuckDB's hot table in one bulk read of an NDJSON staging file (DuckDB's fastest way in;
// per-row appends are several times slower). The staging file is written and removed off the
// event loop.
// Queries sync first, so they see every acknowledged event; the flusher syncs on its interval,
// which bounds what a query has to load. Every row of one load gets the load's highest log seq:
// a flush through seq S then takes exactly the loads whose groups are all ≤ S, and the lines
// go to DuckDB as the log stored them, without rewriting each one.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { assert } from '../core/index.ts';
import { HOT_TABLE } from './duckdb.ts';
import { EVENT_COLUMNS } from './event-columns.ts';
import { writeFully } from './file-io.ts';

interface Group {
  seq: number;
  /** Newline-separated JSON lines, no trailing newline. */
  payload: Uint8Array;
}

const NEWLINE = Buffer.from('\n');

/** Estimated memory of an event in the hot tier relative to its JSON size (JS + DuckDB). */
const MEMORY_PER_JSON_BYTE = 3;

const isTime = (name: string) => name === 'timestamp' || name === 'received_at';

const NDJSON_COLUMNS = `{${EVENT_COLUMNS.filter(([name]) => name !== 'seq')
  .map(([name, type]) => `'${name}': '${isTime(name) ? 'BIGINT' : type}'`)
  .join(', ')}}`;

const SELECT_LIST = EVENT_COLUMNS.map(([name]) => {
  if (name === 'seq') return '$seq::BIGINT AS seq';
  return isTime(name) ? `make_timestamptz("${name}" * 1000) AS "${name}"` : `"${name}"`;
}).join(', ');

/** Prepared once: only the staging file and the load's seq change from one load to the next. */
const LOAD_SQL = `INSERT INTO ${HOT_TABLE} SELECT ${SELECT_LIST}
  FROM read_ndjson($file, columns = ${NDJSON_COLUMNS}, format = 'newline_delimited')`;

export class HotTier {
  private waiting: Group[] = [];
  /** Groups in the hot table, oldest first, for memory accounting and deletes. */
  private loaded: Group[] = [];
  private memoryBytes = 0;
  private syncing: Promise<void> | null = null;
  private files = 0;
  private loader: Promise<{
    connection: DuckDBConnection;
    insert: DuckDBPreparedStatement;
  }> | null = null;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly stagingDir: string,
  ) {}

  /** Adds a committed group: its JSON lines joined by newlines (seq ascending across calls). */
  add(seq: number, payload: Uint8Array): void {
    const last = this.waiting.at(-1) ?? this.loaded.at(-1);
    assert(last === undefined || seq > last.seq, 'hot groups arrive in log order');
    this.waiting.push({ seq, payload });
    this.memoryBytes += payload.length * MEMORY_PER_JSON_BYTE;
  }

  /** Loads every waiting group into the hot table; concurrent callers share the work. */
  async sync(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
    if (this.waiting.length === 0) return;
    this.syncing = this.load(this.waiting);
    this.waiting = [];
    try {
      await this.syncing;
    } finally {
      this.syncing = null;
    }
  }

  /** Highest seq loaded into the hot table (0 when none). */
  get loadedThroughSeq(): number {
    return this.loaded.at(-1)?.seq ?? 0;
  }

  /** Deletes hot rows with seq ≤ `seq` (they are in segments now). */
  async deleteThrough(seq: number): Promise<void> {
    const c = await this.instance.connect();
    try {
      await c.run(`DELETE FROM ${HOT_TABLE} WHERE seq <= $seq`, { seq: BigInt(seq) });
    } finally {
      c.closeSync();
    }
    while (this.loaded.length > 0 && (this.loaded[0] as Group).seq <= seq) {
      this.memoryBytes -= (this.loaded.shift() as Group).payload.length * MEMORY_PER_JSON_BYTE;
    }
  }

  /** Estimated memory held by hot events, waiting or loaded. */
  get bytes(): number {
    return this.memoryBytes;
  }

  get waitingGroups(): number {
    return this.waiting.length;
  }

  private async load(groups: Group[]): Promise<void> {
    const file = path.join(this.stagingDir, `hot-${process.pid}-${this.files++}.ndjson`);
    const seq = (groups.at(-1) as Group).seq;
    try {
      await writeStagingFile(file, groups);
      this.loader ??= this.prepareLoader().catch((error: unknown) => {
        this.loader = null; // prepared again by the next load
        throw error;
      });
      const { insert } = await this.loader;
      insert.bind({ file, seq: BigInt(seq) });
      await insert.run();
    } finally {
      await fs.promises.rm(file, { force: true });
    }
    for (const g of groups) this.loaded.push({ payload: g.payload, seq });
  }

  private async prepareLoader() {
    const connection = await this.instance.connect();
    return { connection, insert: await connection.prepare(LOAD_SQL) };
  }

  /** Releases the loader's connection (before the DuckDB instance closes). */
  async close(): Promise<void> {
    const loader = await this.loader;
    loader?.connection.closeSync();
    this.loader = null;
  }
}

async function writeStagingFile(file: string, groups: readonly Group[]): Promise<void> {
  const parts: Uint8Array[] = [];
  for (const g of groups) parts.push(g.payload, NEWLINE);
  const handle = await fs.promises.open(file, 'w');
  try {
    await writeFully(handle.fd, parts);
  } finally {
    await handle.close();
  }
}
