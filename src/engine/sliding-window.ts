// Live event counts over the last 1 m, 5 m, 1 h and 24 h, in fixed memory: a ring of 300
// per-second buckets and a ring of 1,440 per-minute buckets (Uint32Array, 6,960 bytes a counter).
// Events are counted by receive time (the caller passes `received_at`), so a late client
// timestamp never rewrites history and every counter agrees with the order events arrived in.

import { assert, DAY_MS } from '../core/index.ts';

/** The live views. Each covers whole buckets up to and including the current partial one. */
export type WindowName = '1m' | '5m' | '1h' | '24h';

export const WINDOW_NAMES: readonly WindowName[] = ['1m', '5m', '1h', '24h'];

/**
 * What `add` did: 'counted'; 'expired' when older than 24 h before the newest time seen;
 * 'future' when more than FUTURE_SKEW_MS after `nowMs` (a client timestamp passed by mistake).
 */
export type AddOutcome = 'counted' | 'expired' | 'future';

/** Totals of one counter; plain numbers for JSON. */
export interface CounterSnapshot {
  '1m': number;
  '5m': number;
  '1h': number;
  '24h': number;
  /** Average events per second over the 60 whole seconds before the current one. */
  perSecond: number;
}

/**
 * Tolerated lead of `atMs` over `nowMs` (clock skew between nodes); such events count as now.
 * The uniques (hll.ts) and top paths (top-k.ts) read it too: each rollup view takes the same.
 */
export const FUTURE_SKEW_MS = 5_000;

const SECOND_MS = 1000;
const MINUTE_MS = 60_000;
const SECONDS_KEPT = 300;
const MINUTES_KEPT = 1440;
/** One SlidingCounter: its two Uint32Array rings and the objects around them. */
const SLIDING_COUNTER_BYTES = (SECONDS_KEPT + MINUTES_KEPT) * 4 + 256;
const BUCKET_COUNT_MAX = 0xffff_ffff;
const RATE_SPAN_SECONDS = 60;

/** A view over the last `buckets` buckets of `bucketMs`, the current partial one included. */
export interface BucketedView {
  readonly bucketMs: number;
  readonly buckets: number;
}

/** Buckets per view, and whether the view reads the per-second ring. */
const VIEWS: Record<WindowName, { buckets: number; perSecond: boolean }> = {
  '1m': { buckets: 60, perSecond: true },
  '5m': { buckets: 300, perSecond: true },
  '1h': { buckets: 60, perSecond: false },
  '24h': { buckets: 1440, perSecond: false },
};

/** The views of a SlidingCounter as bucket lengths and counts. */
const COUNT_VIEWS: readonly BucketedView[] = Object.values(VIEWS).map((v) => ({
  bucketMs: v.perSecond ? SECOND_MS : MINUTE_MS,
  buckets: v.buckets,
}));

/** A ring of counts for consecutive buckets; `head` is the newest bucket it holds. */
class CountRing {
  private readonly slots: Uint32Array;
  private head: number | null = null;

  constructor(readonly length: number) {
    this.slots = new Uint32Array(length);
  }

  /** The newest bucket held (the newest time seen); null before any. */
  get newest(): number | null {
    return this.head;
  }

  /** Moves the ring forward to `bucket`, zeroing the buckets that fall out. Never moves back. */
  advance(bucket: number): void {
    if (this.head === null || bucket - this.head >= this.length) {
      this.slots.fill(0);
      this.head = bucket;
      return;
    }
    for (let b = this.head + 1; b <= bucket; b++) this.slots[this.slotOf(b)] = 0;
    if (bucket > this.head) this.head = bucket;
  }

  /** Adds to `bucket` if the ring still holds it; false when it is older than the ring. */
  add(bucket: number, count: number): boolean {
    if (this.head === null || bucket <= this.head - this.length || bucket > this.head) return false;
    const slot = this.slotOf(bucket);
    // Saturates rather than wraps: 2^32 events in one minute is ~71M/s, far past any mailbox.
    this.slots[slot] = Math.min(BUCKET_COUNT_MAX, (this.slots[slot] ?? 0) + count);
    return true;
  }

