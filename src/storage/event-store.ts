// The store of events, composed: write-ahead log + group commit (durability), hot tier
// (acknowledged, not yet flushed), Parquet segments with their SQLite catalog, flusher and
// compactor. Opening it recovers from any crash point: stray files are removed, the log is
// replayed from the catalog's watermark (a deleted tenant's records skipped, an erased person's
// events cut: log-replay.ts). It is the EventSource every query reads; what a snapshot reads
// is built by snapshot-relations.ts.

import type { Database } from 'bun:sqlite';
import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance } from '@duckdb/node-api';
import { Catalog } from './catalog.ts';
import { Compactor, type CompactorOptions } from './compactor.ts';
import { countedRowsOf } from './counted-events.ts';
import { DamagedCopyCuts, forgetGoneCopies } from './damaged-cuts.ts';
import type { DiskStatus } from './disk.ts';
import { HOT_TABLE, openDuckDb } from './duckdb.ts';
import { ErasureLog } from './erasure-log.ts';
import type { EventSnapshot, EventSource, ExportedEvents, TimeRange } from './event-source.ts';
import { type FaultHook, noFaults } from './faults.ts';
import type { FileIo } from './file-io.ts';
import { Flusher } from './flusher.ts';
import { GroupCommitter } from './group-commit.ts';
import { type HotGroup, HotTier } from './hot-tier.ts';
import { replayInto } from './log-replay.ts';
import { minuteCountsFile } from './minute-counts.ts';
import { PersonEraser } from './person-eraser.ts';
import { RetentionEraser } from './retention-eraser.ts';
import { ReadWriteLock } from './rw-lock.ts';
import { checkSegmentsPresent } from './segment-check.ts';
import { removeStrayFiles } from './segment-files.ts';
import type { SegmentFile } from './segment-format.ts';
import { SegmentRewriter } from './segment-rewriter.ts';
import { SnapshotReaders } from './snapshot-readers.ts';
import {
  exportSnapshotFiles,
  type SnapshotParams,
  type SnapshotRelations,
  snapshotRelations,
} from './snapshot-relations.ts';
import { lockDataDir } from './sqlite.ts';
import { type StoreMark, storeMarkOf } from './store-mark.ts';
import { TenantEraser } from './tenant-eraser.ts';
import { type Durability, type WalDamage, type WalDiskFullError, WriteAheadLog } from './wal.ts';
import { WriteReadiness } from './write-readiness.ts';

export interface EventStoreOptions extends CompactorOptions {
  dataDir: string;
  durability: Durability;
  walFileBytesMax: number;
  commitQueueEventsMax: number;
  commitQueueBytesMax: number;
  diskFreeBytesMin: number;
  duckdbMemoryBytesMax: number;
  duckdbThreads: number;
  now: () => number;
  onFatal: (error: unknown) => void;
  /** Told when a log write found the disk full (ingest is refused until there is room). */
  onDiskFull?: (error: WalDiskFullError) => void;
  /** Told when the disk has room again after that and ingest resumes. */
  onDiskRoom?: () => void;
  fault?: FaultHook;
  /** The file system calls of the log and the disk check (tests put a full disk behind them). */
  fileIo?: FileIo;
  /**
   * tally.sqlite already taken by `lockDataDir` (main.ts locks the directory before it listens);
   * the store owns it from here, and closes it if the open fails. Else the open takes it.
   */
  lockedDb?: Database;
}

/** Called at open for every committed group not yet in a segment, in log order. */
export type ReplayHandler = (seq: number, lines: string[]) => void;

/**
 * The highest of the flushed seq, every tombstone's and the erasures' highest: new log records
 * go above it. A loop, not `Math.max(...tombstones)`: spread into arguments, a million
 * tombstones (tenants deleted since the last flush) overflow the call stack: no open.
 */
export function seqFloorOf(
  flushed: number,
  tombstones: Iterable<number>,
  erasureHighest: number,
): number {
  let highest = Math.max(flushed, erasureHighest);
  for (const seq of tombstones) if (seq > highest) highest = seq;
  return highest;
}

