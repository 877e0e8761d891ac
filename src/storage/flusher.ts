// Moves acknowledged events into Parquet segments, one file per tenant and UTC day, sorted by
// (timestamp, event_id). Order of a flush, each step recoverable:
//   1. the hot tier hands over every group present (seq ≤ S): rows already in the hot table,
//      and staging NDJSON files (one per tenant) for the rest
//   2. one pass over all of it counts events per tenant, minute, name and bot flag (the
//      segments' minute-count companions and the catalog's per-day facts come from it)
//   3. per tenant-day: COPY its rows to a staging Parquet file, fsync, rename into place
//   4. under the write lock: catalog records the segments and S in one transaction, then the
//      hot tier forgets the groups ≤ S (a reader sees the rows in exactly one place)
//   5. the log releases files wholly ≤ S
// Flushes write snappy (about a third cheaper to write than zstd, measured here); compaction
// rewrites small segments with zstd in the background, so long-lived files are the smaller kind.
// A crash before 4 leaves stray files (removed at start) and the log replays the events; a
// crash after 4 replays nothing ≤ S, because replay skips what the catalog says is flushed.

import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBValue } from '@duckdb/node-api';
import type { Catalog, NewSegment } from './catalog.ts';
import { HOT_TABLE, sqlString } from './duckdb.ts';
import type { FaultHook } from './faults.ts';
import { type FlushPlan, fileListSql, type HotTier, stagedRowsSql } from './hot-tier.ts';
import { MINUTE_MS, minuteCountsFile } from './minute-counts.ts';
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
const MINUTES_PER_DAY = DAY_MS / MINUTE_MS;

