// Acknowledged events not yet in a segment. Committed groups arrive as the log stored them (one
// tenant's JSON lines joined by newlines) and wait in memory. Queries `sync` first: everything
// not yet in DuckDB's hot table is loaded in one bulk read of an NDJSON staging file (DuckDB's
// fastest way in; per-row appends are several times slower), so they see every acknowledged
// event. Every row of one load gets the load's highest log seq. On a full disk (no room for
// the staging file) a load parses the lines from memory instead, slower, so reads go on.
//
// Flushing does not need the hot table: a flush takes every group present when it begins (seq
// ≤ S), writes the ones not loaded yet to staging files, one per tenant, and the flusher reads
// those files straight into Parquet, which costs about half of loading them into the table and
// copying them out again. Queries during the flush may still load those groups into the table;
// such loads never mix groups ≤ S with later ones, so when the flush ends, deleting the rows
// with seq ≤ S removes exactly the flushed events. A deleted tenant's groups are purged
// between flushes: its rows go by tenant, and the rows left keep their loads' labels (which
// may then be above S: the flush's end deletes up to the higher of S and the table's label).
// An erasure cuts one person's events from the groups between flushes (see `erase`). The
// staging files and the SQL that reads them are hot-staging.ts's.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { DuckDBConnection, DuckDBInstance, DuckDBPreparedStatement } from '@duckdb/node-api';
import { assert, isOutOfSpace } from '../core/index.ts';
import { HOT_TABLE } from './duckdb.ts';
import { cutGroups, type LateCut, withoutLateCuts } from './erasure-filter.ts';
import type { ErasureMatch } from './erasure-log.ts';
import { type FileIo, nodeFileIo } from './file-io.ts';
import {
  LOAD_SQL,
  MEMORY_LOAD_SQL,
  removeFiles,
  type StagedPart,
  stagedPartOf,
  writeStagingFile,
} from './hot-staging.ts';

/** One committed log record: one tenant's events. */
export interface HotGroup {
  tenant: string;
  /** Number of events (lines) in the payload. */
  events: number;
  /** UTC days (since 1970-01-01) of the events' timestamps; null when not known. */
  days: readonly number[] | null;
  /** Newline-separated JSON lines, no trailing newline. */
  payload: Uint8Array;
}

interface Group extends HotGroup {
  seq: number;
}

/** What one flush takes: every group with seq ≤ `through`, from two places. */
export interface FlushPlan {
  through: number;
  /** Hot-table rows with seq ≤ this were loaded before the flush began and belong to it. */
  tableThrough: number;
  /** Per tenant, the flush's groups that were not in the table. */
  staged: Map<string, StagedPart>;
  /** Per tenant, the seq of its last group in the flush (see Catalog.commitFlush). */
  lastSeqOf: Map<string, number>;
}

/** Estimated memory of an event in the hot tier relative to its JSON size (JS + DuckDB). */
const MEMORY_PER_JSON_BYTE = 3;

export class HotTier {
  /** Every group not yet in a segment, seq ascending. */
  private groups: Group[] = [];
  /** groups[0, loadedCount) are in the hot table. */
  private loadedCount = 0;
  /**
   * The seq the last load labelled its rows with: every row in the table has a label ≤ it and
   * every group not loaded a seq above it. Kept apart from the groups, as a purge may remove
   * the last loaded one while rows of its load stay.
   */
  private lastLoadSeq = 0;
  /**
   * The highest seq handed to the tier (`add`, `passed`), kept or not: every record at or below
   * it that is not in `groups` needs no flush (its events were cut, or its tenant deleted).
   */
  private addedThrough = 0;
  /** The running flush's S, while one runs. */
  private flushingThrough: number | null = null;
  private memoryBytes = 0;
  /** memoryBytes by tenant (a tenant holding none has no entry): its share, looked up in O(1). */
  private readonly tenantBytes = new Map<string, number>();
  /** Erasures records may still arrive under (seq at or below theirs): cut as they arrive. */
  private erasures: LateCut[] = [];
  private syncing: Promise<void> | null = null;
  private files = 0;
  private loader: Promise<{
    connection: DuckDBConnection;
    insert: DuckDBPreparedStatement;
  }> | null = null;

