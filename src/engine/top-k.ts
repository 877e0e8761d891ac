// Top items (paths, referrers) in bounded memory: Space-Saving (Metwally, Agrawal, El Abbadi,
// 2005) with `capacity` counters in a min-heap, O(log capacity) per add. Exact while distinct
// items ≤ capacity; past that every reported count is an upper bound with a stated error, and
// any item seen more than total/capacity times is guaranteed to be reported.

import { assert } from '../core/index.ts';
import { FUTURE_SKEW_MS } from './sliding-window.ts';

/** An item with its count: the true count lies in [count - error, count]. */
export interface TopEntry {
  item: string;
  count: number;
  error: number;
}

/** Bytes per counter slot of the typed arrays (count, error, heap, heap index). */
const SLOT_ARRAY_BYTES = 24;
/** Bytes per monitored item besides its characters: the map entry, the array slot, headers. */
const SLOT_ENTRY_BYTES = 96;

/**
 * One Space-Saving summary. Memory (as `approxBytes` estimates it for ROLLUP_BYTES_MAX):
 * capacity × 24 bytes of counters, and ~96 bytes and its characters per item monitored.
 */
export class SpaceSaving {
  private readonly slotOf = new Map<string, number>();
  private readonly items: string[] = [];
  private readonly counts: Float64Array;
  private readonly errors: Float64Array;
  /** A min-heap of slots by count, and each slot's place in it. */
  private readonly heap: Int32Array;
  private readonly heapIndex: Int32Array;
  private used = 0;
  private sum = 0;
  /** UTF-16 units of the monitored items (for `approxBytes`). */
  private chars = 0;
  private overflowed = false;

  constructor(readonly capacity: number) {
    assert(Number.isSafeInteger(capacity) && capacity >= 1, 'Space-Saving capacity >= 1');
    this.counts = new Float64Array(capacity);
    this.errors = new Float64Array(capacity);
    this.heap = new Int32Array(capacity);
    this.heapIndex = new Int32Array(capacity);
  }

  add(item: string, count = 1): void {
    assert(Number.isSafeInteger(count) && count >= 1, 'a top-k count is a positive integer');
    this.sum += count;
    const known = this.slotOf.get(item);
    if (known !== undefined) {
      this.counts[known] = (this.counts[known] ?? 0) + count;
      this.siftDown(this.heapIndex[known] ?? 0);
      return;
    }
    if (this.used < this.capacity) {
      const slot = this.used++;
      this.place(slot, item, count, 0);
      this.heap[slot] = slot;
      this.heapIndex[slot] = slot;
      this.siftUp(slot);
      return;
    }
    // Full: the new item takes over the smallest counter and inherits its count as error.
    this.overflowed = true;
    const slot = this.heap[0] ?? 0;
    const floor = this.counts[slot] ?? 0;
    this.slotOf.delete(this.items[slot] ?? '');
    this.place(slot, item, floor + count, floor);
    this.siftDown(0);
  }

  /** The `n` largest counts, ties by item, most first. */
  top(n: number): TopEntry[] {
    return rank(this.entries(), n);
  }

  /** Every monitored item, unordered. */
  entries(): TopEntry[] {
    const out: TopEntry[] = [];
    for (let slot = 0; slot < this.used; slot++) {
      const item = this.items[slot] ?? '';
      out.push({ item, count: this.counts[slot] ?? 0, error: this.errors[slot] ?? 0 });
    }
    return out;
  }

  /** Memory held, roughly: the counter arrays, each monitored item and its map entry. */
  get approxBytes(): number {
    return this.capacity * SLOT_ARRAY_BYTES + this.used * SLOT_ENTRY_BYTES + 2 * this.chars;
  }

  /** Count of everything added. */
  get total(): number {
    return this.sum;
  }

  /**
   * An upper bound on the count of any item not monitored: the smallest counter once an item
   * has been evicted (at most total / capacity), else 0 because every item seen is monitored.
   */
  get unmonitoredCountMax(): number {
    return this.overflowed ? (this.counts[this.heap[0] ?? 0] ?? 0) : 0;
  }

  get size(): number {
    return this.used;
  }

  private place(slot: number, item: string, count: number, error: number): void {
    this.chars += item.length - (this.items[slot]?.length ?? 0);
    this.items[slot] = item;
    this.counts[slot] = count;
    this.errors[slot] = error;
    this.slotOf.set(item, slot);
  }