  /** Sum of the buckets from `first` to `last` inclusive that the ring holds. */
  sum(first: number, last: number): number {
    if (this.head === null) return 0;
    const from = Math.max(first, this.head - this.length + 1);
    const to = Math.min(last, this.head);
    let total = 0;
    for (let b = from; b <= to; b++) total += this.slots[this.slotOf(b)] ?? 0;
    return total;
  }

  private slotOf(bucket: number): number {
    return ((bucket % this.length) + this.length) % this.length;
  }
}

/**
 * One live counter. Time only moves forward: every call advances the rings to its `nowMs` when
 * that is newer. A view at `nowMs` is "the last N seconds (1m, 5m) or minutes (1h, 24h)
 * including the current partial one", so 1h covers between 59 and 60 minutes. A read at a
 * `nowMs` older than the newest time seen (a clock stepped back) leaves out the later buckets.
 */
export class SlidingCounter {
  private readonly seconds = new CountRing(SECONDS_KEPT);
  private readonly minutes = new CountRing(MINUTES_KEPT);
  /** The newest time the rings were moved to (see `advance`). */
  private newestMs = Number.NEGATIVE_INFINITY;

  /** The newest time seen: the rings hold nothing older than their length before it. */
  get newest(): number {
    return this.newestMs;
  }

  /** Counts `count` events received at `atMs`, seen by the caller at `nowMs`. */
  add(atMs: number, nowMs: number, count = 1): AddOutcome {
    assert(Number.isSafeInteger(count) && count >= 0, 'an event count is a non-negative integer');
    if (atMs > nowMs + FUTURE_SKEW_MS) return 'future';
    const at = Math.min(atMs, nowMs);
    this.advance(nowMs);
    if (!this.minutes.add(Math.floor(at / MINUTE_MS), count)) return 'expired';
    this.seconds.add(Math.floor(at / SECOND_MS), count);
    return 'counted';
  }

  /** Moves the rings forward to `nowMs`; reads and adds do this themselves. */
  advance(nowMs: number): void {
    if (nowMs > this.newestMs) this.newestMs = nowMs;
    this.seconds.advance(Math.floor(nowMs / SECOND_MS));
    this.minutes.advance(Math.floor(nowMs / MINUTE_MS));
  }

  total(window: WindowName, nowMs: number): number {
    this.advance(nowMs);
    const view = VIEWS[window];
    const last = Math.floor(nowMs / (view.perSecond ? SECOND_MS : MINUTE_MS));
    const ring = view.perSecond ? this.seconds : this.minutes;
    return ring.sum(last - view.buckets + 1, last);
  }

  /** Events per second over the 60 whole seconds before the current, partial, second. */
  eventsPerSecond(nowMs: number): number {
    this.advance(nowMs);
    const current = Math.floor(nowMs / SECOND_MS);
    return this.seconds.sum(current - RATE_SPAN_SECONDS, current - 1) / RATE_SPAN_SECONDS;
  }

  /**
   * Whether events received in [fromMs, toMs) are counted and still held: ranges of whole
   * minutes are read from the minute ring (24 h), others from the second ring (300 s).
   */
  holds(fromMs: number, toMs: number): boolean {
    if (fromMs % MINUTE_MS === 0 && toMs % MINUTE_MS === 0) {
      return this.minutes.sum(fromMs / MINUTE_MS, toMs / MINUTE_MS - 1) > 0;
    }
    return this.seconds.sum(Math.floor(fromMs / SECOND_MS), Math.ceil(toMs / SECOND_MS) - 1) > 0;
  }

  /**
   * The first time after `nowMs` at which, without new events, this counter's snapshot or a
   * view in `views` over the same events can change: when a bucket holding events leaves a
   * view, or the current second (with events) enters the rate, or (the clock stepped back) a
   * bucket newer than `nowMs` holding events enters a view. Infinity when never.
   */
  nextChangeAt(nowMs: number, views: readonly BucketedView[] = []): number {
    this.advance(nowMs);
    const second = Math.floor(nowMs / SECOND_MS);
    let next = this.holds(second * SECOND_MS, (second + 1) * SECOND_MS)
      ? (second + 1) * SECOND_MS
      : Number.POSITIVE_INFINITY;
    const rate = { bucketMs: SECOND_MS, buckets: RATE_SPAN_SECONDS + 1 };
    for (const view of [rate, ...COUNT_VIEWS, ...views]) {
      next = Math.min(next, this.leavesAt(view, nowMs), this.entersAt(view, nowMs));
    }
    return next;
  }

