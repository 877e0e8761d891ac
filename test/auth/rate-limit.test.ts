import { describe, expect, test } from 'bun:test';
import {
  defaultAuthOptions,
  RATE_SWEEP_STEP,
  rateLimitHeaders,
  TokenBucketLimiter,
} from '../../src/auth/index.ts';
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

  test('memory is bounded: a refilled bucket makes room, never one that holds a debt', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 2 }, clock, 3);
    limiter.take('victim');
    limiter.take('victim'); // empty: full again in 2 s
    limiter.take('a');
    limiter.take('b'); // each owes one token: full again in 1 s
    clock.advance(1000);
    limiter.take('c'); // victim is the least recently used, but a has refilled: a goes
    expect(limiter.size).toBe(3);
    expect(limiter.take('victim').allowed).toBe(true); // kept: one token refilled, not two
    expect(limiter.take('victim').allowed).toBe(false);
    expect(limiter.take('a').remaining).toBe(1); // forgotten: a fresh bucket (b made room)
    expect(limiter.size).toBe(3);
  });

  test("a victim's debt outlives 100k+ other keys passing through", () => {
    // The per-email total of logins: a flood of other emails (or addresses) must not reset it.
    const clock = new ManualClock(0);
    const spec = defaultAuthOptions.rates.loginEmailTotal;
    const limiter = new TokenBucketLimiter(spec, clock, defaultAuthOptions.rateKeysMax);
    while (limiter.take('ada@example.com').allowed) {}
    let refused = 0;
    for (let i = 0; i < 200_000; i++) {
      if (i % 10 === 0) clock.advance(1); // 20 s in all: ada gets 3 of her 50 tokens back
      if (!limiter.take(`junk${i}@example.com`).allowed) refused++;
    }
    expect(refused).toBe(0); // each junk bucket has refilled 6 s after its one attempt
    expect(limiter.size).toBe(defaultAuthOptions.rateKeysMax);
    expect(limiter.take('ada@example.com').remaining).toBe(2); // a fresh bucket would say 49
  });

  test('full of debts, a limiter refuses a new key until one refills', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1 }, clock, 3);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    clock.advance(400);
    const refused = limiter.take('d');
    expect(refused).toEqual({
      allowed: false,
      limit: 1,
      remaining: 0,
      resetMs: 600,
      retryAfterMs: 600,
    });
    expect(limiter.size).toBe(3);
    for (const key of ['a', 'b', 'c']) expect(limiter.take(key).allowed).toBe(false);
    clock.advance(1000); // each refused take above left its bucket as it was: all refilled
    expect(limiter.take('d').allowed).toBe(true);
    expect(limiter.size).toBe(3);
  });

  test("full of debts, a tenants' limiter forgets the debt looked at longest ago", () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 1 }, clock, 2, 'forget');
    limiter.take('a');
    limiter.take('b');
    expect(limiter.take('c').allowed).toBe(true);
    expect(limiter.size).toBe(2);
    expect(limiter.take('b').allowed).toBe(false); // kept
    expect(limiter.take('a').allowed).toBe(true); // forgotten
  });

  test('a run of debts ahead of refilled buckets costs a refusal per RATE_SWEEP_STEP', () => {
    const clock = new ManualClock(0);
    const debts = RATE_SWEEP_STEP * 3;
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 2 }, clock, debts + 10);
    for (let i = 0; i < debts; i++) {
      limiter.take(`debt${i}`);
      limiter.take(`debt${i}`); // the least recently used: full again in 2 s
    }
    for (let i = 0; i < 10; i++) limiter.take(`idle${i}`); // full again in 1 s
    clock.advance(1000);
    // Each new key looks at RATE_SWEEP_STEP buckets, not all: the debts go to the back.
    const outcomes = [0, 1, 2, 3].map((i) => limiter.take(`new${i}`));
    expect(outcomes.map((d) => d.allowed)).toEqual([false, false, false, true]);
    expect(outcomes[0]?.retryAfterMs).toBe(1000);
    expect(limiter.size).toBe(debts + 10);
    expect(limiter.take('debt0').remaining).toBe(0); // kept: one token refilled of two
    expect(limiter.take('new4').allowed).toBe(true); // the idle ones, refilled, make room
  });

  test('giving back to a key with no bucket keeps no bucket', () => {
    const clock = new ManualClock(0);
    const limiter = new TokenBucketLimiter({ perSecond: 1, burst: 2 }, clock, 1);
    limiter.giveBack('a');
    expect(limiter.size).toBe(0);
  });
});
