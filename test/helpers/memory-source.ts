// An EventSource over an in-memory DuckDB, shaped like the real store: a hot table of events
// not yet flushed ∪ per-tenant Parquet segment files written with COPY and read with
// read_parquet. `flush()` moves the hot rows into a new segment, so tests can cover both tiers.

import { linkSync, mkdirSync, rmSync, statfsSync } from 'node:fs';
import * as path from 'node:path';
import {
  type DuckDBAppender,
  type DuckDBConnection,
  DuckDBInstance,
  timestampTZValue,
} from '@duckdb/node-api';
import type { StoredEvent } from '../../src/core/index.ts';
import {
  countedRowsOf,
  EVENT_COLUMN_DEFS,
  EVENT_COLUMN_LIST,
  EVENT_COLUMNS,
  type EventSnapshot,
  type EventSource,
  lockDown,
  minuteCountsOf,
  SEGMENT_FORMAT,
  type TimeRange,
} from '../../src/storage/index.ts';
import { makeTempDir } from './temp-dir.ts';

export const HOT_TABLE = 'hot_events';

export interface MemorySourceOptions {
  /** Apply the production settings: files only under the segment dir, configuration locked. */
  lockDown?: boolean;
}

export interface MemorySource extends EventSource {
  instance: DuckDBInstance;
  segmentsDir: string;
  /** Snapshots taken and not yet released. */
  readonly openSnapshots: number;
  /** Appends events to the hot table. */
  add(events: StoredEvent[]): Promise<void>;
  /** Moves every hot event into one new Parquet segment per tenant; returns the new files. */
  flush(): Promise<string[]>;
  /** Segment files of a tenant. */
  segmentsOf(tenant: string): string[];
  /** The ranges snapshots were asked to narrow to (EventSnapshot.within), in order. */
  readonly withinRanges: TimeRange[];
  close(): void;
}

export async function createMemorySource(options: MemorySourceOptions = {}): Promise<MemorySource> {
  const { dir, remove } = makeTempDir('tally-query-');
  const segmentsDir = path.join(dir, 'segments');
  mkdirSync(segmentsDir, { recursive: true });
  // A spill lands in the source's own directory (removed with it), not `.tmp` of the cwd.
  const instance = await DuckDBInstance.create(':memory:', {
    temp_directory: path.join(dir, 'spill'),
  });
  const setup = await instance.connect();
  await setup.run(`CREATE TABLE ${HOT_TABLE} (${EVENT_COLUMN_DEFS})`);
  setup.closeSync();
  // The settings every Tally DuckDB runs with (storage/duckdb.ts), not a copy of them.
  if (options.lockDown === true) await lockDown(instance, [segmentsDir]);

  const segments = new Map<string, string[]>();
  const withinRanges: TimeRange[] = [];
  let seq = 0;
  let open = 0;
  return {
    instance,
    segmentsDir,
    get openSnapshots() {
      return open;
    },
    withinRanges,
    async add(events) {
      const c = await instance.connect();
      try {
        const appender = await c.createAppender(HOT_TABLE);
        for (const event of events) appendEvent(appender, event, ++seq);
        appender.closeSync();
      } finally {
        c.closeSync();
      }
    },
    async flush() {
      const c = await instance.connect();
      try {
        return await flushHot(c, segmentsDir, segments);
      } finally {
        c.closeSync();
      }
    },
    segmentsOf: (tenant) => [...(segments.get(tenant) ?? [])],
    async snapshot(tenant): Promise<EventSnapshot> {
      const connection = await instance.connect();
      open += 1;
      let released = false;
      const files = segments.get(tenant) ?? [];
      return {
        from: countedRowsOf(relationOf(files)),
        allFrom: relationOf(files),
        within(range) {
          withinRanges.push(range);
          return countedRowsOf(relationOf(files));
        },
        allWithin(range) {
          withinRanges.push(range);
          return relationOf(files);
        },
        minutesFrom: countedRowsOf(`(${minuteCountsOf(relationOf(files))})`),
        params: { tenant },
        visibleThroughSeq: seq, // its rows are read as they are at each query, not snapshotted
        connection,
        async exportFiles() {
          const dir = path.join(segmentsDir, `export-${crypto.randomUUID()}`);
          mkdirSync(dir);
          const links = files.map((file, i) => {
            const link = path.join(dir, `${i}.parquet`);
            linkSync(file, link);
            return { path: link, format: SEGMENT_FORMAT };
          });
          const hotFile = path.join(dir, 'hot.parquet');
          await connection.run(
            `COPY (SELECT ${EVENT_COLUMN_LIST} FROM ${HOT_TABLE} WHERE tenant = $tenant)
             TO '${quote(hotFile)}' (FORMAT parquet)`,
            { tenant },
          );
          const remove = () => rmSync(dir, { recursive: true, force: true });
          const exported = [...links, { path: hotFile, format: SEGMENT_FORMAT }];
          const disk = statfsSync(dir);
          return { files: exported, dir, spareBytes: disk.bavail * disk.bsize, remove };
        },
        tempFile: (extension) => path.join(segmentsDir, `temp-${crypto.randomUUID()}.${extension}`),
        release: () => {
          if (released) return;
          released = true;
          open -= 1;
          connection.closeSync();
        },
      };
    },
    close() {
      instance.closeSync();
      remove();
    },
  };
}