  /**
   * When the first bucket of `view` after the current one that holds events enters it: there
   * is one only while the clock is behind the newest time seen (it stepped back), and the
   * events received before the step come back into view as it catches up. Infinity when none.
   */
  private entersAt({ bucketMs }: BucketedView, nowMs: number): number {
    // The ring `holds` reads for buckets of this length, and the buckets of `view` it holds.
    const ring = bucketMs % MINUTE_MS === 0 ? this.minutes : this.seconds;
    const ringMs = ring === this.minutes ? MINUTE_MS : SECOND_MS;
    const newest = ring.newest;
    if (newest === null) return Number.POSITIVE_INFINITY;
    const oldest = Math.floor(((newest - ring.length + 1) * ringMs) / bucketMs);
    const last = Math.floor(((newest + 1) * ringMs - 1) / bucketMs);
    for (let b = Math.max(Math.floor(nowMs / bucketMs) + 1, oldest); b <= last; b++) {
      if (this.holds(b * bucketMs, (b + 1) * bucketMs)) return b * bucketMs;
    }
    return Number.POSITIVE_INFINITY;
  }

  /** When the oldest bucket of `view` that holds events leaves it; Infinity when none does. */
  private leavesAt({ bucketMs, buckets }: BucketedView, nowMs: number): number {
    const current = Math.floor(nowMs / bucketMs);
    for (let b = current - buckets + 1; b <= current; b++) {
      if (this.holds(b * bucketMs, (b + 1) * bucketMs)) return (b + buckets) * bucketMs;
    }
    return Number.POSITIVE_INFINITY;
  }

  snapshot(nowMs: number): CounterSnapshot {
    return {
      '1m': this.total('1m', nowMs),
      '5m': this.total('5m', nowMs),
      '1h': this.total('1h', nowMs),
      '24h': this.total('24h', nowMs),
      perSecond: this.eventsPerSecond(nowMs),
    };
  }
}

/** The name under which events are counted once `namesMax` distinct names are tracked. */
export const OTHER_NAME = '(other)';

export interface KeyedCounterOptions {
  /** Distinct names with their own counter; later names share OTHER_NAME's. */
  namesMax: number;
}

export interface NamedSnapshot extends CounterSnapshot {
  name: string;
  /**
   * The name got its own counter while OTHER_NAME held events of the last 24 h: some of its
   * earlier events may be counted there, so its counts are a lower bound (for 24 h).
   */
  partial: boolean;
}

export interface KeyedSnapshot {
  all: CounterSnapshot;
  /** Per name, most events in 24 h first; OTHER_NAME included when used. */
  names: NamedSnapshot[];
}

/**
 * Counters per event name plus one over all events. At most `namesMax` names get their own
 * counter (+1 for OTHER_NAME), so memory is at most (namesMax + 2) × ~7 KB. A name with no
 * event in 24 h gives its place up: when a new name finds the table full, idle names are
 * pruned, at most once a minute since pruning reads every counter. An event really named
 * OTHER_NAME shares that counter.
 */
