// Moves acknowledged events from the hot table into Parquet segments, one file per tenant and
// UTC day, sorted by (timestamp, event_id). Order of a flush, each step recoverable:
//   1. load waiting hot events; pick the watermark S = highest loaded seq
//   2. per tenant-day: COPY rows with seq ≤ S to a staging file, fsync, rename into place
//   3. under the write lock: catalog records the segments and S in one transaction, then the
//      hot rows ≤ S are deleted (a reader sees the rows in exactly one place)
//   4. the log releases files wholly ≤ S
// Flushes write snappy (about a third cheaper to write than zstd, measured here); compaction
// rewrites small segments with zstd in the background, so long-lived files are the smaller kind.
// A crash before 3 leaves stray files (removed at start) and the log replays the events; a
// crash after 3 replays nothing ≤ S, because replay skips what the catalog says is flushed.

import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import type { Catalog, NewSegment } from './catalog.ts';
import { HOT_TABLE, sqlString } from './duckdb.ts';
import type { FaultHook } from './faults.ts';
import type { HotTier } from './hot-tier.ts';
import { minuteCountsFile, writeMinuteCounts } from './minute-counts.ts';
import type { ReadWriteLock } from './rw-lock.ts';
import { publishSegment, segmentRelativePath } from './segment-files.ts';

export interface FlusherDeps {
  instance: DuckDBInstance;
  catalog: Catalog;
  hot: HotTier;
  lock: ReadWriteLock;
  segmentsDir: string;
  stagingDir: string;
  /** Lets the write-ahead log drop files whose records are all in segments. */
  releaseLog: (throughSeq: number) => void;
  fault: FaultHook;
}

export interface FlushResult {
  segments: number;
  rows: number;
  throughSeq: number;
}

interface TenantDay {
  tenant: string;
  /** Days since 1970-01-01 UTC. */
  day_index: bigint;
  rows: bigint;
  min_ts: bigint;
  max_ts: bigint;
  max_received_at: bigint;
}

const DAY_MS = 86_400_000;

/** The UTC day of an event as a day number: integer math, several times cheaper than strftime. */
const DAY_INDEX = `floor(epoch_ms("timestamp") / ${DAY_MS})::BIGINT`;

export class Flusher {
  private running: Promise<FlushResult> | null = null;

  constructor(private readonly deps: FlusherDeps) {}

  /** Resolves once no flush is running (whatever its outcome). */
  async settled(): Promise<void> {
    await this.running?.catch(() => undefined);
  }

  /** Runs one flush (or joins the one running). */
  flush(): Promise<FlushResult> {
    if (this.running === null) {
      this.running = this.flushOnce().finally(() => {
        this.running = null;
      });
    }
    return this.running;
  }

  private async flushOnce(): Promise<FlushResult> {
    const { hot, catalog } = this.deps;
    await hot.sync();
    const through = hot.loadedThroughSeq;
    if (through <= catalog.flushedThroughSeq())
      return { segments: 0, rows: 0, throughSeq: through };
    const c = await this.deps.instance.connect();
    const written: NewSegment[] = [];
    try {
      for (const td of await tenantDays(c, through))
        written.push(await this.writeSegment(c, td, through));
    } finally {
      c.closeSync();
    }
    this.deps.fault('flush:after-rename');
    await this.deps.lock.write(async () => {
      catalog.commitFlush(written, through);
      this.deps.fault('flush:after-catalog');
      await hot.deleteThrough(through);
    });
    this.deps.fault('flush:before-release');
    this.deps.releaseLog(through);
    return {
      segments: written.length,
      rows: written.reduce((n, s) => n + s.rows, 0),
      throughSeq: through,
    };
  }

  private async writeSegment(
    c: DuckDBConnection,
    td: TenantDay,
    through: number,
  ): Promise<NewSegment> {
    const name = `${String(through).padStart(16, '0')}-${crypto.randomUUID().slice(0, 8)}`;
    const dayStartMs = Number(td.day_index) * DAY_MS;
    const day = new Date(dayStartMs).toISOString().slice(0, 10);
    const file = segmentRelativePath(td.tenant, day, name);
    const staging = path.join(this.deps.stagingDir, `${name}.parquet`);
    const stagingCounts = path.join(this.deps.stagingDir, path.basename(minuteCountsFile(file)));
    const rows = `(SELECT * FROM ${HOT_TABLE}
      WHERE seq <= $through AND tenant = $tenant
        AND "timestamp" >= make_timestamptz($fromUs::BIGINT)
        AND "timestamp" < make_timestamptz($toUs::BIGINT))`;
    const params = {
      through: BigInt(through),
      tenant: td.tenant,
      fromUs: BigInt(dayStartMs) * 1000n,
      toUs: BigInt(dayStartMs + DAY_MS) * 1000n,
    };
    await c.run(
      `COPY (SELECT * FROM ${rows} ORDER BY "timestamp", event_id)
       TO '${sqlString(staging)}' (FORMAT parquet, COMPRESSION snappy)`,
      params,
    );
    await writeMinuteCounts(c, rows, params, stagingCounts);
    this.deps.fault('flush:after-write');
    const bytes = publishSegment(staging, this.deps.segmentsDir, file);
    publishSegment(stagingCounts, this.deps.segmentsDir, minuteCountsFile(file));
    return {
      tenant: td.tenant,
      day,
      file,
      rows: Number(td.rows),
      bytes,
      minTs: Number(td.min_ts),
      maxTs: Number(td.max_ts),
      maxReceivedAt: Number(td.max_received_at),
      hasMinuteCounts: true,
    };
  }
}

async function tenantDays(c: DuckDBConnection, through: number): Promise<TenantDay[]> {
  const reader = await c.runAndReadAll(
    `SELECT tenant, ${DAY_INDEX} AS day_index, count(*) AS rows,
            epoch_ms(min("timestamp")) AS min_ts, epoch_ms(max("timestamp")) AS max_ts,
            epoch_ms(max(received_at)) AS max_received_at
     FROM ${HOT_TABLE} WHERE seq <= $through GROUP BY ALL ORDER BY tenant, day_index`,
    { through: BigInt(through) },
  );
  return reader.getRowObjects() as unknown as TenantDay[];
}
