// One generation of the dedup index (dedup-index.ts): the keys' 128-bit hashes (key-hash.ts) in
// an open-addressing table of four int32 lanes per slot, probed linearly and doubled when it
// passes a load of LOAD_MAX. Two distinct keys are taken for one only if all 128 bits agree:
// among n keys that happens with probability about n²/2^129 (1.5e-21 for 10^9 keys), far below
// the chance of a lost disk write. Also the check that a table read from a snapshot is one this
// index could have made (generationProblem).
//
// Cost: 16 bytes per slot at a load between LOAD_MAX/2 and LOAD_MAX, so 23–46 bytes per
// remembered key whatever the id's length (~33 on average over a doubling; bench/dedup.bench.ts
// measures 28 B of resident memory per key at 10M keys), plus the old table while one doubles.
// The Set of strings it replaced took ~200 B per key with UUID-long ids.
//
// A table a doubling replaced, or a dropped generation's, is detached at once (`detach`): its
// memory goes back to the allocator then, where left to the collector it stayed resident until
// the next full collection, and raised how much garbage the collector let pile up meanwhile
// (bench/README.md, 2026-11-29). A snapshot being written holds the tables it writes (`hold`):
// one replaced meanwhile is freed once the last hold is released, never under a write.

import { assert } from '../core/index.ts';
import { KEY_HASH_LANES } from './key-hash.ts';

/** Slots of a new generation's table (16 KiB). */
export const SLOTS_MIN = 1024;
/** Slots of one table at most (8 GiB, 375M keys): the mask stays a positive int32. */
const SLOTS_MAX = 2 ** 29;
/** Keys per slot that trigger a doubling; linear probing stays short below ~0.7. */
const LOAD_MAX = 0.7;

/**
 * One generation: 128-bit hashes in open addressing with linear probing. Lane 0 is never 0 in
 * a stored hash (`DedupIndex.hashOf` makes sure), so lane 0 = 0 marks an empty slot; the home
 * slot comes from lane 1, so that lane 0 is a fresh 32-bit check when probing.
 */
export class HashTable {
  private mask: number;
  private limit: number;
  /** Holds taken by snapshots being written (`hold`); while any is, nothing is freed. */
  private holds = 0;
  /** Slots replaced or dropped while held, freed when the last hold is released. */
  private retired: Int32Array<ArrayBuffer>[] = [];

  /** A table over `slots` holding `count` hashes (an empty one, or one a snapshot kept). */
  constructor(
    private slots: Int32Array<ArrayBuffer> = new Int32Array(SLOTS_MIN * KEY_HASH_LANES),
    public count = 0,
  ) {
    const slotsCount = slots.length / KEY_HASH_LANES;
    this.mask = slotsCount - 1;
    this.limit = Math.floor(slotsCount * LOAD_MAX);
  }

  /** Bytes of the slots in use: the table's own memory (16 per slot). */
  get bytes(): number {
    return this.slots.byteLength;
  }

  /**
   * The slots as they are, for a snapshot (not a copy: the caller does not change them), kept
   * whole until `release`: a doubling or `drop` meanwhile frees them only then.
   */
  hold(): Int32Array<ArrayBuffer> {
    this.holds++;
    return this.slots;
  }

  /** Ends one `hold`; the last one frees what was replaced or dropped meanwhile. */
  release(): void {
    assert(this.holds > 0, 'a dedup table is released only when held');
    this.holds--;
    if (this.holds > 0) return;
    for (const slots of this.retired) detach(slots);
    this.retired = [];
  }

  /**
   * Frees the table's memory now (or at the last `release`): its generation is gone. What is
   * left is an empty table of SLOTS_MIN, not detached slots (a probe there would never end).
   */
  drop(): void {
    this.retire(this.slots);
    this.slots = new Int32Array(SLOTS_MIN * KEY_HASH_LANES);
    this.mask = SLOTS_MIN - 1;
    this.limit = Math.floor(SLOTS_MIN * LOAD_MAX);
    this.count = 0;
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
    this.retire(old);
  }

  private retire(slots: Int32Array<ArrayBuffer>): void {
    if (this.holds > 0) this.retired.push(slots);
    else detach(slots);
  }
}

/**
 * Empties `slots`' buffer at once: transferring it to a new empty buffer detaches it, and
 * JavaScriptCore frees the old contents then (the allocator gave a 256 MiB table's pages back to
 * the system within ~20 ms here), where dropping the last reference leaves them to a full
 * collection. No reference that still reads them may remain (a snapshot's is held, see `hold`).
 */
function detach(slots: Int32Array<ArrayBuffer>): void {
  slots.buffer.transfer(0);
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