export class KeyedSlidingCounter {
  private readonly all = new SlidingCounter();
  private readonly byName = new Map<string, SlidingCounter>();
  /** Names whose counters are partial (see NamedSnapshot.partial), until when. */
  private readonly partialUntil = new Map<string, number>();
  private prunedMinute = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: KeyedCounterOptions) {
    assert(Number.isSafeInteger(options.namesMax) && options.namesMax >= 1, 'namesMax >= 1');
  }

  add(name: string, atMs: number, nowMs: number, count = 1): AddOutcome {
    const outcome = this.all.add(atMs, nowMs, count);
    if (outcome === 'counted') this.caughtUp(this.counterFor(name, nowMs)).add(atMs, nowMs, count);
    return outcome;
  }

  /** Over all names, or for `name`: 0 for a name without its own counter (see OTHER_NAME). */
  total(window: WindowName, nowMs: number, name?: string): number {
    if (name === undefined) return this.all.total(window, nowMs);
    const counter = this.byName.get(name);
    return counter === undefined ? 0 : this.caughtUp(counter).total(window, nowMs);
  }

  eventsPerSecond(nowMs: number): number {
    return this.all.eventsPerSecond(nowMs);
  }

  /**
   * When a snapshot can next change without new events (see SlidingCounter.nextChangeAt): a
   * name's buckets hold a part of the events the total's hold, so the total's buckets decide,
   * unless a name's `partial` runs out first.
   */
  nextChangeAt(nowMs: number, views: readonly BucketedView[] = []): number {
    let next = this.all.nextChangeAt(nowMs, views);
    for (const [name, until] of this.partialUntil) {
      if (until > nowMs && until < next && this.byName.has(name)) next = until;
    }
    return next;
  }

  /** Memory held, roughly: one counter's rings per name, the total's, and the names. */
  get approxBytes(): number {
    let bytes = (this.byName.size + 1) * SLIDING_COUNTER_BYTES;
    for (const name of this.byName.keys()) bytes += 2 * name.length;
    return bytes;
  }

  /** Names with their own counter now, OTHER_NAME included when in use. */
  get namesTracked(): number {
    return this.byName.size;
  }

  /**
   * Drops the counters of names with no event in the last 24 h: none held at all, as of the
   * newest time seen (after a clock step back, events received before it are left out of the
   * windows until the clock gets back to them, not gone).
   */
  prune(nowMs: number): void {
    for (const [name, counter] of this.byName) {
      if (!this.holdsAny(counter, nowMs)) this.byName.delete(name);
    }
    for (const [name, until] of this.partialUntil) {
      if (until <= nowMs || !this.byName.has(name)) this.partialUntil.delete(name);
    }
    this.prunedMinute = Math.floor(nowMs / MINUTE_MS);
  }

  snapshot(nowMs: number): KeyedSnapshot {
    const names = [...this.byName].map(([name, c]) => ({
      name,
      ...this.caughtUp(c).snapshot(nowMs),
      partial: (this.partialUntil.get(name) ?? 0) > nowMs,
    }));
    names.sort((a, b) => b['24h'] - a['24h'] || (a.name < b.name ? -1 : 1));
    return { all: this.all.snapshot(nowMs), names };
  }

  private counterFor(name: string, nowMs: number): SlidingCounter {
    const known = this.byName.get(name);
    if (known !== undefined) return known;
    if (this.namedCount() >= this.options.namesMax && this.mayPrune(nowMs)) this.prune(nowMs);
    const key = this.namedCount() < this.options.namesMax ? name : OTHER_NAME;
    let counter = this.byName.get(key);
    if (counter === undefined) {
      counter = new SlidingCounter();
      this.byName.set(key, counter);
      // A name counted under OTHER_NAME until a place freed up: its earlier events stay there.
      const other = this.byName.get(OTHER_NAME);
      if (key !== OTHER_NAME && other !== undefined && this.holdsAny(other, nowMs)) {
        this.partialUntil.set(key, Math.max(nowMs, this.all.newest) + DAY_MS);
      }
    }
    return counter;
  }

  /**
   * `counter` moved to the newest time the total has seen: a name's rings then hold what the
   * total's hold. A name counter created, or last moved, before the newest time and read or
   * added to after the wall clock stepped back would otherwise still hold seconds the total's
   * ring let go, and count events in 1m and 5m (and the rate) that the total leaves out.
   */
  private caughtUp(counter: SlidingCounter): SlidingCounter {
    const newest = this.all.newest;
    if (Number.isFinite(newest)) counter.advance(newest);
    return counter;
  }

  /** Whether `counter` holds any event: of the 24 h before `nowMs` or the newest time seen. */
  private holdsAny(counter: SlidingCounter, nowMs: number): boolean {
    return this.caughtUp(counter).total('24h', Math.max(nowMs, this.all.newest)) > 0;
  }

  private namedCount(): number {
    return this.byName.size - (this.byName.has(OTHER_NAME) ? 1 : 0);
  }

  private mayPrune(nowMs: number): boolean {
    return Math.floor(nowMs / MINUTE_MS) > this.prunedMinute;
  }
}
