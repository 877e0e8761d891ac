// Token buckets keyed by who is asking (a project's keys, a user, an email, an IP). Each key
// has its own bucket, so one tenant at its limit never slows another. Memory is bounded:
// past `keysMax` buckets the least recently used one is dropped (it is idle, hence nearly full).

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

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly spec: RateSpec,
    private readonly clock: Clock,
    private readonly keysMax: number,
  ) {
    assert(spec.perSecond > 0 && spec.burst >= 1, 'a rate needs perSecond > 0 and burst ≥ 1');
    assert(keysMax >= 1, 'a limiter keeps at least one bucket');
  }

  /** Takes one token from `key`'s bucket when it has one. */
  take(key: string): RateDecision {
    const now = this.clock.now();
    const bucket = this.refilled(key, now);
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    const msPerToken = 1000 / this.spec.perSecond;
    return {
      allowed,
      limit: this.spec.burst,
      remaining: Math.floor(bucket.tokens),
      resetMs: Math.ceil((this.spec.burst - bucket.tokens) * msPerToken),
      retryAfterMs: allowed ? 0 : Math.ceil((1 - bucket.tokens) * msPerToken),
    };
  }

  /**
   * Gives back the token a request took from `key`'s bucket when it was then refused without
   * doing anything (the bucket never holds more than `burst`).
   */
  giveBack(key: string): void {
    const bucket = this.refilled(key, this.clock.now());
    bucket.tokens = Math.min(this.spec.burst, bucket.tokens + 1);
  }

  /** Buckets held in memory. */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, now: number): Bucket {
    const found = this.buckets.get(key);
    if (found !== undefined) {
      this.buckets.delete(key); // re-inserted below: Map order is least recently used first
      const elapsedMs = Math.max(0, now - found.at);
      found.tokens = Math.min(
        this.spec.burst,
        wholeIfNear(found.tokens + (elapsedMs * this.spec.perSecond) / 1000),
      );
      found.at = now;
      this.buckets.set(key, found);
      return found;
    }
    while (this.buckets.size >= this.keysMax) {
      const oldest = this.buckets.keys().next().value as string;
      this.buckets.delete(oldest);
    }
    const bucket = { tokens: this.spec.burst, at: now };
    this.buckets.set(key, bucket);
    return bucket;
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
