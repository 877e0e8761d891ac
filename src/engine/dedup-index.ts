// Remembers which (tenant, event_id) keys are stored, for exact-once ingest. Keys live in
// generations of one eighth of the window (by received_at), so expiry drops whole generations
// instead of scanning keys: a key is remembered for at least the window and at most 9/8 of it.
// A window of 0 means forever (one generation that never expires).
//
// At `keysMax` the oldest generations go early, so every tenant keeps ingesting and only the
// reach of the window shrinks (`rememberedSince`); only when the newest generation alone holds
// `keysMax` keys is ingest refused. A full index must never stop a node for a week.
//
// A generation keeps no strings, only the keys' 128-bit hashes (key-hash.ts), in a table of its
// own (dedup-table.ts: its layout, the chance of two keys taken for one, the bytes per key). The
// seed is random per index built, so clients cannot aim ids at one probe sequence; a snapshot
// (dedup-snapshot.ts) keeps it with the tables it hashed.
//
// A deleted tenant's keys are not found one by one (only hashes are kept): the tenant moves to
// a new epoch instead, which is part of every key made by `keyOf`, so ids seen before the
// deletion are new again. The old keys stay until their generation expires; so do the epochs,
// through snapshots too, since keys made under them are in the tables.

import { assert, eventKey } from '../core/index.ts';
import { generationProblem, HashTable, SLOTS_MIN } from './dedup-table.ts';
import { hashKey, KEY_HASH_LANES } from './key-hash.ts';

/** What a snapshot keeps of an index: enough to make it again exactly (`DedupIndex.restore`). */
export interface DedupState {
  seed: number;
  count: number;
  shortenedTo: number | null;
  /** Tenants deleted, each with its epoch (see keyOf). */
  epochs: [string, number][];
  /** Each generation's number, key count and table (KEY_HASH_LANES int32 per slot). */
  generations: { gen: number; count: number; slots: Int32Array<ArrayBuffer> }[];
}

/** A state whose tables stay whole (none freed by a doubling or a drop) until `release`. */
export interface HeldState {
  state: DedupState;
  /** Lets the tables go; once only. */
  release: () => void;
}

export interface DedupOptions {
  windowMs: number;
  keysMax: number;
  /** Told when generations were dropped early: how many keys, and since when all are kept. */
  onShortened?: (droppedKeys: number, rememberedSince: number) => void;
}

const GENERATIONS_PER_WINDOW = 8;

/**
 * The most slots all tables of an index within `keysMax` take, with room to spare: under 2 /
 * LOAD_MAX per key a table held at its fullest, `keysMax` keys at most between the generations
 * alive, and smallest tables for those a window and a clock step span (for snapshots).
 */
export function slotsWithin(keysMax: number): number {
  return 4 * keysMax + 4 * (GENERATIONS_PER_WINDOW + 1) * SLOTS_MIN;
}

export class DedupIndex {
  private readonly generations = new Map<number, HashTable>();
  /** The same tables, newest generation first: a repeated id is most often a recent one. */
  private tables: HashTable[] = [];
  private readonly spanMs: number;
  private readonly seed: number;
  /** The hash of the key in hand, reused by each call instead of allocated. */
  private readonly hash = new Int32Array(KEY_HASH_LANES);
  private count = 0;
  /** Keys received before this are no longer all remembered (generations dropped early). */
  private shortenedTo: number | null = null;
  /** Keys forgotten early, before the window ended, since the process started. */
  droppedEarly = 0;
  /** Tenants deleted while the process runs: how many times (see keyOf). */
  private readonly epochs = new Map<string, number>();

  constructor(
    private readonly options: DedupOptions,
    seed = crypto.getRandomValues(new Uint32Array(1))[0] ?? 0,
  ) {
    assert(options.windowMs >= 0, 'dedup window is not negative');
    this.spanMs =
      options.windowMs === 0
        ? Number.POSITIVE_INFINITY
        : Math.max(1, options.windowMs / GENERATIONS_PER_WINDOW);
    this.seed = seed;
  }