export class EventStore implements EventSource {
  private readonly lock = new ReadWriteLock();
  private readonly readers = new SnapshotReaders(() => this.erasures?.retryReleases());
  readonly flusher: Flusher;
  readonly compactor: Compactor;
  /** Deletes a tenant's stored events (see tenant-eraser.ts). */
  readonly eraser: TenantEraser;
  /** Deletes a tenant's old days (see retention-eraser.ts). */
  readonly retention: RetentionEraser;
  /** Erases one person's events (person-eraser.ts), recorded in `erasureLog`. */
  readonly erasures: PersonEraser;
  readonly erasureLog: ErasureLog;

  /** Where flushes stage their files, and snapshots export their unflushed rows. */
  private readonly stagingDir: string;
  private readonly writeReadiness: WriteReadiness;

  private constructor(
    options: EventStoreOptions,
    readonly sqlite: Database,
    readonly catalog: Catalog,
    readonly instance: DuckDBInstance,
    readonly hot: HotTier,
    private readonly wal: WriteAheadLog,
    readonly committer: GroupCommitter,
    readonly segmentsDir: string,
  ) {
    const stagingDir = stagingOf(options.dataDir);
    this.stagingDir = stagingDir;
    this.writeReadiness = new WriteReadiness({ ...options, wal, committer });
    const fault = options.fault ?? noFaults;
    const shared = { instance, catalog, lock: this.lock, segmentsDir, stagingDir, fault };
    // The first flush closes the log file the store opened with, when it holds a record the
    // flush passes: a stop between a deletion's or a retention pass's catalog step and its
    // release of the log (below) left their records in it (replay skips them) until it filled.
    // Not at open: the dedup index's snapshot is used only while the log's files are as it
    // saw them, and one started at every open would make a crash's left-over one useless.
    let closeOpeningFile = wal.holdsThrough(wal.lastSeq); // it held records at open
    const closeLogFileThrough = async (seq: number): Promise<boolean> => {
      try {
        if (wal.holdsThrough(seq)) await committer.rotateLog();
        return true;
      } catch {
        return false; // no room for a new file, say: tried again at the next flush
      }
    };
    this.flusher = new Flusher({
      ...shared,
      hot,
      releaseLog: async (seq) => {
        if (closeOpeningFile) closeOpeningFile = !(await closeLogFileThrough(seq));
        wal.releaseThrough(seq);
        this.erasures.retryReleases(); // erasures whose own release failed, in the background
      },
      onFatal: options.onFatal,
    });
    const retire = (files: string[]) => this.readers.retire(files);
    const enter = () => this.readers.enter();
    this.compactor = new Compactor({ ...shared, retire, enter }, options);
    const { flusher } = this;
    const lastSeq = () => wal.lastSeq;
    const { onFatal } = options;
    // The log files holding a deletion's, an erasure's or retention's records: the current one
    // is closed, and those whose records are all flushed go now; the others go with the flush
    // passing them, run now when `flush` says so (one running already may have begun before
    // the closed file's last records came: a second takes them). With `flush`, it throws when
    // a log file still holds a record at or below `throughSeq` after it.
    const releaseLog = async (throughSeq: number, flush = false) => {
      if (wal.holdsThrough(throughSeq)) await committer.rotateLog();
      wal.releaseThrough(catalog.flushedThroughSeq());
      for (let i = 0; flush && i < 2 && catalog.flushedThroughSeq() < wal.closedThroughSeq; i++) {
        await flusher.flush(); // releases the files it passes
      }
      const held = flush ? wal.fileHoldingThrough(throughSeq) : null;
      if (held !== null) {
        throw new Error(
          `the write-ahead log file ${held} still holds records at or below seq ${throughSeq} ` +
            `(flushed through seq ${catalog.flushedThroughSeq()})`,
        );
      }
    };
    const copyCuts = new DamagedCopyCuts(sqlite, path.join(options.dataDir, 'wal'), fault, wal);
    const eraser = { ...shared, hot, flusher, lastSeq, retire, releaseLog, copyCuts, onFatal };
    this.eraser = new TenantEraser(eraser);
    const { copies } = copyCuts;
    this.retention = new RetentionEraser({ ...shared, retire, releaseLog, copies });
    this.erasureLog = new ErasureLog(sqlite, options.now);
    const rewriter = new SegmentRewriter({ ...shared, retire, enter });
    const retiredAmong = (files: readonly string[]) => this.readers.retiredAmong(files);
    const deps = { ...shared, log: this.erasureLog, hot, flusher, rewriter, lastSeq, releaseLog };
    this.erasures = new PersonEraser({ ...deps, copies, onFatal, retiredAmong });
  }