/** Per-connection temp tables of one flush. */
const MINUTES_TABLE = 'flush_minutes';
const TENANT_TABLE = 'flush_tenant_rows';

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
    const plan = await hot.beginFlush();
    if (plan === null) return { segments: 0, rows: 0, throughSeq: catalog.flushedThroughSeq() };
    let written: NewSegment[];
    try {
      written = await this.writeSegments(plan);
      this.deps.fault('flush:after-rename');
    } catch (error) {
      await hot.abortFlush(plan);
      throw error;
    }
    await this.deps.lock.write(async () => {
      catalog.commitFlush(written, plan.through);
      this.deps.fault('flush:after-catalog');
      await hot.endFlush(plan);
    });
    this.deps.fault('flush:before-release');
    this.deps.releaseLog(plan.through);
    return {
      segments: written.length,
      rows: written.reduce((n, s) => n + s.rows, 0),
      throughSeq: plan.through,
    };
  }

  private async writeSegments(plan: FlushPlan): Promise<NewSegment[]> {
    const c = await this.deps.instance.connect();
    try {
      const params = { through: BigInt(plan.through), tableThrough: BigInt(plan.tableThrough) };
      await run(
        c,
        `CREATE OR REPLACE TEMP TABLE ${MINUTES_TABLE} AS
         SELECT tenant, epoch_ms("timestamp") // ${MINUTE_MS} AS minute, name, is_bot,
                count(*) AS events, epoch_ms(min("timestamp")) AS min_ts,
                epoch_ms(max("timestamp")) AS max_ts, epoch_ms(max(received_at)) AS max_received_at
         FROM (${rowsOf(plan, null)}) GROUP BY ALL`,
        params,
      );
      const days = await tenantDays(c);
      const written: NewSegment[] = [];
      for (const [tenant, ofTenant] of groupByTenant(days)) {
        // One day (the usual case): read the tenant's rows straight into its segment. Several
        // (late events): gather them once, rather than reading the staging file once per day.
        let rows = `(${rowsOf(plan, tenant)})`;
        if (ofTenant.length > 1) {
          await run(c, `CREATE OR REPLACE TEMP TABLE ${TENANT_TABLE} AS ${rows}`, {
            ...params,
            tenant,
          });
          rows = TENANT_TABLE;
        }
        for (const td of ofTenant) written.push(await this.writeSegment(c, td, rows, params));
      }
      return written;
    } finally {
      c.closeSync();
    }
  }

  private async writeSegment(
    c: DuckDBConnection,
    td: TenantDay,
    rows: string,
    flushParams: Record<string, bigint>,
  ): Promise<NewSegment> {
    const through = flushParams.through as bigint;
    const name = `${String(through).padStart(16, '0')}-${crypto.randomUUID().slice(0, 8)}`;
    const dayIndex = Number(td.day_index);
    const day = new Date(dayIndex * DAY_MS).toISOString().slice(0, 10);
    const file = segmentRelativePath(td.tenant, day, name);
    const staging = path.join(this.deps.stagingDir, `${name}.parquet`);
    const stagingCounts = path.join(this.deps.stagingDir, path.basename(minuteCountsFile(file)));
    const fromMinute = BigInt(dayIndex * MINUTES_PER_DAY);
    const toMinute = fromMinute + BigInt(MINUTES_PER_DAY);
    await run(
      c,
      `COPY (SELECT * FROM ${rows} AS r
             WHERE tenant = $tenant AND "timestamp" >= make_timestamptz($fromUs::BIGINT)
               AND "timestamp" < make_timestamptz($toUs::BIGINT)
             ORDER BY "timestamp", event_id)
       TO '${sqlString(staging)}' (FORMAT parquet, COMPRESSION snappy)`,
      {
        ...flushParams,
        tenant: td.tenant,
        fromUs: fromMinute * BigInt(MINUTE_MS) * 1000n,
        toUs: toMinute * BigInt(MINUTE_MS) * 1000n,
      },
    );
    await c.run(
      `COPY (SELECT minute, name, is_bot, sum(events)::BIGINT AS events FROM ${MINUTES_TABLE}
             WHERE tenant = $tenant AND minute >= $fromMinute AND minute < $toMinute
             GROUP BY ALL ORDER BY minute, name, is_bot)
       TO '${sqlString(stagingCounts)}' (FORMAT parquet, COMPRESSION zstd)`,
      { tenant: td.tenant, fromMinute, toMinute },
    );
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

/**
 * The rows of a flush (of one tenant, or all with null): hot-table rows loaded before it
 * began, and its staging files. Parameters: $tableThrough, $through, and $tenant if named.
 */
function rowsOf(plan: FlushPlan, tenant: string | null): string {
  const parts: string[] = [];
  if (plan.tableThrough > 0) {
    const ofTenant = tenant === null ? '' : ' AND tenant = $tenant';
    parts.push(`SELECT * FROM ${HOT_TABLE} WHERE seq <= $tableThrough${ofTenant}`);
  }
  const files = tenant === null ? [...plan.files.values()] : [plan.files.get(tenant)];
  const present = files.filter((f): f is string => f !== undefined);
  if (present.length > 0) parts.push(stagedRowsSql(fileListSql(present), '$through'));
  return parts.join(' UNION ALL ');
}

/** Runs `sql` with the parameters it names (DuckDB refuses named parameters it does not use). */
async function run(c: DuckDBConnection, sql: string, params: Record<string, DuckDBValue>) {
  const used = Object.entries(params).filter(([name]) => new RegExp(`\\$${name}\\b`).test(sql));
  await c.run(sql, Object.fromEntries(used));
}

async function tenantDays(c: DuckDBConnection): Promise<TenantDay[]> {
  const reader = await c.runAndReadAll(
    `SELECT tenant, minute // ${MINUTES_PER_DAY} AS day_index, sum(events)::BIGINT AS rows,
            min(min_ts) AS min_ts, max(max_ts) AS max_ts, max(max_received_at) AS max_received_at
     FROM ${MINUTES_TABLE} GROUP BY ALL ORDER BY tenant, day_index`,
  );
  return reader.getRowObjects() as unknown as TenantDay[];
}

function groupByTenant(days: TenantDay[]): Map<string, TenantDay[]> {
  const byTenant = new Map<string, TenantDay[]>();
  for (const td of days) {
    const list = byTenant.get(td.tenant);
    if (list === undefined) byTenant.set(td.tenant, [td]);
    else list.push(td);
  }
  return byTenant;
}