  constructor(
    private readonly instance: DuckDBInstance,
    private readonly stagingDir: string,
    /** The calls staging files are written through (tests put a full disk behind them). */
    private readonly io: FileIo = nodeFileIo,
  ) {}

  /** Adds a committed group (seq ascending across calls). */
  add(seq: number, group: HotGroup): void {
    this.passed(seq);
    // Records arrive in seq order: an erasure below this one covers no later record.
    if (this.erasures.length > 0) this.erasures = this.erasures.filter((m) => seq <= m.throughSeq);
    const cut = withoutLateCuts(group.payload, group.tenant, seq, this.erasures);
    if (cut?.events === 0) return;
    const kept = cut === null ? group : { ...group, payload: cut.payload, events: cut.events };
    this.groups.push({ ...kept, seq });
    this.hold(kept.tenant, kept.payload.length);
  }

  /**
   * Notes a record that holds nothing to flush (replay skipped it, or cut all its events): a
   * flush passes it all the same, so the log file holding it can go (see beginFlush).
   */
  passed(seq: number): void {
    assert(seq > this.addedThrough, 'hot groups arrive in log order');
    this.addedThrough = seq;
  }

  /**
   * Applies an erasure (see person-eraser.ts): the groups held now lose the events it covers,
   * and so do records at or below its seq added later (committed, their fdatasync still
   * running); returns the events cut now, and `onLateCut` is told of those cut from each
   * record added later. A cut group in the hot table empties the table: every group loads
   * again at the next sync (a load's rows carry one label for all its records). Call under the
   * store's write lock while no flush runs (Flusher.whileIdle), as purgeTenant.
   */
  async erase(match: ErasureMatch, onLateCut: (events: number) => void = () => {}) {
    assert(this.flushingThrough === null, 'no flush runs while an erasure cuts the hot tier');
    assert(this.syncing === null, 'an erasure runs under the write lock, while no query loads');
    this.erasures.push({ ...match, onCut: onLateCut });
    const cut = cutGroups(this.groups, this.loadedCount, match);
    this.groups = cut.kept;
    this.hold(match.tenant, -cut.bytesFreed);
    this.loadedCount = cut.loadedKept;
    if (!cut.loadedCut) return cut.erased;
    this.loadedCount = 0;
    this.lastLoadSeq = 0;
    const c = await this.instance.connect();
    try {
      await c.run(`DELETE FROM ${HOT_TABLE}`);
    } finally {
      c.closeSync();
    }
    return cut.erased;
  }

  /** Loads every group not in the hot table yet; concurrent callers share the work. */
  async sync(): Promise<void> {
    while (this.syncing !== null) await this.syncing;
    if (this.loadedCount === this.groups.length) return;
    this.syncing = this.loadPending();
    try {
      await this.syncing;
    } finally {
      this.syncing = null;
    }
  }

  /**
   * Starts a flush of every group present now, through every record handed to the tier: those
   * that kept no event (an erasure cut them, or their tenant was deleted) are passed too, so
   * the log can release them without a flush of other events. Null when there is nothing above
   * `flushedSeq`, the catalog's watermark. Writes the groups that are not in the hot table to
   * one staging file per tenant. End it with `endFlush` once the segments are in the catalog,
   * or `abortFlush` if it failed before.
   */
  async beginFlush(flushedSeq: number): Promise<FlushPlan | null> {
    assert(this.flushingThrough === null, 'one flush at a time');
    // Wait out every load first, and take the cut-off after, in the same step as it is set: a
    // load queued behind the running one may take groups added meanwhile, in one chunk labelled
    // with its highest seq, and a cut-off taken before it would split that chunk.
    while (this.syncing !== null) await this.syncing;
    // Groups added from here on are above it, as they are above the last group.
    const through = Math.max(this.groups.at(-1)?.seq ?? 0, this.addedThrough);
    if (this.groups.length === 0 && through <= flushedSeq) return null;
    this.flushingThrough = through;
    const tableThrough = this.loadedThroughSeq;
    const byTenant = new Map<string, Group[]>();
    for (const g of this.groups.slice(this.loadedCount)) {
      const list = byTenant.get(g.tenant);
      if (list === undefined) byTenant.set(g.tenant, [g]);
      else list.push(g);
    }
    const lastSeqOf = new Map<string, number>();
    for (const g of this.groups) lastSeqOf.set(g.tenant, g.seq);
    const staged = new Map<string, StagedPart>();
    try {
      for (const [tenant, groups] of byTenant) {
        const file = this.stagingFile();
        staged.set(tenant, stagedPartOf(file, groups));
        await writeStagingFile(file, groups, this.io);
      }
    } catch (error) {
      await removeFiles(staged);
      this.flushingThrough = null;
      throw error;
    }
    return { through, tableThrough, staged, lastSeqOf };
  }

