// Token buckets keyed by who is asking (a project's keys, a user, an email, an IP). Each key
// has its own bucket, so one tenant at its limit never slows another. Memory is bounded: at
// `keysMax` buckets a new key takes the place of a bucket that has refilled to its burst (it
// carries nothing: a fresh one would be the same). A bucket that still holds a debt is not
// pushed out by other keys passing through, or a flood of addresses would reset the per-email
// brake on password guessing; when every bucket looked at holds a debt the limiter is
// saturated, and it refuses the new key or forgets the oldest debt (`WhenFull`).

import { AppError, assert, type Clock } from '../core/index.ts';

export interface RateSpec {
  /** Sustained requests per second. */
  perSecond: number;
  /** Requests allowed at once from a full bucket. */
  burst: number;
}

export interface RateDecision {
  allowed: boolean;
  /** The bucket size (X-RateLimit-Limit). */
  limit: number;
  /** Whole requests left now (X-RateLimit-Remaining). */
  remaining: number;
  /** Milliseconds until the bucket is full again (X-RateLimit-Reset). */
  resetMs: number;
  /** Milliseconds until one request would be allowed (0 when allowed). */
  retryAfterMs: number;
}

/**
 * What a full limiter does with a new key when every bucket it looked at holds a debt: `refuse`
 * it (429 until one of them refills: for the limits against guessing and abuse, where a
 * forgotten debt is a free burst) or `forget` the debt looked at longest ago (for tenants'
 * traffic, where refusing would let other tenants' debts stall a tenant).
 */
export type WhenFull = 'refuse' | 'forget';

/**
 * Buckets a full limiter looks at for one new key, the one looked at longest ago (or created
 * first) first. One that holds a debt goes to the back, to be looked at again only after all
 * the others: a request costs at most this many steps, and a debt outlives any number of keys
 * passing through.
 */
export const RATE_SWEEP_STEP = 32;

/** Keys taken off the front of a limiter's order before the array is compacted (if half). */
const ORDER_COMPACT_MIN = 1024;

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();
  /**
   * Each bucket's key once, in the order they are looked at when full (from `head` on): as
   * created or last sent to the back. An array, not the Map's own order: a Map deleted from
   * the front iterates past its holes, so reading its first key costs more as keys go.
   */
  private order: string[] = [];
  private head = 0;
  private readonly msPerToken: number;

  constructor(
    private readonly spec: RateSpec,
    private readonly clock: Clock,
    private readonly keysMax: number,
    private readonly whenFull: WhenFull = 'refuse',
  ) {
    assert(spec.perSecond > 0 && spec.burst >= 1, 'a rate needs perSecond > 0 and burst ≥ 1');
    assert(keysMax >= 1, 'a limiter keeps at least one bucket');
    this.msPerToken = 1000 / spec.perSecond;
  }

  /**
   * Takes one token from `key`'s bucket when it has one. A new key of a saturated limiter is
   * refused until one of the buckets looked at has refilled.
   */
  take(key: string): RateDecision {
    const now = this.clock.now();
    let bucket = this.refilled(key, now);
    if (bucket === undefined) {
      const waitMs = this.makeRoom(now);
      if (waitMs > 0) {
        const retryAfterMs = Math.ceil(waitMs);
        const limit = this.spec.burst;
        return { allowed: false, limit, remaining: 0, resetMs: retryAfterMs, retryAfterMs };
      }
      bucket = { tokens: this.spec.burst, at: now };
      this.buckets.set(key, bucket);
      this.order.push(key);
    }
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    return {
      allowed,
      limit: this.spec.burst,
      remaining: Math.floor(bucket.tokens),
      resetMs: Math.ceil((this.spec.burst - bucket.tokens) * this.msPerToken),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - bucket.tokens) * this.msPerToken),
    };
  }

  /**
   * Gives back the token a request took from `key`'s bucket when it was then refused without
   * doing anything (the bucket never holds more than `burst`; a key with no bucket is full).
   */
  giveBack(key: string): void {
    const bucket = this.refilled(key, this.clock.now());
    if (bucket !== undefined) bucket.tokens = Math.min(this.spec.burst, bucket.tokens + 1);
  }

  /** Buckets held in memory. */
  get size(): number {
    return this.buckets.size;
  }

  /** `key`'s bucket refilled up to `now`, if it has one. */
  private refilled(key: string, now: number): Bucket | undefined {
    const found = this.buckets.get(key);
    if (found === undefined) return undefined;
    found.tokens = this.tokensAt(found, now);
    found.at = now;
    return found;
  }

  /**
   * Makes room for one more bucket: 0 when there is room, else the milliseconds until one of
   * the buckets looked at has refilled (the limiter is saturated and refuses the new key).
   */
  private makeRoom(now: number): number {
    let soonestMs = Number.POSITIVE_INFINITY;
    const steps = Math.min(RATE_SWEEP_STEP, this.buckets.size);
    for (let step = 0; step < steps && this.buckets.size >= this.keysMax; step++) {
      const key = this.shift();
      const owed = this.spec.burst - this.tokensAt(this.buckets.get(key) as Bucket, now);
      if (owed <= 0) {
        this.buckets.delete(key); // refilled: it carries nothing
        continue;
      }
      soonestMs = Math.min(soonestMs, owed * this.msPerToken);
      this.order.push(key); // holds a debt: to the back
    }
    if (this.buckets.size < this.keysMax) return 0;
    if (this.whenFull === 'refuse') return soonestMs;
    while (this.buckets.size >= this.keysMax) this.buckets.delete(this.shift());
    return 0;
  }

  /** The first key of `order`, taken off it (the array is compacted once half of it is gone). */
  private shift(): string {
    const key = this.order[this.head] as string;
    this.head += 1;
    if (this.head >= ORDER_COMPACT_MIN && this.head * 2 >= this.order.length) {
      this.order = this.order.slice(this.head);
      this.head = 0;
    }
    return key;
  }

  /** The tokens `bucket` holds at `now`. */
  private tokensAt(bucket: Bucket, now: number): number {
    const elapsedMs = Math.max(0, now - bucket.at);
    return Math.min(
      this.spec.burst,
      wholeIfNear(bucket.tokens + (elapsedMs * this.spec.perSecond) / 1000),
    );
  }
}

/** How far from a whole number a bucket's tokens may be and count as that number. */
const TOKENS_EPSILON = 1e-9;

/**
 * `tokens`, or the whole number it is off by a rounding error: a rate that is no power of two
 * (one every 6 s is 0.1666… a second) refills 0.9999999999999999 tokens in the time
 * Retry-After names, and a client that waited exactly that long would be refused again.
 */
function wholeIfNear(tokens: number): number {
  const whole = Math.round(tokens);
  return Math.abs(tokens - whole) < TOKENS_EPSILON ? whole : tokens;
}

/** X-RateLimit-* headers of a decision; Reset is in seconds from now. */
export function rateLimitHeaders(decision: RateDecision): Record<string, string> {
  return {
    'x-ratelimit-limit': String(decision.limit),
    'x-ratelimit-remaining': String(decision.remaining),
    'x-ratelimit-reset': String(Math.ceil(decision.resetMs / 1000)),
  };
}

/** Takes one token of `key`'s bucket; when it is empty, 429 "too many <what>; retry later". */
export function takeOrRefuse(limiter: TokenBucketLimiter, key: string, what: string): void {
  const decision = limiter.take(key);
  if (decision.allowed) return;
  throw new AppError('rate_limited', `too many ${what}; retry later`, {
    retryAfterMs: decision.retryAfterMs,
    headers: rateLimitHeaders(decision),
  });
}
