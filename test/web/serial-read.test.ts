// web/serial-read.ts: one read in flight; a change meanwhile is read once after it (never one
// per change); a refresh is dropped while a read is in flight or waits; a busy answer is
// retried after its Retry-After by itself, on an injected timer.

import { describe, expect, test } from 'bun:test';
import { type ReadOutcome, type RetryTimer, SerialRead } from '../../web/serial-read.ts';

/** A read whose answers the test gives, one by one, and whose retries it fires. */
function harness() {
  const answers: ((outcome: ReadOutcome) => void)[] = [];
  const superseded: (() => boolean)[] = [];
  const timers: { run: () => void; ms: number; cleared: boolean }[] = [];
  const timer: RetryTimer = {
    set(run, ms) {
      const t = { run, ms, cleared: false };
      timers.push(t);
      return t;
    },
    clear(handle) {
      (handle as { cleared: boolean }).cleared = true;
    },
  };
  const reads = new SerialRead((isSuperseded) => {
    superseded.push(isSuperseded);
    return new Promise<ReadOutcome>((resolve) => answers.push(resolve));
  }, timer);
  /** Answers the oldest open read and lets the follow-ups start. */
  const answer = async (outcome: ReadOutcome = { kind: 'done' }) => {
    const next = answers.shift();
    if (next === undefined) throw new Error('no read in flight');
    next(outcome);
    await Bun.sleep(0);
  };
  return { reads, answers, superseded, timers, answer };
}

describe('SerialRead', () => {
  test('changes while a read is in flight make one more read, after it', async () => {
    const h = harness();
    void h.reads.request('changed');
    for (let i = 0; i < 10; i++) void h.reads.request('changed');
    expect(h.superseded.length).toBe(1);
    expect(h.superseded[0]?.()).toBe(true); // its answer must not be shown
    await h.answer();
    expect(h.superseded.length).toBe(2);
    expect(h.superseded[1]?.()).toBe(false);
    await h.answer();
    expect(h.answers.length).toBe(0);
    expect(h.reads.pending).toBe(false);
  });

  test('a refresh is dropped while a read is in flight or waits for its retry', async () => {
    const h = harness();
    void h.reads.request('refresh');
    void h.reads.request('refresh');
    expect(h.superseded.length).toBe(1);
    await h.answer({ kind: 'busy', retryAfterMs: 3000 });
    void h.reads.request('refresh');
    expect(h.superseded.length).toBe(1);
    expect(h.timers.map((t) => t.ms)).toEqual([3000]);
    h.timers[0]?.run();
    expect(h.superseded.length).toBe(2);
    await h.answer();
    expect(h.timers.length).toBe(1);
  });

  test('a change while a retry waits reads at once and drops the retry', async () => {
    const h = harness();
    void h.reads.request('changed');
    await h.answer({ kind: 'busy', retryAfterMs: 1000 });
    void h.reads.request('changed');
    expect(h.timers[0]?.cleared).toBe(true);
    expect(h.superseded.length).toBe(2);
    h.reads.cancelRetry();
    await h.answer();
    expect(h.reads.pending).toBe(false);
  });
});