  /**
   * The index a snapshot kept, made of its very tables. The caller has checked the state with
   * `generationProblem` and that the counts add up; `options.windowMs` is the snapshot's.
   */
  static restore(options: DedupOptions, state: DedupState): DedupIndex {
    const index = new DedupIndex(options, state.seed);
    for (const { gen, count, slots } of state.generations) {
      assert(generationProblem(slots.length / KEY_HASH_LANES, count) === null, 'valid table');
      index.generations.set(gen, new HashTable(slots, count));
    }
    index.count = state.count;
    index.shortenedTo = state.shortenedTo;
    for (const [tenant, epoch] of state.epochs) index.epochs.set(tenant, epoch);
    index.sortTables();
    return index;
  }

  /**
   * The index's state for a snapshot: its tables themselves, not copies, held until `release`
   * (dedup-table.ts frees a replaced table at once otherwise, and a write may still read it).
   */
  holdState(): HeldState {
    const held = [...this.generations].sort(([a], [b]) => a - b);
    const generations = held.map(([gen, t]) => ({ gen, count: t.count, slots: t.hold() }));
    const state: DedupState = {
      seed: this.seed,
      count: this.count,
      shortenedTo: this.shortenedTo,
      epochs: [...this.epochs],
      generations,
    };
    let released = false;
    const release = () => {
      assert(!released, 'a held dedup state is released once');
      released = true;
      for (const [, table] of held) table.release();
    };
    return { state, release };
  }

  get windowMs(): number {
    return this.options.windowMs;
  }

  get keysMax(): number {
    return this.options.keysMax;
  }

  /**
   * The key of an event: one event_id per tenant, and per epoch of the tenant once it was
   * deleted. An epoch's prefix starts with U+0001, which no tenant id does.
   */
  keyOf(tenant: string, eventId: string): string {
    const epoch = this.epochs.get(tenant);
    const key = eventKey(tenant, eventId);
    return epoch === undefined ? key : `\u0001${epoch}\u0001${key}`;
  }

  /** Forgets every key of `tenant` made so far by `keyOf`: the tenant was deleted. */
  forgetTenant(tenant: string): void {
    this.epochs.set(tenant, (this.epochs.get(tenant) ?? 0) + 1);
  }

  has(key: string): boolean {
    return this.holds(this.hashOf(key));
  }

  /**
   * The start of the receive-time generation holding the key of `eventId`: the copy of the id
   * received last (the one reads show) was received at or after it, so a read of that event by
   * id need not open older segments. Null when the index does not hold the key (never stored,
   * or forgotten) or keeps every key in one generation (a window of 0).
   */
  receivedSince(tenant: string, eventId: string): number | null {
    if (!Number.isFinite(this.spanMs)) return null;
    const h = this.hashOf(this.keyOf(tenant, eventId));
    for (const [gen, table] of this.generations) {
      if (table.find(h) >= 0) return Math.floor(gen * this.spanMs);
    }
    return null;
  }

  /** Adds a key seen at `receivedAt`; the caller has checked `has(key)` is false. */
  add(key: string, receivedAt: number): void {
    this.insert(this.hashOf(key), receivedAt);
  }

  /** `has(key)`, then `add(key, receivedAt)` if it was false, hashing the key once. */
  hasOrAdd(key: string, receivedAt: number): boolean {
    const h = this.hashOf(key);
    if (this.holds(h)) return true;
    this.insert(h, receivedAt);
    return false;
  }

  /**
   * Adds a key read back at start, where an id stored twice (sent again once forgotten early)
   * comes once per copy, in any order: the key is kept in the generation of its newest copy, as
   * at run time, not of the first one read, which may expire or be dropped early first.
   */
  addNewest(key: string, receivedAt: number): void {
    const h = this.hashOf(key);
    const gen = this.generationOf(receivedAt);
    for (const [g, table] of this.generations) {
      if (table.find(h) < 0) continue;
      if (g >= gen) return;
      table.delete(h); // found, so deleted: moved to the newer copy's generation below
      this.count--;
      break;
    }
    this.insert(h, receivedAt);
  }

  /** Undoes `add` for a key whose write was refused. */
  remove(key: string, receivedAt: number): void {
    const table = this.generations.get(this.generationOf(receivedAt));
    if (table?.delete(this.hashOf(key))) this.count--;
  }

