// The floor of the query benchmarks: a tenant's events copied into one (tenant, timestamp)-
// sorted Parquet file, read by the same query functions through a bare DuckDB instance of its
// own (FileSource). What a read costs without Tally's segments, hot tier and HTTP app.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import { defaultTunables } from '../../src/core/index.ts';
import type { Engine } from '../../src/engine/index.ts';
import {
  type EventSnapshot,
  type EventSource,
  minuteCountsOf,
  SEGMENT_FORMAT,
  segmentRowsSql,
} from '../../src/storage/index.ts';
import { DATA_VERSION } from './generate.ts';

/** An EventSource over one Parquet file in its own DuckDB: the floor of what a read costs. */
export class FileSource implements EventSource {
  constructor(
    private readonly instance: DuckDBInstance,
    private readonly file: string,
  ) {}
  async snapshot(tenant: string): Promise<EventSnapshot> {
    const connection = await this.instance.connect();
    const from = `(SELECT * FROM read_parquet('${this.file}') WHERE tenant = $tenant)`;
    return {
      from,
      allFrom: from,
      within: () => from,
      allWithin: () => from,
      minutesFrom: `(${minuteCountsOf(from)})`,
      params: { tenant },
      visibleThroughSeq: 0, // one file, no log
      connection,
      exportFiles: async () => {
        const dir = path.join(path.dirname(this.file), `export-${crypto.randomUUID()}`);
        fs.mkdirSync(dir);
        const file = path.join(dir, 'events.parquet');
        await connection.run(`COPY ${from} TO '${file}' (FORMAT parquet)`, { tenant });
        const files = [{ path: file, format: SEGMENT_FORMAT }];
        const disk = fs.statfsSync(dir);
        const spareBytes = disk.bavail * disk.bsize;
        return { files, dir, spareBytes, remove: () => fs.rmSync(dir, { recursive: true }) };
      },
      tempFile: (extension) =>
        path.join(path.dirname(this.file), `temp-${crypto.randomUUID()}.${extension}`),
      release: () => connection.closeSync(),
    };
  }

  close(): void {
    this.instance.closeSync();
  }
}

/**
 * The floor of `tenant`'s events in `engine`, its file beside `dataDir` (made on the first run).
 * The file is named after the segments it copies and the generator's version: data generated
 * anew (other events, data directory or generator) gets a floor of its own, never a stale one.
 */
export async function openFloor(
  engine: Engine,
  dataDir: string,
  tenant: string,
): Promise<FileSource> {
  const segments = engine.store.catalog.segmentsOf(tenant);
  const floorKey = crypto
    .createHash('sha256')
    .update(`${DATA_VERSION}\n`)
    .update(segments.map((s) => `${s.file}:${s.rows}:${s.format}`).join('\n'))
    .digest('hex')
    .slice(0, 16);
  const floorFile = path.join(dataDir, '..', `floor-${floorKey}.parquet`);
  const floorDb = await DuckDBInstance.create(':memory:', {
    threads: '2',
    memory_limit: `${defaultTunables.duckdbMemoryBytesMax / 1024 ** 2}MB`,
    // Beside the data, not DuckDB's default .tmp in the directory the bench was started from.
    temp_directory: path.join(dataDir, '..', 'floor-spill'),
  });
  if (!fs.existsSync(floorFile)) {
    // In today's column layout, whatever layout each segment was written in (segment-format.ts).
    const files = segments.map((s) => ({
      path: path.join(engine.store.segmentsDir, s.file),
      format: s.format,
    }));
    const c = await floorDb.connect();
    await c.run(`COPY (${segmentRowsSql(files)} ORDER BY tenant, "timestamp")
                 TO '${floorFile}' (FORMAT parquet, COMPRESSION zstd)`);
    c.closeSync();
  }
  return new FileSource(floorDb, floorFile);
}

/** p50 and p95 of `runs` calls of `fn` (ms), after one call to warm caches. */
export async function timed(
  fn: () => Promise<unknown>,
  runs: number,
): Promise<{ p50: number; p95: number }> {
  await fn(); // warm caches, as a running server has them
  const ms: number[] = [];
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await fn();
    ms.push(performance.now() - start);
  }
  ms.sort((a, b) => a - b);
  return { p50: ms[Math.floor(runs / 2)] as number, p95: ms[Math.floor(runs * 0.95)] as number };
}