  /**
   * Ends a flush whose segments are committed: forgets its groups and deletes their rows from
   * the hot table (call under the store's write lock, so no reader sees them twice).
   */
  async endFlush(plan: FlushPlan): Promise<void> {
    assert(this.flushingThrough === plan.through, 'ending the flush that runs');
    assert(this.syncing === null, 'a flush ends under the write lock, while no query loads');
    let flushed = 0;
    while (flushed < this.groups.length && (this.groups[flushed] as Group).seq <= plan.through) {
      const g = this.groups[flushed] as Group;
      this.hold(g.tenant, -g.payload.length);
      flushed++;
    }
    const wereLoaded = Math.min(flushed, this.loadedCount);
    this.groups = this.groups.slice(flushed);
    this.loadedCount -= wereLoaded;
    this.flushingThrough = null;
    // The flushed rows go before the staging files: a removal that fails (the store then
    // stops) leaves no moment in which a read sees them beside their segments.
    try {
      if (wereLoaded > 0) await this.deleteThrough(Math.max(plan.through, plan.tableThrough));
    } finally {
      await removeFiles(plan.staged);
    }
  }

  /**
   * Deletes the hot table's rows labelled up to `seq`. Rows loaded before the flush may carry
   * a label above S: their load's last group was a deleted tenant's, purged since (see
   * purgeTenant). Loads during the flush label theirs ≤ S or above every seq before it, so
   * max(S, the table's seq at the flush's start) takes exactly the flushed rows.
   */
  private async deleteThrough(seq: number): Promise<void> {
    const c = await this.instance.connect();
    try {
      await c.run(`DELETE FROM ${HOT_TABLE} WHERE seq <= $seq`, { seq: BigInt(seq) });
    } finally {
      c.closeSync();
    }
  }

  /**
   * Forgets a deleted tenant's groups and deletes its rows from the hot table; returns how many
   * events went. Call under the store's write lock (no query loads) while no flush runs
   * (Flusher.whileIdle), so that no load or flush holds the groups.
   */
  async purgeTenant(tenant: string): Promise<number> {
    assert(this.flushingThrough === null, 'no flush runs while a tenant is purged');
    assert(this.syncing === null, 'a purge runs under the write lock, while no query loads');
    const kept: Group[] = [];
    let loadedKept = 0;
    let events = 0;
    let wereLoaded = false;
    this.groups.forEach((g, i) => {
      const loaded = i < this.loadedCount;
      if (g.tenant !== tenant) {
        kept.push(g);
        if (loaded) loadedKept++;
        return;
      }
      this.hold(g.tenant, -g.payload.length);
      events += g.events;
      wereLoaded ||= loaded;
    });
    this.groups = kept;
    this.loadedCount = loadedKept;
    if (!wereLoaded) return events;
    const c = await this.instance.connect();
    try {
      await c.run(`DELETE FROM ${HOT_TABLE} WHERE tenant = $tenant`, { tenant });
    } finally {
      c.closeSync();
    }
    return events;
  }

  /** Gives up a flush that did not commit: its groups stay, for the next one. */
  async abortFlush(plan: FlushPlan): Promise<void> {
    if (this.flushingThrough === plan.through) this.flushingThrough = null;
    await removeFiles(plan.staged);
  }