  private siftUp(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.countAt(parent) <= this.countAt(i)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.used && this.countAt(left) < this.countAt(smallest)) smallest = left;
      if (right < this.used && this.countAt(right) < this.countAt(smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }

  private countAt(heapPosition: number): number {
    return this.counts[this.heap[heapPosition] ?? 0] ?? 0;
  }

  private swap(a: number, b: number): void {
    const slotA = this.heap[a] ?? 0;
    const slotB = this.heap[b] ?? 0;
    this.heap[a] = slotB;
    this.heap[b] = slotA;
    this.heapIndex[slotB] = a;
    this.heapIndex[slotA] = b;
  }
}

function rank(entries: TopEntry[], n: number): TopEntry[] {
  entries.sort((a, b) => b.count - a.count || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  return entries.slice(0, Math.max(0, n));
}

export interface WindowedTopKOptions {
  /** Length of one bucket (the 24 h window's: one hour). */
  bucketMs: number;
  /** Buckets in the window, the current partial one included (the 24 h window's: 24). */
  buckets: number;
  /** Counters per bucket. */
  capacity: number;
}

/**
 * Top items over a sliding window: one Space-Saving summary per bucket, merged on read. With
 * 24 hourly buckets the window is "the last 24 hourly buckets including the current partial
 * hour" (23-24 h). A merged count is the sum of the bucket counts, plus, for each overflowed bucket
 * that does not monitor the item, that bucket's unmonitoredCountMax, so it stays an upper
 * bound and `error` says by how much it may exceed the truth. Exact while no bucket overflows.
 * Each bucket keeps the latest receive time added to it: after a clock step back a bucket with
 * one later than `nowMs` is a future bucket, left out whole (a summary cannot tell its counts
 * apart by time) until the clock gets there, as WindowedUniques leaves out its sketches.
 * Memory: buckets × capacity × (item + ~120 bytes); 24 × 200 paths of 20 characters ≈ 750 KiB.
 */
export class WindowedTopK {
  private readonly slots: (SpaceSaving | null)[];
  private readonly newestAt: Float64Array;
  private head: number | null = null;

  constructor(private readonly options: WindowedTopKOptions) {
    assert(options.bucketMs >= 1 && Number.isSafeInteger(options.buckets), 'a valid window');
    assert(options.buckets >= 1, 'a window has at least one bucket');
    this.slots = new Array<SpaceSaving | null>(options.buckets).fill(null);
    this.newestAt = new Float64Array(options.buckets);
  }

  /** Memory held by the window's summaries, roughly. */
  get approxBytes(): number {
    let bytes = 0;
    for (const summary of this.slots) bytes += summary?.approxBytes ?? 0;
    return bytes;
  }

  /** Counts `item` received at `atMs`, seen by the caller at `nowMs`. */
  add(item: string, atMs: number, nowMs: number, count = 1): 'counted' | 'expired' | 'future' {
    if (atMs > nowMs + FUTURE_SKEW_MS) return 'future';
    this.advance(nowMs);
    const at = Math.min(atMs, nowMs);
    const bucket = Math.floor(at / this.options.bucketMs);
    const head = this.head ?? bucket;
    if (bucket <= head - this.options.buckets || bucket > head) return 'expired';
    const slot = this.slotOf(bucket);
    let summary = this.slots[slot] ?? null;
    if (summary === null) {
      summary = new SpaceSaving(this.options.capacity);
      this.slots[slot] = summary;
      this.newestAt[slot] = at;
    }
    summary.add(item, count);
    this.newestAt[slot] = Math.max(this.newestAt[slot] ?? 0, at);
    return 'counted';
  }

  /**
   * The `n` items with the most counts known for certain (`count - error`, the lower bound)
   * over the window ending at `nowMs`, leaving out items with none. Ranking by the upper bound
   * instead puts items seen once at the top once the distinct items outnumber the counters:
   * each merged bucket adds its floor to every item it does not track.
   */
  topCertain(n: number, nowMs: number): TopEntry[] {
    const certain = this.top(Number.POSITIVE_INFINITY, nowMs).filter((e) => e.count > e.error);
    certain.sort(
      (a, b) =>
        b.count - b.error - (a.count - a.error) || (a.item < b.item ? -1 : a.item > b.item ? 1 : 0),
    );
    return certain.slice(0, Math.max(0, n));
  }

  /** The `n` items with the largest merged counts over the window ending at `nowMs`. */
  top(n: number, nowMs: number): TopEntry[] {
    this.advance(nowMs);
    const summaries = this.covered(nowMs);
    const merged = new Map<string, TopEntry>();
    let missingMax = 0;
    for (const summary of summaries) {
      const floor = summary.unmonitoredCountMax;
      missingMax += floor;
      for (const e of summary.entries()) {
        const entry = merged.get(e.item) ?? { item: e.item, count: 0, error: 0 };
        // Start as if absent from every bucket (missingMax, added below), then swap this
        // bucket's floor for its actual counter.
        entry.count += e.count - floor;
        entry.error += e.error - floor;
        merged.set(e.item, entry);
      }
    }
    for (const entry of merged.values()) {
      entry.count += missingMax;
      entry.error += missingMax;
    }
    return rank([...merged.values()], n);
  }

  /** When the bucket holding `nowMs`, a future one now, enters the window; Infinity if never. */
  nextChangeAt(nowMs: number): number {
    const bucket = Math.floor(nowMs / this.options.bucketMs);
    if (this.head === null || bucket > this.head || bucket <= this.head - this.options.buckets) {
      return Number.POSITIVE_INFINITY;
    }
    const slot = this.slotOf(bucket);
    const newest = this.newestAt[slot] ?? 0;
    return this.slots[slot] && newest > nowMs ? newest : Number.POSITIVE_INFINITY;
  }

  /** Moves the window forward to `nowMs`, dropping buckets that fall out. Never moves back. */
  advance(nowMs: number): void {
    const bucket = Math.floor(nowMs / this.options.bucketMs);
    if (this.head === null || bucket - this.head >= this.options.buckets) {
      this.slots.fill(null);
      this.head = bucket;
      return;
    }
    for (let b = this.head + 1; b <= bucket; b++) this.slots[this.slotOf(b)] = null;
    if (bucket > this.head) this.head = bucket;
  }

  /** The summaries of the window ending at `nowMs`, but for a future bucket (see above). */
  private covered(nowMs: number): SpaceSaving[] {
    if (this.head === null) return [];
    const last = Math.min(Math.floor(nowMs / this.options.bucketMs), this.head);
    const length = this.options.buckets;
    const first = Math.max(last - length + 1, this.head - length + 1);
    const out: SpaceSaving[] = [];
    for (let b = first; b <= last; b++) {
      const slot = this.slotOf(b);
      const summary = this.slots[slot];
      if (summary && (this.newestAt[slot] ?? 0) <= nowMs) out.push(summary);
    }
    return out;
  }

  private slotOf(bucket: number): number {
    const length = this.options.buckets;
    return ((bucket % length) + length) % length;
  }
}
