// Remembers which (tenant, event_id) keys are stored, for exact-once ingest. Keys live in
// generations of one eighth of the window (by received_at), so expiry drops whole generations
// instead of scanning keys: a key is remembered for at least the window and at most 9/8 of it.
// A window of 0 means forever (one generation that never expires).
//
// At `keysMax` the oldest generations go early, so every tenant keeps ingesting and only the
// reach of the window shrinks (`rememberedSince`); only when the newest generation alone holds
// `keysMax` keys is ingest refused. A full index must never stop a node for a week.
//
// A generation keeps no strings, only the keys' 128-bit hashes (key-hash.ts) in an
// open-addressing table of four int32 lanes per slot, probed linearly and doubled when it passes
// a load of LOAD_MAX. Two distinct keys are taken for one only if all 128 bits agree: among n
// keys that happens with probability about n²/2^129 (1.5e-21 for 10^9 keys), far below the
// chance of a lost disk write. The seed is random per index built, so clients cannot aim ids at
// one probe sequence; a snapshot (dedup-snapshot.ts) keeps it with the tables it hashed.
//
// Cost: 16 bytes per slot at a load between LOAD_MAX/2 and LOAD_MAX, so 23–46 bytes per
// remembered key whatever the id's length (~33 on average over a doubling; bench/dedup.bench.ts
// measures 28 B of resident memory per key at 10M keys), plus the old table while one doubles.
// The Set of strings it replaced took ~200 B per key with UUID-long ids.
//
// A deleted tenant's keys are not found one by one (only hashes are kept): the tenant moves to
// a new epoch instead, which is part of every key made by `keyOf`, so ids seen before the
// deletion are new again. The old keys stay until their generation expires; so do the epochs,
// through snapshots too, since keys made under them are in the tables.

import { assert, eventKey } from '../core/index.ts';
import { hashKey, KEY_HASH_LANES } from './key-hash.ts';

/** What a snapshot keeps of an index: enough to make it again exactly (`DedupIndex.restore`). */
export interface DedupState {
  seed: number;
  count: number;
  shortenedTo: number | null;
  /** Tenants deleted, each with its epoch (see keyOf). */
  epochs: [string, number][];
  /** Each generation's number, key count and table (KEY_HASH_LANES int32 per slot). */
  generations: { gen: number; count: number; slots: Int32Array }[];
}

export interface DedupOptions {
  windowMs: number;
  keysMax: number;
  /** Told when generations were dropped early: how many keys, and since when all are kept. */
  onShortened?: (droppedKeys: number, rememberedSince: number) => void;
}

const GENERATIONS_PER_WINDOW = 8;
/** Slots of a new generation's table (16 KiB). */
const SLOTS_MIN = 1024;
/** Slots of one table at most (8 GiB, 375M keys): the mask stays a positive int32. */
const SLOTS_MAX = 2 ** 29;
/** Keys per slot that trigger a doubling; linear probing stays short below ~0.7. */
const LOAD_MAX = 0.7;

/**
 * One generation: 128-bit hashes in open addressing with linear probing. Lane 0 is never 0 in
 * a stored hash (`DedupIndex.hashOf` makes sure), so lane 0 = 0 marks an empty slot; the home
 * slot comes from lane 1, so that lane 0 is a fresh 32-bit check when probing.
 */
class HashTable {
  private mask: number;
  private limit: number;

  /** A table over `slots` holding `count` hashes (an empty one, or one a snapshot kept). */
  constructor(
    private slots: Int32Array = new Int32Array(SLOTS_MIN * KEY_HASH_LANES),
    public count = 0,
  ) {
    const slotsCount = slots.length / KEY_HASH_LANES;
    this.mask = slotsCount - 1;
    this.limit = Math.floor(slotsCount * LOAD_MAX);
  }

  /** The slots as they are, for a snapshot (not a copy: the caller does not change them). */
  get table(): Int32Array {
    return this.slots;
  }

  /** The slot that holds hash `h`, or -1. */
  find(h: Int32Array): number {
    const { slots, mask } = this;
    const h0 = h[0] as number;
    const h1 = h[1] as number;
    const h2 = h[2] as number;
    const h3 = h[3] as number;
    for (let i = h1 & mask; ; i = (i + 1) & mask) {
      const at = i * KEY_HASH_LANES;
      const s0 = slots[at];
      if (s0 === 0) return -1;
      if (s0 === h0 && slots[at + 1] === h1 && slots[at + 2] === h2 && slots[at + 3] === h3)
        return i;
    }
  }

