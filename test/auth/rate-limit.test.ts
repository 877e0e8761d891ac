import { describe, expect, test } from 'bun:test';
import { rateLimitHeaders, TokenBucketLimiter } from '../../src/auth/index.ts';
import { ManualClock } from '../../src/core/index.ts';

describe('token buckets', () => {
  test('a full bucket allows its burst, then refills at the rate', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 2, burst: 3 }, clock, 100);
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    const refused = limiter.take('a');
    expect(refused).toEqual({
      allowed: false,
      limit: 3,
      remaining: 0,
      resetMs: 1500,
      retryAfterMs: 500,
    });
    expect(rateLimitHeaders(refused)).toEqual({
      'x-ratelimit-limit': '3',
      'x-ratelimit-remaining': '0',
      'x-ratelimit-reset': '2',
    });
    clock.advance(499);
    expect(limiter.take('a').allowed).toBe(false);
    clock.advance(1);
    expect(limiter.take('a').allowed).toBe(true);
    clock.advance(60_000);
    expect(limiter.take('a').remaining).toBe(2); // never more than the burst
  });

  test('a rate that is no power of two allows one more once Retry-After has passed', () => {
    // One every 6 s (and one a minute) refills 0.9999999999999999 tokens in 6 s in floats.
    for (const refillMs of [6_000, 60_000, 12_000]) {
      const clock = new ManualClock(0);
      const limiter = new TokenBucketLimiter({ perSecond: 1000 / refillMs, burst: 1 }, clock, 1);
      expect(limiter.take('a').allowed).toBe(true);
      const refused = limiter.take('a');
      expect({ refillMs, retryAfterMs: refused.retryAfterMs }).toEqual({
        refillMs,
        retryAfterMs: refillMs,
      });
      clock.advance(refused.retryAfterMs - 1);
      expect(limiter.take('a').allowed).toBe(false);
      clock.advance(1);
      expect({ refillMs, allowed: limiter.take('a').allowed }).toEqual({ refillMs, allowed: true });
    }
  });

  test('a token given back can be taken again, never past the burst', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 2 }, clock, 100);
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, false]);
    limiter.giveBack('a');
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    limiter.giveBack('b'); // a full bucket stays full
    limiter.giveBack('b');
    expect(limiter.take('b').remaining).toBe(1);
  });

  test('one key at its limit does not touch another key', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1 }, clock, 100);
    expect(limiter.take('tenant-a').allowed).toBe(true);
    expect(limiter.take('tenant-a').allowed).toBe(false);
    expect(limiter.take('tenant-b').allowed).toBe(true);
  });

  test('memory is bounded: the least recently used bucket goes first', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1 }, clock, 3);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    limiter.take('a'); // a is now the most recent
    limiter.take('d'); // evicts b
    expect(limiter.size).toBe(3);
    expect(limiter.take('a').allowed).toBe(false); // kept: still empty
    expect(limiter.take('b').allowed).toBe(true); // forgotten: a fresh bucket
    for (let i = 0; i < 1000; i++) limiter.take(`k${i}`);
    expect(limiter.size).toBe(3);
  });
});
