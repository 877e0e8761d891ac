// Remembers which (tenant, event_id) keys are stored, for exact-once ingest. Keys live in
// generations of one eighth of the window (by received_at), so expiry drops whole generations
// instead of scanning keys: a key is remembered for at least the window and at most 9/8 of it.
// A window of 0 means forever (one generation that never expires).
//
// Cost: one JavaScript string per key in a Set, about 60 bytes plus the key's length
// (tenant + event_id; ~100 bytes for a UUID id), so 1M remembered keys ≈ 100 MB.

import { assert } from '../core/index.ts';

export interface DedupOptions {
  windowMs: number;
  keysMax: number;
}

const GENERATIONS_PER_WINDOW = 8;

export class DedupIndex {
  private readonly generations = new Map<number, Set<string>>();
  private readonly spanMs: number;
  private count = 0;

  constructor(private readonly options: DedupOptions) {
    assert(options.windowMs >= 0, 'dedup window is not negative');
    this.spanMs =
      options.windowMs === 0
        ? Number.POSITIVE_INFINITY
        : Math.max(1, options.windowMs / GENERATIONS_PER_WINDOW);
  }

  has(key: string): boolean {
    for (const keys of this.generations.values()) if (keys.has(key)) return true;
    return false;
  }

  /** Adds a key seen at `receivedAt`; the caller has checked `has(key)` is false. */
  add(key: string, receivedAt: number): void {
    const gen = this.generationOf(receivedAt);
    let keys = this.generations.get(gen);
    if (keys === undefined) {
      keys = new Set();
      this.generations.set(gen, keys);
    }
    keys.add(key);
    this.count++;
  }

  /** Undoes `add` for a key whose write was refused. */
  remove(key: string, receivedAt: number): void {
    if (this.generations.get(this.generationOf(receivedAt))?.delete(key)) this.count--;
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
    for (const [gen, keys] of this.generations) {
      if ((gen + 1) * this.spanMs + this.options.windowMs <= now) {
        dropped += keys.size;
        this.count -= keys.size;
        this.generations.delete(gen);
      }
    }
    return dropped;
  }

  /** True when `extra` more keys would pass the configured maximum. */
  wouldOverflow(extra: number): boolean {
    return this.count + extra > this.options.keysMax;
  }

  get size(): number {
    return this.count;
  }

  private generationOf(receivedAt: number): number {
    return Number.isFinite(this.spanMs) ? Math.floor(receivedAt / this.spanMs) : 0;
  }
}