  static async open(options: EventStoreOptions, onReplay: ReplayHandler): Promise<EventStore> {
    const sqlite = options.lockedDb ?? lockDataDir(options.dataDir);
    try {
      return await EventStore.openWith(sqlite, options, onReplay);
    } catch (error) {
      sqlite.close(); // its lock on the data directory goes with it
      throw error;
    }
  }

  private static async openWith(
    sqlite: Database,
    options: EventStoreOptions,
    onReplay: ReplayHandler,
  ): Promise<EventStore> {
    const catalog = new Catalog(sqlite, options.now);
    const segmentsDir = path.join(options.dataDir, 'segments');
    const stagingDir = stagingOf(options.dataDir);
    const instance = await openDuckDb({
      segmentsDir,
      stagingDir,
      memoryLimitBytes: options.duckdbMemoryBytesMax,
      threads: options.duckdbThreads,
    });
    try {
      return EventStore.recover(sqlite, catalog, instance, options, onReplay);
    } catch (error) {
      instance.closeSync();
      throw error;
    }
  }

  /** Removes stray files, replays the log into the hot tier, and builds the store. */
  private static recover(
    sqlite: Database,
    catalog: Catalog,
    instance: DuckDBInstance,
    options: EventStoreOptions,
    onReplay: ReplayHandler,
  ): EventStore {
    const segmentsDir = path.join(options.dataDir, 'segments');
    const stagingDir = stagingOf(options.dataDir);
    const known = catalog
      .allSegments()
      .flatMap((s) => (s.hasMinuteCounts ? [s.file, minuteCountsFile(s.file)] : [s.file]));
    checkSegmentsPresent(segmentsDir, known);
    removeStrayFiles(segmentsDir, stagingDir, new Set(known));
    const hot = new HotTier(instance, stagingDir, options.fileIo);
    const flushed = catalog.flushedThroughSeq();
    const deleted = catalog.tombstones();
    const erasures = new ErasureLog(sqlite, options.now);
    const walOptions = {
      dir: path.join(options.dataDir, 'wal'),
      fileBytesMax: options.walFileBytesMax,
      durability: options.durability,
      io: options.fileIo,
    };
    forgetGoneCopies(sqlite, walOptions.dir); // before the open keeps any new copy (see there)
    const wal = WriteAheadLog.open(
      walOptions,
      replayInto(
        hot,
        { flushedSeq: flushed, tombstones: deleted, erasures: erasures.matchesAbove(flushed) },
        onReplay,
      ),
      // New records go above every tombstone and erasure too: one's seq may be past the
      // records the log kept (written, not yet synced, when it was decided), and a record at
      // or below it would be taken for the deleted tenant's, or cut as the erased person's.
      seqFloorOf(flushed, deleted.values(), erasures.highestSeq()),
      flushed,
    );
    const committer = new GroupCommitter(wal, {
      queueEventsMax: options.commitQueueEventsMax,
      queueBytesMax: options.commitQueueBytesMax,
      onFatal: options.onFatal,
      onDiskFull: options.onDiskFull,
    });
    return new EventStore(options, sqlite, catalog, instance, hot, wal, committer, segmentsDir);
  }

  /** Makes a committed group (HotGroup) readable: call in seq order, once it is durable. */
  committed(seq: number, group: HotGroup): void {
    this.hot.add(seq, group);
  }