  /** True when a key seen at `receivedAt` is already past the window at `now` (for replay). */
  isExpired(receivedAt: number, now: number): boolean {
    if (this.options.windowMs === 0) return false;
    return (this.generationOf(receivedAt) + 1) * this.spanMs + this.options.windowMs <= now;
  }

  /** Drops every generation that ended more than a window before `now`. */
  expire(now: number): number {
    if (this.options.windowMs === 0) return 0;
    let dropped = 0;
    let gone = 0;
    for (const [gen, table] of this.generations) {
      if ((gen + 1) * this.spanMs + this.options.windowMs <= now) {
        dropped += table.count;
        this.count -= table.count;
        this.generations.delete(gen);
        table.drop();
        gone++;
      }
    }
    // Whenever a generation goes, even one `remove` or `addNewest` emptied of its keys: left in
    // the probe list, its table stayed in memory and was probed by every lookup.
    if (gone > 0) this.sortTables();
    return dropped;
  }

  /** True when `extra` more keys would pass the configured maximum. */
  wouldOverflow(extra: number): boolean {
    return this.count + extra > this.options.keysMax;
  }

  /**
   * Makes room for `extra` more keys within `keysMax` by dropping generations older than the
   * one receiving keys at `now` before their time, oldest first; false when the current one
   * alone leaves no room (or with a window of 0, whose one generation never goes).
   */
  makeRoom(extra: number, now: number): boolean {
    if (!this.wouldOverflow(extra)) return true;
    const current = this.generationOf(now);
    const older = [...this.generations.keys()].filter((g) => g < current).sort((a, b) => a - b);
    let dropped = 0;
    let gone = 0;
    for (const gen of older) {
      const table = this.generations.get(gen) as HashTable;
      this.count -= table.count;
      dropped += table.count;
      this.generations.delete(gen);
      table.drop();
      gone++;
      this.shortenedTo = Math.max(this.shortenedTo ?? 0, (gen + 1) * this.spanMs);
      if (!this.wouldOverflow(extra)) break;
    }
    if (gone > 0) this.sortTables();
    if (dropped > 0) {
      this.droppedEarly += dropped;
      this.options.onShortened?.(dropped, this.shortenedTo as number);
    }
    return !this.wouldOverflow(extra);
  }

  /**
   * The earliest receive time from which every key is remembered, when generations were dropped
   * early and keys of the window are missing; null while the whole window is remembered.
   */
  rememberedSince(now: number): number | null {
    if (this.shortenedTo === null) return null;
    if (this.options.windowMs > 0 && this.shortenedTo <= now - this.options.windowMs) {
      this.shortenedTo = null; // what was dropped early would have expired by now anyway
      return null;
    }
    return this.shortenedTo;
  }

  get size(): number {
    return this.count;
  }

  /**
   * Bytes of the tables the index keeps and probes, what it allocates for its keys (16 per
   * slot, see dedup-table.ts): not a table a doubling replaced or a generation dropped, freed
   * at once (later only while a snapshot holds it).
   */
  get bytes(): number {
    let bytes = 0;
    for (const table of this.tables) bytes += table.bytes;
    return bytes;
  }

  private hashOf(key: string): Int32Array {
    const h = this.hash;
    hashKey(key, this.seed, h);
    if (h[0] === 0) h[0] = 1; // 0 marks an empty slot; this merges 2^-32 of lane 0's values
    return h;
  }

  private holds(h: Int32Array): boolean {
    for (const table of this.tables) if (table.find(h) >= 0) return true;
    return false;
  }

  private insert(h: Int32Array, receivedAt: number): void {
    const gen = this.generationOf(receivedAt);
    let table = this.generations.get(gen);
    if (table === undefined) {
      table = new HashTable();
      this.generations.set(gen, table);
      this.sortTables();
    }
    if (table.insert(h)) this.count++;
  }

  private sortTables(): void {
    const newestFirst = [...this.generations].sort(([a], [b]) => b - a);
    this.tables = newestFirst.map(([, table]) => table);
  }

  private generationOf(receivedAt: number): number {
    return Number.isFinite(this.spanMs) ? Math.floor(receivedAt / this.spanMs) : 0;
  }
}