  /** Stores hash `h`; false when it was already there. */
  insert(h: Int32Array): boolean {
    if (this.count >= this.limit) this.grow();
    const { slots, mask } = this;
    const h0 = h[0] as number;
    const h1 = h[1] as number;
    const h2 = h[2] as number;
    const h3 = h[3] as number;
    let i = h1 & mask;
    for (; ; i = (i + 1) & mask) {
      const at = i * KEY_HASH_LANES;
      const s0 = slots[at];
      if (s0 === 0) break;
      if (s0 === h0 && slots[at + 1] === h1 && slots[at + 2] === h2 && slots[at + 3] === h3)
        return false;
    }
    const at = i * KEY_HASH_LANES;
    slots[at] = h0;
    slots[at + 1] = h1;
    slots[at + 2] = h2;
    slots[at + 3] = h3;
    this.count++;
    return true;
  }

  /**
   * Deletes hash `h` by backward shift: each later entry of the probe run that may sit in the
   * hole moves into it, so lookups need no tombstones and the table keeps no dead slots.
   */
  delete(h: Int32Array): boolean {
    let hole = this.find(h);
    if (hole < 0) return false;
    const { slots, mask } = this;
    for (let j = (hole + 1) & mask; slots[j * KEY_HASH_LANES] !== 0; j = (j + 1) & mask) {
      const at = j * KEY_HASH_LANES;
      const home = (slots[at + 1] as number) & mask;
      // The entry at j may move back to the hole only if the hole is not before its home.
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        slots.copyWithin(hole * KEY_HASH_LANES, at, at + KEY_HASH_LANES);
        hole = j;
      }
    }
    slots.fill(0, hole * KEY_HASH_LANES, (hole + 1) * KEY_HASH_LANES);
    this.count--;
    return true;
  }

  private grow(): void {
    const old = this.slots;
    const slotsCount = (this.mask + 1) * 2;
    assert(slotsCount <= SLOTS_MAX, 'a dedup generation stays within SLOTS_MAX');
    const slots = new Int32Array(slotsCount * KEY_HASH_LANES);
    const mask = slotsCount - 1;
    for (let from = 0; from < old.length; from += KEY_HASH_LANES) {
      const h0 = old[from] as number;
      if (h0 === 0) continue;
      const h1 = old[from + 1] as number;
      let i = h1 & mask;
      while (slots[i * KEY_HASH_LANES] !== 0) i = (i + 1) & mask;
      const to = i * KEY_HASH_LANES;
      slots[to] = h0;
      slots[to + 1] = h1;
      slots[to + 2] = old[from + 2] as number;
      slots[to + 3] = old[from + 3] as number;
    }
    this.slots = slots;
    this.mask = mask;
    this.limit = Math.floor(slotsCount * LOAD_MAX);
  }
}

/**
 * Why a generation of `slotsCount` slots holding `count` keys cannot be one this index made
 * (for a snapshot read from disk), or null.
 */
export function generationProblem(slotsCount: number, count: number): string | null {
  const powerOfTwo = Number.isInteger(slotsCount) && (slotsCount & (slotsCount - 1)) === 0;
  if (!powerOfTwo || slotsCount < SLOTS_MIN || slotsCount > SLOTS_MAX) {
    return `a table of ${slotsCount} slots`;
  }
  if (!Number.isInteger(count) || count < 0 || count > Math.floor(slotsCount * LOAD_MAX)) {
    return `${count} keys in a table of ${slotsCount} slots`;
  }
  return null;
}

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

  /** The index's state for a snapshot: its tables themselves, not copies. */
  exportState(): DedupState {
    const generations = [...this.generations]
      .sort(([a], [b]) => a - b)
      .map(([gen, t]) => ({ gen, count: t.count, slots: t.table }));
    return {
      seed: this.seed,
      count: this.count,
      shortenedTo: this.shortenedTo,
      epochs: [...this.epochs],
      generations,
    };
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
    for (const [gen, table] of this.generations) {
      if ((gen + 1) * this.spanMs + this.options.windowMs <= now) {
        dropped += table.count;
        this.count -= table.count;
        this.generations.delete(gen);
      }
    }
    if (dropped > 0) this.sortTables();
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
    for (const gen of older) {
      const table = this.generations.get(gen) as HashTable;
      this.count -= table.count;
      dropped += table.count;
      this.generations.delete(gen);
      this.shortenedTo = Math.max(this.shortenedTo ?? 0, (gen + 1) * this.spanMs);
      if (!this.wouldOverflow(extra)) break;
    }
    if (dropped > 0) {
      this.droppedEarly += dropped;
      this.sortTables();
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