  /**
   * A tenant's events as they are now. The read lock is held only while the snapshot is taken
   * (see SnapshotReaders): its DuckDB transaction keeps the hot rows it saw after a flush
   * deletes them, and the segment files it lists stay until it is released.
   */
  async snapshot(tenant: string, range: TimeRange = {}): Promise<EventSnapshot> {
    await this.lock.acquireRead();
    let connection: Awaited<ReturnType<DuckDBInstance['connect']>> | undefined;
    let relations: SnapshotRelations;
    let hotThroughSeq: bigint;
    let leave: () => void;
    try {
      await this.hot.sync();
      // Taken at once: another reader's sync may add rows to the hot table while this snapshot
      // is held, and two queries on it must still see the same events.
      hotThroughSeq = BigInt(this.hot.loadedThroughSeq);
      connection = await this.instance.connect();
      // DuckDB starts a transaction's view of a database at its first read of it.
      await connection.run(`BEGIN TRANSACTION; SELECT 1 FROM ${HOT_TABLE} LIMIT 0`);
      relations = snapshotRelations(this.catalog, this.segmentsDir, tenant, range);
      leave = this.readers.enter();
    } catch (error) {
      connection?.closeSync();
      throw error;
    } finally {
      // Never held past this point, on any path: the writers queued behind it would wait, and
      // the lock favours writers, so every later read of every tenant would wait too.
      this.lock.releaseRead();
    }
    const { allFrom, allWithin, minutesFrom, segmentFiles, segments, flushedThroughSeq } =
      relations;
    const conn = connection;
    const params = { tenant, hotThroughSeq };
    let released = false;
    return {
      from: countedRowsOf(allFrom),
      allFrom,
      within: (range) => countedRowsOf(allWithin(range)),
      allWithin,
      minutesFrom: countedRowsOf(minutesFrom),
      segments,
      params,
      visibleThroughSeq: Math.max(flushedThroughSeq, Number(hotThroughSeq)),
      connection: conn,
      exportFiles: () => this.exportFiles(conn, params, segmentFiles),
      tempFile: (extension) =>
        path.join(this.stagingDir, `temp-${crypto.randomUUID()}.${extension}`),
      release: () => {
        if (released) return;
        released = true;
        conn.closeSync();
        leave();
      },
    };
  }

  /** A snapshot's events as files of their own (see EventSnapshot.exportFiles). */
  private exportFiles(
    conn: DuckDBConnection,
    params: SnapshotParams,
    segmentFiles: readonly SegmentFile[],
  ): Promise<ExportedEvents> {
    return exportSnapshotFiles(conn, params, segmentFiles, this.stagingDir, () =>
      this.writeReadiness.spareBytes(),
    );
  }

  /** What the store holds now, to tell later whether it changed (see store-mark.ts). */
  mark(): StoreMark {
    return storeMarkOf(this.catalog, this.wal.lastSeq, this.wal.fileSizes());
  }

  /**
   * Whether the store can take writes (see WriteReadiness); after a log write found the disk
   * full, asking is also what resumes writes once there is room, unless `resume` is false.
   */
  readiness(resume = true): DiskStatus {
    return this.writeReadiness.check(resume);
  }

  /** What opening the log cut from its newest file (a torn tail, or damage), if anything. */
  get logDamage(): WalDamage | null {
    return this.wal.damage;
  }

  get lastSeq(): number {
    return this.wal.lastSeq;
  }

  /** How much is waiting to be flushed, for operators and the sustained-load benchmark. */
  backlog(): {
    last_seq: number;
    flushed_through_seq: number;
    hot_bytes: number;
    wal_files: number;
  } {
    return {
      last_seq: this.wal.lastSeq,
      flushed_through_seq: this.catalog.flushedThroughSeq(),
      hot_bytes: this.hot.bytes,
      wal_files: this.wal.fileCount,
    };
  }

  /**
   * Finishes queued commits, any running flush or compaction and held snapshots; closes all.
   * `atRest` runs once nothing more can be committed, flushed or compacted, before the catalog
   * closes: it gets the store's final mark (the dedup index's snapshot is written then).
   */
  async close(atRest?: (mark: StoreMark) => Promise<void>): Promise<void> {
    const erasuresStopped = this.erasures.stop(); // first: one accepted meanwhile stays pending
    await this.committer.drain();
    await erasuresStopped;
    await this.flusher.settled();
    await this.compactor.settled();
    this.wal.close();
    await this.lock.write(async () => {
      // Under the write lock, so a snapshot being taken as close began is counted by now.
      await this.readers.released();
      await this.hot.close();
      this.instance.closeSync();
      try {
        await atRest?.(this.mark());
      } finally {
        this.sqlite.close();
      }
    });
  }
}

export function stagingOf(dataDir: string): string {
  return path.join(dataDir, 'staging');
}