  /**
   * The highest seq in the hot table's rows that a reader may count on: the rows with seq ≤ it
   * are every group loaded so far, and stay the same until a flush ends (under the write
   * lock), however many loads other readers run meanwhile. 0 when none is loaded.
   */
  get loadedThroughSeq(): number {
    return this.loadedCount === 0 ? 0 : this.lastLoadSeq;
  }

  /** Estimated memory held by hot events, loaded or not. */
  get bytes(): number {
    return this.memoryBytes;
  }

  /** `bytes` of one tenant's events (a map lookup: asked on every ingest under pressure). */
  bytesOf(tenant: string): number {
    return this.tenantBytes.get(tenant) ?? 0;
  }

  /** What `jsonBytes` of JSON lines will count for in `bytes` once committed. */
  memoryOf(jsonBytes: number): number {
    return jsonBytes * MEMORY_PER_JSON_BYTE;
  }

  /** Tenants holding events in the hot tier. */
  get tenants(): number {
    return this.tenantBytes.size;
  }

  /** Counts `jsonBytes` more (or, negative, fewer) JSON bytes of `tenant`'s as held. */
  private hold(tenant: string, jsonBytes: number): void {
    const delta = jsonBytes * MEMORY_PER_JSON_BYTE;
    this.memoryBytes += delta;
    const held = (this.tenantBytes.get(tenant) ?? 0) + delta;
    if (held > 0) this.tenantBytes.set(tenant, held);
    else this.tenantBytes.delete(tenant);
  }

  private async loadPending(): Promise<void> {
    const end = this.groups.length;
    const split = this.flushingThrough;
    // While a flush runs, a load holds groups ≤ its S or groups after it, never both.
    const afterSplit = (i: number) => split !== null && (this.groups[i] as Group).seq > split;
    while (this.loadedCount < end) {
      let stop = this.loadedCount;
      const side = afterSplit(stop);
      while (stop < end && afterSplit(stop) === side) stop++;
      await this.load(this.groups.slice(this.loadedCount, stop), () => {
        this.loadedCount = stop;
        this.lastLoadSeq = (this.groups[stop - 1] as Group).seq;
      });
    }
  }

  /**
   * Loads `groups` into the hot table; `loaded` is called once their rows are in it, before
   * the staging file is removed: a removal that fails (EIO) fails this read, but a later load
   * must not insert the same groups again (a flush would take both copies).
   */
  private async load(groups: Group[], loaded: () => void): Promise<void> {
    const file = this.stagingFile();
    const seq = (groups.at(-1) as Group).seq;
    try {
      const staged = await writeStagingFile(file, groups, this.io).then(
        () => true,
        (error: unknown) => {
          if (isOutOfSpace(error)) return false; // a full disk: loaded from memory below
          throw error;
        },
      );
      this.loader ??= this.prepareLoader().catch((error: unknown) => {
        this.loader = null; // prepared again by the next load
        throw error;
      });
      const { connection, insert } = await this.loader;
      if (staged) {
        insert.bind({ file, seq: BigInt(seq) });
        await insert.run();
      } else {
        const lines = groups.map((g) => Buffer.from(g.payload).toString('utf8')).join('\n');
        await connection.run(MEMORY_LOAD_SQL, { lines, seq: BigInt(seq) });
      }
      loaded();
    } finally {
      await fs.promises.rm(file, { force: true });
    }
  }

  private stagingFile(): string {
    return path.join(this.stagingDir, `hot-${process.pid}-${this.files++}.ndjson`);
  }

  private async prepareLoader() {
    const connection = await this.instance.connect();
    try {
      return { connection, insert: await connection.prepare(LOAD_SQL) };
    } catch (error) {
      connection.closeSync(); // the next load prepares on a connection of its own
      throw error;
    }
  }

  /** Releases the loader's connection (before the DuckDB instance closes). */
  async close(): Promise<void> {
    const loader = await this.loader;
    loader?.connection.closeSync();
    this.loader = null;
  }
}