function relationOf(files: string[]): string {
  const hot = `SELECT ${EVENT_COLUMN_LIST} FROM ${HOT_TABLE} WHERE tenant = $tenant`;
  if (files.length === 0) return `(${hot})`;
  const list = files.map((f) => `'${quote(f)}'`).join(', ');
  return `(SELECT ${EVENT_COLUMN_LIST} FROM read_parquet([${list}]) UNION ALL ${hot})`;
}

async function flushHot(
  c: DuckDBConnection,
  segmentsDir: string,
  segments: Map<string, string[]>,
): Promise<string[]> {
  const tenants = (await c.runAndReadAll(`SELECT DISTINCT tenant FROM ${HOT_TABLE} ORDER BY 1`))
    .getRows()
    .map((r) => String(r[0]));
  const written: string[] = [];
  for (const tenant of tenants) {
    const files = segments.get(tenant) ?? [];
    const dir = path.join(segmentsDir, `tenant=${tenant}`);
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, `${files.length + 1}.parquet`);
    await c.run(
      'CREATE OR REPLACE TEMP TABLE segment_rows AS SELECT * FROM hot_events WHERE tenant = $t',
      {
        t: tenant,
      },
    );
    await c.run(`COPY segment_rows TO '${quote(file)}' (FORMAT parquet)`);
    await c.run(`DELETE FROM ${HOT_TABLE} WHERE tenant = $t`, { t: tenant });
    segments.set(tenant, [...files, file]);
    written.push(file);
  }
  return written;
}

function appendEvent(appender: DuckDBAppender, event: StoredEvent, seq: number): void {
  const row: Record<string, unknown> = { ...event, seq };
  for (const [column, type] of EVENT_COLUMNS) {
    const value = row[column];
    if (value === null || value === undefined) appender.appendNull();
    else if (type === 'TIMESTAMPTZ') {
      appender.appendTimestampTZ(timestampTZValue(BigInt(value as number) * 1000n));
    } else if (type === 'DOUBLE') appender.appendDouble(value as number);
    else if (type === 'BOOLEAN') appender.appendBoolean(value as boolean);
    else if (type === 'BIGINT') appender.appendBigInt(BigInt(value as number));
    else if (type === 'JSON') appender.appendVarchar(JSON.stringify(value));
    else appender.appendVarchar(String(value));
  }
  appender.endRow();
}

function quote(text: string): string {
  return text.replaceAll("'", "''");
}

let nextId = 0;

/** A stored event with defaults for everything but what a test cares about. */
export function makeEvent(fields: Partial<StoredEvent> & { timestamp: number }): StoredEvent {
  nextId += 1;
  const userId = fields.user_id ?? null;
  return {
    event_id: `ev-${String(nextId).padStart(6, '0')}`,
    tenant: 'acme',
    name: 'page_view',
    received_at: fields.timestamp,
    user_id: userId,
    anonymous_id: null,
    session_id: null,
    source: null,
    path: null,
    referrer: null,
    url: null,
    user_agent: null,
    ip: null,
    duration: null,
    value: null,
    properties: null,
    os: 'macOS',
    browser: 'Chrome',
    device: 'desktop',
    is_bot: false,
    visitor_id: userId ?? `visitor-${nextId}`,
    country: null,
    ...fields,
  };
}
